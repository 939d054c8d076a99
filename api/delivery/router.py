"""In-year delivery over HTTP (DESIGN.md section 7)."""

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response

from api.delivery import service
from api.delivery.schemas import (
    ClosePeriod,
    DeliveryImport,
    DeliveryImportResult,
    DeliveryRead,
    DeliveryUpdate,
    PeriodRead,
    SystemDeliveryRead,
)
from api.deps import CurrentUser, SessionDep
from api.errors import API_ERROR_RESPONSES
from api.types import FinancialYear

router = APIRouter(tags=["delivery"])
SchemeId = Annotated[int, Path(ge=1, le=2**31 - 1)]

_PROBLEM = API_ERROR_RESPONSES[404]
WRITE_ERRORS = {
    409: _PROBLEM | {"description": "A closed month cannot change"},
    412: _PROBLEM | {"description": "Stale If-Match: someone changed the delivery"},
    428: _PROBLEM | {"description": "If-Match is required"},
}
IfMatch = Annotated[
    str | None, Header(description="The delivery's version as last read, e.g. 3 (required).")
]


@router.get("/schemes/{scheme_id}/delivery", operation_id="delivery_get")
def get_delivery(
    session: SessionDep, principal: CurrentUser, response: Response,
    scheme_id: SchemeId,
) -> DeliveryRead:  # fmt: skip
    """An approved scheme's months (plan, actual, forecast), figures by year, later years,
    RAG and commentary. Send its `version` back as If-Match to change it."""
    view = service.get_delivery(session, principal=principal, scheme_id=scheme_id)
    response.headers["ETag"] = f'"{view.version}"'
    return view


@router.patch(
    "/schemes/{scheme_id}/delivery", operation_id="delivery_update", responses=WRITE_ERRORS
)
def update_delivery(
    session: SessionDep, principal: CurrentUser, response: Response, scheme_id: SchemeId,
    body: DeliveryUpdate, if_match: IfMatch = None,
) -> DeliveryRead:  # fmt: skip
    """Re-phase open months, record actuals (up to the next month to close), forecasts of open
    months, later years' forecasts, RAG and commentary (the scheme's trust)."""
    view = service.update_delivery(
        session, principal=principal, scheme_id=scheme_id, body=body, if_match=if_match
    )
    response.headers["ETag"] = f'"{view.version}"'
    return view


@router.get("/systems/{code}/period", operation_id="delivery_period")
def get_period(session: SessionDep, principal: CurrentUser, code: str) -> PeriodRead:
    """The system's reporting period (last closed month) and the next month to close."""
    return service.get_period(session, principal=principal, system_code=code)


@router.post("/systems/{code}/close-period", operation_id="delivery_close_period",
             responses={409: WRITE_ERRORS[409]})  # fmt: skip
def close_period(
    session: SessionDep, principal: CurrentUser, code: str, body: ClosePeriod | None = None
) -> PeriodRead:
    """Close the next month (finance directors): its actuals are locked from then on. With
    `{"period": "2026-10"}` only if that is the next month to close (409 otherwise), so a
    retried or doubled request closes it once."""
    period = body.period if body is not None else None
    return service.close_period(session, principal=principal, system_code=code, period=period)


@router.post("/systems/{code}/delivery/import", operation_id="delivery_import",
             responses={409: WRITE_ERRORS[409]})  # fmt: skip
def import_delivery(
    session: SessionDep, principal: CurrentUser, code: str, body: DeliveryImport
) -> DeliveryImportResult:
    """Many schemes' actuals and forecasts for one period, all or nothing."""
    return service.import_delivery(session, principal=principal, system_code=code, body=body)


@router.get("/systems/{code}/delivery", operation_id="delivery_report")
def system_delivery(
    session: SessionDep, principal: CurrentUser, code: str,
    year: Annotated[FinancialYear, Query(description="Financial year, e.g. 2026/27")],
) -> SystemDeliveryRead:  # fmt: skip
    """The year's plan, actuals, forecast outturn and slippage by organisation and in total,
    and the headroom left against the agreed envelope."""
    return service.system_report(session, principal=principal, system_code=code, year=year)
