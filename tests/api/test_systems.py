"""Systems and organisations: administrators write, everyone reads within scope."""


def test_admin_creates_a_system_and_an_organisation_in_two_systems(client, world):
    admin = world.auth("admin")
    response = client.post(
        "/api/v1/systems", json={"code": "QMM", "name": "Norfolk"}, headers=admin
    )
    assert response.status_code == 201
    body = {"code": "RX9", "name": "Ambulance", "kind": "ambulance", "systems": ["QMM", "SYA"]}
    response = client.post("/api/v1/organisations", json=body, headers=admin)
    assert response.status_code == 201
    assert response.json()["systems"] == ["QMM", "SYA"]
    assert "RX9" in client.get("/api/v1/systems/QMM", headers=admin).json()["organisations"]


def test_only_admins_create_or_update_systems_and_organisations(client, world):
    for who in ("trust_a1", "assessor_a", "finance_a", "viewer_a"):
        headers = world.auth(who)
        assert (
            client.post(
                "/api/v1/systems", json={"code": "QZZ", "name": "x"}, headers=headers
            ).status_code
            == 403
        )
        assert (
            client.patch(
                "/api/v1/systems/SYA", json={"name": "renamed"}, headers=headers
            ).status_code
            == 403
        )
        org = {"code": "RZZ", "name": "x", "kind": "acute", "systems": ["SYA"]}
        assert client.post("/api/v1/organisations", json=org, headers=headers).status_code == 403


def test_duplicate_codes_conflict(client, world):
    response = client.post(
        "/api/v1/systems", json={"code": "SYA", "name": "again"}, headers=world.auth("admin")
    )
    assert response.status_code == 409


def test_organisation_validation_names_fields(client, world):
    body = {"code": "rx1", "name": "", "kind": "hospital", "systems": ["NOPE"], "extra": 1}
    response = client.post("/api/v1/organisations", json=body, headers=world.auth("admin"))
    assert response.status_code == 422
    locs = {e["loc"] for e in response.json()["errors"]}
    assert {"body.code", "body.name", "body.kind", "body.extra"} <= locs


def test_unknown_system_code_in_organisation_is_named(client, world):
    body = {"code": "RZ1", "name": "x", "kind": "acute", "systems": ["SYA", "NOPE"]}
    response = client.post("/api/v1/organisations", json=body, headers=world.auth("admin"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == "body.systems[1]"


def test_a_system_named_twice_in_an_organisation_is_named_not_a_server_error(client, world):
    admin = world.auth("admin")
    body = {"code": "RZ2", "name": "x", "kind": "acute", "systems": ["SYA", "SYB", "SYA"]}
    response = client.post("/api/v1/organisations", json=body, headers=admin)
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {"loc": "body.systems[2]", "msg": "SYA is already systems[0]"}
    ]
    patched = client.patch("/api/v1/organisations/RA1", json={"systems": ["SYA", "SYA"]}, headers=admin)  # fmt: skip
    assert patched.status_code == 422, patched.text
    assert [e["loc"] for e in patched.json()["errors"]] == ["body.systems[1]"]
    assert client.get("/api/v1/organisations/RA1", headers=admin).json()["systems"] == ["SYA"]


def test_readers_see_only_their_systems(client, world):
    codes = [
        s["code"]
        for s in client.get("/api/v1/systems", headers=world.auth("finance_b")).json()["items"]
    ]
    assert codes == ["SYB"]
    # out of scope reads exactly like missing (no probing which codes exist elsewhere)
    assert client.get("/api/v1/systems/SYA", headers=world.auth("finance_b")).status_code == 404
    orgs = client.get("/api/v1/organisations", headers=world.auth("finance_b")).json()["items"]
    assert [o["code"] for o in orgs] == ["RAM", "RB1"]
    # a trust in two systems sees both
    codes = [
        s["code"]
        for s in client.get("/api/v1/systems", headers=world.auth("trust_amb")).json()["items"]
    ]
    assert codes == ["SYA", "SYB"]


def test_admin_updates_an_organisation_and_it_is_audited(client, world):
    admin = world.auth("admin")
    response = client.patch("/api/v1/organisations/RA1", json={"name": "Renamed"}, headers=admin)
    assert response.status_code == 200 and response.json()["name"] == "Renamed"
    events = client.get(
        "/api/v1/audit", params={"entity": "organisation", "entity_id": "RA1"}, headers=admin
    ).json()["items"]
    assert events[-1]["before"]["name"] == "Org RA1" and events[-1]["after"]["name"] == "Renamed"


def test_unknown_route_is_problem_json(client, world):
    response = client.get("/api/v1/nothing", headers=world.auth("admin"))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
