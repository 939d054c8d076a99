import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import page_cache
from api.deps import CurrentUser, SessionDep
from api.errors import (
    InvalidInput,
    UnsupportedMediaType,
    field_error,
    problem_response,
)
from api.paging import Limit, Offset
from api.schemes import imports, service, spreadsheets
from api.schemes.schemas import (
    Category,
    SchemeCreate,
    SchemeImport,
    SchemeImportResult,
    SchemePage,
    SchemeRead,
    SchemeStatus,
    SchemeUpdate,
)
from api.strict_json import StrictJSONResponse
from api.types import CODE_PATTERN, CodeQuery, IdPath
from api.versioning import IF_MATCH_REQUIRED, VERSIONED_RESPONSES, IfMatch, set_etag

router = APIRouter(prefix="/schemes", tags=["schemes"])
BINARY = {"type": "string", "format": "binary"}

CREATED = {
    201: {
        "headers": {
            "Location": {"description": "The new scheme's URL.", "schema": {"type": "string"}},
            "ETag": {"description": 'Its version, "1".', "schema": {"type": "string"}},
        }
    }
}
READ = {200: {"headers": {"ETag": {"description": "The version, e.g. \"3\": send it back in "
                                   "If-Match to change the scheme.", "schema": {"type": "string"}}}}}  # fmt: skip
# submit and withdraw check If-Match only when it is sent, so they never answer 428.
STATUS_CHANGE = {k: v for k, v in VERSIONED_RESPONSES.items() if k != 428}


def _with_etag(response: Response, scheme: SchemeRead) -> SchemeRead:
    set_etag(response, scheme.version)
    return scheme


CACHE_STATUS = {200: {"headers": {"Cache-Status": {
    "description": "`capital; hit` when the page was served from memory (nothing has been "
    "committed since it was built, PostgreSQL only), `capital; fwd=miss` when it was built.",
    "schema": {"type": "string"}}}}}  # fmt: skip


# The list builds its JSON from typed rows itself (service.list_scheme_documents) and returns
# it as a response, so FastAPI does not validate it again; `response_model` keeps the OpenAPI.
# On PostgreSQL the page is kept for later requests at the same snapshot (api/page_cache.py).
@router.get("", operation_id="schemes_list", response_model=SchemePage, responses=CACHE_STATUS)
def list_schemes(
    request: Request,
    session: SessionDep,
    principal: CurrentUser,
    system: CodeQuery = None,
    organisation: CodeQuery = None,
    category: Category | None = None,
    status: SchemeStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> StrictJSONResponse:
    """Schemes you may read: submitted ones in your systems, and your organisation's drafts."""
    response = StrictJSONResponse(service.list_scheme_documents(
        session, principal=principal, system=system, organisation=organisation,
        category=category, status=status, limit=limit, offset=offset,
    ))  # fmt: skip
    page_cache.store(request, response.body)
    return response


@router.post("", status_code=201, operation_id="schemes_create", responses=CREATED)
def create_scheme(
    session: SessionDep, principal: CurrentUser, body: SchemeCreate, response: Response
) -> SchemeRead:
    """Record a draft scheme for your organisation."""
    scheme = service.create_scheme(session, principal=principal, body=body)
    response.headers["Location"] = f"/api/v1/schemes/{scheme.id}"
    return _with_etag(response, service.read_scheme(session, scheme))


FinancialYearQuery = Annotated[
    str,
    Query(pattern=r"^[0-9]{4}/[0-9]{2}$", description="First financial year column, e.g. 2026/27."),
]


@router.get(
    "/template.xlsx",
    operation_id="schemes_template",
    response_class=Response,
    responses={
        200: {"content": {spreadsheets.XLSX: {"schema": BINARY}}, "description": "The template"}
    },
)
def scheme_template(
    session: SessionDep,
    principal: CurrentUser,
    system: Annotated[
        str,
        Query(
            min_length=2, max_length=16, pattern=CODE_PATTERN, description="System code, e.g. QWV."
        ),
    ],
    first_year: FinancialYearQuery = "2026/27",
    years: Annotated[int, Query(ge=1, le=10)] = 5,
) -> Response:
    """An XLSX to fill in and upload to `POST /schemes/import`: drop-downs for the
    organisations you may import for and every enumeration, and a notes sheet."""
    if not spreadsheets.is_financial_year(first_year):
        raise InvalidInput("Invalid first year.",
                           errors=[field_error("query.first_year", f"{first_year} is not a financial year like 2026/27")])  # fmt: skip
    last = spreadsheets.financial_years(first_year, years)[-1]
    if not spreadsheets.is_financial_year(last):
        # Its columns would be years the register does not hold (after 2099/00).
        raise InvalidInput("Too many years.", errors=[field_error(
            "query.years", f"{years} years from {first_year} run past 2099/00, the last year held")])  # fmt: skip
    content = imports.template(session, principal=principal, system=system,
                               years=spreadsheets.financial_years(first_year, years))  # fmt: skip
    return _download(content, spreadsheets.XLSX, f"schemes-template-{system}.xlsx")


def _download(content: bytes, media_type: str, filename: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(content, media_type=media_type, headers=headers)


def _inline(schema: dict) -> dict:
    """A model's JSON schema with its `$defs` written in place (OpenAPI has no `$defs` here)."""
    definitions = schema.pop("$defs", {})

    def walk(node):
        if isinstance(node, dict):
            if set(node) == {"$ref"} and node["$ref"].startswith("#/$defs/"):
                return walk(dict(definitions[node["$ref"].removeprefix("#/$defs/")]))
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _inline(SchemeImport.model_json_schema())},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "system"],
                    "properties": {
                        "file": {"type": "string", "format": "binary",
                                 "description": "A filled template or export (.xlsx or .csv)."},
                        "system": {"type": "string"},
                        "dry_run": {"type": "boolean", "default": False},
                        "submit": {"type": "boolean", "default": False},
                    },
                }
            },
        },
    }
}  # fmt: skip


def _flag(value, name: str) -> bool:
    text = str(value or "false").strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off", ""):
        return False
    raise InvalidInput(
        f"Invalid {name}.", errors=[field_error(f"form.{name}", "should be true or false")]
    )


@router.post(
    "/import",
    operation_id="schemes_import",
    openapi_extra=IMPORT_BODY,
    responses={415: problem_response("Neither JSON nor a multipart upload")},
)
async def import_schemes(
    request: Request, session: SessionDep, principal: CurrentUser
) -> SchemeImportResult:
    """Create many schemes in one transaction: every row is checked first, and any problem
    (each named by its row and field) means nothing is written. Rows with an `id` (an
    exported workbook, edited) update those schemes if their `version` is current.

    Send JSON (`SchemeImport`), or upload a spreadsheet as `multipart/form-data` with `file`
    (.xlsx or .csv in the template's layout), `system`, and optional `dry_run` and `submit`:
    its problems come back as `errors` naming the row, column letter and header."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=10, max_part_size=64 * 1024 * 1024)
        upload, system = form.get("file"), form.get("system")
        missing = [field_error(f"form.{n}", "required") for n, v in (("file", upload), ("system", system))
                   if v in (None, "") or (n == "file" and isinstance(v, str))]  # fmt: skip
        if missing:
            raise InvalidInput("The upload needs a file and a system.", errors=missing)
        content = await upload.read()
        return await run_in_threadpool(
            imports.import_spreadsheet, session, principal=principal, content=content, filename=upload.filename,
            content_type=upload.content_type, system=str(system),
            dry_run=_flag(form.get("dry_run"), "dry_run"), submit=_flag(form.get("submit"), "submit"),
        )  # fmt: skip
    media_type = content_type.split(";")[0].strip().lower()
    if media_type and media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(
            f"Send the schemes as application/json, or a spreadsheet as multipart/form-data, "
            f"not {media_type}.",
            errors=[field_error("header.content-type", "application/json or multipart/form-data")],
        )
    raw = await request.body()
    # Parsing and validating tens of thousands of rows takes CPU for a second or more: off the
    # event loop, so the worker's other requests (a GET during an import) are not held up.
    document = await run_in_threadpool(_import_document, raw)
    return await run_in_threadpool(
        imports.import_document, session, principal=principal, document=document
    )


def _import_document(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body", 0), "msg": "JSON decode error"}]
        ) from None


@router.get(
    "/export.{kind}",
    operation_id="schemes_export",
    response_class=Response,
    responses={
        200: {
            "content": {
                spreadsheets.XLSX: {"schema": BINARY},
                "text/csv": {"schema": {"type": "string"}},
            },
            "description": "The schemes, in the template's layout",
        }
    },
)
def export_schemes(
    session: SessionDep,
    principal: CurrentUser,
    kind: Literal["xlsx", "csv"],
    system: CodeQuery = None,
    organisation: CodeQuery = None,
    category: Category | None = None,
    status: SchemeStatus | None = None,
) -> Response:
    """Every scheme you may read that matches the list's filters, in the import template's
    layout plus `id`, `version` and `status`: edit it and upload it to update them."""
    schemes = service.all_schemes(
        session, principal=principal, system=system, organisation=organisation,
        category=category, status=status,
    )  # fmt: skip
    years = sorted({y for s in schemes for y in s.cost_profile})
    header, rows = spreadsheets.export_rows(schemes, years)
    if kind == "csv":
        return _download(
            spreadsheets.csv_bytes(header, rows), "text/csv; charset=utf-8", "schemes.csv"
        )
    return _download(spreadsheets.xlsx_bytes(header, rows), spreadsheets.XLSX, "schemes.xlsx")


@router.api_route("/import", methods=["GET", "PUT", "PATCH", "DELETE"], include_in_schema=False)
def import_other_methods() -> None:
    """`/schemes/import` is not a scheme id: other methods are 405 (Allow: POST), not a 422
    from trying `import` as the id of `/schemes/{scheme_id}`."""
    raise StarletteHTTPException(405, "Method not allowed.", headers={"Allow": "POST"})


@router.api_route(
    "/template.xlsx", methods=["POST", "PUT", "PATCH", "DELETE", "OPTIONS"], include_in_schema=False
)
@router.api_route(
    "/export.{kind}", methods=["POST", "PUT", "PATCH", "DELETE", "OPTIONS"], include_in_schema=False
)
def download_other_methods() -> None:
    """The same for the spreadsheet downloads: read-only (Allow: GET)."""
    raise StarletteHTTPException(405, "Method not allowed.", headers={"Allow": "GET"})


@router.get("/{scheme_id}", operation_id="schemes_get", responses=READ)
def get_scheme(
    session: SessionDep, principal: CurrentUser, scheme_id: IdPath, response: Response
) -> SchemeRead:
    scheme = service.get_scheme(session, principal=principal, scheme_id=scheme_id)
    return _with_etag(response, service.read_scheme(session, scheme))


@router.patch(
    "/{scheme_id}",
    operation_id="schemes_update",
    responses=VERSIONED_RESPONSES,
    openapi_extra=IF_MATCH_REQUIRED,
)
def update_scheme(
    session: SessionDep,
    principal: CurrentUser,
    scheme_id: IdPath,
    body: SchemeUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> SchemeRead:
    """Change a draft or submitted scheme. `If-Match` must carry the version you last read
    (missing: 428; stale: 412); a scheme in another status cannot change (409)."""
    scheme = service.update_scheme(
        session, principal=principal, scheme_id=scheme_id, body=body, if_match=if_match
    )
    return _with_etag(response, service.read_scheme(session, scheme))


@router.post("/{scheme_id}/submit", operation_id="schemes_submit", responses=STATUS_CHANGE)
def submit_scheme(
    session: SessionDep,
    principal: CurrentUser,
    scheme_id: IdPath,
    response: Response,
    if_match: IfMatch = None,
) -> SchemeRead:
    """Submit a draft to its system: it becomes visible to everyone there and can be scored.
    `If-Match` is optional here (checked when sent, 412 when stale); only drafts (else 409)."""
    scheme = service.change_status(
        session, principal=principal, scheme_id=scheme_id, action="submit", if_match=if_match
    )
    return _with_etag(response, service.read_scheme(session, scheme))


@router.post("/{scheme_id}/withdraw", operation_id="schemes_withdraw", responses=STATUS_CHANGE)
def withdraw_scheme(
    session: SessionDep,
    principal: CurrentUser,
    scheme_id: IdPath,
    response: Response,
    if_match: IfMatch = None,
) -> SchemeRead:
    """Withdraw a draft or submitted scheme (else 409): it stays on record but no round will
    consider it. `If-Match` is optional (checked when sent, 412 when stale)."""
    scheme = service.change_status(
        session, principal=principal, scheme_id=scheme_id, action="withdraw", if_match=if_match
    )
    return _with_etag(response, service.read_scheme(session, scheme))
