"""Charts as inline SVG, drawn on the server (no script). Every chart on a page has a table
of the same figures beside it, so the SVG is a picture of the table, not the only record."""

from decimal import Decimal
from html import escape

from markupsafe import Markup

BLUE, DARK, GREY, PALE, GREEN, WARM = (
    "#005eb8",
    "#212b32",
    "#4c6272",
    "#d8dde0",
    "#007f3b",
    "#ffb81c",
)


def _m(value: float) -> str:
    """£ millions to as many places as the amount needs, up to two: an axis tick at £1.25m
    reads £1.25m, not a rounded £1.2m."""
    return f"£{value / 1_000_000:,.2f}".rstrip("0").rstrip(".") + "m"


def _nice_max(value: float) -> float:
    """A round axis maximum at or above `value`."""
    if value <= 0:
        return 1.0
    step = 10 ** (len(str(int(value))) - 1)
    for multiple in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if multiple * step >= value:
            return multiple * step
    return 10 * step


def _svg(width: int, height: int, title: str, desc: str, body: list[str], ident: str) -> Markup:
    head = (
        f'<svg class="app-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}-title">{escape(title)}</title><desc id="{ident}-desc">{escape(desc)}</desc>'
    )
    # On a phone the chart keeps a readable size and scrolls sideways in its own box (the
    # page never does); the box can take focus so a keyboard can scroll it too.
    scroll = (
        f'<div class="app-chart-scroll" tabindex="0" role="group" aria-labelledby="{ident}-title">'
    )
    return Markup(scroll + head + "".join(body) + "</svg></div>")


def spend_by_year(rows: list[dict], ident: str = "chart-years") -> Markup:
    """Vertical bars of spend per year, with the year's limit as a line; the axis starts at 0."""
    width, height, left, bottom, top = 640, 300, 70, 40, 20
    plot_h = height - bottom - top
    top_value = _nice_max(
        max([float(r["limit"]) for r in rows] + [float(r["spend"]) for r in rows] + [1])
    )
    band = (width - left - 20) / max(len(rows), 1)
    body = []
    for i in range(5):
        value = top_value * i / 4
        y = top + plot_h - plot_h * i / 4
        body.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="{PALE}"/>'
        )
        body.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" fill="{DARK}">{_m(value)}</text>'
        )
    for index, row in enumerate(rows):
        x = left + band * index + band * 0.2
        w = band * 0.6
        spend_h = plot_h * float(row["spend"]) / top_value
        limit_y = top + plot_h - plot_h * float(row["limit"]) / top_value
        body.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - spend_h:.1f}" width="{w:.1f}" height="{spend_h:.1f}" fill="{BLUE}"/>'
        )
        body.append(
            f'<line x1="{x - 8:.1f}" x2="{x + w + 8:.1f}" y1="{limit_y:.1f}" y2="{limit_y:.1f}" stroke="{DARK}" stroke-width="3" stroke-dasharray="6 3"/>'
        )
        body.append(
            f'<text x="{x + w / 2:.1f}" y="{height - bottom + 18}" text-anchor="middle" font-size="13" fill="{DARK}">{escape(row["year"])}</text>'
        )
    body.append(
        f'<line x1="{left}" x2="{width - 10}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="{DARK}"/>'
    )
    desc = "; ".join(
        f"{r['year']}: spend {_m(float(r['spend']))} against a limit of {_m(float(r['limit']))}"
        for r in rows
    )
    return _svg(
        width,
        height,
        "Spend against the limit by year (bars: spend; dashed line: limit)",
        desc,
        body,
        ident,
    )


def horizontal(
    rows: list[dict],
    *,
    label: str,
    value: str,
    title: str,
    ident: str,
    low: str | None = None,
    high: str | None = None,
    mark: str | None = None,
) -> Markup:
    """Horizontal bars of `value` per row; optionally a pale band from `low` to `high` and a
    tick at `mark` (fair shares: floor to ceiling, and the target)."""
    row_h, left, right = 30, 150, 30
    width = 640
    height = row_h * len(rows) + 40
    keys = [value] + [k for k in (low, high, mark) if k]
    top_value = _nice_max(max([float(r.get(k) or 0) for r in rows for k in keys] + [1]))
    scale = (width - left - right) / top_value
    body = []
    for i in range(5):
        x = left + (width - left - right) * i / 4
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="10" y2="{height - 25}" stroke="{PALE}"/>')
        body.append(
            f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" font-size="12" fill="{DARK}">{_m(top_value * i / 4)}</text>'
        )
    for index, row in enumerate(rows):
        y = 10 + index * row_h
        if low and high and row.get(low) is not None and row.get(high) is not None:
            x0, x1 = left + float(row[low]) * scale, left + float(row[high]) * scale
            body.append(
                f'<rect x="{x0:.1f}" y="{y + 2}" width="{max(x1 - x0, 1):.1f}" height="{row_h - 6}" fill="{PALE}"/>'
            )
        bar = float(row.get(value) or 0) * scale
        body.append(
            f'<rect x="{left}" y="{y + 8}" width="{bar:.1f}" height="{row_h - 18}" fill="{BLUE}"/>'
        )
        if mark and row.get(mark) is not None:
            xm = left + float(row[mark]) * scale
            body.append(
                f'<line x1="{xm:.1f}" x2="{xm:.1f}" y1="{y + 1}" y2="{y + row_h - 3}" stroke="{DARK}" stroke-width="3"/>'
            )
        body.append(
            f'<text x="{left - 8}" y="{y + row_h / 2 + 3:.1f}" text-anchor="end" font-size="13" fill="{DARK}">{escape(str(row[label]))}</text>'
        )
    desc = "; ".join(f"{r[label]}: {_m(float(r.get(value) or 0))}" for r in rows)
    return _svg(width, height, title, desc, body, ident)


def frontier(
    points: list[dict], *, current: float | None = None, ident: str = "chart-frontier"
) -> Markup:
    """Value achieved (y) against the envelope over the horizon (x), from zero on both axes."""
    width, height, left, bottom, top, right = 640, 320, 80, 45, 20, 40  # room for the last £ label
    plot_w, plot_h = width - left - right, height - top - bottom
    solved = [p for p in points if p.get("objective") is not None]
    x_max = _nice_max(max([float(p["envelope"]) for p in points] + [1]))
    y_max = _nice_max(max([float(p["objective"]) for p in solved] + [1]))
    body = []
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        x = left + plot_w * i / 4
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{PALE}"/>'
        )
        body.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" fill="{DARK}">{_m(y_max * i / 4)}</text>'
        )
        body.append(
            f'<text x="{x:.1f}" y="{height - bottom + 18}" text-anchor="middle" font-size="12" fill="{DARK}">{_m(x_max * i / 4)}</text>'
        )
    body.append(
        f'<text x="{left + plot_w / 2}" y="{height - 6}" text-anchor="middle" font-size="12" fill="{DARK}">Envelope over the horizon</text>'
    )
    coords = [
        (
            left + plot_w * float(p["envelope"]) / x_max,
            top + plot_h - plot_h * float(p["objective"]) / y_max,
        )
        for p in solved
    ]
    if coords:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        body.append(f'<polyline points="{path}" fill="none" stroke="{BLUE}" stroke-width="3"/>')
        for (x, y), p in zip(coords, solved, strict=True):
            colour = (
                GREEN
                if current is not None and abs(float(p["multiplier"]) - current) < 1e-9
                else BLUE
            )
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{colour}"/>')
    desc = "; ".join(
        f"envelope {_m(float(p['envelope']))}: value {_m(float(p['objective'])) if p.get('objective') is not None else 'no solution'}"
        for p in points
    )
    return _svg(
        width,
        height,
        "Value achieved against the envelope (the efficient frontier)",
        desc,
        body,
        ident,
    )


def as_float(value) -> float:
    return float(value) if not isinstance(value, Decimal) else float(value)


def plan_and_outturn(rows: list[dict], ident: str = "chart-delivery") -> Markup:
    """Per organisation, a bar of the forecast outturn split into what is spent to date (dark)
    and the forecast for the rest of the year (pale, outlined), with a tick at the annual plan:
    where the bar stops short of the tick is slippage. The axis starts at zero."""
    row_h, left, right, top = 34, 70, 30, 34
    width = 640
    height = row_h * len(rows) + top + 30
    top_value = _nice_max(
        max(
            [float(r["annual_plan"]) for r in rows]
            + [float(r["forecast_outturn"]) for r in rows]
            + [1]
        )
    )
    scale = (width - left - right) / top_value
    navy, light = "#003087", "#41b6e6"
    body = [
        f'<rect x="{left}" y="6" width="14" height="14" fill="{navy}"/>',
        f'<text x="{left + 20}" y="18" font-size="12" fill="{DARK}">Spent to date</text>',
        f'<rect x="{left + 130}" y="6" width="14" height="14" fill="{light}" stroke="{navy}"/>',
        f'<text x="{left + 150}" y="18" font-size="12" fill="{DARK}">Forecast, rest of year</text>',
        f'<line x1="{left + 310}" x2="{left + 310}" y1="4" y2="22" stroke="{DARK}" stroke-width="3"/>',
        f'<text x="{left + 318}" y="18" font-size="12" fill="{DARK}">Annual plan</text>',
    ]
    for i in range(5):
        x = left + (width - left - right) * i / 4
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{height - 25}" stroke="{PALE}"/>'
        )
        body.append(
            f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" font-size="12" fill="{DARK}">{_m(top_value * i / 4)}</text>'
        )
    for index, row in enumerate(rows):
        y = top + index * row_h
        spent = float(row["ytd_actual"]) * scale
        rest = max(float(row["forecast_outturn"]) - float(row["ytd_actual"]), 0) * scale
        body.append(
            f'<rect x="{left}" y="{y + 8}" width="{spent:.1f}" height="{row_h - 16}" fill="{navy}"/>'
        )
        body.append(
            f'<rect x="{left + spent:.1f}" y="{y + 8}" width="{rest:.1f}" height="{row_h - 16}" fill="{light}" stroke="{navy}"/>'
        )
        xp = left + float(row["annual_plan"]) * scale
        body.append(
            f'<line x1="{xp:.1f}" x2="{xp:.1f}" y1="{y + 2}" y2="{y + row_h - 2}" stroke="{DARK}" stroke-width="3"/>'
        )
        body.append(
            f'<text x="{left - 8}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end" font-size="13" fill="{DARK}">{escape(str(row["organisation"]))}</text>'
        )
    desc = "; ".join(
        f"{r['organisation']}: plan {_m(float(r['annual_plan']))}, spent {_m(float(r['ytd_actual']))}, "
        f"forecast outturn {_m(float(r['forecast_outturn']))}"
        for r in rows
    )
    title = "Annual plan against forecast outturn by organisation"
    return _svg(width, height, title, desc, body, ident)
