"""Allocation rounds: set up, run (what-ifs included), compare, and agree. Who may do each,
and when, is in `api.rounds.permissions`."""

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from api.audit import service as audit
from api.db import utcnow
from api.delivery import service as delivery_service
from api.deps import Principal
from api.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    field_error,
)
from api.rounds import repository, snapshot
from api.rounds.fair_shares import resolve_formula
from api.rounds.models import Round, RoundYear, Run
from api.rounds.permissions import (
    has_portfolio,
    require_agreeable,
    require_finance,
    require_open_year,
    require_reallocatable,
    require_round_state,
)
from api.rounds.schemas import (
    AgreeRequest,
    FrontierRequest,
    OrganisationDifference,
    RobustnessRequest,
    RoundCreate,
    RoundParameters,
    RoundRead,
    RoundUpdate,
    RunComparison,
    RunRead,
    RunRequest,
    RunSummary,
    SchemeDifference,
    YearDifference,
)
from api.schemes import repository as schemes_repository
from api.systems import repository as systems_repository
from api.systems import service as systems_service
from api.versioning import check_version, flush_versioned, parse_if_match
from optimiser import (
    Snapshot,
    SnapshotInvalid,
    SolveOptions,
    SolverFailed,
    frontier,
    parse_snapshot,
    solve,
)

DEFAULT_WEIGHTS = dict.fromkeys(
    ("strategic_fit", "safety_quality", "value_for_money", "deliverability"), 0.25
)


def round_view(round_: Round) -> RoundRead:
    return RoundRead(
        id=round_.id,
        system=round_.system.code,
        name=round_.name,
        status=round_.status,
        years=[y.year for y in round_.years],
        envelope={y.year: y.envelope for y in round_.years},
        reserve={y.year: y.reserve for y in round_.years},
        overcommitment_pct=float(round_.overcommitment_pct),
        weights=round_.weights,
        fair_shares=round_.fair_shares,
        fair_share_formula=round_.fair_share_formula,
        fair_share_mode=round_.fair_share_mode,
        tolerance_pct=float(round_.tolerance_pct),
        fairness_penalty=round_.fairness_penalty,
        category_limits=round_.category_limits,
        min_deliverability=round_.min_deliverability,
        value_model=round_.value_model,
        deferral_discount=round_.deferral_discount,
        agreed_run_id=round_.agreed_run_id,
        version=round_.version,
        created_at=round_.created_at,
        updated_at=round_.updated_at,
    )


def _audit_view(round_: Round) -> dict:
    return round_view(round_).model_dump(mode="json", exclude={"created_at"})


def get_round(session: Session, *, principal: Principal, round_id: int) -> Round:
    """A round of one of the caller's systems (every role may read rounds and their runs)."""
    round_ = repository.get_round(session, round_id=round_id)
    if round_ is None or not principal.in_system(round_.system_id):
        raise NotFound(f"No round with id {round_id}.")  # out of scope reads like missing
    return round_


def list_rounds(
    session: Session, *, principal: Principal, system: str | None, limit: int, offset: int
) -> tuple[list[Round], int]:
    """A page of the rounds of the caller's systems, and how many there are."""
    systems_service.check_list_filters(session, principal=principal, system=system)
    return repository.list_rounds(
        session, system_ids=principal.system_ids, system_code=system, limit=limit, offset=offset
    )


def _snapshot_errors(exc: SnapshotInvalid, prefix: str = "body") -> list[dict[str, str]]:
    return [field_error(prefix + e["path"][1:], e["message"]) for e in exc.errors]


def _check_parameters(
    parameters: dict[str, Any], *, organisations: set[str], computed: "_Shares | None" = None
) -> None:
    """Round parameters are validated exactly like a snapshot's (one set of rules). Shares
    `computed` from a formula are blamed on the formula's inputs, which the caller sent."""
    shares_at = "body.fair_share_formula.inputs" if computed is not None else "body.fair_shares"

    def located(errors: list[dict]) -> list[dict]:
        return [{**e, "loc": shares_at + e["loc"].removeprefix("body.fair_shares")}
                if e["loc"].startswith("body.fair_shares") else e for e in errors]  # fmt: skip

    try:
        parse_snapshot({**parameters, "schemes": []})
    except SnapshotInvalid as exc:
        raise InvalidInput(
            "The round's parameters are not valid.", errors=located(_snapshot_errors(exc))
        ) from None
    unknown = [code for code in parameters.get("fair_shares", {}) if code not in organisations]
    if unknown:
        raise InvalidInput(
            "Fair shares name organisations outside the system.",
            errors=[
                field_error(f"{shares_at}.{c}", "not an organisation of this system")
                for c in unknown
            ],
        )


@dataclass
class _Shares:
    """Shares computed from a formula: the shares, the round's record of the formula, and the
    formula as a snapshot records it (only when factors came from facts)."""

    shares: dict[str, float]
    record: dict[str, Any]
    in_snapshot: dict[str, Any] | None


def _shares_from(session: Session, body: RoundParameters, system) -> _Shares | None:
    if body.fair_share_formula is not None and body.fair_shares is not None:
        raise InvalidInput(
            "Give fair_shares or fair_share_formula, not both.",
            errors=[field_error("body.fair_share_formula", "not with fair_shares")],
        )
    if body.fair_share_formula is None:
        return None
    return _Shares(
        *resolve_formula(
            session, formula=body.fair_share_formula, organisations=list(system.organisations)
        )
    )


def _overrides(
    parameters: dict[str, Any], body: RoundParameters, computed: "_Shares | None"
) -> dict[str, Any]:
    if computed is None:
        return snapshot.apply_overrides(parameters, body, None)
    return snapshot.apply_overrides(parameters, body, computed.shares, computed.in_snapshot)


def _organisation_codes(round_or_system) -> set[str]:
    return {o.code for o in round_or_system.organisations}


def _apply(round_: Round, parameters: dict[str, Any]) -> None:
    existing = {y.year: y for y in round_.years}
    reserve = parameters.get("reserve", {})
    round_.years = [
        RoundYear(
            year=year,
            envelope=Decimal(str(parameters["envelope"][year])),
            reserve=Decimal(str(reserve.get(year, 0))),
        )
        if year not in existing
        else _update_year(existing[year], parameters["envelope"][year], reserve.get(year, 0))
        for year in parameters["years"]
    ]
    round_.overcommitment_pct = Decimal(str(parameters["overcommitment_pct"]))
    round_.tolerance_pct = Decimal(str(parameters["tolerance_pct"]))
    for key in ("weights", "fair_shares", "fair_share_mode", "fairness_penalty", "min_deliverability",
                "value_model", "deferral_discount"):  # fmt: skip
        setattr(round_, key, parameters[key])
    round_.category_limits = {
        category: {bound: str(Decimal(str(v)).quantize(Decimal("0.01"))) if v is not None else None
                   for bound, v in limit.items()}
        for category, limit in parameters.get("category_limits", {}).items()
    }  # fmt: skip


def _update_year(row: RoundYear, envelope, reserve) -> RoundYear:
    row.envelope, row.reserve = Decimal(str(envelope)), Decimal(str(reserve))
    return row


DEFAULTS: dict[str, Any] = {
    "reserve": {}, "overcommitment_pct": 0.0, "weights": DEFAULT_WEIGHTS, "fair_shares": {},
    "fair_share_mode": "off", "tolerance_pct": 10.0, "fairness_penalty": 1.0, "category_limits": {},
    "min_deliverability": 0.0, "value_model": "weighted_spend", "deferral_discount": 0.0,
}  # fmt: skip


def create_round(session: Session, *, principal: Principal, body: RoundCreate) -> Round:
    """Set up a round for a system (finance directors of that system)."""
    system = systems_repository.get_system_by_code(session, code=body.system)
    if system is None:
        raise InvalidInput(
            "Unknown system.", errors=[field_error("body.system", f"no system {body.system}")]
        )
    require_finance(principal, system_id=system.id)
    computed = _shares_from(session, body, system)
    parameters = _overrides(dict(DEFAULTS, years=[], envelope={}), body, computed)
    _check_parameters(parameters, organisations=_organisation_codes(system), computed=computed)
    round_ = Round(system=system, name=body.name, created_by_id=principal.user.id)
    _apply(round_, parameters)
    if computed is not None:
        round_.fair_share_formula = computed.record
    session.add(round_)
    session.flush()
    audit.record(session, actor=principal.user, action="create", entity="round", entity_id=round_.id,
                 system_id=round_.system_id, after=_audit_view(round_))  # fmt: skip
    return round_


def update_round(
    session: Session,
    *,
    principal: Principal,
    round_id: int,
    body: RoundUpdate,
    if_match: str | None,
) -> Round:
    """Change a draft or open round's parameters, name or status."""
    round_ = get_round(session, principal=principal, round_id=round_id)
    require_finance(principal, round_)
    check_version(round_, parse_if_match(if_match), what=f"Round {round_.id}")
    require_round_state(round_, "change")
    before = _audit_view(round_)
    computed = _shares_from(session, body, round_.system)
    parameters = _overrides(snapshot.round_parameters(round_), body, computed)
    _check_parameters(
        parameters, organisations=_organisation_codes(round_.system), computed=computed
    )
    _apply(round_, parameters)
    if computed is not None:
        round_.fair_share_formula = computed.record
    elif body.fair_shares is not None:
        round_.fair_share_formula = None
    if body.name is not None:
        round_.name = body.name
    if body.status is not None:
        round_.status = body.status
    flush_versioned(session, round_, what=f"Round {round_.id}")
    audit.record(session, actor=principal.user, action="update", entity="round", entity_id=round_.id,
                 system_id=round_.system_id, before=before, after=_audit_view(round_))  # fmt: skip
    return round_


@dataclass
class PreparedRun:
    """Everything a run needs, read from the database; solving it touches no database."""

    round_id: int
    snapshot: dict[str, Any]  # the document stored with the run
    problem: Snapshot  # the same, validated: what the optimiser solves
    excluded: list[dict[str, Any]]
    options: dict[str, Any]
    scheme_versions: dict[str, int]
    assemble_seconds: float
    solve_seconds: float = 0.0
    kind: str = "allocation"


def prepare_run(
    session: Session,
    *,
    principal: Principal,
    round_id: int,
    body: RunRequest | FrontierRequest | RobustnessRequest,
) -> PreparedRun:
    """Read phase of a run: permissions, the round's parameters with overrides, the snapshot."""
    started = time.perf_counter()
    round_ = get_round(session, principal=principal, round_id=round_id)
    require_finance(principal, round_)
    require_round_state(round_, "run")
    parameters = _run_parameters(session, round_, body)
    document, excluded = snapshot.assemble(session, round_=round_, parameters=parameters)
    return _prepared(session, round_, document, excluded, body, started, kind="allocation")


def prepare_reallocation(
    session: Session, *, principal: Principal, round_id: int, body: RunRequest
) -> PreparedRun:
    """Read phase of a re-allocation (DESIGN.md section 8): an agreed round, approved schemes
    committed at their current forecast, still-submitted schemes as candidates."""
    started = time.perf_counter()
    round_ = get_round(session, principal=principal, round_id=round_id)
    require_reallocatable(principal, round_)
    parameters = _run_parameters(session, round_, body)
    state = delivery_service.period_state(session, system_id=round_.system_id)
    require_open_year(round_, parameters["years"], state)
    current = state.current_year
    years = [y for y in parameters["years"] if current is None or y >= current]
    forecasts = delivery_service.forecast_profiles(session, system_id=round_.system_id, years=years)
    document, excluded = snapshot.assemble_reallocation(
        session, round_=round_, parameters=parameters, forecasts=forecasts, current_year=current
    )
    prepared = _prepared(session, round_, document, excluded, body, started, kind="reallocation")
    prepared.options["reporting_period"] = state.reporting_period
    return prepared


def _run_parameters(
    session: Session, round_: Round, body: RunRequest | FrontierRequest
) -> dict[str, Any]:
    computed = _shares_from(session, body, round_.system)
    parameters = _overrides(snapshot.round_parameters(round_), body, computed)
    _check_parameters(
        parameters, organisations=_organisation_codes(round_.system), computed=computed
    )
    return parameters


def _prepared(
    session: Session, round_: Round, document: dict, excluded: list[dict],
    body: RunRequest | FrontierRequest, started: float, *, kind: str,
) -> PreparedRun:  # fmt: skip
    try:
        problem = parse_snapshot(document)
    except SnapshotInvalid as exc:
        errors = []
        for error in exc.errors:
            path = error["path"]
            if path.startswith("$.schemes["):
                index = int(path[len("$.schemes[") : path.index("]")])
                scheme = document["schemes"][index]
                errors.append(
                    field_error(
                        "body.fair_shares",
                        f"scheme {scheme['id']} ({scheme['organisation']}): {error['message']}",
                    )
                )
            else:
                errors.append(field_error("body" + path[1:], error["message"]))
        raise InvalidInput("The round cannot be run as it stands.", errors=errors) from None
    overrides = body.model_dump(
        mode="json",
        exclude_unset=True,
        exclude={
            "label",
            "solver",
            "mip_gap",
            "time_limit_s",
            "multipliers",
            "async_",
            "points",
            "low",
            "high",
            "rank_order",
            "bounds",
            "samples",
            "seed",
        },  # fmt: skip
    )
    options = {
        "label": getattr(body, "label", None),
        "solver": getattr(body, "solver", "highs"),
        "mip_gap": body.mip_gap,
        "time_limit_s": body.time_limit_s,
        "overrides": overrides,
    }
    ids = [int(s["id"]) for s in document["schemes"]]
    versions = {str(i): v for i, v in schemes_repository.scheme_versions(session, ids=ids).items()}
    return PreparedRun(
        round_.id, document, problem, excluded, options, versions,
        time.perf_counter() - started, kind=kind,
    )  # fmt: skip


def solve_run(*, prepared: PreparedRun) -> dict[str, Any]:
    """Solve phase: pure computation on the snapshot, no database. Times itself (wall clock,
    including the re-solves that price the rules) into `prepared.solve_seconds`."""
    options = SolveOptions(
        solver=prepared.options["solver"],
        mip_gap=prepared.options["mip_gap"],
        time_limit_s=prepared.options["time_limit_s"],
    )
    started = time.perf_counter()
    try:
        result = solve(prepared.problem, options).to_document()
    except SolverFailed as exc:
        raise Conflict(f"The solver failed: {exc}") from exc
    prepared.solve_seconds = time.perf_counter() - started
    return result


def record_run(
    session: Session, *, principal: Principal, prepared: PreparedRun, result: dict[str, Any]
) -> Run:
    """Write phase: store the immutable run with its snapshot, fingerprint and result."""
    round_ = get_round(session, principal=principal, round_id=prepared.round_id)
    if round_.status == "agreed" and prepared.kind == "allocation":
        raise Conflict(f"Round {round_.id} was agreed while this run was solving.")
    run = Run(
        round_id=round_.id,
        kind=prepared.kind,
        created_by_id=principal.user.id,
        created_by_name=principal.name,
        options={**prepared.options, "scheme_versions": prepared.scheme_versions},
        snapshot=prepared.snapshot,
        snapshot_sha256=snapshot.fingerprint(prepared.snapshot),
        excluded=prepared.excluded,
        solver=result["solver"]["name"],
        solver_version=result["solver"]["version"],
        status=result["status"],
        objective=result["objective"],
        assemble_seconds=prepared.assemble_seconds,
        solve_seconds=prepared.solve_seconds,
        result=result,
    )
    session.add(run)
    session.flush()
    action = "run" if prepared.kind == "allocation" else "reallocate"
    audit.record(session, actor=principal.user, action=action, entity="run", entity_id=run.id,
                 system_id=round_.system_id,
                 after={"round_id": round_.id, "kind": run.kind, "status": run.status, "objective": run.objective,
                        "snapshot_sha256": run.snapshot_sha256, "options": prepared.options})  # fmt: skip
    return run


def run_view(run: Run) -> RunRead:
    options = {k: v for k, v in run.options.items() if k != "scheme_versions"}
    return RunRead(
        id=run.id, round_id=run.round_id, kind=run.kind, agreed_at=run.agreed_at,
        created_at=run.created_at, created_by=run.created_by_name, options=options, snapshot_sha256=run.snapshot_sha256, solver=run.solver,
        solver_version=run.solver_version, excluded=run.excluded,
        timings={"assemble_seconds": round(run.assemble_seconds, 4), "solve_seconds": round(run.solve_seconds, 4)},
        result=run.result,
    )  # fmt: skip


def run_summary(run: Run) -> RunSummary:
    return RunSummary(
        id=run.id, round_id=run.round_id, kind=run.kind, created_at=run.created_at,
        created_by=run.created_by_name, label=run.options.get("label"), status=run.status, objective=run.objective,
        snapshot_sha256=run.snapshot_sha256, solver=run.solver,
    )  # fmt: skip


def get_run(session: Session, *, principal: Principal, run_id: int) -> Run:
    """A run of a round in one of the caller's systems."""
    run = repository.get_run(session, run_id=run_id)
    round_ = None if run is None else repository.get_round(session, round_id=run.round_id)
    if round_ is None or not principal.in_system(round_.system_id):
        # Out of scope reads like missing: the message names the run, never its round.
        raise NotFound(f"No run with id {run_id}.")
    return run


def list_runs(
    session: Session, *, principal: Principal, round_id: int, limit: int, offset: int
) -> tuple[list[Run], int]:
    get_round(session, principal=principal, round_id=round_id)
    return repository.list_runs(session, round_id=round_id, limit=limit, offset=offset)


def solve_frontier(*, prepared: PreparedRun, multipliers: list[float]) -> list[dict[str, Any]]:
    """The efficient frontier of a prepared round (no database)."""
    options = SolveOptions(
        mip_gap=prepared.options["mip_gap"], time_limit_s=prepared.options["time_limit_s"]
    )
    try:
        points = frontier(prepared.problem, multipliers, options)
    except SolverFailed as exc:
        raise Conflict(f"The solver failed: {exc}") from exc
    return [p.model_dump(mode="json") for p in points]


def _funded(run: Run) -> dict[str, str]:
    return {s["id"]: s["start_year"] for s in run.result["schemes"] if s["outcome"] == "funded"}


def _money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def compare_runs(
    session: Session, *, principal: Principal, run_id: int, other_id: int
) -> RunComparison:
    """What changes between two runs: schemes in and out (with titles, organisations and £),
    start years, spend by year and organisation, objective. Both runs must have a portfolio."""
    a = get_run(session, principal=principal, run_id=run_id)
    b = get_run(session, principal=principal, run_id=other_id)
    for run in (a, b):
        if not has_portfolio(run):
            why = (
                "its rules conflict" if run.status == "infeasible" else "the solver ran out of time"
            )
            raise Conflict(
                f"Run {run.id} is {run.status} ({why}): it has no portfolio, so there is nothing "
                "to compare. Compare runs that found a portfolio; see its conflicts for why."
            )
    funded_a, funded_b = _funded(a), _funded(b)
    years = {row["year"]: row for row in a.result["by_year"]}
    other_years = {row["year"]: row for row in b.result["by_year"]}
    by_year = []
    for year in sorted(set(years) | set(other_years)):
        spend_a = _money(years.get(year, {}).get("spend"))
        spend_b = _money(other_years.get(year, {}).get("spend"))
        by_year.append(YearDifference(year=year, spend_a=spend_a, spend_b=spend_b,
                                      difference=spend_b - spend_a))  # fmt: skip
    orgs = {row["organisation"]: _money(row["allocated"]) for row in a.result["by_organisation"]}
    other_orgs = {
        row["organisation"]: _money(row["allocated"]) for row in b.result["by_organisation"]
    }
    by_organisation = [
        OrganisationDifference(
            organisation=code,
            allocated_a=orgs.get(code, Decimal(0)),
            allocated_b=other_orgs.get(code, Decimal(0)),
            difference=other_orgs.get(code, Decimal(0)) - orgs.get(code, Decimal(0)),
        )
        for code in sorted(set(orgs) | set(other_orgs))
    ]
    # Each scheme as it was in the snapshot of the run that funds it; titles as they are now.
    entries_a = {s["id"]: s for s in a.snapshot["schemes"]}
    entries_b = {s["id"]: s for s in b.snapshot["schemes"]}
    changed = (set(funded_a) ^ set(funded_b)) | {
        i for i in set(funded_a) & set(funded_b) if funded_a[i] != funded_b[i]
    }
    titles = {
        str(s.id): s.title
        for s in schemes_repository.get_schemes(session, ids=[int(i) for i in changed])
    }

    def difference(scheme_id: str) -> SchemeDifference:
        entry = entries_a[scheme_id] if scheme_id in funded_a else entries_b[scheme_id]
        return SchemeDifference(
            id=scheme_id,
            title=titles.get(scheme_id, ""),
            organisation=entry["organisation"],
            cost=sum((_money(v) for v in entry["cost_profile"].values()), Decimal(0)),
            start_year_a=funded_a.get(scheme_id),
            start_year_b=funded_b.get(scheme_id),
        )

    only_a = [difference(i) for i in sorted(set(funded_a) - set(funded_b), key=_id_key)]
    only_b = [difference(i) for i in sorted(set(funded_b) - set(funded_a), key=_id_key)]
    moved = [
        difference(i)
        for i in sorted(set(funded_a) & set(funded_b), key=_id_key)
        if funded_a[i] != funded_b[i]
    ]
    return RunComparison(
        run_a=a.id, run_b=b.id, objective_a=a.objective, objective_b=b.objective,
        objective_difference=round(b.objective - a.objective, 6),
        funded_only_in_a=only_a, funded_only_in_b=only_b, start_year_changes=moved,
        spend_only_in_a=sum((d.cost for d in only_a), Decimal(0)),
        spend_only_in_b=sum((d.cost for d in only_b), Decimal(0)),
        by_year=by_year, by_organisation=by_organisation,
    )  # fmt: skip


def _id_key(scheme_id: str):
    return (len(scheme_id), scheme_id)


def agree(session: Session, *, principal: Principal, round_id: int, body: AgreeRequest) -> Round:
    """Agree one run: its funded schemes become approved (and go into delivery) and the round
    is locked. Agreeing a re-allocation of an agreed round approves its funded candidates."""
    round_ = get_round(session, principal=principal, round_id=round_id)
    run = repository.get_run(session, run_id=body.run_id)
    require_agreeable(session, principal=principal, round_=round_, run=run, run_id=body.run_id)
    if run.kind == "reallocation":
        return _agree_reallocation(session, principal=principal, round_=round_, run=run)
    before = _audit_view(round_)
    approved = _approve_funded(session, principal=principal, round_=round_, run=run)
    round_.status, round_.agreed_run_id = "agreed", run.id
    flush_versioned(session, round_, what=f"Round {round_.id}")
    for scheme in approved:
        delivery_service.start_delivery(session, scheme=scheme)
    audit.record(session, actor=principal.user, action="agree", entity="round", entity_id=round_.id,
                 system_id=round_.system_id, before=before, after=_audit_view(round_))  # fmt: skip
    return round_


def _approve_funded(session: Session, *, principal: Principal, round_: Round, run: Run) -> list:
    """Approve a run's funded schemes that are not approved yet (checked by
    require_agreeable); returns them."""
    deferrals = {
        s["id"]: s["deferral_years"] for s in run.result["schemes"] if s["outcome"] == "funded"
    }
    funded = [int(i) for i in deferrals]
    schemes = {s.id: s for s in schemes_repository.get_schemes(session, ids=funded)}
    approved = []
    for scheme_id in funded:
        scheme = schemes[scheme_id]
        if scheme.status == "approved":
            continue  # committed by an earlier round
        scheme.status = "approved"
        scheme.approved_run_id, scheme.approved_deferral_years = run.id, deferrals[str(scheme_id)]
        flush_versioned(session, scheme, what=f"Scheme {scheme_id}")
        audit.record(session, actor=principal.user, action="approve", entity="scheme", entity_id=scheme.id,
                     system_id=scheme.system_id, before={"status": "submitted"},
                     after={"status": "approved", "round_id": round_.id, "run_id": run.id,
                            "kind": run.kind, "deferral_years": scheme.approved_deferral_years})  # fmt: skip
        approved.append(scheme)
    return approved


def _agree_reallocation(
    session: Session, *, principal: Principal, round_: Round, run: Run
) -> Round:
    """Approve a re-allocation's funded candidates (checked by require_agreeable); the round
    stays agreed."""
    before = {"reallocation_run_id": run.id, "agreed_at": None}
    approved = _approve_funded(session, principal=principal, round_=round_, run=run)
    for scheme in approved:
        delivery_service.start_delivery(session, scheme=scheme)
    run.agreed_at = utcnow()
    session.flush()
    audit.record(session, actor=principal.user, action="agree_reallocation", entity="round",
                 entity_id=round_.id, system_id=round_.system_id, before=before,
                 after={"reallocation_run_id": run.id, "agreed_at": run.agreed_at.isoformat(),
                        "approved": [s.id for s in approved]})  # fmt: skip
    return round_
