"""Authentication: every endpoint but /health and the docs needs a valid bearer token."""

import hashlib

from sqlalchemy import select

from api.users.models import ApiToken

PROTECTED = [
    ("get", "/api/v1/systems"),
    ("get", "/api/v1/organisations"),
    ("get", "/api/v1/schemes"),
    ("post", "/api/v1/schemes"),
    ("get", "/api/v1/schemes/1"),
    ("patch", "/api/v1/schemes/1"),
    ("post", "/api/v1/schemes/1/submit"),
    ("get", "/api/v1/schemes/1/assessments"),
    ("get", "/api/v1/audit"),
    ("get", "/api/v1/jobs"),
    ("get", "/api/v1/jobs/1"),
    ("delete", "/api/v1/jobs/1"),
    ("post", "/api/v1/rounds/1/frontier"),
    ("post", "/api/v1/rounds/1/robustness"),
]


def test_health_and_docs_are_open(client):
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200


def test_every_endpoint_rejects_a_missing_token_with_problem_json(client):
    for method, path in PROTECTED:
        response = getattr(client, method)(path)
        assert response.status_code == 401, (method, path)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["status"] == 401


def test_an_unknown_token_is_rejected(client, world):
    response = client.get("/api/v1/systems", headers={"Authorization": "Bearer cap_nope"})
    assert response.status_code == 401


def test_tokens_are_stored_only_as_hashes(session, world):
    stored = set(session.scalars(select(ApiToken.token_hash)))
    for token in world.tokens.values():
        assert token not in stored
        assert hashlib.sha256(token.encode()).hexdigest() in stored


def test_a_revoked_token_no_longer_works(client, session, world):
    from api.db import utcnow

    token = world.tokens["viewer_a"]
    digest = hashlib.sha256(token.encode()).hexdigest()
    record = session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).one()
    assert client.get("/api/v1/systems", headers=world.auth("viewer_a")).status_code == 200
    record.revoked_at = utcnow()
    session.commit()
    assert client.get("/api/v1/systems", headers=world.auth("viewer_a")).status_code == 401


def test_operation_ids_are_stable(client):
    spec = client.get("/openapi.json").json()
    ids = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert {"schemes_list", "schemes_create", "schemes_update", "assessments_put"} <= ids


def test_openapi_documents_problem_details_on_api_operations(client):
    spec = client.get("/openapi.json").json()
    update = spec["paths"]["/api/v1/schemes/{scheme_id}"]["patch"]["responses"]
    assert {"401", "403", "404", "412", "422", "428"} <= set(update)
    assert "application/problem+json" in update["422"]["content"]
    assert spec["components"]["schemas"]["Problem"]["required"] == ["status", "title", "detail"]
