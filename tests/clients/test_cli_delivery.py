"""`capital delivery` and `capital rounds reallocate` against a live server with the demo."""

import json

import httpx
from openpyxl import load_workbook

from tests.clients.conftest import capital


def _rounds(live):
    headers = {"Authorization": f"Bearer {live.tokens['ics_finance']}"}
    return httpx.get(f"{live.url}/api/v1/rounds", params={"system": "QWV"}, headers=headers).json()[
        "items"
    ]


def test_monthly_return_template_and_import(live, tmp_path):
    env = live.env("trust")
    path = tmp_path / "return.xlsx"
    bad_period = capital("delivery", "template", str(path), "--system", "QWV", "--period", "2026-13", env=env)  # fmt: skip
    assert bad_period.returncode == 2 and "2026-13" in bad_period.stderr
    made = capital("delivery", "template", str(path), "--system", "QWV", "--period", "2026-10", env=env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    sheet = load_workbook(path).active
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["scheme_id", "organisation", "title", "annual plan", "actual 2026-10"]
    assert header[5:10] == ["forecast 2026-11", "forecast 2026-12", "forecast 2027-01",
                            "forecast 2027-02", "forecast 2027-03"]  # fmt: skip
    assert header[-2:] == ["rag", "commentary"]
    # Printed one page wide (LibreOffice printed it over five portrait pages of two columns).
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.fitToWidth == 1
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert rows and {r[1] for r in rows} == {"R0A"}  # the trust's own organisation only
    scheme_id = rows[0][0]

    # A mistake in the sheet: exit 2, row and column named, nothing imported.
    sheet.cell(row=2, column=5, value=-5)
    sheet.cell(row=2, column=header.index("rag") + 1, value="purple")
    load_wb_path = tmp_path / "bad.xlsx"
    sheet.parent.save(load_wb_path)
    bad = capital("delivery", "import", str(load_wb_path), "--system", "QWV", "--period", "2026-10", env=env)  # fmt: skip
    assert bad.returncode == 2
    assert (
        "row 2" in bad.stderr
        and "actual 2026-10" in bad.stderr
        and "cannot be negative" in bad.stderr
    )
    assert "rag" in bad.stderr and "nothing was imported" in bad.stderr
    assert "Traceback" not in bad.stderr

    # The server's rule (actuals only up to the next month to close), placed on its cell.
    sheet.cell(row=2, column=5, value=10)
    sheet.cell(row=2, column=header.index("rag") + 1, value="amber")
    sheet.cell(row=1, column=5, value="actual 2026-11")
    late_path = tmp_path / "late.xlsx"
    sheet.parent.save(late_path)
    late = capital("delivery", "import", str(late_path), "--system", "QWV", "--period", "2026-11", env=env)  # fmt: skip
    assert late.returncode == 2, late.stdout
    assert "row 2, column E (actual 2026-11)" in late.stderr and "up to 2026-10" in late.stderr
    sheet.cell(row=1, column=5, value="actual 2026-10")
    wrong_column = capital("delivery", "import", str(path), "--system", "QWV", "--period", "2026-11", env=env)  # fmt: skip
    assert wrong_column.returncode == 2 and "use the column 'actual 2026-11'" in wrong_column.stderr

    # A forecast column named twice: refused, not the later one silently winning.
    sheet.cell(row=1, column=7, value="forecast 2026-11")
    twice = tmp_path / "twice.xlsx"
    sheet.parent.save(twice)
    refused = capital("delivery", "import", str(twice), "--system", "QWV", "--period", "2026-10", env=env)  # fmt: skip
    assert refused.returncode == 2, refused.stdout
    assert "row 1, column G (forecast 2026-11)" in refused.stderr
    assert "is column F too" in refused.stderr and "Traceback" not in refused.stderr
    sheet.cell(row=1, column=7, value="forecast 2026-12")
    sheet.cell(row=2, column=header.index("commentary") + 1, value="x" * 4001)
    long = tmp_path / "long.xlsx"
    sheet.parent.save(long)
    refused = capital("delivery", "import", str(long), "--system", "QWV", "--period", "2026-10", env=env)  # fmt: skip
    assert refused.returncode == 2, refused.stdout
    assert "(commentary): is 4,001 characters; at most 4,000" in refused.stderr

    sheet.cell(row=2, column=5, value=123456.78)
    sheet.cell(row=2, column=header.index("rag") + 1, value="amber")
    sheet.cell(row=2, column=header.index("commentary") + 1, value="Scaffolding delayed")
    good = tmp_path / "good.xlsx"
    sheet.parent.save(good)
    done = capital("delivery", "import", str(good), "--system", "QWV", "--period", "2026-10", env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    headers = {"Authorization": f"Bearer {live.tokens['trust']}"}
    delivery = httpx.get(f"{live.url}/api/v1/schemes/{scheme_id}/delivery", headers=headers).json()
    october = next(m for m in delivery["years"][0]["months"] if m["period"] == "2026-10")
    assert october["actual"] == 123456.78
    assert delivery["rag"] == "amber" and delivery["commentary"] == "Scaffolding delayed"

    # Commentary that a spreadsheet would run as a formula is text in the next template.
    formula = '=HYPERLINK("http://x","y")'
    sheet.cell(row=2, column=header.index("commentary") + 1, value=formula).data_type = "s"
    sheet.parent.save(good)
    done = capital("delivery", "import", str(good), "--system", "QWV", "--period", "2026-10", env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    again = tmp_path / "again.xlsx"
    made = capital("delivery", "template", str(again), "--system", "QWV", "--period", "2026-10", env=env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    sheet = load_workbook(again).active
    assert not [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == scheme_id)
    commentary = row[header.index("commentary")]
    assert (commentary.data_type, commentary.value) == ("s", formula)


def test_delivery_report_and_reallocation(live):
    env = live.env("ics_finance")
    report = capital("delivery", "report", "--system", "QWV", "--year", "2026/27", env=env)
    assert report.returncode == 0, report.stderr
    assert "Year to date" in report.stdout and "Full year" in report.stdout
    assert "Total" in report.stdout and "headroom" in report.stdout and "2026-09" in report.stdout
    as_json = capital(
        "delivery", "report", "--system", "QWV", "--year", "2026/27", "--json", env=env
    )
    body = json.loads(as_json.stdout)
    assert body["reporting_period"] == "2026-09" and body["headroom"] > 0
    bad = capital("delivery", "report", "--system", "QWV", "--year", "2026/28", env=env)
    assert bad.returncode == 2 and "2026/28" in bad.stderr
    agreed = next(r for r in _rounds(live) if r["status"] == "agreed")
    ran = capital("rounds", "reallocate", str(agreed["id"]), "--label", "slippage", env=env)
    assert ran.returncode == 0, ran.stderr
    assert "optimal" in ran.stdout and "headroom left by forecasts" in ran.stdout
    draft = next(r for r in _rounds(live) if r["status"] == "draft")
    refused = capital("rounds", "reallocate", str(draft["id"]), env=env)
    assert refused.returncode == 1 and "only an agreed round" in refused.stderr


def test_reallocation_reasons_reproduce_offline(live, tmp_path):
    """Every candidate's reason speaks of the headroom the forecasts leave, online and when
    the stored snapshot is solved again with `capital optimise`: the same words exactly."""
    headers = {"Authorization": f"Bearer {live.tokens['ics_finance']}"}
    agreed = next(r for r in _rounds(live) if r["status"] == "agreed")
    made = httpx.post(f"{live.url}/api/v1/rounds/{agreed['id']}/reallocations", headers=headers,
                      json={"label": "offline check"}, timeout=300)  # fmt: skip
    assert made.status_code == 201, made.text
    online = made.json()["result"]
    snapshot = httpx.get(f"{live.url}/api/v1/runs/{made.json()['id']}/snapshot.json", headers=headers)  # fmt: skip
    assert snapshot.json()["kind"] == "reallocation"
    path = tmp_path / "reallocation.json"
    path.write_text(snapshot.text, encoding="utf-8")
    offline = capital("optimise", str(path), env=live.env("ics_finance"))
    assert offline.returncode == 0, offline.stderr
    offline = json.loads(offline.stdout)
    reasons = {s["id"]: s["reason"] for s in online["schemes"]}
    assert {s["id"]: s["reason"] for s in offline["schemes"]} == reasons
    assert [(s["id"], s["outcome"], s["start_year"]) for s in offline["schemes"]] == [
        (s["id"], s["outcome"], s["start_year"]) for s in online["schemes"]
    ]
    assert not any("envelope" in reason for reason in reasons.values())
    # The demo's slippage funds some reserve schemes and leaves others out for want of headroom.
    assert any("headroom left by forecasts by £" in reason for reason in reasons.values())
