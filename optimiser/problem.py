"""Data preparation: turn a validated snapshot into the plain arrays the model is built from.

Kept apart from the model so eligibility, values and fair-share targets can be read, tested
and explained on their own.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from optimiser.snapshot import CRITERIA, Snapshot, SnapshotScheme


@dataclass(frozen=True)
class Option:
    """One way to fund a scheme: start `deferral` years after its profile's own start."""

    deferral: int
    start: int  # index into years
    spend: tuple[tuple[int, Decimal], ...]  # (year index, amount), amounts > 0
    value: float


@dataclass
class SchemeEntry:
    scheme: SnapshotScheme
    index: int  # position in snapshot.schemes
    score: float  # s_i in 0..1
    cost: Decimal  # total over the horizon
    eligible: bool
    ineligible_reason: str | None
    options: list[Option] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.scheme.id

    @property
    def value_per_pound(self) -> float:
        return self.options[0].value / float(self.cost) if self.options and self.cost else 0.0


@dataclass
class Problem:
    """A snapshot, prepared: limits per year, eligible schemes with their options, fair shares."""

    snapshot: Snapshot
    years: list[str]
    envelope: list[Decimal]  # per year, after any frontier multiplier
    reserve: list[Decimal]
    limits: list[Decimal]  # envelope * (1 + overcommitment) - reserve, per year
    pot: Decimal  # P = sum over years of (envelope - reserve)
    entries: list[SchemeEntry]
    organisations: list[str]
    targets: dict[str, Decimal]  # share * P
    floors: dict[str, Decimal]  # min(share * P * (1 - tau), demand)
    ceilings: dict[str, Decimal]  # share * P * (1 + tau)
    demand: dict[str, Decimal]
    penalty_per_pound: float  # soft mode: fairness_penalty * V-bar

    @property
    def eligible(self) -> list[SchemeEntry]:
        """The eligible entries, in snapshot order (the model's scheme index i). Listed once,
        with the indexes below: loops index it per column, and a new list at each access cost
        0.5 s at 5,000 schemes. Callers must not change it."""
        return self._eligible

    def entry(self, scheme_id: str) -> SchemeEntry:
        return self._by_id[scheme_id]

    def dependents(self, scheme_id: str) -> list[str]:
        """Schemes that depend on `scheme_id`, in snapshot order."""
        return self._dependents.get(scheme_id, [])

    def alternatives(self, group: str) -> list[str]:
        """Schemes of an alternative group, in snapshot order."""
        return self._groups.get(group, [])

    def __post_init__(self) -> None:
        self._eligible = [e for e in self.entries if e.eligible]
        self._by_id = {e.id: e for e in self.entries}
        # Reverse indexes, so reasons and rule checks never scan the whole portfolio per scheme.
        self._dependents: dict[str, list[str]] = {}
        self._groups: dict[str, list[str]] = {}
        for e in self.entries:
            for dependency in e.scheme.depends_on:
                self._dependents.setdefault(dependency, []).append(e.id)
            if e.scheme.alternative_group is not None:
                self._groups.setdefault(e.scheme.alternative_group, []).append(e.id)


def _score(snapshot: Snapshot, scheme: SnapshotScheme) -> float:
    """s_i = sum over criteria of w_c * mean score / 5, in 0..1 (missing scores count 0)."""
    return sum(
        weight * (scheme.scores.get(criterion) or 0.0) / 5
        for criterion, weight in snapshot.weights.items()
    )


def _eligibility(snapshot: Snapshot, scheme: SnapshotScheme) -> str | None:
    """Why a scheme cannot be considered, or None. Mandatory schemes are always in."""
    if scheme.mandatory:
        return None
    missing = [c for c in CRITERIA if scheme.scores.get(c) is None]
    if missing:
        return f"not scored on {', '.join(c.replace('_', ' ') for c in missing)}"
    deliverability = scheme.scores["deliverability"]
    if deliverability < snapshot.min_deliverability:
        return f"fails the deliverability gateway ({deliverability:.3g} < {snapshot.min_deliverability:.3g})"
    return None


def _options(
    snapshot: Snapshot, scheme: SnapshotScheme, score: float, cost: Decimal
) -> list[Option]:
    """Every start the scheme may take: its profile shifted 0..max_deferral_years, inside the horizon."""
    position = {year: index for index, year in enumerate(snapshot.years)}
    spend = sorted((position[y], a) for y, a in scheme.cost_profile.items() if a > 0)
    start, last = spend[0][0], spend[-1][0]
    options = []
    for deferral in range(scheme.max_deferral_years + 1):
        if last + deferral >= len(snapshot.years):
            break  # a profile shifted past the horizon is not allowed
        factor = (1 - snapshot.deferral_discount) ** deferral
        if snapshot.value_model == "weighted_spend":
            value = score * float(cost) * factor
        else:
            value = 100 * score * factor
        shifted = tuple((t + deferral, amount) for t, amount in spend)
        options.append(
            Option(deferral=deferral, start=start + deferral, spend=shifted, value=value)
        )
    return options


def prepare(snapshot: Snapshot, *, envelope_multiplier: float = 1.0) -> Problem:
    """Eligibility, values, yearly limits and fair-share targets for a snapshot."""
    years = snapshot.years
    multiplier = Decimal(str(envelope_multiplier))
    envelope = [snapshot.envelope[y] * multiplier for y in years]
    reserve = [snapshot.reserve.get(y, Decimal(0)) for y in years]
    uplift = 1 + Decimal(str(snapshot.overcommitment_pct)) / 100
    limits = [e * uplift - r for e, r in zip(envelope, reserve, strict=True)]
    pot = sum((e - r for e, r in zip(envelope, reserve, strict=True)), Decimal(0))

    entries = []
    for index, scheme in enumerate(snapshot.schemes):
        cost = sum(scheme.cost_profile.values(), Decimal(0))
        score = _score(snapshot, scheme)
        reason = _eligibility(snapshot, scheme)
        entry = SchemeEntry(scheme, index, score, cost, reason is None, reason)
        if entry.eligible:
            entry.options = _options(snapshot, scheme, score, cost)
        entries.append(entry)

    eligible = [e for e in entries if e.eligible]
    organisations = sorted({e.scheme.organisation for e in entries} | set(snapshot.fair_shares))
    demand = _demand(eligible, organisations)
    tau = Decimal(str(snapshot.tolerance_pct)) / 100
    targets, floors, ceilings = {}, {}, {}
    for organisation, share in sorted(snapshot.fair_shares.items()):
        target = Decimal(str(share)) * pot
        targets[organisation] = target
        floors[organisation] = min(target * (1 - tau), demand.get(organisation, Decimal(0)))
        ceilings[organisation] = target * (1 + tau)
    total_value = sum(e.options[0].value for e in eligible if e.options)
    total_cost = sum(float(e.cost) for e in eligible if e.options)
    v_bar = total_value / total_cost if total_cost else 0.0
    return Problem(
        snapshot=snapshot, years=years, envelope=envelope, reserve=reserve, limits=limits, pot=pot, entries=entries,
        organisations=organisations, targets=targets, floors=floors, ceilings=ceilings,
        demand=demand, penalty_per_pound=snapshot.fairness_penalty * v_bar,
    )  # fmt: skip


def _demand(eligible: list[SchemeEntry], organisations: list[str]) -> dict[str, Decimal]:
    """demand_o: cost of an organisation's eligible schemes, costliest option per alternative group."""
    demand = dict.fromkeys(organisations, Decimal(0))
    costliest: dict[tuple[str, str], Decimal] = {}
    for entry in eligible:
        if not entry.options:
            continue
        scheme = entry.scheme
        if scheme.alternative_group is None:
            demand[scheme.organisation] += entry.cost
        else:
            key = (scheme.organisation, scheme.alternative_group)
            costliest[key] = max(costliest.get(key, Decimal(0)), entry.cost)
    for (organisation, _group), cost in costliest.items():
        demand[organisation] += cost
    return demand
