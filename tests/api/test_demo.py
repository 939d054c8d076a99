"""The demo system is realistic enough to explore and the same every time."""

import random
import re
from collections import Counter

from api import demo
from api.rounds.models import Round
from api.schemes.models import Scheme


def test_demo_meets_its_brief(session):
    demo.seed(session)
    schemes = session.query(Scheme).all()
    qwv = [s for s in schemes if s.system.code == "QWV"]
    organisations = {s.organisation.code for s in qwv}
    assert len(qwv) >= 60 and len(organisations) >= 7
    assert set(Counter(s.category for s in qwv)) == {
        "estates_backlog", "estates_capacity", "digital", "equipment", "other"
    }  # fmt: skip
    assert all(1 <= len(s.costs) <= 3 for s in schemes)
    assert {c.year for s in schemes for c in s.costs} <= {"2026/27", "2027/28", "2028/29"}
    mandatory = [s for s in qwv if s.mandatory]
    assert mandatory and all(s.mandatory_reason for s in mandatory)
    assert any(s.depends_on for s in qwv)
    assert len({s.alternative_group for s in qwv if s.alternative_group}) == 1
    assert all(s.backlog_risk for s in qwv if s.category == "estates_backlog")
    # Most schemes are submitted; those the agreed round funded are approved and in delivery.
    submitted = [s for s in qwv if s.status in ("submitted", "approved")]
    assert len(submitted) > len(qwv) * 0.8
    assert 10 <= len([s for s in qwv if s.status == "approved"]) <= 30
    ambulance = [o for o in {s.organisation for s in schemes} if o.kind == "ambulance"][0]
    assert [s.code for s in ambulance.systems] == ["QNB", "QWV"]


def test_each_demo_round_covers_the_years_its_name_says(session):
    """ "2026/27 to 2028/29 (agreed)" covered two years."""
    demo.seed(session)
    named = 0
    for round_ in session.query(Round).all():
        if match := re.search(r"(20\d\d/\d\d) to (20\d\d/\d\d)", round_.name):
            years = sorted(y.year for y in round_.years)
            assert (years[0], years[-1]) == match.groups(), round_.name
            named += 1
    assert named


def test_every_submitted_demo_scheme_has_two_or_three_assessments(session):
    from api.schemes.repository import mean_scores

    demo.seed(session)
    ids = [
        s.id
        for s in session.query(Scheme).filter(Scheme.status.in_(("submitted", "approved")))
        if s.system.code == "QWV"
    ]
    scores = mean_scores(session, scheme_ids=ids)
    assert all(2 <= scores[i]["assessments"] <= 3 for i in ids)


def test_demo_is_deterministic(session):
    demo.seed(session)
    seeded = [(s.title, s.cost_profile) for s in session.query(Scheme).order_by(Scheme.id)]
    specs = demo._scheme_specs(random.Random(20260401))
    assert seeded == [(spec["title"], spec["cost_profile"]) for spec in specs]
    assert specs == demo._scheme_specs(random.Random(20260401))


def test_demo_opens_mid_year_with_slippage_to_reuse(client, demo_world):
    """An agreed round six months into delivery, beside the next cycle's draft round."""
    finance = demo_world.auth("ics_finance")
    rounds = client.get("/api/v1/rounds", params={"system": "QWV"}, headers=finance).json()["items"]
    assert [r["status"] for r in rounds] == ["draft", "agreed"]
    report = client.get(
        "/api/v1/systems/QWV/delivery", params={"year": "2026/27"}, headers=finance
    ).json()
    assert report["reporting_period"] == "2026-09"
    total = report["total"]
    assert total["slippage"] > 500_000 and total["red"] >= 1 and total["amber"] >= 1
    assert report["headroom"] > 0
    assert any(o["forecast_variance"] > 0 for o in report["organisations"])  # the overspend
    reallocation = client.post(
        f"/api/v1/rounds/{rounds[1]['id']}/reallocations", json={}, headers=finance
    )
    assert reallocation.status_code == 201, reallocation.text
    result = reallocation.json()["result"]
    assert result["status"] == "optimal"
    snapshot = reallocation.json()
    committed = {
        s["id"]
        for s in client.get(f"/api/v1/runs/{snapshot['id']}/snapshot.json", headers=finance).json()[
            "schemes"
        ]
        if s["mandatory"] and s["max_deferral_years"] == 0
    }
    assert any(s["outcome"] == "funded" and s["id"] not in committed for s in result["schemes"]), (
        "the slippage funds at least one reserve scheme"
    )
    draft = client.post(f"/api/v1/rounds/{rounds[0]['id']}/runs", json={}, headers=finance)
    assert draft.status_code == 201 and draft.json()["result"]["status"] == "optimal"
