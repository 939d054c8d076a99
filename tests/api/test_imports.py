"""POST /schemes/import: one transaction; any bad row means nothing is written."""

from datetime import date
from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import select

from api.systems.models import Organisation
from tests.conftest import scheme_body

API = "/api/v1/schemes"


def row(**overrides):
    body = scheme_body(**overrides)
    body.pop("system")
    return body


def errors_of(response) -> list[tuple[str, str]]:
    """A refused import's errors as (loc, msg), in the order given."""
    assert response.status_code == 422, response.text
    return [(e["loc"], e["msg"]) for e in response.json()["errors"]]


def total(client, world, who="admin"):
    return client.get(API, headers=world.auth(who)).json()["total"]


def test_import_creates_every_row_with_row_dependencies(client, world):
    before = total(client, world)
    body = {"system": "SYA", "submit": True, "schemes": [
        row(title="Network"), row(title="Pathology", depends_on_rows=[0]), row(title="Ambulance", organisation="RAM"),
    ]}  # fmt: skip
    response = client.post(f"{API}/import", json=body, headers=world.auth("admin"))
    assert response.status_code == 200, response.text
    ids = response.json()["ids"]
    assert response.json()["created"] == 3 and total(client, world) == before + 3
    pathology = client.get(f"{API}/{ids[1]}", headers=world.auth("admin")).json()
    assert pathology["depends_on"] == [ids[0]] and pathology["status"] == "submitted"
    events = client.get(
        "/api/v1/audit",
        params={"entity": "scheme", "entity_id": ids[2]},
        headers=world.auth("admin"),
    ).json()
    assert [e["action"] for e in events["items"]] == ["import"]


def test_one_bad_row_writes_nothing_and_every_problem_is_named(client, world):
    before = total(client, world)
    body = {"system": "SYA", "schemes": [
        row(title="Fine"), row(category="roads"), row(organisation="RB1"), row(depends_on_rows=[7]),
        row(depends_on=[987654]),
    ]}  # fmt: skip
    response = client.post(f"{API}/import", json=body, headers=world.auth("admin"))
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["errors"]] == [
        "body.schemes[1].category", "body.schemes[2].organisation",
        "body.schemes[3].depends_on_rows[0]", "body.schemes[4].depends_on[0]",
    ]  # fmt: skip
    assert total(client, world) == before


def test_a_document_with_wrong_fields_and_wrong_references_names_both_at_once(
    client, world, session
):
    """The rows' own fields (pydantic) were checked first, and the import's rules only once
    every row passed: a wrong cost profile in one row hid an unknown organisation, a closed
    one and a missing dependency in others until the next attempt."""
    organisation = session.scalars(select(Organisation).where(Organisation.code == "RA2")).one()
    organisation.closed_on = date(2026, 3, 31)
    session.commit()
    before = total(client, world)
    body = {"system": "SYA", "submit": True, "schemes": [
        row(title="Fine"),
        row(organisation="ZZ9"),
        row(category="roads", title=""),
        row(cost_profile={"2026/27": 0}),
        row(organisation="RA2"),
        row(depends_on=[987654]),
        row(depends_on_rows=[3]),  # a reference to a row that failed its own checks is no problem
        row(organisation="RA2", title=""),  # a failed row's closed organisation is named too
        row(title="", depends_on=[987654]),  # and a new scheme's missing dependency
    ]}  # fmt: skip
    response = client.post(f"{API}/import", json=body, headers=world.auth("admin"))
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["title"] == "Validation failed"
    assert problem["detail"] == "10 problem(s) in the import; nothing was written."
    assert [(e["loc"], e["msg"]) for e in problem["errors"]] == [
        ("body.schemes[1].organisation", "ZZ9 is not an organisation of SYA"),
        ("body.schemes[2].title", "String should have at least 1 character"),
        ("body.schemes[2].category", "Input should be 'estates_backlog', 'estates_capacity', 'digital', 'equipment' or 'other'"),
        ("body.schemes[3]", "Value error, cost_profile needs at least one year with a cost above zero"),
        ("body.schemes[4].organisation", "RA2 closed on 2026-03-31; a closed organisation can submit no new schemes"),
        ("body.schemes[5].depends_on[0]", "no scheme 987654 in SYA"),
        ("body.schemes[7].title", "String should have at least 1 character"),
        ("body.schemes[7].organisation", "RA2 closed on 2026-03-31; a closed organisation can submit no new schemes"),
        ("body.schemes[8].title", "String should have at least 1 character"),
        ("body.schemes[8].depends_on[0]", "no scheme 987654 in SYA"),
    ]  # fmt: skip
    assert total(client, world) == before
    # Fixed as told, the same document imports at once.
    fixed = dict(
        body,
        schemes=[
            body["schemes"][0],
            row(),
            row(),
            row(),
            row(),
            row(),
            row(depends_on_rows=[3]),
            row(),
            row(),
        ],
    )
    response = client.post(f"{API}/import", json=fixed, headers=world.auth("admin"))
    assert response.status_code == 200, response.text
    assert total(client, world) == before + 9


def test_a_row_with_wrong_fields_has_its_organisation_checked_too(client, world):
    """A row that failed its own checks was checked no further: its unknown organisation was
    named only once its other fields were fixed. A wrong organisation field is named once."""
    body = {"system": "SYA", "schemes": [
        row(organisation="ZZ9", category="roads"), row(organisation="RA1", title=""),
        row(organisation=7, category="roads"), row(organisation="RA2", title=""),
    ]}  # fmt: skip
    response = client.post(f"{API}/import", json=body, headers=world.auth("trust_a1"))
    assert response.status_code == 422, response.text
    assert [(e["loc"], e["msg"][:40]) for e in response.json()["errors"]] == [
        ("body.schemes[0].category", "Input should be 'estates_backlog', 'esta"),
        ("body.schemes[0].organisation", "ZZ9 is not an organisation of SYA"),
        ("body.schemes[1].title", "String should have at least 1 character"),
        ("body.schemes[2].category", "Input should be 'estates_backlog', 'esta"),
        ("body.schemes[2].organisation", "Input should be a valid string"),
        ("body.schemes[3].title", "String should have at least 1 character"),
        ("body.schemes[3].organisation", "trust users may only import their own or"),
    ]  # fmt: skip


def test_a_document_that_is_wrong_as_a_whole_is_named_without_its_rows_checked(client, world):
    for body, locs in [
        ({"system": "s", "schemes": [row(organisation="ZZ9"), row(category="x")]},
         ["body.system", "body.schemes[1].category"]),
        ({"system": "SYA", "schemes": []}, ["body.schemes"]),
        ({"system": "SYA"}, ["body.schemes"]),
        ([row()], ["body"]),
        ({"system": "SYA", "extra": 1, "schemes": [row(organisation="ZZ9"), row(category="x")]},
         ["body.extra", "body.schemes[0].organisation", "body.schemes[1].category"]),
        ({"system": "SYZ", "schemes": [row(category="x")]}, ["body.system", "body.schemes[0].category"]),
    ]:  # fmt: skip
        response = client.post(f"{API}/import", json=body, headers=world.auth("admin"))
        assert response.status_code == 422, response.text
        assert [e["loc"] for e in response.json()["errors"]] == locs, body
    # A role that imports nothing is told so first, whatever the document holds.
    wrong = {"system": "SYA", "schemes": [row(category="x")]}
    assert (
        client.post(f"{API}/import", json=wrong, headers=world.auth("viewer_a")).status_code == 403
    )


def test_row_cycles_and_other_organisations_are_refused(client, world):
    cycle = {"system": "SYA", "schemes": [row(depends_on_rows=[1]), row(depends_on_rows=[0])]}
    response = client.post(f"{API}/import", json=cycle, headers=world.auth("trust_a1"))
    assert response.status_code == 422 and "cycle" in response.json()["errors"][0]["msg"]
    other = {"system": "SYA", "schemes": [row(organisation="RA2")]}
    response = client.post(f"{API}/import", json=other, headers=world.auth("trust_a1"))
    assert response.status_code == 422
    assert "own organisation" in response.json()["errors"][0]["msg"]
    for who in ("finance_a", "viewer_a", "assessor_a"):
        assert client.post(f"{API}/import", json=other, headers=world.auth(who)).status_code == 403
    outside = {"system": "SYB", "schemes": [row(organisation="RB1")]}
    assert (
        client.post(f"{API}/import", json=outside, headers=world.auth("trust_a1")).status_code
        == 403
    )


def test_dry_run_writes_nothing(client, world):
    before = total(client, world)
    body = {"system": "SYA", "dry_run": True, "schemes": [row()]}
    response = client.post(f"{API}/import", json=body, headers=world.auth("trust_a1"))
    assert response.json() == {"dry_run": True, "created": 1, "updated": 0, "unchanged": 0,
                               "ids": [], "updated_ids": []}  # fmt: skip
    assert total(client, world) == before


def test_a_closed_organisation_imports_no_new_schemes_and_its_template_offers_it_not(
    client, world, session
):
    # As creating one scheme: a closed organisation records no new schemes, by any route.
    organisation = session.scalars(select(Organisation).where(Organisation.code == "RA1")).one()
    organisation.closed_on = date(2026, 3, 31)
    session.commit()
    before = total(client, world)
    for who, submit in (("trust_a1", False), ("admin", True)):
        body = {"system": "SYA", "submit": submit, "schemes": [row(title="New boiler")]}
        response = client.post(f"{API}/import", json=body, headers=world.auth(who))
        assert response.status_code == 422, (who, response.text)
        [error] = response.json()["errors"]
        assert error["loc"] == "body.schemes[0].organisation"
        assert (
            error["msg"]
            == "RA1 closed on 2026-03-31; a closed organisation can submit no new schemes"
        )
    assert total(client, world) == before
    template = client.get(
        f"{API}/template.xlsx", params={"system": "SYA"}, headers=world.auth("admin")
    )
    sheet = load_workbook(BytesIO(template.content))["Schemes"]
    offered = {v.formula1 for v in sheet.data_validations.dataValidation if v.type == "list"}
    organisations = next(f for f in offered if "RA2" in f)
    assert "RA1" not in organisations


def test_a_row_with_wrong_fields_has_its_id_and_version_checked_too(client, world):
    """An update's row that failed its own checks was told nothing of its id: that it names no
    scheme, is on another row too or was read at a stale version came on the next attempt,
    as did a dependency its scheme does not hold."""
    needed, lift = (
        client.post(API, json=scheme_body(title=t), headers=world.auth("admin")).json()["id"]
        for t in ("Needed", "Lift")
    )
    changed = client.patch(f"{API}/{lift}", json={"depends_on": [needed]},
                           headers=world.auth("admin") | {"If-Match": "1"})  # fmt: skip
    assert changed.status_code == 200, changed.text
    body = {"system": "SYA", "schemes": [
        row(id=987654, version=1, title=""),
        row(id=lift, version=1, title=""),
        row(id=lift, version="2", title=""),  # a wrong version is named once
        row(id=lift, version=2, title="", depends_on=[needed, 987655]),
        row(id="x", title="", depends_on=[987655]),  # a wrong id: its scheme is unknown
    ]}  # fmt: skip
    response = client.post(f"{API}/import", json=body, headers=world.auth("admin"))
    short = "String should have at least 1 character"
    assert errors_of(response) == [
        ("body.schemes[0].title", short),
        ("body.schemes[0].id", "no scheme 987654 in SYA that you can see"),
        ("body.schemes[1].title", short),
        ("body.schemes[1].version", f"scheme {lift} was changed by someone else since version 1 "
                                    "(it is now version 2): export again"),
        ("body.schemes[2].title", short),
        ("body.schemes[2].version", "Input should be a valid integer"),
        ("body.schemes[2].id", f"scheme {lift} is also on row 1"),
        ("body.schemes[3].title", short),
        ("body.schemes[3].id", f"scheme {lift} is also on row 1"),
        ("body.schemes[3].depends_on[1]", "no scheme 987655 in SYA"),
        ("body.schemes[4].title", short),
        ("body.schemes[4].id", "Input should be a valid integer"),
    ]  # fmt: skip


def test_a_row_that_would_change_a_withdrawn_scheme_is_told_so_even_with_a_wrong_field(
    client, world
):
    """A row with a wrong field that updates a withdrawn scheme was told only of that field;
    fixing it brought "cannot be changed" on the next attempt. A wrong value in one of the
    scheme's own fields cannot be what the scheme holds, so the row changes it. With a problem
    only in a key the row may not have, the rest of the row says: unchanged is no change, a
    new title is."""
    admin = world.auth("admin")
    ids = [client.post(API, json=scheme_body(title=t), headers=admin).json()["id"]
           for t in ("Boiler", "Lift", "Ward", "Roof")]  # fmt: skip
    for scheme_id in ids:
        withdrawn = client.post(f"{API}/{scheme_id}/withdraw", headers=admin)
        assert withdrawn.status_code == 200 and withdrawn.json()["version"] == 2, withdrawn.text
    boiler, lift, ward, roof = ids
    body = {"system": "SYA", "schemes": [
        row(id=boiler, version=2, title="Boiler", category="boilers"),  # a wrong field
        row(id=lift, version=2, title="Lift, phase 2"),  # a valid row that changes it
        row(id=ward, version=2, title="Ward", colour="blue"),  # unchanged but for a stray key
        row(id=ward, version=2, title="Ward", cost_profile={"2026/27": 0}),  # across fields
        row(id=roof, version=2, title="Roof and gutters", colour="red"),  # changed, a stray key
    ]}  # fmt: skip
    response = client.post(f"{API}/import", json=body, headers=admin)
    errors = errors_of(response)
    assert errors[0][0] == "body.schemes[0].category" and errors[1:] == [
        ("body.schemes[0].id", f"scheme {boiler} is withdrawn and cannot be changed"),
        ("body.schemes[1].id", f"scheme {lift} is withdrawn and cannot be changed"),
        ("body.schemes[2].colour", "Extra inputs are not permitted"),
        ("body.schemes[3]", "Value error, cost_profile needs at least one year with a cost above zero"),
        ("body.schemes[3].id", f"scheme {ward} is also on row 2"),
        ("body.schemes[3].id", f"scheme {ward} is withdrawn and cannot be changed"),
        ("body.schemes[4].colour", "Extra inputs are not permitted"),
        ("body.schemes[4].id", f"scheme {roof} is withdrawn and cannot be changed"),
    ], errors  # fmt: skip


def test_a_cycle_through_a_row_with_wrong_fields_is_named_in_the_same_answer(client, world):
    """Rows that depended on each other in a cycle were told so only once a wrong field in one
    of them was fixed: the cycle check left out every row that failed its own checks."""
    body = {"system": "SYA", "schemes": [
        row(title="Pathology", depends_on_rows=[1]),
        row(title="", depends_on_rows=[0]),  # its title is wrong, its reference is right
        row(title="", depends_on_rows=[2]),  # a reference to itself is named at once
    ]}  # fmt: skip
    response = client.post(f"{API}/import", json=body, headers=world.auth("trust_a1"))
    short = "String should have at least 1 character"
    assert errors_of(response) == [
        ("body.schemes[1].title", short),
        ("body.schemes[2].title", short),
        ("body.schemes[2].depends_on_rows[0]", "no other row 2 in this import"),
    ]  # fmt: skip
    body["schemes"].pop()
    response = client.post(f"{API}/import", json=body, headers=world.auth("trust_a1"))
    assert errors_of(response) == [
        ("body.schemes[0].depends_on_rows", "rows depend on each other in a cycle: row 0 -> row 1 -> row 0"),
        ("body.schemes[1].title", short),
    ]  # fmt: skip
    # A wrong reference adds no edge: no cycle is made up from it.
    body["schemes"][1]["depends_on_rows"] = [0, "x"]
    response = client.post(f"{API}/import", json=body, headers=world.auth("trust_a1"))
    assert [e["loc"] for e in response.json()["errors"]] == [
        "body.schemes[1].title", "body.schemes[1].depends_on_rows[1]",
    ]  # fmt: skip
