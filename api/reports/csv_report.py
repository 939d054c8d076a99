"""report.csv: a row per scheme, for Excel and for analysts.

UTF-8 with a byte-order mark (Excel otherwise reads it as Windows-1252 and garbles "£" and
accents), plain numbers in money columns (2 dp, no "£" or separators, so they stay numbers),
and each year's spend as funded: the profile shifted by the deferral the run chose, so the
funded rows of a year add up to the run's spend that year, to the penny. Text a spreadsheet
would run as a formula (a title starting "=") is quoted with an apostrophe (api/cells.py).
"""

import csv
import io

from api.cells import csv_field
from api.reports.figures import Figures

COLUMNS = ["scheme_id", "title", "organisation", "organisation_name", "category", "outcome",
           "rank", "start_year", "deferral_years", "score", "total_cost"]  # fmt: skip


def to_csv(figures: Figures) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS + [f"spend {y}" for y in figures.years] + ["reason"])
    for s in figures.schemes:
        writer.writerow(
            [s.id, csv_field(s.title), csv_field(s.organisation), csv_field(s.organisation_name),
             csv_field(s.category), s.outcome,
             "" if s.rank is None else s.rank, s.start_year,
             "" if s.deferral_years is None else s.deferral_years, f"{s.score:.6f}",
             f"{s.total_cost:.2f}"]
            + [f"{s.spend[y]:.2f}" for y in figures.years] + [csv_field(s.reason)]
        )  # fmt: skip
    return "\ufeff" + buffer.getvalue()
