"""In-year delivery (DESIGN.md section 7): monthly plan, actual and forecast of every approved
scheme, the system's reporting period, and the figures by scheme, organisation and system.

Every function takes keyword-only arguments and flushes, never commits: the caller's session
(the request's, or a page's) commits. The web application reuses these functions as they are.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.audit import service as audit
from api.db import utcnow
from api.delivery import repository
from api.delivery.models import DeliveryMonth, PeriodClose, ReportingPeriod, SchemeDelivery
from api.delivery.periods import months_of, next_month, phase, year_of
from api.delivery.schemas import (
    DeliveryImport,
    DeliveryImportResult,
    DeliveryRead,
    DeliveryUpdate,
    MonthRead,
    OrganisationFigures,
    PeriodRead,
    SchemeFigures,
    SystemDeliveryRead,
    TotalFigures,
    YearRead,
)
from api.deps import Principal
from api.errors import CapitalError, Conflict, Forbidden, InvalidInput, NotFound, field_error
from api.rounds import repository as rounds_repository
from api.schemes import repository as schemes_repository
from api.schemes import service as schemes_service
from api.schemes.agreement import agreed_profile
from api.schemes.models import Scheme
from api.systems.models import System
from api.systems.service import get_system
from api.types import financial_year_start
from api.versioning import check_version, flush_versioned, parse_if_match
from optimiser.money import format_pounds

ZERO = Decimal("0.00")
READERS = ("admin", "ics_finance", "viewer", "trust")
FIGURES = ("ytd_plan", "ytd_actual", "ytd_variance", "annual_plan", "forecast_outturn",
           "forecast_variance", "slippage")  # fmt: skip


def pounds(amount: Decimal) -> str:
    """£1,234,567.89: exact amounts in messages (never rounded to £1.2m)."""
    return f"-£{-amount:,.2f}" if amount < 0 else f"£{amount:,.2f}"


# ---------------------------------------------------------------------------------------------
# Periods


@dataclass(frozen=True)
class PeriodState:
    """Where a system is in the year: its last closed month, the next month to close (the last
    month actuals may be recorded for) and the current financial year (that month's)."""

    reporting_period: str | None
    next_period: str | None

    @property
    def current_year(self) -> str | None:
        return year_of(self.next_period) if self.next_period else None

    def closed(self, period: str) -> bool:
        return self.reporting_period is not None and period <= self.reporting_period


def period_state(session: Session, *, system_id: int) -> PeriodState:
    row = repository.get_reporting_period(session, system_id=system_id)
    if row is not None and row.period is not None:
        return PeriodState(row.period, next_month(row.period))
    first = repository.first_agreed_year(session, system_id=system_id)
    return PeriodState(None, f"{financial_year_start(first)}-04" if first else None)


def period_view(system: System, state: PeriodState) -> PeriodRead:
    return PeriodRead(
        system=system.code, reporting_period=state.reporting_period,
        next_period=state.next_period, current_year=state.current_year,
    )  # fmt: skip


def get_period(session: Session, *, principal: Principal, system_code: str) -> PeriodRead:
    system = get_system(session, principal=principal, code=system_code)
    return period_view(system, period_state(session, system_id=system.id))


def _require_month_to_close(system: System, state: PeriodState) -> None:
    if state.next_period is None:
        raise Conflict(f"System {system.code} has no agreed round in delivery: nothing to close.")


def close_refusal(principal: Principal, system: System, state: PeriodState) -> CapitalError | None:
    """What close_period would refuse the caller for a system they work in, as it stands
    (`state`), whichever month they name; None if it would close the next one. Pages offer
    "Close" only when this is None."""
    try:
        principal.require_role("ics_finance")
        _require_month_to_close(system, state)
    except CapitalError as exc:
        return exc
    return None


def close_period(
    session: Session, *, principal: Principal, system_code: str, period: str | None = None
) -> PeriodRead:
    """Close the system's next month (finance directors): its actuals are locked from now.
    `period`, when given, is the month the caller means: any other is a 409, so a doubled or
    retried close closes it once and never the month after it."""
    system = get_system(session, principal=principal, code=system_code)
    principal.require_role("ics_finance")
    state = period_state(session, system_id=system.id)
    repository.lock_period(session, system_id=system.id, closing=True)
    if period_state(session, system_id=system.id) != state:  # a close committed meanwhile
        raise Conflict(f"{state.next_period} was closed by someone else at the same time.")
    _require_month_to_close(system, state)
    if period is not None and period != state.next_period:
        reported = state.reporting_period or "none closed yet"
        raise Conflict(f"{period} is not the next month to close: the reporting period is now "
                       f"{reported}, and the next month to close is {state.next_period}.")  # fmt: skip
    closing = state.next_period
    row = repository.get_reporting_period(session, system_id=system.id)
    if row is None:
        row = ReportingPeriod(system_id=system.id)
        session.add(row)
    row.period, row.updated_at = closing, utcnow()
    savepoint = session.begin_nested()
    try:
        repository.add_close(session, close=PeriodClose(
            system_id=system.id, period=closing, closed_by_id=principal.user.id,
            closed_by_name=principal.name))  # fmt: skip
        session.flush()
    except IntegrityError:
        savepoint.rollback()
        raise Conflict(f"{closing} was closed by someone else at the same time.") from None
    savepoint.commit()
    audit.record(session, actor=principal.user, action="close_period", entity="system",
                 entity_id=system.code, system_id=system.id,
                 before={"reporting_period": state.reporting_period},
                 after={"reporting_period": closing})  # fmt: skip
    return period_view(system, PeriodState(closing, next_month(closing)))


# ---------------------------------------------------------------------------------------------
# One scheme's delivery


def agreed_plan(session: Session, *, scheme: Scheme) -> dict[str, Decimal]:
    """The profile the system agreed (api.schemes.agreement): from the approving round's first
    year on, shifted by the agreed deferral."""
    return agreed_profile(
        ((c.year, c.amount) for c in scheme.costs),
        deferral_years=scheme.approved_deferral_years,
        from_year=_agreed_from(session, scheme.approved_run_id),
    )


def _agreed_from(session: Session, run_id: int | None) -> str | None:
    """The approving run's first year, read once per run in a session (agreeing a round puts
    hundreds of schemes into delivery, all approved by the same run)."""
    if run_id is None:
        return None
    known = session.info.setdefault("agreed_from", {})
    if run_id not in known:
        known.update(rounds_repository.first_years(session, run_ids={run_id}))
    return known.get(run_id)


def _months_for(year: str, amount: Decimal, state: PeriodState) -> list[DeliveryMonth]:
    """A year's months, its amount phased in equal parts over the months still open (all
    twelve before the year starts), pennies in March; forecast = plan."""
    months = months_of(year)
    open_months = [m for m in months if not state.closed(m)] or months
    plan = phase(amount, open_months)
    return [
        DeliveryMonth(period=m, year=year, plan=plan.get(m, ZERO), forecast=plan.get(m, ZERO))
        for m in months
    ]


def new_delivery(session: Session, scheme: Scheme, state: PeriodState) -> SchemeDelivery:
    """The default delivery of an approved scheme: its agreed plan in equal twelfths."""
    delivery = SchemeDelivery(scheme_id=scheme.id, commentary="", rag=None, version=1)
    delivery.months = [
        month
        for year, amount in sorted(agreed_plan(session, scheme=scheme).items())
        for month in _months_for(year, amount, state)
    ]
    return delivery


def start_delivery(session: Session, *, scheme: Scheme) -> SchemeDelivery:
    """Put a newly approved scheme into delivery (called when a round or re-allocation is
    agreed). Mid-year, its first year is phased over the months still open."""
    existing = repository.get_delivery(session, scheme_id=scheme.id)
    if existing is not None:
        return existing
    state = period_state(session, system_id=scheme.system_id)
    delivery = new_delivery(session, scheme, state)
    session.add(delivery)
    session.flush()
    return delivery


def year_figures(months: Iterable, state: PeriodState) -> dict[str, Decimal]:
    """The section 7 figures of one year from its months (objects or tuples with period,
    plan, actual and forecast): closed months count their actual, open months their forecast."""
    ytd_plan = ytd_actual = annual = rest = ZERO
    for m in months:
        annual += m.plan
        if state.closed(m.period):
            ytd_plan += m.plan
            ytd_actual += m.actual or ZERO
        else:
            rest += m.forecast
    return _figures(annual, ytd_plan, ytd_actual, rest)


def _figures(annual: Decimal, ytd_plan: Decimal, ytd_actual: Decimal, rest: Decimal) -> dict:
    outturn = ytd_actual + rest
    return {
        "ytd_plan": ytd_plan, "ytd_actual": ytd_actual, "ytd_variance": ytd_actual - ytd_plan,
        "annual_plan": annual, "forecast_outturn": outturn, "forecast_variance": outturn - annual,
        "slippage": max(annual - outturn, ZERO),
    }  # fmt: skip


def _by_year(delivery: SchemeDelivery) -> dict[str, list[DeliveryMonth]]:
    years: dict[str, list[DeliveryMonth]] = defaultdict(list)
    for month in sorted(delivery.months, key=lambda m: m.period):
        years[month.year].append(month)
    return dict(sorted(years.items()))


def delivery_view(scheme: Scheme, delivery: SchemeDelivery, state: PeriodState) -> DeliveryRead:
    years = []
    later = {}
    for year, months in _by_year(delivery).items():
        figures = year_figures(months, state)
        view = [
            MonthRead(period=m.period, plan=m.plan, actual=m.actual, closed=state.closed(m.period),
                      forecast=None if state.closed(m.period) else m.forecast)
            for m in months
        ]  # fmt: skip
        years.append(YearRead(year=year, months=view, **figures))
        if state.current_year is not None and year > state.current_year:
            later[year] = figures["forecast_outturn"]
    return DeliveryRead(
        scheme_id=scheme.id, title=scheme.title, system=scheme.system.code,
        organisation=scheme.organisation.code, version=delivery.version or 1,
        reporting_period=state.reporting_period, next_period=state.next_period,
        current_year=state.current_year, years=years, later_years=later, rag=delivery.rag,
        commentary=delivery.commentary or "",
    )  # fmt: skip


def _pence(amount: Decimal) -> str:
    """An amount as the audit shows it: always pounds and pence (100.00, as stored), whether
    it came from the request (100) or the database."""
    return f"{amount:.2f}"


def _audit_view(delivery: SchemeDelivery) -> dict:
    return {
        "version": delivery.version,
        "rag": delivery.rag,
        "commentary": delivery.commentary,
        "months": {
            m.period: {"plan": _pence(m.plan), "actual": None if m.actual is None else _pence(m.actual),
                       "forecast": _pence(m.forecast)}
            for m in sorted(delivery.months, key=lambda m: m.period)
        },
    }  # fmt: skip


def _readable_scheme(session: Session, *, principal: Principal, scheme_id: int) -> Scheme:
    """An approved scheme whose delivery the caller may read; anything else is a 404."""
    scheme = schemes_repository.get_scheme(session, scheme_id=scheme_id)
    _require_readable(principal, scheme, scheme_id)
    return scheme


def _require_readable(principal: Principal, scheme: Scheme | None, scheme_id: int) -> None:
    missing = NotFound(f"No scheme in delivery with id {scheme_id}.")
    # A scheme the caller cannot read (another organisation's draft) is missing: checked
    # before the role and the status, so neither a 403 nor "is draft" gives it away.
    if scheme is None or not schemes_service.can_read(principal, scheme):
        raise missing
    if principal.role == "trust" and scheme.organisation_id != principal.organisation_id:
        raise missing  # a trust sees its own organisation's delivery only
    if principal.role not in READERS:
        raise Forbidden(f"The {principal.role} role does not read delivery.")
    if scheme.status != "approved":
        raise NotFound(
            f"Scheme {scheme_id} is {scheme.status}, not approved: it is not in delivery."
        )


def delivery_refusal(principal: Principal, scheme: Scheme, action: str) -> CapitalError | None:
    """What get_delivery ("read") or update_delivery ("record", version and months aside)
    would refuse the caller for this scheme; None if it would go ahead. Pages link to a
    scheme's delivery, and offer its return form, only when this is None."""
    try:
        _require_readable(principal, scheme, scheme.id)
        if action == "record":
            _require_writer(principal, scheme)
    except CapitalError as exc:
        return exc
    return None


def _delivery_of(session: Session, scheme: Scheme, state: PeriodState) -> SchemeDelivery:
    """The stored delivery, or (for a scheme approved before delivery existed) its default,
    not yet stored."""
    delivery = repository.get_delivery(session, scheme_id=scheme.id)
    return delivery if delivery is not None else new_delivery(session, scheme, state)


def get_delivery(session: Session, *, principal: Principal, scheme_id: int) -> DeliveryRead:
    return get_scheme_delivery(session, principal=principal, scheme_id=scheme_id)[1]


def get_scheme_delivery(
    session: Session, *, principal: Principal, scheme_id: int
) -> tuple[Scheme, DeliveryRead]:
    """As get_delivery, with the scheme it read: a page asks delivery_refusal of it without
    loading it again."""
    scheme = _readable_scheme(session, principal=principal, scheme_id=scheme_id)
    state = period_state(session, system_id=scheme.system_id)
    return scheme, delivery_view(scheme, _delivery_of(session, scheme, state), state)


def _require_writer(principal: Principal, scheme: Scheme) -> None:
    if principal.role == "admin":
        return
    if principal.role != "trust":
        raise Forbidden(f"Only the scheme's trust records its delivery; {principal.you_are}.")


@dataclass
class Problems:
    """Everything wrong with a change, collected so one response names every field."""

    invalid: list[dict] = field(default_factory=list)  # 422
    conflicts: list[dict] = field(default_factory=list)  # 409: a closed month

    def raise_if_any(self, what: str) -> None:
        if self.invalid:
            raise InvalidInput(f"{what}: {self.invalid[0]['msg']}", errors=self.invalid)
        if self.conflicts:
            raise Conflict(f"{what}: {self.conflicts[0]['msg']}", errors=self.conflicts)


@dataclass
class Changes:
    plan: dict[str, Decimal] = field(default_factory=dict)
    actual: dict[str, Decimal | None] = field(default_factory=dict)
    forecast: dict[str, Decimal] = field(default_factory=dict)
    later_years: dict[str, Decimal] = field(default_factory=dict)


def apply_changes(
    delivery: SchemeDelivery, *, changes: Changes, state: PeriodState, problems: Problems,
    loc: str = "body", who: str = "",
) -> None:  # fmt: skip
    """Validate and apply a change to a scheme's months. `loc` prefixes each error's location
    and `who` each message (an import names the scheme)."""
    months = {m.period: m for m in delivery.months}
    annual_before = defaultdict(lambda: ZERO)
    for m in delivery.months:
        annual_before[m.year] += m.plan

    def month(period: str) -> DeliveryMonth:
        if period not in months:  # a year outside the agreed profile: nothing planned in it
            for p in months_of(year_of(period)):
                created = DeliveryMonth(period=p, year=year_of(p), plan=ZERO, forecast=ZERO)
                delivery.months.append(created)
                months[p] = created
        return months[period]

    def bad(field_: str, key: str, msg: str, *, conflict: bool = False) -> None:
        target = problems.conflicts if conflict else problems.invalid
        target.append(field_error(f"{loc}.{field_}.{key}", f"{who}{key}: {msg}"))

    current = state.current_year
    for year, amount in sorted(changes.later_years.items()):
        if current is None or year <= current:
            bad("later_years", year, f"later years are the years after the current year {current}")
            continue
        for period, value in phase(amount, months_of(year)).items():
            month(period).forecast = value
    touched, blocked = set(), set()
    for period, amount in sorted(changes.plan.items()):
        if state.closed(period):
            blocked.add(year_of(period))
            bad("plan", period, f"is closed (reporting period {state.reporting_period}): its plan is locked", conflict=True)  # fmt: skip
            continue
        month(period).plan = amount
        touched.add(year_of(period))
    for year in sorted(touched - blocked):
        total = sum((months[p].plan for p in months_of(year)), ZERO)
        if total != annual_before[year]:
            problems.invalid.append(field_error(
                f"{loc}.plan",
                f"{who}the months of {year} sum to {pounds(total)}; they must sum to the year's "
                f"agreed amount, {pounds(annual_before[year])}"))  # fmt: skip
    for period, amount in sorted(changes.forecast.items()):
        if state.closed(period):
            bad("forecast", period, f"is closed (reporting period {state.reporting_period}): forecasts are for open months only", conflict=True)  # fmt: skip
            continue
        month(period).forecast = amount
    for period, amount in sorted(changes.actual.items()):
        if state.next_period is None or period > state.next_period:
            bad("actual", period, f"actuals can be recorded up to {state.next_period}, the next month to close")  # fmt: skip
            continue
        if state.closed(period):
            bad("actual", period, f"is closed (reporting period {state.reporting_period}): its actual is locked", conflict=True)  # fmt: skip
            continue
        target = month(period)
        target.actual = amount
        if amount is not None and period not in changes.forecast:
            target.forecast = amount  # what was spent is now the best forecast of that month


def update_delivery(
    session: Session, *, principal: Principal, scheme_id: int, body: DeliveryUpdate,
    if_match: str | None,
) -> DeliveryRead:  # fmt: skip
    """Re-phase, record actuals and forecasts, RAG and commentary (the scheme's trust)."""
    expected = parse_if_match(if_match)
    scheme = _readable_scheme(session, principal=principal, scheme_id=scheme_id)
    _require_writer(principal, scheme)
    repository.lock_period(session, system_id=scheme.system_id)
    state = period_state(session, system_id=scheme.system_id)
    [write] = _writes(session, [scheme], state)
    check_version(write.delivery, expected, what=f"The delivery of scheme {scheme.id}")
    problems = Problems()
    changes = Changes(plan=body.plan or {}, actual=body.actual or {}, forecast=body.forecast or {},
                      later_years=body.later_years or {})  # fmt: skip
    apply_changes(write.delivery, changes=changes, state=state, problems=problems)
    problems.raise_if_any(f"The delivery of scheme {scheme.id} cannot be changed")
    rag = body.rag if "rag" in body.model_fields_set else write.delivery.rag
    write.finish(session, principal=principal, action="update", rag=rag, commentary=body.commentary)
    return delivery_view(scheme, write.delivery, state)


@dataclass
class _Write:
    """One scheme's delivery being changed, and what it was before (for the audit)."""

    scheme: Scheme
    delivery: SchemeDelivery
    before: dict

    def finish(
        self, session: Session, *, principal: Principal, action: str, rag: str | None,
        commentary: str | None,
    ) -> None:  # fmt: skip
        """Store the change (a writer who committed first makes it 412) and audit it."""
        delivery = self.delivery
        delivery.rag = rag
        if commentary is not None:
            delivery.commentary = commentary
        delivery.updated_by_id = principal.user.id
        flush_versioned(session, delivery, what=f"The delivery of scheme {self.scheme.id}")
        audit.record(session, actor=principal.user, action=action, entity="delivery",
                     entity_id=self.scheme.id, system_id=self.scheme.system_id,
                     before=self.before, after=_audit_view(delivery))  # fmt: skip


def _writes(session: Session, schemes: list[Scheme], state: PeriodState) -> list[_Write]:
    """The schemes' deliveries, ready to change: locked first (in scheme order, so two writers
    of overlapping schemes queue instead of deadlocking), then read as the last writer to commit
    left them, and stored if they were only defaults (a scheme approved before delivery was
    recorded), so two first writes cannot both insert."""
    repository.lock_deliveries(session, scheme_ids=[s.id for s in schemes])
    writes = []
    for scheme in sorted(schemes, key=lambda s: s.id):
        delivery = _delivery_of(session, scheme, state)
        if delivery not in session:
            session.add(delivery)
            session.flush()
        writes.append(_Write(scheme, delivery, _audit_view(delivery)))
    return writes


def import_delivery(
    session: Session, *, principal: Principal, system_code: str, body: DeliveryImport
) -> DeliveryImportResult:
    """Many schemes' returns for one period, all or nothing; every error names its scheme."""
    system = get_system(session, principal=principal, code=system_code)
    if principal.role not in ("trust", "admin"):
        raise Forbidden(f"Only trusts import delivery returns; {principal.you_are}.")
    repository.lock_period(session, system_id=system.id)
    state = period_state(session, system_id=system.id)
    problems = Problems()
    ids = [row.scheme_id for row in body.schemes]
    schemes = {s.id: s for s in schemes_repository.get_schemes(session, ids=ids)}
    seen: set[int] = set()
    accepted, rejected = [], {}  # (index, row, scheme); index -> why
    for index, row in enumerate(body.schemes):
        loc = f"body.schemes[{index}]"
        scheme = schemes.get(row.scheme_id)
        if row.scheme_id in seen:
            rejected[index] = field_error(f"{loc}.scheme_id", f"scheme {row.scheme_id} appears twice")  # fmt: skip
            continue
        seen.add(row.scheme_id)
        if (scheme is None or scheme.system_id != system.id or scheme.status != "approved"
                or (principal.role == "trust" and scheme.organisation_id != principal.organisation_id)):  # fmt: skip
            whose = "your organisation's" if principal.role == "trust" else f"{system.code}'s"
            rejected[index] = field_error(
                f"{loc}.scheme_id", f"scheme {row.scheme_id} is not one of {whose} approved schemes")  # fmt: skip
            continue
        accepted.append((index, row, scheme))
    writes = {w.scheme.id: w for w in _writes(session, [s for *_, s in accepted], state)}
    for index, row, scheme in accepted:
        changes = Changes(
            actual={body.period: row.actual} if row.actual is not None else {},
            forecast=dict(row.forecast), later_years=dict(row.later_years),
        )  # fmt: skip
        while rejected and min(rejected) < index:  # every error in the rows' order
            problems.invalid.append(rejected.pop(min(rejected)))
        apply_changes(writes[scheme.id].delivery, changes=changes, state=state, problems=problems,
                      loc=f"body.schemes[{index}]", who=f"scheme {row.scheme_id}, ")  # fmt: skip
    problems.invalid.extend(rejected[i] for i in sorted(rejected))
    problems.raise_if_any("Nothing was imported")
    for _index, row, scheme in accepted:
        write = writes[scheme.id]
        rag = row.rag if row.rag is not None else write.delivery.rag
        write.finish(
            session, principal=principal, action="import", rag=rag, commentary=row.commentary
        )
    return DeliveryImportResult(system=system.code, period=body.period, updated=len(accepted),
                                scheme_ids=[s.id for *_, s in accepted])  # fmt: skip


# ---------------------------------------------------------------------------------------------
# The system's picture


def _add(total: dict[str, Decimal], figures: dict[str, Decimal]) -> None:
    for key in FIGURES:
        total[key] = total.get(key, ZERO) + figures[key]


def _scheme_year_figures(
    session: Session, *, system_id: int, years: list[str], state: PeriodState,
    organisation_id: int | None = None,
) -> dict[int, tuple[str, dict[str, dict[str, Decimal]]]]:  # fmt: skip
    """scheme id -> (organisation code, year -> figures) for approved schemes of a system."""
    rows = repository.year_sums(
        session, system_id=system_id, years=years, reporting_period=state.reporting_period,
        organisation_id=organisation_id,
    )  # fmt: skip
    result: dict[int, tuple[str, dict[str, dict[str, Decimal]]]] = {}
    for scheme_id, code, year, annual, ytd_plan, ytd_actual, rest in rows:
        figures = _figures(_exact(annual), _exact(ytd_plan), _exact(ytd_actual), _exact(rest))
        result.setdefault(scheme_id, (code, {}))[1][year] = figures
    # Schemes approved before delivery was recorded: their default months, not yet stored.
    for scheme in repository.approved_without_delivery(session, system_id=system_id, organisation_id=organisation_id):  # fmt: skip
        by_year = _by_year(new_delivery(session, scheme, state))
        result[scheme.id] = (scheme.organisation.code, {
            year: year_figures(months, state) for year, months in by_year.items() if year in years})  # fmt: skip
    return result


def _exact(value) -> Decimal:
    """A database sum as pounds and pence. PostgreSQL sums NUMERIC exactly; SQLite sums the
    (at most twelve) months of one scheme-year in binary floating point, whose error stays
    far below half a penny for any scheme-year under £10bn, so the nearest penny is exact."""
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def forecast_profiles(
    session: Session, *, system_id: int, years: list[str]
) -> dict[int, dict[str, Decimal]]:
    """Each approved scheme's current forecast by year: actuals to date plus forecasts of the
    open months (this year's outturn; the later years' forecasts). What re-allocation commits."""
    state = period_state(session, system_id=system_id)
    figures = _scheme_year_figures(session, system_id=system_id, years=years, state=state)
    return {
        scheme_id: {year: f["forecast_outturn"] for year, f in by_year.items()}
        for scheme_id, (_organisation, by_year) in figures.items()
    }


def _figures_in_scope(session: Session, *, principal: Principal, system_code: str, year: str):
    """What system_report and scheme_report both start from: the system (in scope, for a role
    that reads delivery), the trust's own organisation (None: the whole system), the period
    state and each scheme's figures for the year."""
    system = get_system(session, principal=principal, code=system_code)
    if principal.role not in READERS:
        raise Forbidden(f"The {principal.role} role does not read delivery.")
    own = principal.organisation_id if principal.role == "trust" else None
    state = period_state(session, system_id=system.id)
    figures = _scheme_year_figures(session, system_id=system.id, years=[year], state=state, organisation_id=own)  # fmt: skip
    return system, own, state, figures


def system_report(
    session: Session, *, principal: Principal, system_code: str, year: str
) -> SystemDeliveryRead:
    """The section 7 figures for one year, by organisation and in total, and the headroom
    against the agreed envelope. A trust sees its own organisation's figures only."""
    system, own, state, figures = _figures_in_scope(
        session, principal=principal, system_code=system_code, year=year
    )
    rag = repository.rags(session, system_id=system.id)
    organisations: dict[str, dict] = {}
    total: dict = {"schemes": 0, "red": 0, "amber": 0}
    for scheme_id, (code, by_year) in sorted(figures.items()):
        if year not in by_year:
            continue
        row = organisations.setdefault(code, {"organisation": code, "schemes": 0, "red": 0, "amber": 0})  # fmt: skip
        for bucket in (row, total):
            _add(bucket, by_year[year])
            bucket["schemes"] += 1
            if rag.get(scheme_id) in ("red", "amber"):
                bucket[rag[scheme_id]] += 1
    for key in FIGURES:
        total.setdefault(key, ZERO)
    envelope = None if own else repository.envelope_for(session, system_id=system.id, year=year)
    headroom = envelope - total["forecast_outturn"] if envelope is not None else None
    return SystemDeliveryRead(
        system=system.code, year=year, reporting_period=state.reporting_period, envelope=envelope,
        organisations=[OrganisationFigures(**organisations[c]) for c in sorted(organisations)],
        total=TotalFigures(**total), headroom=headroom,
    )  # fmt: skip


def scheme_report(
    session: Session, *, principal: Principal, system_code: str, year: str
) -> list[SchemeFigures]:
    """Each approved scheme's section 7 figures for one year (largest slippage first), with
    its return for the next month to close: the rows behind system_report, scoped the same
    way (a trust sees its own organisation's schemes only)."""
    system, own, state, figures = _figures_in_scope(
        session, principal=principal, system_code=system_code, year=year
    )
    in_year = {scheme_id: (code, by_year[year]) for scheme_id, (code, by_year) in figures.items() if year in by_year}  # fmt: skip
    titles = {s.id: s.title for s in schemes_repository.get_schemes(session, ids=list(in_year))}
    rag = repository.rags(session, system_id=system.id)
    closing = (
        state.next_period if state.next_period and year_of(state.next_period) == year else None
    )
    returns = {}
    if closing is not None:
        returns = repository.month_returns(session, system_id=system.id, period=closing, organisation_id=own)  # fmt: skip
    rows = []
    for scheme_id, (code, year_figures_) in in_year.items():
        actual, forecast = returns.get(scheme_id, (None, None))
        rows.append(SchemeFigures(
            scheme_id=scheme_id, title=titles.get(scheme_id, ""), organisation=code,
            rag=rag.get(scheme_id), next_period=closing,
            next_actual=actual, next_forecast=forecast, **year_figures_))  # fmt: skip
    rows.sort(key=lambda r: (-r.slippage, r.organisation, r.scheme_id))
    return rows


def headroom_phrase(year: str, excess: float) -> str:
    return f"would exceed the {year} headroom left by forecasts by {format_pounds(excess)}"
