from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from api.deps import CurrentUser, SessionDep
from api.errors import API_ERROR_RESPONSES
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

router = APIRouter(prefix="/schemes", tags=["schemes"])

VERSIONED = {
    409: API_ERROR_RESPONSES[404] | {"description": "The scheme's status does not allow this"},
    412: API_ERROR_RESPONSES[404] | {"description": "Stale If-Match: someone changed the scheme"},
    428: API_ERROR_RESPONSES[404] | {"description": "If-Match is required"},
}

IfMatch = Annotated[
    str | None, Header(description="The scheme's version as last read, e.g. 3 (required).")
]


def _with_etag(response: Response, scheme: SchemeRead) -> SchemeRead:
    response.headers["ETag"] = f'"{scheme.version}"'
    return scheme


@router.get("", operation_id="schemes_list")
def list_schemes(
    session: SessionDep,
    principal: CurrentUser,
    system: str | None = None,
    organisation: str | None = None,
    category: Category | None = None,
    status: SchemeStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> SchemePage:
    """Schemes you may read: submitted ones in your systems, and your organisation's drafts."""
    return service.list_schemes(
        session, principal=principal, system=system, organisation=organisation,
        category=category, status=status, limit=limit, offset=offset,
    )  # fmt: skip


@router.post("", status_code=201, operation_id="schemes_create")
def create_scheme(
    session: SessionDep, principal: CurrentUser, body: SchemeCreate, response: Response
) -> SchemeRead:
    """Record a draft scheme for your organisation."""
    scheme = service.create_scheme(session, principal=principal, body=body)
    return _with_etag(response, service.read_scheme(session, scheme))


@router.post("/import", operation_id="schemes_import")
def import_schemes(
    session: SessionDep, principal: CurrentUser, body: SchemeImport
) -> SchemeImportResult:
    """Create many schemes in one transaction: every row is checked first, and any problem
    (each named by its row and field) means nothing is written."""
    return imports.import_schemes(session, principal=principal, body=body)


@router.get("/{scheme_id}", operation_id="schemes_get")
def get_scheme(
    session: SessionDep, principal: CurrentUser, scheme_id: int, response: Response
) -> SchemeRead:
    scheme = service.get_scheme(session, principal=principal, scheme_id=scheme_id)
    return _with_etag(response, service.read_scheme(session, scheme))


@router.patch("/{scheme_id}", operation_id="schemes_update", responses=VERSIONED)
def update_scheme(
    session: SessionDep,
    principal: CurrentUser,
    scheme_id: int,
    body: SchemeUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> SchemeRead:
    """Change a scheme; `If-Match` must carry the version you last read."""
    scheme = service.update_scheme(
        session, principal=principal, scheme_id=scheme_id, body=body, if_match=if_match
    )
    return _with_etag(response, service.read_scheme(session, scheme))


@router.post("/{scheme_id}/submit", operation_id="schemes_submit")
def submit_scheme(
    session: SessionDep,
    principal: CurrentUser,
    scheme_id: int,
    response: Response,
    if_match: IfMatch = None,
) -> SchemeRead:
    """Submit a draft to its system: it becomes visible to everyone there and can be scored."""
    scheme = service.change_status(
        session, principal=principal, scheme_id=scheme_id, action="submit", if_match=if_match
    )
    return _with_etag(response, service.read_scheme(session, scheme))


@router.post("/{scheme_id}/withdraw", operation_id="schemes_withdraw")
def withdraw_scheme(
    session: SessionDep,
    principal: CurrentUser,
    scheme_id: int,
    response: Response,
    if_match: IfMatch = None,
) -> SchemeRead:
    """Withdraw a scheme: it stays on record but no round will consider it."""
    scheme = service.change_status(
        session, principal=principal, scheme_id=scheme_id, action="withdraw", if_match=if_match
    )
    return _with_etag(response, service.read_scheme(session, scheme))
