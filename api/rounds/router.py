from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from api.db import end_read_phase
from api.deps import CurrentUser, Principal, SessionDep
from api.errors import API_ERROR_RESPONSES, Problem
from api.jobs.schemas import JobRead
from api.paging import Limit, Offset
from api.reports import service as reports
from api.rounds import service
from api.rounds.schemas import (
    AgreeRequest,
    RoundCreate,
    RoundPage,
    RoundRead,
    RoundUpdate,
    RunComparison,
    RunRead,
    RunRequest,
    RunSummaryPage,
)
from api.strict_json import JSONObject
from api.types import MAX_ID, CodeQuery, IdPath
from api.versioning import IF_MATCH_REQUIRED, VERSIONED_RESPONSES, IfMatch, set_etag

router = APIRouter(tags=["rounds"])
XLSX = reports.XLSX
ETAG = {"ETag": {"description": 'The round\'s version, e.g. "3".', "schema": {"type": "string"}}}
LOCATION = {"Location": {"description": "The new record's URL.", "schema": {"type": "string"}}}
CONFLICT = {409: API_ERROR_RESPONSES[404] | {"description": "The round's status does not allow "
                                             "this, or the solver failed"}}  # fmt: skip


def _round(response: Response, round_) -> RoundRead:
    view = service.round_view(round_)
    set_etag(response, view.version)
    return view


@router.get("/rounds", operation_id="rounds_list")
def list_rounds(
    session: SessionDep,
    principal: CurrentUser,
    system: CodeQuery = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> RoundPage:
    rounds, total = service.list_rounds(
        session, principal=principal, system=system, limit=limit, offset=offset
    )
    items = [service.round_view(r) for r in rounds]
    return RoundPage(items=items, total=total, limit=limit, offset=offset)


@router.post(
    "/rounds",
    status_code=201,
    operation_id="rounds_create",
    responses={201: {"headers": LOCATION | ETAG}},
)
def create_round(
    session: SessionDep, principal: CurrentUser, body: RoundCreate, response: Response
) -> RoundRead:
    """Set up an allocation round (finance directors)."""
    round_ = service.create_round(session, principal=principal, body=body)
    response.headers["Location"] = f"/api/v1/rounds/{round_.id}"
    return _round(response, round_)


@router.get("/rounds/{round_id}", operation_id="rounds_get", responses={200: {"headers": ETAG}})
def get_round(
    session: SessionDep, principal: CurrentUser, round_id: IdPath, response: Response
) -> RoundRead:
    return _round(response, service.get_round(session, principal=principal, round_id=round_id))


@router.patch(
    "/rounds/{round_id}",
    operation_id="rounds_update",
    responses=VERSIONED_RESPONSES,
    openapi_extra=IF_MATCH_REQUIRED,
)
def update_round(
    session: SessionDep,
    principal: CurrentUser,
    round_id: IdPath,
    body: RoundUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> RoundRead:
    """Change a draft or open round (else 409). `If-Match` must carry the version you last
    read, as `GET /rounds/{round_id}` gives it in `ETag` (missing: 428; stale: 412), so two
    finance directors editing the envelope at once cannot overwrite each other."""
    round_ = service.update_round(
        session, principal=principal, round_id=round_id, body=body, if_match=if_match
    )
    return _round(response, round_)


@router.post(
    "/rounds/{round_id}/runs",
    status_code=201,
    operation_id="runs_create",
    responses={
        201: {"headers": LOCATION},
        202: {"model": JobRead, "description": "`async`: the run is a job; poll `Location`."},
    }
    | CONFLICT,
)
def create_run(
    session: SessionDep,
    principal: CurrentUser,
    round_id: IdPath,
    body: RunRequest,
    response: Response,
) -> RunRead | JobRead:
    """Optimise the round, with any parameter overridden for this run only (a what-if).
    An agreed round takes no more runs (409). With `"async": true` the run is a job (202 and
    `Location`); its result names the run."""
    if body.async_:
        from api.jobs import router as jobs_router
        from api.jobs import service as jobs

        job = jobs.create_run_job(session, principal=principal, round_id=round_id, body=body)
        return jobs_router.accept(session, job, response)
    return _solve_and_record(session, principal, response, service.prepare_run(
        session, principal=principal, round_id=round_id, body=body))  # fmt: skip


@router.post(
    "/rounds/{round_id}/reallocations",
    status_code=201,
    operation_id="reallocations_create",
    responses={201: {"headers": LOCATION}} | CONFLICT,
)
def create_reallocation(
    session: SessionDep,
    principal: CurrentUser,
    round_id: IdPath,
    body: RunRequest,
    response: Response,
) -> RunRead:
    """Re-use slippage: optimise an agreed round's still-submitted schemes within the headroom
    that approved schemes' current forecasts leave (a run of kind "reallocation")."""
    return _solve_and_record(session, principal, response, service.prepare_reallocation(
        session, principal=principal, round_id=round_id, body=body))  # fmt: skip


def _solve_and_record(
    session: Session, principal: Principal, response: Response, prepared: service.PreparedRun
) -> RunRead:
    """Solve a prepared run (an allocation or a re-allocation) and store it: 201 with its
    Location. No transaction or connection is held while the solver works."""
    end_read_phase(session)
    result = service.solve_run(prepared=prepared)
    run = service.record_run(session, principal=principal, prepared=prepared, result=result)
    response.headers["Location"] = f"/api/v1/runs/{run.id}"
    return service.run_view(run)


@router.get("/rounds/{round_id}/runs", operation_id="runs_list")
def list_runs(
    session: SessionDep,
    principal: CurrentUser,
    round_id: IdPath,
    limit: Limit = 50,
    offset: Offset = 0,
) -> RunSummaryPage:
    runs, total = service.list_runs(
        session, principal=principal, round_id=round_id, limit=limit, offset=offset
    )
    items = [service.run_summary(r) for r in runs]
    return RunSummaryPage(items=items, total=total, limit=limit, offset=offset)


@router.post(
    "/rounds/{round_id}/agree",
    operation_id="rounds_agree",
    responses={200: {"headers": ETAG}, 412: VERSIONED_RESPONSES[412]} | CONFLICT,
)
def agree_round(
    session: SessionDep,
    principal: CurrentUser,
    round_id: IdPath,
    body: AgreeRequest,
    response: Response,
) -> RoundRead:
    """Agree a run: its funded schemes are approved and the round accepts no more runs.
    409 if the round is already agreed, the run has no portfolio, or a funded scheme changed
    since the run; 412 if a scheme or the round changed while agreeing."""
    return _round(
        response, service.agree(session, principal=principal, round_id=round_id, body=body)
    )


@router.get("/runs/{run_id}", operation_id="runs_get")
def get_run(session: SessionDep, principal: CurrentUser, run_id: IdPath) -> RunRead:
    return service.run_view(service.get_run(session, principal=principal, run_id=run_id))


@router.get("/runs/{run_id}/snapshot.json", operation_id="runs_snapshot")
def get_run_snapshot(session: SessionDep, principal: CurrentUser, run_id: IdPath) -> JSONObject:
    """The exact problem the run solved: `capital optimise` reproduces its result offline."""
    return service.get_run(session, principal=principal, run_id=run_id).snapshot


@router.get(
    "/runs/{run_id}/compare",
    operation_id="runs_compare",
    responses={
        409: {
            "model": Problem,
            "description": "A run has no portfolio to compare",
            "content": {"application/problem+json": {}},
        }
    },
)
def compare_runs(
    session: SessionDep,
    principal: CurrentUser,
    run_id: IdPath,
    other: Annotated[int, Query(alias="with", ge=1, le=MAX_ID, description="The other run.")],
) -> RunComparison:
    """Differences from this run (a) to another (`?with=ID`, b): b minus a. Schemes funded in
    only one run, or starting in another year, come with title, organisation and cost. A run
    with no portfolio (infeasible, or out of time) cannot be compared: 409."""
    return service.compare_runs(session, principal=principal, run_id=run_id, other_id=other)


def _attachment(report: reports.Report) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{report.filename}"'}
    return Response(report.content, media_type=report.media_type, headers=headers)


@router.get(
    "/runs/{run_id}/report.xlsx",
    operation_id="runs_report_xlsx",
    response_class=Response,
    responses={
        200: {
            "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
            "description": "The board workbook",
        }
    },
)
def run_report_xlsx(session: SessionDep, principal: CurrentUser, run_id: IdPath) -> Response:
    """The board workbook: Summary, Schemes, Organisations, Categories, with charts."""
    return _attachment(reports.workbook_report(session, principal=principal, run_id=run_id))


@router.get(
    "/runs/{run_id}/report.pdf",
    operation_id="runs_report_pdf",
    response_class=Response,
    responses={
        200: {
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The board pack",
        }
    },
)
def run_report_pdf(
    session: SessionDep,
    principal: CurrentUser,
    run_id: IdPath,
    other: Annotated[
        int | None,
        Query(alias="with", ge=1, le=MAX_ID, description="Another run to compare with."),
    ] = None,
) -> Response:
    """A board pack: summary, charts, the funding line and (with `?with=ID`) a comparison."""
    return _attachment(
        reports.board_pack(session, principal=principal, run_id=run_id, other_id=other)
    )


@router.get(
    "/runs/{run_id}/report.csv",
    operation_id="runs_report_csv",
    response_class=Response,
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "One row per scheme",
        }
    },
)
def run_report_csv(session: SessionDep, principal: CurrentUser, run_id: IdPath) -> Response:
    """A row per scheme: UTF-8 with a byte-order mark, plain numbers, spend as funded."""
    return _attachment(reports.csv_rows(session, principal=principal, run_id=run_id))
