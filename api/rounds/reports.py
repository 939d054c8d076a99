"""Board-ready reports of a run: an Excel workbook (openpyxl) and a CSV with a row per scheme."""

import csv
import io
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from api.rounds.models import Round, Run
from api.schemes.models import Scheme

POUNDS = '"£"#,##0.00'
HEADER = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="005EB8")  # NHS blue
CSV_COLUMNS = ["scheme_id", "title", "organisation", "category", "outcome", "start_year",
               "deferral_years", "reserve_rank", "score", "total_cost", "reason"]  # fmt: skip


def _d(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def scheme_rows(run: Run, schemes: dict[int, Scheme]) -> list[dict[str, Any]]:
    """One row per scheme of the run, in snapshot order, with its cost by year."""
    years = run.snapshot["years"]
    by_id = {s["id"]: s for s in run.snapshot["schemes"]}
    rows = []
    for outcome in run.result["schemes"]:
        raw = by_id[outcome["id"]]
        scheme = schemes.get(int(outcome["id"]))
        profile = {y: _d(raw["cost_profile"].get(y, 0)) for y in years}
        rows.append({
            "scheme_id": outcome["id"],
            "title": scheme.title if scheme else "",
            "organisation": raw["organisation"],
            "category": raw["category"],
            "outcome": outcome["outcome"],
            "start_year": outcome.get("start_year") or "",
            "deferral_years": outcome.get("deferral_years") if outcome.get("deferral_years") is not None else "",
            "reserve_rank": outcome.get("reserve_rank") or "",
            "score": outcome["score"],
            "total_cost": sum(profile.values(), Decimal(0)),
            "reason": outcome["reason"],
            "scores": raw.get("scores", {}),
            "profile": profile,
        })  # fmt: skip
    return rows


def to_csv(run: Run, schemes: dict[int, Scheme]) -> str:
    years = run.snapshot["years"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS + [f"cost {y}" for y in years])
    for row in scheme_rows(run, schemes):
        writer.writerow([row[c] for c in CSV_COLUMNS] + [f"{row['profile'][y]:.2f}" for y in years])
    return buffer.getvalue()


def _header(sheet, columns: list[str]) -> None:
    sheet.append(columns)
    for cell in sheet[sheet.max_row]:
        cell.font, cell.fill = HEADER, HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")


def _widths(sheet, widths: dict[str, int]) -> None:
    for column, width in widths.items():
        sheet.column_dimensions[column].width = width


def to_xlsx(run: Run, round_: Round, schemes: dict[int, Scheme]) -> bytes:
    result = run.result
    book = Workbook()
    summary = book.active
    summary.title = "Summary"
    summary.append([f"{round_.name}: run {run.id}"])
    summary["A1"].font = Font(bold=True, size=14)
    summary.append(
        [
            f"System {round_.system.code}; run by {run.created_by_name} at {run.created_at:%Y-%m-%d %H:%M} UTC"
        ]
    )
    summary.append(
        [
            f"Status: {result['status']}; solver {run.solver} {run.solver_version}; snapshot sha256 {run.snapshot_sha256}"
        ]
    )
    summary.append([])
    _header(summary, ["Year", "Envelope", "Reserve", "Limit", "Spend", "Headroom"])
    first = summary.max_row + 1
    for year in result["by_year"]:
        summary.append(
            [year["year"]]
            + [_d(year[k]) for k in ("envelope", "reserve", "limit", "spend", "headroom")]
        )
    last = summary.max_row
    for row in summary.iter_rows(min_row=first, max_row=last, min_col=2, max_col=6):
        for cell in row:
            cell.number_format = POUNDS
    summary.append([])
    greedy = result.get("greedy") or {}
    facts = [
        ("Objective (optimised)", result.get("objective")),
        ("Objective (greedy: fund by score per £)", greedy.get("objective")),
        (
            "Schemes funded (optimised)",
            sum(1 for s in result["schemes"] if s["outcome"] == "funded"),
        ),
        ("Schemes funded (greedy)", greedy.get("funded")),
        (
            "Price of fair shares (value given up)",
            (result.get("price_of_rules") or {}).get("fair_shares"),
        ),
        (
            "Price of category limits (value given up)",
            (result.get("price_of_rules") or {}).get("category_limits"),
        ),
        ("Optimality gap", result.get("gap")),
    ]
    for label, value in facts:
        summary.append([label, value])
    for conflict in result.get("conflicts", []):
        summary.append(["Conflict", conflict])
    chart = BarChart()
    chart.title, chart.y_axis.title = "Spend against limit by year", "£"
    chart.add_data(
        Reference(summary, min_col=4, max_col=5, min_row=first - 1, max_row=last),
        titles_from_data=True,
    )
    chart.set_categories(Reference(summary, min_col=1, min_row=first, max_row=last))
    summary.add_chart(chart, "H2")
    _widths(summary, {"A": 44, "B": 18, "C": 16, "D": 18, "E": 18, "F": 16})

    years = run.snapshot["years"]
    sheet = book.create_sheet("Schemes")
    criteria = ["strategic_fit", "safety_quality", "value_for_money", "deliverability"]
    _header(sheet, ["Scheme", "Title", "Organisation", "Category", "Outcome", "Start year", "Reserve rank",
                    "Score"] + [c.replace("_", " ").title() for c in criteria] + ["Total cost"]
                   + [f"Cost {y}" for y in years] + ["Reason"])  # fmt: skip
    for row in scheme_rows(run, schemes):
        sheet.append(
            [row["scheme_id"], row["title"], row["organisation"], row["category"], row["outcome"],
             row["start_year"], row["reserve_rank"], row["score"]]
            + [row["scores"].get(c) for c in criteria] + [row["total_cost"]]
            + [row["profile"][y] for y in years] + [row["reason"]]
        )  # fmt: skip
        for cell in sheet[sheet.max_row][12 : 13 + len(years)]:
            cell.number_format = POUNDS
    sheet.freeze_panes = "C2"
    _widths(sheet, {"B": 48, get_column_letter(14 + len(years)): 90})

    organisations = book.create_sheet("Organisations")
    _header(
        organisations,
        ["Organisation", "Share", "Target", "Floor", "Ceiling", "Allocated", "Demand"],
    )
    for row in result["by_organisation"]:
        organisations.append(
            [row["organisation"], row["share"]]
            + [_d(row[k]) for k in ("target", "floor", "ceiling", "allocated", "demand")]
        )
        for cell in organisations[organisations.max_row][2:]:
            cell.number_format = POUNDS
    categories = book.create_sheet("Categories")
    _header(categories, ["Category", "Minimum", "Maximum", "Allocated"])
    for row in result["by_category"]:
        categories.append([row["category"], _d(row["min"]), _d(row["max"]), _d(row["allocated"])])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
