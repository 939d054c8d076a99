from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile

from api.deps import CurrentUser, SessionDep
from api.reference import parsing, service
from api.reference.parsing import ReferenceFileInvalid
from api.reference.schemas import EricImportReport, OdsImportReport
from api.types import FinancialYear

router = APIRouter(prefix="/reference", tags=["reference"])

MAX_BYTES = 20 * 1024 * 1024


def _read(upload: UploadFile, loc: str) -> bytes:
    content = upload.file.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        raise service.file_errors(
            ReferenceFileInvalid([f"{upload.filename}: larger than 20 MB"]), loc
        )
    return content


@router.post("/ods", operation_id="reference_import_ods")
def import_ods(
    session: SessionDep,
    principal: CurrentUser,
    trusts: Annotated[UploadFile, File(description="ODS NHS trusts file (etr.csv, as published)")],
    icbs: Annotated[UploadFile, File(description="ONS ICB names and codes (ICB24CD,ICB24CDH,...)")],
    dry_run: Annotated[bool, Form(description="report what would change; write nothing")] = False,
) -> OdsImportReport:
    """Load every NHS trust and ICB from the published files (administrators). Idempotent:
    creates, renames, closes and places organisations; never deletes; all or nothing."""
    principal.require_role("admin")
    trusts_bytes = _read(trusts, "body.trusts")
    icbs_bytes = _read(icbs, "body.icbs")
    try:
        trust_rows = parsing.parse_trusts(trusts_bytes, trusts.filename or "trusts")
    except ReferenceFileInvalid as exc:
        raise service.file_errors(exc, "body.trusts") from None
    try:
        icb_rows = parsing.parse_icbs(icbs_bytes, icbs.filename or "icbs")
    except ReferenceFileInvalid as exc:
        raise service.file_errors(exc, "body.icbs") from None
    return service.import_ods(
        session, actor=principal.user, trusts=trust_rows, icbs=icb_rows, dry_run=dry_run
    )


@router.post("/eric", operation_id="reference_import_eric")
def import_eric(
    session: SessionDep,
    principal: CurrentUser,
    year: Annotated[FinancialYear, Query(description="the ERIC collection year, e.g. 2016/17")],
    file: Annotated[UploadFile, File(description="ERIC trust-level data (CSV, published columns)")],
    dry_run: Annotated[
        bool, Form(description="report what would be stored; write nothing")
    ] = False,
) -> EricImportReport:
    """Store each organisation's backlog for `year` from ERIC (administrators). Importing a
    year again replaces it; codes matching no organisation are listed."""
    principal.require_role("admin")
    content = _read(file, "body.file")
    try:
        rows = parsing.parse_eric(content, file.filename or "eric")
    except ReferenceFileInvalid as exc:
        raise service.file_errors(exc, "body.file") from None
    return service.import_eric(
        session, actor=principal.user, rows=rows, year=year,
        source=f"ERIC {year}: {file.filename or 'upload'}", dry_run=dry_run,
    )  # fmt: skip
