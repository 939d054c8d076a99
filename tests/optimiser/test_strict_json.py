"""The result document is strict JSON for every kind of round: no NaN, no Infinity, no -0.0;
`null` where a number is undefined (e.g. the relative gap of a round whose objective is zero)."""

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import ValidationError

from optimiser import SolveOptions, frontier, solve
from optimiser.result import Number, Result
from tests.optimiser.test_properties import rounds

SCORES = {"strategic_fit": 4, "safety_quality": 3, "value_for_money": 2, "deliverability": 4}
YEARS = ["2026/27", "2027/28"]


def _round(schemes, **extra):
    document = {"years": YEARS, "envelope": {y: 1_000_000 for y in YEARS}, "schemes": schemes}
    return {**document, **extra}


def _scheme(id, cost=400_000, **extra):
    return {"id": id, "organisation": "RX1", "category": "digital",
            "cost_profile": {"2026/27": cost}, "scores": SCORES, **extra}  # fmt: skip


ROUNDS = {
    "empty": _round([]),
    "no scheme eligible": _round(
        [_scheme("A", scores={"strategic_fit": 3}), _scheme("B", scores={**SCORES, "deliverability": 1})],
        min_deliverability=2,
    ),
    "every score zero": _round([_scheme("A", scores=dict.fromkeys(SCORES, 0))]),
    "normal": _round([_scheme("A"), _scheme("B", 700_000), _scheme("C", max_deferral_years=1)]),
    "infeasible": _round([_scheme("A", 2_000_000, mandatory=True)]),
    "fair shares and limits": _round(
        [_scheme("A"), _scheme("B", organisation="RX2", category="equipment")],
        fair_share_mode="band", fair_shares={"RX1": 0.5, "RX2": 0.5},
        category_limits={"digital": {"max": 500_000}},
    ),
    "zero envelope": _round([_scheme("A")], envelope={y: 0 for y in YEARS}),
}  # fmt: skip


def assert_strict(document) -> None:
    """Strict JSON text, and no negative zero (which reads as a sign error in a report)."""
    json.dumps(document, allow_nan=False)

    def walk(value, path):
        if isinstance(value, float):
            assert math.isfinite(value), path
            assert not (value == 0 and math.copysign(1, value) < 0), f"-0.0 at {path}"
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]")

    walk(document, "$")


@pytest.mark.parametrize("solver", ["highs", "cbc"])
@pytest.mark.parametrize("name", list(ROUNDS))
def test_every_kind_of_round_gives_strict_json(name, solver):
    result = solve(ROUNDS[name], SolveOptions(solver=solver)).to_document()
    assert_strict(result)


def test_an_empty_round_has_no_gap_and_a_zero_bound():
    result = solve(ROUNDS["empty"]).to_document()
    assert result["status"] == "optimal" and result["objective"] == 0
    assert result["gap"] is None  # relative gap 0/0: undefined, so null (not Infinity)
    assert result["bound"] == 0 and math.copysign(1, result["bound"]) == 1


def test_the_frontier_of_an_empty_round_is_strict_json():
    points = frontier(ROUNDS["empty"], [0.5, 1.0])
    assert_strict([p.model_dump(mode="json") for p in points])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds())
def test_random_rounds_give_strict_json(snapshot):
    assert_strict(solve(snapshot).to_document())


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_a_non_finite_number_cannot_enter_a_result(bad):
    """The cause is closed at construction: the document is never made with one."""
    from pydantic import TypeAdapter

    with pytest.raises(ValidationError, match="not a finite number"):
        TypeAdapter(Number).validate_python(bad)
    document = solve(ROUNDS["normal"]).to_document()
    with pytest.raises(ValidationError):
        Result.model_validate({**document, "gap": bad})
    assert TypeAdapter(Number).validate_python(-0.0) == 0.0
    assert math.copysign(1, TypeAdapter(Number).validate_python(-0.0)) == 1
