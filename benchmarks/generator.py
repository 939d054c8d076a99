"""Realistic synthetic allocation rounds for benchmarks (and for load in tests).

Lognormal scheme costs clipped to £20k-£30m, 1-3 year profiles, about 2.5% mandatory,
4% with a dependency, 5% in alternative groups of 2-3 options, deferral of 0-2 years,
40 organisations with formula-like fair shares, and envelopes at about half of demand.
"""

import random

CATEGORIES = ["estates_backlog", "estates_capacity", "digital", "equipment", "other"]
CRITERIA = ["strategic_fit", "safety_quality", "value_for_money", "deliverability"]
MIN_DELIVERABILITY = 1.5


def years_from(first: int, count: int) -> list[str]:
    return [f"{first + t}/{(first + t + 1) % 100:02d}" for t in range(count)]


def generate_round(
    schemes: int, *, years: int = 5, organisations: int = 40, seed: int = 2026, mode: str = "band"
) -> dict:
    """A snapshot document with `schemes` schemes over `years` years."""
    rng = random.Random(seed)
    horizon = years_from(2026, years)
    codes = [f"R{n:02d}" for n in range(organisations)]
    # Some organisations are much larger than others, as in a real system.
    size = {code: rng.lognormvariate(0, 0.6) for code in codes}
    documents = []
    group_number = 0
    pending_group: list[int] = []
    for index in range(schemes):
        cost = min(max(rng.lognormvariate(13.0, 1.3), 20_000), 30_000_000)
        length = rng.choice([1, 1, 2, 2, 3]) if cost > 250_000 else 1
        start = rng.randrange(0, years - length + 1)
        weights = [rng.uniform(0.6, 1.4) for _ in range(length)]
        profile, remaining = {}, round(cost, -3)
        for t in range(length):
            amount = remaining if t == length - 1 else round(cost * weights[t] / sum(weights), -3)
            remaining -= amount
            if amount > 0:
                profile[horizon[start + t]] = amount
        if not profile:
            profile = {horizon[start]: 20_000}
        quality = rng.uniform(0.5, 4.5)
        scheme = {
            "id": f"S-{index + 1:05d}",
            "organisation": rng.choices(codes, weights=[size[c] for c in codes])[0],
            "category": rng.choice(CATEGORIES),
            "cost_profile": profile,
            "scores": {c: round(min(5, max(0, quality + rng.gauss(0, 0.8))), 2) for c in CRITERIA},
            "mandatory": rng.random() < 0.025,
            "depends_on": [],
            "alternative_group": None,
            "max_deferral_years": rng.choice([0, 1, 2]),
        }
        if scheme["mandatory"]:
            scheme["max_deferral_years"] = 0
        elif index > 10 and rng.random() < 0.04:
            scheme["depends_on"] = [documents[rng.randrange(0, index)]["id"]]
        if not scheme["mandatory"] and not scheme["depends_on"] and rng.random() < 0.05:
            pending_group.append(index)
            scheme["alternative_group"] = f"G-{group_number}"
            if len(pending_group) >= rng.choice([2, 3]):
                group_number, pending_group = group_number + 1, []
        documents.append(scheme)
    # Envelopes and formula shares are set so that a reference portfolio (about half of the
    # eligible schemes, every mandatory one, dependencies honoured, one option per group)
    # fits exactly: the round is realistic in size and tension, and feasible by construction.
    by_id = {s["id"]: s for s in documents}
    reference: dict[str, dict] = {}
    taken_groups: set[str] = set()
    for scheme in documents:
        wanted = scheme["mandatory"] or rng.random() < 0.5
        if not wanted or not _eligible(scheme) or scheme["alternative_group"] in taken_groups:
            continue
        dependencies = [by_id[d] for d in scheme["depends_on"]]
        if any(not _eligible(d) or d["alternative_group"] is not None for d in dependencies):
            continue
        for dependency in dependencies:
            reference[dependency["id"]] = dependency
        reference[scheme["id"]] = scheme
        if scheme["alternative_group"] is not None:
            taken_groups.add(scheme["alternative_group"])
    spend = dict.fromkeys(horizon, 0)
    allocated = dict.fromkeys(codes, 0)
    for scheme in reference.values():
        for year, amount in scheme["cost_profile"].items():
            spend[year] += amount
        allocated[scheme["organisation"]] += sum(scheme["cost_profile"].values())
    overcommitment = 5
    envelope = {y: float(-(-spend[y] * 100 // (100 + overcommitment))) + 1000 for y in horizon}
    reserve = {horizon[0]: float(round(envelope[horizon[0]] * 0.02, -3))}
    envelope[horizon[0]] += reserve[horizon[0]]
    total = sum(allocated.values())
    shares = {c: round(allocated[c] / total, 9) for c in codes}
    largest = max(shares, key=shares.get)
    shares[largest] = round(1 - sum(v for c, v in shares.items() if c != largest), 9)
    return {
        "years": horizon,
        "envelope": envelope,
        "reserve": reserve,
        "overcommitment_pct": overcommitment,
        "min_deliverability": MIN_DELIVERABILITY,
        "deferral_discount": 0.05,
        "fair_share_mode": mode,
        "tolerance_pct": 15,
        "fair_shares": shares,
        "schemes": documents,
    }


def _eligible(scheme: dict) -> bool:
    return scheme["mandatory"] or scheme["scores"]["deliverability"] >= MIN_DELIVERABILITY
