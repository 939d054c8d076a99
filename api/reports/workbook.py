"""report.xlsx: a run as a board can table it (openpyxl).

Summary (a page of a board paper, with the spend-against-limit chart), Schemes (the funding
line), Organisations (fair shares, with their chart), Categories (with theirs), Frontier
(when the caller has one). Every sheet prints landscape, fit to width, with its header row
repeated and a footer carrying the run, the date and the OFFICIAL-SENSITIVE marking.
"""

import io
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference, ScatterChart, Series
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from api.cells import as_text
from api.reports.figures import CATEGORY_WORDS, MARKING, OUTCOME_WORDS, Figures, pounds

POUNDS = '"£"#,##0.00;-"£"#,##0.00'
VALUE = '"£"#,##0;-"£"#,##0'  # score-weighted pounds of value: whole pounds
PERCENT = "0.0%"
SCORE = "0.00"
BLUE = "005EB8"  # NHS blue
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor=BLUE)
TOTAL_FONT = Font(bold=True)
TOTAL_BORDER = Border(top=Side(style="thin"), bottom=Side(style="double"))
FLAG_FILL = PatternFill("solid", fgColor="FFEB99")
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
SUMMARY_WIDTH = 8  # columns A..H carry the Summary's sentences


def displayed(value: Any, number_format: str) -> str:
    """The text a spreadsheet shows for a value under one of this module's formats."""
    if value is None:
        return ""
    if isinstance(value, (Decimal, int, float)) and not isinstance(value, bool):
        if number_format == POUNDS:
            return pounds(value, pence=True)
        if number_format == VALUE:
            return pounds(value)
        if number_format == PERCENT:
            return f"{float(value):.1%}"
        if number_format == SCORE:
            return f"{float(value):.2f}"
    return str(value)


def _header(sheet: Worksheet, row: int, columns: list[str]) -> None:
    for index, name in enumerate(columns, start=1):
        cell = as_text(sheet.cell(row=row, column=index, value=name))
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")


def _row(sheet: Worksheet, row: int, values: list[Any], formats: list[str | None]) -> None:
    for index, (value, number_format) in enumerate(zip(values, formats, strict=True), start=1):
        # Titles, names and reasons are text even when they start = (never a formula).
        cell = as_text(sheet.cell(row=row, column=index, value=value))
        cell.alignment = TOP
        if number_format:
            cell.number_format = number_format


def _total(sheet: Worksheet, row: int, values: list[Any], formats: list[str | None]) -> None:
    _row(sheet, row, values, formats)
    for cell in sheet[row][: len(values)]:
        cell.font, cell.border = TOTAL_FONT, TOTAL_BORDER


def fit_columns(
    sheet: Worksheet, *, first_row: int = 1, wrap: dict[str, int] | None = None, minimum: int = 8
) -> None:
    """Each column as wide as its longest displayed value (header words included); the columns
    in `wrap` get that fixed width and wrapped text instead."""
    wrap = wrap or {}
    widths: dict[str, int] = {}
    merged = {c for r in sheet.merged_cells.ranges for row in r.cells for c in [row]}
    for row in sheet.iter_rows(min_row=first_row):
        for cell in row:
            if cell.value is None or (cell.row, cell.column) in merged:
                continue
            text = displayed(cell.value, cell.number_format)
            longest = (
                max(len(word) for word in text.split())
                if cell.fill == HEADER_FILL and text.split()
                else len(text)
            )
            widths[cell.column_letter] = max(widths.get(cell.column_letter, 0), longest)
    lines: dict[int, int] = {}
    for letter, width in widths.items():
        if letter in wrap:
            sheet.column_dimensions[letter].width = wrap[letter]
            for (cell,) in sheet.iter_rows(
                min_row=first_row, min_col=cell_index(letter), max_col=cell_index(letter)
            ):
                header = cell.fill == HEADER_FILL
                cell.alignment = Alignment(
                    wrap_text=True, vertical="center" if header else "top", horizontal="left"
                )
                if cell.value is not None and not header:
                    needed = -(-len(str(cell.value)) // max(int(wrap[letter] * 1.1) - 2, 1))
                    lines[cell.row] = max(lines.get(cell.row, 1), needed)
        else:
            sheet.column_dimensions[letter].width = max(width + 3, minimum)
    for row, count in lines.items():
        if count > 1:  # LibreOffice and Excel do not grow rows written without a height
            sheet.row_dimensions[row].height = 15 * count
    sheet.row_dimensions[first_row].height = 32  # the header row: two lines of header words


def cell_index(letter: str) -> int:
    from openpyxl.utils import column_index_from_string

    return column_index_from_string(letter)


def _print_setup(sheet: Worksheet, figures: Figures, *, title_rows: str | None) -> None:
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    if title_rows:
        sheet.print_title_rows = title_rows
    sheet.oddHeader.right.text = MARKING
    sheet.oddHeader.right.font = "Arial,Bold"
    sheet.oddFooter.left.text = MARKING
    sheet.oddFooter.left.font = "Arial,Bold"
    sheet.oddFooter.center.text = f"{figures.system_code} {figures.title}"
    sheet.oddFooter.right.text = f"{figures.generated_at:%d %B %Y}   page &P of &N"


def _sentence(sheet: Worksheet, row: int, text: str, *, bold: bool = False, size: int = 11) -> int:
    """A sentence across the Summary's width, its row tall enough for the wrapped text."""
    sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=SUMMARY_WIDTH)
    cell = as_text(sheet.cell(row=row, column=1, value=text))
    cell.font = Font(bold=bold, size=size)
    cell.alignment = Alignment(wrap_text=True, vertical="top")
    characters = 150 * 11 / size  # what fits across A..H at this size
    lines = max(1, -(-len(text) // int(characters)))
    sheet.row_dimensions[row].height = lines * size * 1.45
    return row + 1


def _axes(chart, *, y_title: str, x_title: str | None = None) -> None:
    chart.y_axis.title = y_title
    chart.y_axis.scaling.min = 0
    chart.y_axis.majorGridlines = chart.y_axis.majorGridlines  # keep gridlines
    chart.y_axis.delete = False
    chart.x_axis.delete = False
    if x_title:
        chart.x_axis.title = x_title
    chart.legend.position = "b"


def _summary(book: Workbook, f: Figures) -> None:
    sheet = book.active
    sheet.title = "Summary"
    row = _sentence(sheet, 1, f"{f.system_name} ({f.system_code}): {f.title}", bold=True, size=14)
    row = _sentence(sheet, row, f"{MARKING}. Run by {f.created_by} on {f.created_at:%d %B %Y at %H:%M} UTC; "
                               f"solver {f.solver}; snapshot sha256 {f.snapshot_sha256[:16]}…")  # fmt: skip
    row = _sentence(sheet, row, f.status_words, bold=True)
    row = _sentence(sheet, row, f.headline())
    changes = (
        "What-if changes for this run: " + "; ".join(f.overrides) + "."
        if f.overrides
        else "No what-if changes: the round exactly as set."
    )
    row = _sentence(sheet, row, changes)
    row = _sentence(sheet, row, f.value_model)
    row += 1

    columns = ["Year", "CDEL envelope", "Reserve", "Limit (with overcommitment)", "Funded spend",
               "Headroom", "Schemes funded", "Overcommitment"]  # fmt: skip
    _header(sheet, row, columns)
    header_row = row
    formats = [None, POUNDS, POUNDS, POUNDS, POUNDS, POUNDS, None, None]
    for year in f.year_rows:
        row += 1
        _row(sheet, row, [year.year, year.envelope, year.reserve, year.limit, year.spend,
                          year.headroom, year.funded, year.note or "within the envelope"], formats)  # fmt: skip
        if year.note:
            for cell in sheet[row]:
                cell.fill = FLAG_FILL
    last_year_row = row
    if f.year_rows:
        row += 1
        _total(sheet, row, ["Total"] + [sum((getattr(y, k) for y in f.year_rows), Decimal("0.00"))
                                        for k in ("envelope", "reserve", "limit", "spend", "headroom")]
               + [len(f.funded), ""], formats)  # fmt: skip
    row += 2
    row = _sentence(sheet, row, "Optimised against greedy", bold=True)
    row = _sentence(sheet, row, f.versus_greedy())
    row = _sentence(sheet, row, "The price of the rules", bold=True)
    for cost in f.rule_costs:
        row = _sentence(sheet, row, cost.words())
    if f.conflicts:
        row = _sentence(sheet, row, "Conflicts: why the rules cannot all be met", bold=True)
        for conflict in f.conflicts:
            row = _sentence(sheet, row, f"• {conflict}")
    if f.excluded:
        row = _sentence(sheet, row, f"{len(f.excluded)} scheme(s) of the system were left out of the round: "
                        + "; ".join(f"{e.get('id')}: {e.get('reason')}" for e in f.excluded[:10]))  # fmt: skip
    fit_columns(sheet, first_row=header_row, wrap={"H": 34})
    sheet.column_dimensions["A"].width = max(sheet.column_dimensions["A"].width, 10)

    if f.year_rows:
        spend = BarChart()
        spend.title = "Funded spend against the limit, by year"
        spend.add_data(
            Reference(sheet, min_col=5, min_row=header_row, max_row=last_year_row),
            titles_from_data=True,
        )
        spend.set_categories(
            Reference(sheet, min_col=1, min_row=header_row + 1, max_row=last_year_row)
        )
        spend.series[0].graphicalProperties.solidFill = BLUE
        limit = LineChart()
        for column in (4, 2):  # limit, then the CDEL envelope
            limit.add_data(Reference(sheet, min_col=column, min_row=header_row, max_row=last_year_row),
                           titles_from_data=True)  # fmt: skip
        limit.series[0].graphicalProperties.line.solidFill = "DA291C"
        limit.series[0].graphicalProperties.line.width = 28575
        limit.series[1].graphicalProperties.line.solidFill = "425563"
        limit.series[1].graphicalProperties.line.dashStyle = "dash"
        _axes(spend, y_title="£", x_title="Financial year")
        spend.y_axis.number_format = '"£"#,##0,,"m"'
        spend += limit
        spend.height, spend.width = 9, 22
        sheet.add_chart(spend, f"A{row + 1}")
    _print_setup(sheet, f, title_rows=None)
    sheet.page_setup.fitToHeight = 1  # the Summary is one page of a board paper


def _schemes(book: Workbook, f: Figures) -> None:
    sheet = book.create_sheet("Schemes")
    columns = (["Outcome", "Rank", "Scheme", "Title", "Org", "Organisation", "Category", "Start year",
                "Deferred (years)", "Score", "Total cost"]
               + [f"Spend {y}" for y in f.years] + ["Reason"])  # fmt: skip
    _header(sheet, 1, columns)
    formats = [None, None, None, None, None, None, None, None, None, SCORE, POUNDS]
    formats += [POUNDS] * len(f.years) + [None]
    row = 1
    for s in f.schemes:
        row += 1
        _row(sheet, row, [OUTCOME_WORDS[s.outcome], s.rank, int(s.id) if s.id.isdigit() else s.id, s.title,
                          s.organisation, s.organisation_name, CATEGORY_WORDS.get(s.category, s.category), s.start_year or None,
                          s.deferral_years, s.score, s.total_cost] + [s.spend[y] if s.outcome == "funded" and s.spend[y] else None for y in f.years] + [s.reason],
             formats)  # fmt: skip
    last = row
    row += 1
    funded = f.funded
    _total(sheet, row, ["Funded total", len(funded)] + [None] * 8
           + [sum((s.total_cost for s in funded), Decimal("0.00"))]
           + [sum((s.spend[y] for s in funded), Decimal("0.00")) for y in f.years] + [None], formats)  # fmt: skip
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{last}"
    sheet.freeze_panes = "E2"
    reason = get_column_letter(len(columns))
    fit_columns(sheet, wrap={"D": 36, "F": 26, reason: 70})
    _print_setup(sheet, f, title_rows="1:1")


def _organisations(book: Workbook, f: Figures) -> None:
    sheet = book.create_sheet("Organisations")
    columns = ["Code", "Organisation", "Fair share", "Target", "Floor", "Ceiling", "Allocated",
               "Allocated less target", "Demand (eligible schemes)", "Position"]  # fmt: skip
    _header(sheet, 1, columns)
    formats = [None, None, PERCENT, POUNDS, POUNDS, POUNDS, POUNDS, POUNDS, POUNDS, None]
    row = 1
    for o in f.organisations:
        row += 1
        gap = o.allocated - o.target if o.target is not None else None
        _row(sheet, row, [o.code, o.name, o.share, o.target, o.floor, o.ceiling, o.allocated, gap,
                          o.demand, o.position], formats)  # fmt: skip
    last = row
    row += 1

    def total(key):
        values = [getattr(o, key) for o in f.organisations if getattr(o, key) is not None]
        return sum(values, Decimal("0.00")) if values else None

    _total(sheet, row, ["Total", "", sum(o.share or 0 for o in f.organisations) or None, total("target"),
                        None, None, total("allocated"), None, total("demand"), ""], formats)  # fmt: skip
    fit_columns(sheet, wrap={"B": 34})
    sheet.freeze_panes = "C2"
    if f.organisations:
        chart = BarChart()
        chart.title = (
            f"Fair shares ({f.fair_share_mode} mode): allocated against target, with the band"
        )
        for column in (7, 4):  # allocated, target
            chart.add_data(
                Reference(sheet, min_col=column, min_row=1, max_row=last), titles_from_data=True
            )
        chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=last))
        chart.series[0].graphicalProperties.solidFill = BLUE
        chart.series[1].graphicalProperties.solidFill = "AEB7BD"
        band = LineChart()
        for column, colour in ((5, "DA291C"), (6, "330072")):  # floor, ceiling: markers only
            band.add_data(
                Reference(sheet, min_col=column, min_row=1, max_row=last), titles_from_data=True
            )
            series = band.series[-1]
            series.marker.symbol = "dash"
            series.marker.size = 12
            series.marker.graphicalProperties.solidFill = colour
            series.marker.graphicalProperties.line.solidFill = colour
            series.graphicalProperties.line.noFill = True
        _axes(chart, y_title="£ over the horizon", x_title="Organisation")
        chart.y_axis.number_format = '"£"#,##0,,"m"'
        chart += band
        chart.height, chart.width = 10, 24
        sheet.add_chart(chart, f"A{row + 2}")
    _print_setup(sheet, f, title_rows="1:1")


def _categories(book: Workbook, f: Figures) -> None:
    sheet = book.create_sheet("Categories")
    columns = ["Category", "Minimum", "Maximum", "Allocated", "Schemes funded", "Share of spend"]
    _header(sheet, 1, columns)
    formats = [None, POUNDS, POUNDS, POUNDS, None, PERCENT]
    total = sum((c.allocated for c in f.categories), Decimal("0.00"))
    row = 1
    for c in f.categories:
        row += 1
        share = float(c.allocated / total) if total else None
        _row(sheet, row, [c.name, c.minimum, c.maximum, c.allocated, c.funded, share], formats)
    last = row
    row += 1
    _total(sheet, row, ["Total", None, None, total, sum(c.funded for c in f.categories), 1.0 if total else None],
           formats)  # fmt: skip
    fit_columns(sheet)
    if f.categories:
        chart = BarChart()
        chart.type = "bar"
        chart.title = "Funded spend by category over the horizon"
        chart.add_data(Reference(sheet, min_col=4, min_row=1, max_row=last), titles_from_data=True)
        chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=last))
        chart.series[0].graphicalProperties.solidFill = BLUE
        _axes(chart, y_title="£")
        chart.y_axis.number_format = '"£"#,##0,,"m"'
        chart.legend = None
        chart.height, chart.width = 8, 18
        sheet.add_chart(chart, f"A{row + 2}")
    _print_setup(sheet, f, title_rows="1:1")


def _frontier(book: Workbook, f: Figures) -> None:
    sheet = book.create_sheet("Frontier")
    columns = ["Envelope multiplier", "Envelope over the horizon", "Status", "Value", "Funded spend",
               "Schemes funded", "Value added per extra £1m"]  # fmt: skip
    _header(sheet, 1, columns)
    formats = [PERCENT, POUNDS, None, VALUE, POUNDS, None, VALUE]
    row, previous = 1, None
    for point in sorted(f.frontier or [], key=lambda p: p["multiplier"]):
        row += 1
        envelope = Decimal(str(point["envelope"]))
        value = point.get("objective")
        marginal = None
        if (
            previous is not None
            and value is not None
            and previous[1] is not None
            and envelope != previous[0]
        ):
            marginal = (
                (Decimal(str(value)) - Decimal(str(previous[1])))
                / (envelope - previous[0])
                * 1_000_000
            )
        _row(sheet, row, [point["multiplier"], envelope, point["status"], value, Decimal(str(point["spend"])),
                          point["funded"], marginal], formats)  # fmt: skip
        previous = (envelope, value)
    last = row
    fit_columns(sheet)
    if last > 1:
        chart = ScatterChart()
        chart.title = "Efficient frontier: value achieved for each envelope"
        chart.style = 13
        series = Series(Reference(sheet, min_col=4, min_row=1, max_row=last),
                        Reference(sheet, min_col=2, min_row=2, max_row=last), title_from_data=True)  # fmt: skip
        series.marker.symbol = "circle"
        series.graphicalProperties.line.solidFill = BLUE
        chart.series.append(series)
        _axes(chart, y_title="Value (score-weighted £)", x_title="Envelope over the horizon (£)")
        chart.x_axis.number_format = '"£"#,##0,,"m"'
        chart.y_axis.number_format = '"£"#,##0,,"m"'
        chart.legend = None
        chart.height, chart.width = 9, 20
        sheet.add_chart(chart, f"A{last + 3}")
    _print_setup(sheet, f, title_rows="1:1")


def to_xlsx(figures: Figures) -> bytes:
    book = Workbook()
    _summary(book, figures)
    _schemes(book, figures)
    _organisations(book, figures)
    _categories(book, figures)
    if figures.frontier:
        _frontier(book, figures)
    book.properties.title = figures.title
    book.properties.keywords = MARKING
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
