"""Tables a person must read whole, on a phone: nothing runs past the screen's edge.

At 375px these tables were wider than the screen inside their scrolling container, with
nothing to show that they scroll: the agree page hid every scheme's cost and the total being
approved, the upload page cut its problems mid-word, the administration page cut the users'
dates. They now stack each row (nhsuk-frontend's responsive table) below desktop width.
"""

import httpx
import pytest

pytestmark = [pytest.mark.browser]

# Every table container on the page: its visible width and its content's width, and the right
# edge of the furthest cell, in CSS pixels.
MEASURE = """() => [...document.querySelectorAll('main .nhsuk-table-container')].map(c => ({
  caption: (c.querySelector('caption') || {}).textContent || '',
  client: c.clientWidth, scroll: c.scrollWidth,
  right: Math.max(...[...c.querySelectorAll('td, th')].map(e => e.getBoundingClientRect().right)),
}))"""


def _fits(visitor, name: str, expected_status: int | None = None) -> list[dict]:
    visitor.page.set_viewport_size({"width": 375, "height": 800})
    tables = visitor.page.evaluate(MEASURE)
    assert tables, name
    for table in tables:
        assert table["scroll"] <= table["client"] and table["right"] <= 375 - 16, (name, table)
    visitor.check(f"{name} on a phone", expected_status=expected_status)
    visitor.page.set_viewport_size({"width": 1280, "height": 900})
    return tables


def test_the_agree_page_shows_what_is_approved_on_a_phone(visitor, web_server):
    finance = {"Authorization": f"Bearer {web_server.tokens['ics_finance']}"}
    with httpx.Client(base_url=web_server.url, timeout=120) as client:
        rounds = client.get("/api/v1/rounds", headers=finance).json()["items"]
        draft = next(r for r in rounds if r["status"] == "draft")
        run = client.post(f"/api/v1/rounds/{draft['id']}/runs", json={}, headers=finance)
        assert run.status_code in (200, 201), run.text
    visitor.sign_in(web_server.tokens["ics_finance"])
    visitor.goto(f"/rounds/{draft['id']}/agree?run={run.json()['id']}")
    total = visitor.page.locator("#table-approve tr:last-child td").inner_text()
    assert total.startswith("£")
    visitor.check("agree")
    _fits(visitor, "agree")
    # On a phone each row reads as a list, its headings beside the values.
    visitor.page.set_viewport_size({"width": 375, "height": 800})
    last = visitor.page.locator("#table-approve tr:last-child td").inner_text()
    assert last.split() == ["Cost", total]
    visitor.page.set_viewport_size({"width": 1280, "height": 900})


def test_the_upload_problems_fit_a_phone(visitor, web_server, tmp_path):
    bad = tmp_path / "schemes.csv"
    bad.write_text(
        "organisation,title,description,category,business_case_stage,backlog_risk,mandatory,"
        "mandatory_reason,depends_on,alternative_group,max_deferral_years,2026/27\n"
        "R0A,Boiler,,kitchens,,,yes,,,,seven,100\n"
    )
    visitor.sign_in(web_server.tokens["trust"])
    visitor.goto("/schemes/upload")
    visitor.page.set_input_files("#file", str(bad))
    visitor.page.click("button:has-text('Check the file')")
    assert "max_deferral_years" in visitor.page.locator("#problems").inner_text()
    _fits(visitor, "upload problems", expected_status=422)


def test_the_administration_tables_fit_a_phone(visitor, web_server):
    visitor.sign_in(web_server.tokens["admin"])
    visitor.goto("/admin")
    tables = _fits(visitor, "admin")
    assert {"Organisations", "Users"} <= {t["caption"] for t in tables}
