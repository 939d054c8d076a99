"""The demo system is realistic enough to explore and the same every time."""

import random
from collections import Counter

from api import demo
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
    submitted = [s for s in qwv if s.status == "submitted"]
    assert len(submitted) > len(qwv) * 0.8
    ambulance = [o for o in {s.organisation for s in schemes} if o.kind == "ambulance"][0]
    assert [s.code for s in ambulance.systems] == ["QNB", "QWV"]


def test_every_submitted_demo_scheme_has_two_or_three_assessments(session):
    from api.schemes.repository import mean_scores

    demo.seed(session)
    ids = [
        s.id for s in session.query(Scheme).filter_by(status="submitted") if s.system.code == "QWV"
    ]
    scores = mean_scores(session, scheme_ids=ids)
    assert all(2 <= scores[i]["assessments"] <= 3 for i in ids)


def test_demo_is_deterministic(session):
    demo.seed(session)
    seeded = [(s.title, s.cost_profile) for s in session.query(Scheme).order_by(Scheme.id)]
    specs = demo._scheme_specs(random.Random(20260401))
    assert seeded == [(spec["title"], spec["cost_profile"]) for spec in specs]
    assert specs == demo._scheme_specs(random.Random(20260401))
