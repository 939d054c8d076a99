from fastapi import APIRouter, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.deps import CurrentUser, SessionDep
from api.paging import Limit, Offset
from api.schemes import imports, service
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
from api.types import CodeQuery, IdPath
from api.versioning import IF_MATCH_REQUIRED, VERSIONED_RESPONSES, IfMatch, set_etag

router = APIRouter(prefix="/schemes", tags=["schemes"])

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


@router.get("", operation_id="schemes_list")
def list_schemes(
    session: SessionDep,
    principal: CurrentUser,
    system: CodeQuery = None,
    organisation: CodeQuery = None,
    category: Category | None = None,
    status: SchemeStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> SchemePage:
    """Schemes you may read: submitted ones in your systems, and your organisation's drafts."""
    return service.list_schemes(
        session, principal=principal, system=system, organisation=organisation,
        category=category, status=status, limit=limit, offset=offset,
    )  # fmt: skip


@router.post("", status_code=201, operation_id="schemes_create", responses=CREATED)
def create_scheme(
    session: SessionDep, principal: CurrentUser, body: SchemeCreate, response: Response
) -> SchemeRead:
    """Record a draft scheme for your organisation."""
    scheme = service.create_scheme(session, principal=principal, body=body)
    response.headers["Location"] = f"/api/v1/schemes/{scheme.id}"
    return _with_etag(response, service.read_scheme(session, scheme))


@router.post("/import", operation_id="schemes_import")
def import_schemes(
    session: SessionDep, principal: CurrentUser, body: SchemeImport
) -> SchemeImportResult:
    """Create many schemes in one transaction: every row is checked first, and any problem
    (each named by its row and field) means nothing is written."""
    return imports.import_schemes(session, principal=principal, body=body)


@router.api_route("/import", methods=["GET", "PUT", "PATCH", "DELETE"], include_in_schema=False)
def import_other_methods() -> None:
    """`/schemes/import` is not a scheme id: other methods are 405 (Allow: POST), not a 422
    from trying `import` as the id of `/schemes/{scheme_id}`."""
    raise StarletteHTTPException(405, "Method not allowed.", headers={"Allow": "POST"})


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
