"""report.pdf: a board pack of a few landscape A4 pages, drawn with reportlab.

Page 1 the summary (status, spend against the envelope by year, optimised against greedy, the
price of the rules); page 2 the charts; then the funding line (funded schemes, then the
reserve list with reasons); and, given a second run, what changes between them. The figures
come from the same `Figures` as the workbook, so the two never disagree.
"""

import io
from decimal import Decimal

from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import (
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from api.reports.figures import MARKING, Figures, SchemeRow, pounds

BLUE = colors.HexColor("#005EB8")
RED = colors.HexColor("#DA291C")
GREY = colors.HexColor("#425563")
PALE = colors.HexColor("#AEB7BD")
PURPLE = colors.HexColor("#330072")
FLAG = colors.HexColor("#FFEB99")
PAGE = landscape(A4)

_styles = getSampleStyleSheet()
BODY = ParagraphStyle("body", parent=_styles["BodyText"], fontSize=9.5, leading=12.5)
SMALL = ParagraphStyle("small", parent=BODY, fontSize=8, leading=10)
SMALL_RIGHT = ParagraphStyle("small_right", parent=SMALL, alignment=TA_RIGHT)
H1 = ParagraphStyle(
    "h1", parent=_styles["Heading1"], fontSize=16, leading=20, spaceAfter=4, textColor=BLUE
)
H2 = ParagraphStyle(
    "h2", parent=_styles["Heading2"], fontSize=12, leading=15, spaceBefore=8, spaceAfter=3
)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _p(text: str, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(_escape(text), style)


def _table(rows: list[list], widths: list[float], *, money_from: int, money_to: int = -1,
           total: bool = False, flagged: list[int] | None = None) -> Table:  # fmt: skip
    table = Table(rows, colWidths=widths, repeatRows=1)
    style = [
        ("BACKGROUND", (0, 0), (-1, 0), BLUE),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
        ("FONTSIZE", (0, 0), (-1, -1), 8.5),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ALIGN", (money_from, 0), (money_to, -1), "RIGHT"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, PALE),
    ]
    if total:
        style += [
            ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
            ("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black),
        ]
    for row in flagged or []:
        style.append(("BACKGROUND", (0, row), (-1, row), FLAG))
    table.setStyle(TableStyle(style))
    return table


def bar_chart(
    title: str,
    categories: list[str],
    bars: list[tuple[str, list[Decimal | None], colors.Color]],
    marks: list[tuple[str, list[Decimal | None], colors.Color, bool]],
    *,
    width: float,
    height: float,
) -> Drawing:
    """Bars from zero for each category, and horizontal marks (a limit, a floor) across them."""
    drawing = Drawing(width, height)
    left, bottom, top = 62, 42, height - 22
    right = width - 10
    drawing.add(String(left, height - 12, title, fontName="Helvetica-Bold", fontSize=10))
    values = [v for _n, series, *_ in bars + marks for v in series if v is not None]
    peak = max([float(v) for v in values] + [1.0])
    step = _nice_step(peak / 5)
    ceiling = step * (int(peak / step) + 1)
    plot_h = top - bottom

    def y_of(value: float) -> float:
        return bottom + plot_h * value / ceiling

    tick = 0.0
    while tick <= ceiling + 1e-6:
        drawing.add(Line(left, y_of(tick), right, y_of(tick), strokeColor=PALE, strokeWidth=0.4))
        drawing.add(String(left - 4, y_of(tick) - 3, _short(tick), fontSize=7, textAnchor="end"))
        tick += step
    slot = (right - left) / max(len(categories), 1)
    bar_w = slot * 0.7 / max(len(bars), 1)
    for index, category in enumerate(categories):
        x0 = left + slot * index + slot * 0.15
        for position, (_name, series, colour) in enumerate(bars):
            value = series[index]
            if value is not None:
                drawing.add(Rect(x0 + bar_w * position, bottom, bar_w, y_of(float(value)) - bottom,
                                 fillColor=colour, strokeColor=None))  # fmt: skip
        for _name, series, colour, dashed in marks:
            value = series[index]
            if value is not None:
                drawing.add(Line(x0 - slot * 0.08, y_of(float(value)), x0 + slot * 0.78, y_of(float(value)),
                                 strokeColor=colour, strokeWidth=2,
                                 strokeDashArray=[4, 2] if dashed else None))  # fmt: skip
        for line, label in enumerate(_wrapped(category, slot * 0.95, 7.5)):
            drawing.add(String(left + slot * (index + 0.5), bottom - 11 - 9 * line, label,
                               fontSize=7.5, textAnchor="middle"))  # fmt: skip
    drawing.add(Line(left, bottom, right, bottom, strokeColor=colors.black, strokeWidth=0.8))
    x = left
    for name, _series, colour in bars:
        drawing.add(Rect(x, 6, 10, 8, fillColor=colour, strokeColor=None))
        drawing.add(String(x + 13, 7, name, fontSize=8))
        x += 20 + 4.6 * len(name)
    for name, _series, colour, dashed in marks:
        drawing.add(Line(x, 10, x + 14, 10, strokeColor=colour, strokeWidth=2,
                         strokeDashArray=[4, 2] if dashed else None))  # fmt: skip
        drawing.add(String(x + 17, 7, name, fontSize=8))
        x += 24 + 4.6 * len(name)
    return drawing


def _wrapped(text: str, width: float, size: float) -> list[str]:
    """`text` on at most two lines of `width` points ("Estates capacity" under its bar, not
    "Estates capac…"); a word too long for the second line ends in an ellipsis."""
    lines: list[str] = []
    for word in text.split():
        if lines and stringWidth(f"{lines[-1]} {word}", "Helvetica", size) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) > 2:
        lines = [lines[0], " ".join(lines[1:])]
    fitted = []
    for line in lines:
        while stringWidth(line, "Helvetica", size) > width and len(line) > 2:
            line = line[:-2] + "…"
        fitted.append(line)
    return fitted


def _nice_step(raw: float) -> float:
    magnitude = 10 ** len(str(int(max(raw, 1)))) / 10
    for multiple in (1, 2, 2.5, 5, 10):
        if raw <= multiple * magnitude:
            return multiple * magnitude
    return 10 * magnitude


def _short(value: float) -> str:
    if value >= 1_000_000:
        return (
            f"£{value / 1_000_000:,.0f}m"
            if value % 1_000_000 == 0
            else f"£{value / 1_000_000:,.1f}m"
        )
    if value >= 1_000:
        return f"£{value / 1_000:,.0f}k"
    return f"£{value:,.0f}"


def _summary(f: Figures) -> list:
    story = [
        _p(f"{f.system_name} ({f.system_code})", SMALL),
        _p(f.title, H1),
        _p(
            f"{MARKING}. Run by {f.created_by} on {f.created_at:%d %B %Y at %H:%M} UTC; solver {f.solver}; "
            f"snapshot sha256 {f.snapshot_sha256[:16]}…",
            SMALL,
        ),  # fmt: skip
        Spacer(1, 4),
        Paragraph(f"<b>{_escape(f.status_words)}</b> {_escape(f.headline())}", BODY),
        _p(
            "What-if changes for this run: " + "; ".join(f.overrides) + "."
            if f.overrides
            else "No what-if changes: the round exactly as set."
        ),  # fmt: skip
        _p(f.value_model, SMALL),
        _p("Spend against the envelope by year", H2),
    ]
    rows = [["Year", "CDEL envelope", "Reserve", "Limit*", "Funded spend", "Headroom", "Schemes",
             "Overcommitment"]]  # fmt: skip
    flagged = []
    for index, y in enumerate(f.year_rows, start=1):
        rows.append([y.year, pounds(y.envelope), pounds(y.reserve), pounds(y.limit), pounds(y.spend),
                     pounds(y.headroom), str(y.funded), _p(y.note or "within the envelope", SMALL)])  # fmt: skip
        if y.note:
            flagged.append(index)
    if f.year_rows:
        rows.append(["Total"] + [pounds(sum((getattr(y, k) for y in f.year_rows), Decimal(0)))
                                 for k in ("envelope", "reserve", "limit", "spend", "headroom")]
                    + [str(len(f.funded)), ""])  # fmt: skip
    story.append(_table(rows, [22 * mm, 30 * mm, 25 * mm, 36 * mm, 30 * mm, 26 * mm, 16 * mm, 80 * mm],
                        money_from=1, money_to=6, total=bool(f.year_rows), flagged=flagged))  # fmt: skip
    story.append(
        _p("* Limit: the envelope plus the planned overcommitment, less the reserve.", SMALL)
    )
    story += [
        _p("Optimised against greedy", H2),
        _p(f.versus_greedy()),
        _p("The price of the rules", H2),
    ]
    story += [_p(cost.words()) for cost in f.rule_costs]
    if f.conflicts:
        story.append(_p("Conflicts: why the rules cannot all be met", H2))
        story += [_p(f"• {c}") for c in f.conflicts]
    return story


def _charts(f: Figures) -> list:
    width = PAGE[0] - 30 * mm
    story = [_p("The figures in charts", H1)]
    if f.year_rows:
        story.append(bar_chart(
            "Funded spend against the limit, by year (from £0)", [y.year for y in f.year_rows],
            [("Funded spend", [y.spend for y in f.year_rows], BLUE)],
            [("Limit", [y.limit for y in f.year_rows], RED, False),
             ("CDEL envelope", [y.envelope for y in f.year_rows], GREY, True)],
            width=width / 2 - 6, height=165,
        ))  # fmt: skip
    charts = []
    if f.organisations:
        charts.append(bar_chart(
            f"Fair shares ({f.fair_share_mode}): allocated against target, with floor and ceiling",
            [o.code for o in f.organisations],
            [("Allocated", [o.allocated for o in f.organisations], BLUE),
             ("Target", [o.target for o in f.organisations], PALE)],
            [("Floor", [o.floor for o in f.organisations], RED, False),
             ("Ceiling", [o.ceiling for o in f.organisations], PURPLE, True)],
            width=width / 2 - 6, height=200,
        ))  # fmt: skip
    if f.categories:
        charts.append(bar_chart(
            "Funded spend by category over the horizon", [c.name for c in f.categories],
            [("Allocated", [c.allocated for c in f.categories], BLUE)],
            [("Minimum", [c.minimum for c in f.categories], RED, False),
             ("Maximum", [c.maximum for c in f.categories], PURPLE, True)],
            width=width / 2 - 6, height=200,
        ))  # fmt: skip
    if charts:
        story.append(Table([charts], colWidths=[width / 2] * len(charts)))
    if f.frontier:
        points = sorted(f.frontier, key=lambda p: p["multiplier"])
        story.append(bar_chart(
            "Efficient frontier: value achieved at each envelope (multiple of the round's)",
            [f"{p['multiplier']:.0%}" for p in points],
            [("Value", [Decimal(str(p["objective"])) if p.get("objective") is not None else None for p in points], BLUE)],
            [], width=width / 2, height=150,
        ))  # fmt: skip
    return story


def _scheme_rows(schemes: list[SchemeRow], *, with_start: bool) -> list[list]:
    rows = []
    for s in schemes:
        rows.append([str(s.rank or ""), s.id, _p(s.title, SMALL), s.organisation, s.start_year if with_start else "",
                     pounds(s.total_cost, pence=True), f"{s.score:.2f}", _p(s.reason, SMALL)])  # fmt: skip
    return rows


def _funding_line(f: Figures) -> list:
    header = ["Rank", "Scheme", "Title", "Org", "Start", "Total cost", "Score", "Reason"]
    widths = [12 * mm, 15 * mm, 60 * mm, 14 * mm, 17 * mm, 30 * mm, 13 * mm, 106 * mm]
    story = [_p("The funding line", H1),
             _p(f"{len(f.funded)} funded schemes (by score), then the reserve list in the order to fund "
                "them if money frees up (slippage). Spend by year, deferral applied, is in the workbook.")]  # fmt: skip
    funded = [header] + _scheme_rows(f.funded, with_start=True)
    funded.append(["", "", Paragraph(f"<b>Funded total ({len(f.funded)})</b>", SMALL), "", "",
                   pounds(sum((s.total_cost for s in f.funded), Decimal(0)), pence=True), "", ""])  # fmt: skip
    story.append(_table(funded, widths, money_from=5, money_to=6, total=True))
    story.append(Spacer(1, 6))
    story.append(KeepTogether([_p("— the funding line —", H2)]))
    reserve = f.reserve
    if reserve:
        story.append(
            _table(
                [header] + _scheme_rows(reserve, with_start=False), widths, money_from=5, money_to=6
            )
        )
    not_funded = [s for s in f.schemes if s.outcome == "not_funded"]
    if f.status in ("infeasible", "time_limit"):
        # Without a portfolio every scheme comes back not funded, eligible or not.
        story.append(_p(f"None of the round's {len(f.schemes)} schemes is funded by this run: it "
                        "has no portfolio (the summary says why).", SMALL))  # fmt: skip
    elif not_funded:
        story.append(_p(f"{len(not_funded)} scheme(s) were not eligible: "
                        + "; ".join(f"{s.id} {s.title} ({s.reason})" for s in not_funded), SMALL))  # fmt: skip
    return story


def _comparison(a: Figures, b: Figures) -> list:
    story = [_p(f"Run {a.run_id} compared with run {b.run_id}", H1),
             _p(f"A: {a.title} ({a.status}). B: {b.title} ({b.status}). Differences are B minus A.")]  # fmt: skip
    if b.status in ("infeasible", "time_limit") or a.status in ("infeasible", "time_limit"):
        story.append(_p("One of the runs has no portfolio, so there is nothing to compare scheme by scheme: "
                        f"run {a.run_id} is {a.status}, run {b.run_id} is {b.status}."))  # fmt: skip
        return story
    rows = [["", f"Run {a.run_id}", f"Run {b.run_id}", "Difference"]]
    rows.append(["Value", pounds(a.objective), pounds(b.objective),
                 pounds(Decimal(str(b.objective)) - Decimal(str(a.objective)))])  # fmt: skip
    rows.append(
        [
            "Schemes funded",
            str(len(a.funded)),
            str(len(b.funded)),
            f"{len(b.funded) - len(a.funded):+d}",
        ]
    )
    spend_a = {y.year: y.spend for y in a.year_rows}
    for y in b.year_rows:
        before = spend_a.get(y.year, Decimal(0))
        rows.append([f"Spend {y.year}", pounds(before), pounds(y.spend), pounds(y.spend - before)])
    story.append(_table(rows, [50 * mm, 40 * mm, 40 * mm, 40 * mm], money_from=1))
    funded_a = {s.id: s for s in a.funded}
    funded_b = {s.id: s for s in b.funded}
    for heading, ids, source in (
        (f"Funded only in run {b.run_id}", [i for i in funded_b if i not in funded_a], funded_b),
        (f"Funded only in run {a.run_id}", [i for i in funded_a if i not in funded_b], funded_a),
    ):
        story.append(_p(heading, H2))
        if not ids:
            story.append(_p("None."))
            continue
        rows = [["Scheme", "Title", "Organisation", "Start", "Total cost"]]
        for i in ids:
            s = source[i]
            rows.append(
                [
                    s.id,
                    _p(s.title, SMALL),
                    # Wrapped: a trust's full name ran into the start year beside it.
                    _p(s.organisation_name, SMALL),
                    s.start_year,
                    pounds(s.total_cost, pence=True),
                ]
            )
        rows.append(["", Paragraph("<b>Total</b>", SMALL), "", "",
                     pounds(sum((source[i].total_cost for i in ids), Decimal(0)), pence=True)])  # fmt: skip
        story.append(
            _table(rows, [18 * mm, 90 * mm, 70 * mm, 20 * mm, 35 * mm], money_from=4, total=True)
        )
    moved = [
        (funded_a[i], funded_b[i])
        for i in funded_a
        if i in funded_b and funded_a[i].start_year != funded_b[i].start_year
    ]
    if moved:
        story.append(_p("Funded in both, starting in a different year", H2))
        rows = [["Scheme", "Title", "Organisation", f"Start in {a.run_id}", f"Start in {b.run_id}"]]
        rows += [
            [x.id, _p(x.title, SMALL), _p(x.organisation_name, SMALL), x.start_year, y.start_year]
            for x, y in moved
        ]
        story.append(
            _table(rows, [18 * mm, 90 * mm, 70 * mm, 25 * mm, 25 * mm], money_from=3, money_to=3)
        )
    return story


def to_pdf(figures: Figures, other: Figures | None = None) -> bytes:
    buffer = io.BytesIO()

    def page(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica-Bold", 9)
        canvas.drawString(15 * mm, PAGE[1] - 9 * mm, MARKING)
        canvas.drawString(15 * mm, 8 * mm, MARKING)
        canvas.setFont("Helvetica", 8)
        canvas.drawCentredString(PAGE[0] / 2, 8 * mm, f"{figures.system_code} {figures.title}")
        canvas.drawRightString(PAGE[0] - 15 * mm, 8 * mm,
                               f"{figures.generated_at:%d %B %Y}   page {doc.page}")  # fmt: skip
        canvas.restoreState()

    document = SimpleDocTemplate(
        buffer, pagesize=PAGE, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=14 * mm,
        bottomMargin=14 * mm, title=figures.title, author=figures.created_by, subject=MARKING,
    )  # fmt: skip
    story = (
        _summary(figures)
        + [PageBreak()]
        + _charts(figures)
        + [PageBreak()]
        + _funding_line(figures)
    )
    if other is not None:
        story += [PageBreak()] + _comparison(figures, other)
    document.build(story, onFirstPage=page, onLaterPages=page)
    return buffer.getvalue()
