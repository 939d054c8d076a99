"""The audit trail: every write is recorded with actor, before and after; nothing edits it."""

from tests.conftest import scheme_body


def test_scheme_lifecycle_is_audited_with_before_and_after(client, world):
    headers = world.auth("trust_a1")
    scheme = client.post("/api/v1/schemes", json=scheme_body(), headers=headers).json()
    client.patch(
        f"/api/v1/schemes/{scheme['id']}",
        json={"title": "New roof"},
        headers={**headers, "If-Match": "1"},
    )
    client.post(f"/api/v1/schemes/{scheme['id']}/submit", headers=headers)
    events = client.get(
        "/api/v1/audit", params={"entity": "scheme", "entity_id": scheme["id"]},
        headers=world.auth("finance_a"),
    ).json()  # fmt: skip
    assert [e["action"] for e in events["items"]] == ["create", "update", "submit"]
    assert {e["actor_name"] for e in events["items"]} == {"trust_a1"}
    update = events["items"][1]
    assert (
        update["before"]["title"] == "Roof replacement" and update["after"]["title"] == "New roof"
    )
    assert events["items"][0]["before"] is None
    assert update["after"]["cost_profile"] == {"2026/27": 1200000, "2027/28": 300000}


def test_failed_writes_leave_no_audit_event(client, world):
    headers = world.auth("trust_a1")
    before = client.get("/api/v1/audit", headers=world.auth("admin")).json()["total"]
    client.post("/api/v1/schemes", json=scheme_body(depends_on=[987654]), headers=headers)
    assert client.get("/api/v1/audit", headers=world.auth("admin")).json()["total"] == before


def test_audit_is_scoped_and_read_only(client, world):
    client.post("/api/v1/schemes", json=scheme_body(), headers=world.auth("trust_a1"))
    other_system = client.get(
        "/api/v1/audit", params={"entity": "scheme"}, headers=world.auth("finance_b")
    )
    assert other_system.json()["total"] == 0
    assert client.get("/api/v1/audit", headers=world.auth("viewer_a")).json()["total"] >= 1
    for who in ("trust_a1", "assessor_a"):
        assert client.get("/api/v1/audit", headers=world.auth(who)).status_code == 403
    for method in ("post", "put", "patch", "delete"):
        response = getattr(client, method)("/api/v1/audit", headers=world.auth("admin"))
        assert response.status_code == 405
