"""Schemes: the register (everyone), and a trust's own schemes: new, edit, submit, withdraw,
spreadsheet upload. Every change goes through api.schemes.service (roles, scope, audit)."""

from decimal import Decimal

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.assessments import service as assessments_service
from api.delivery import service as delivery_service
from api.deps import Principal, SessionDep
from api.errors import InvalidInput, PreconditionFailed
from api.schemes import imports, service, spreadsheets
from api.schemes.schemas import SchemeCreate, SchemeUpdate
from api.systems import repository as systems_repository
from api.types import (
    CODE_PATTERN,
    TOO_MANY_POUNDS,
    CodeQuery,
    IdPath,
    NotPounds,
    ascii_digits,
    typed_pounds,
)
from web import formatting, uploads
from web.app import redirect, render
from web.lists import all_of
from web.security import CheckedForm, WebUser, require_role

router = APIRouter()
PAGE = 50
CATEGORIES = list(formatting.CATEGORY_NAMES)
STATUSES = ["draft", "submitted", "withdrawn", "approved"]


def _years(existing: dict | None = None) -> list[str]:
    years = formatting.financial_years(formatting.current_financial_year(), 5)
    return sorted(set(years) | set(existing or {}))


def year_id(year: str) -> str:
    return "cost-" + year.replace("/", "-")


def _field_errors(raw: list[dict]) -> dict[str, str]:
    """Service or validation errors as {form field id: message}."""
    errors: dict[str, str] = {}
    for error in raw:
        loc = error["loc"].removeprefix("body.").removeprefix("body")
        name = loc.split(".")[0] if loc else ""
        if name == "cost_profile" and "." in loc:
            name = year_id(loc.split(".", 1)[1])
        message = error["msg"].removeprefix("Value error, ")
        if not name:
            name = next(
                (f for f in ("cost_profile", "mandatory_reason") if message.startswith(f)), ""
            )
            message = message.replace("cost_profile", "the cost").replace(
                "mandatory_reason", "a reason"
            )
            message = message.replace("mandatory is true", "the scheme is mandatory")
            message = message[:1].upper() + message[1:]
        if name == "cost_profile":
            name = year_id(formatting.financial_years(formatting.current_financial_year(), 1)[0])
        errors.setdefault(name or "form", message)
    return errors


def _pydantic_errors(exc: ValidationError) -> list[dict]:
    out = []
    for e in exc.errors():
        parts = [str(p) for p in e["loc"]]
        loc = "body." + ".".join(parts) if parts else "body"
        msg = e["msg"]
        name = parts[-1].replace("_", " ") if parts else "value"
        if e["type"] == "string_too_short" and e.get("input"):
            msg = f"The {name} must be {e['ctx']['min_length']:,} characters or more"
        elif e["type"] == "string_too_short":
            msg = "Enter a " + name
        elif e["type"] == "string_pattern_mismatch" and e["ctx"]["pattern"] == CODE_PATTERN:
            msg = f"Enter the {name} in capital letters and digits, like QWV"
        elif e["type"] == "string_too_long":
            msg = f"The {name} must be {e['ctx']['max_length']:,} characters or fewer"
        elif e["type"] == "too_long":
            msg = f"Give at most {e['ctx']['max_length']:,} for the {name}"
        elif e["type"] in ("literal_error", "enum") and parts:
            msg = "Choose the " + name
        elif e["type"] == "missing":
            msg = "Choose or enter the " + name
        elif e["type"] == "value_error" and "control characters" in msg:
            msg = f"The {name} has a control character that cannot be stored: remove it"
        out.append({"loc": loc, "msg": msg})
    return out


def _form_values(form, years: list[str]) -> tuple[dict, dict[str, str]]:
    """The scheme fields from a submitted form, and any amounts that are not money."""
    errors: dict[str, str] = {}
    profile = {}
    for year in years:
        text = str(form.get(year_id(year)) or "").strip()
        if not text:
            continue
        try:
            amount = typed_pounds(text)
        except NotPounds as error:
            errors[year_id(year)] = (
                f"The {year} cost {TOO_MANY_POUNDS}"
                if error.too_large
                else f"Enter the {year} cost in pounds, like 450000 or 450,000.00"
            )
            continue
        if amount != 0:
            profile[year] = amount
    values = {
        "title": str(form.get("title") or "").strip(),
        "description": str(form.get("description") or "").strip(),
        "category": form.get("category") or None,
        "business_case_stage": form.get("business_case_stage") or "none",
        "backlog_risk": form.get("backlog_risk") or None,
        "mandatory": form.get("mandatory") == "yes",
        "mandatory_reason": str(form.get("mandatory_reason") or "").strip() or None,
        "alternative_group": str(form.get("alternative_group") or "").strip() or None,
        "cost_profile": profile,
    }
    deferral = str(form.get("max_deferral_years") or "0").strip()
    if ascii_digits(deferral):
        values["max_deferral_years"] = int(deferral)
    else:
        errors["max_deferral_years"] = "Enter a whole number of years from 0 to 5"
    depends = [p.strip() for p in str(form.get("depends_on") or "").split(",") if p.strip()]
    if all(ascii_digits(p) for p in depends):
        values["depends_on"] = [int(p) for p in depends]
    else:
        errors["depends_on"] = "Enter scheme numbers separated by commas, like 12, 15"
    return values, errors


def _quoted(text: str) -> str:
    return "“" + (text if len(text) <= 100 else text[:99].rstrip() + "…") + "”"


# How _saved_now compares a field's values (the form's and the saved scheme's) ...


def _blank(value):
    """An empty text and None are the same: nothing."""
    return value if value not in ("", None) else None


def _amount(value) -> Decimal:
    return Decimal(str(value or 0))


def _ids(ids) -> list[int]:
    return sorted(ids or [])


# ... and what it says the saved scheme "has" or "is".


def _has_text(value) -> str:
    return "has " + (_quoted(value) if value else "none")


def _named(names: dict[str, str]):
    def has_name(value) -> str:
        return "has " + (names.get(value, value) if value else "none")

    return has_name


def _listed(ids) -> str:
    return "has " + (", ".join(str(i) for i in sorted(ids)) if ids else "none")


def _money(amount: Decimal) -> str:
    return "has " + (
        formatting.pounds(amount, pence=amount != amount.to_integral()) if amount else "none"
    )


def _is_mandatory(mandatory: bool) -> str:
    return "is mandatory" if mandatory else "is not mandatory"


def _has_number(number: int) -> str:
    return f"has {number}"


def _saved_now(saved: dict, values: dict, years: list[str]) -> dict[str, str]:
    """Someone else saved first: each field where the form differs from the scheme as saved
    now, in the form's order, as {field id: what is saved}."""
    fields = [  # id, label, what the saved scheme "has" or "is", how values compare
        ("title", "Title", _has_text, _blank),
        ("description", "Description", _has_text, _blank),
        ("category", "Category", _named(formatting.CATEGORY_NAMES), _blank),
        ("business_case_stage", "Business case stage", _named(formatting.STAGE_NAMES), _blank),
        ("backlog_risk", "Backlog risk", _named(formatting.RISK_NAMES), _blank),
        *[(year_id(y), f"{y} cost", _money, _amount) for y in years],
        ("mandatory", "Mandatory", _is_mandatory, bool),
        ("mandatory_reason", "Why it is mandatory", _has_text, _blank),
        ("max_deferral_years", "How many years its start may slip", _has_number, int),
        ("depends_on", "Schemes it depends on", _listed, _ids),
        ("alternative_group", "Alternative group", _has_text, _blank),
    ]
    costs = {year_id(y): (values.get("cost_profile", {}).get(y), saved["cost_profile"].get(y))
             for y in years}  # fmt: skip
    differences = {}
    for field, label, shown, compared in fields:
        mine, theirs = costs.get(field) or (values.get(field), saved.get(field))
        if compared(mine) != compared(theirs):
            differences[field] = f"{label}: the saved scheme {shown(compared(theirs))}"
    return differences


def _scheme_form(request: Request, session: Session, principal: Principal, *, scheme=None,
                 values: dict | None = None, errors: dict | None = None, status_code: int = 200,
                 summary: str = ""):  # fmt: skip
    systems = all_of(systems_repository.list_systems, session, ids=principal.system_ids)
    organisations = all_of(
        systems_repository.list_organisations, session, system_ids=principal.system_ids
    )
    if principal.role == "trust":
        organisations = [o for o in organisations if o.id == principal.organisation_id]
    if values is None:
        values = service.read_scheme(session, scheme).model_dump() if scheme else {}
    years = _years((values.get("cost_profile") or {}) | (scheme.cost_profile if scheme else {}))
    return render(request, "scheme_form.html", status_code=status_code, scheme=scheme, values=values,
                  errors=errors or {}, summary=summary, years=years, year_id=year_id, systems=systems,
                  organisations=organisations, categories=CATEGORIES)  # fmt: skip


@router.get("/schemes")
def list_schemes(request: Request, session: SessionDep, principal: WebUser,
                 status: str | None = None, organisation: str | None = None,
                 category: str | None = None, mine: bool = False, page: int = 1):  # fmt: skip
    status = status if status in STATUSES else None
    category = category if category in CATEGORIES else None
    organisations = all_of(
        systems_repository.list_organisations, session, system_ids=principal.system_ids
    )
    # Like the other filters, one that is not on offer is dropped (a hand-edited address).
    organisation = organisation if organisation in {o.code for o in organisations} else None
    if mine and principal.organisation_id:
        own = next((o for o in organisations if o.id == principal.organisation_id), None)
        organisation = own.code if own else organisation
    page = max(1, min(page, 10_000))
    result = service.list_schemes(
        session, principal=principal, system=None, organisation=organisation or None,
        category=category, status=status, limit=PAGE, offset=(page - 1) * PAGE,
    )  # fmt: skip
    pages = max(1, -(-result.total // PAGE))
    return render(request, "schemes.html", result=result, page=page, pages=pages,
                  filters={"status": status, "organisation": organisation, "category": category},
                  status_options=[(s, formatting.STATUS_NAMES[s]) for s in STATUSES],
                  organisation_options=[(o.code, f"{o.code} – {o.name}") for o in organisations],
                  category_options=list(formatting.CATEGORY_NAMES.items()))  # fmt: skip


@router.get("/schemes/new")
def new_scheme(request: Request, session: SessionDep, principal: WebUser):
    require_role(principal, "trust", "admin")
    if refused := service.new_scheme_refusal(principal):
        raise refused  # a closed organisation's trust: no form the service would refuse
    return _scheme_form(request, session, principal)


@router.post("/schemes/new")
def create_scheme(request: Request, session: SessionDep, principal: WebUser, form: CheckedForm):
    require_role(principal, "trust", "admin")
    values, errors = _form_values(form, _years())
    values["system"] = str(form.get("system") or "")
    values["organisation"] = str(form.get("organisation") or "")
    if not errors:
        try:
            scheme = service.create_scheme(
                session, principal=principal, body=SchemeCreate(**values)
            )
            return redirect(f"/schemes/{scheme.id}?created=1")
        except ValidationError as exc:
            errors = _field_errors(_pydantic_errors(exc))
        except InvalidInput as exc:
            errors = _field_errors(exc.errors or [{"loc": "", "msg": exc.detail}])
    return _scheme_form(request, session, principal, values=values, errors=errors, status_code=422)


@router.get("/schemes/upload")
def upload_page(request: Request, session: SessionDep, principal: WebUser):
    require_role(principal, "trust", "admin")
    systems = all_of(systems_repository.list_systems, session, ids=principal.system_ids)
    return render(request, "upload.html", systems=systems, outcome=None, submit=False)


@router.get("/schemes/template.xlsx")
def upload_template(session: SessionDep, principal: WebUser, system: CodeQuery) -> Response:
    """The API's scheme template (GET /api/v1/schemes/template.xlsx) for a signed-in trust:
    five years from this one, its own organisations in the drop-down."""
    require_role(principal, "trust", "admin")
    years = formatting.financial_years(formatting.current_financial_year(), 5)
    content = imports.template(session, principal=principal, system=system, years=years)
    headers = {"Content-Disposition": f'attachment; filename="schemes-template-{system}.xlsx"'}
    return Response(content, media_type=spreadsheets.XLSX, headers=headers)


@router.post("/schemes/upload")
def upload(request: Request, session: SessionDep, principal: WebUser, form: CheckedForm):
    require_role(principal, "trust", "admin")
    dry_run = form.get("action") != "import"
    submit = form.get("submit") == "yes"
    systems = all_of(systems_repository.list_systems, session, ids=principal.system_ids)
    system = str(form.get("system") or (systems[0].code if len(systems) == 1 else ""))
    upload_file = form.get("file")
    filename = getattr(upload_file, "filename", "") or ""
    if not filename:
        outcome = uploads.UploadOutcome(filename="")
        outcome.problems.append(uploads.Problem(0, "file", "", "choose a spreadsheet to upload"))
    else:
        content = upload_file.file.read(uploads.MAX_BYTES + 1)
        outcome = uploads.check_and_import(
            session, principal=principal, system=system, filename=filename, content=content,
            submit=submit, dry_run=dry_run,
        )  # fmt: skip
    status = 422 if outcome.problems else 200
    return render(request, "upload.html", status_code=status, systems=systems, outcome=outcome,
                  submit=submit, system=system)  # fmt: skip


@router.get("/schemes/{scheme_id}")
def show_scheme(request: Request, session: SessionDep, principal: WebUser, scheme_id: IdPath,
                created: bool = False, saved: bool = False):  # fmt: skip
    scheme = service.get_scheme(session, principal=principal, scheme_id=scheme_id)
    view = service.read_scheme(session, scheme)
    assessments = []
    if principal.role != "trust" or scheme.organisation_id == principal.organisation_id:
        assessments = [assessments_service.assessment_view(a) for a in
                       all_of(assessments_service.list_assessments, session, principal=principal, scheme_id=scheme.id)]  # fmt: skip
    # What the scheme's own service would do for this person now: a page offers no action
    # it would refuse, and says why a draft cannot be submitted.
    refused = {a: service.refusal(principal, scheme, a) for a in ("edit", "submit", "withdraw")}
    return render(request, "scheme.html", scheme=view, organisation=scheme.organisation,
                  can_write=service.can_change(principal, scheme), assessments=assessments,
                  allowed={a for a, r in refused.items() if r is None},
                  can_score=assessments_service.scoring_refusal(principal, scheme) is None,
                  delivery=next((a for a in ("record", "read")
                                 if delivery_service.delivery_refusal(principal, scheme, a) is None), None),
                  submit_refused=refused["submit"] if scheme.status == "draft" else None,
                  created=created, saved=saved)  # fmt: skip


@router.get("/schemes/{scheme_id}/edit")
def edit_scheme(request: Request, session: SessionDep, principal: WebUser, scheme_id: IdPath):
    scheme = service.get_scheme(session, principal=principal, scheme_id=scheme_id)
    if refused := service.refusal(principal, scheme, "edit"):
        raise refused  # no form for an edit the service would refuse
    return _scheme_form(request, session, principal, scheme=scheme)


@router.post("/schemes/{scheme_id}/edit")
def update_scheme(request: Request, session: SessionDep, principal: WebUser, scheme_id: IdPath,
                  form: CheckedForm):  # fmt: skip
    scheme = service.get_scheme(session, principal=principal, scheme_id=scheme_id)
    values, errors = _form_values(form, _years(scheme.cost_profile))
    if not errors:
        try:
            service.update_scheme(session, principal=principal, scheme_id=scheme_id,
                                  body=SchemeUpdate(**values), if_match=str(form.get("version") or ""))  # fmt: skip
            return redirect(f"/schemes/{scheme_id}?saved=1")
        except ValidationError as exc:
            errors = _field_errors(_pydantic_errors(exc))
        except InvalidInput as exc:
            # The service changed the scheme in memory before refusing: the page's 422 would
            # otherwise commit those changes.
            session.rollback()
            errors = _field_errors(exc.errors or [{"loc": "", "msg": exc.detail}])
        except PreconditionFailed:
            # Someone saved first. Nothing of this edit is saved; what the person typed is kept
            # on the form, at the latest version, so saving again is a deliberate choice.
            session.rollback()
            latest = service.get_scheme(session, principal=principal, scheme_id=scheme_id)
            values["version"] = latest.version
            saved = service.read_scheme(session, latest).model_dump()
            errors = _saved_now(
                saved, values, _years(values["cost_profile"] | saved["cost_profile"])
            )
            summary = ("Someone else saved this scheme while you were editing it, so your "
                       "changes are not saved yet.")  # fmt: skip
            if errors:
                summary += (" Check each field below against what is saved now, then save again"
                            " to keep what the form says.")  # fmt: skip
            else:
                errors = {"save": "Nothing on this form differs from what is saved now: save "
                                  "again to keep your changes"}  # fmt: skip
            return _scheme_form(request, session, principal, scheme=latest, values=values,
                                errors=errors, summary=summary, status_code=412)  # fmt: skip
    values["version"] = form.get("version")
    return _scheme_form(request, session, principal, scheme=scheme, values=values, errors=errors,
                        status_code=422)  # fmt: skip


@router.post("/schemes/{scheme_id}/{action}")
def change_status(request: Request, session: SessionDep, principal: WebUser, scheme_id: IdPath,
                  action: str, form: CheckedForm):  # fmt: skip
    if action not in ("submit", "withdraw"):
        raise InvalidInput("Unknown action.")
    service.change_status(session, principal=principal, scheme_id=scheme_id, action=action,
                          if_match=str(form.get("version") or "") or None)  # fmt: skip
    return redirect(f"/schemes/{scheme_id}?saved=1")
