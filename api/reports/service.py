"""A run's board outputs for whoever may read the run: the API's report endpoints and the
web's download links both come here, so they apply the same scope and give the same files."""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from api.deps import Principal
from api.jobs import repository as jobs_repository
from api.reports import csv_report, figures
from api.rounds import service as rounds
from api.schemes import repository as schemes_repository

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Report:
    content: bytes
    media_type: str
    filename: str


def run_figures(session: Session, *, principal: Principal, run_id: int) -> figures.Figures:
    """The figures of a run the caller may read (else 404, like a missing run)."""
    run = rounds.get_run(session, principal=principal, run_id=run_id)
    round_ = rounds.get_round(session, principal=principal, round_id=run.round_id)
    ids = [int(s["id"]) for s in run.snapshot["schemes"] if s["id"].isdigit()]
    schemes = {s.id: s for s in schemes_repository.get_schemes(session, ids=ids)}
    # The round's latest finished frontier study, when it has one, becomes the Frontier sheet.
    frontier = jobs_repository.latest_result(session, round_id=round_.id, kind="frontier")
    return figures.build(
        run=run, round_=round_, schemes=schemes, frontier=(frontier or {}).get("points")
    )


def workbook_report(session: Session, *, principal: Principal, run_id: int) -> Report:
    from api.reports import workbook  # openpyxl, imported when a workbook is first asked for

    content = workbook.to_xlsx(run_figures(session, principal=principal, run_id=run_id))
    return Report(content, XLSX, f"run-{run_id}.xlsx")


def board_pack(
    session: Session, *, principal: Principal, run_id: int, other_id: int | None = None
) -> Report:
    # ReportLab takes 0.3 s to import: every server and CLI process importing the API would pay
    # it at start-up, though few of them ever write a board pack.
    from api.reports import pdf

    this = run_figures(session, principal=principal, run_id=run_id)
    that = None
    if other_id is not None:
        that = run_figures(session, principal=principal, run_id=other_id)
    name = f"run-{run_id}" + (f"-vs-{other_id}" if other_id is not None else "") + ".pdf"
    return Report(pdf.to_pdf(this, that), "application/pdf", name)


def csv_rows(session: Session, *, principal: Principal, run_id: int) -> Report:
    content = csv_report.to_csv(run_figures(session, principal=principal, run_id=run_id))
    return Report(content.encode("utf-8"), "text/csv; charset=utf-8", f"run-{run_id}.csv")
