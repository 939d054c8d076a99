"""In-year delivery through the HTTP API (DESIGN.md sections 7 and 8), on every backend."""

import io
import itertools
import json
import subprocess
import sys
from decimal import Decimal

import pytest
from pypdf import PdfReader

from tests.conftest import scheme_body

API = "/api/v1"
D = Decimal


def _scheme(client, world, who, organisation, title, profile, scores, **more) -> int:
    body = scheme_body(organisation=organisation, title=title, cost_profile=profile, **more)
    created = client.post(f"{API}/schemes", json=body, headers=world.auth(who))
    assert created.status_code == 201, created.text
    scheme_id = created.json()["id"]
    assert (
        client.post(f"{API}/schemes/{scheme_id}/submit", headers=world.auth(who)).status_code == 200
    )
    assessment = dict(zip(("strategic_fit", "safety_quality", "value_for_money", "deliverability"),
                          scores, strict=True), rationale="test")  # fmt: skip
    scored = client.post(f"{API}/schemes/{scheme_id}/assessments", json=assessment,
                         headers=world.auth("assessor_a_plain"))  # fmt: skip
    assert scored.status_code in (200, 201), scored.text
    return scheme_id


def _money(value) -> Decimal:
    return D(str(value)).quantize(D("0.01"))


@pytest.fixture
def agreed(client, world):
    """SYA: two schemes agreed in a round (S1 RA1, S2 RA2), four reserve schemes."""
    s1 = _scheme(client, world, "trust_a1", "RA1", "S1 roof", {"2026/27": 1200000, "2027/28": 300000}, (5, 5, 5, 5))  # fmt: skip
    s2 = _scheme(client, world, "trust_a2", "RA2", "S2 lift", {"2026/27": 600000.10}, (5, 5, 5, 5))
    reserve = {
        "R1": _scheme(client, world, "trust_a1", "RA1", "R1", {"2026/27": 400000}, (3, 3, 3, 3)),
        "R2": _scheme(client, world, "trust_a2", "RA2", "R2", {"2026/27": 500000}, (4, 4, 4, 3)),
        "R3": _scheme(client, world, "trust_a1", "RA1", "R3", {"2026/27": 300000}, (5, 5, 5, 5)),
        "R4": _scheme(client, world, "trust_a2", "RA2", "R4", {"2026/27": 250000}, (4, 4, 4, 4)),
    }
    finance = world.auth("finance_a")
    round_ = client.post(f"{API}/rounds", headers=finance, json={
        "system": "SYA", "name": "Plan", "years": ["2026/27", "2027/28"],
        "envelope": {"2026/27": 1900000, "2027/28": 1000000}}).json()  # fmt: skip
    run = client.post(f"{API}/rounds/{round_['id']}/runs", json={}, headers=finance).json()
    outcomes = {s["id"]: s["outcome"] for s in run["result"]["schemes"]}
    assert outcomes[str(s1)] == outcomes[str(s2)] == "funded"
    assert {outcomes[str(r)] for r in reserve.values()} == {"reserve"}
    agreed = client.post(f"{API}/rounds/{round_['id']}/agree", json={"run_id": run["id"]}, headers=finance)  # fmt: skip
    assert agreed.status_code == 200, agreed.text
    return {"s1": s1, "s2": s2, "round": round_["id"], **reserve}


def _get(client, world, scheme_id, who="trust_a1"):
    response = client.get(f"{API}/schemes/{scheme_id}/delivery", headers=world.auth(who))
    assert response.status_code == 200, response.text
    return response.json()


def _patch(client, world, scheme_id, body, who="trust_a1", version=None):
    if version is None:
        version = _get(client, world, scheme_id, who)["version"]
    return client.patch(f"{API}/schemes/{scheme_id}/delivery", json=body,
                        headers={**world.auth(who), "If-Match": str(version)})  # fmt: skip


def _close(client, world, who="finance_a"):
    return client.post(f"{API}/systems/SYA/close-period", headers=world.auth(who))


def test_agreeing_phases_each_year_in_twelfths_pennies_in_march(client, world, agreed):
    s2 = _get(client, world, agreed["s2"], "trust_a2")
    assert s2["version"] == 1 and s2["reporting_period"] is None and s2["next_period"] == "2026-04"
    (year,) = s2["years"]
    plan = [_money(m["plan"]) for m in year["months"]]
    assert [m["period"] for m in year["months"]][0::11] == ["2026-04", "2027-03"]
    assert plan[:11] == [D("50000.00")] * 11 and plan[11] == D("50000.10")
    assert sum(plan) == D("600000.10") == _money(year["annual_plan"])
    assert all(m["forecast"] == m["plan"] and m["actual"] is None for m in year["months"])
    s1 = _get(client, world, agreed["s1"])
    assert s1["later_years"] == {"2027/28": 300000}


def test_mid_year_position_to_the_penny(client, world, agreed):
    s1, s2 = agreed["s1"], agreed["s2"]
    actuals = {"2026-04": (100000, 50000), "2026-05": (90000, 50000), "2026-06": (80000, 60000.55)}
    for period, (a1, a2) in actuals.items():
        assert _patch(client, world, s1, {"actual": {period: a1}}).status_code == 200
        assert _patch(client, world, s2, {"actual": {period: a2}}, "trust_a2").status_code == 200
        closed = _close(client, world)
        assert closed.status_code == 200, closed.text
        assert closed.json()["reporting_period"] == period
    later = [f"2026-{m:02d}" for m in range(7, 13)] + ["2027-01", "2027-02", "2027-03"]
    slipped = _patch(client, world, s1, {"forecast": dict.fromkeys(later, 50000), "rag": "red",
                                         "commentary": "Roofing contractor short of labour"})  # fmt: skip
    assert slipped.status_code == 200, slipped.text
    assert _patch(client, world, s2, {"rag": "amber"}, "trust_a2").status_code == 200
    year = slipped.json()["years"][0]
    assert [_money(year[k]) for k in ("ytd_plan", "ytd_actual", "ytd_variance", "annual_plan",
            "forecast_outturn", "forecast_variance", "slippage")] == [
        D("300000"), D("270000"), D("-30000"), D("1200000"), D("720000"), D("-480000"), D("480000")]  # fmt: skip

    report = client.get(f"{API}/systems/SYA/delivery", params={"year": "2026/27"},
                        headers=world.auth("finance_a"))  # fmt: skip
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["reporting_period"] == "2026-06" and _money(body["envelope"]) == D("1900000")
    figures = ("ytd_plan", "ytd_actual", "ytd_variance", "annual_plan", "forecast_outturn",
               "forecast_variance", "slippage")  # fmt: skip
    by_org = {o["organisation"]: o for o in body["organisations"]}
    assert {k: _money(by_org["RA1"][k]) for k in figures} == {
        "ytd_plan": D("300000"), "ytd_actual": D("270000"), "ytd_variance": D("-30000"),
        "annual_plan": D("1200000"), "forecast_outturn": D("720000"),
        "forecast_variance": D("-480000"), "slippage": D("480000")}  # fmt: skip
    assert {k: _money(by_org["RA2"][k]) for k in figures} == {
        "ytd_plan": D("150000"), "ytd_actual": D("160000.55"), "ytd_variance": D("10000.55"),
        "annual_plan": D("600000.10"), "forecast_outturn": D("610000.65"),
        "forecast_variance": D("10000.55"), "slippage": D("0")}  # fmt: skip
    # Slippage sums each scheme's shortfall: RA2's overspend does not hide RA1's slippage.
    assert {k: _money(body["total"][k]) for k in figures} == {
        "ytd_plan": D("450000"), "ytd_actual": D("430000.55"), "ytd_variance": D("-19999.45"),
        "annual_plan": D("1800000.10"), "forecast_outturn": D("1330000.65"),
        "forecast_variance": D("-469999.45"), "slippage": D("480000")}  # fmt: skip
    assert (by_org["RA1"]["red"], by_org["RA2"]["amber"], body["total"]["red"]) == (1, 1, 1)
    assert _money(body["headroom"]) == D("569999.35")
    later = client.get(f"{API}/systems/SYA/delivery", params={"year": "2027/28"},
                       headers=world.auth("viewer_a")).json()  # fmt: skip
    assert _money(later["total"]["forecast_outturn"]) == D("300000")
    assert _money(later["headroom"]) == D("700000")


def test_actuals_rules(client, world, agreed):
    s1 = agreed["s1"]
    later = _patch(client, world, s1, {"actual": {"2026-05": 10}})
    assert later.status_code == 422
    assert later.json()["errors"][0]["loc"] == "body.actual.2026-05"
    assert "up to 2026-04" in later.json()["errors"][0]["msg"]
    for bad in (-1, 10.123, "lots"):
        response = _patch(client, world, s1, {"actual": {"2026-04": bad}})
        assert response.status_code == 422, bad
        assert response.json()["errors"][0]["loc"].startswith("body.actual.2026-04")
    assert _patch(client, world, s1, {"actual": {"2026-13": 1}}).status_code == 422
    assert _patch(client, world, s1, {"actual": {"2026-04": 99.99}}).status_code == 200
    assert _close(client, world).status_code == 200
    locked = _patch(client, world, s1, {"actual": {"2026-04": 100}})
    assert locked.status_code == 409 and "locked" in locked.json()["errors"][0]["msg"]
    assert _get(client, world, s1)["years"][0]["months"][0]["actual"] == 99.99
    forecast = _patch(client, world, s1, {"forecast": {"2026-04": 1}})
    assert forecast.status_code == 409
    assert _patch(client, world, s1, {"forecast": {"2026-05": -5}}).status_code == 422
    assert _patch(client, world, s1, {"forecast": {"2026-05": 5}}).status_code == 200


def test_a_month_in_other_digits_is_a_422_naming_it_never_a_500(client, world, agreed):
    # `\d` matched full-width digits and int() read them, so `２０２６-05` passed as a month
    # no key equals: a KeyError (500) on plan and forecast, a 409 naming it on close.
    s1 = agreed["s1"]
    for field in ("plan", "forecast", "actual"):
        for bad in ("２０２６-05", "2026-0５"):
            response = _patch(client, world, s1, {field: {bad: 1}})
            assert response.status_code == 422, (field, bad, response.text)
            [error] = response.json()["errors"]
            assert error["loc"].startswith(f"body.{field}.{bad}"), error
            assert "is not a month like 2026-04" in error["msg"], error
    closed = client.post(f"{API}/systems/SYA/close-period", json={"period": "２０２６-04"},
                         headers=world.auth("finance_a"))  # fmt: skip
    assert closed.status_code == 422, closed.text
    assert [e["loc"] for e in closed.json()["errors"]] == ["body.period"]
    imported = client.post(f"{API}/systems/SYA/delivery/import", headers=world.auth("trust_a1"),
                           json={"period": "２０２６-04", "schemes": [{"scheme_id": s1, "actual": 1}]})  # fmt: skip
    assert imported.status_code == 422 and imported.json()["errors"][0]["loc"] == "body.period"
    assert _get(client, world, s1)["version"] == 1  # nothing changed


def test_later_years_and_rephasing(client, world, agreed):
    s1 = agreed["s1"]
    current = _patch(client, world, s1, {"later_years": {"2026/27": 5}})
    assert (
        current.status_code == 422
        and current.json()["errors"][0]["loc"] == "body.later_years.2026/27"
    )
    assert _patch(client, world, s1, {"later_years": {"2026/28": 5}}).status_code == 422
    moved = _patch(client, world, s1, {"later_years": {"2027/28": 450000, "2028/29": 120000}})
    assert moved.status_code == 200, moved.text
    assert moved.json()["later_years"] == {"2027/28": 450000, "2028/29": 120000}
    new_year = moved.json()["years"][2]
    assert new_year["year"] == "2028/29" and new_year["annual_plan"] == 0
    assert new_year["slippage"] == 0 and new_year["forecast_variance"] == 120000

    unbalanced = _patch(client, world, s1, {"plan": {"2026-04": 0, "2026-05": 150000}})
    assert unbalanced.status_code == 422
    error = unbalanced.json()["errors"][0]
    assert (
        error["loc"] == "body.plan"
        and "2026/27" in error["msg"]
        and "£1,200,000.00" in error["msg"]
    )
    rephased = _patch(client, world, s1, {"plan": {"2026-04": 0, "2026-05": 200000}})
    assert rephased.status_code == 200, rephased.text
    months = rephased.json()["years"][0]["months"]
    assert (months[0]["plan"], months[1]["plan"]) == (0, 200000)
    assert rephased.json()["years"][0]["annual_plan"] == 1200000
    assert _close(client, world).status_code == 200
    locked = _patch(client, world, s1, {"plan": {"2026-04": 100000, "2026-05": 100000}})
    assert locked.status_code == 409


def test_if_match_and_two_writers(client, world, agreed):
    s1 = agreed["s1"]
    url = f"{API}/schemes/{s1}/delivery"
    missing = client.patch(url, json={"rag": "green"}, headers=world.auth("trust_a1"))
    assert missing.status_code == 428
    first = client.patch(url, json={"commentary": "first"},
                         headers={**world.auth("trust_a1"), "If-Match": "1"})  # fmt: skip
    assert first.status_code == 200 and first.json()["version"] == 2
    assert first.headers["ETag"] == '"2"'
    second = client.patch(url, json={"commentary": "second"},
                          headers={**world.auth("trust_a1"), "If-Match": "1"})  # fmt: skip
    assert second.status_code == 412
    assert _get(client, world, s1)["commentary"] == "first"
    events = client.get(f"{API}/audit", params={"entity": "delivery", "entity_id": s1},
                        headers=world.auth("admin")).json()  # fmt: skip
    items = events["items"] if isinstance(events, dict) else events
    assert [e["after"]["commentary"] for e in items if e["action"] == "update"] == ["first"]
    assert items[0]["before"]["commentary"] == ""


def test_roles_and_scopes(client, world, agreed):
    s1 = agreed["s1"]
    for who in ("trust_a1", "finance_a", "viewer_a", "admin"):
        assert (
            client.get(f"{API}/schemes/{s1}/delivery", headers=world.auth(who)).status_code == 200
        )
    for who in ("trust_a2", "trust_b1", "finance_b", "assessor_b"):  # out of scope: as if missing
        assert (
            client.get(f"{API}/schemes/{s1}/delivery", headers=world.auth(who)).status_code == 404
        )
    assert (
        client.get(f"{API}/schemes/{s1}/delivery", headers=world.auth("assessor_a")).status_code
        == 403
    )
    assert (
        client.get(
            f"{API}/schemes/{agreed['R1']}/delivery", headers=world.auth("trust_a1")
        ).status_code
        == 404
    )
    assert client.get(f"{API}/schemes/{s1}/delivery").status_code == 401
    for who in ("finance_a", "viewer_a"):
        assert _patch(client, world, s1, {"rag": "red"}, who=who, version=1).status_code == 403
    assert _patch(client, world, s1, {"rag": "red"}, who="trust_a2", version=1).status_code == 404
    for who, status in (("trust_a1", 403), ("viewer_a", 403), ("finance_b", 404), ("admin", 403)):
        assert _close(client, world, who).status_code == status, who
    year = {"year": "2026/27"}
    for who, status in (("finance_a", 200), ("viewer_a", 200), ("admin", 200), ("trust_a1", 200),
                        ("assessor_a", 403), ("finance_b", 404), ("trust_b1", 404)):  # fmt: skip
        response = client.get(f"{API}/systems/SYA/delivery", params=year, headers=world.auth(who))
        assert response.status_code == status, who
    own = client.get(
        f"{API}/systems/SYA/delivery", params=year, headers=world.auth("trust_a1")
    ).json()
    assert [o["organisation"] for o in own["organisations"]] == ["RA1"]
    assert own["envelope"] is None and own["headroom"] is None
    bad = client.get(
        f"{API}/systems/SYA/delivery", params={"year": "2026/28"}, headers=world.auth("finance_a")
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == "query.year"
    assert (
        client.get(
            f"{API}/systems/NOPE/delivery", params=year, headers=world.auth("admin")
        ).status_code
        == 404
    )


def test_a_close_that_names_its_month_closes_it_once(client, world, agreed):
    url, finance = f"{API}/systems/SYA/close-period", world.auth("finance_a")
    closed = client.post(url, json={"period": "2026-04"}, headers=finance)
    assert closed.status_code == 200, closed.text
    assert closed.json()["reporting_period"] == "2026-04"
    # The same request again (a retry, a second click): 409, and 2026-05 stays open.
    again = client.post(url, json={"period": "2026-04"}, headers=finance)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["detail"] == (
        "2026-04 is not the next month to close: the reporting period is now 2026-04, and the "
        "next month to close is 2026-05."
    )
    assert client.post(url, json={"period": "2026-06"}, headers=finance).status_code == 409
    period = client.get(f"{API}/systems/SYA/period", headers=finance).json()
    assert period["reporting_period"] == "2026-04" and period["next_period"] == "2026-05"
    for bad in ("2026-13", "May 2026", 202605):
        refused = client.post(url, json={"period": bad}, headers=finance)
        assert refused.status_code == 422, bad
        assert [e["loc"] for e in refused.json()["errors"]] == ["body.period"], bad
    refused = client.post(url, json={"month": "2026-05"}, headers=finance)
    assert refused.status_code == 422 and refused.json()["errors"][0]["loc"] == "body.month"
    # Naming it is still optional: without a body the next month closes, as before.
    assert client.post(url, headers=finance).json()["reporting_period"] == "2026-05"
    assert client.post(url, json={}, headers=finance).json()["reporting_period"] == "2026-06"


def test_close_period_needs_an_agreed_round(client, world):
    response = client.post(f"{API}/systems/SYB/close-period", headers=world.auth("finance_b"))
    assert response.status_code == 409 and "no agreed round" in response.json()["detail"]


def test_commentary_with_control_characters_is_refused(client, world, agreed):
    """Stored, such commentary made every later delivery workbook fail to save (a 500)."""
    s1 = agreed["s1"]
    patched = _patch(client, world, s1, {"commentary": "Scaffold\x01ing late"})
    assert patched.status_code == 422, patched.text
    assert [e["loc"] for e in patched.json()["errors"]] == ["body.commentary"]
    body = {"period": "2026-04", "schemes": [{"scheme_id": s1, "commentary": "late\x02 again"}]}
    imported = client.post(f"{API}/systems/SYA/delivery/import", json=body, headers=world.auth("trust_a1"))  # fmt: skip
    assert imported.status_code == 422, imported.text
    assert [e["loc"] for e in imported.json()["errors"]] == ["body.schemes[0].commentary"]
    kept = _patch(client, world, s1, {"commentary": "Two lines:\r\nscaffolding\tlate."})
    assert kept.status_code == 200, kept.text
    assert _get(client, world, s1)["version"] == 2


def test_import_is_all_or_nothing_and_names_scheme_and_period(client, world, agreed):
    s1, r1 = agreed["s1"], agreed["R1"]
    url = f"{API}/systems/SYA/delivery/import"
    body = {"period": "2026-04", "schemes": [
        {"scheme_id": s1, "actual": 95000, "forecast": {"2026-05": 70000}, "rag": "amber"},
        {"scheme_id": agreed["s2"], "actual": 1},
        {"scheme_id": r1, "actual": 5},
    ]}  # fmt: skip
    refused = client.post(url, json=body, headers=world.auth("trust_a1"))
    assert refused.status_code == 422
    errors = refused.json()["errors"]
    assert [e["loc"] for e in errors] == ["body.schemes[1].scheme_id", "body.schemes[2].scheme_id"]
    assert f"scheme {agreed['s2']}" in errors[0]["msg"]
    assert _get(client, world, s1)["version"] == 1  # nothing applied
    late = {"period": "2026-05", "schemes": [{"scheme_id": s1, "actual": 1}]}
    error = client.post(url, json=late, headers=world.auth("trust_a1")).json()["errors"][0]
    assert error["loc"] == "body.schemes[0].actual.2026-05" and error["msg"].startswith(
        f"scheme {s1}, 2026-05"
    )
    assert client.post(url, json=late, headers=world.auth("finance_a")).status_code == 403
    assert client.post(url, json=late, headers=world.auth("trust_b1")).status_code == 404
    done = client.post(
        url, json={**body, "schemes": body["schemes"][:1]}, headers=world.auth("trust_a1")
    )
    assert done.status_code == 200, done.text
    assert done.json()["scheme_ids"] == [s1]
    after = _get(client, world, s1)
    assert after["version"] == 2 and after["rag"] == "amber"
    assert [m["actual"] for m in after["years"][0]["months"][:2]] == [95000, None]
    assert [m["forecast"] for m in after["years"][0]["months"][:2]] == [95000, 70000]
    assert _close(client, world).status_code == 200
    closed = client.post(
        url, json={**body, "schemes": body["schemes"][:1]}, headers=world.auth("trust_a1")
    )
    assert closed.status_code == 409


def _slip(client, world, agreed):
    """Three months closed and S1 slipping by £480,000 (the to-the-penny position)."""
    s1, s2 = agreed["s1"], agreed["s2"]
    for period, (a1, a2) in {"2026-04": (100000, 50000), "2026-05": (90000, 50000),
                             "2026-06": (80000, 60000.55)}.items():  # fmt: skip
        assert _patch(client, world, s1, {"actual": {period: a1}}).status_code == 200
        assert _patch(client, world, s2, {"actual": {period: a2}}, "trust_a2").status_code == 200
        assert _close(client, world).status_code == 200
    later = [f"2026-{m:02d}" for m in range(7, 13)] + ["2027-01", "2027-02", "2027-03"]
    assert _patch(client, world, s1, {"forecast": dict.fromkeys(later, 50000)}).status_code == 200


def _brute_force(snapshot: dict) -> float:
    """The best value of any set of candidates that fits every year's limit."""
    weights = snapshot["weights"]
    limits = {y: snapshot["envelope"][y] for y in snapshot["years"]}
    committed = [s for s in snapshot["schemes"] if s["mandatory"]]
    candidates = [s for s in snapshot["schemes"] if not s["mandatory"]]
    for s in committed:
        for y, a in s["cost_profile"].items():
            limits[y] -= a
    best = 0.0
    for size in range(len(candidates) + 1):
        for chosen in itertools.combinations(candidates, size):
            spend = {y: sum(s["cost_profile"].get(y, 0) for s in chosen) for y in limits}
            if all(spend[y] <= limits[y] + 1e-6 for y in limits):
                value = sum(sum(weights[c] * s["scores"][c] / 5 for c in weights) *
                            sum(s["cost_profile"].values()) for s in chosen)  # fmt: skip
                best = max(best, value)
    return best


def test_slippage_to_reallocation_end_to_end(client, world, agreed, tmp_path):
    finance = world.auth("finance_a")
    _slip(client, world, agreed)
    report = client.get(
        f"{API}/systems/SYA/delivery", params={"year": "2026/27"}, headers=finance
    ).json()
    assert report["total"]["slippage"] == 480000 and _money(report["headroom"]) == D("569999.35")

    round_id = agreed["round"]
    assert client.post(f"{API}/rounds/{round_id}/runs", json={}, headers=finance).status_code == 409
    assert client.post(f"{API}/rounds/{round_id}/reallocations", json={},
                       headers=world.auth("viewer_a")).status_code == 403  # fmt: skip
    created = client.post(
        f"{API}/rounds/{round_id}/reallocations", json={"label": "slippage"}, headers=finance
    )
    assert created.status_code == 201, created.text
    run = created.json()
    assert (
        run["kind"] == "reallocation" and created.headers["Location"] == f"{API}/runs/{run['id']}"
    )
    snapshot = client.get(f"{API}/runs/{run['id']}/snapshot.json", headers=finance).json()
    committed = {s["id"]: s for s in snapshot["schemes"] if s["mandatory"]}
    # Approved schemes are committed at their current forecast, not their agreed profile.
    assert committed[str(agreed["s1"])]["cost_profile"] == {"2026/27": 720000, "2027/28": 300000}
    assert committed[str(agreed["s2"])]["cost_profile"] == {"2026/27": 610000.65}
    result = run["result"]
    assert result["status"] == "optimal"
    funded = {s["id"] for s in result["schemes"] if s["outcome"] == "funded"} - set(committed)
    assert funded == {str(agreed["R3"]), str(agreed["R4"])}
    # Fits the headroom the forecasts leave, year by year, and nothing better fits.
    for row in result["by_year"]:
        assert row["spend"] <= row["limit"] + 1e-6
    values = {s["id"]: s for s in snapshot["schemes"]}
    chosen = sum(sum(0.25 * values[i]["scores"][c] / 5 for c in values[i]["scores"]) *
                 sum(values[i]["cost_profile"].values()) for i in funded)  # fmt: skip
    assert chosen == pytest.approx(_brute_force(snapshot), rel=1e-9)
    reasons = {s["id"]: s["reason"] for s in result["schemes"]}
    assert "headroom left by forecasts" in reasons[str(agreed["R2"])]
    # The board pack says what the slippage funds, not "N schemes funded" as for a round.
    pdf = client.get(f"{API}/runs/{run['id']}/report.pdf", headers=finance).content
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert (
        "Re-allocation of slippage: the headroom the approved schemes' forecasts leave funds 2 scheme(s) from the reserve list for £550,000: R3 (RA1, £300,000); R4 (RA2, £250,000). 2 approved schemes are held at their forecasts."
        in text
    )
    # The snapshot reproduces offline.
    path = tmp_path / "reallocation.json"
    path.write_text(json.dumps(snapshot))
    offline = subprocess.run([sys.executable, "-m", "capital_cli.main", "optimise", str(path)],
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert offline.returncode == 0, offline.stderr
    again = json.loads(offline.stdout)
    assert again["objective"] == result["objective"]
    assert [(s["id"], s["outcome"]) for s in again["schemes"]] == [
        (s["id"], s["outcome"]) for s in result["schemes"]]  # fmt: skip

    agree = client.post(
        f"{API}/rounds/{round_id}/agree", json={"run_id": run["id"]}, headers=finance
    )
    assert agree.status_code == 200, agree.text
    assert agree.json()["status"] == "agreed" and agree.json()["agreed_run_id"] != run["id"]
    assert client.get(f"{API}/runs/{run['id']}", headers=finance).json()["agreed_at"]
    again_agree = client.post(
        f"{API}/rounds/{round_id}/agree", json={"run_id": run["id"]}, headers=finance
    )
    assert again_agree.status_code == 409
    r3 = _get(client, world, agreed["R3"])
    plan = [_money(m["plan"]) for m in r3["years"][0]["months"]]
    assert (
        plan[:3] == [D(0)] * 3 and plan[3:11] == [D("33333.33")] * 8 and plan[11] == D("33333.36")
    )
    report = client.get(
        f"{API}/systems/SYA/delivery", params={"year": "2026/27"}, headers=finance
    ).json()
    assert report["total"]["schemes"] == 4
    assert _money(report["total"]["annual_plan"]) == D("2350000.10")
    assert _money(report["total"]["forecast_outturn"]) == D("1880000.65")
    assert _money(report["headroom"]) == D("19999.35")
    events = client.get(f"{API}/audit", params={"entity": "round", "entity_id": round_id},
                        headers=world.auth("admin")).json()  # fmt: skip
    items = events["items"] if isinstance(events, dict) else events
    assert any(e["action"] == "agree_reallocation" for e in items)


def test_a_stale_reallocation_is_not_agreed(client, world, agreed):
    finance = world.auth("finance_a")
    _slip(client, world, agreed)
    run = client.post(
        f"{API}/rounds/{agreed['round']}/reallocations", json={}, headers=finance
    ).json()
    assert _patch(client, world, agreed["s1"], {"forecast": {"2026-07": 0}}).status_code == 200
    stale = client.post(
        f"{API}/rounds/{agreed['round']}/agree", json={"run_id": run["id"]}, headers=finance
    )
    assert stale.status_code == 409 and "forecast of scheme" in stale.json()["detail"]


def test_reallocation_needs_an_agreed_round(client, world):
    finance = world.auth("finance_a")
    round_ = client.post(f"{API}/rounds", headers=finance, json={
        "system": "SYA", "name": "Draft", "years": ["2026/27"], "envelope": {"2026/27": 1}}).json()  # fmt: skip
    response = client.post(f"{API}/rounds/{round_['id']}/reallocations", json={}, headers=finance)
    assert response.status_code == 409


def test_the_agreed_plan_is_what_the_round_solved_not_spend_before_it(client, world):
    """A scheme profiled from 2026/27 enters a round of 2027/28 to 2029/30 with its spend in
    those years only; deferred a year to fit, its agreed plan and its commitment in the next
    round are that spend a year later, never its 2026/27 spend moved into the round's years
    (which would break the envelope the optimiser kept)."""
    profile = {"2026/27": 900000, "2027/28": 500000, "2028/29": 500000}
    scheme_id = _scheme(client, world, "trust_a1", "RA1", "Started before the round", profile,
                        (5, 5, 5, 5), max_deferral_years=1)  # fmt: skip
    finance = world.auth("finance_a")
    years = ["2027/28", "2028/29", "2029/30"]
    envelope = {"2027/28": 100000, "2028/29": 600000, "2029/30": 600000}
    round_ = client.post(f"{API}/rounds", headers=finance, json={
        "system": "SYA", "name": "Later", "years": years, "envelope": envelope}).json()  # fmt: skip
    run = client.post(f"{API}/rounds/{round_['id']}/runs", json={}, headers=finance).json()
    (outcome,) = [s for s in run["result"]["schemes"] if s["id"] == str(scheme_id)]
    assert (outcome["outcome"], outcome["deferral_years"]) == ("funded", 1), outcome["reason"]
    agreed = client.post(f"{API}/rounds/{round_['id']}/agree", json={"run_id": run["id"]}, headers=finance)  # fmt: skip
    assert agreed.status_code == 200, agreed.text

    delivery = _get(client, world, scheme_id)
    plan = {y["year"]: _money(y["annual_plan"]) for y in delivery["years"]}
    plan.update({y: _money(v) for y, v in delivery["later_years"].items()})
    assert {y: v for y, v in plan.items() if v} == {"2028/29": D("500000.00"), "2029/30": D("500000.00")}  # fmt: skip
    for year, limit in envelope.items():
        assert plan.get(year, D(0)) <= limit, year

    later_years = ["2028/29", "2029/30"]
    later = client.post(f"{API}/rounds", headers=finance, json={
        "system": "SYA", "name": "Next", "years": later_years,
        "envelope": dict.fromkeys(later_years, 600000)}).json()  # fmt: skip
    rerun = client.post(f"{API}/rounds/{later['id']}/runs", json={}, headers=finance).json()
    assert rerun["result"]["status"] == "optimal", rerun["result"]["conflicts"]
    snapshot = client.get(f"{API}/runs/{rerun['id']}/snapshot.json", headers=finance).json()
    (committed,) = [s for s in snapshot["schemes"] if s["id"] == str(scheme_id)]
    assert committed["agreed_start"] == "2028/29"
    assert committed["cost_profile"] == {"2028/29": 500000, "2029/30": 500000}
