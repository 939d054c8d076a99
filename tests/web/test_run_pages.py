"""The finance director's round and run pages without a browser: the price of each rule in £
and in schemes, the frontier as a stored job, the run's downloads, and editing a round."""

import io
import re

import pytest
from openpyxl import load_workbook

from api.jobs.models import Job
from optimiser.frontier import frontier as compute_frontier
from tests.web.test_pages import sign_in
from web.formatting import pounds

pytestmark = pytest.mark.slow


def _demo_round(client, world) -> int:
    rounds = client.get(
        "/api/v1/rounds", params={"system": "QWV"}, headers=world.auth("ics_finance")
    )
    return rounds.json()["items"][0]["id"]


def _run(client, world, round_id: int, **body) -> dict:
    run = client.post(
        f"/api/v1/rounds/{round_id}/runs", json=body, headers=world.auth("ics_finance")
    )
    assert run.status_code == 201, run.text
    return run.json()


def _titles(client, world, ids: list[str]) -> list[str]:
    return [client.get(f"/api/v1/schemes/{i}", headers=world.auth("ics_finance")).json()["title"]
            for i in ids]  # fmt: skip


def test_the_price_of_each_rule_in_pounds_and_in_schemes(client, demo_world):
    round_id = _demo_round(client, demo_world)
    run = _run(client, demo_world, round_id, label="base")
    price = run["result"]["price_of_rules"]
    sign_in(client, demo_world.tokens["ics_finance"])
    page = client.get(f"/runs/{run['id']}")
    assert page.status_code == 200
    html = page.text
    table = html[
        html.index('id="table-price"') : html.index("</table>", html.index('id="table-price"'))
    ]
    for key, name in (("fair_shares", "Fair shares"), ("category_limits", "Category limits")):
        row = re.search(rf"{name}</th>(.*?)</tr>", table, re.S).group(1)
        cells = [
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        interval = (price.get("intervals") or {}).get(key)
        if interval:
            expected = (
                f"between {pounds(interval['low'])} and {pounds(interval['high'])}"
                if interval["high"] is not None
                else f"at least {pounds(interval['low'])} (no upper bound proven)"
            )
            assert cells[0] == expected, cells
        else:
            assert cells[0] == pounds(price[key]), cells
        displaced = price["displaced"].get(key)
        assert cells[1] == (str(len(displaced)) if displaced is not None else "–"), cells
        assert cells[2] == (str(len(price["brought_in"][key])) if displaced is not None else "–")
    # Each displaced scheme is named, by title, under its rule.
    shown = 0
    for key in ("fair_shares", "category_limits"):
        ids = price["displaced"].get(key, []) + price["brought_in"].get(key, [])
        if not ids:
            continue
        block = re.search(rf'<details class="nhsuk-details" id="displaced-{key.replace("_", "-")}">(.*?)</details>',
                          html, re.S).group(1)  # fmt: skip
        for title in _titles(client, demo_world, ids):
            assert title.replace("&", "&amp;") in block
            shown += 1
    if not shown:  # under heavy load a re-solve may stop before it finds another portfolio
        assert 'id="displaced-' not in html


def test_the_frontier_is_a_job_shown_on_the_run_page(client, demo_world, session):
    round_id = _demo_round(client, demo_world)
    run = _run(client, demo_world, round_id, label="base")
    csrf = sign_in(client, demo_world.tokens["ics_finance"])
    page = client.get(f"/runs/{run['id']}").text
    assert "Compute value against envelope" in page and "table-frontier" not in page
    started = client.post(f"/rounds/{round_id}/frontier",
                          data={"csrf_token": csrf, "back": f"/runs/{run['id']}"},
                          follow_redirects=False)  # fmt: skip
    assert started.status_code == 303
    assert started.headers["location"] == f"/runs/{run['id']}#frontier"
    jobs = client.get(
        "/api/v1/jobs", params={"round": round_id}, headers=demo_world.auth("ics_finance")
    )
    job_id = jobs.json()["items"][0]["id"]
    stored = session.get(Job, job_id)
    assert stored.kind == "frontier" and stored.total == 7
    # Jobs run in the server's pool or a worker, outside this test's transaction (their
    # completion is tested against live servers): here the job is as a part-way worker leaves it...
    stored.status, stored.done = "running", 3
    session.flush()
    page = client.get(f"/runs/{run['id']}").text
    assert "Computing: 3 of 7 points" in page and "Check progress" in page
    assert "Compute value against envelope" not in page
    # ...and as the last part leaves it, with the round's real frontier.
    snapshot = client.get(
        f"/api/v1/runs/{run['id']}/snapshot.json", headers=demo_world.auth("ics_finance")
    ).json()
    points = [
        p.model_dump(mode="json")
        for p in compute_frontier(snapshot, stored.payload["options"]["multipliers"])
    ]
    stored.status, stored.done, stored.result = (
        "succeeded",
        7,
        {"round_id": round_id, "points": points},
    )
    session.flush()
    for path in (f"/runs/{run['id']}", f"/rounds/{round_id}/frontier"):
        html = client.get(path).text
        table = html[html.index('id="table-frontier"') :]
        table = table[: table.index("</table>")]
        for point in points:
            assert pounds(point["envelope"]) in table and pounds(point["objective"]) in table
        assert "50%" in table and "150%" in table
        assert 'id="chart-frontier-title"' in html
    # A viewer reads it and cannot start one.
    sign_in(client, demo_world.tokens["viewer"])
    viewer = client.get(f"/runs/{run['id']}").text
    assert "table-frontier" in viewer and "Compute value against envelope" not in viewer
    refused = client.post(f"/rounds/{round_id}/frontier", data={"csrf_token": _csrf(viewer)})
    assert refused.status_code == 403


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_the_downloads_answer_for_finance_and_not_outside_scope(client, demo_world, world):
    round_id = _demo_round(client, demo_world)
    run = _run(client, demo_world, round_id, label="base")
    sign_in(client, demo_world.tokens["ics_finance"])
    page = client.get(f"/runs/{run['id']}").text
    for name, media in (("report.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                        ("report.pdf", "application/pdf"), ("report.csv", "text/csv; charset=utf-8")):  # fmt: skip
        assert f'href="/runs/{run["id"]}/{name}"' in page
        response = client.get(f"/runs/{run['id']}/{name}")
        assert response.status_code == 200, (name, response.text[:200])
        assert response.headers["content-type"] == media
        assert f'filename="run-{run["id"]}.' in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(client.get(f"/runs/{run['id']}/report.xlsx").content))
    assert "Summary" in book.sheetnames
    assert client.get(f"/runs/{run['id']}/report.pdf").content.startswith(b"%PDF")
    assert client.get(f"/runs/{run['id']}/report.doc").status_code == 404
    # A trust of another system: the run is as if missing.
    sign_in(client, world.tokens["trust_b1"])
    for name in ("report.xlsx", "report.pdf", "report.csv"):
        assert client.get(f"/runs/{run['id']}/{name}").status_code == 404
    client.cookies.clear()
    assert client.get(f"/runs/{run['id']}/report.csv", follow_redirects=False).status_code == 303


def test_a_finance_director_changes_a_draft_round(client, demo_world, world):
    round_id = _demo_round(client, demo_world)
    finance = demo_world.auth("ics_finance")
    before = client.get(f"/api/v1/rounds/{round_id}", headers=finance).json()
    csrf = sign_in(client, demo_world.tokens["ics_finance"])
    assert f'href="/rounds/{round_id}/edit"' in client.get(f"/rounds/{round_id}").text
    form = client.get(f"/rounds/{round_id}/edit")
    assert form.status_code == 200
    html = form.text
    fields = dict(
        re.findall(
            r'<input class="nhsuk-input[^"]*" id="[^"]+" name="([^"]+)" type="text"[^>]*value="([^"]*)"',
            html,
        )
    )
    assert (
        fields["envelope-2026-27"] == "36,000,000.00"
        and fields["limit-min-digital"] == "4,000,000.00"
    )
    assert fields["weight-strategic_fit"] == f"{before['weights']['strategic_fit']:g}"
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    selected = dict(
        re.findall(
            r'<select class="nhsuk-select[^"]*" id="([^"]+)".*?<option value="([^"]*)" selected',
            html,
            re.S,
        )
    )
    data = {**fields, "csrf_token": csrf, "version": version, "shares_from": "keep",
            "fair_share_mode": selected["fair_share_mode"]}  # fmt: skip
    # A bad amount and a minimum above its maximum: each named at its own field, nothing saved.
    bad = client.post(
        f"/rounds/{round_id}/edit", data={**data, "envelope-2027-28": "thirty million"}
    )
    assert bad.status_code == 422
    summary = re.search(r'<div class="nhsuk-error-summary".*?</ul>', bad.text, re.S).group(0)
    assert (
        '<a href="#envelope-2027-28">Enter the 2027/28 envelope in pounds as a number, not negative</a>'
        in summary
    )
    assert 'value="thirty million"' in bad.text  # what was typed stays in the form
    crossed = client.post(
        f"/rounds/{round_id}/edit", data={**data, "limit-max-digital": "1,000,000"}
    )
    assert crossed.status_code == 422
    assert '<a href="#limit-min-digital">The digital limit: min is above max</a>' in crossed.text
    weights = client.post(f"/rounds/{round_id}/edit", data={**data, "weight-deliverability": "0.9"})
    assert (
        weights.status_code == 422
        and 'href="#weight-' in weights.text
        and "weights of the criteria" in weights.text
    )
    assert (
        client.get(f"/api/v1/rounds/{round_id}", headers=finance).json()["version"]
        == before["version"]
    )
    # Saved: the envelope, a category maximum and the tolerance, through the rounds service.
    changed = {**data, "envelope-2027-28": "35,500,000", "limit-max-equipment": "9,000,000",
               "tolerance_pct": "30"}  # fmt: skip
    saved = client.post(f"/rounds/{round_id}/edit", data=changed, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"/rounds/{round_id}?saved=1"
    after = client.get(f"/api/v1/rounds/{round_id}", headers=finance).json()
    assert after["envelope"]["2027/28"] in ("35500000.00", 35500000.0, "35500000")
    assert float(after["category_limits"]["equipment"]["max"]) == 9_000_000
    assert float(after["category_limits"]["digital"]["min"]) == 4_000_000
    assert after["tolerance_pct"] == 30 and after["fair_shares"] == before["fair_shares"]
    assert after["version"] == before["version"] + 1
    page = client.get(f"/rounds/{round_id}?saved=1").text
    assert "Round changed" in page and "at most £9,000,000" in page and "£35,500,000" in page
    # The same form again, at the version it was read at: someone has changed it since.
    stale = client.post(f"/rounds/{round_id}/edit", data=changed)
    assert stale.status_code == 412 and "Someone changed this round" in stale.text
    # Others may not change it.
    sign_in(client, demo_world.tokens["viewer"])
    assert client.get(f"/rounds/{round_id}/edit").status_code == 403
    sign_in(client, world.tokens["finance_b"])
    assert client.get(f"/rounds/{round_id}/edit").status_code == 404


def test_a_run_without_a_portfolio_says_why_and_counts_nothing_as_ineligible(client, demo_world):
    # Every scheme of an infeasible run comes back not funded, eligible or not: the headline
    # must not call them "not eligible"; the conflicts say why.
    round_id = _demo_round(client, demo_world)
    run = _run(client, demo_world, round_id, label="zero band", fair_share_mode="band",
               tolerance_pct=0)  # fmt: skip
    assert run["result"]["status"] == "infeasible"
    sign_in(client, demo_world.tokens["ics_finance"])
    page = client.get(f"/runs/{run['id']}").text
    schemes = len(run["result"]["schemes"])
    assert f"None of the round's {schemes} schemes is funded by this run." in page
    assert "not eligible" not in page.split("Why no portfolio")[0]
    assert "Why no portfolio meets the rules" in page
    assert "fair-share band (" in page and "cannot be met: no combination" in page
