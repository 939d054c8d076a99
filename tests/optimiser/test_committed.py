"""Schemes committed in an earlier agreed round are explained as committed, with the start that
was agreed, and an infeasible round tells committed spend apart from mandatory spend."""

import pytest

from optimiser import SnapshotInvalid, parse_snapshot
from tests.optimiser.test_solve import SCORES, by_id, run, scheme, snapshot


def committed(id, agreed_start, **extra):
    return scheme(id, mandatory=True, committed=True, agreed_start=agreed_start, **extra)


def test_a_committed_scheme_is_explained_with_its_agreed_start():
    document = snapshot([
        committed("A", "2025/26", profile={"2026/27": 600_000}),  # started before this horizon
        committed("B", "2026/27", profile={"2026/27": 300_000, "2027/28": 300_000}),
        scheme("C", mandatory=True, profile={"2027/28": 200_000}),
        scheme("D", scores={**SCORES, "strategic_fit": 5}),
    ])  # fmt: skip
    schemes = by_id(run(document))
    assert schemes["A"]["reason"] == (
        "funded: committed in an earlier round (approved, starting 2025/26); "
        "its spend in this round's years starts in 2026/27"
    )
    assert (
        schemes["B"]["reason"]
        == "funded: committed in an earlier round (approved, starting 2026/27)"
    )
    assert "mandatory" not in schemes["A"]["reason"] + schemes["B"]["reason"]
    assert schemes["C"]["reason"].startswith("funded from 2027/28 as a mandatory scheme")


def test_infeasible_round_tells_committed_from_mandatory_spend():
    only_committed = snapshot([
        committed("A", "2025/26", profile={"2026/27": 1_500_000}),
        committed("B", "2026/27", profile={"2026/27": 700_000}),
    ])  # fmt: skip
    result = run(only_committed)
    assert result["status"] == "infeasible"
    assert result["conflicts"] == [
        "schemes committed in earlier rounds need at least £2.2m in 2026/27 but the envelope "
        "after reserve is £2m"
    ]
    both = snapshot([
        committed("A", "2025/26", profile={"2026/27": 1_500_000}),
        scheme("B", mandatory=True, profile={"2026/27": 700_000}),
    ])  # fmt: skip
    assert run(both)["conflicts"] == [
        "committed and mandatory schemes need at least £2.2m in 2026/27 (£1.5m committed in "
        "earlier rounds, £700k mandatory) but the envelope after reserve is £2m"
    ]


def test_a_committed_scheme_over_a_category_maximum_is_named_as_committed():
    document = snapshot(
        [committed("A", "2026/27", category="digital", profile={"2026/27": 900_000})],
        category_limits={"digital": {"max": 500_000}},
    )
    assert run(document)["conflicts"] == [
        "digital schemes committed in earlier rounds cost £900k, above the category maximum "
        "of £500k"
    ]


@pytest.mark.parametrize(
    "extra, path",
    [
        ({"committed": True}, "$.schemes[0].mandatory"),
        ({"committed": True, "mandatory": True, "max_deferral_years": 1},
         "$.schemes[0].max_deferral_years"),
        ({"agreed_start": "2026/27"}, "$.schemes[0].agreed_start"),
        ({"committed": True, "mandatory": True, "agreed_start": "2026/2027"},
         "$.schemes[0].agreed_start"),
    ],
)  # fmt: skip
def test_an_inconsistent_commitment_is_rejected_with_its_path(extra, path):
    with pytest.raises(SnapshotInvalid) as caught:
        parse_snapshot(snapshot([scheme("A", **extra)]))
    assert [e["path"] for e in caught.value.errors] == [path]
