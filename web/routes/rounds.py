"""Allocation rounds for finance directors (set up, change, run or try a what-if) and,
read-only, for everyone in the system. A run's own pages (its result, comparing two, its
reports, the frontier, agreeing one) are web.routes.runs. All through api.rounds.service."""

import re
from decimal import Decimal

from fastapi import APIRouter, Request
from pydantic import ValidationError

from api.db import end_read_phase
from api.deps import Principal, SessionDep
from api.errors import Forbidden, InvalidInput, PreconditionFailed
from api.rounds import permissions, service
from api.rounds.schemas import RoundCreate, RoundUpdate, RunRequest
from api.systems import repository as systems_repository
from api.types import TOO_MANY_POUNDS, IdPath, NotPounds, typed_pounds
from web import formatting
from web.app import redirect, render
from web.lists import all_of
from web.routes.schemes import _field_errors, _pydantic_errors
from web.security import CheckedForm, WebUser, require_role

router = APIRouter()
MODES = ["off", "floor", "band", "soft"]
FACTORS = {
    "depreciation": "Depreciation (£)",
    "backlog_high_significant": "Backlog at high and significant risk (£)",
    "population": "Population served",
}
DEFAULT_FACTOR_WEIGHTS = {
    "depreciation": "0.5",
    "backlog_high_significant": "0.3",
    "population": "0.2",
}


def _number(form, name: str, errors: dict, label: str, *, money: bool = False,
            required: bool = True) -> Decimal | None:  # fmt: skip
    text = str(form.get(name) or "").replace("%", "").strip()
    if not text:
        if required:
            errors[name] = f"Enter {label}"
        return None
    try:
        value = typed_pounds(text)
        if value < 0:
            raise NotPounds
    except NotPounds as error:
        errors[name] = (
            f"{label[:1].upper()}{label[1:]} {TOO_MANY_POUNDS}"
            if error.too_large
            else f"Enter {label} as a number, not negative"
        )
        return None
    return value


def _money_id(prefix: str, year: str) -> str:
    return f"{prefix}-{year.replace('/', '-')}"


@router.get("/rounds")
def list_rounds(request: Request, session: SessionDep, principal: WebUser):
    rounds = all_of(service.list_rounds, session, principal=principal, system=None)
    return render(request, "rounds.html", rounds=rounds,
                  can_set_up=new_round_refusal(session, principal) is None)  # fmt: skip


def _system(session, principal, systems: list | None = None):
    """The caller's first system: the one the round form is for."""
    if systems is None:
        systems = all_of(systems_repository.list_systems, session, ids=principal.system_ids)
    return systems[0] if systems else None


def new_round_refusal(session, principal: Principal, *, systems: list | None = None):
    """What setting up a round on the form (for the caller's first system) would be refused;
    the home page and the rounds list offer the form only when this is None. `systems`: the
    caller's systems where the page has already read them."""
    return permissions.new_round_refusal(principal, _system(session, principal, systems))


def _round_form(request, session, principal, *, first: str, count: int, values: dict,
                errors: dict, status_code: int = 200, round_=None, system=None):  # fmt: skip
    """The round form: setting one up (`round_` None) or changing a draft or open one."""
    system = system or (round_.system if round_ is not None else _system(session, principal))
    organisations = sorted(system.organisations if system else [], key=lambda o: o.code)
    years = (
        [y.year for y in round_.years]
        if round_ is not None
        else formatting.financial_years(first, count)
    )
    return render(request, "round_form.html", status_code=status_code, years=years, first=first,
                  count=count, values=values, errors=errors, system=system,
                  organisations=organisations, modes=MODES, factors=FACTORS,
                  categories=formatting.CATEGORY_NAMES, money_id=_money_id, round=round_,
                  first_years=formatting.financial_years(
                      formatting.current_financial_year(), 4))  # fmt: skip


def _parameters(form, *, years: list[str], organisations: list[str], errors: dict,
                editing: bool) -> dict:  # fmt: skip
    """The round's parameters from the form (create and edit), as a RoundCreate/RoundUpdate
    body; any amount that is not a number goes into `errors` under its field's id."""
    envelope, reserve = {}, {}
    for year in years:
        amount = _number(
            form, _money_id("envelope", year), errors, f"the {year} envelope in pounds"
        )
        if amount is not None:
            envelope[year] = amount
        spare = _number(
            form, _money_id("reserve", year), errors, f"the {year} reserve", required=False
        )
        if spare or editing:
            reserve[year] = spare or Decimal(0)  # editing: a blank reserve is none
    body: dict = {"envelope": envelope, "reserve": reserve}
    for key, label in (("overcommitment_pct", "the overcommitment percentage"),
                       ("tolerance_pct", "the tolerance percentage"),
                       ("min_deliverability", "the minimum deliverability score")):  # fmt: skip
        number = _number(form, key, errors, label)
        if number is not None:
            body[key] = float(number) if key == "min_deliverability" else number
    mode = form.get("fair_share_mode")
    body["fair_share_mode"] = mode if mode in MODES else "off"
    weights = {}
    for criterion, name in formatting.CRITERIA.items():
        number = _number(form, f"weight-{criterion}", errors, f"the weight of {name.lower()}")
        if number is not None:
            weights[criterion] = float(number)
    body["weights"] = weights
    limits = {}
    for category, name in formatting.CATEGORY_NAMES.items():
        limit = {
            bound: _number(form, f"limit-{bound}-{category}", errors,
                           f"the {name.lower()} {word} in pounds", required=False)
            for bound, word in (("min", "minimum"), ("max", "maximum"))
        }  # fmt: skip
        if any(v is not None for v in limit.values()):
            limits[category] = limit
    body["category_limits"] = limits
    shares_from = form.get("shares_from")
    if shares_from == "direct":
        shares = {}
        for code in organisations:
            number = _number(
                form, f"share-{code}", errors, f"{code}'s share in per cent", required=False
            )
            if number:
                shares[code] = float(number) / 100
        body["fair_shares"] = shares
    elif shares_from == "formula" or not editing:
        factor_weights = {}
        for factor, name in FACTORS.items():
            label = f"the weight of {name.replace(' (£)', '').lower()}"
            number = _number(form, f"fw-{factor}", errors, label)
            if number is not None:
                factor_weights[factor] = float(number)
        inputs = {}
        for code in organisations:
            row = {}
            for factor in FACTORS:
                number = _number(form, f"fi-{code}-{factor}", errors, "an amount", required=False)
                if number is not None:
                    row[factor] = float(number)
            if row:
                inputs[code] = row
        body["fair_share_formula"] = {"weights": factor_weights, "inputs": inputs}
    return body


# The model's messages, which name its fields, in the form's words (the API keeps its own).
_PLAIN = (
    (re.compile(r"^shares must sum to 1, not ([0-9.e+-]+)$"),
     lambda m: f"they add up to {float(m[1]) * 100:g}%; they must add up to 100%"),
    (re.compile(r"^weights must sum to 1, not ([0-9.e+-]+)$"),
     lambda m: f"they add up to {float(m[1]):g}; they must add up to 1"),
    (re.compile(r"^fair_share_mode '(\w+)' needs fair_shares$"),
     lambda m: f"binding them ({formatting.MODE_NAMES.get(m[1], m[1]).split(':')[0]}) needs "
               "each organisation's share: type them in, or work them out from the funding formula"),
    (re.compile(r"^give inputs, from_facts or both$"),
     lambda m: "enter each organisation's figures, or take them from the published facts"),
)  # fmt: skip


def _plain(message: str) -> str:
    for pattern, words in _PLAIN:
        if match := pattern.match(message[:1].lower() + message[1:]):
            return words(match)
    return message


def _round_errors(raw: list[dict]) -> dict[str, str]:
    """Service or validation errors as {form field id: message}: a year's envelope, a weight,
    a category's limit or an organisation's share each name their own field."""
    errors: dict[str, str] = {}
    for error in raw:
        loc = error["loc"] or ""
        parts = loc.removeprefix("body").strip(".").split(".")
        message = _plain(error["msg"].removeprefix("Value error, "))
        head, rest = parts[0], parts[1:]
        if head in ("envelope", "reserve") and rest:
            year = ".".join(rest)
            field, message = _money_id(head, year), f"The {head} for {year}: {message}"
        elif head == "weights":
            field = f"weight-{rest[0]}" if rest else f"weight-{next(iter(formatting.CRITERIA))}"
            message = f"The weights of the criteria: {message}"
        elif head == "category_limits":
            category = rest[0] if rest else next(iter(formatting.CATEGORY_NAMES))
            bound = rest[1] if len(rest) > 1 and rest[1] in ("min", "max") else "min"
            field = f"limit-{bound}-{category}"
            name = formatting.CATEGORY_NAMES.get(category, category)
            message = f"The {name.lower()} limit: {message}"
        elif head == "fair_shares" and rest:
            field, message = f"share-{rest[0]}", f"The share of {rest[0]}: {message}"
        elif head in ("fair_shares", "fair_share_mode"):
            field, message = "shares_from", f"The fair shares: {message}"
        elif head == "fair_share_formula":
            if len(rest) >= 3 and rest[0] == "inputs":
                field = f"fi-{rest[1]}-{rest[2]}"
            elif len(rest) >= 2 and rest[0] == "weights":
                field = f"fw-{rest[1]}"
            else:
                field = f"fw-{next(iter(FACTORS))}"
            message = f"The funding formula: {message}"
        else:
            field = head or "form"
            message = message[:1].upper() + message[1:]
        errors.setdefault(field, message)
    return errors


@router.get("/rounds/new")
def new_round(request: Request, session: SessionDep, principal: WebUser,
              first: str | None = None, count: int = 3):  # fmt: skip
    require_role(principal, "ics_finance")
    if refused := new_round_refusal(session, principal):
        raise refused  # a finance user in no system: no form the service would refuse
    choices = formatting.financial_years(formatting.current_financial_year(), 4)
    first = first if first in choices else choices[0]
    count = min(max(count, 1), 10)
    values = {"fair_share_mode": "band", "tolerance_pct": "10", "overcommitment_pct": "0",
              "min_deliverability": "0", "shares_from": "formula",
              **{f"weight-{c}": "0.25" for c in formatting.CRITERIA},
              **{f"fw-{k}": v for k, v in DEFAULT_FACTOR_WEIGHTS.items()}}  # fmt: skip
    return _round_form(request, session, principal, first=first, count=count, values=values,
                       errors={})  # fmt: skip


@router.post("/rounds/new")
def create_round(request: Request, session: SessionDep, principal: WebUser, form: CheckedForm):
    require_role(principal, "ics_finance")
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    first = values.get("first") or formatting.current_financial_year()
    try:
        count = min(max(int(values.get("count") or 3), 1), 10)
        years = formatting.financial_years(first, count)
    except ValueError:
        count, years = 3, formatting.financial_years(formatting.current_financial_year(), 3)
    errors: dict[str, str] = {}
    system = _system(session, principal)
    if refused := permissions.new_round_refusal(principal, system):
        raise refused
    name = values.get("name", "").strip()
    if not name:
        errors["name"] = "Enter a name for the round"
    organisations = sorted(o.code for o in system.organisations)
    body = {"system": system.code, "name": name, "years": years,
            **_parameters(form, years=years, organisations=organisations, errors=errors,
                          editing=False)}  # fmt: skip
    if not errors:
        try:
            round_ = service.create_round(session, principal=principal, body=RoundCreate(**body))
            return redirect(f"/rounds/{round_.id}?created=1")
        except ValidationError as exc:
            errors = _round_errors(_pydantic_errors(exc))
        except InvalidInput as exc:
            errors = _round_errors(exc.errors or [{"loc": "", "msg": exc.detail}])
    return _round_form(request, session, principal, first=first, count=count, values=values,
                       errors=errors, status_code=422, system=system)  # fmt: skip


def _edit_values(view) -> dict[str, str]:
    """The form's fields as the round has them now."""

    def text(value) -> str:
        return "" if value is None else f"{Decimal(str(value)):,.2f}"

    values = {"name": view.name, "overcommitment_pct": f"{view.overcommitment_pct:g}",
              "tolerance_pct": f"{view.tolerance_pct:g}",
              "min_deliverability": f"{view.min_deliverability:g}",
              "fair_share_mode": view.fair_share_mode, "shares_from": "keep",
              "version": str(view.version)}  # fmt: skip
    for year in view.years:
        values[_money_id("envelope", year)] = text(view.envelope.get(year))
        values[_money_id("reserve", year)] = text(view.reserve.get(year) or None)
    for criterion, weight in view.weights.items():
        values[f"weight-{criterion}"] = f"{weight:g}"
    for category, limit in view.category_limits.items():
        values[f"limit-min-{category}"] = text(limit.min)
        values[f"limit-max-{category}"] = text(limit.max)
    formula = view.fair_share_formula or {}
    for factor, weight in (formula.get("weights") or DEFAULT_FACTOR_WEIGHTS).items():
        values[f"fw-{factor}"] = f"{float(weight):g}"
    for code, row in (formula.get("inputs") or {}).items():
        for factor, amount in row.items():
            values[f"fi-{code}-{factor}"] = f"{float(amount):,.0f}"
    for code, share in view.fair_shares.items():
        values[f"share-{code}"] = f"{share * 100:.4g}"
    return values


def _editable(session, principal, round_id: int):
    require_role(principal, "ics_finance")
    round_ = service.get_round(session, principal=principal, round_id=round_id)
    if refused := permissions.round_refusal(principal, round_, "change"):
        raise refused
    return round_


def offers(principal, round_) -> dict:
    """What the round's pages offer, as the rounds service would allow it: changing the round,
    running it (a run, a what-if, the frontier); and why the frontier cannot be computed."""
    run_refused = permissions.round_refusal(principal, round_, "run")
    why_not = None
    if run_refused is not None:
        why_not = (
            "A finance director of the system can compute it."
            if isinstance(run_refused, Forbidden)
            else run_refused.detail
        )
    return {
        "can_change": permissions.round_refusal(principal, round_, "change") is None,
        "can_run": run_refused is None,
        "why_not_run": why_not,
    }


@router.get("/rounds/{round_id}/edit")
def edit_round(request: Request, session: SessionDep, principal: WebUser, round_id: IdPath):
    round_ = _editable(session, principal, round_id)
    view = service.round_view(round_)
    return _round_form(request, session, principal, first=view.years[0], count=len(view.years),
                       values=_edit_values(view), errors={}, round_=round_)  # fmt: skip


@router.post("/rounds/{round_id}/edit")
def update_round(request: Request, session: SessionDep, principal: WebUser, round_id: IdPath,
                 form: CheckedForm):  # fmt: skip
    """Change a draft or open round through the same service as PATCH /api/v1/rounds/{id},
    with the version the form was read at as its If-Match (a change since is refused)."""
    round_ = _editable(session, principal, round_id)
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    years = [y.year for y in round_.years]
    errors: dict[str, str] = {}
    name = values.get("name", "").strip()
    if not name:
        errors["name"] = "Enter a name for the round"
    organisations = sorted(o.code for o in round_.system.organisations)
    body = {"name": name, **_parameters(form, years=years, organisations=organisations,
                                        errors=errors, editing=True)}  # fmt: skip
    status_code = 422
    if not errors:
        try:
            service.update_round(session, principal=principal, round_id=round_id,
                                 body=RoundUpdate(**body),
                                 if_match=values.get("version") or None)  # fmt: skip
            return redirect(f"/rounds/{round_id}?saved=1")
        except ValidationError as exc:
            errors = _round_errors(_pydantic_errors(exc))
        except InvalidInput as exc:
            errors = _round_errors(exc.errors or [{"loc": "", "msg": exc.detail}])
        except PreconditionFailed:
            status_code = 412
            errors = {"form": "Someone changed this round since you opened this page, so "
                              "nothing was saved. Open the round again to see their changes."}  # fmt: skip
    return _round_form(request, session, principal, first=years[0], count=len(years),
                       values=values, errors=errors, status_code=status_code, round_=round_)  # fmt: skip


def run_summaries(session, principal, round_id):
    return [
        service.run_summary(r)
        for r in all_of(service.list_runs, session, principal=principal, round_id=round_id)
    ]


def comparable(runs: list) -> list:
    """The runs compare_runs would compare: those that found a portfolio."""
    return [r for r in runs if permissions.has_portfolio(r)]


@router.get("/rounds/{round_id}")
def show_round(request: Request, session: SessionDep, principal: WebUser, round_id: IdPath,
               created: bool = False, agreed: bool = False, saved: bool = False):  # fmt: skip
    round_ = service.get_round(session, principal=principal, round_id=round_id)
    view = service.round_view(round_)
    names = {o.code: o.name for o in round_.system.organisations}
    runs = run_summaries(session, principal, round_id)
    return render(request, "round.html", round=view, runs=runs, comparable=comparable(runs),
                  names=names, factors=FACTORS, modes=MODES, **offers(principal, round_),
                  created=created, agreed=agreed, saved=saved, errors={}, values={})  # fmt: skip


@router.post("/rounds/{round_id}/runs")
def create_run(request: Request, session: SessionDep, principal: WebUser, round_id: IdPath,
               form: CheckedForm):  # fmt: skip
    require_role(principal, "ics_finance")
    round_ = service.get_round(session, principal=principal, round_id=round_id)
    view = service.round_view(round_)
    errors: dict[str, str] = {}
    body: dict = {}
    label = str(form.get("label") or "").strip()
    if label:  # the model refuses an explicit null: a blank title is no title
        body["label"] = label
    scale = _number(form, "envelope_pct", errors, "the envelope as a percentage", required=False)
    if scale is not None and scale != 100:
        body["envelope"] = {
            y: (a * scale / 100).quantize(Decimal("0.01")) for y, a in view.envelope.items()
        }
    mode = form.get("fair_share_mode")
    if mode in MODES:
        body["fair_share_mode"] = mode
    tolerance = _number(form, "tolerance_pct", errors, "the tolerance", required=False)
    if tolerance is not None:
        body["tolerance_pct"] = tolerance
    gateway = _number(
        form, "min_deliverability", errors, "the deliverability gateway", required=False
    )
    if gateway is not None:
        body["min_deliverability"] = float(gateway)
    if not errors:
        try:
            request_body = RunRequest(**body)
            prepared = service.prepare_run(
                session, principal=principal, round_id=round_id, body=request_body
            )
            end_read_phase(session)  # hold no transaction while the solver works
            result = service.solve_run(prepared=prepared)
            run = service.record_run(session, principal=principal, prepared=prepared, result=result)
            return redirect(f"/runs/{run.id}")
        except ValidationError as exc:
            errors = _field_errors(_pydantic_errors(exc))
        except InvalidInput as exc:
            errors = _field_errors(exc.errors or [{"loc": "", "msg": exc.detail}])
    names = {o.code: o.name for o in round_.system.organisations}
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    runs = run_summaries(session, principal, round_id)
    return render(request, "round.html", status_code=422, round=view, runs=runs,
                  comparable=comparable(runs), names=names, **offers(principal, round_),
                  factors=FACTORS, modes=MODES, created=False, agreed=False, saved=False, errors=errors,
                  values=values)  # fmt: skip
