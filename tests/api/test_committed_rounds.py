"""A later round after an agreed one: schemes approved then are committed, explained with the
start that was agreed, and an infeasible later round blames committed spend, not "mandatory"."""

import pytest

from tests.api.test_rounds import ROUND

pytestmark = pytest.mark.slow  # solves three rounds of the demo system


def test_a_later_round_explains_committed_schemes(client, demo_world):
    finance = demo_world.auth("ics_finance")
    first = client.post("/api/v1/rounds", json=ROUND, headers=finance).json()
    run = client.post(f"/api/v1/rounds/{first['id']}/runs", json={}, headers=finance).json()
    assert run["result"]["status"] == "optimal"
    agreed = client.post(
        f"/api/v1/rounds/{first['id']}/agree", json={"run_id": run["id"]}, headers=finance
    )
    assert agreed.status_code == 200, agreed.text
    starts = {
        s["id"]: s["start_year"] for s in run["result"]["schemes"] if s["outcome"] == "funded"
    }

    later_years = ["2027/28", "2028/29", "2029/30"]
    later = client.post(
        "/api/v1/rounds",
        json={"system": "QWV", "name": "The year after", "years": later_years,
              "envelope": dict.fromkeys(later_years, 40000000)},
        headers=finance,
    ).json()  # fmt: skip
    rerun = client.post(f"/api/v1/rounds/{later['id']}/runs", json={}, headers=finance).json()
    assert rerun["result"]["status"] == "optimal", rerun["result"]["conflicts"]
    snapshot = client.get(f"/api/v1/runs/{rerun['id']}/snapshot.json", headers=finance).json()
    in_snapshot = {s["id"]: s for s in snapshot["schemes"]}
    carried = [i for i in starts if i in in_snapshot]
    assert carried, "some schemes agreed in the first round spend in the later one"
    assert all(not s.get("committed") for i, s in in_snapshot.items() if i not in starts)
    reasons = {s["id"]: s for s in rerun["result"]["schemes"]}
    for scheme_id in carried:
        raw = in_snapshot[scheme_id]
        assert raw["committed"] is True and raw["agreed_start"] == starts[scheme_id]
        outcome = reasons[scheme_id]
        assert outcome["outcome"] == "funded"
        assert (
            f"committed in an earlier round (approved, starting {starts[scheme_id]})"
            in (outcome["reason"])
        )
        assert "mandatory" not in outcome["reason"]
    # A scheme that started in 2026/27 is not said to start in 2027/28.
    early = [i for i in carried if starts[i] == "2026/27"]
    assert early
    for scheme_id in early:
        assert "its spend in this round's years starts in 2027/28" in reasons[scheme_id]["reason"]

    tight = client.post(
        f"/api/v1/rounds/{later['id']}/runs",
        json={"label": "too tight", "envelope": {"2027/28": 100000}},
        headers=finance,
    ).json()
    assert tight["result"]["status"] == "infeasible"
    conflicts = tight["result"]["conflicts"]
    assert any("committed in earlier rounds" in c and "2027/28" in c for c in conflicts), conflicts
    must_fund = [s for s in in_snapshot.values() if s["mandatory"]]
    if all(s.get("committed") for s in must_fund):
        assert not any("mandatory" in c for c in conflicts), conflicts
