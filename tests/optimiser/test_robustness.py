"""The weight-set geometry of robustness studies: exact extreme points, uniform samples."""

import json
import math
from fractions import Fraction as F

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimiser import parse_snapshot, solve
from optimiser.robustness import (
    WeightSetInvalid,
    extreme_points,
    geometry,
    plan,
    sample,
    solve_part,
    study,
    weight_set,
)
from optimiser.snapshot import CRITERIA

orders = st.permutations(CRITERIA).flatmap(
    lambda order: st.integers(min_value=0, max_value=4).map(lambda n: list(order[:n]))
)


@st.composite
def bounds(draw):
    chosen = draw(st.lists(st.sampled_from(CRITERIA), unique=True, max_size=4))
    result = {}
    for criterion in chosen:
        lo = draw(st.sampled_from([0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3]))
        hi = draw(st.sampled_from([0.3, 0.4, 0.5, 0.6, 0.8, 1]))
        result[criterion] = {"min": lo, "max": hi}
    return result


def test_a_pure_rank_order_of_four_criteria_has_the_four_known_vertices():
    order = ["safety_quality", "strategic_fit", "value_for_money", "deliverability"]
    vertices = extreme_points(weight_set(rank_order=order))
    as_ranked = {tuple(v[CRITERIA.index(c)] for c in order) for v in vertices}
    assert as_ranked == {
        (F(1), F(0), F(0), F(0)),
        (F(1, 2), F(1, 2), F(0), F(0)),
        (F(1, 3), F(1, 3), F(1, 3), F(0)),
        (F(1, 4), F(1, 4), F(1, 4), F(1, 4)),
    }


@settings(deadline=None)
@given(order=st.permutations(CRITERIA))
def test_every_complete_rank_order_has_exactly_the_staircase_vertices(order):
    vertices = extreme_points(weight_set(rank_order=list(order)))
    expected = {
        tuple(F(1, k) if order.index(c) < k else F(0) for c in CRITERIA) for k in range(1, 5)
    }
    assert set(vertices) == expected
    # Its centroid is the mean of its vertices (it is a simplex).
    centroid = geometry(weight_set(rank_order=list(order))).centroid
    assert centroid == tuple(sum(v[i] for v in vertices) / 4 for i in range(4))


@settings(max_examples=60, deadline=None)
@given(order=orders, limits=bounds(), seed=st.integers(0, 2**31 - 1))
def test_every_sample_and_vertex_satisfies_the_rank_order_and_the_bounds(order, limits, seed):
    try:
        weights = weight_set(rank_order=order, bounds=limits)
    except WeightSetInvalid as exc:
        # An empty set is refused, naming the field; never a set with no points.
        assert exc.errors and all(
            e["path"].startswith(("$.bounds", "$.rank_order")) for e in exc.errors
        )
        return
    vertices = extreme_points(weights)
    assert vertices
    for vertex in vertices:
        assert sum(vertex) == 1
        values = dict(zip(CRITERIA, vertex, strict=True))
        assert all(values[a] >= values[b] for a, b in zip(order, order[1:], strict=False))
        for c, bound in limits.items():
            assert F(str(bound["min"])) <= values[c] <= F(str(bound["max"]))
    draws = sample(weights, 50, seed)
    assert draws == sample(weights, 50, seed)  # reproducible
    for draw in draws:
        assert math.isclose(sum(draw.values()), 1, abs_tol=1e-12)
        assert all(draw[a] >= draw[b] - 1e-12 for a, b in zip(order, order[1:], strict=False))
        for c, bound in limits.items():
            assert bound["min"] - 1e-12 <= draw[c] <= bound["max"] + 1e-12
        assert weights.contains(draw)


def test_samples_are_uniform_their_mean_approaches_the_exact_centroid():
    weights = weight_set(
        rank_order=["safety_quality", "deliverability"],
        bounds={"strategic_fit": {"min": 0.1, "max": 0.4}, "safety_quality": {"min": 0.2}},
    )
    centroid = geometry(weights).centroid
    draws = sample(weights, 20000, seed=7)
    for i, criterion in enumerate(CRITERIA):
        mean = sum(d[criterion] for d in draws) / len(draws)
        assert abs(mean - float(centroid[i])) < 0.005, criterion


def test_a_lower_dimensional_set_is_sampled_within_itself():
    weights = weight_set(bounds={"strategic_fit": {"min": 0.25, "max": 0.25}})
    assert len(extreme_points(weights)) == 3
    assert all(d["strategic_fit"] == pytest.approx(0.25) for d in sample(weights, 20, seed=1))


@pytest.mark.parametrize(
    "arguments, path",
    [
        ({"rank_order": ["strategic_fit", "strategic_fit"]}, "$.rank_order[1]"),
        ({"rank_order": ["speed"]}, "$.rank_order[0]"),
        ({"bounds": {"speed": {"min": 0.1}}}, "$.bounds.speed"),
        ({"bounds": {"strategic_fit": {"min": 0.5, "max": 0.2}}}, "$.bounds.strategic_fit.min"),
        ({"bounds": {"strategic_fit": {"min": 1.5}}}, "$.bounds.strategic_fit.min"),
        ({"bounds": {c: {"min": 0.3} for c in CRITERIA}}, "$.bounds"),
        ({"bounds": {c: {"max": 0.2} for c in CRITERIA}}, "$.bounds"),
        (
            {
                "rank_order": ["deliverability", "safety_quality"],
                "bounds": {"safety_quality": {"min": 0.6}},
            },
            "$.rank_order",
        ),  # fmt: skip
    ],
)
def test_inconsistent_weight_sets_are_refused_naming_the_field(arguments, path):
    with pytest.raises(WeightSetInvalid) as caught:
        weight_set(**arguments)
    assert path in [e["path"] for e in caught.value.errors]


def small_snapshot():
    return parse_snapshot(
        {
            "years": ["2026/27"],
            "envelope": {"2026/27": 1000},
            "schemes": [
                {"id": "safe", "organisation": "R1", "category": "other", "cost_profile": {"2026/27": 400},
                 "scores": {"strategic_fit": 1, "safety_quality": 5, "value_for_money": 1, "deliverability": 3}},
                {"id": "fit", "organisation": "R1", "category": "other", "cost_profile": {"2026/27": 400},
                 "scores": {"strategic_fit": 5, "safety_quality": 1, "value_for_money": 1, "deliverability": 3}},
                {"id": "both", "organisation": "R1", "category": "other", "cost_profile": {"2026/27": 500},
                 "scores": {"strategic_fit": 3, "safety_quality": 3, "value_for_money": 1, "deliverability": 3}},
                {"id": "mandatory", "organisation": "R1", "category": "other", "cost_profile": {"2026/27": 100},
                 "mandatory": True,
                 "scores": {"strategic_fit": 0, "safety_quality": 0, "value_for_money": 0, "deliverability": 0}},
                {"id": "huge", "organisation": "R1", "category": "other", "cost_profile": {"2026/27": 5000},
                 "scores": {"strategic_fit": 5, "safety_quality": 5, "value_for_money": 5, "deliverability": 5}},
            ],
        }
    )  # fmt: skip


def test_a_study_agrees_with_solving_at_each_extreme_point_and_classifies_schemes():
    snapshot = small_snapshot()
    weights = weight_set(bounds={"value_for_money": {"max": 0.1}, "deliverability": {"max": 0.1}})
    result = study(snapshot, weights, samples=30, seed=3)
    assert json.loads(json.dumps(result, allow_nan=False)) == result
    for point in result["extreme_points"]:
        direct = solve(snapshot.model_copy(update={"weights": point["weights"]}))
        assert point["funded"] == [s.id for s in direct.schemes if s.outcome == "funded"]
        assert point["objective"] == pytest.approx(direct.objective)
    classes = {s["id"]: s["class"] for s in result["schemes"]}
    assert classes["mandatory"] == "core" and classes["huge"] == "exterior"
    assert classes["safe"] == "borderline" and classes["fit"] == "borderline"
    for scheme in result["schemes"]:
        for point in result["extreme_points"]:
            if scheme["class"] == "core":
                assert scheme["id"] in point["funded"]
            if scheme["class"] == "exterior":
                assert scheme["id"] not in point["funded"]
    assert len(plan(weights, samples=30, seed=3)) == len(result["extreme_points"]) + 1 + 30
    assert solve_part(snapshot, plan(weights, samples=0, seed=0)[0])["status"] == "optimal"
