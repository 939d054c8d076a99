"""In-year delivery (DESIGN.md sections 7 and 8): the system's dashboard, a scheme's monthly
return, closing a period and asking what the slippage can fund. Every read and change goes
through api.delivery.service and api.rounds.service (roles, scope, audit), as the API does."""

from decimal import Decimal

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.db import end_read_phase
from api.delivery import service
from api.delivery.periods import label, next_month, year_of
from api.delivery.schemas import DeliveryRead, DeliveryUpdate
from api.deps import Principal, SessionDep
from api.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from api.rounds import permissions as rounds_permissions
from api.rounds import service as rounds_service
from api.rounds.schemas import RunRequest
from api.schemes.models import Scheme
from api.systems import repository as systems_repository
from api.types import (
    TOO_MANY_POUNDS,
    IdPath,
    NotPounds,
    ascii_digits,
    check_financial_year,
    typed_pounds,
)
from web import charts
from web.app import redirect, render
from web.lists import all_of
from web.security import CheckedForm, WebUser, require_role

router = APIRouter()
RAGS = {"green": "Green: on plan", "amber": "Amber: at risk", "red": "Red: off plan"}
PENNY = Decimal("0.01")


def month_name(period: str | None) -> str:
    """`2026-10 (M07 2026/27)`: the month as the API writes it and as reports do."""
    return f"{period} ({label(period)})" if period else "none"


def _system(session: Session, principal: Principal, code: str | None):
    """The system the page is about: the one asked for, else the caller's first; out of
    scope reads like missing (404)."""
    systems = all_of(systems_repository.list_systems, session, ids=principal.system_ids)
    if not systems:
        raise NotFound("You work in no system yet.")
    if not code:  # the first system in delivery (administrators see every system)
        in_delivery = (
            s for s in systems if service.period_state(session, system_id=s.id).next_period
        )
        return next(in_delivery, systems[0]), systems
    chosen = next((s for s in systems if s.code == code), None)
    if chosen is None:
        raise NotFound(f"No system with code {code}.")
    return chosen, systems


def _agreed_rounds(session: Session, principal: Principal, system_code: str) -> list:
    rounds = all_of(rounds_service.list_rounds, session, principal=principal, system=system_code)
    return [r for r in rounds if r.status == "agreed"]


def _valid_year(year: str | None) -> str | None:
    if not year:
        return None
    try:
        return check_financial_year(year)
    except ValueError:
        return None


@router.get("/delivery")
def dashboard(request: Request, session: SessionDep, principal: WebUser, system: str | None = None,
              year: str | None = None, closed: str | None = None,
              reallocated: int | None = None):  # fmt: skip
    require_role(principal, *service.READERS)
    chosen, systems = _system(session, principal, system)
    state = service.period_state(session, system_id=chosen.id)  # read once for the page
    period = service.period_view(chosen, state)
    agreed = _agreed_rounds(session, principal, chosen.code)
    years = sorted({y.year for r in agreed for y in r.years} | ({period.current_year} - {None}))
    year = _valid_year(year) or period.current_year or (years[0] if years else None)
    # What the page offers is what the services would do for this person now.
    context = {"system": chosen, "systems": systems, "period": period, "years": years,
               "year": year, "closed": closed, "reallocated": reallocated,
               "can_close": service.close_refusal(principal, chosen, state) is None,
               "month_name": month_name}  # fmt: skip
    if year is None:  # no agreed round yet: nothing is in delivery
        return render(request, "delivery.html", report=None, **context)
    report = service.system_report(session, principal=principal, system_code=chosen.code, year=year)
    schemes = service.scheme_report(
        session, principal=principal, system_code=chosen.code, year=year
    )
    names = {o.code: o.name for o in chosen.organisations}
    chart = charts.plan_and_outturn(
        [{"organisation": o.organisation, **o.model_dump()} for o in report.organisations]
    ) if report.organisations else None  # fmt: skip
    reallocations = []
    for round_ in agreed:  # rounds with a year still open can re-use slippage
        if rounds_permissions.reallocation_refusal(principal=principal, round_=round_, state=state):
            continue
        runs = all_of(rounds_service.list_runs, session, principal=principal, round_id=round_.id)
        reallocations.append((round_, [r for r in runs if r.kind == "reallocation"]))
    return render(request, "delivery.html", report=report, schemes=schemes, names=names,
                  chart=chart, reallocations=reallocations, **context)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# One scheme's monthly return


def _field(kind: str, key: str) -> str:
    return f"{kind}-{key.replace('/', '-')}"


def _form_fields(view: DeliveryRead) -> dict:
    """Which months and years the trust can change now: the actual of the next month to
    close, the forecast of every open month of the current year, each later year."""
    current = next((y for y in view.years if y.year == view.current_year), None)
    open_months = [m.period for m in current.months if not m.closed] if current else []
    actual = view.next_period if view.next_period in open_months else None
    return {"actual": actual, "forecast": open_months, "later": sorted(view.later_years)}


def _stored_values(view: DeliveryRead) -> dict[str, str]:
    values: dict[str, str] = {"rag": view.rag or "", "commentary": view.commentary}
    for year in view.years:
        for month in year.months:
            if month.actual is not None:
                values[_field("actual", month.period)] = f"{month.actual:.2f}"
            if month.forecast is not None:
                values[_field("forecast", month.period)] = f"{month.forecast:.2f}"
    for year, amount in view.later_years.items():
        values[_field("later", year)] = f"{amount:.2f}"
    return values


def _money(text: str, what: str, errors: dict[str, str], field_id: str) -> Decimal | None:
    """Pounds from a form field ("125,000.50", "£125000"); a message naming `what` if not."""
    try:
        amount = typed_pounds(text)
    except NotPounds as error:
        errors[field_id] = (
            f"{what[:1].upper()}{what[1:]} {TOO_MANY_POUNDS}"
            if error.too_large
            else f"Enter {what} in pounds, like 125000 or 125,000.50"
        )
        return None
    if amount < 0:
        errors[field_id] = f"{what[:1].upper()}{what[1:]} cannot be negative"
    elif amount != amount.quantize(PENNY):
        errors[field_id] = f"Enter {what} to the nearest penny (2 decimal places at most)"
    else:
        return amount
    return None


def _changes(form, view: DeliveryRead) -> tuple[dict, dict[str, str]]:
    """The return's changes as the API's PATCH body, and any field that is not money."""
    fields = _form_fields(view)
    errors: dict[str, str] = {}
    body: dict = {"actual": {}, "forecast": {}, "later_years": {}}
    recorded = {m.period: m.actual for y in view.years for m in y.months}
    actual_given = False
    if fields["actual"]:
        period = fields["actual"]
        text = str(form.get(_field("actual", period)) or "").strip()
        if text:
            amount = _money(
                text, f"the actual for {month_name(period)}", errors, _field("actual", period)
            )
            body["actual"][period] = amount
            actual_given = True
        elif recorded.get(period) is not None:
            body["actual"][period] = None  # cleared: not spent after all, or not known yet
    for period in fields["forecast"]:
        if period == fields["actual"] and actual_given:
            continue  # what was spent is that month's forecast
        text = str(form.get(_field("forecast", period)) or "").strip()
        what = f"the forecast for {month_name(period)}"
        if not text:
            errors[_field("forecast", period)] = f"Enter {what} (0 if nothing will be spent)"
            continue
        body["forecast"][period] = _money(text, what, errors, _field("forecast", period))
    for year in fields["later"]:
        text = str(form.get(_field("later", year)) or "").strip()
        what = f"the forecast for {year}"
        if not text:
            errors[_field("later", year)] = f"Enter {what} (0 if nothing will be spent)"
            continue
        body["later_years"][year] = _money(text, what, errors, _field("later", year))
    rag = form.get("rag")
    if rag:
        if rag in RAGS:
            body["rag"] = rag
        else:
            errors["rag-green"] = "Choose green, amber or red"
    body["commentary"] = str(form.get("commentary") or "").strip()
    if len(body["commentary"]) > 4000:
        errors["commentary"] = "Keep the commentary to 4,000 characters or fewer"
    return {k: v for k, v in body.items() if v != {}}, errors


def _service_errors(raw: list[dict]) -> dict[str, str]:
    """The service's field errors (`body.forecast.2026-11`) as {form field id: message}."""
    kinds = {"actual": "actual", "forecast": "forecast", "later_years": "later"}
    errors: dict[str, str] = {}
    for error in raw:
        parts = error["loc"].removeprefix("body.").split(".", 1)
        field_id = _field(kinds[parts[0]], parts[1]) if parts[0] in kinds and len(parts) == 2 else (
            parts[0] if parts[0] in ("rag", "commentary") else "form")  # fmt: skip
        message = error["msg"].removeprefix("Value error, ")
        errors.setdefault(field_id, message[:1].upper() + message[1:])
    return errors


def _return_page(request: Request, principal: Principal, scheme: Scheme, view: DeliveryRead, *,
                 values: dict | None = None, errors: dict | None = None, status_code: int = 200,
                 saved: bool = False, notice: str | None = None, unsaved: dict | None = None):  # fmt: skip
    return render(request, "delivery_return.html", status_code=status_code, view=view,
                  fields=_form_fields(view), values=values or _stored_values(view),
                  errors=errors or {}, saved=saved, notice=notice, unsaved=unsaved or {},
                  can_write=service.delivery_refusal(principal, scheme, "record") is None,
                  rags=RAGS, field=_field,
                  month_name=month_name, month_label=label)  # fmt: skip


def _moved_on(request: Request, session: Session, principal: Principal, scheme_id: int,
              exc: PreconditionFailed | Conflict, submitted: dict):  # fmt: skip
    """Someone else saved first, or the month closed meanwhile: nothing is saved, and the
    latest return is shown with what the person typed, to send again if it still stands."""
    session.rollback()
    scheme, latest = service.get_scheme_delivery(session, principal=principal, scheme_id=scheme_id)
    stored = _stored_values(latest)
    unsaved = {
        k: v for k, v in submitted.items()
        if k not in ("version", "next_period") and stored.get(k, "") != v
    }  # fmt: skip
    if isinstance(exc, PreconditionFailed):
        notice = (f"Someone else changed this return while you were editing it (it is now "
                  f"version {latest.version}). Here is the latest; your changes were not saved.")  # fmt: skip
    else:
        notice = (f"The reporting period moved on while you were editing: "
                  f"{month_name(latest.reporting_period)} is now closed. Here is the latest; "
                  f"your changes were not saved.")  # fmt: skip
    return _return_page(request, principal, scheme, latest, status_code=exc.status, notice=notice,
                        unsaved=unsaved)  # fmt: skip


@router.get("/schemes/{scheme_id}/delivery")
def scheme_return(request: Request, session: SessionDep, principal: WebUser, scheme_id: IdPath,
                  saved: bool = False):  # fmt: skip
    scheme, view = service.get_scheme_delivery(session, principal=principal, scheme_id=scheme_id)
    return _return_page(request, principal, scheme, view, saved=saved)


@router.post("/schemes/{scheme_id}/delivery")
def record_return(request: Request, session: SessionDep, principal: WebUser, scheme_id: IdPath,
                  form: CheckedForm):  # fmt: skip
    scheme, view = service.get_scheme_delivery(session, principal=principal, scheme_id=scheme_id)
    require_role(principal, "trust", "admin")
    submitted = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    if str(form.get("next_period") or "") != (view.next_period or ""):
        # A month closed since the form was shown: its fields are for months now locked.
        return _moved_on(request, session, principal, scheme_id, Conflict("closed"), submitted)
    body, errors = _changes(form, view)
    if not errors:
        try:
            service.update_delivery(session, principal=principal, scheme_id=scheme_id,
                                    body=DeliveryUpdate(**body), if_match=str(form.get("version") or ""))  # fmt: skip
            return redirect(f"/schemes/{scheme_id}/delivery?saved=1")
        except ValidationError as exc:
            errors = {"form": "; ".join(e["msg"] for e in exc.errors())}
        except InvalidInput as exc:
            session.rollback()  # the service changed the months in memory before refusing
            errors = _service_errors(exc.errors or [{"loc": "", "msg": exc.detail}])
        except (PreconditionFailed, Conflict) as exc:
            return _moved_on(request, session, principal, scheme_id, exc, submitted)
    return _return_page(
        request, principal, scheme, view, values=submitted, errors=errors, status_code=422
    )


# ---------------------------------------------------------------------------------------------
# Closing a period, and re-using slippage


@router.get("/delivery/close")
def close_confirm(request: Request, session: SessionDep, principal: WebUser,
                  system: str | None = None):  # fmt: skip
    require_role(principal, "ics_finance")
    chosen, _systems = _system(session, principal, system)
    state = service.period_state(session, system_id=chosen.id)
    period = service.period_view(chosen, state)
    if refused := service.close_refusal(principal, chosen, state):
        raise refused
    schemes = service.scheme_report(session, principal=principal, system_code=chosen.code,
                                    year=year_of(period.next_period))  # fmt: skip
    missing = [s for s in schemes if s.next_actual is None and (s.next_forecast or 0) > 0]
    return render(request, "delivery_close.html", system=chosen, period=period, missing=missing,
                  schemes=schemes, after=next_month(period.next_period), month_name=month_name)  # fmt: skip


@router.post("/delivery/close")
def close(request: Request, session: SessionDep, principal: WebUser, form: CheckedForm):
    require_role(principal, "ics_finance")
    chosen, _systems = _system(session, principal, str(form.get("system") or ""))
    confirmed = str(form.get("period") or "")
    if not confirmed:  # the confirmation page always names the month it closes
        raise Conflict("The month to close was not given: open the close page again.")
    # Any other month is a 409 (a second click, or a colleague closed it first).
    service.close_period(session, principal=principal, system_code=chosen.code, period=confirmed)
    return redirect(f"/delivery?system={chosen.code}&closed={confirmed}")


@router.post("/delivery/reallocate")
def reallocate(request: Request, session: SessionDep, principal: WebUser, form: CheckedForm):
    """What can the slippage fund? A re-allocation run of the agreed round, as
    POST /rounds/{id}/reallocations makes it; the run page shows it and offers to agree it."""
    require_role(principal, "ics_finance")
    round_id = str(form.get("round_id") or "")
    if not ascii_digits(round_id) or len(round_id) > 9:
        raise NotFound("No such round.")
    round_ = rounds_service.get_round(session, principal=principal, round_id=int(round_id))
    period = service.get_period(session, principal=principal, system_code=round_.system.code)
    after = f" (after {label(period.reporting_period)})" if period.reporting_period else ""
    body = RunRequest(label=f"What the slippage can fund{after}")
    prepared = rounds_service.prepare_reallocation(session, principal=principal,
                                                   round_id=int(round_id), body=body)  # fmt: skip
    end_read_phase(session)  # hold no transaction while the solver works
    result = rounds_service.solve_run(prepared=prepared)
    run = rounds_service.record_run(session, principal=principal, prepared=prepared, result=result)
    return redirect(f"/runs/{run.id}")
