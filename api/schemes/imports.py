"""Bulk import: every row validated first; then all are written in one transaction, or none.

A row without an `id` creates a scheme. A row with an `id` (an exported workbook filled in
again) updates that scheme, if the caller may change it and its `version` is still the one
exported; a row identical to its scheme is left alone, so re-importing an export creates no
duplicates and changes nothing.
"""

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import ConfigDict, TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.deps import Principal
from api.errors import InvalidInput, NotFound, _loc, field_error
from api.schemes import repository, service, spreadsheets
from api.schemes.models import Scheme, SchemeCost
from api.schemes.schemas import (
    MAX_IMPORT_ROWS,
    SchemeImport,
    SchemeImportResult,
    SchemeImportRow,
    SchemeUpdate,
)
from api.systems import repository as systems_repository
from api.types import Code
from optimiser.graphs import find_cycle

# A form's system code, checked as SchemeImport checks its `system` (RequestModel's config).
_SYSTEM_CODE = TypeAdapter(Code, config=ConfigDict(str_strip_whitespace=True, strict=True))

FIELDS = ("title", "description", "category", "business_case_stage", "backlog_risk", "mandatory",
          "mandatory_reason", "alternative_group", "max_deferral_years")  # fmt: skip


@dataclass(frozen=True)
class FailedRow:
    """What can still be checked of a row that failed its own checks, where those fields were
    themselves right: its organisation, dependencies, and the `id` and `version` of the scheme
    it would update. `creating` (no id given, and none wrongly given) says a closed
    organisation or a missing dependency can be judged without that scheme. `version_read`:
    the version field had no problem of its own (None then means none was given). `changes`:
    a problem is in one of the scheme's own fields (or across them), so the row would change
    the scheme it names, whose stored values pass those checks. `row`: where the only problems
    are keys a row may not have, the rest of it, if valid; it says whether the row changes its
    scheme (_unchanged)."""

    organisation: str | None
    creating: bool
    depends_on: tuple[int, ...] = ()
    depends_on_rows: tuple[int, ...] = ()
    id: int | None = None
    version: int | None = None
    version_read: bool = False
    changes: bool = False
    row: SchemeImportRow | None = None


def _unchanged(row: SchemeImportRow, scheme: Scheme) -> bool:
    if row.depends_on_rows or any(getattr(row, f) != getattr(scheme, f) for f in FIELDS):
        return False
    if sorted(set(row.depends_on)) != sorted(d.id for d in scheme.depends_on):
        return False
    profile = {y: Decimal(a) for y, a in scheme.cost_profile.items() if Decimal(a) != 0}
    return {y: Decimal(a) for y, a in row.cost_profile.items()} == profile


def _update_errors(
    principal: Principal, scheme: Scheme | None, system, here: str, *, scheme_id: int,
    organisation: str | None, version: int | None, version_read: bool = True,
    row: SchemeImportRow | None = None, changes: bool = False,
) -> list[dict[str, str]]:  # fmt: skip
    """Why a row may not update scheme `scheme_id`. Of a row that failed its own checks
    (`row` None) only what it got right is judged: its organisation if known, its version if
    `version_read`, and whether it changes a scheme that can no longer change where that is
    known (`changes`: FailedRow's)."""
    if scheme is None or scheme.system_id != system.id or not service.can_read(principal, scheme):
        return [
            field_error(f"{here}.id", f"no scheme {scheme_id} in {system.code} that you can see")
        ]
    if principal.role == "trust" and scheme.organisation_id != principal.organisation_id:
        return [
            field_error(
                f"{here}.id", "trust users may only change their own organisation's schemes"
            )
        ]
    errors = []
    if organisation is not None and organisation != scheme.organisation.code:
        errors.append(field_error(f"{here}.organisation",
                                  f"scheme {scheme.id} belongs to {scheme.organisation.code}; "
                                  "a scheme cannot move to another organisation"))  # fmt: skip
    if not version_read:
        return errors
    if version is None:
        errors.append(field_error(f"{here}.version", f"the version last read is needed to update scheme "
                                  f"{scheme.id} (export the schemes again to get it)"))  # fmt: skip
    elif version != scheme.version:
        errors.append(field_error(f"{here}.version", f"scheme {scheme.id} was changed by someone else since "
                                  f"version {version} (it is now version {scheme.version}): export again"))  # fmt: skip
    elif (
        changes or (row is not None and not _unchanged(row, scheme))
    ) and scheme.status not in service.EDITABLE_STATUSES:
        errors.append(
            field_error(
                f"{here}.id", f"scheme {scheme.id} is {scheme.status} and cannot be changed"
            )
        )
    return errors


def import_schemes(
    session: Session, *, principal: Principal, body: SchemeImport,
    row_label: Callable[[int], str] = lambda index: f"row {index}",
    problems: Sequence[dict[str, str]] = (),
    failed_rows: Mapping[int, FailedRow] | None = None,
) -> SchemeImportResult:  # fmt: skip
    """Create each row without an id as a scheme of `body.system` (drafts, or submitted with
    `submit`) and update each row with one; in a dry run, only say what would happen.
    `row_label` names a row in a message (a spreadsheet's row number, not the list index).

    A row that did not pass its own checks (import_document's, import_spreadsheet's) is None
    in `body.schemes`: it is left out of these checks, as is a reference to it, and nothing
    is written. `problems` are those checks' errors, named with these in one answer by row
    (the spreadsheet names its own, by row and column, and passes none). What can still be
    checked of such a row (`failed_rows`, by row) is, so one answer also says its organisation
    is not one of the system's (or the caller's, or is closed), its id names no scheme it may
    update (or one on another row, or its version is stale), a dependency is missing and it
    closes a cycle of dependencies."""
    principal.require_role("trust", "admin")
    system = systems_repository.get_system_by_code(session, code=body.system)
    if system is None:
        errors = [field_error("body.system", f"no system {body.system}"), *problems]
        raise InvalidInput("Unknown system." if not problems else
                           f"{len(errors)} problem(s) in the import; nothing was written.",
                           errors=errors)  # fmt: skip
    principal.require_system(system.id)
    organisations = {o.code: o for o in system.organisations}
    given = [row for row in body.schemes if row is not None]
    failed_rows = failed_rows or {}
    wanted = {d for row in given for d in row.depends_on}
    wanted |= {d for failed in failed_rows.values() for d in failed.depends_on}
    wanted |= {row.id for row in given if row.id is not None}
    wanted |= {failed.id for failed in failed_rows.values() if failed.id is not None}
    existing = (
        {s.id: s for s in repository.get_schemes(session, ids=sorted(wanted))} if wanted else {}
    )
    errors = []
    seen: dict[int, int] = {}

    def organisation_refusal(code: str, *, creating: bool) -> str | None:
        organisation = organisations.get(code)
        if organisation is None:
            return f"{code} is not an organisation of {system.code}"
        if principal.role == "trust" and organisation.id != principal.organisation_id:
            return "trust users may only import their own organisation's schemes"
        # As create_scheme: a closed organisation records no new schemes (its existing ones
        # can still be updated by row id).
        return service.closed_refusal(organisation) if creating else None

    def id_errors(
        scheme_id: int, index: int, here: str, *, organisation_known: bool, **update
    ) -> list[dict[str, str]]:
        """A row's id: on no other row, and (where its organisation is one of the system's or
        not known) a scheme the row may update (_update_errors)."""
        found = []
        if scheme_id in seen:
            found.append(field_error(f"{here}.id",
                                     f"scheme {scheme_id} is also on {row_label(seen[scheme_id])}"))  # fmt: skip
        seen.setdefault(scheme_id, index)
        if organisation_known:
            found += _update_errors(principal, existing.get(scheme_id), system, here,
                                    scheme_id=scheme_id, **update)  # fmt: skip
        return found

    def dependency_errors(
        depends_on: Sequence[int], scheme_id: int | None, here: str
    ) -> list[dict[str, str]]:
        """Each dependency a scheme the caller may read in the system, or one the updated
        scheme already shows, as update_scheme allows (only a scheme the caller may read says
        what it holds: no probing through row ids); and not the scheme itself."""
        updated = existing.get(scheme_id) if scheme_id is not None else None
        held = set()
        if updated is not None and service.can_depend_on(
            principal, updated, system_id=system.id, held=set()
        ):
            held = {d.id for d in updated.depends_on}
        found = []
        for position, dependency in enumerate(depends_on):
            here_dependency = f"{here}.depends_on[{position}]"
            if not service.can_depend_on(
                principal, existing.get(dependency), system_id=system.id, held=held
            ):
                found.append(
                    field_error(here_dependency, f"no scheme {dependency} in {system.code}")
                )
            elif dependency == scheme_id:
                found.append(field_error(here_dependency, "a scheme cannot depend on itself"))
        return found

    def row_reference_errors(others: Sequence[int], index: int, here: str) -> list[dict[str, str]]:
        return [
            field_error(
                f"{here}.depends_on_rows[{position}]", f"no other row {other} in this import"
            )
            for position, other in enumerate(others)
            if not 0 <= other < len(body.schemes) or other == index
        ]

    def failed_row_errors(failed: FailedRow | None, index: int, here: str) -> list[dict[str, str]]:
        """What is right of a row that failed its own checks: its organisation, its id (and
        version), and its dependencies where it creates a scheme or its id is known (an update
        with a wrong id may keep what its scheme holds, unknown here)."""
        if failed is None:
            return []
        found = []
        if failed.organisation is not None and (
            refused := organisation_refusal(failed.organisation, creating=failed.creating)
        ):
            found.append(field_error(f"{here}.organisation", refused))
        if failed.id is not None:
            known = failed.organisation is None or failed.organisation in organisations
            found += id_errors(failed.id, index, here, organisation_known=known,
                               organisation=failed.organisation, version=failed.version,
                               version_read=failed.version_read, changes=failed.changes,
                               row=failed.row)  # fmt: skip
        if failed.creating or failed.id is not None:
            found += dependency_errors(failed.depends_on, failed.id, here)
        return found + row_reference_errors(failed.depends_on_rows, index, here)

    for index, row in enumerate(body.schemes):
        here = f"body.schemes[{index}]"
        if row is None:
            errors += failed_row_errors(failed_rows.get(index), index, here)
            continue
        if refused := organisation_refusal(row.organisation, creating=row.id is None):
            errors.append(field_error(f"{here}.organisation", refused))
        if row.id is not None:
            errors += id_errors(row.id, index, here, organisation_known=row.organisation in organisations,
                                organisation=row.organisation, version=row.version, row=row)  # fmt: skip
        errors += dependency_errors(row.depends_on, row.id, here)
        errors += row_reference_errors(row.depends_on_rows, index, here)
    if not errors:
        errors += _cycle_errors(session, body, principal=principal, system_id=system.id,
                                row_label=row_label, failed_rows=failed_rows)  # fmt: skip
    if errors or problems or len(given) < len(body.schemes):
        errors = sorted([*problems, *errors], key=_row_of)  # stable: a row's own checks first
        raise InvalidInput(
            f"{len(errors)} problem(s) in the import; nothing was written.", errors=errors
        )
    updates = [i for i, row in enumerate(body.schemes) if row.id is not None]
    changed = [i for i in updates if not _unchanged(body.schemes[i], existing[body.schemes[i].id])]
    new = [i for i, row in enumerate(body.schemes) if row.id is None]
    if body.dry_run:
        return SchemeImportResult(dry_run=True, created=len(new), updated=len(changed),
                                  unchanged=len(updates) - len(changed), ids=[])  # fmt: skip

    status = "submitted" if body.submit else "draft"
    target: dict[int, Scheme] = {i: existing[body.schemes[i].id] for i in updates}
    for i in new:
        row = body.schemes[i]
        target[i] = Scheme(
            system_id=system.id,
            organisation_id=organisations[row.organisation].id,
            title=row.title, description=row.description, category=row.category,
            business_case_stage=row.business_case_stage, backlog_risk=row.backlog_risk,
            mandatory=row.mandatory, mandatory_reason=row.mandatory_reason,
            alternative_group=row.alternative_group, max_deferral_years=row.max_deferral_years,
            status=status, created_by_id=principal.user.id,
            costs=[SchemeCost(year=y, amount=a) for y, a in sorted(row.cost_profile.items())],
            depends_on=[existing[d] for d in dict.fromkeys(row.depends_on)],
        )  # fmt: skip
    for i in new:
        target[i].depends_on += [target[r] for r in dict.fromkeys(body.schemes[i].depends_on_rows)]
    created = [target[i] for i in new]
    session.add_all(created)
    session.flush()
    session.add_all(
        AuditEvent(
            actor_id=principal.user.id, actor_name=principal.name, action="import", entity="scheme",
            entity_id=str(target[i].id), system_id=system.id,
            after={"title": target[i].title, "organisation": body.schemes[i].organisation, "status": status,
                   "cost_profile": {y: float(a) for y, a in body.schemes[i].cost_profile.items()}},
        )
        for i in new
    )  # fmt: skip
    session.flush()
    for i in changed:
        row = body.schemes[i]
        fields = {f: getattr(row, f) for f in FIELDS} | {"cost_profile": row.cost_profile}
        depends_on = list(
            dict.fromkeys(row.depends_on + [target[r].id for r in row.depends_on_rows])
        )
        service.update_scheme(
            session, principal=principal, scheme_id=row.id,
            body=SchemeUpdate(**fields, depends_on=depends_on), if_match=str(row.version),
        )  # fmt: skip
    return SchemeImportResult(
        dry_run=False, created=len(created), updated=len(changed),
        unchanged=len(updates) - len(changed), ids=[s.id for s in created],
        updated_ids=[body.schemes[i].id for i in changed],
    )  # fmt: skip


def _row_of(error: dict[str, str]) -> int:
    """The row an error is about (-1 for the document's own fields), to list them in order."""
    found = _ROW.match(error["loc"])
    return int(found.group(1)) if found else -1


_ROW = re.compile(r"^body\.schemes\[(\d+)\]")
# A row's fields that are the scheme's own: a problem in one means the row would change it.
_OWN_FIELDS = set(SchemeImportRow.model_fields) - {"id", "version"}


def _without_stray_keys(row: dict) -> SchemeImportRow | None:
    """A row whose only problems are keys it may not have, without them: valid, or None."""
    try:
        return SchemeImportRow.model_validate(
            {key: value for key, value in row.items() if key in SchemeImportRow.model_fields}
        )
    except ValidationError:
        return None


def import_document(session: Session, *, principal: Principal, document: Any) -> SchemeImportResult:
    """A JSON import (`SchemeImport`, parsed but not validated): one answer names every problem.

    A document that validates is imported. Otherwise each row's own problems (pydantic's: a
    wrong category, a cost profile without a cost) are named, and the rows that passed are
    still checked as an import (organisation, closed organisation, ids, dependencies), so
    nothing is left to find on the next attempt. Only a document whose system or list of
    schemes is itself wrong is not checked further. Nothing is written if anything is wrong."""
    try:
        body = SchemeImport.model_validate(document)
    except ValidationError as exc:
        found = exc.errors(include_url=False)
    else:
        return import_schemes(session, principal=principal, body=body)
    problems = [field_error(_loc(("body", *e["loc"])), e["msg"]) for e in found]
    failed = {e["loc"][1] for e in found if len(e["loc"]) > 1 and e["loc"][0] == "schemes"
              and isinstance(e["loc"][1], int)}  # fmt: skip
    rows = document.get("schemes") if isinstance(document, dict) else None
    if any(len(e["loc"]) < 2 and e["loc"][:1] in ((), ("system",), ("schemes",)) for e in found):
        # No system to check the rows against, or no list of rows (missing, empty, too long).
        raise InvalidInput(
            f"{len(problems)} problem(s) in the import; nothing was written.", errors=problems
        )
    # The rows that passed, each validated again alone (the document as a whole did not).
    schemes = [
        None if i in failed else SchemeImportRow.model_validate(r) for i, r in enumerate(rows)
    ]
    # What pydantic found nothing wrong with in a failed row is checked too.
    wrong = {e["loc"][:3] for e in found}

    failed_rows = {}
    for i in failed:
        if not isinstance(rows[i], dict):
            continue
        organisation, depends_on, depends_on_rows, scheme_id, version = (
            rows[i].get(field) if ("schemes", i, field) not in wrong else None
            for field in ("organisation", "depends_on", "depends_on_rows", "id", "version")
        )
        changes = any(
            loc[:2] == ("schemes", i) and (len(loc) == 2 or loc[2] in _OWN_FIELDS) for loc in wrong
        )
        failed_rows[i] = FailedRow(
            organisation=organisation.strip() if isinstance(organisation, str) else None,
            creating=rows[i].get("id") is None,
            depends_on=tuple(depends_on) if isinstance(depends_on, list) else (),
            depends_on_rows=tuple(depends_on_rows) if isinstance(depends_on_rows, list) else (),
            id=scheme_id,
            version=version,
            version_read=("schemes", i, "version") not in wrong,
            changes=changes,
            row=None if changes else _without_stray_keys(rows[i]),
        )
    checked = SchemeImport.model_construct(system=document["system"].strip(), schemes=schemes,
                                           submit=False, dry_run=True)  # fmt: skip
    return import_schemes(session, principal=principal, body=checked, problems=problems,
                          failed_rows=failed_rows)  # fmt: skip


def _cycle_errors(
    session: Session, body: SchemeImport, *, principal: Principal, system_id: int,
    row_label: Callable[[int], str], failed_rows: Mapping[int, FailedRow],
) -> list[dict[str, str]]:  # fmt: skip
    """The system's dependencies as they would be after the import must have no cycle; the
    error names only the schemes the caller can read (service.cycle_path)."""
    # A row that did not pass its own checks (None) brings what is known of it (FailedRow):
    # a dependency field that was wrong adds no edge, so any cycle found is a true one. A row
    # with no FailedRow is left out, and so are edges to it.
    rows: dict[int, SchemeImportRow | FailedRow] = {
        i: row if row is not None else failed_rows[i]
        for i, row in enumerate(body.schemes)
        if row is not None or i in failed_rows
    }

    def node(i: int) -> str:
        return f"scheme {rows[i].id}" if rows[i].id is not None else row_label(i)

    graph: dict[str, set[str]] = {}
    if any(row.id is not None for row in rows.values()):
        for scheme_id, depends in repository.dependency_graph(session, system_id=system_id).items():
            graph[f"scheme {scheme_id}"] = {f"scheme {d}" for d in depends}
    for i, row in rows.items():
        graph[node(i)] = {f"scheme {d}" for d in row.depends_on} | {
            node(r) for r in row.depends_on_rows if r in rows
        }
    cycle = find_cycle(graph)
    if cycle is None:
        return []
    if not rows:
        return []
    first = next((i for i in rows if node(i) == cycle[0]), next(iter(rows)))
    if not rows[first].depends_on_rows and any(node(i) in cycle for i in rows):
        first = next(i for i in rows if node(i) in cycle)
    path = service.cycle_path(
        session, principal=principal, cycle=cycle,
        scheme_id=lambda node: int(node.removeprefix("scheme ")) if node.startswith("scheme ") else None,
    )  # fmt: skip
    return [field_error(f"body.schemes[{first}].depends_on_rows",
                        "rows depend on each other in a cycle: " + path)]  # fmt: skip


def template(session: Session, *, principal: Principal, system: str, years: list[str]) -> bytes:
    """The scheme template for `system` (the API's download and the upload page's): the
    caller's importable organisations in its drop-down, a column per financial year."""
    codes = service.importable_organisations(session, principal=principal, system=system)
    if codes is None:
        raise NotFound(f"No system {system}.")
    return spreadsheets.template(years=years, organisations=codes)


def import_spreadsheet(session: Session, *, principal: Principal, content: bytes, filename: str | None, content_type: str | None,
                   system: str, dry_run: bool, submit: bool) -> SchemeImportResult:  # fmt: skip
    """A spreadsheet upload (the API's multipart import and the web page's): read and check
    every row, then import; every problem is an InvalidInput error naming its row and column.

    One upload names every problem it can find: the cells of every row; then the row model
    (a title too long...) on every row, but not on a column whose cell was already wrong; then
    the import's own checks (organisation, dependencies...) on the rows that passed both. Only
    a header that cannot be read stops before the rows. Nothing is written if any problem."""
    name = filename or "the file"
    try:
        kind = spreadsheets.kind_of(filename, content_type)
        sheet = spreadsheets.read_sheet(content, kind=kind, name=name)
    except spreadsheets.Unreadable as exc:
        raise InvalidInput(str(exc), errors=[field_error("form.file", exc.reason)]) from exc
    if not sheet.rows:
        raise InvalidInput(
            f"{name}: no rows to import.", errors=[field_error("form.file", "no rows to import")]
        )
    if len(sheet.rows) > MAX_IMPORT_ROWS:
        # Said first: the row checks below run on the rows that could be read, and a sheet
        # with some bad rows would otherwise be told it is too long only once they are fixed.
        message = f"{len(sheet.rows):,} rows; one import takes at most {MAX_IMPORT_ROWS:,}"
        raise InvalidInput(f"{name}: {message}.", errors=[field_error("form.file", message)])
    payloads, problems = spreadsheets.rows_to_import(sheet)

    def refuse(problems: list[spreadsheets.Problem], others=(), cause=None):
        # By row, then left to right as the sheet is read and mended (the row's own first).
        problems = sorted(problems, key=lambda p: (p.row, spreadsheets.column_order(p)))
        count = len(problems) + len(others)
        raise InvalidInput(f"{count} problem(s) in {name}; nothing was imported.",
                           errors=spreadsheets.as_errors(problems) + list(others)) from cause  # fmt: skip

    if not payloads:  # the header cannot be read: neither can the rows
        refuse(problems)
    try:  # the form's system, as SchemeImport would check it
        system = _SYSTEM_CODE.validate_python(system)
    except ValidationError as exc:
        message = f"{system!r} is not a system code: capital letters and digits, like QWV"
        refuse(problems, [field_error("form.system", message)], cause=exc)
    # Each row keeps its place (so the import's errors name it by its index in the sheet); a
    # row whose cells or row model were wrong is None, and only its own problems are named.
    cells_read_wrong = {(p.row, p.column) for p in problems}  # by the sheet's own checks
    wrong_rows = {p.row for p in problems}
    schemes: list[SchemeImportRow | None] = []
    for index, payload in enumerate(payloads):
        number = sheet.rows[index][0]
        try:
            row = SchemeImportRow.model_validate(payload)
        except ValidationError as exc:
            errors = [field_error(_loc(("body", "schemes", index, *e["loc"])), e["msg"]) for e in exc.errors()]  # fmt: skip
            found = spreadsheets.server_problems(sheet, errors)
            if number in wrong_rows:  # only what the cells did not say
                found = [
                    p for p in found if p.letter and (number, p.column) not in cells_read_wrong
                ]
            problems += found
            row = None
        schemes.append(None if number in wrong_rows else row)
    # What its cells and the row model found nothing wrong with in a failed row is checked too.
    cells_named = {(p.row, p.column) for p in problems}  # by the sheet's checks or the row model

    failed_rows = {}
    for index, row in enumerate(schemes):
        if row is not None:
            continue
        payload, number = payloads[index], sheet.rows[index][0]
        organisation, depends_on, scheme_id, version = (
            payload.get(column) if (number, column) not in cells_named else None
            for column in ("organisation", "depends_on", "id", "version")
        )
        failed_rows[index] = FailedRow(
            organisation=organisation or None,
            # An id cell left blank: a wrong one may have been meant as an update.
            creating=payload.get("id") is None and (number, "id") not in cells_named,
            depends_on=tuple(depends_on or ()),
            # The depends_on cell holds both: scheme ids and 'row N' references.
            depends_on_rows=tuple(payload.get("depends_on_rows") or ())
            if depends_on is not None
            else (),
            id=scheme_id,
            version=version,
            version_read=(number, "version") not in cells_named,
            # Any cell but these is one of the scheme's own (a year's cost too), or the row.
            changes=any(
                p.row == number and p.column not in ("id", "version", "status") for p in problems
            ),
        )
    body = SchemeImport.model_construct(system=system, schemes=schemes, submit=submit,
                                        dry_run=dry_run or bool(problems))  # fmt: skip
    try:
        result = import_schemes(session, principal=principal, body=body,
                                row_label=lambda index: f"row {sheet.rows[index][0]}",
                                failed_rows=failed_rows)  # fmt: skip
    except InvalidInput as exc:
        errors = exc.errors or []
        found = spreadsheets.server_problems(sheet, [e for e in errors if "schemes[" in e["loc"]])
        refuse(problems + found, [e for e in errors if "schemes[" not in e["loc"]], cause=exc)
    if problems:
        refuse(problems)
    return result
