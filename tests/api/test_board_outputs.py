"""Board outputs of a run, read as a board member's software reads them: report.xlsx opened
with openpyxl, report.pdf with pypdf, report.csv as Excel would (UTF-8 with a BOM)."""

import csv
import io
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from reportlab.pdfbase.pdfmetrics import stringWidth

from api.jobs.models import Job
from api.reports import figures
from api.reports.workbook import POUNDS, displayed
from api.rounds.models import Run
from optimiser.frontier import frontier as compute_frontier

pytestmark = pytest.mark.slow

POUND = Decimal("0.01")


def _runs(client, headers) -> tuple[int, dict, dict]:
    round_id = client.get("/api/v1/rounds", params={"system": "QWV"}, headers=headers).json()[
        "items"
    ][0]["id"]
    base = client.post(f"/api/v1/rounds/{round_id}/runs", json={"label": "base"}, headers=headers)
    assert base.status_code == 201, base.text
    what_if = {"label": "tighter first year", "envelope": {"2026/27": 31000000}}
    other = client.post(f"/api/v1/rounds/{round_id}/runs", json=what_if, headers=headers)
    assert other.status_code == 201, other.text
    return round_id, base.json(), other.json()


@pytest.fixture
def runs(client, demo_world):
    return _runs(client, demo_world.auth("ics_finance"))


def _money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(POUND)


def _check_widths(sheet) -> None:
    """Every cell that does not wrap fits its column (what showed as ### before)."""
    merged = {(r, c) for rng in sheet.merged_cells.ranges for r, c in rng.cells}
    for row in sheet.iter_rows():
        for cell in row:
            if cell.value is None or (cell.row, cell.column) in merged or cell.alignment.wrap_text:
                continue
            width = sheet.column_dimensions[cell.column_letter].width
            text = displayed(cell.value, cell.number_format)
            assert width >= len(text) + 1, (sheet.title, cell.coordinate, text, width)


def _text_runs(page) -> list[tuple[float, float, float, str]]:
    """Each run of text drawn on a PDF page: (baseline y, left x, right x, text), in points,
    its width measured in the font it was drawn in."""
    runs, starts = [], []

    def visit(text, cm, tm, font, size) -> None:
        if not text.strip() or font is None:
            return
        # Text space to page space: the text matrix, then the current transformation matrix.
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        scale = tm[0] * cm[0] + tm[1] * cm[2]
        font_name = str(font.get("/BaseFont", "/Helvetica")).lstrip("/")
        width = stringWidth(text.rstrip("\n"), font_name, size) * scale
        if runs and starts[-1] == (x, y):
            # pypdf does not advance the text matrix over text shown: a run in a new font
            # that carries on the same line (bold, then plain) starts where the last ended.
            x = runs[-1][2]
        else:
            starts.append((x, y))
        runs.append((round(y, 1), x, x + width, text.strip()))

    page.extract_text(visitor_text=visit)
    return runs


def _check_no_text_overlaps(pdf: PdfReader) -> None:
    """No two runs of text on one line of a page overlap (a cell running into the next)."""
    for number, page in enumerate(pdf.pages, start=1):
        runs = sorted(_text_runs(page))
        for (y, _, right, text), (y2, left, _, text2) in zip(runs, runs[1:], strict=False):
            assert y != y2 or right <= left + 0.5, (number, text, text2)


def test_the_workbook_is_fit_for_a_board(client, demo_world, runs):
    finance = demo_world.auth("ics_finance")
    _round_id, base, other = runs
    result = base["result"]
    response = client.get(f"/api/v1/runs/{other['id']}/report.xlsx", headers=finance)
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Summary", "Schemes", "Organisations", "Categories"]

    summary = book["Summary"]
    text = " ".join(str(c.value) for row in summary.iter_rows() for c in row if c.value)
    assert "run " in text and "tighter first year" in text
    assert "envelope for 2026/27 set to £31,000,000.00" in text  # the what-if, in words
    assert "Optimal" in text or "Feasible" in text
    # Exact (£…) or, when its re-solve stopped first, a proven range ("between £… and £…").
    assert re.search(r"Fair shares cost (£|between £|at least £)", text) and "greedy" in text
    header = next(r[0].row for r in summary.iter_rows() if r[0].value == "Year")
    years = list(summary.iter_rows(min_row=header + 1, max_row=header + 3))
    assert [r[0].value for r in years] == ["2026/27", "2027/28", "2028/29"]
    for row in years:
        assert all(cell.number_format == POUNDS for cell in row[1:6]), row
    first = other["result"]["by_year"][0]
    assert _money(years[0][4].value) == _money(first["spend"])
    if Decimal(str(first["spend"])) > Decimal(str(first["envelope"])) - Decimal(
        str(first["reserve"])
    ):
        assert "overcommitment" in years[0][7].value  # spending above the CDEL is flagged

    for sheet in book.worksheets:
        assert sheet.page_setup.orientation == "landscape"
        assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet.oddFooter.left.text == "OFFICIAL-SENSITIVE"
        assert f"run {other['id']}" in sheet.oddFooter.center.text
        _check_widths(sheet)
    for name in ("Schemes", "Organisations", "Categories"):
        assert book[name].print_title_rows == "$1:$1"

    # Charts: spend against limit by year (bars from zero, limit and envelope as lines),
    # fair shares (allocated and target bars, floor and ceiling marks), spend by category.
    (spend,) = summary._charts
    assert [s.val.numRef.f for s in spend.series] == [f"'Summary'!$E${header + 1}:$E${header + 3}"]
    assert spend.y_axis.scaling.min == 0
    lines = [c for c in spend._charts if type(c).__name__ == "LineChart"][0]
    assert [s.val.numRef.f.split("!")[1][:3] for s in lines.series] == ["$D$", "$B$"]
    (shares,) = book["Organisations"]._charts
    assert [s.val.numRef.f.split("!")[1][:3] for s in shares.series] == ["$G$", "$D$"]
    band = [c for c in shares._charts if type(c).__name__ == "LineChart"][0]
    assert [s.val.numRef.f.split("!")[1][:3] for s in band.series] == ["$E$", "$F$"]
    (categories,) = book["Categories"]._charts
    assert categories.series[0].val.numRef.f.startswith("'Categories'!$D$")

    # Schemes: sorted by outcome, money as £, and each year's spend as funded.
    schemes = book["Schemes"]
    names = [c.value for c in schemes[1]]
    assert names[:4] == ["Outcome", "Rank", "Scheme", "Title"]
    rows = list(schemes.iter_rows(min_row=2))
    assert rows[-1][0].value == "Funded total"
    body = rows[:-1]
    # Categories in words, as the pages show them, not the API's codes.
    category = names.index("Category")
    assert {r[category].value for r in body} <= set(figures.CATEGORY_WORDS.values())
    outcomes = [r[0].value for r in body]
    assert outcomes == sorted(outcomes, key=["Funded", "Reserve", "Not funded"].index)
    assert schemes.auto_filter.ref.startswith("A1:")
    for year_index, year in enumerate(other["result"]["by_year"]):
        column = names.index(f"Spend {year['year']}")
        funded = [r[column].value for r in body if r[0].value == "Funded"]
        assert all(r[column].number_format == POUNDS for r in body if r[0].value == "Funded")
        assert sum((_money(v) for v in funded), Decimal(0)) == _money(year["spend"]), year_index
        assert _money(rows[-1][column].value) == _money(year["spend"])

    organisations = book["Organisations"]
    org_names = [c.value for c in organisations[1]]
    assert org_names[:3] == ["Code", "Organisation", "Fair share"]
    first_org = list(organisations.iter_rows(min_row=2, max_row=2))[0]
    assert first_org[2].number_format == "0.0%"
    assert all(c.number_format == POUNDS for c in first_org[3:9])
    assert len(result["by_organisation"]) == organisations.max_row - 2


def test_spend_as_funded_adds_up_to_the_run_in_a_round_with_deferrals(client, demo_world, runs):
    """Issue 8: the per-year columns show each funded scheme's spend at the start it was
    funded, so they add up to the run's spend each year, to the penny."""
    finance = demo_world.auth("ics_finance")
    for run in runs[1:]:
        deferred = [
            s for s in run["result"]["schemes"] if s["outcome"] == "funded" and s["deferral_years"]
        ]
        assert deferred, "the demo round funds some schemes later than they asked"
        response = client.get(f"/api/v1/runs/{run['id']}/report.csv", headers=finance)
        assert response.content.startswith(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark for Excel
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert len(rows) == len(run["result"]["schemes"])
        for year in run["result"]["by_year"]:
            column = f"spend {year['year']}"
            assert all("£" not in r[column] and "," not in r[column] for r in rows)
            total = sum(Decimal(r[column]) for r in rows if r["outcome"] == "funded")
            assert total == _money(year["spend"]), year["year"]
            assert all(Decimal(r[column]) == 0 for r in rows if r["outcome"] != "funded")
        moved = {s["id"]: s for s in deferred}
        for row in rows:
            if row["scheme_id"] in moved:
                assert row["start_year"] == moved[row["scheme_id"]]["start_year"]
                first_spend = next(
                    y for y in ("2026/27", "2027/28", "2028/29") if Decimal(row[f"spend {y}"])
                )
                assert first_spend == row["start_year"]


def test_the_frontier_sheet_when_the_round_has_one(client, demo_world, session, runs):
    """The round's latest finished frontier job becomes the workbook's Frontier sheet."""
    finance = demo_world.auth("ics_finance")
    round_id, base, _other = runs
    without = load_workbook(io.BytesIO(
        client.get(f"/api/v1/runs/{base['id']}/report.xlsx", headers=finance).content))  # fmt: skip
    assert "Frontier" not in without.sheetnames
    # A frontier job as a worker leaves it (the jobs themselves are tested against live workers).
    snapshot = client.get(f"/api/v1/runs/{base['id']}/snapshot.json", headers=finance).json()
    points = [p.model_dump(mode="json") for p in compute_frontier(snapshot, [0.8, 1.0, 1.2])]
    job = client.post(f"/api/v1/rounds/{round_id}/frontier", json={"multipliers": [0.8, 1.0, 1.2]},
                      headers=finance)  # fmt: skip
    assert job.status_code == 202, job.text
    stored = session.get(Job, job.json()["id"])
    stored.status, stored.result = "succeeded", {"round_id": round_id, "points": points}
    session.flush()
    content = client.get(f"/api/v1/runs/{base['id']}/report.xlsx", headers=finance).content
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames[-1] == "Frontier"
    sheet = book["Frontier"]
    assert [c.value for c in sheet["A"][1:4]] == [0.8, 1.0, 1.2]
    assert sheet["B2"].number_format == POUNDS
    (chart,) = sheet._charts
    assert chart.series[0].yVal.numRef.f == "'Frontier'!$D$2:$D$4"
    assert chart.series[0].xVal.numRef.f == "'Frontier'!$B$2:$B$4"
    _check_widths(sheet)


def test_the_board_pack_of_a_run_without_a_portfolio_says_why_and_calls_no_scheme_ineligible(
    client, demo_world, runs
):
    finance = demo_world.auth("ics_finance")
    round_id, _base, _other = runs
    body = {"label": "zero band", "fair_share_mode": "band", "tolerance_pct": 0}
    run = client.post(f"/api/v1/rounds/{round_id}/runs", json=body, headers=finance).json()
    assert run["result"]["status"] == "infeasible"
    response = client.get(f"/api/v1/runs/{run['id']}/report.pdf", headers=finance)
    assert response.status_code == 200
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    text = " ".join(text.split())  # the PDF's own line breaks
    assert "cannot be met: no combination of its eligible schemes" in text
    assert text.count("Infeasible: the rules cannot all be met") == 1  # once, not twice
    assert "The price of fair shares is not worked out: this run has no portfolio" in text
    assert "has no solution" not in text  # the round without fair shares does have one
    schemes = len(run["result"]["schemes"])
    assert f"None of the round's {schemes} schemes is funded by this run" in text
    assert "were not eligible" not in text


def test_a_price_known_only_as_a_range_is_given_as_the_range(client, demo_world, session, runs):
    """A re-solve stopped before closing its gap proves an interval; the run page shows it,
    and the board pack and workbook said "cost £0" (its low end) as if exact."""
    finance = demo_world.auth("ics_finance")
    _round_id, base, _other = runs
    stored = session.get(Run, base["id"])
    price = dict(stored.result["price_of_rules"])
    price |= {"fair_shares": 0, "exact": False, "intervals": {"fair_shares": {"low": 0, "high": 1497452.4}}}  # fmt: skip
    stored.result = {**stored.result, "price_of_rules": price}
    session.flush()
    expected = "Fair shares cost between £0 and £1,497,452 of value (a proven range"
    pdf = client.get(f"/api/v1/runs/{base['id']}/report.pdf", headers=finance).content
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert expected in text and "Fair shares cost nothing" not in text
    book = load_workbook(io.BytesIO(
        client.get(f"/api/v1/runs/{base['id']}/report.xlsx", headers=finance).content))  # fmt: skip
    cells = [str(c.value) for sheet in book for row in sheet.iter_rows() for c in row if c.value]
    assert any(c.startswith(expected) for c in cells), [c for c in cells if "Fair shares" in c]


def test_the_board_pack_pdf(client, demo_world, runs):
    finance = demo_world.auth("ics_finance")
    _round_id, base, other = runs
    response = client.get(f"/api/v1/runs/{base['id']}/report.pdf", headers=finance)
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    pack = PdfReader(io.BytesIO(response.content))
    pages = [page.extract_text() for page in pack.pages]
    assert 3 <= len(pages) <= 8
    assert all("OFFICIAL-SENSITIVE" in page for page in pages)
    first = pages[0]
    assert "Spend against the envelope by year" in first and "Optimised against greedy" in first
    for year in base["result"]["by_year"]:
        assert figures.pounds(_money(year["spend"])) in first
    assert figures.pounds(base["result"]["objective"]) in first
    assert "The figures in charts" in pages[1] and "Fair shares" in pages[1]
    # Category names under their bars in full (they were cut to "Estates backl…").
    assert "Estates backlog" in pages[1] and "Estates capacity" in pages[1] and "…" not in pages[1]
    line = "\n".join(pages[2:])
    assert "The funding line" in line and "the funding line" in line
    funded = sum(1 for s in base["result"]["schemes"] if s["outcome"] == "funded")
    assert f"Funded total ({funded})" in line
    assert "<b>" not in " ".join(pages)  # markup is markup, not text (it showed as <b>...</b>)

    compared = client.get(
        f"/api/v1/runs/{base['id']}/report.pdf", params={"with": other["id"]}, headers=finance
    )
    assert compared.status_code == 200
    both = PdfReader(io.BytesIO(compared.content))
    more = [page.extract_text() for page in both.pages]
    assert len(more) > len(pages)
    text = "\n".join(more)
    assert f"Run {base['id']} compared with run {other['id']}" in text
    assert "Funded only in run" in text
    # Nothing runs into its neighbour: an organisation's full name ran into the start year.
    _check_no_text_overlaps(pack)
    _check_no_text_overlaps(both)


def test_reports_are_read_only_for_the_system_and_refuse_bad_requests(client, demo_world, runs):
    _round_id, base, _other = runs
    for who in ("viewer", "trust", "assessor"):
        for kind in ("xlsx", "pdf", "csv"):
            assert (
                client.get(
                    f"/api/v1/runs/{base['id']}/report.{kind}", headers=demo_world.auth(who)
                ).status_code
                == 200
            )
    assert client.get(f"/api/v1/runs/{base['id']}/report.pdf").status_code == 401
    missing = client.get("/api/v1/runs/999999/report.pdf", headers=demo_world.auth("viewer"))
    assert (
        missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    )
    for bad in ("0", "abc", str(2**31)):
        response = client.get(f"/api/v1/runs/{base['id']}/report.pdf", params={"with": bad},
                              headers=demo_world.auth("viewer"))  # fmt: skip
        assert response.status_code == 422 and response.json()["errors"][0]["loc"] == "query.with"


def test_text_like_a_formula_is_text_in_the_workbook_and_quoted_in_the_csv(client, demo_world):
    """A scheme's title, an organisation's name and the system's name that start = or @ show
    as typed: never a formula in report.xlsx, and quoted with an apostrophe in report.csv."""
    admin, trust, finance = (demo_world.auth(r) for r in ("admin", "trust", "ics_finance"))
    title = '=HYPERLINK("http://x","y")'
    for path, name in (("systems/QWV", "=1+1"), ("organisations/R0A", "@SUM(1)")):
        renamed = client.patch(f"/api/v1/{path}", json={"name": name}, headers=admin)
        assert renamed.status_code == 200, renamed.text
    round_id = client.get("/api/v1/rounds", params={"system": "QWV"}, headers=finance).json()[
        "items"
    ][0]["id"]
    run = client.post(f"/api/v1/rounds/{round_id}/runs", json={"label": "-1"}, headers=finance)
    assert run.status_code == 201, run.text
    mine = client.get("/api/v1/schemes", params={"system": "QWV", "organisation": "R0A",
                      "status": "submitted", "limit": 200}, headers=trust).json()["items"]  # fmt: skip
    in_run = {s["id"] for s in run.json()["result"]["schemes"]}
    scheme = next(s for s in mine if str(s["id"]) in in_run)
    changed = client.patch(f"/api/v1/schemes/{scheme['id']}", json={"title": title},
                           headers={**trust, "If-Match": str(scheme["version"])})  # fmt: skip
    assert changed.status_code == 200, changed.text

    response = client.get(f"/api/v1/runs/{run.json()['id']}/report.xlsx", headers=finance)
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    formulas = [(s.title, c.coordinate) for s in book for row in s.iter_rows() for c in row
                if c.data_type == "f"]  # fmt: skip
    assert formulas == []
    summary = book["Summary"]["A1"]
    assert summary.data_type == "s" and summary.value.startswith("=1+1 (QWV): ")
    sheet = book["Schemes"]
    header = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[2].value == scheme["id"])
    cells = dict(zip(header, row, strict=True))
    assert (cells["Title"].data_type, cells["Title"].value) == ("s", title)
    assert (cells["Organisation"].data_type, cells["Organisation"].value) == ("s", "@SUM(1)")
    assert cells["Total cost"].data_type == "n"  # money stays a number

    response = client.get(f"/api/v1/runs/{run.json()['id']}/report.csv", headers=finance)
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    row = next(r for r in rows if r["scheme_id"] == str(scheme["id"]))
    assert (row["title"], row["organisation_name"]) == ("'" + title, "'@SUM(1)")
    assert Decimal(row["total_cost"]) > 0 and not row["total_cost"].startswith("'")
