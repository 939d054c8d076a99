"""The figures of a run's board outputs, computed once for the workbook, the PDF and the CSV.

Money stays `Decimal` to the penny; every sentence a board reads is written here, so the
workbook and the PDF say the same thing in the same words.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

MARKING = "OFFICIAL-SENSITIVE"
OUTCOME_ORDER = {"funded": 0, "reserve": 1, "not_funded": 2}
OUTCOME_WORDS = {"funded": "Funded", "reserve": "Reserve", "not_funded": "Not funded"}
CATEGORY_WORDS = {
    "estates_backlog": "Estates backlog",
    "estates_capacity": "Estates capacity",
    "digital": "Digital",
    "equipment": "Equipment",
    "other": "Other",
}
CRITERIA = ["strategic_fit", "safety_quality", "value_for_money", "deliverability"]
ZERO = Decimal("0.00")


def money(value: Any) -> Decimal | None:
    """A JSON amount as an exact Decimal to the penny (None stays None)."""
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.01"))


def pounds(value: Decimal | float | None, *, pence: bool = False) -> str:
    """£1,234,567 (or £1,234,567.89 with pence); a negative amount is -£1,234."""
    if value is None:
        return "n/a"
    amount = Decimal(str(value))
    text = f"£{abs(amount):,.2f}" if pence else f"£{abs(amount):,.0f}"
    return ("-" if amount < 0 else "") + text


def millions(value: Decimal | float | None) -> str:
    if value is None:
        return "n/a"
    return f"£{Decimal(str(value)) / Decimal(1_000_000):,.2f}m"


@dataclass
class YearRow:
    year: str
    envelope: Decimal
    reserve: Decimal
    limit: Decimal
    spend: Decimal
    headroom: Decimal
    funded: int  # funded schemes spending that year
    note: str  # overcommitment or a breach, in words; "" when spend is within the envelope


@dataclass
class SchemeRow:
    id: str
    title: str
    organisation: str
    organisation_name: str
    category: str
    outcome: str
    rank: int | None  # within its outcome: funded by score, reserve by reserve rank
    start_year: str
    deferral_years: int | None
    score: float
    scores: dict[str, float | None]
    total_cost: Decimal
    spend: dict[str, Decimal]  # as funded (deferral applied); zero for schemes not funded
    reason: str


@dataclass
class OrganisationRow:
    code: str
    name: str
    share: float | None
    target: Decimal | None
    floor: Decimal | None
    ceiling: Decimal | None
    allocated: Decimal
    demand: Decimal
    position: str  # "within band", "below floor" ...


@dataclass
class CategoryRow:
    category: str
    name: str
    minimum: Decimal | None
    maximum: Decimal | None
    allocated: Decimal
    funded: int


@dataclass
class RuleCost:
    rule: str  # "fair shares", "category limits"
    value: float | None  # exact, or the low end of `interval`
    displaced: list[SchemeRow] | None  # None: not recorded for this run
    brought_in: list[SchemeRow] | None
    # When the re-solve that prices the rule stopped before closing its gap: the proven range
    # (high None: no upper bound proven). The run page shows the same range.
    interval: tuple[float, float | None] | None = None
    used: bool = True  # the round sets the rule
    has_portfolio: bool = True  # the run found one to price the rule against

    def _price(self) -> str:
        if self.interval is None:
            return pounds(self.value)
        low, high = self.interval
        if high is None:
            return f"at least {pounds(low)} (no upper bound proven)"
        return f"between {pounds(low)} and {pounds(high)}"

    def words(self) -> str:
        if not self.has_portfolio:
            return (
                f"The price of {self.rule} is not worked out: this run has no portfolio to price."
            )
        if not self.used:
            return f"{self.rule.capitalize()} are not set in this run, so they cost nothing."
        if self.value is None:
            return f"The price of {self.rule} could not be worked out (the re-solve without them gave no answer)."
        if self.value == 0 and self.interval is None and not self.displaced:
            return f"{self.rule.capitalize()} cost nothing: the best portfolio meets them anyway."
        text = f"{self.rule.capitalize()} cost {self._price()} of value"
        if self.interval is not None:
            text += (
                " (a proven range: the re-solve that prices them was stopped before it closed "
                "its gap)"
            )
        if self.displaced is None:
            return text + "."
        if not self.displaced:
            return text + " by changing start years; no scheme is displaced."
        spend = sum((s.total_cost for s in self.displaced), ZERO)
        names = "; ".join(
            f"{s.title} ({s.organisation}, {pounds(s.total_cost)})" for s in self.displaced[:6]
        )
        more = f" and {len(self.displaced) - 6} more" if len(self.displaced) > 6 else ""
        text += (
            f": without them the optimiser would fund {len(self.displaced)} scheme(s) costing "
            f"{pounds(spend)} that this portfolio leaves out: {names}{more}"
        )
        if self.brought_in:
            text += f"; in their place it funds {len(self.brought_in)} scheme(s) the rule requires"
        return text + "."


@dataclass
class Figures:
    run_id: int
    label: str | None
    round_name: str
    system_code: str
    system_name: str
    created_by: str
    created_at: datetime
    status: str
    status_words: str
    solver: str
    snapshot_sha256: str
    value_model: str
    fair_share_mode: str
    years: list[str]
    overrides: list[str]
    year_rows: list[YearRow]
    schemes: list[SchemeRow]
    organisations: list[OrganisationRow]
    categories: list[CategoryRow]
    objective: float | None
    greedy_objective: float | None
    greedy_funded: int | None
    greedy_rules_met: bool | None
    rule_costs: list[RuleCost]
    conflicts: list[str]
    excluded: list[dict[str, Any]]
    frontier: list[dict[str, Any]] | None = None
    generated_at: datetime = field(default_factory=datetime.now)
    # A re-allocation: the funded schemes its snapshot did not hold as committed, i.e. what
    # the slippage funds from the reserve list (None for an allocation run).
    newly_funded: list[SchemeRow] | None = None

    @property
    def title(self) -> str:
        return f"{self.round_name}: run {self.run_id}" + (f" ({self.label})" if self.label else "")

    @property
    def funded(self) -> list[SchemeRow]:
        return [s for s in self.schemes if s.outcome == "funded"]

    @property
    def reserve(self) -> list[SchemeRow]:
        return [s for s in self.schemes if s.outcome == "reserve"]

    @property
    def funded_spend(self) -> Decimal:
        return sum((y.spend for y in self.year_rows), ZERO)

    @property
    def footer(self) -> str:
        return (
            f"{MARKING}   {self.system_code} {self.title}   produced {self.generated_at:%d %B %Y}"
        )

    def headline(self) -> str:
        """What the run funds; beside the status words, so it never repeats them."""
        if not self.year_rows or self.status in ("infeasible", "time_limit"):
            return "No scheme is funded by this run."
        if self.newly_funded is not None:
            return self.slippage_words()
        limit = sum((y.limit for y in self.year_rows), ZERO)
        return (
            f"{len(self.funded)} schemes funded for {pounds(self.funded_spend)} over "
            f"{self.years[0]} to {self.years[-1]}, against limits of {pounds(limit)}; "
            f"{len(self.reserve)} schemes on the reserve list."
        )

    def slippage_words(self) -> str:
        """A re-allocation in a sentence: what the slippage funds, and what it holds."""
        held = len(self.funded) - len(self.newly_funded or [])
        if not self.newly_funded:
            return (
                f"Re-allocation of slippage: the headroom the approved schemes' forecasts leave "
                f"funds no scheme from the reserve list; {held} approved schemes are held at "
                "their forecasts."
            )
        spend = sum((s.total_cost for s in self.newly_funded), ZERO)
        names = "; ".join(
            f"{s.title} ({s.organisation}, {pounds(s.total_cost)})" for s in self.newly_funded[:6]
        )
        more = f" and {len(self.newly_funded) - 6} more" if len(self.newly_funded) > 6 else ""
        return (
            f"Re-allocation of slippage: the headroom the approved schemes' forecasts leave funds "
            f"{len(self.newly_funded)} scheme(s) from the reserve list for {pounds(spend)}: "
            f"{names}{more}. {held} approved schemes are held at their forecasts."
        )

    def versus_greedy(self) -> str:
        if self.objective is None or self.greedy_objective is None:
            return "No comparison with the greedy baseline (no portfolio)."
        gain = Decimal(str(self.objective)) - Decimal(str(self.greedy_objective))
        percent = gain / Decimal(str(self.greedy_objective)) * 100 if self.greedy_objective else 0
        text = (
            f"Optimised: {pounds(self.objective)} of value from {len(self.funded)} schemes. "
            f"Funding down the list by score per £ (greedy): {pounds(self.greedy_objective)} "
            f"from {self.greedy_funded} schemes. Optimising adds {pounds(gain)} ({percent:.1f}%)."
        )
        if self.greedy_rules_met is False:
            text += (
                " The greedy list also breaks at least one rule (a floor or a category minimum)."
            )
        return text


def _value_explained(value_model: str) -> str:
    if value_model == "benefit_points":
        return "Value is in benefit points: 100 per scheme funded, times its score (0 to 1)."
    return (
        "Value is score-weighted pounds: each £ funded counts at its scheme's score "
        "(0 to 1, from the four criteria), less any deferral discount."
    )


def _newly_funded(run: Any, rows: list[SchemeRow]) -> list[SchemeRow] | None:
    """A re-allocation's funded schemes that were not committed in its snapshot."""
    if run.kind != "reallocation":
        return None
    committed = {s["id"] for s in run.snapshot.get("schemes", []) if s.get("committed")}
    return [r for r in rows if r.outcome == "funded" and r.id not in committed]


def rules_used(snapshot: dict[str, Any]) -> dict[str, bool]:
    """Which optional rule families a run's snapshot sets (the run page says the same)."""
    limits = snapshot.get("category_limits") or {}
    return {
        "fair_shares": snapshot.get("fair_share_mode", "off") != "off",
        "category_limits": any(
            v.get("min") is not None or v.get("max") is not None for v in limits.values()
        ),
    }


def _status_words(result: dict[str, Any]) -> str:
    status, gap = result["status"], result.get("gap")
    within = f" (proven within {gap * 100:.3f}% of the best possible)" if gap is not None else ""
    return {
        "optimal": f"Optimal: the best portfolio within the rules{within}.",
        "feasible": "Feasible, not proven best: the solver stopped at its time limit with a "
        f"portfolio within the rules{within.replace('proven within', 'at most')}.",
        "infeasible": "Infeasible: the rules cannot all be met; the conflicts below say why.",
        "time_limit": "No portfolio: the solver reached its time limit before finding one.",
    }.get(status, status)


def _override_words(overrides: dict[str, Any]) -> list[str]:
    words = []
    for key, value in sorted(overrides.items()):
        name = key.replace("_", " ")
        if key in ("envelope", "reserve") and isinstance(value, dict):
            for year, amount in sorted(value.items()):
                words.append(f"{name} for {year} set to {pounds(money(amount), pence=True)}")
        elif key == "category_limits" and isinstance(value, dict):
            parts = [
                f"{CATEGORY_WORDS.get(k, k)} "
                + " and ".join(
                    f"{bound} {pounds(money(v[bound]))}"
                    for bound in ("min", "max")
                    if v.get(bound) is not None
                )
                for k, v in sorted(value.items())
            ]
            words.append("category limits replaced: " + ("; ".join(parts) or "none"))
        elif key == "fair_shares" and isinstance(value, dict):
            words.append(
                "fair shares replaced: "
                + ", ".join(f"{k} {float(v):.1%}" for k, v in sorted(value.items()))
            )
        elif key == "weights" and isinstance(value, dict):
            words.append(
                "weights replaced: "
                + ", ".join(
                    f"{k.replace('_', ' ')} {float(v):.2f}" for k, v in sorted(value.items())
                )
            )
        elif key.endswith("_pct"):
            words.append(f"{name.removesuffix(' pct')} set to {value}%")
        elif isinstance(value, dict):
            words.append(f"{name} replaced")
        else:
            words.append(f"{name} set to {value}")
    return words


def _spend(raw: dict[str, Any], years: list[str], deferral: int | None) -> dict[str, Decimal]:
    """The profile as it will be spent: shifted by the deferral (years of the round only)."""
    spend = {year: ZERO for year in years}
    if deferral is None:
        return spend
    for index, year in enumerate(years):
        amount = money(raw["cost_profile"].get(year, 0))
        if amount and index + deferral < len(years):
            spend[years[index + deferral]] += amount
    return spend


def position_in_words(row: dict[str, Any]) -> str:
    """An organisation's allocation against its band, with the breach in £ (the run page)."""
    allocated = money(row["allocated"]) or ZERO
    floor, ceiling = money(row.get("floor")), money(row.get("ceiling"))
    position = _position(row, allocated)
    if position == "below floor":
        return f"below floor by {pounds(floor - allocated)}"
    if position == "above ceiling":
        return f"above ceiling by {pounds(allocated - ceiling)}"
    return position


def _position(row: dict[str, Any], allocated: Decimal) -> str:
    floor, ceiling = money(row.get("floor")), money(row.get("ceiling"))
    if row.get("share") is None:
        return "no fair share"
    if floor is not None and allocated < floor:
        return "below floor"
    if ceiling is not None and allocated > ceiling:
        return "above ceiling"
    return "within band"


def build(
    *,
    run: Any,
    round_: Any,
    schemes: dict[int, Any],
    frontier: list[dict[str, Any]] | None = None,
) -> Figures:
    """Everything a board output shows about one run (`run` and `round_` are the models)."""
    result, snapshot = run.result, run.snapshot
    years = list(snapshot["years"])
    raw_by_id = {s["id"]: s for s in snapshot["schemes"]}
    names = {o.code: o.name for o in round_.system.organisations}

    rows = []
    for outcome in result["schemes"]:
        raw = raw_by_id[outcome["id"]]
        scheme = schemes.get(int(outcome["id"])) if outcome["id"].isdigit() else None
        funded = outcome["outcome"] == "funded"
        rows.append(
            SchemeRow(
                id=outcome["id"],
                title=scheme.title if scheme is not None else f"Scheme {outcome['id']}",
                organisation=raw["organisation"],
                organisation_name=names.get(raw["organisation"], raw["organisation"]),
                category=raw["category"],
                outcome=outcome["outcome"],
                rank=outcome.get("reserve_rank"),
                start_year=outcome.get("start_year") or "",
                deferral_years=outcome.get("deferral_years"),
                score=float(outcome.get("score") or 0),
                scores={c: raw.get("scores", {}).get(c) for c in CRITERIA},
                total_cost=sum((money(a) for a in raw["cost_profile"].values()), ZERO),
                spend=_spend(raw, years, outcome.get("deferral_years") if funded else None),
                reason=outcome["reason"],
            )
        )
    funded_rows = sorted(
        (r for r in rows if r.outcome == "funded"), key=lambda r: (-r.score, len(r.id), r.id)
    )
    for rank, row in enumerate(funded_rows, start=1):
        row.rank = rank
    rows.sort(
        key=lambda r: (
            OUTCOME_ORDER[r.outcome],
            r.rank if r.rank is not None else 10**9,
            len(r.id),
            r.id,
        )
    )
    by_id = {r.id: r for r in rows}

    year_rows = []
    for row in result["by_year"]:
        envelope, reserve = money(row["envelope"]), money(row["reserve"])
        spend = money(row["spend"])
        note = ""
        if spend > envelope:
            note = f"{pounds(spend - envelope)} above the CDEL envelope, planned through overcommitment"
        elif spend > envelope - reserve:
            note = f"uses {pounds(spend - (envelope - reserve))} of the reserve's room through overcommitment"
        year_rows.append(
            YearRow(
                year=row["year"], envelope=envelope, reserve=reserve, limit=money(row["limit"]),
                spend=spend, headroom=money(row["headroom"]),
                funded=sum(1 for r in funded_rows if r.spend[row["year"]] > 0),
                note=note,
            )
        )  # fmt: skip

    organisations = []
    for row in result["by_organisation"]:
        allocated = money(row["allocated"])
        organisations.append(
            OrganisationRow(
                code=row["organisation"], name=names.get(row["organisation"], row["organisation"]),
                share=row.get("share"), target=money(row.get("target")), floor=money(row.get("floor")),
                ceiling=money(row.get("ceiling")), allocated=allocated, demand=money(row.get("demand")) or ZERO,
                position=_position(row, allocated),
            )
        )  # fmt: skip
    categories = [
        CategoryRow(
            category=row["category"], name=CATEGORY_WORDS.get(row["category"], row["category"]),
            minimum=money(row.get("min")), maximum=money(row.get("max")), allocated=money(row["allocated"]),
            funded=sum(1 for r in funded_rows if r.category == row["category"]),
        )
        for row in result["by_category"]
    ]  # fmt: skip

    price = result.get("price_of_rules") or {}
    intervals = price.get("intervals") or {}
    used = rules_used(run.snapshot)
    has_portfolio = result["status"] in ("optimal", "feasible")
    rule_costs = []
    for key, words in (("fair_shares", "fair shares"), ("category_limits", "category limits")):
        recorded = "displaced" in price
        displaced = [by_id[i] for i in price.get("displaced", {}).get(key, []) if i in by_id]
        brought = [by_id[i] for i in price.get("brought_in", {}).get(key, []) if i in by_id]
        interval = intervals.get(key)
        rule_costs.append(
            RuleCost(rule=words, value=price.get(key), displaced=displaced if recorded else None,
                     brought_in=brought if recorded else None,
                     interval=(interval["low"], interval.get("high")) if interval else None,
                     used=used[key], has_portfolio=has_portfolio)
        )  # fmt: skip
    greedy = result.get("greedy") or {}
    options = run.options or {}
    return Figures(
        run_id=run.id, label=options.get("label"), round_name=round_.name,
        system_code=round_.system.code, system_name=round_.system.name,
        created_by=run.created_by_name, created_at=run.created_at, status=result["status"],
        status_words=_status_words(result), solver=f"{run.solver} {run.solver_version}",
        snapshot_sha256=run.snapshot_sha256,
        value_model=_value_explained(snapshot.get("value_model", "weighted_spend")),
        fair_share_mode=snapshot.get("fair_share_mode", "off"), years=years,
        overrides=_override_words(options.get("overrides") or {}), year_rows=year_rows,
        schemes=rows, organisations=organisations, categories=categories,
        objective=result.get("objective"), greedy_objective=greedy.get("objective"),
        greedy_funded=greedy.get("funded"), greedy_rules_met=greedy.get("rules_met"),
        rule_costs=rule_costs, conflicts=list(result.get("conflicts") or []),
        newly_funded=_newly_funded(run, rows),
        excluded=list(getattr(run, "excluded", None) or []), frontier=frontier,
    )  # fmt: skip
