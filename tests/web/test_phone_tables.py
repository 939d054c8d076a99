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


# The right edge of each caption of a table in a container, in CSS pixels.
CAPTIONS = """() => [...document.querySelectorAll('main .nhsuk-table-container caption')].map(c =>
  ({text: c.textContent.trim(), right: c.getBoundingClientRect().right}))"""


def test_a_wide_table_on_a_phone_can_be_scrolled_from_the_keyboard_and_its_caption_read(
    visitor, web_server
):
    """A table wider than a phone scrolls in its container. Those with nothing focusable in
    them could not be scrolled from the keyboard (axe: scrollable-region-focusable, WCAG
    2.1.1): the round's fair shares, the run's spend, fair-share, category and price tables,
    the delivery dashboard's organisations and a scheme's months. And the caption was as wide
    as the table: "Fair shares from the funding formula" read "... the funding formu"."""
    finance = {"Authorization": f"Bearer {web_server.tokens['ics_finance']}"}
    with httpx.Client(base_url=web_server.url, timeout=120) as client:
        rounds = client.get("/api/v1/rounds", headers=finance).json()["items"]
        agreed = next(r for r in rounds if r["status"] == "agreed")
        runs = client.get(f"/api/v1/rounds/{agreed['id']}/runs", headers=finance).json()["items"]
    visitor.sign_in(web_server.tokens["ics_finance"])
    pages = [f"/rounds/{agreed['id']}", f"/runs/{runs[0]['id']}", "/delivery"]
    seen = set()
    for path in pages:
        visitor.goto(path)
        visitor.page.set_viewport_size({"width": 375, "height": 800})
        visitor.check(f"{path} on a phone")  # axe, WCAG 2.2 AA
        captions = visitor.page.evaluate(CAPTIONS)
        for caption in captions:
            assert caption["right"] <= 375 - 16 + 0.5, (path, caption)
        seen |= {c["text"] for c in captions}
        visitor.page.set_viewport_size({"width": 1280, "height": 900})
    assert "Fair shares from the funding formula" in seen, seen
