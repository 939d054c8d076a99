"""A run's pages: its result and reasons, two runs compared, its reports, the round's
value against the envelope (frontier), and agreeing a run. All through api.rounds.service;
what a round's pages offer is web.routes.rounds.offers, shared with them."""

import re
import time
from decimal import Decimal

from fastapi import APIRouter, Request, Response

from api.deps import SessionDep
from api.errors import Conflict, InvalidInput, NotFound
from api.jobs import router as jobs_router
from api.jobs import service as jobs_service
from api.reports import figures as report_figures
from api.reports import service as reports
from api.rounds import permissions, service
from api.rounds.schemas import AgreeRequest, FrontierRequest
from api.schemes import repository as schemes_repository
from api.types import IdPath, IdQuery, ascii_digits
from web import charts, formatting
from web.app import redirect, render
from web.routes.rounds import comparable, offers, run_summaries
from web.security import CheckedForm, WebUser, require_role

router = APIRouter()
FRONTIER_MULTIPLIERS = [0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5]
OUTCOMES = ["funded", "reserve", "not_funded"]
SORTS = {
    "id": lambda r: (len(r["id"]), r["id"]),
    "title": lambda r: r["title"].lower(),
    "organisation": lambda r: r["organisation"],
    "cost": lambda r: r["cost"],
    "outcome": lambda r: OUTCOMES.index(r["outcome"]) if r["outcome"] in OUTCOMES else 9,
    "start": lambda r: r["start_year"] or "9999",
    "rank": lambda r: r["reserve_rank"] if r["reserve_rank"] is not None else 10**9,
    "score": lambda r: -(r["score"] or 0),
}


def _scheme_rows(session, run) -> list[dict]:
    ids = [int(s["id"]) for s in run.snapshot["schemes"]]
    found = {str(s.id): s for s in schemes_repository.get_schemes(session, ids=ids)}
    costs = {
        s["id"]: sum(Decimal(str(v)) for v in s["cost_profile"].values())
        for s in run.snapshot["schemes"]
    }
    rows = []
    for item in run.result.get("schemes", []):
        scheme = found.get(item["id"])
        rows.append({
            **item, "title": scheme.title if scheme else f"Scheme {item['id']}",
            "organisation": scheme.organisation.code if scheme else "",
            "category": scheme.category if scheme else "", "cost": costs.get(item["id"], Decimal(0)),
            "reserve_rank": item.get("reserve_rank"), "score": item.get("score"),
        })  # fmt: skip
    return rows


RULES = {"fair_shares": "Fair shares", "category_limits": "Category limits"}


def _price_of_rules(result: dict, rows: list[dict], used: dict[str, bool]) -> list[dict]:
    """Each rule family's price (exact, or a proven interval) with the schemes it displaces
    and brings in, by title, as the result document records them."""
    price = result.get("price_of_rules") or {}
    intervals = price.get("intervals") or {}
    by_id = {r["id"]: r for r in rows}

    def schemes(ids: list[str]) -> list[dict]:
        return [by_id.get(i, {"id": i, "title": f"Scheme {i}", "organisation": "",
                              "cost": None}) for i in ids]  # fmt: skip

    listed = "displaced" in price or "brought_in" in price
    return [
        {
            "key": key,
            "name": name,
            "price": price.get(key),
            "interval": intervals.get(key),
            "displaced": schemes((price.get("displaced") or {}).get(key, [])),
            "brought_in": schemes((price.get("brought_in") or {}).get(key, [])),
            "listed": listed and key in (price.get("displaced") or {}),
            "used": used[key],
        }  # fmt: skip
        for key, name in RULES.items()
    ]


def _title(run) -> str:
    label = run.options.get("label")
    return f"Run {run.id}" + (f": {label}" if label else "")


@router.get("/runs/compare")
def compare(request: Request, session: SessionDep, principal: WebUser, a: IdQuery, b: IdQuery):
    comparison = service.compare_runs(session, principal=principal, run_id=a, other_id=b)
    run_a = service.get_run(session, principal=principal, run_id=a)
    run_b = service.get_run(session, principal=principal, run_id=b)
    counts = {
        key: sum(1 for s in run.result.get("schemes", []) if s["outcome"] == "funded")
        for key, run in (("a", run_a), ("b", run_b))
    }
    return render(request, "compare.html", c=comparison, run_a=run_a, run_b=run_b,
                  title_a=_title(run_a), title_b=_title(run_b), counts=counts,
                  round=service.round_view(service.get_round(session, principal=principal, round_id=run_a.round_id)))  # fmt: skip


@router.get("/runs/{run_id}")
def show_run(request: Request, session: SessionDep, principal: WebUser, run_id: IdPath,
             outcome: str | None = None, organisation: str | None = None,
             sort: str = "outcome", order: str = "asc"):  # fmt: skip
    run = service.get_run(session, principal=principal, run_id=run_id)
    round_ = service.get_round(session, principal=principal, round_id=run.round_id)
    result = run.result
    rows = _scheme_rows(session, run)
    organisations = sorted({r["organisation"] for r in rows if r["organisation"]})
    counts = {o: sum(1 for r in rows if r["outcome"] == o) for o in OUTCOMES}
    shown = [r for r in rows if (outcome not in OUTCOMES or r["outcome"] == outcome)
             and (not organisation or r["organisation"] == organisation)]  # fmt: skip
    sort = sort if sort in SORTS else "outcome"
    shown.sort(key=lambda r: (SORTS[sort](r), SORTS["id"](r)), reverse=order == "desc")
    by_year = result.get("by_year", [])
    totals = {
        "spend": sum(Decimal(str(r["spend"])) for r in by_year),
        "limit": sum(Decimal(str(r["limit"])) for r in by_year),
        "envelope": sum(Decimal(str(r["envelope"])) for r in by_year),
        "headroom": sum(Decimal(str(r["headroom"])) for r in by_year),
    }
    # Soft fair shares, and re-allocations holding approved schemes at their forecasts, can
    # leave an organisation outside its band: the page says so, and by how much.
    by_org = [{**r, "position": report_figures.position_in_words(r)}
              for r in result.get("by_organisation", [])]  # fmt: skip
    by_category = [{**r, "name": formatting.CATEGORY_NAMES.get(r["category"], r["category"])}
                   for r in result.get("by_category", [])]  # fmt: skip
    chart_years = charts.spend_by_year(by_year) if by_year else None
    chart_orgs = charts.horizontal(by_org, label="organisation", value="allocated", low="floor",
                                   high="ceiling", mark="target", ident="chart-orgs",
                                   title="Fair shares by organisation (bar: allocated; pale band: floor to ceiling; dark tick: target)") if by_org else None  # fmt: skip
    chart_categories = charts.horizontal(by_category, label="name", value="allocated",
                                         ident="chart-categories", title="Spend by category") if by_category else None  # fmt: skip
    funded_value = sum(Decimal(str(r["cost"])) for r in rows if r["outcome"] == "funded")
    rounds_agreed = round_.status == "agreed"
    agree_refused = permissions.agreement_refusal(
        session, principal=principal, round_=round_, run=run
    )
    prices = _price_of_rules(result, rows, report_figures.rules_used(run.snapshot))
    return render(request, "run.html", run=run, round=service.round_view(round_), result=result,
                  title=_title(run), rows=shown, all_count=len(rows), counts=counts,
                  organisations=organisations, outcome=outcome if outcome in OUTCOMES else "",
                  organisation=organisation or "", sort=sort, order=order, by_year=by_year,
                  by_org=by_org, by_category=by_category, totals=totals,
                  chart_years=chart_years, chart_orgs=chart_orgs, chart_categories=chart_categories,
                  status_words=formatting.status_in_words(result), funded_value=funded_value,
                  **offers(principal, round_), agreed=rounds_agreed, prices=prices,
                  can_agree=agree_refused is None,
                  agree_refused=agree_refused if isinstance(agree_refused, Conflict) else None,
                  frontier=_frontier(session, principal, run.round_id), back=f"/runs/{run.id}",
                  # compare_runs compares only runs that found a portfolio
                  others=[r for r in comparable(run_summaries(session, principal, run.round_id))
                          if r.id != run.id] if permissions.has_portfolio(run) else [])  # fmt: skip


REPORTS = {"report.xlsx": reports.workbook_report, "report.pdf": reports.board_pack,
           "report.csv": reports.csv_rows}  # fmt: skip


@router.get("/runs/{run_id}/{name}")
def download(session: SessionDep, principal: WebUser, run_id: IdPath, name: str) -> Response:
    """The run's workbook, board pack and CSV, through the same service as the API's
    /api/v1/runs/{id}/report.* (so the same scope: a run out of scope is 404)."""
    if name not in REPORTS:
        raise NotFound("There is nothing at this address.")
    report = REPORTS[name](session, principal=principal, run_id=run_id)
    headers = {"Content-Disposition": f'attachment; filename="{report.filename}"'}
    return Response(report.content, media_type=report.media_type, headers=headers)


def _frontier(session, principal, round_id: int) -> dict:
    """The round's value against the envelope: its latest frontier job (queued, running,
    failed or done) and the points of the latest one that succeeded, for the chart and table."""
    latest = jobs_service.latest_job(session, principal=principal, round_id=round_id,
                                     kind="frontier")  # fmt: skip
    done = latest
    if latest is not None and latest.status != "succeeded":
        done = jobs_service.latest_job(session, principal=principal, round_id=round_id,
                                       kind="frontier", status="succeeded")  # fmt: skip
    points = [dict(p) for p in ((done.result or {}).get("points") or [])] if done else []
    previous = None
    for point in points:
        point["extra"] = (
            Decimal(str(point["objective"])) - Decimal(str(previous["objective"]))
            if previous and point["objective"] is not None and previous["objective"] is not None
            else None
        )
        point["extra_envelope"] = (
            Decimal(str(point["envelope"])) - Decimal(str(previous["envelope"]))
            if previous
            else None
        )
        previous = point
    return {
        "latest": latest, "done": done, "points": points,
        "working": latest is not None and latest.status in ("queued", "running"),
        # A link to the page itself differing only in its #fragment would not reload it.
        "checked": int(time.time()),
        "chart": charts.frontier(points, current=1.0) if points else None,
    }  # fmt: skip


@router.get("/rounds/{round_id}/frontier")
def frontier(request: Request, session: SessionDep, principal: WebUser, round_id: IdPath):
    round_ = service.get_round(session, principal=principal, round_id=round_id)
    return render(request, "frontier.html", round=service.round_view(round_),
                  frontier=_frontier(session, principal, round_id),
                  **offers(principal, round_), back=f"/rounds/{round_id}/frontier")  # fmt: skip


@router.post("/rounds/{round_id}/frontier")
def start_frontier(session: SessionDep, principal: WebUser, round_id: IdPath, form: CheckedForm):
    """Start a frontier job (the same job as POST /api/v1/rounds/{id}/frontier), then go back
    to the page that asked, which shows its progress."""
    require_role(principal, "ics_finance")
    job = jobs_service.create_frontier_job(session, principal=principal, round_id=round_id,
                                           body=FrontierRequest(multipliers=FRONTIER_MULTIPLIERS))  # fmt: skip
    jobs_router.accept(session, job, Response())
    back = str(form.get("back") or "")
    if not re.fullmatch(r"/runs/[0-9]+|/rounds/[0-9]+/frontier", back):
        back = f"/rounds/{round_id}/frontier"
    return redirect(back + "#frontier")


@router.get("/rounds/{round_id}/agree")
def agree_page(
    request: Request, session: SessionDep, principal: WebUser, round_id: IdPath, run: IdQuery
):
    require_role(principal, "ics_finance")
    round_ = service.get_round(session, principal=principal, round_id=round_id)
    the_run = service.get_run(session, principal=principal, run_id=run)
    # No confirmation for an agreement the service would refuse (the round agreed already, a
    # re-allocation agreed or overtaken, no portfolio, a funded scheme changed since).
    if refused := permissions.agreement_refusal(session, principal=principal, round_=round_,
                                            run=the_run):  # fmt: skip
        raise refused
    funded = [r for r in _scheme_rows(session, the_run) if r["outcome"] == "funded"]
    # Schemes approved already (committed by an earlier round, or a re-allocation's in
    # delivery) are not approved again: the page lists and totals only what agreeing approves.
    ids = [int(r["id"]) for r in funded]
    approved = {s.id for s in schemes_repository.get_schemes(session, ids=ids) if s.status == "approved"}  # fmt: skip
    funded = [r for r in funded if int(r["id"]) not in approved]
    funded.sort(key=lambda r: (r["organisation"], SORTS["id"](r)))
    total = sum((r["cost"] for r in funded), Decimal(0))
    return render(request, "agree.html", round=service.round_view(round_), run=the_run,
                  title=_title(the_run), funded=funded, total=total,
                  by_year=the_run.result.get("by_year", []))  # fmt: skip


@router.post("/rounds/{round_id}/agree")
def agree(request: Request, session: SessionDep, principal: WebUser, round_id: IdPath,
          form: CheckedForm):  # fmt: skip
    require_role(principal, "ics_finance")
    run_id = str(form.get("run_id") or "")
    if not ascii_digits(run_id):
        raise InvalidInput("Choose a run to agree.")
    round_ = service.agree(
        session, principal=principal, round_id=round_id, body=AgreeRequest(run_id=int(run_id))
    )
    if round_.agreed_run_id != int(run_id):  # a re-allocation: its schemes are now in delivery
        return redirect(f"/delivery?system={round_.system.code}&reallocated={run_id}")
    return redirect(f"/rounds/{round_id}?agreed=1")
