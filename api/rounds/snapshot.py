"""The one place where database rows become an optimiser snapshot (DESIGN.md section 4.1)."""

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from api.rounds import repository
from api.rounds.models import Round
from api.rounds.schemas import RoundParameters
from api.schemes.agreement import agreed_profile
from api.schemes.repository import mean_scores
from api.types import financial_year_start
from optimiser.money import to_json_number

PARAMETER_KEYS = (
    "overcommitment_pct", "weights", "fair_shares", "fair_share_mode", "tolerance_pct",
    "fairness_penalty", "category_limits", "min_deliverability", "value_model", "deferral_discount",
)  # fmt: skip


SNAPSHOT_KEYS = ("years", "envelope", "reserve", *PARAMETER_KEYS)


def round_parameters(round_: Round) -> dict[str, Any]:
    """A round's parameters as snapshot keys (everything but the schemes)."""
    return {
        "years": [y.year for y in round_.years],
        "envelope": {y.year: to_json_number(y.envelope) for y in round_.years},
        "reserve": {y.year: to_json_number(y.reserve) for y in round_.years if y.reserve},
        "overcommitment_pct": float(round_.overcommitment_pct),
        "weights": dict(round_.weights),
        "fair_shares": dict(round_.fair_shares),
        "fair_share_mode": round_.fair_share_mode,
        "tolerance_pct": float(round_.tolerance_pct),
        "fairness_penalty": round_.fairness_penalty,
        "category_limits": {
            category: {k: to_json_number(Decimal(v)) for k, v in limit.items() if v is not None}
            for category, limit in round_.category_limits.items()
        },
        "min_deliverability": round_.min_deliverability,
        "value_model": round_.value_model,
        "deferral_discount": round_.deferral_discount,
        **formula_parameter(round_.fair_share_formula),
    }


def formula_parameter(record: dict[str, Any] | None) -> dict[str, Any]:
    """A formula that took factors from facts goes into the snapshot with its resolved inputs
    (`fair_share_formula`), so the run reproduces offline after facts are re-imported."""
    if not record or not record.get("from_facts"):
        return {}
    inputs: dict[str, dict[str, Any]] = {o: dict(v) for o, v in record.get("inputs", {}).items()}
    for organisation, values in record.get("resolved_inputs", {}).items():
        inputs.setdefault(organisation, {}).update(values)
    return {
        "fair_share_formula": {
            "weights": record["weights"],
            "from_facts": record["from_facts"],
            "inputs": {o: dict(sorted(v.items())) for o, v in sorted(inputs.items())},
        }
    }


def apply_overrides(
    parameters: dict[str, Any],
    overrides: RoundParameters,
    shares: dict | None,
    formula: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Parameters with a what-if's overrides on top (`shares` from an overriding formula, and
    `formula`, that formula as the snapshot records it when it took factors from facts)."""
    merged = dict(parameters)
    if shares is not None or overrides.fair_shares is not None:
        merged.pop("fair_share_formula", None)
    if formula is not None:
        merged["fair_share_formula"] = formula
    changes = overrides.model_dump(mode="json", exclude_unset=True, exclude={"fair_share_formula"})
    changes = {k: v for k, v in changes.items() if k in SNAPSHOT_KEYS}
    if "years" in changes:
        # Years leaving the horizon take their envelope and reserve with them.
        kept = set(changes["years"])
        for key in ("envelope", "reserve"):
            merged[key] = {y: a for y, a in merged.get(key, {}).items() if y in kept}
    for key, value in changes.items():
        if key in ("envelope", "reserve"):
            merged[key] = {**merged.get(key, {}), **value}  # per year: other years stay as they are
        elif key in ("overcommitment_pct", "tolerance_pct"):
            merged[key] = float(value)
        elif key == "category_limits":
            merged[key] = {
                c: {k: v for k, v in limit.items() if v is not None} for c, limit in value.items()
            }
        else:
            merged[key] = value
    if shares is not None:
        merged["fair_shares"] = shares
    return merged


@dataclass(frozen=True)
class _Cost:
    year: str
    amount: Decimal


@dataclass(frozen=True)
class _Dependency:
    id: int
    status: str


@dataclass
class _Scheme:
    """What a snapshot needs of one scheme, read as rows (no ORM objects: a system's thousands
    of schemes are assembled in a constant number of queries)."""

    id: int
    status: str
    organisation: str
    category: str
    mandatory: bool
    alternative_group: str | None
    max_deferral_years: int
    approved_deferral_years: int | None
    approved_run_id: int | None
    agreed_from: str | None = None  # the first year of the run that approved it
    costs: list[_Cost] = field(default_factory=list)  # by year
    depends_on: list[_Dependency] = field(default_factory=list)  # by id


def _schemes_in_system(session: Session, *, system_id: int, statuses: tuple[str, ...]) -> list[_Scheme]:  # fmt: skip
    """The system's schemes of these statuses in id order, with costs and dependencies."""
    rows = repository.scheme_rows(session, system_id=system_id, statuses=statuses)
    schemes = {row.id: _Scheme(**row._asdict()) for row in rows}
    for scheme_id, year, amount in repository.cost_rows(session, system_id=system_id, statuses=statuses):  # fmt: skip
        schemes[scheme_id].costs.append(_Cost(year, amount))
    for scheme_id, dependency, status in repository.dependency_rows(session, system_id=system_id, statuses=statuses):  # fmt: skip
        schemes[scheme_id].depends_on.append(_Dependency(dependency, status))
    runs = {s.approved_run_id for s in schemes.values() if s.approved_run_id is not None}
    first_years = repository.first_years(session, run_ids=runs)
    for scheme in schemes.values():
        scheme.agreed_from = first_years.get(scheme.approved_run_id)
    return list(schemes.values())


def _profile(scheme: _Scheme) -> dict[str, Decimal]:
    """A submitted scheme's profile as submitted; an approved one's as agreed."""
    costs = ((c.year, c.amount) for c in scheme.costs)
    if scheme.status != "approved":
        return {year: amount for year, amount in costs if amount > 0}
    return agreed_profile(
        costs, deferral_years=scheme.approved_deferral_years, from_year=scheme.agreed_from
    )


def _profile_in(scheme: _Scheme, years: list[str]) -> dict[str, Decimal]:
    """The scheme's spend in the round's years; an approved scheme at the start it was agreed."""
    return {year: amount for year, amount in _profile(scheme).items() if year in years}


def _agreed_start(scheme: _Scheme) -> str:
    """The year an approved scheme was agreed to start (possibly before a later round's years)."""
    return min(_profile(scheme), key=financial_year_start)


def assemble(
    session: Session, *, round_: Round, parameters: dict[str, Any]
) -> tuple[dict, list[dict]]:
    """The snapshot for a round: submitted schemes touching its years, and approved schemes of
    earlier agreed rounds as committed (`committed`, with the `agreed_start`; also mandatory with
    the start fixed, so the model needs nothing new). Returns it and the excluded."""
    years = list(parameters["years"])
    candidates = _schemes_in_system(
        session, system_id=round_.system_id, statuses=("submitted", "approved")
    )
    included = {s.id: s for s in candidates if _profile_in(s, years)}
    approved = {s.id for s in candidates if s.status == "approved"}
    excluded: list[dict] = []
    _drop_unmet_dependencies(included, approved, excluded)
    profiles = {s.id: _profile_in(s, years) for s in included.values()}
    return {**parameters, "schemes": _scheme_documents(session, included, profiles)}, excluded


def _drop_unmet_dependencies(included: dict, approved: set[int], excluded: list[dict]) -> None:
    """A scheme whose dependency is neither in the round nor already approved cannot be funded."""
    changed = True
    while changed:
        changed = False
        for scheme in list(included.values()):
            for dependency in scheme.depends_on:
                if dependency.id not in included and dependency.id not in approved:
                    why = f"depends on scheme {dependency.id}, which is {dependency.status}"
                    if dependency.status in ("submitted", "approved"):
                        why = f"depends on scheme {dependency.id}, which has no spend in this round's years"
                    excluded.append({"id": str(scheme.id), "reason": why})
                    del included[scheme.id]
                    changed = True
                    break


def _scheme_documents(
    session: Session, included: dict[int, _Scheme], profiles: dict[int, dict[str, Decimal]]
) -> list[dict]:
    """Snapshot schemes; approved schemes enter as committed (mandatory, start fixed)."""
    scores = mean_scores(session, scheme_ids=list(included))
    schemes = []
    for scheme in sorted(included.values(), key=lambda s: s.id):
        committed = scheme.status == "approved"
        means = scores.get(scheme.id, {})
        schemes.append({
            "id": str(scheme.id),
            "organisation": scheme.organisation,
            "category": scheme.category,
            "cost_profile": {y: to_json_number(a) for y, a in sorted(profiles[scheme.id].items())},
            "scores": {c: round(v, 6) for c, v in means.items() if c != "assessments"},
            "mandatory": scheme.mandatory or committed,
            "depends_on": [str(d.id) for d in scheme.depends_on if d.id in included],
            "alternative_group": scheme.alternative_group,
            "max_deferral_years": 0 if committed else scheme.max_deferral_years,
            **({"committed": True, "agreed_start": _agreed_start(scheme)} if committed else {}),
        })  # fmt: skip
    return schemes


def assemble_reallocation(
    session: Session,
    *,
    round_: Round,
    parameters: dict[str, Any],
    forecasts: dict[int, dict[str, Decimal]],
    current_year: str | None,
) -> tuple[dict, list[dict]]:
    """The snapshot of a re-allocation (DESIGN.md section 8): the round's years from the
    current year on; every approved scheme of the system committed at its current forecast
    (`forecasts`: this year's outturn, later years' forecasts), and the still-submitted schemes
    as candidates at their own profiles. A candidate that would start in a closed year is
    excluded. Returns the snapshot and the excluded schemes with why."""
    years = [y for y in parameters["years"] if current_year is None or y >= current_year]
    parameters = {
        **parameters,
        "years": years,
        "envelope": {y: a for y, a in parameters["envelope"].items() if y in years},
        "reserve": {y: a for y, a in parameters.get("reserve", {}).items() if y in years},
    }
    schemes = _schemes_in_system(
        session, system_id=round_.system_id, statuses=("approved", "submitted")
    )
    approved = [s for s in schemes if s.status == "approved"]
    submitted = [s for s in schemes if s.status == "submitted"]
    profiles: dict[int, dict[str, Decimal]] = {}
    included: dict[int, _Scheme] = {}
    for scheme in approved:
        profile = {
            y: a for y, a in sorted(forecasts.get(scheme.id, {}).items()) if y in years and a > 0
        }
        if profile:
            included[scheme.id], profiles[scheme.id] = scheme, profile
    excluded: list[dict] = []
    for scheme in submitted:
        spend = {c.year: c.amount for c in scheme.costs if c.amount > 0}
        if not spend:
            continue
        start = min(spend)
        if years and start < years[0]:
            excluded.append({"id": str(scheme.id),
                             "reason": f"would start in {start}, a year already closed"})  # fmt: skip
            continue
        profile = {y: a for y, a in spend.items() if y in years}
        if profile:
            included[scheme.id], profiles[scheme.id] = scheme, profile
    _drop_unmet_dependencies(included, {s.id for s in approved}, excluded)
    # `kind` makes the reasons speak of the headroom the forecasts leave, here and offline.
    document = {**parameters, "kind": "reallocation",
                "schemes": _scheme_documents(session, included, profiles)}  # fmt: skip
    return document, excluded


def fingerprint(snapshot: dict) -> str:
    """sha256 of the snapshot's canonical JSON: equal snapshots, equal fingerprints."""
    canonical = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
