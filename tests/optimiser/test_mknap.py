"""OR-Library mknap1: published optima reproduced exactly, each constraint a year, each item a scheme."""

import os
from pathlib import Path

import pytest

from optimiser import SolveOptions, solve
from tests.optimiser.checker import assert_valid

# OR-Library's mknap1 (J. E. Beasley, public), shipped with the tests so any clone can run
# them; the project's shared copy (../shared/data beside the repository, as in CI, or
# CAPITAL_SHARED_DATA) is checked to be the same file whenever it is there.
MKNAP1 = Path(__file__).resolve().parents[1] / "data" / "orlib" / "mknap1.txt"
SHARED_DATA = Path(
    os.environ.get("CAPITAL_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)


def read_mknap(path: Path) -> list[dict]:
    """count; then per problem: n m optimum; n profits; m rows of n weights; m capacities."""
    numbers = iter(float(token) for token in path.read_text().split())
    problems = []
    for _ in range(int(next(numbers))):
        n, m, optimum = int(next(numbers)), int(next(numbers)), next(numbers)
        profits = [next(numbers) for _ in range(n)]
        weights = [[next(numbers) for _ in range(n)] for _ in range(m)]
        capacities = [next(numbers) for _ in range(m)]
        problems.append({"n": n, "m": m, "optimum": optimum, "profits": profits,
                         "weights": weights, "capacities": capacities})  # fmt: skip
    return problems


def as_snapshot(problem: dict) -> tuple[dict, float]:
    """benefit_points with all weight on one criterion: value_i = 100 * p_i / max p."""
    years = [f"{2026 + t}/{(27 + t) % 100:02d}" for t in range(problem["m"])]
    top = max(problem["profits"])
    schemes = []
    for i, profit in enumerate(problem["profits"]):
        profile = {years[t]: problem["weights"][t][i] for t in range(problem["m"])}
        if not any(profile.values()):
            profile = {years[0]: 0.0}  # weightless item: always worth taking, costs nothing
        schemes.append({
            "id": f"item-{i + 1}", "organisation": "ORG", "category": "other",
            "cost_profile": profile,
            "scores": {"strategic_fit": 5 * profit / top, "safety_quality": 0,
                       "value_for_money": 0, "deliverability": 0},
        })  # fmt: skip
    snapshot = {
        "years": years,
        "envelope": dict(zip(years, problem["capacities"], strict=True)),
        "weights": {"strategic_fit": 1.0, "safety_quality": 0.0, "value_for_money": 0.0,
                    "deliverability": 0.0},
        "value_model": "benefit_points",
        "schemes": schemes,
    }  # fmt: skip
    return snapshot, top / 100


def test_the_shipped_data_is_the_shared_data():
    shared = SHARED_DATA / "orlib" / "mknap1.txt"
    if shared.exists():
        assert shared.read_bytes() == MKNAP1.read_bytes()


def test_the_data_file_has_seven_problems():
    assert [p["n"] for p in read_mknap(MKNAP1)] == [6, 10, 15, 20, 28, 39, 50]


@pytest.mark.parametrize("number", range(7))
@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_published_optimum_is_reproduced(number, solver):
    problem = read_mknap(MKNAP1)[number]
    snapshot, to_profit = as_snapshot(problem)
    result = solve(
        snapshot, SolveOptions(solver=solver, mip_gap=0.0, price_rules=False)
    ).to_document()
    assert result["status"] == "optimal"
    funded = [int(s["id"].split("-")[1]) - 1 for s in result["schemes"] if s["outcome"] == "funded"]
    # The chosen items' profits add up to the published optimum exactly (profits have 1 dp).
    assert round(sum(problem["profits"][i] for i in funded), 6) == problem["optimum"]
    assert abs(result["objective"] * to_profit - problem["optimum"]) < 1e-3
    assert_valid(snapshot, result)
