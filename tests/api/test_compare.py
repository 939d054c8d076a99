"""Comparing runs: schemes in and out with titles, organisations and £; a run with no portfolio
(infeasible) is refused with 409, never shown as "every scheme defunded"."""

from decimal import Decimal

import pytest

from tests.api.test_rounds import demo_round

pytestmark = pytest.mark.slow  # solves the demo round three times


def test_compare_lists_titles_organisations_and_pounds_and_refuses_infeasible(
    client, demo_world, session
):
    finance = demo_world.auth("ics_finance")
    round_id = demo_round(client, finance)
    runs = f"/api/v1/rounds/{round_id}/runs"
    base = client.post(runs, json={"label": "base"}, headers=finance).json()
    tighter = client.post(runs, json={"label": "tighter", "envelope": {"2026/27": 31000000}},
                          headers=finance).json()  # fmt: skip
    infeasible = client.post(runs, json={"label": "impossible", "envelope": {"2026/27": 2000000}},
                             headers=finance).json()  # fmt: skip
    assert infeasible["result"]["status"] == "infeasible"

    for a, b in ((base, infeasible), (infeasible, base), (infeasible, infeasible)):
        refused = client.get(f"/api/v1/runs/{a['id']}/compare", params={"with": b["id"]},
                             headers=finance)  # fmt: skip
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        detail = refused.json()["detail"]
        assert f"Run {infeasible['id']} is infeasible" in detail and "no portfolio" in detail

    response = client.get(f"/api/v1/runs/{base['id']}/compare", params={"with": tighter["id"]},
                          headers=demo_world.auth("viewer"))  # fmt: skip
    assert response.status_code == 200, response.text
    comparison = response.json()
    changed = (
        comparison["funded_only_in_a"]
        + comparison["funded_only_in_b"]
        + comparison["start_year_changes"]
    )
    assert changed, "a tighter first year changes the portfolio"
    schemes = {
        s["id"]: s
        for s in client.get(f"/api/v1/runs/{base['id']}/snapshot.json", headers=finance).json()[
            "schemes"
        ]
    }
    for scheme in changed:
        record = client.get(f"/api/v1/schemes/{scheme['id']}", headers=finance).json()
        assert scheme["title"] == record["title"] and scheme["title"]
        assert scheme["organisation"] == record["organisation"]
        assert Decimal(str(scheme["cost"])) == sum(
            Decimal(str(v)) for v in schemes[scheme["id"]]["cost_profile"].values()
        )
    for scheme in comparison["funded_only_in_a"]:
        assert scheme["start_year_a"] and scheme["start_year_b"] is None
    assert Decimal(str(comparison["spend_only_in_a"])) == sum(
        (Decimal(str(s["cost"])) for s in comparison["funded_only_in_a"]), Decimal(0)
    )
    assert comparison["objective_difference"] == pytest.approx(
        tighter["result"]["objective"] - base["result"]["objective"]
    )
    for row in comparison["by_year"]:
        assert Decimal(str(row["difference"])) == Decimal(str(row["spend_b"])) - Decimal(
            str(row["spend_a"])
        )
    # A what-if never loses every scheme: the difference is a few schemes, not the portfolio.
    funded = [s for s in base["result"]["schemes"] if s["outcome"] == "funded"]
    assert len(comparison["funded_only_in_a"]) < len(funded)
