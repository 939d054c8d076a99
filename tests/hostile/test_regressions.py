"""One regression test per defect found by probing the API as an attacker (issue 9), through
HTTP on SQLite and PostgreSQL: each answered 500, lost data silently or leaked before."""

import json

import pytest
from sqlalchemy import event

from tests.api.test_rounds import demo_round
from tests.conftest import scheme_body

API = "/api/v1"
BIG = [2**31, 2**63, 10**30]


def _post_raw(client, path, body: str, headers):
    return client.post(path, content=body, headers={**headers, "Content-Type": "application/json"})


def _fields(response) -> set[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return {e["loc"] for e in response.json()["errors"]}


@pytest.mark.parametrize("year", ["２０２６/27", "٢٠٢٦/27", "0000/01", "1999/00", "2100/01"])
def test_financial_years_are_ascii_and_in_range(client, world, year):
    body = scheme_body(cost_profile={year: 1000, "2026/27": 5})
    response = client.post(f"{API}/schemes", json=body, headers=world.auth("trust_a1"))
    assert any(f.startswith("body.cost_profile") for f in _fields(response))


@pytest.mark.parametrize("amount", ["１０００", "1e3", "1_000", " 5", "-1", True])
def test_money_is_a_number_or_a_plain_ascii_decimal_string(client, world, amount):
    body = scheme_body(cost_profile={"2026/27": amount})
    response = client.post(f"{API}/schemes", json=body, headers=world.auth("trust_a1"))
    assert "body.cost_profile.2026/27" in _fields(response)


def test_money_as_a_decimal_string_is_exact(client, world):
    body = scheme_body(cost_profile={"2026/27": "1000.10", "2027/28": 0.2})
    response = client.post(f"{API}/schemes", json=body, headers=world.auth("trust_a1"))
    assert response.status_code == 201, response.text
    assert response.json()["total_cost"] == 1000.3


def test_draft_contents_do_not_leak_through_the_audit_trail(client, world):
    draft = client.post(
        f"{API}/schemes", json=scheme_body(title="Secret merger"), headers=world.auth("trust_a1")
    ).json()
    query = {"entity": "scheme", "entity_id": draft["id"]}
    for who in ("finance_a", "viewer_a"):
        assert (
            client.get(f"{API}/schemes/{draft['id']}", headers=world.auth(who)).status_code == 404
        )
        events = client.get(f"{API}/audit", params=query, headers=world.auth(who)).json()
        assert events == {"items": [], "total": 0, "limit": 100, "offset": 0}
        everything = client.get(f"{API}/audit", headers=world.auth(who)).text
        assert "Secret merger" not in everything
    admin = client.get(f"{API}/audit", params=query, headers=world.auth("admin")).json()
    assert [e["action"] for e in admin["items"]] == ["create"]
    # once submitted, the scheme is open book in its system, and so is its history
    client.post(f"{API}/schemes/{draft['id']}/submit", headers=world.auth("trust_a1"))
    events = client.get(f"{API}/audit", params=query, headers=world.auth("finance_a")).json()
    assert [e["action"] for e in events["items"]] == ["create", "submit"]


@pytest.mark.parametrize("big", BIG)
def test_ids_and_offsets_beyond_the_integer_range_are_422(client, demo_world, big):
    finance = demo_world.auth("ics_finance")
    for path in (f"schemes/{big}", f"rounds/{big}", f"runs/{big}", f"schemes/{big}/assessments",
                 f"runs/{big}/snapshot.json", f"runs/1/compare?with={big}",
                 f"schemes?offset={big}", f"audit?offset={big}"):  # fmt: skip
        response = client.get(f"{API}/{path}", headers=finance)
        assert response.status_code == 422, (path, response.text)
    round_id = demo_round(client, finance)
    agree = client.post(f"{API}/rounds/{round_id}/agree", json={"run_id": big}, headers=finance)
    assert _fields(agree) == {"body.run_id"}
    body = scheme_body(system="QWV", organisation="R0A", depends_on=[big])
    response = client.post(f"{API}/schemes", json=body, headers=demo_world.auth("trust"))
    assert _fields(response) == {"body.depends_on[0]"}


def test_more_dependencies_than_a_statement_can_bind_are_422(client, world):
    body = scheme_body(depends_on=list(range(1, 70_001)))
    response = client.post(f"{API}/schemes", json=body, headers=world.auth("trust_a1"))
    assert _fields(response) == {"body.depends_on"}


@pytest.mark.parametrize("path", ["rounds/{id}", "rounds/{id}/runs", "rounds/{id}/frontier"])
def test_explicit_null_round_parameters_are_422(client, demo_world, path):
    finance = demo_world.auth("ics_finance")
    round_id = demo_round(client, finance)
    url = f"{API}/{path.format(id=round_id)}"
    for field in ("envelope", "years", "weights", "fair_shares", "tolerance_pct"):
        send = client.patch if path == "rounds/{id}" else client.post
        response = send(url, json={field: None}, headers=finance)
        assert _fields(response) == {f"body.{field}"}, response.text


@pytest.mark.parametrize(
    ("where", "value"),
    [("title", "Roof\x00replacement"), ("description", "a\x00b"), ("title", "bell\x07"),
     ("alternative_group", "g\x1b[31m")],
)  # fmt: skip
def test_nul_and_control_characters_in_text_are_422(client, world, where, value):
    response = client.post(
        f"{API}/schemes", json=scheme_body(**{where: value}), headers=world.auth("trust_a1")
    )
    assert _fields(response) == {f"body.{where}"}


def test_nul_in_a_query_or_path_is_422(client, world):
    headers = world.auth("finance_a")
    assert (
        client.get(f"{API}/schemes", params={"system": "SY\x00A"}, headers=headers).status_code
        == 422
    )
    assert client.get(f"{API}/systems/SY%00A", headers=headers).status_code == 422
    assert (
        client.get(f"{API}/audit", params={"entity_id": "1\x00"}, headers=headers).status_code
        == 422
    )


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity", "-1", "0", "1e308"])
def test_frontier_multipliers_are_finite_and_sane(client, demo_world, bad):
    finance = demo_world.auth("ics_finance")
    round_id = demo_round(client, finance)
    response = _post_raw(client, f"{API}/rounds/{round_id}/frontier",
                         f'{{"multipliers": [1.0, {bad}]}}', finance)  # fmt: skip
    assert _fields(response) == {"body.multipliers[1]"}


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "1e308", "-1"])
def test_fair_share_formula_numbers_are_finite(client, demo_world, bad):
    finance = demo_world.auth("ics_finance")
    round_id = demo_round(client, finance)
    formula = ('{"fair_share_formula": {"weights": {"population": %s, "need": 0.5}, '
               '"inputs": {"R0A": {"population": 1, "need": %s}, "R0B": {"population": 2, "need": 1}}}}')  # fmt: skip
    response = _post_raw(client, f"{API}/rounds/{round_id}/runs", formula % (bad, 1), finance)
    assert "body.fair_share_formula.weights.population" in _fields(response)
    response = _post_raw(client, f"{API}/rounds/{round_id}/runs", formula % (0.5, bad), finance)
    assert "body.fair_share_formula.inputs.R0A.need" in _fields(response)


@pytest.mark.parametrize("value", ["²", "٣", "9" * 5000, "99999999999", "-1", "1.5"])
def test_if_match_is_parsed_within_bounds(client, world, value):
    scheme = client.post(
        f"{API}/schemes", json=scheme_body(), headers=world.auth("trust_a1")
    ).json()
    response = client.patch(
        f"{API}/schemes/{scheme['id']}", json={"title": "x"},
        headers={**world.auth("trust_a1"), "If-Match": value.encode("utf-8")},
    )  # fmt: skip
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_bodies_over_the_limit_are_413_before_being_read(client, world):
    from api.settings import get_settings

    limit = get_settings().max_body_bytes
    big = b'{"title": "' + b"x" * (limit + 1) + b'"}'
    response = client.post(f"{API}/schemes", content=big,
                           headers={**world.auth("trust_a1"), "Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"

    def chunks():  # no Content-Length: counted as it streams
        for _ in range(limit // 1_000_000 + 2):
            yield b" " * 1_000_000

    response = client.post(f"{API}/schemes", content=chunks(),
                           headers={**world.auth("trust_a1"), "Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 413


def test_out_of_scope_reads_answer_exactly_like_missing_ones(client, world):
    scheme = client.post(
        f"{API}/schemes", json=scheme_body(), headers=world.auth("trust_a1")
    ).json()
    client.post(f"{API}/schemes/{scheme['id']}/submit", headers=world.auth("trust_a1"))
    outsider = world.auth("finance_b")
    hidden = client.get(f"{API}/schemes/{scheme['id']}", headers=outsider)
    missing = client.get(f"{API}/schemes/999999", headers=outsider)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["title"] == missing.json()["title"]
    assert hidden.json()["detail"] == f"No scheme with id {scheme['id']}."
    assert (
        client.get(f"{API}/systems/SYA", headers=outsider).json()["detail"]
        == "No system with code SYA."
    )
    assert client.get(f"{API}/organisations/RA1", headers=outsider).status_code == 404


def test_dependency_errors_do_not_reveal_other_systems(client, world):
    other = client.post(f"{API}/schemes", json=scheme_body(system="SYB", organisation="RB1"),
                        headers=world.auth("trust_b1")).json()  # fmt: skip
    for dependency in (other["id"], 999999):
        response = client.post(f"{API}/schemes", json=scheme_body(depends_on=[dependency]),
                               headers=world.auth("trust_a1"))  # fmt: skip
        assert response.json()["errors"] == [
            {"loc": "body.depends_on[0]", "msg": f"no scheme with id {dependency} in this system"}
        ]


MISSING = 999999


def _reads_like_missing(hidden, missing, hidden_id: int) -> None:
    """The answer about an object the caller cannot read is, to the byte, the answer about a
    missing id (with that id in its place)."""
    assert hidden.status_code == missing.status_code, (hidden.text, missing.text)
    assert hidden.text == missing.text.replace(str(MISSING), str(hidden_id))


def test_dependencies_on_unreadable_drafts_are_refused_like_missing_ones(client, world):
    from tests.api.test_spreadsheets_http import _filled, _upload

    draft = client.post(f"{API}/schemes", json=scheme_body(organisation="RA2"),
                        headers=world.auth("trust_a2")).json()["id"]  # fmt: skip
    headers = world.auth("trust_a1")
    own = client.post(f"{API}/schemes", json=scheme_body(), headers=headers).json()["id"]
    template = client.get(f"{API}/schemes/template.xlsx", params={"system": "SYA", "years": 2},
                          headers=headers).content  # fmt: skip

    def attempts(dependency: int):
        row = {k: v for k, v in scheme_body(depends_on=[dependency]).items() if k != "system"}
        yield client.post(f"{API}/schemes", json=scheme_body(depends_on=[dependency]),
                          headers=headers)  # fmt: skip
        yield client.patch(f"{API}/schemes/{own}", json={"depends_on": [dependency]},
                           headers={**headers, "If-Match": "1"})  # fmt: skip
        for imported in (row, row | {"id": own, "version": 1}):
            yield client.post(f"{API}/schemes/import", json={"system": "SYA", "schemes": [imported]},
                              headers=headers)  # fmt: skip
        sheet = ["RA1", "Boiler", "", "estates_backlog", "obc", "high", "no", "", str(dependency),
                 "", 0, 250000, ""]  # fmt: skip
        yield _upload(client, "trust_a1", world, _filled(template, [sheet]))

    for hidden, missing in zip(attempts(draft), attempts(MISSING), strict=True):
        assert hidden.status_code == 422 and "depends_on" in hidden.text, hidden.text
        _reads_like_missing(hidden, missing, draft)
    # Those who can read the draft may still name it.
    for who, organisation in (("trust_a2", "RA2"), ("admin", "RA1")):
        body = scheme_body(organisation=organisation, depends_on=[draft])
        assert client.post(f"{API}/schemes", json=body, headers=world.auth(who)).status_code == 201


def test_a_dependency_the_scheme_already_has_may_be_kept(client, world):
    # An administrator made RA1's scheme depend on RA2's draft: RA1 sees that id on its scheme
    # already, so sending it back unchanged (an edit, a re-imported export) is no probe.
    draft = client.post(f"{API}/schemes", json=scheme_body(organisation="RA2"),
                        headers=world.auth("trust_a2")).json()["id"]  # fmt: skip
    headers = world.auth("trust_a1")
    own = client.post(f"{API}/schemes", json=scheme_body(), headers=headers).json()["id"]
    held = client.patch(f"{API}/schemes/{own}", json={"depends_on": [draft]},
                        headers={**world.auth("admin"), "If-Match": "1"})  # fmt: skip
    assert held.status_code == 200, held.text
    kept = client.patch(f"{API}/schemes/{own}", json={"title": "Kept", "depends_on": [draft]},
                        headers={**headers, "If-Match": "2"})  # fmt: skip
    assert kept.status_code == 200 and kept.json()["depends_on"] == [draft], kept.text
    row = {k: v for k, v in scheme_body(title="Again", depends_on=[draft]).items() if k != "system"}
    again = client.post(f"{API}/schemes/import", headers=headers, json={
        "system": "SYA", "schemes": [row | {"id": own, "version": kept.json()["version"]}]})  # fmt: skip
    assert again.status_code == 200 and again.json()["updated_ids"] == [own], again.text


def test_the_delivery_of_a_draft_the_caller_cannot_read_reads_like_a_missing_one(client, world):
    draft = client.post(f"{API}/schemes", json=scheme_body(),
                        headers=world.auth("trust_a1")).json()["id"]  # fmt: skip
    for who in ("trust_a2", "finance_a", "viewer_a", "assessor_a"):
        headers = world.auth(who)
        for scheme_id in (draft, MISSING):
            assert client.get(f"{API}/schemes/{scheme_id}", headers=headers).status_code == 404

        def asks(scheme_id: int, headers: dict):
            path = f"{API}/schemes/{scheme_id}/delivery"
            yield client.get(path, headers=headers)
            yield client.patch(path, json={"rag": "red"}, headers={**headers, "If-Match": "1"})

        for hidden, missing in zip(asks(draft, headers), asks(MISSING, headers), strict=True):
            assert hidden.status_code == 404, (who, hidden.text)
            _reads_like_missing(hidden, missing, draft)


def test_a_run_of_another_system_reads_like_a_missing_one_not_its_round(client, world):
    finance = world.auth("finance_a")
    round_ = client.post(f"{API}/rounds", headers=finance, json={
        "system": "SYA", "name": "Plan", "years": ["2026/27"], "envelope": {"2026/27": 1000000}})  # fmt: skip
    assert round_.status_code == 201, round_.text
    run = client.post(f"{API}/rounds/{round_.json()['id']}/runs", json={}, headers=finance)
    assert run.status_code == 201, run.text
    run_id = run.json()["id"]
    assert client.get(f"{API}/runs/{run_id}", headers=finance).status_code == 200
    paths = ("", "/snapshot.json", "/report.xlsx", "/report.pdf", "/report.csv",
             f"/compare?with={run_id}", f"/report.pdf?with={run_id}")  # fmt: skip
    for who in ("finance_b", "trust_b1", "assessor_b"):
        for path in paths:
            hidden = client.get(f"{API}/runs/{run_id}{path}", headers=world.auth(who))
            missing = client.get(f"{API}/runs/{MISSING}{path}", headers=world.auth(who))
            assert hidden.status_code == 404, (who, path, hidden.text)
            assert hidden.json()["detail"] == f"No run with id {run_id}."
            _reads_like_missing(hidden, missing, run_id)
        # The other run named second reads like a missing one too.
        own = client.get(f"{API}/runs/{MISSING}/compare", params={"with": run_id},
                         headers=world.auth(who))  # fmt: skip
        assert own.json()["detail"] == f"No run with id {MISSING}."


def test_the_scheme_list_takes_a_constant_number_of_statements(client, world, engine):
    headers = world.auth("trust_a1")
    first = client.post(f"{API}/schemes", json=scheme_body(), headers=headers).json()
    statements: list[str] = []

    def count(*_args):
        statements.append("x")

    def listing() -> int:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert (
                client.get(f"{API}/schemes", params={"limit": 500}, headers=headers).status_code
                == 200
            )
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    few = listing()
    for index in range(40):
        body = scheme_body(title=f"Scheme {index}", depends_on=[first["id"]])
        assert client.post(f"{API}/schemes", json=body, headers=headers).status_code == 201
    assert listing() == few
    assert few <= 10


def test_405_names_every_allowed_method(client, world):
    response = client.delete(f"{API}/schemes/1", headers=world.auth("admin"))
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "PATCH"}
    assert response.headers["content-type"] == "application/problem+json"
    response = client.put(f"{API}/schemes/import", headers=world.auth("admin"))
    assert response.status_code == 405 and response.headers["allow"] == "POST"


def test_201_has_location_and_rounds_have_etags(client, demo_world):
    finance = demo_world.auth("ics_finance")
    created = client.post(f"{API}/schemes", json=scheme_body(system="QWV", organisation="R0A"),
                          headers=demo_world.auth("trust"))  # fmt: skip
    assert created.headers["location"] == f"{API}/schemes/{created.json()['id']}"
    round_id = demo_round(client, finance)
    got = client.get(f"{API}/rounds/{round_id}", headers=finance)
    assert got.headers["etag"] == f'"{got.json()["version"]}"'
    stale = client.patch(f"{API}/rounds/{round_id}", json={"name": "x"},
                         headers={**finance, "If-Match": "999"})  # fmt: skip
    assert stale.status_code == 412
    assert (
        client.patch(f"{API}/rounds/{round_id}", json={"name": "x"}, headers=finance).status_code
        == 428
    )
    for value in ("²", "9" * 5000, "-1"):
        invalid = client.patch(f"{API}/rounds/{round_id}", json={"name": "x"},
                               headers={**finance, "If-Match": value.encode("utf-8")})  # fmt: skip
        assert invalid.status_code == 422, invalid.text
    renamed = client.patch(f"{API}/rounds/{round_id}", json={"name": "renamed"},
                           headers={**finance, "If-Match": got.headers["etag"]})  # fmt: skip
    assert renamed.status_code == 200 and renamed.json()["name"] == "renamed"
    assert renamed.headers["etag"] == f'"{got.json()["version"] + 1}"'
    run = client.post(f"{API}/rounds/{round_id}/runs", json={}, headers=finance)
    assert run.status_code == 201 and run.headers["location"] == f"{API}/runs/{run.json()['id']}"


def test_every_list_has_one_envelope(client, demo_world):
    finance = demo_world.auth("ics_finance")
    round_id = demo_round(client, finance)
    scheme_id = client.get(f"{API}/schemes", headers=finance).json()["items"][0]["id"]
    for path in ("systems", "organisations", "schemes", "rounds", f"rounds/{round_id}/runs",
                 f"schemes/{scheme_id}/assessments", "audit"):  # fmt: skip
        page = client.get(f"{API}/{path}", params={"limit": 1, "offset": 0}, headers=finance)
        assert page.status_code == 200, (path, page.text)
        assert set(page.json()) == {"items", "total", "limit", "offset"}, path
        assert page.json()["limit"] == 1 and len(page.json()["items"]) <= 1


def test_request_json_is_strict(client, world):
    """What the OpenAPI says is what is accepted: "5" is not an integer, true is not money."""
    body = scheme_body(max_deferral_years="2")
    response = client.post(f"{API}/schemes", json=body, headers=world.auth("trust_a1"))
    assert _fields(response) == {"body.max_deferral_years"}
    body = json.loads(json.dumps(scheme_body(mandatory="yes", mandatory_reason="x")))
    response = client.post(f"{API}/schemes", json=body, headers=world.auth("trust_a1"))
    assert _fields(response) == {"body.mandatory"}


def test_a_run_reads_the_round_in_a_constant_number_of_statements(client, demo_world, engine):
    # The snapshot once loaded each scheme's dependencies with a query of its own.
    finance, trust = demo_world.auth("ics_finance"), demo_world.auth("trust")
    round_id = demo_round(client, finance)
    statements: list[str] = []

    def count(*_args):
        statements.append("x")

    def run() -> tuple[int, dict]:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            response = client.post(f"{API}/rounds/{round_id}/runs", json={}, headers=finance)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert response.status_code == 201, response.text
        return len(statements), response.json()["result"]

    few, _ = run()
    first = None
    for index in range(12):
        body = scheme_body(system="QWV", organisation="R0A", title=f"Ward {index}",
                           cost_profile={"2026/27": 20000.00},
                           depends_on=[first] if first else [])  # fmt: skip
        created = client.post(f"{API}/schemes", json=body, headers=trust)
        assert created.status_code == 201, created.text
        first = first or created.json()["id"]
        submitted = client.post(f"{API}/schemes/{created.json()['id']}/submit", headers=trust)
        assert submitted.status_code == 200, submitted.text
    many, result = run()
    assert str(first) in {s["id"] for s in result["schemes"]}  # the new schemes are in the round
    assert many == few


def test_an_import_that_is_neither_json_nor_an_upload_is_415(client, world):
    """text/plain or XML to /schemes/import was read as JSON and answered 400 "JSON decode
    error": the problem is the media type, and the answer now says which ones it takes."""
    for media_type in ("text/plain", "application/xml", "application/x-www-form-urlencoded"):
        response = client.post(f"{API}/schemes/import", content=b"system=SYA",
                               headers={**world.auth("trust_a1"), "Content-Type": media_type})  # fmt: skip
        assert response.status_code == 415, (media_type, response.status_code)
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["loc"] for e in response.json()["errors"]] == ["header.content-type"]
    json_body = client.post(f"{API}/schemes/import", content=b"{}",
                            headers={**world.auth("trust_a1"), "Content-Type": "application/json; charset=utf-8"})  # fmt: skip
    assert json_body.status_code == 422  # JSON still reaches validation
