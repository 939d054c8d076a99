"""Who may do what to a round, and when: the checks the rounds service makes before it
changes, runs, re-allocates or agrees a round, and the refusal functions pages ask before
offering those actions (each None exactly when the service would go ahead)."""

from sqlalchemy.orm import Session

from api.delivery import service as delivery_service
from api.deps import Principal
from api.errors import CapitalError, Conflict, Forbidden, InvalidInput, a_or_an, field_error
from api.rounds.models import Round, Run
from api.rounds.schemas import RunSummary
from api.schemes import repository as schemes_repository
from api.systems.models import System
from optimiser.money import to_json_number

EDITABLE = ("draft", "open")


def require_finance(
    principal: Principal, round_: Round | None = None, system_id: int | None = None
) -> None:
    principal.require_role("ics_finance")
    principal.require_system(round_.system_id if round_ else system_id)


def require_round_state(round_: Round, action: str) -> None:
    """A draft or open round can be changed ("change"); any round not yet agreed can be run
    ("run": a run, and a frontier or study job)."""
    if action == "change" and round_.status not in EDITABLE:
        raise Conflict(f"{a_or_an(round_.status).capitalize()} round cannot be changed.")
    if action == "run" and round_.status == "agreed":
        raise Conflict(f"Round {round_.id} is agreed; it accepts no more runs.")


def round_refusal(principal: Principal, round_: Round, action: str) -> CapitalError | None:
    """What update_round ("change") or prepare_run ("run") would refuse the caller for a round
    they can read, version aside; None if it would go ahead. Pages offer the round's form,
    its runs and its frontier only when this is None."""
    try:
        require_finance(principal, round_)
        require_round_state(round_, action)
    except CapitalError as exc:
        return exc
    return None


def new_round_refusal(principal: Principal, system: System | None) -> CapitalError | None:
    """What create_round would refuse the caller for `system` (the one a page sets the round
    up for; None when they work in none), whatever the round's parameters; None if they may
    set one up. Pages offer "Set up a new round" only when this is None."""
    try:
        principal.require_role("ics_finance")
        if system is None:
            raise Forbidden("You work in no system yet, so there is none to set up a round for.")
        require_finance(principal, system_id=system.id)
    except CapitalError as exc:
        return exc
    return None


def require_reallocatable(principal: Principal, round_: Round) -> None:
    require_finance(principal, round_)
    if round_.status != "agreed":
        raise Conflict(
            f"Round {round_.id} is {round_.status}: only an agreed round is re-allocated; run it instead."
        )


def require_open_year(round_: Round, years: list[str], state: delivery_service.PeriodState) -> None:
    """A re-allocation needs a year of the round that delivery has not yet left behind."""
    current = state.current_year
    if current is not None and all(y < current for y in years):
        raise Conflict(
            f"Every year of round {round_.id} is closed: there is nothing to re-allocate."
        )


def reallocation_refusal(
    *, principal: Principal, round_: Round, state: delivery_service.PeriodState
) -> CapitalError | None:
    """What prepare_reallocation would refuse the caller for a round they can read, with the
    round's own years (no what-if), its system's reporting period standing at `state`; None
    if it would go ahead. Pages offer "Run a re-allocation" only when this is None."""
    try:
        require_reallocatable(principal, round_)
        require_open_year(round_, [y.year for y in round_.years], state)
    except CapitalError as exc:
        return exc
    return None


def has_portfolio(run: Run | RunSummary) -> bool:
    """Whether a run found a portfolio: only such a run is compared or agreed."""
    return run.status in ("optimal", "feasible")


def require_agreeable(
    session: Session, *, principal: Principal, round_: Round, run: Run | None, run_id: int
) -> None:
    """Everything `agree` checks before it writes, in its order: the role and scope, the round
    and run (an allocation of a round not yet agreed, or a re-allocation not yet agreed whose
    delivery has not moved on), a portfolio, and funded schemes unchanged since the run."""
    require_finance(principal, round_)
    if run is not None and run.round_id == round_.id and run.kind == "reallocation":
        require_reallocation_agreeable(session, round_=round_, run=run)
    else:
        if round_.status == "agreed":
            raise Conflict(f"Round {round_.id} is already agreed (run {round_.agreed_run_id}).")
        if run is None or run.round_id != round_.id:
            raise InvalidInput(
                "That run is not of this round.",
                errors=[
                    field_error("body.run_id", f"run {run_id} is not a run of round {round_.id}")
                ],
            )
    if not has_portfolio(run):
        raise Conflict(f"Run {run.id} is {run.status}: it has no portfolio to agree.")
    versions = run.options.get("scheme_versions", {})
    funded = [int(s["id"]) for s in run.result["schemes"] if s["outcome"] == "funded"]
    schemes = {s.id: s for s in schemes_repository.get_schemes(session, ids=funded)}
    for scheme_id in funded:
        scheme = schemes.get(scheme_id)
        if scheme is None or scheme.version != versions.get(str(scheme_id)):
            raise Conflict(
                f"Scheme {scheme_id} has changed since run {run.id}; run the round again before agreeing."
            )


def agreement_refusal(
    session: Session, *, principal: Principal, round_: Round, run: Run
) -> CapitalError | None:
    """What `agree` would refuse the caller for this run of a round they can read; None if it
    would agree it. Pages offer agreement only when this is None."""
    try:
        require_agreeable(session, principal=principal, round_=round_, run=run, run_id=run.id)
    except CapitalError as exc:
        return exc
    return None


def require_reallocation_agreeable(session: Session, *, round_: Round, run: Run) -> None:
    """A re-allocation is agreed once, and only while the delivery it was computed from has
    not moved on (a month closed, a forecast changed)."""
    if run.agreed_at is not None:
        raise Conflict(
            f"Re-allocation {run.id} was already agreed at {run.agreed_at:%Y-%m-%d %H:%M}."
        )
    state = delivery_service.period_state(session, system_id=round_.system_id)
    if state.reporting_period != run.options.get("reporting_period"):
        raise Conflict(
            f"A month has closed since re-allocation {run.id} (reporting period now "
            f"{state.reporting_period}); run the re-allocation again before agreeing."
        )
    years = run.snapshot["years"]
    forecasts = delivery_service.forecast_profiles(session, system_id=round_.system_id, years=years)
    statuses = {s.id: s.status for s in schemes_repository.get_schemes(
        session, ids=[int(s["id"]) for s in run.snapshot["schemes"]])}  # fmt: skip
    for document in run.snapshot["schemes"]:
        scheme_id = int(document["id"])
        if (
            statuses.get(scheme_id) != "approved"
            or run.options["scheme_versions"].get(document["id"]) is None
        ):
            continue
        now = {
            y: to_json_number(a) for y, a in sorted(forecasts.get(scheme_id, {}).items()) if a > 0
        }
        if (
            document["mandatory"]
            and document["max_deferral_years"] == 0
            and now != document["cost_profile"]
        ):
            raise Conflict(
                f"The forecast of scheme {scheme_id} has changed since re-allocation {run.id}; "
                "run the re-allocation again before agreeing."
            )
