"""Spreadsheets over HTTP, as a trust without Python uses them: template -> fill -> upload
(with mistakes, then fixed) -> export -> edit -> upload again, with no duplicates."""

import csv
import io
from datetime import date
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select

from api.systems.models import Organisation
from tests.conftest import scheme_body

API = "/api/v1/schemes"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ROWS = [
    ["RA1", "Boiler replacement", "", "estates_backlog", "obc", "high", "yes", "Failed inspection", "", "", 0, 250000, 50000.5],
    ["RA1", "Network core switch", "", "digital", "fbc", "", "no", "", "", "", 1, "", 180000],
    ["RA1", "Pathology scanners", "", "digital", "soc", "", "no", "", "row 3", "", 2, 90000, 90000],
]  # fmt: skip


def _filled(template: bytes, rows) -> bytes:
    book = load_workbook(io.BytesIO(template))
    for row in rows:
        book["Schemes"].append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _upload(client, who, world, content, *, name="schemes.xlsx", dry_run=False, system="SYA"):
    kind = "text/csv" if name.endswith(".csv") else XLSX
    return client.post(f"{API}/import", files={"file": (name, content, kind)},
                       data={"system": system, "dry_run": str(dry_run).lower()}, headers=world.auth(who))  # fmt: skip


def _total(client, world):
    return client.get(API, params={"organisation": "RA1"}, headers=world.auth("trust_a1")).json()[
        "total"
    ]


def test_template_upload_fix_export_and_reimport_round_trip(client, world):
    template = client.get(
        f"{API}/template.xlsx", params={"system": "SYA", "years": 2}, headers=world.auth("trust_a1")
    )
    assert template.status_code == 200 and template.headers["content-type"] == XLSX
    book = load_workbook(io.BytesIO(template.content))
    assert [c.value for c in book["Schemes"][1]][-2:] == ["2026/27", "2027/28"]
    lists = [
        v.formula1 for v in book["Schemes"].data_validations.dataValidation if v.type == "list"
    ]
    assert '"RA1"' in lists  # a trust's drop-down offers only its own organisation
    before = _total(client, world)

    broken = [list(r) for r in ROWS]
    broken[1][3] = "roads"  # row 3, column D
    broken[2][12] = "lots"  # row 4, column M
    response = _upload(client, "trust_a1", world, _filled(template.content, broken))
    assert (
        response.status_code == 422
        and response.headers["content-type"] == "application/problem+json"
    )
    errors = {(e["row"], e["column"], e["header"]) for e in response.json()["errors"]}
    assert errors == {(3, "D", "category"), (4, "M", "2027/28")}
    assert "nothing was imported" in response.json()["detail"]

    broken[1][3], broken[2][12] = "digital", 90000
    broken[0][0] = "RA2"  # another organisation: refused by the import's own rules
    response = _upload(client, "trust_a1", world, _filled(template.content, broken))
    assert response.status_code == 422
    assert [(e["row"], e["column"], e["header"]) for e in response.json()["errors"]] == [
        (2, "A", "organisation")
    ]
    assert "own organisation" in response.json()["errors"][0]["msg"]
    assert _total(client, world) == before

    good = _filled(template.content, ROWS)
    dry = _upload(client, "trust_a1", world, good, dry_run=True)
    assert dry.status_code == 200, dry.text
    assert dry.json() | {} == {
        "dry_run": True,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "ids": [],
        "updated_ids": [],
    }
    assert _total(client, world) == before
    done = _upload(client, "trust_a1", world, good)
    assert done.status_code == 200 and done.json()["created"] == 3
    ids = done.json()["ids"]
    assert _total(client, world) == before + 3
    scanners = client.get(f"{API}/{ids[2]}", headers=world.auth("trust_a1")).json()
    assert scanners["depends_on"] == [ids[1]]

    exported = client.get(f"{API}/export.xlsx", params={"organisation": "RA1", "status": "draft"},
                          headers=world.auth("trust_a1"))  # fmt: skip
    assert exported.status_code == 200
    sheet = load_workbook(io.BytesIO(exported.content))["Schemes"]
    header = [c.value for c in sheet[1]]
    assert header[-3:] == ["id", "version", "status"]
    money = header.index("2026/27") + 1
    cell = sheet.cell(row=2, column=money)
    assert cell.number_format == '"£"#,##0.00'
    widths = sheet.column_dimensions[cell.column_letter].width
    assert widths >= len("£250,000.00")  # no ### in the export

    again = _upload(client, "trust_a1", world, exported.content, name="export.xlsx", dry_run=True)
    assert again.status_code == 200, again.text
    assert (again.json()["created"], again.json()["updated"], again.json()["unchanged"]) == (
        0,
        0,
        _total(client, world),
    )
    assert (
        _upload(client, "trust_a1", world, exported.content, name="export.xlsx").json()["created"]
        == 0
    )
    assert _total(client, world) == before + 3  # no duplicates

    book = load_workbook(io.BytesIO(exported.content))
    rows = list(book["Schemes"].iter_rows(min_row=2))
    boiler = next(r for r in rows if r[1].value == "Boiler replacement")
    boiler[money - 1].value = 260000
    buffer = io.BytesIO()
    book.save(buffer)
    edited = _upload(client, "trust_a1", world, buffer.getvalue(), name="edited.xlsx")
    assert edited.status_code == 200, edited.text
    assert (edited.json()["created"], edited.json()["updated"]) == (0, 1)
    scheme = client.get(f"{API}/{ids[0]}", headers=world.auth("trust_a1")).json()
    assert (
        Decimal(str(scheme["cost_profile"]["2026/27"])) == Decimal("260000")
        and scheme["version"] == 2
    )
    stale = _upload(client, "trust_a1", world, buffer.getvalue(), name="edited.xlsx")
    assert stale.status_code == 422
    assert "changed by someone else" in stale.json()["errors"][0]["msg"]
    assert stale.json()["errors"][0]["header"] == "version"
    assert _total(client, world) == before + 3

    csv_export = client.get(
        f"{API}/export.csv", params={"organisation": "RA1"}, headers=world.auth("trust_a1")
    )
    assert csv_export.content.startswith(b"\xef\xbb\xbf") and "£" not in csv_export.content.decode(
        "utf-8-sig"
    )
    reimport = _upload(
        client, "trust_a1", world, csv_export.content, name="export.csv", dry_run=True
    )
    assert reimport.status_code == 200 and reimport.json()["created"] == 0


def test_uploads_are_refused_to_the_wrong_people_and_for_bad_files(client, world):
    template = client.get(
        f"{API}/template.xlsx", params={"system": "SYA"}, headers=world.auth("trust_a1")
    ).content
    good = _filled(template, ROWS[:2])
    for who in ("viewer_a", "finance_a", "assessor_a"):
        assert _upload(client, who, world, good).status_code == 403
    assert _upload(client, "trust_b1", world, good).status_code == 403  # another system
    assert (
        client.post(
            f"{API}/import", files={"file": ("x.xlsx", good, XLSX)}, data={"system": "SYA"}
        ).status_code
        == 401
    )
    notes = _upload(client, "trust_a1", world, b"hello", name="notes.txt")
    assert notes.status_code == 422 and "use an .xlsx or .csv file" in notes.json()["detail"]
    garbage = _upload(client, "trust_a1", world, b"not a workbook", name="x.xlsx")
    assert (
        garbage.status_code == 422
        and "not a spreadsheet that can be read" in garbage.json()["detail"]
    )
    missing = client.post(
        f"{API}/import", files={"file": ("x.xlsx", good, XLSX)}, headers=world.auth("trust_a1")
    )
    assert missing.status_code == 422 and missing.json()["errors"][0]["loc"] == "form.system"
    assert (
        client.get(
            f"{API}/template.xlsx", params={"system": "NOPE"}, headers=world.auth("trust_a1")
        ).status_code
        == 404
    )
    assert (
        client.get(
            f"{API}/template.xlsx", params={"system": "SYB"}, headers=world.auth("trust_a1")
        ).status_code
        == 404
    )
    bad_year = client.get(f"{API}/template.xlsx", params={"system": "SYA", "first_year": "2026/28"},
                          headers=world.auth("trust_a1"))  # fmt: skip
    assert bad_year.status_code == 422
    # The JSON body import still works beside the upload.
    body = {"system": "SYA", "dry_run": True, "schemes": [{"organisation": "RA1", "title": "x", "category": "digital",
                                                            "cost_profile": {"2026/27": 1}}]}  # fmt: skip
    assert (
        client.post(f"{API}/import", json=body, headers=world.auth("trust_a1")).json()["created"]
        == 1
    )
    assert client.post(f"{API}/import", content=b"{nope", headers={**world.auth("trust_a1"),
                       "Content-Type": "application/json"}).status_code == 400  # fmt: skip


def test_amounts_in_exponent_notation_are_named_not_a_server_error(client, world):
    """A numeric cell of 1e30 and a text cell of "1e400" made Decimal.quantize raise (a 500)."""
    template = client.get(
        f"{API}/template.xlsx", params={"system": "SYA", "years": 2}, headers=world.auth("trust_a1")
    )
    rows = [list(r) for r in ROWS]
    rows[0][11], rows[1][12], rows[2][11] = 1e30, "1e400", "99999999999999"
    rows[1][11] = 1000  # so the row has a cost besides the refused one
    response = _upload(client, "trust_a1", world, _filled(template.content, rows))
    assert response.status_code == 422, response.text
    errors = {(e["row"], e["column"]): e["msg"] for e in response.json()["errors"]}
    assert set(errors) == {(2, "L"), (3, "M"), (4, "L")}
    assert "is not an amount in pounds" in errors[(2, "L")]
    assert "'1e400' is not an amount in pounds" in errors[(3, "M")]
    assert "is more than £9,999,999,999,999.99" in errors[(4, "L")]


def test_superscript_digits_are_named_not_a_server_error(client, world):
    """'²' passes str.isdigit() and then int() refuses it: in a deferral or a dependency, a 500."""
    template = client.get(
        f"{API}/template.xlsx", params={"system": "SYA", "years": 2}, headers=world.auth("trust_a1")
    )
    rows = [list(r) for r in ROWS]
    rows[0][10], rows[1][8] = "²", "³"
    response = _upload(client, "trust_a1", world, _filled(template.content, rows))
    assert response.status_code == 422, response.text
    assert {(e["row"], e["column"]) for e in response.json()["errors"]} == {(2, "K"), (3, "I")}


def test_a_header_named_twice_or_a_value_without_a_header_is_refused_not_lost(client, world):
    """Read into one dict per row, the second '2026/27' column overwrote the first and a value
    right of the last header was dropped: both imported without a word."""
    header = "organisation,title,description,category,business_case_stage,backlog_risk,mandatory,mandatory_reason,depends_on,alternative_group,max_deferral_years,2026/27,2026/27"  # fmt: skip
    before = _total(client, world)
    twice = f"{header}\nRA1,Boiler,,estates_backlog,obc,high,no,,,,0,250000,1000\n".encode()
    response = _upload(client, "trust_a1", world, twice, name="schemes.csv")
    assert response.status_code == 422, response.text
    assert [(e["row"], e["column"], e["header"]) for e in response.json()["errors"]] == [
        (1, "M", "2026/27")
    ]
    assert "is column L too" in response.json()["errors"][0]["msg"]
    header = header.rsplit(",", 1)[0]
    beyond = f"{header}\nRA1,Boiler,,estates_backlog,obc,high,no,,,,0,250000,,,1000\n".encode()
    response = _upload(client, "trust_a1", world, beyond, name="schemes.csv")
    assert response.status_code == 422, response.text
    assert [(e["row"], e["column"]) for e in response.json()["errors"]] == [(2, "O")]
    assert "'1000' is in a column without a header" in response.json()["errors"][0]["msg"]
    assert _total(client, world) == before  # nothing imported


# Text that Excel and LibreOffice would run as a formula if written as it is (CSV injection).
# (Tab and carriage return lead nothing the API stores: it trims its text; see test_cells.py.)
FORMULAS = ['=HYPERLINK("http://x","y")', "@SUM(1)", "+1", "-1", "=1+1", "'=quoted already"]


def test_text_like_a_formula_is_exported_as_text_and_imports_back_unchanged(client, world):
    trust = world.auth("trust_a1")
    ids = {}
    for title in FORMULAS:
        body = scheme_body(title=title, category="digital", backlog_risk=None,
                           description="=cmd|' /C calc'!A0", mandatory=True,
                           mandatory_reason="@SUM(A1)", alternative_group="-2+3",
                           cost_profile={"2026/27": 1500.25})  # fmt: skip
        created = client.post(API, json=body, headers=trust)
        assert created.status_code == 201, created.text
        ids[created.json()["id"]] = title
    query = {"organisation": "RA1"}

    exported = client.get(f"{API}/export.xlsx", params=query, headers=trust)
    assert exported.status_code == 200
    sheet = load_workbook(io.BytesIO(exported.content))["Schemes"]
    assert not [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)]
    assert sorted(r["id"].value for r in rows) == sorted(ids)
    for cells in rows:
        for column, text in (("title", ids[cells["id"].value]), ("description", "=cmd|' /C calc'!A0"),
                             ("mandatory_reason", "@SUM(A1)"), ("alternative_group", "-2+3")):  # fmt: skip
            assert (cells[column].data_type, cells[column].value) == ("s", text), column
        assert cells["description"].quotePrefix  # Excel keeps it text when the cell is edited
        assert (cells["2026/27"].data_type, cells["2026/27"].value) == ("n", 1500.25)

    csv_export = client.get(f"{API}/export.csv", params=query, headers=trust)
    assert csv_export.status_code == 200
    for row in csv.DictReader(io.StringIO(csv_export.content.decode("utf-8-sig"))):
        assert row["title"] == "'" + ids[int(row["id"])]  # OWASP: a leading apostrophe
        assert (row["description"], row["mandatory_reason"], row["alternative_group"]) == (
            "'=cmd|' /C calc'!A0", "'@SUM(A1)", "'-2+3"
        )  # fmt: skip
        assert row["2026/27"] == "1500.25"  # numbers are not quoted

    # Both exports import back as they are: every scheme unchanged, the apostrophes gone.
    for name, content in (("export.xlsx", exported.content), ("export.csv", csv_export.content)):
        again = _upload(client, "trust_a1", world, content, name=name, dry_run=True)
        assert again.status_code == 200, again.text
        result = again.json()
        assert (result["created"], result["updated"], result["unchanged"]) == (0, 0, len(ids))


def test_a_template_past_the_last_year_held_is_refused(client, world):
    """2099/00 and two years gave a 2100/01 column that no upload could then import."""
    template = client.get(f"{API}/template.xlsx", params={"system": "SYA", "first_year": "2099/00", "years": 2},
                          headers=world.auth("trust_a1"))  # fmt: skip
    assert template.status_code == 422, template.status_code
    assert [e["loc"] for e in template.json()["errors"]] == ["query.years"]
    assert "past 2099/00" in template.json()["errors"][0]["msg"]
    one = client.get(f"{API}/template.xlsx", params={"system": "SYA", "first_year": "2099/00", "years": 1},
                     headers=world.auth("trust_a1"))  # fmt: skip
    assert one.status_code == 200


def test_the_template_opens_with_every_header_readable_and_costs_in_pounds(client, world):
    # Looked at in LibreOffice: the filled blue header cells do not spill into the next one,
    # so at the default width "organisation" read "organisat" and "business_case_stage" was cut.
    template = client.get(
        f"{API}/template.xlsx", params={"system": "SYA", "years": 3}, headers=world.auth("trust_a1")
    )
    sheet = load_workbook(io.BytesIO(template.content))["Schemes"]
    for cell in sheet[1]:
        width = sheet.column_dimensions[cell.column_letter].width
        assert width >= len(cell.value) + 2, (cell.value, width)
        if cell.value[:4].isdigit():  # a financial year's cost: typed as 1500000, shown in £
            assert sheet.column_dimensions[cell.column_letter].number_format == '"£"#,##0.00'
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.fitToWidth == 1


def test_one_upload_names_every_problem_in_its_cells_rows_and_the_import(client, world):
    """A wrong cost cell was all the first upload said: the title too long (the row model) and
    the other organisation (the import's own checks) came one upload after another."""
    header = "organisation,title,description,category,business_case_stage,backlog_risk,mandatory,mandatory_reason,depends_on,alternative_group,max_deferral_years,2026/27,2027/28"  # fmt: skip
    long = "x" * 201
    lines = [
        header,
        "RA1,Boiler,,estates_backlog,obc,high,no,,,,0,250000,",  # row 2: fine
        "RA1,Lift,,other,,,,,,,0,lots,",  # row 3: a cost that is not one
        f"RA1,{long},,roads,,,,,,,0,100,",  # row 4: a wrong cell and a title too long
        "RA2,Switch,,digital,,,,,,,0,100,",  # row 5: another organisation's
        f"RA1,{long},,digital,,,,,row 3,,0,100,",  # row 6: too long; needs row 3 (unchecked)
        "RA1,Scanner,,digital,,,,,row 3,,0,100,",  # row 7: fine but for row 3's problem
        "ZZ9,Crane,,roads,,,,,,,0,100,",  # row 8: a wrong cell and an unknown organisation
    ]
    before = _total(client, world)
    response = _upload(client, "trust_a1", world, "\n".join(lines).encode(), name="schemes.csv")
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors = [(e["row"], e["column"], e["header"]) for e in response.json()["errors"]]
    # By row, and left to right within one, whichever check found it.
    assert errors == [(3, "L", "2026/27"), (4, "B", "title"), (4, "D", "category"),
                      (5, "A", "organisation"), (6, "B", "title"), (8, "A", "organisation"),
                      (8, "D", "category")], errors  # fmt: skip
    assert "200" in response.json()["errors"][1]["msg"]
    assert "own organisation" in response.json()["errors"][3]["msg"]
    # A row with a wrong cell had its organisation checked only once the cell was fixed.
    assert response.json()["errors"][5]["msg"] == "ZZ9 is not an organisation of SYA"
    assert "7 problem(s)" in response.json()["detail"]
    assert _total(client, world) == before


def test_a_row_with_a_wrong_cell_is_told_its_organisation_has_closed_and_its_dependency_missing(
    client, world, session
):
    """A new scheme's row with a wrong cell was told only of the cell: that its organisation
    had closed, and so could record no new scheme, or that a scheme it needs does not exist,
    came on the next upload. So did, for an update's row with a wrong cell, that its id names
    no scheme, is on another row too or has a stale version, or that a dependency is missing."""
    made = [
        client.post(API, json=scheme_body(title=title, **extra), headers=world.auth("admin"))
        for title, extra in (("Needed", {}), ("Theatre", {}), ("Lift", {}))
    ]
    needed, theatre, lift = (r.json()["id"] for r in made)
    client.patch(f"{API}/{theatre}", json={"depends_on": [needed]}, headers=world.auth("admin") | {"If-Match": "1"})  # fmt: skip
    client.patch(f"{API}/{lift}", json={"title": "Lifts"}, headers=world.auth("admin") | {"If-Match": "1"})  # fmt: skip
    organisation = session.scalars(select(Organisation).where(Organisation.code == "RA2")).one()
    organisation.closed_on = date(2026, 3, 31)
    session.commit()
    header = "organisation,title,description,category,business_case_stage,backlog_risk,mandatory,mandatory_reason,depends_on,alternative_group,max_deferral_years,2026/27,id,version"  # fmt: skip
    lines = [
        header,
        "RA2,Crane,,roads,,,,,,,0,100,,",  # row 2: a new scheme: its category; RA2 has closed
        "RA2,Crane,,roads,,,,,,,0,100,999999,1",  # row 3: an update may name a closed organisation
        "RA2,Crane,,roads,,,,,,,0,100,abc,1",  # row 4: its id is wrong: it may be an update
        "RA1,Crane,,roads,,,,,987654,,0,100,,",  # row 5: a new scheme's dependency is missing
        f'RA1,Crane,,roads,,,,,"{needed}, 987654",,0,100,{theatre},2',  # row 6: keeps what it holds
        f"RA1,Crane,,roads,,,,,,,0,100,{theatre},2",  # row 7: the same scheme again
        f"RA1,Crane,,roads,,,,,,,0,100,{lift},1",  # row 8: a stale version
        f"RA1,Crane,,roads,,,,,,,0,100,{lift},",  # row 9: no version (and again)
        f"RA2,Crane,,roads,,,,,,,0,100,{needed},1",  # row 10: a scheme cannot move
    ]
    response = _upload(client, "admin", world, "\n".join(lines).encode(), name="schemes.csv")
    assert response.status_code == 422, response.text
    errors = [(e["row"], e["header"], e["msg"][:40]) for e in response.json()["errors"]]
    category = "'roads' is not one of estates_backlog, e"
    assert errors == [
        (2, "organisation", "RA2 closed on 2026-03-31; a closed organ"),
        (2, "category", category),
        (3, "category", category),
        (3, "id", "no scheme 999999 in SYA that you can see"),
        (4, "category", category),
        (4, "id", "'abc' should be a whole number (leave it"),
        (5, "category", category),
        (5, "depends_on", "no scheme 987654 in SYA"),
        (6, "category", category),
        (6, "depends_on", "no scheme 987654 in SYA"),
        (7, "category", category),
        (7, "id", f"scheme {theatre} is also on row 6"),
        (8, "category", category),
        (8, "version", f"scheme {lift} was changed by someone else since version 1"[:40]),
        (9, "category", category),
        (9, "id", f"scheme {lift} is also on row 8"),
        (9, "version", "the version last read is needed to update"[:40]),
        (10, "organisation", f"scheme {needed} belongs to RA1; a scheme cannot move to another"[:40]),
        (10, "category", category),
    ], errors  # fmt: skip


def test_a_row_with_a_wrong_cell_is_told_its_withdrawn_scheme_cannot_be_changed(client, world):
    """An update's row with a wrong cell, for a scheme no longer draft or submitted, was told
    only of the cell; that the scheme cannot be changed came on the next upload."""
    admin = world.auth("admin")
    boiler, lift = (client.post(API, json=scheme_body(title=t), headers=admin).json()["id"]
                    for t in ("Boiler", "Lift"))  # fmt: skip
    for scheme_id in (boiler, lift):
        assert client.post(f"{API}/{scheme_id}/withdraw", headers=admin).status_code == 200
    header = "organisation,title,description,category,business_case_stage,backlog_risk,mandatory,mandatory_reason,depends_on,alternative_group,max_deferral_years,2026/27,2027/28,id,version"  # fmt: skip
    lines = [
        header,
        f"RA1,Boiler,,roads,,high,,,,,0,1200000,300000,{boiler},2",  # row 2: a wrong category
        f"RA1,Lift,,estates_backlog,,high,,,,,0,1200000,300000,{lift},x",  # row 3: its version
    ]
    response = _upload(client, "admin", world, "\n".join(lines).encode(), name="schemes.csv")
    assert response.status_code == 422, response.text
    errors = [(e["row"], e["header"], e["msg"][:40]) for e in response.json()["errors"]]
    assert errors == [
        (2, "category", "'roads' is not one of estates_backlog, e"),
        (2, "id", f"scheme {boiler} is withdrawn and cannot be changed"[:40]),
        (3, "version", "'x' should be a whole number (leave it b"),
    ], errors  # fmt: skip


def test_the_same_scheme_twice_names_the_spreadsheet_row_it_is_also_on(client, world):
    """The message gave the row's place in the import counting from 0 ('also on row 0')."""
    header = "organisation,title,description,category,business_case_stage,backlog_risk,mandatory,mandatory_reason,depends_on,alternative_group,max_deferral_years,2026/27,id,version"  # fmt: skip
    row = "RA1,Boiler,,estates_backlog,obc,high,no,,,,0,250000,999999,1"
    response = _upload(
        client, "trust_a1", world, f"{header}\n{row}\n{row}\n".encode(), name="s.csv"
    )
    assert response.status_code == 422, response.text
    messages = [(e["row"], e["msg"]) for e in response.json()["errors"]]
    assert (3, "scheme 999999 is also on row 2") in messages, messages


def test_a_sheet_over_the_row_limit_is_told_so_at_once_whatever_else_is_wrong(client, world):
    # The row checks run on the rows that could be read; the limit must not wait for them.
    header = ["organisation", "title", "category", "2026/27"]
    body = io.StringIO()
    writer = csv.writer(body)
    writer.writerow(header)
    writer.writerow(["RA1", "Boiler", "roads", "lots"])  # a bad row as well
    writer.writerows(["RA1", f"Scheme {i}", "digital", "1000"] for i in range(50_000))
    response = _upload(client, "trust_a1", world, body.getvalue().encode(), name="big.csv")
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["loc"] == "form.file"
    assert error["msg"] == "50,001 rows; one import takes at most 50,000"


def test_a_wrong_system_code_is_named_at_the_form_field_with_the_rows_problems(client, world):
    """The form's system was checked inside the import's model: a wrong one came back as
    'file.row[0].body.system' with pydantic's pattern message."""
    header = "organisation,title,description,category,business_case_stage,backlog_risk,mandatory,mandatory_reason,depends_on,alternative_group,max_deferral_years,2026/27"  # fmt: skip
    content = f"{header}\nRA1,Boiler,,estates_backlog,,,,,,,0,lots\nRA1,Lift,,other,,,,,,,0,100\n"
    before = _total(client, world)
    response = _upload(client, "trust_a1", world, content.encode(), name="s.csv", system="S A")
    assert response.status_code == 422, response.text
    errors = [(e["loc"], e["msg"]) for e in response.json()["errors"]]
    assert errors == [
        ("file.row[2].2026/27", "'lots' is not an amount in pounds"),
        ("form.system", "'S A' is not a system code: capital letters and digits, like QWV"),
    ], errors
    assert _total(client, world) == before


def test_a_cycle_through_a_row_with_a_wrong_cell_is_named_in_the_same_upload(client, world):
    header = "organisation,title,description,category,business_case_stage,backlog_risk,mandatory,mandatory_reason,depends_on,alternative_group,max_deferral_years,2026/27"  # fmt: skip
    lines = [
        header,
        "RA1,Network,,digital,,,,,row 3,,0,100",
        "RA1,Pathology,,roads,,,,,row 2,,0,100",  # its category is wrong, its reference right
    ]
    response = _upload(client, "trust_a1", world, "\n".join(lines).encode(), name="s.csv")
    assert response.status_code == 422, response.text
    errors = [(e["row"], e["header"], e["msg"][:40]) for e in response.json()["errors"]]
    assert errors == [
        (2, "depends_on", "rows depend on each other in a cycle: ro"),
        (3, "category", "'roads' is not one of estates_backlog, e"),
    ], errors  # fmt: skip
    assert response.json()["errors"][0]["msg"].endswith("row 2 -> row 3 -> row 2")
