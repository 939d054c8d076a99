"""In-year delivery pages without a browser (DESIGN.md sections 7-9): the figures a page shows
are the API's to the penny, each role sees and may change what the services allow, and a
stale or wrong monthly return is explained, never a 500. Runs on every backend."""

import re
from decimal import Decimal
from html import unescape

from tests.api.test_delivery import _slip, agreed  # noqa: F401 (agreed is a fixture)
from tests.web.test_pages import sign_in

API = "/api/v1"


def pence(value) -> str:
    amount = Decimal(str(value)).quantize(Decimal("0.01"))
    return ("−£" if amount < 0 else "£") + f"{abs(amount):,.2f}"


def main_of(response) -> str:
    return response.text.split("<main", 1)[1].split("</main>", 1)[0]


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def form_values(response) -> dict[str, str]:
    """What the browser would send from the page's return form, as it stands."""
    form = main_of(response).split('<form action="/schemes/', 1)[1].split("</form>", 1)[0]
    values = {}
    for tag in re.findall(r"<input [^>]*>", form):
        attrs = dict(re.findall(r'(\w[\w-]*)="([^"]*)"', tag))
        if attrs.get("type") == "radio" and " checked" not in tag:
            continue
        values[attrs["name"]] = unescape(attrs.get("value", ""))
    commentary = re.search(r'<textarea[^>]*name="commentary"[^>]*>(.*?)</textarea>', form, re.S)
    values["commentary"] = unescape(commentary.group(1))
    return values


def test_the_dashboard_shows_the_apis_figures_to_the_penny(client, world, agreed):  # noqa: F811
    _slip(client, world, agreed)
    api = client.get(f"{API}/systems/SYA/delivery", params={"year": "2026/27"},
                     headers=world.auth("finance_a")).json()  # fmt: skip
    sign_in(client, world.tokens["finance_a"])
    page = client.get("/delivery")
    assert page.status_code == 200
    main = main_of(page)
    text = text_of(main)
    assert (
        "Reporting period: 2026-06 (M03 2026/27) closed; next to close 2026-07 (M04 2026/27)"
        in text
    )
    slippage = re.search(r'id="total-slippage">([^<]+)<', main).group(1)
    assert slippage == pence(api["total"]["slippage"]) == "£480,000.00"
    assert f"headroom {pence(api['headroom'])}" in text and "£569,999.35" in text
    total_row = text_of(re.search(r'<tr[^>]*id="row-total".*?</tr>', main, re.S).group(0))
    for key in ("annual_plan", "ytd_plan", "ytd_actual", "ytd_variance", "forecast_outturn",
                "forecast_variance", "slippage"):  # fmt: skip
        assert pence(api["total"][key]) in total_row, key
    for row in api["organisations"]:
        assert pence(row["forecast_outturn"]) in text
    assert '<svg class="app-chart"' in main and "Annual plan against forecast outturn" in main
    assert 'href="/delivery/close?system=SYA"' in main and 'action="/delivery/reallocate"' in main
    assert f'href="/schemes/{agreed["s1"]}/delivery"' in main
    # Another year of the round, chosen from the page's own list.
    later = client.get("/delivery", params={"system": "SYA", "year": "2027/28"})
    assert "In-year delivery 2027/28" in later.text and "£300,000.00" in later.text
    assert client.get("/delivery", params={"year": "2026/99"}).status_code == 200  # ignored


def test_each_role_sees_its_own_scope(client, world, agreed):  # noqa: F811
    _slip(client, world, agreed)
    sign_in(client, world.tokens["trust_a1"])
    own = text_of(main_of(client.get("/delivery")))
    assert "Your organisation in 2026/27" in own and "RA1" in own and "RA2" not in own
    assert "headroom" not in own and "Close 2026-07" not in own
    assert client.get(f"/schemes/{agreed['s2']}/delivery").status_code == 404  # RA2's scheme
    assert client.get("/schemes/99999999999/delivery").status_code == 404  # beyond any id
    assert client.get("/delivery/close").status_code == 403
    csrf = sign_in(client, world.tokens["viewer_a"])
    viewer = client.get("/delivery")
    assert "£480,000.00" in viewer.text and 'method="post"' not in main_of(viewer)
    scheme = client.get(f"/schemes/{agreed['s1']}/delivery")
    assert scheme.status_code == 200 and 'method="post"' not in main_of(scheme)
    assert "£720,000.00" in scheme.text  # S1's forecast outturn: 270,000 actual + 9 x 50,000
    # A viewer's forged POSTs, with its own valid CSRF token: only the role stops them.
    for path, data in ((f"/schemes/{agreed['s1']}/delivery", {"version": "1", "commentary": "x"}),
                       ("/delivery/close", {"system": "SYA", "period": "2026-07"}),
                       ("/delivery/reallocate", {"round_id": str(agreed["round"])})):  # fmt: skip
        assert client.post(path, data={"csrf_token": csrf, **data}).status_code == 403, path
    period = client.get(f"{API}/systems/SYA/period", headers=world.auth("viewer_a")).json()
    assert period["reporting_period"] == "2026-06"
    sign_in(client, world.tokens["assessor_a_plain"])
    assert client.get("/delivery").status_code == 403
    sign_in(client, world.tokens["trust_b1"])  # a system with no agreed round
    assert "No agreed round is in delivery yet" in client.get("/delivery").text
    assert client.get("/delivery", params={"system": "SYA"}).status_code == 404


def test_a_trust_sends_a_return_with_a_mistake_then_fixes_it(client, world, agreed):  # noqa: F811
    s1 = agreed["s1"]
    sign_in(client, world.tokens["trust_a1"])
    page = client.get(f"/schemes/{s1}/delivery")
    values = form_values(page)
    assert values["version"] == "1" and values["actual-2026-04"] == ""
    assert values["forecast-2026-05"] == "100000.00" and values["later-2027-28"] == "300000.00"
    wrong = {**values, "actual-2026-04": "98,500.50", "forecast-2026-05": "12O000",
             "forecast-2026-06": "-5", "rag": "amber", "commentary": "Scaffolding late."}  # fmt: skip
    refused = client.post(f"/schemes/{s1}/delivery", data=wrong)
    assert refused.status_code == 422
    summary = text_of(refused.text.split('class="nhsuk-error-summary"', 1)[1].split("</ul>")[0])
    assert "Enter the forecast for 2026-05 (M02 2026/27) in pounds" in summary
    assert "The forecast for 2026-06 (M03 2026/27) cannot be negative" in summary
    assert 'href="#forecast-2026-05"' in refused.text and 'value="12O000"' in refused.text
    assert (
        client.get(f"{API}/schemes/{s1}/delivery", headers=world.auth("trust_a1")).json()["version"]
        == 1
    )
    fixed = {**wrong, "forecast-2026-05": "120,000", "forecast-2026-06": "95000.25"}
    saved = client.post(f"/schemes/{s1}/delivery", data=fixed, follow_redirects=False)
    assert (
        saved.status_code == 303 and saved.headers["location"] == f"/schemes/{s1}/delivery?saved=1"
    )
    api = client.get(f"{API}/schemes/{s1}/delivery", headers=world.auth("trust_a1")).json()
    months = {m["period"]: m for m in api["years"][0]["months"]}
    assert Decimal(str(months["2026-04"]["actual"])) == Decimal("98500.50")
    assert Decimal(str(months["2026-04"]["forecast"])) == Decimal("98500.50")  # the actual stands
    assert months["2026-05"]["forecast"] == 120000 and months["2026-06"]["forecast"] == 95000.25
    assert (
        api["rag"] == "amber" and api["commentary"] == "Scaffolding late." and api["version"] == 2
    )
    shown = client.get(f"/schemes/{s1}/delivery?saved=1").text
    assert "Return saved (version 2)" in shown and "£98,500.50" in shown
    audit = client.get(f"{API}/audit", params={"entity": "delivery", "entity_id": s1},
                       headers=world.auth("admin")).json()  # fmt: skip
    assert any(e["action"] == "update" for e in audit["items"])

    # The same (now stale) form again: someone else's change is not overwritten.
    stale = client.post(f"/schemes/{s1}/delivery", data={**fixed, "commentary": "Mine"})
    assert stale.status_code == 412
    assert (
        "Someone else changed this return while you were editing it (it is now version 2)"
        in text_of(stale.text)
    )
    assert (
        form_values(stale)["version"] == "2"
        and form_values(stale)["commentary"] == "Scaffolding late."
    )
    assert "commentary: Mine" in text_of(stale.text)  # what they typed, to send again
    # The month closes while a form is open: explained, and the latest shown.
    latest = form_values(client.get(f"/schemes/{s1}/delivery"))
    assert (
        client.post(f"{API}/systems/SYA/close-period", headers=world.auth("finance_a")).status_code
        == 200
    )
    closed = client.post(f"/schemes/{s1}/delivery", data={**latest, "forecast-2026-05": "1"})
    assert closed.status_code == 409 and "The reporting period moved on" in closed.text
    assert "actual-2026-04" not in form_values(closed) and "actual-2026-05" in form_values(closed)


def test_finance_closes_a_period_once(client, world, agreed):  # noqa: F811
    sign_in(client, world.tokens["finance_a"])
    confirm = client.get("/delivery/close", params={"system": "SYA"})
    text = text_of(main_of(confirm))
    assert (
        "Close 2026-04 (M01 2026/27)?" in text and "Trusts can no longer change its actuals" in text
    )
    assert "2 of 2 schemes have no actual for 2026-04 yet" in text and "£100,000.00" in text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', confirm.text).group(1)
    form = {"csrf_token": csrf, "system": "SYA", "period": "2026-04"}
    closed = client.post("/delivery/close", data=form, follow_redirects=False)
    assert (
        closed.status_code == 303
        and closed.headers["location"] == "/delivery?system=SYA&closed=2026-04"
    )
    assert (
        "2026-04 (M01 2026/27) is closed: its actuals are locked"
        in client.get(closed.headers["location"]).text
    )
    again = client.post("/delivery/close", data=form)  # a second click closes nothing more
    assert again.status_code == 409 and "2026-04 is not the next month to close" in again.text
    period = client.get(f"{API}/systems/SYA/period", headers=world.auth("finance_a")).json()
    assert period["reporting_period"] == "2026-04"
    assert (
        client.post(
            "/delivery/close", data={k: v for k, v in form.items() if k != "csrf_token"}
        ).status_code
        == 403
    )


def test_finance_reallocates_the_slippage_and_agrees_it(client, world, agreed):  # noqa: F811
    _slip(client, world, agreed)
    csrf = sign_in(client, world.tokens["finance_a"])
    started = client.post("/delivery/reallocate", data={"csrf_token": csrf, "round_id": str(agreed["round"])},
                          follow_redirects=False)  # fmt: skip
    assert started.status_code == 303
    run_id = int(re.fullmatch(r"/runs/(\d+)", started.headers["location"]).group(1))
    run = client.get(f"{API}/runs/{run_id}", headers=world.auth("finance_a")).json()
    assert (
        run["kind"] == "reallocation"
        and run["options"]["label"] == "What the slippage can fund (after M03 2026/27)"
    )
    page = client.get(f"/runs/{run_id}").text
    assert (
        "headroom left by forecasts" in page
        and f"/rounds/{agreed['round']}/agree?run={run_id}" in page
    )
    confirm = client.get(f"/rounds/{agreed['round']}/agree", params={"run": run_id}).text
    assert "the round stays agreed" in confirm
    agreed_page = client.post(f"/rounds/{agreed['round']}/agree", data={"csrf_token": csrf, "run_id": str(run_id)},
                              follow_redirects=False)  # fmt: skip
    assert agreed_page.headers["location"] == f"/delivery?system=SYA&reallocated={run_id}"
    dashboard = client.get(agreed_page.headers["location"]).text
    assert f"Re-allocation {run_id} agreed" in dashboard and "4 schemes in delivery" in dashboard
    assert "headroom £19,999.35" in text_of(dashboard)
    assert f"Re-allocation {run_id}: What the slippage can fund" in dashboard
    assert f"/rounds/{agreed['round']}/agree?run={run_id}" not in client.get(f"/runs/{run_id}").text


def test_a_return_in_exponent_notation_is_a_clear_error(client, world, agreed):  # noqa: F811
    s1 = agreed["s1"]
    sign_in(client, world.tokens["trust_a1"])
    values = form_values(client.get(f"/schemes/{s1}/delivery"))
    refused = client.post(f"/schemes/{s1}/delivery", data={
        **values, "forecast-2026-05": "1e400", "forecast-2026-06": "99999999999999"})  # fmt: skip
    assert refused.status_code == 422
    summary = text_of(refused.text.split('class="nhsuk-error-summary"', 1)[1].split("</ul>")[0])
    assert "Enter the forecast for 2026-05 (M02 2026/27) in pounds" in summary
    assert "The forecast for 2026-06 (M03 2026/27) is more than £9,999,999,999,999.99" in summary
    api = client.get(f"{API}/schemes/{s1}/delivery", headers=world.auth("trust_a1")).json()
    assert api["version"] == 1


def test_the_agree_page_lists_only_what_agreeing_approves(client, world, agreed):  # noqa: F811
    """A later round's run funds S1 again (committed, approved already): the page counted and
    totalled it as if agreeing would approve it. An infeasible run has nothing to agree."""
    finance = world.auth("finance_a")
    later = client.post(f"{API}/rounds", headers=finance, json={
        "system": "SYA", "name": "Next", "years": ["2027/28"], "envelope": {"2027/28": 1000000}}).json()  # fmt: skip
    run = client.post(f"{API}/rounds/{later['id']}/runs", json={}, headers=finance).json()
    funded = {s["id"] for s in run["result"]["schemes"] if s["outcome"] == "funded"}
    assert str(agreed["s1"]) in funded
    sign_in(client, world.tokens["finance_a"])
    page = client.get(f"/rounds/{later['id']}/agree?run={run['id']}")
    assert page.status_code == 200
    listed = re.findall(
        r'<td class="nhsuk-table__cell">(\d+)</td>', page.text.split('id="table-approve"', 1)[1]
    )
    assert str(agreed["s1"]) not in listed
    assert sorted(listed) == sorted(funded - {str(agreed["s1"])})
    tight = client.post(f"{API}/rounds/{later['id']}/runs", json={"envelope": {"2027/28": 1}},
                        headers=finance).json()  # fmt: skip
    assert tight["result"]["status"] == "infeasible"
    refused = client.get(f"/rounds/{later['id']}/agree?run={tight['id']}")
    assert refused.status_code == 409
    assert f"Run {tight['id']} is infeasible: it has no portfolio to agree." in text_of(
        refused.text
    )


def test_the_run_page_says_which_organisations_are_outside_their_band(client, world):
    """Soft fair shares (and re-allocations holding approved schemes at their forecasts) can
    leave an organisation outside its band: the page showed the figures but not the breach."""
    from tests.api.test_delivery import _scheme

    _scheme(client, world, "trust_a1", "RA1", "Small", {"2026/27": 200000}, (5, 5, 5, 5))
    _scheme(client, world, "trust_a2", "RA2", "Large", {"2026/27": 800000}, (5, 5, 5, 5))
    finance = world.auth("finance_a")
    round_ = client.post(f"{API}/rounds", headers=finance, json={
        "system": "SYA", "name": "Soft", "years": ["2026/27"], "envelope": {"2026/27": 1000000},
        "fair_share_mode": "soft", "fairness_penalty": 0.01,
        "fair_shares": {"RA1": 0.9, "RA2": 0.1}}).json()  # fmt: skip
    run = client.post(f"{API}/rounds/{round_['id']}/runs", json={}, headers=finance).json()
    rows = {r["organisation"]: r for r in run["result"]["by_organisation"]}
    assert rows["RA2"]["allocated"] > rows["RA2"]["ceiling"]  # the penalty is too small to stop it
    sign_in(client, world.tokens["finance_a"])
    page = client.get(f"/runs/{run['id']}").text
    table = text_of(page.split('id="table-organisations"', 1)[1].split("</table>", 1)[0])
    over = Decimal(str(rows["RA2"]["allocated"])) - Decimal(str(rows["RA2"]["ceiling"]))
    assert f"RA2 10.0% £100,000 £90,000 £110,000 £800,000 above ceiling by £{over:,.0f}" in table
    assert "RA1 90.0% £900,000 £200,000 £990,000 £200,000 within band" in table  # floor capped
