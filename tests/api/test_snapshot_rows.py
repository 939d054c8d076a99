"""The snapshot read as rows is the snapshot the ORM objects gave, byte for byte.

`api/rounds/snapshot.py` once built snapshots from Scheme objects (with their costs,
organisation and dependencies loaded as objects); it now reads rows. The reference below is
that object-based assembly, kept here to prove the rows give the same documents, exclusions
and fingerprints on the demo system (committed schemes, dependencies, a re-allocation)."""

from decimal import Decimal

from sqlalchemy import select

from api.delivery import service as delivery_service
from api.rounds import snapshot
from api.rounds.models import Round
from api.schemes.models import Scheme
from api.schemes.repository import mean_scores
from api.types import financial_year, financial_year_start
from optimiser.money import to_json_number


def _orm_schemes(session, system_id, statuses):
    statement = select(Scheme).where(Scheme.system_id == system_id, Scheme.status.in_(statuses))
    return list(session.scalars(statement.order_by(Scheme.id)))


def _profile_in(scheme, years):
    shift = scheme.approved_deferral_years or 0 if scheme.status == "approved" else 0
    profile = {financial_year(financial_year_start(c.year) + shift): c.amount for c in scheme.costs}
    return {y: a for y, a in profile.items() if y in years and a > 0}


def _documents(session, included, profiles):
    scores = mean_scores(session, scheme_ids=list(included))
    documents = []
    for scheme in sorted(included.values(), key=lambda s: s.id):
        committed = scheme.status == "approved"
        document = {
            "id": str(scheme.id),
            "organisation": scheme.organisation.code,
            "category": scheme.category,
            "cost_profile": {y: to_json_number(a) for y, a in sorted(profiles[scheme.id].items())},
            "scores": {c: round(v, 6) for c, v in scores.get(scheme.id, {}).items() if c != "assessments"},
            "mandatory": scheme.mandatory or committed,
            "depends_on": [str(d.id) for d in scheme.depends_on if d.id in included],
            "alternative_group": scheme.alternative_group,
            "max_deferral_years": 0 if committed else scheme.max_deferral_years,
        }  # fmt: skip
        if committed:
            first = min(financial_year_start(c.year) for c in scheme.costs if c.amount > 0)
            agreed = financial_year(first + (scheme.approved_deferral_years or 0))
            document |= {"committed": True, "agreed_start": agreed}
        documents.append(document)
    return documents


def _orm_assemble(session, round_, parameters):
    years = list(parameters["years"])
    candidates = _orm_schemes(session, round_.system_id, ("submitted", "approved"))
    included = {s.id: s for s in candidates if _profile_in(s, years)}
    excluded = []
    snapshot._drop_unmet_dependencies(included, {s.id for s in candidates if s.status == "approved"}, excluded)  # fmt: skip
    profiles = {s.id: _profile_in(s, years) for s in included.values()}
    return {**parameters, "schemes": _documents(session, included, profiles)}, excluded


def _orm_reallocation(session, round_, parameters, forecasts, current_year):
    years = [y for y in parameters["years"] if current_year is None or y >= current_year]
    parameters = {**parameters, "years": years,
                  "envelope": {y: a for y, a in parameters["envelope"].items() if y in years},
                  "reserve": {y: a for y, a in parameters.get("reserve", {}).items() if y in years}}  # fmt: skip
    approved = _orm_schemes(session, round_.system_id, ("approved",))
    included, profiles, excluded = {}, {}, []
    for scheme in approved:
        profile = {y: a for y, a in sorted(forecasts.get(scheme.id, {}).items()) if y in years and a > 0}  # fmt: skip
        if profile:
            included[scheme.id], profiles[scheme.id] = scheme, profile
    for scheme in _orm_schemes(session, round_.system_id, ("submitted",)):
        spend = {c.year: c.amount for c in scheme.costs if c.amount > 0}
        if not spend:
            continue
        if years and min(spend) < years[0]:
            excluded.append({"id": str(scheme.id), "reason": f"would start in {min(spend)}, a year already closed"})  # fmt: skip
            continue
        profile = {y: a for y, a in spend.items() if y in years}
        if profile:
            included[scheme.id], profiles[scheme.id] = scheme, profile
    snapshot._drop_unmet_dependencies(included, {s.id for s in approved}, excluded)
    document = {**parameters, "kind": "reallocation", "schemes": _documents(session, included, profiles)}  # fmt: skip
    return document, excluded


def test_rows_give_the_snapshot_the_objects_gave(session, demo_world):
    # Make one dependency unmet, so an exclusion (and its reason) is compared too.
    dependent = session.scalars(
        select(Scheme).where(Scheme.status == "submitted", Scheme.depends_on.any()).order_by(Scheme.id)
    ).first()  # fmt: skip
    assert dependent is not None, "the demo has dependencies"
    dependent.depends_on[0].status = "draft"
    dependent.costs[0].amount = Decimal("123456.78")  # pence survive the rows as they did
    session.flush()
    session.expire_all()
    rounds = session.scalars(select(Round).order_by(Round.id)).all()
    assert {r.status for r in rounds} >= {"agreed", "draft"}
    compared = 0
    for round_ in rounds:
        parameters = snapshot.round_parameters(round_)
        expected = _orm_assemble(session, round_, parameters)
        assert snapshot.assemble(session, round_=round_, parameters=parameters) == expected
        state = delivery_service.period_state(session, system_id=round_.system_id)
        years = [y for y in parameters["years"] if y >= state.current_year]
        forecasts = delivery_service.forecast_profiles(session, system_id=round_.system_id, years=years)  # fmt: skip
        expected_realloc = _orm_reallocation(session, round_, parameters, forecasts, state.current_year)  # fmt: skip
        got = snapshot.assemble_reallocation(session, round_=round_, parameters=parameters,
                                             forecasts=forecasts, current_year=state.current_year)  # fmt: skip
        assert got == expected_realloc
        assert snapshot.fingerprint(got[0]) == snapshot.fingerprint(expected_realloc[0])
        compared += len(got[0]["schemes"])
        assert any(e["id"] == str(dependent.id) for e in got[1] + expected[1])
        assert any(s.get("committed") for s in got[0]["schemes"])
        assert any(s["depends_on"] for s in expected[0]["schemes"])
    assert compared > 100
