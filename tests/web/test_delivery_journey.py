"""In-year delivery in a real browser, on the demo (six months of 2026/27 closed, schemes
slipping): the trust sends a month's return (one mistake, then fixed), the finance director
reads the slippage, closes the month, asks what the slippage can fund and agrees it, and the
viewer reads everything and changes nothing. Every page passes the checks of conftest (axe
at WCAG 2.2 AA, no console error, no 5xx, a screenshot).

The tests share one server (this module's) and run in order.
"""

import re
from decimal import Decimal

import httpx
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]
STATE: dict = {}


def pence(value) -> str:
    amount = Decimal(str(value)).quantize(Decimal("0.01"))
    return ("−£" if amount < 0 else "£") + f"{abs(amount):,.2f}"


def api_report(web_server, year: str = "2026/27") -> dict:
    response = httpx.get(f"{web_server.url}/api/v1/systems/QWV/delivery", params={"year": year},
                         headers={"Authorization": f"Bearer {web_server.tokens['ics_finance']}"})  # fmt: skip
    assert response.status_code == 200, response.text
    return response.json()


def approved_count(web_server) -> int:
    response = httpx.get(f"{web_server.url}/api/v1/schemes", params={"status": "approved", "limit": 1},
                         headers={"Authorization": f"Bearer {web_server.tokens['ics_finance']}"})  # fmt: skip
    return response.json()["total"]


def test_trust_sends_a_monthly_return(visitor, web_server):
    page = visitor.page
    visitor.sign_in(web_server.tokens["trust"])
    page.click("nav[aria-label=Menu] a:has-text('Delivery')")
    page.wait_for_url(visitor.url("/delivery"))
    main = page.locator("main").inner_text()
    assert "Your organisation in 2026/27" in main
    assert (
        "Reporting period: 2026-09 (M06 2026/27) closed; next to close 2026-10 (M07 2026/27)"
        in main
    )
    visitor.check("delivery trust dashboard")

    page.click("#table-schemes a:has-text('Roof replacement, Vale General')")
    page.wait_for_url(re.compile(r"/schemes/\d+/delivery$"))
    STATE["scheme_path"] = page.url.removeprefix(visitor.base)
    assert "Monthly return: Roof replacement, Vale General" in page.locator("h1").inner_text()
    visitor.check("delivery trust return")

    page.fill("#actual-2026-10", "131,0OO")  # a letter O for a zero
    page.fill("#forecast-2026-11", "90,000")
    page.check("label[for='rag-amber']")
    page.fill(
        "#commentary", "Roofing contractor short of labour in November; catching up by March."
    )
    page.click("button:has-text('Save the return')")
    summary = page.locator(".nhsuk-error-summary").inner_text()
    assert "Enter the actual for 2026-10 (M07 2026/27) in pounds" in summary
    assert page.input_value("#forecast-2026-11") == "90,000"  # what they typed is kept
    visitor.check("delivery trust return error", expected_status=422)
    page.click(".nhsuk-error-summary a")  # the summary's link takes them to the field
    assert page.evaluate("document.activeElement.id") == "actual-2026-10"

    page.fill("#actual-2026-10", "131,000.45")
    page.click("button:has-text('Save the return')")
    page.wait_for_url(re.compile(r"/schemes/\d+/delivery\?saved=1$"))
    main = page.locator("main").inner_text()
    assert re.search(r"Return saved \(version \d+\)", main), main
    assert "£131,000.45" in main and "Amber" in main
    visitor.check("delivery trust return saved")


def test_finance_director_closes_the_month_and_reallocates_the_slippage(visitor, web_server):
    page = visitor.page
    visitor.sign_in(web_server.tokens["ics_finance"])
    page.click("nav[aria-label=Menu] a:has-text('Delivery')")
    page.wait_for_url(visitor.url("/delivery"))
    report = api_report(web_server)
    assert page.locator("#total-slippage").inner_text() == pence(report["total"]["slippage"])
    total = page.locator("#row-total").inner_text()
    for key in ("annual_plan", "ytd_actual", "forecast_outturn", "slippage"):
        assert pence(report["total"][key]) in total, key
    assert f"headroom {pence(report['headroom'])}" in page.locator("#headroom").inner_text()
    assert page.locator("svg.app-chart").count() == 1
    assert "R0B" in page.locator("#table-organisations").inner_text()
    visitor.check("delivery finance dashboard")

    page.click("a:has-text('Close 2026-10')")
    assert "Close 2026-10 (M07 2026/27)?" in page.locator("h1").inner_text()
    assert "Trusts can no longer change its actuals" in page.locator("main").inner_text()
    assert (
        "14 of 15 schemes have no actual for 2026-10 yet" in page.locator("#missing").inner_text()
    )
    visitor.check("delivery close confirmation")
    page.click("button:has-text('Close 2026-10')")
    page.wait_for_url(visitor.url("/delivery?system=QWV&closed=2026-10"))
    main = page.locator("main").inner_text()
    assert "2026-10 (M07 2026/27) is closed" in main
    assert "Reporting period: 2026-10 (M07 2026/27) closed; next to close 2026-11" in main
    assert page.locator("#total-slippage").inner_text() == pence(
        api_report(web_server)["total"]["slippage"]
    )
    visitor.check("delivery period closed")

    page.click("button:has-text('Run a re-allocation')")
    page.wait_for_url(re.compile(r"/runs/\d+$"))
    STATE["run_path"] = page.url.removeprefix(visitor.base)
    main = page.locator("main").inner_text()
    assert "What the slippage can fund (after M07 2026/27)" in main
    schemes = page.locator("#table-schemes").inner_text()
    assert "headroom left by forecasts" in schemes  # a reason a candidate was not funded
    funded = page.locator("#table-schemes tbody tr:has(.nhsuk-tag:text-is('Funded'))").count()
    assert funded > 0
    visitor.check("delivery reallocation run")

    STATE["approved_before"] = approved_count(web_server)
    page.click("a:has-text('Agree this run')")
    main = page.locator("main").inner_text()
    approving = page.locator("#table-approve tbody tr").count() - 1  # less the total row
    assert 0 < approving < funded  # only the proposal: the committed schemes are approved already
    assert re.search(
        rf"The {approving} schemes? this re-allocation funds from the reserve list", main
    )
    assert "the round stays agreed" in main
    visitor.check("delivery reallocation agree")
    page.click("button:has-text('Agree and approve these schemes')")
    page.wait_for_url(re.compile(r"/delivery\?system=QWV&reallocated=\d+$"))
    main = page.locator("main").inner_text()
    assert re.search(r"Re-allocation \d+ agreed", main)
    after = api_report(web_server)
    assert approved_count(web_server) == STATE["approved_before"] + approving
    assert page.locator("#total-slippage").inner_text() == pence(after["total"]["slippage"])
    visitor.check("delivery reallocation agreed")


def test_viewer_reads_delivery_and_changes_nothing(visitor, web_server):
    page = visitor.page
    visitor.sign_in(web_server.tokens["viewer"])
    for name, path in (("delivery viewer dashboard", "/delivery"),
                       ("delivery viewer return", STATE["scheme_path"]),
                       ("delivery viewer reallocation", STATE["run_path"])):  # fmt: skip
        visitor.goto(path)
        assert page.locator("main form[method=post]").count() == 0, path
        visitor.check(name)
    visitor.goto(STATE["scheme_path"])
    assert "£131,000.45" in page.locator("main").inner_text()
    visitor.goto("/delivery/close", status=403)
    visitor.check("delivery viewer close refused", expected_status=403)
    token = visitor.csrf()  # the viewer's own valid CSRF token: only the role stops these
    for path, form in ((STATE["scheme_path"], {"version": "99", "next_period": "2026-11", "commentary": "forged"}),
                       ("/delivery/close", {"system": "QWV", "period": "2026-11"}),
                       ("/delivery/reallocate", {"round_id": "2"})):  # fmt: skip
        forged = page.request.post(visitor.url(path), form={"csrf_token": token, **form})
        assert forged.status == 403, path
    period = httpx.get(f"{web_server.url}/api/v1/systems/QWV/period",
                       headers={"Authorization": f"Bearer {web_server.tokens['viewer']}"}).json()  # fmt: skip
    assert period["reporting_period"] == "2026-10"
