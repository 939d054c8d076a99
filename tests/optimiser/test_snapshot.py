"""Snapshot validation: every problem is reported with the JSON path that holds it."""

import copy

import pytest

from optimiser import SnapshotInvalid, parse_snapshot

BASE = {
    "years": ["2026/27", "2027/28"],
    "envelope": {"2026/27": 1000000, "2027/28": 1000000},
    "fair_shares": {"RX1": 0.6, "RX2": 0.4},
    "fair_share_mode": "band",
    "schemes": [
        {"id": "S-1", "organisation": "RX1", "category": "digital",
         "cost_profile": {"2026/27": 500000}, "scores": {"strategic_fit": 3}},
        {"id": "S-2", "organisation": "RX2", "category": "equipment",
         "cost_profile": {"2027/28": 200000.5}, "depends_on": ["S-1"]},
    ],
}  # fmt: skip


def paths(mutate) -> dict[str, str]:
    document = copy.deepcopy(BASE)
    mutate(document)
    with pytest.raises(SnapshotInvalid) as caught:
        parse_snapshot(document)
    return {e["path"]: e["message"] for e in caught.value.errors}


def test_the_base_snapshot_is_valid():
    snapshot = parse_snapshot(BASE)
    assert snapshot.weights == dict.fromkeys(
        ["strategic_fit", "safety_quality", "value_for_money", "deliverability"], 0.25
    )
    assert snapshot.tolerance_pct == 10 and snapshot.value_model == "weighted_spend"


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d.update(colour="red"), "$.colour"),
        (lambda d: d["schemes"][0].update(owner="x"), "$.schemes[0].owner"),
        (lambda d: d["years"].__setitem__(1, "2027/2028"), "$.years[1]"),
        (lambda d: d["years"].__setitem__(1, "2028/29"), "$.years[1]"),
        (lambda d: d["envelope"].update({"2026/27": -1}), "$.envelope.2026/27"),
        (lambda d: d["envelope"].update({"2026/27": "NaN"}), "$.envelope.2026/27"),
        (lambda d: d["envelope"].update({"2026/27": "Infinity"}), "$.envelope.2026/27"),
        (lambda d: d["envelope"].pop("2027/28"), "$.envelope.2027/28"),
        (lambda d: d.update(reserve={"2030/31": 5}), "$.reserve.2030/31"),
        (lambda d: d.update(reserve={"2026/27": 2000000}), "$.reserve.2026/27"),
        (
            lambda d: d["schemes"][0]["cost_profile"].update({"2031/32": 5}),
            "$.schemes[0].cost_profile.2031/32",
        ),
        (
            lambda d: d["schemes"][0]["cost_profile"].update({"2026/27": 1.001}),
            "$.schemes[0].cost_profile.2026/27",
        ),
        (
            lambda d: d["schemes"][0]["cost_profile"].update({"2026/27": 0}),
            "$.schemes[0].cost_profile",
        ),
        (
            lambda d: d["schemes"][0]["scores"].update(deliverability=5.5),
            "$.schemes[0].scores.deliverability",
        ),
        (
            lambda d: d["schemes"][0]["scores"].update(deliverability=-1),
            "$.schemes[0].scores.deliverability",
        ),
        (lambda d: d["schemes"][0].update(category="roads"), "$.schemes[0].category"),
        (lambda d: d.update(weights={"strategic_fit": 0.5, "deliverability": 0.4}), "$.weights"),
        (lambda d: d.update(fair_shares={"RX1": 0.6, "RX2": 0.5}), "$.fair_shares"),
        (lambda d: d.update(fair_shares={"RX1": 1.0}), "$.schemes[1].organisation"),
        (lambda d: d["schemes"][1].update(depends_on=["S-9"]), "$.schemes[1].depends_on[0]"),
        (lambda d: d["schemes"][0].update(depends_on=["S-2"]), "$.schemes[0].depends_on"),
        (lambda d: d["schemes"][1].update(id="S-1"), "$.schemes[1].id"),
        (
            lambda d: d.update(category_limits={"digital": {"min": 5, "max": 1}}),
            "$.category_limits.digital",
        ),
        (lambda d: d.update(fair_share_mode="sometimes"), "$.fair_share_mode"),
    ],
)
def test_each_problem_names_its_path(mutate, path):
    assert path in paths(mutate)


def test_a_share_for_an_organisation_without_schemes_is_fine():
    document = copy.deepcopy(BASE)
    document["fair_shares"] = {"RX1": 0.5, "RX2": 0.3, "RX9": 0.2}
    assert parse_snapshot(document).fair_shares["RX9"] == 0.2


def test_shares_summing_to_one_within_a_millionth_are_accepted():
    document = copy.deepcopy(BASE)
    document["fair_shares"] = {"RX1": 0.6000004, "RX2": 0.4}
    parse_snapshot(document)


def test_a_dependency_cycle_is_named():
    document = copy.deepcopy(BASE)
    document["schemes"][0]["depends_on"] = ["S-2"]
    message = paths(lambda d: d["schemes"][0].update(depends_on=["S-2"]))["$.schemes[0].depends_on"]
    assert "S-1 -> S-2 -> S-1" in message
