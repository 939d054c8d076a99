"""Reference imports: the real NHS organisations from ODS, and their published facts (ERIC).

Imports are idempotent and never delete. Every change is audited in the caller's transaction;
an import either applies in full or (a malformed file) not at all.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from api.audit import service as audit
from api.errors import InvalidInput, field_error
from api.reference import repository
from api.reference.models import MEASURES, OrganisationFact
from api.reference.parsing import (
    EricRow,
    IcbRow,
    ReferenceFileInvalid,
    TrustRow,
    infer_kind,
    readable_name,
    system_name,
)
from api.reference.schemas import (
    EricImportReport,
    ImportChange,
    ImportCounts,
    OdsImportReport,
    SkippedRow,
    UnmatchedRow,
)
from api.systems.models import Organisation, System
from api.users.models import User


def file_errors(exc: ReferenceFileInvalid, loc: str) -> InvalidInput:
    """A malformed reference file as a 422 naming each row and column."""
    return InvalidInput(
        f"{exc.errors[0]}" + (f" (and {len(exc.errors) - 1} more)" if len(exc.errors) > 1 else ""),
        errors=[field_error(loc, message) for message in exc.errors],
    )


def _organisation_record(organisation: Organisation) -> dict[str, Any]:
    return {
        "code": organisation.code,
        "name": organisation.name,
        "kind": organisation.kind,
        "systems": sorted(s.code for s in organisation.systems),
        "closed_on": organisation.closed_on.isoformat() if organisation.closed_on else None,
    }


@dataclass
class _Plan:
    systems: ImportCounts = field(default_factory=ImportCounts)
    organisations: ImportCounts = field(default_factory=ImportCounts)
    changes: list[ImportChange] = field(default_factory=list)
    skipped: list[SkippedRow] = field(default_factory=list)


def import_ods(
    session: Session,
    *,
    actor: User | None,
    trusts: list[TrustRow],
    icbs: list[IcbRow],
    dry_run: bool = False,
) -> OdsImportReport:
    """One system per ICB and one organisation per trust placed in its ICB's system.

    Created: an open trust with an ICB that the register does not hold (kind by `infer_kind`).
    Updated: a name that changed (a rename), a close date removed (reopened), or a trust not yet
    a member of its ICB's system (memberships are only ever added: hand-made ones stay).
    Closed: a trust in the register that ODS now gives a close date. Skipped, with the reason:
    a trust without an ICB in the ICBs file, or a closed trust the register never held.
    The kind is set only when an organisation is created, so a kind corrected by hand stays.
    """
    plan = _Plan()
    systems = repository.systems_by_code(session)
    organisations = repository.organisations_by_code(session)
    icb_codes = {icb.code for icb in icbs}

    def change(entity, code, action, detail):
        plan.changes.append(ImportChange(entity=entity, code=code, action=action, detail=detail))

    for icb in icbs:
        name = system_name(icb.name)
        system = systems.get(icb.code)
        if system is None:
            plan.systems.created += 1
            change("system", icb.code, "create", name)
            if not dry_run:
                system = System(code=icb.code, name=name)
                session.add(system)
                session.flush()
                systems[icb.code] = system
                audit.record(session, actor=actor, action="create", entity="system",
                             entity_id=icb.code, system_id=system.id,
                             after={"code": icb.code, "name": name, "source": "ODS"})  # fmt: skip
        elif system.name != name:
            plan.systems.updated += 1
            change("system", icb.code, "rename", f"{system.name} -> {name}")
            if not dry_run:
                before = {"code": system.code, "name": system.name}
                system.name = name
                audit.record(session, actor=actor, action="update", entity="system",
                             entity_id=icb.code, system_id=system.id, before=before,
                             after={"code": system.code, "name": name, "source": "ODS"})  # fmt: skip
        else:
            plan.systems.unchanged += 1

    for trust in trusts:
        organisation = organisations.get(trust.code)
        name = readable_name(trust.name)
        placed = trust.icb in icb_codes
        if organisation is None:
            if trust.closed_on is not None:
                reason = f"closed on {trust.closed_on.isoformat()} and not in the register"
            elif not trust.icb:
                reason = "no ICB in ODS (not an English trust)"
            elif not placed:
                reason = f"its ICB {trust.icb} is not in the ICBs file"
            else:
                reason = None
            if reason:
                plan.organisations.skipped += 1
                plan.skipped.append(SkippedRow(row=trust.row, code=trust.code, reason=reason))
                continue
            kind = infer_kind(trust.code, trust.name)
            plan.organisations.created += 1
            change("organisation", trust.code, "create", f"{name} ({kind}) in {trust.icb}")
            if not dry_run:
                system = systems[trust.icb]
                organisation = Organisation(code=trust.code, name=name, kind=kind)
                organisation.systems = [system]
                session.add(organisation)
                session.flush()
                organisations[trust.code] = organisation
                audit.record(session, actor=actor, action="create", entity="organisation",
                             entity_id=trust.code, system_id=system.id,
                             after={**_organisation_record(organisation), "source": "ODS"})  # fmt: skip
            continue

        before = _organisation_record(organisation)
        actions: list[tuple[str, str]] = []
        if organisation.name != name:
            actions.append(("rename", f"{organisation.name} -> {name}"))
        if trust.closed_on is not None and organisation.closed_on != trust.closed_on:
            actions.append(("close", f"closed on {trust.closed_on.isoformat()}"))
        if trust.closed_on is None and organisation.closed_on is not None:
            actions.append(("reopen", "ODS gives it no close date any more"))
        member_of = {s.code for s in organisation.systems}
        joins = placed and trust.closed_on is None and trust.icb not in member_of
        if joins:
            actions.append(("join", f"member of {trust.icb}"))
        if not actions:
            plan.organisations.unchanged += 1
            continue
        if any(action == "close" for action, _ in actions):
            plan.organisations.closed += 1
        else:
            plan.organisations.updated += 1
        for action, detail in actions:
            change("organisation", trust.code, action, detail)
        if dry_run:
            continue
        organisation.name = name
        organisation.closed_on = trust.closed_on
        if joins:
            organisation.systems.append(systems[trust.icb])
        session.flush()
        home = systems.get(trust.icb) or (organisation.systems[0] if organisation.systems else None)
        audit.record(session, actor=actor, entity="organisation", entity_id=trust.code,
                     action="close" if any(a == "close" for a, _ in actions) else "update",
                     system_id=home.id if home else None, before=before,
                     after={**_organisation_record(organisation), "source": "ODS",
                            "changes": [a for a, _ in actions]})  # fmt: skip

    report = OdsImportReport(
        dry_run=dry_run,
        systems=plan.systems,
        organisations=plan.organisations,
        changes=plan.changes,
        skipped=plan.skipped,
    )
    if not dry_run:
        audit.record(session, actor=actor, action="import", entity="reference", entity_id="ods",
                     after={"systems": plan.systems.model_dump(),
                            "organisations": plan.organisations.model_dump()})  # fmt: skip
    return report


def import_eric(
    session: Session,
    *,
    actor: User | None,
    rows: list[EricRow],
    year: str,
    source: str,
    dry_run: bool = False,
) -> EricImportReport:
    """Store each matched organisation's backlog for `year` (replacing that year entirely);
    list every code that matches no organisation in the register."""
    ids = repository.organisation_ids_by_code(session)
    matched = [row for row in rows if row.code in ids]
    unmatched = [
        UnmatchedRow(row=row.row, code=row.code, name=row.name)
        for row in rows
        if row.code not in ids
    ]
    replaced = repository.count_facts(session, fact="backlog", year=year)
    total = {
        risk: sum((row.backlog[risk] for row in matched), Decimal("0.00"))
        for risk in MEASURES["backlog"]
    }
    if not dry_run:
        repository.delete_facts(session, fact="backlog", year=year)
        values = [
            {"organisation_id": ids[row.code], "fact": "backlog", "year": year, "measure": risk,
             "amount": row.backlog[risk], "source": source[:200]}
            for row in matched
            for risk in MEASURES["backlog"]
        ]  # fmt: skip
        if values:
            session.execute(insert(OrganisationFact), values)
        session.flush()
        audit.record(session, actor=actor, action="import", entity="reference", entity_id="eric",
                     after={"year": year, "source": source, "matched": len(matched),
                            "unmatched": [u.code for u in unmatched], "replaced": replaced,
                            "total": {k: str(v) for k, v in total.items()}})  # fmt: skip
    return EricImportReport(
        dry_run=dry_run, year=year, rows=len(rows), matched=len(matched), replaced=replaced,
        unmatched=unmatched, total=total,
    )  # fmt: skip


def facts_view(session: Session, *, organisation: Organisation) -> dict[str, Any]:
    """`{"backlog": {"2016/17": {"high": ..., "significant": ..., "moderate": ..., "low": ...}}}`."""
    facts = repository.facts_of(session, organisation_id=organisation.id)
    return {
        fact: {
            year: {m: measures.get(m, Decimal("0.00")) for m in MEASURES[fact]}
            for year, measures in sorted(years.items())
        }
        for fact, years in facts.items()
    }


def resolve_fact_inputs(
    session: Session,
    *,
    organisations: list[Organisation],
    from_facts: dict[str, dict[str, Any]],
    loc: str = "body.fair_share_formula.from_facts",
) -> dict[str, dict[str, Decimal]]:
    """Formula inputs from stored facts: organisation code -> factor -> amount, where a factor
    `{"fact": "backlog", "year": "2016/17", "risk": ["high", "significant"]}` is the sum of
    those measures. Every organisation must hold the fact for that year (else 422 naming it)."""
    ids = [o.id for o in organisations]
    inputs: dict[str, dict[str, Decimal]] = {o.code: {} for o in organisations}
    errors = []
    for factor, spec in from_facts.items():
        values = repository.fact_values(
            session, organisation_ids=ids, fact=spec["fact"], year=spec["year"]
        )
        for organisation in organisations:
            measures = values.get(organisation.id)
            if measures is None:
                errors.append(field_error(
                    f"{loc}.{factor}",
                    f"organisation {organisation.code} ({organisation.name}) has no "
                    f"{spec['fact']} facts for {spec['year']}",
                ))  # fmt: skip
                continue
            inputs[organisation.code][factor] = sum(
                (measures.get(m, Decimal(0)) for m in spec["risk"]), Decimal("0.00")
            )
    if errors:
        codes = ", ".join(e["msg"].split()[1] for e in errors)
        raise InvalidInput(f"Fair shares from facts: no facts for {codes}.", errors=errors)
    return inputs
