"""The scheme register over HTTP: roles, scopes, validation, versions and status changes."""

import re

import pytest

from tests.conftest import scheme_body

API = "/api/v1/schemes"


def create(client, world, who="trust_a1", **overrides):
    response = client.post(API, json=scheme_body(**overrides), headers=world.auth(who))
    assert response.status_code == 201, response.text
    return response.json()


def submit(client, world, scheme, who="trust_a1"):
    response = client.post(f"{API}/{scheme['id']}/submit", headers=world.auth(who))
    assert response.status_code == 200, response.text
    return response.json()


def test_trust_creates_a_draft_with_an_exact_cost_profile(client, world):
    scheme = create(client, world, cost_profile={"2026/27": "1200000.10", "2027/28": 300000.05})
    assert scheme["status"] == "draft" and scheme["version"] == 1
    assert scheme["cost_profile"] == {"2026/27": 1200000.1, "2027/28": 300000.05}
    assert scheme["total_cost"] == 1500000.15
    again = client.get(f"{API}/{scheme['id']}", headers=world.auth("trust_a1"))
    assert again.headers["etag"] == '"1"'
    assert again.json()["cost_profile"] == scheme["cost_profile"]


def test_trust_cannot_create_for_another_organisation(client, world):
    response = client.post(
        API, json=scheme_body(organisation="RA2"), headers=world.auth("trust_a1")
    )
    assert response.status_code == 403


@pytest.mark.parametrize("who", ["assessor_a", "finance_a", "viewer_a"])
def test_non_trust_roles_cannot_create_schemes(client, world, who):
    assert client.post(API, json=scheme_body(), headers=world.auth(who)).status_code == 403


def test_organisation_must_belong_to_the_system(client, world):
    response = client.post(
        API, json=scheme_body(system="SYB", organisation="RA1"), headers=world.auth("admin")
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == "body.organisation"


def test_drafts_are_private_to_their_organisation(client, world):
    draft = create(client, world)
    for who in ("trust_a2", "assessor_a", "finance_a", "viewer_a"):
        # another organisation's draft reads exactly like a missing scheme
        assert client.get(f"{API}/{draft['id']}", headers=world.auth(who)).status_code == 404
        listed = client.get(API, headers=world.auth(who)).json()
        assert draft["id"] not in [s["id"] for s in listed["items"]]
    assert client.get(f"{API}/{draft['id']}", headers=world.auth("trust_a1")).status_code == 200


def test_submitted_schemes_are_open_book_within_the_system_only(client, world):
    scheme = submit(client, world, create(client, world))
    for who in ("trust_a2", "trust_amb", "assessor_a", "finance_a", "viewer_a", "admin"):
        assert client.get(f"{API}/{scheme['id']}", headers=world.auth(who)).status_code == 200
    for who in ("trust_b1", "finance_b", "assessor_b"):
        assert client.get(f"{API}/{scheme['id']}", headers=world.auth(who)).status_code == 404


def test_list_filters_and_pagination(client, world):
    for index in range(5):
        scheme = create(
            client, world, title=f"S{index}", category="digital" if index % 2 else "equipment"
        )
        submit(client, world, scheme)
    create(client, world, who="trust_a2", organisation="RA2")
    headers = world.auth("finance_a")
    page = client.get(API, params={"limit": 2, "offset": 1}, headers=headers).json()
    assert page["total"] == 5 and [s["title"] for s in page["items"]] == ["S1", "S2"]
    digital = client.get(API, params={"category": "digital"}, headers=headers).json()
    assert digital["total"] == 2
    by_org = client.get(
        API, params={"organisation": "RA2", "system": "SYA"}, headers=headers
    ).json()
    assert by_org["total"] == 0  # RA2's only scheme is a draft
    assert (
        client.get(API, params={"status": "draft"}, headers=world.auth("trust_a2")).json()["total"]
        == 1
    )
    assert client.get(API, params={"limit": 0}, headers=headers).status_code == 422


def test_a_list_filtered_by_a_system_or_organisation_the_caller_cannot_see_says_so(client, world):
    """`?system=QVW` for QWV was an empty page, as if the system had no schemes (and the CLI
    printed "0 schemes", its export wrote an empty file). A code that does not exist and one
    outside the caller's scope read alike: nothing tells which codes exist elsewhere."""
    finance = world.auth("finance_a")

    def refused(path: str, **params) -> list[tuple[str, str]]:
        response = client.get(path, params=params, headers=finance)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        return [(e["loc"], e["msg"]) for e in response.json()["errors"]]

    for code in ("ZZZ", "SYB"):  # missing; another system's
        expected = [("query.system", f"no system {code} that you can see")]
        assert refused(API, system=code) == expected
        assert refused(f"{API}/export.csv", system=code) == expected
        assert refused("/api/v1/rounds", system=code) == expected
        assert refused("/api/v1/organisations", system=code) == expected
    for code in ("RZ9", "RB1"):  # missing; only in another system
        assert refused(API, organisation=code) == [
            ("query.organisation", f"no organisation {code} that you can see")
        ]
    assert refused(API, system="SYB", organisation="RB1") == [
        ("query.system", "no system SYB that you can see"),
        ("query.organisation", "no organisation RB1 that you can see"),
    ]
    # In scope: an organisation in two systems, and an administrator's any system.
    assert client.get(API, params={"organisation": "RAM"}, headers=finance).status_code == 200
    admin = world.auth("admin")
    assert client.get(API, params={"system": "SYB"}, headers=admin).status_code == 200
    assert client.get("/api/v1/rounds", params={"system": "SYB"}, headers=admin).status_code == 200


def test_update_requires_if_match(client, world):
    scheme = create(client, world)
    response = client.patch(
        f"{API}/{scheme['id']}", json={"title": "x"}, headers=world.auth("trust_a1")
    )
    assert response.status_code == 428
    assert response.headers["content-type"] == "application/problem+json"


def test_stale_if_match_is_412_and_changes_nothing(client, world):
    scheme = create(client, world)
    headers = world.auth("trust_a1")
    ok = client.patch(
        f"{API}/{scheme['id']}", json={"title": "First"}, headers={**headers, "If-Match": '"1"'}
    )
    assert ok.status_code == 200 and ok.json()["version"] == 2 and ok.headers["etag"] == '"2"'
    stale = client.patch(
        f"{API}/{scheme['id']}", json={"title": "Second"}, headers={**headers, "If-Match": "1"}
    )
    assert stale.status_code == 412
    assert client.get(f"{API}/{scheme['id']}", headers=headers).json()["title"] == "First"


def test_update_replaces_the_cost_profile(client, world):
    scheme = create(client, world)
    response = client.patch(
        f"{API}/{scheme['id']}",
        json={"cost_profile": {"2028/29": 99.99}},
        headers={**world.auth("trust_a1"), "If-Match": "1"},
    )
    assert response.status_code == 200
    assert response.json()["cost_profile"] == {"2028/29": 99.99}


def test_other_organisation_cannot_update_a_submitted_scheme(client, world):
    scheme = submit(client, world, create(client, world))
    response = client.patch(
        f"{API}/{scheme['id']}", json={"title": "x"},
        headers={**world.auth("trust_a2"), "If-Match": str(scheme["version"])},
    )  # fmt: skip
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("field", "value", "loc"),
    [
        ("cost_profile", {"2026/2027": 1}, "body.cost_profile.2026/2027"),
        ("cost_profile", {"2026/28": 1}, "body.cost_profile.2026/28"),
        ("cost_profile", {"2026/27": -5}, "body.cost_profile.2026/27"),
        ("cost_profile", {"2026/27": 1.234}, "body.cost_profile.2026/27"),
        ("cost_profile", {"2026/27": "NaN"}, "body.cost_profile.2026/27"),
        ("cost_profile", {"2026/27": "Infinity"}, "body.cost_profile.2026/27"),
        ("cost_profile", {}, "body.cost_profile"),
        ("category", "roads", "body.category"),
        ("business_case_stage", "ppe", "body.business_case_stage"),
        ("backlog_risk", "critical", "body.backlog_risk"),
        ("max_deferral_years", -1, "body.max_deferral_years"),
        ("colour", "red", "body.colour"),
        ("title", "", "body.title"),
    ],
)
def test_validation_names_the_offending_field(client, world, field, value, loc):
    response = client.post(API, json=scheme_body(**{field: value}), headers=world.auth("trust_a1"))
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert loc in [e["loc"] for e in problem["errors"]], problem


@pytest.mark.parametrize("year", ["2026/7", "2026/2027", "26/27", "2026-27", "２０２６/27"])
def test_a_wrong_financial_year_is_one_plain_message(client, world, year):
    """A cost profile's year written wrongly got pydantic's "String should have at least 7
    characters" and "String should match pattern '^20[0-9]{2}/[0-9]{2}$'" beside (or instead
    of) the plain words."""
    response = client.post(API, json=scheme_body(cost_profile={year: 100}),
                           headers=world.auth("trust_a1"))  # fmt: skip
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert errors == [{"loc": f"body.cost_profile.{year}",
                       "msg": f"Value error, '{year}' is not a financial year like 2026/27 (2000/01 to 2099/00)"}]  # fmt: skip


def test_mandatory_needs_a_reason(client, world):
    response = client.post(API, json=scheme_body(mandatory=True), headers=world.auth("trust_a1"))
    assert response.status_code == 422
    scheme = create(client, world, mandatory=True, mandatory_reason="Fire notice")
    assert scheme["mandatory"] is True


def test_malformed_json_is_400_problem(client, world):
    response = client.post(
        API,
        content=b'{"title": ',
        headers={**world.auth("trust_a1"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


def test_dependencies_must_exist_and_stay_in_the_system(client, world):
    other = create(client, world, who="trust_amb", system="SYB", organisation="RAM")
    response = client.post(
        API, json=scheme_body(depends_on=[other["id"], 999999]), headers=world.auth("trust_a1")
    )
    assert response.status_code == 422
    errors = {e["loc"]: e["msg"] for e in response.json()["errors"]}
    # another system's scheme and a missing one read alike: no probing of other systems
    assert errors["body.depends_on[0]"] == f"no scheme with id {other['id']} in this system"
    assert errors["body.depends_on[1]"] == "no scheme with id 999999 in this system"


def test_dependency_cycles_are_rejected(client, world):
    headers = world.auth("trust_a1")
    first = create(client, world)
    second = create(client, world, depends_on=[first["id"]])
    third = create(client, world, depends_on=[second["id"]])
    response = client.patch(
        f"{API}/{first['id']}",
        json={"depends_on": [third["id"]]},
        headers={**headers, "If-Match": "1"},
    )
    assert response.status_code == 422
    assert "cycle" in response.json()["detail"]
    self_loop = client.patch(
        f"{API}/{first['id']}",
        json={"depends_on": [first["id"]]},
        headers={**headers, "If-Match": "1"},
    )
    assert self_loop.status_code == 422
    assert client.get(f"{API}/{first['id']}", headers=headers).json()["depends_on"] == []


def _numbers(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"\d+", text)}


def _cycle_through_hidden_drafts(client, world):
    """RA1's draft `own` and RA2's submitted `open_` are readable by trust_a1; RA2's drafts
    `first` and `second` are not. An administrator linked open_ -> first -> second -> own,
    so own -> open_ would close a cycle through the two drafts."""
    own = create(client, world)
    first, second = (create(client, world, who="trust_a2", organisation="RA2")["id"]
                     for _ in range(2))  # fmt: skip
    admin = world.auth("admin")
    for scheme, dependency in ((second, own["id"]), (first, second)):
        linked = client.patch(f"{API}/{scheme}", json={"depends_on": [dependency]},
                              headers={**admin, "If-Match": "1"})  # fmt: skip
        assert linked.status_code == 200, linked.text
    open_ = submit(client, world, create(client, world, who="trust_a2", organisation="RA2",
                                         depends_on=[first]), who="trust_a2")  # fmt: skip
    return own, open_["id"], (first, second)


def test_a_cycle_names_only_the_schemes_the_caller_can_read(client, world):
    own, open_, hidden = _cycle_through_hidden_drafts(client, world)
    response = client.patch(f"{API}/{own['id']}", json={"depends_on": [open_]},
                            headers={**world.auth("trust_a1"), "If-Match": "1"})  # fmt: skip
    assert response.status_code == 422
    path = f"{own['id']} -> {open_} -> one or more schemes you cannot see -> {own['id']}"
    assert response.json()["detail"] == f"Dependencies would form a cycle: {path}."
    assert response.json()["errors"] == [{"loc": "body.depends_on", "msg": f"forms a cycle {path}"}]
    assert not set(hidden) & _numbers(response.text)
    # An administrator, who can read every scheme, is told the whole path.
    whole = client.patch(f"{API}/{own['id']}", json={"depends_on": [open_]},
                         headers={**world.auth("admin"), "If-Match": "1"})  # fmt: skip
    assert set(hidden) <= _numbers(whole.json()["detail"]), whole.text


def test_an_imported_cycle_names_only_the_schemes_the_caller_can_read(client, world):
    own, open_, hidden = _cycle_through_hidden_drafts(client, world)
    row = {k: v for k, v in scheme_body(depends_on=[open_]).items() if k != "system"}
    body = {"system": "SYA", "schemes": [row | {"id": own["id"], "version": 1}]}
    response = client.post(f"{API}/import", json=body, headers=world.auth("trust_a1"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["msg"] == (
        f"rows depend on each other in a cycle: scheme {own['id']} -> scheme {open_} -> "
        f"one or more schemes you cannot see -> scheme {own['id']}"
    )
    assert not set(hidden) & _numbers(response.text)


def test_submit_and_withdraw_transitions(client, world):
    headers = world.auth("trust_a1")
    scheme = submit(client, world, create(client, world))
    assert scheme["status"] == "submitted"
    assert client.post(f"{API}/{scheme['id']}/submit", headers=headers).status_code == 409
    withdrawn = client.post(f"{API}/{scheme['id']}/withdraw", headers=headers)
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    again = client.patch(
        f"{API}/{scheme['id']}",
        json={"title": "x"},
        headers={**headers, "If-Match": str(withdrawn.json()["version"])},
    )
    assert again.status_code == 409
    assert client.post(f"{API}/{scheme['id']}/withdraw", headers=headers).status_code == 409


def test_only_the_owning_trust_submits(client, world):
    scheme = create(client, world)
    # a draft is invisible to them all, so it reads (and is refused) like a missing scheme
    for who in ("trust_a2", "finance_a", "viewer_a", "assessor_a"):
        assert (
            client.post(f"{API}/{scheme['id']}/submit", headers=world.auth(who)).status_code == 404
        )
    assert (
        client.post(f"{API}/{scheme['id']}/submit", headers=world.auth("trust_a1")).status_code
        == 200
    )


def test_unknown_scheme_is_404(client, world):
    assert client.get(f"{API}/424242", headers=world.auth("admin")).status_code == 404
