"""The web layer without a browser: sessions, CSRF, roles and scope through the pages (fast;
runs on every backend inside the test transaction)."""

import re

from tests.conftest import scheme_body


def _csrf(response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', response.text).group(1)


def sign_in(client, token: str) -> str:
    page = client.get("/login")
    signed = client.post("/login", data={"csrf_token": _csrf(page), "token": token},
                         follow_redirects=False)  # fmt: skip
    assert signed.status_code == 303
    return _csrf(client.get("/"))


def test_pages_need_a_session_and_send_the_security_headers(client):
    response = client.get("/schemes", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/schemes"
    login = client.get("/login")
    assert "frame-ancestors 'none'" in login.headers["content-security-policy"]
    assert login.headers["x-frame-options"] == "DENY"
    assert "httponly" in login.headers["set-cookie"].lower()


def test_a_wrong_token_and_a_missing_csrf_token_are_refused(client, world):
    page = client.get("/login")
    wrong = client.post("/login", data={"csrf_token": _csrf(page), "token": "cap_wrong"})
    assert wrong.status_code == 401 and "not valid" in wrong.text
    no_csrf = client.post("/login", data={"token": world.tokens["trust_a1"]})
    assert no_csrf.status_code == 403 and "This form has expired" in no_csrf.text
    bad_next = client.post("/login", data={"csrf_token": _csrf(page), "token": world.tokens["trust_a1"],
                                           "next": "//evil.example/"}, follow_redirects=False)  # fmt: skip
    assert bad_next.headers["location"] == "/"


def test_a_trust_records_a_scheme_through_the_page_and_it_is_audited(client, world):
    csrf = sign_in(client, world.tokens["trust_a1"])
    created = client.post("/schemes/new", data={
        "csrf_token": csrf, "system": "SYA", "organisation": "RA1", "title": "Lift",
        "category": "estates_backlog", "cost-2026-27": "1,000.50"}, follow_redirects=False)  # fmt: skip
    assert created.status_code == 303
    scheme_id = int(re.search(r"/schemes/(\d+)", created.headers["location"]).group(1))
    api = client.get(f"/api/v1/schemes/{scheme_id}", headers=world.auth("trust_a1")).json()
    assert str(api["cost_profile"]["2026/27"]) in ("1000.50", "1000.5")
    audit = client.get(
        f"/api/v1/audit?entity=scheme&entity_id={scheme_id}", headers=world.auth("admin")
    )
    assert "create" in audit.text
    other = client.post("/schemes/new", data={
        "csrf_token": csrf, "system": "SYA", "organisation": "RA2", "title": "Not mine",
        "category": "other", "cost-2026-27": "10"})  # fmt: skip
    assert other.status_code == 403  # another organisation's scheme: the service refuses


def test_scope_and_role_hold_on_every_page(client, world):
    created = client.post("/api/v1/schemes", json=scheme_body(), headers=world.auth("trust_a1"))
    scheme_id = created.json()["id"]
    csrf = sign_in(client, world.tokens["trust_b1"])
    assert client.get(f"/schemes/{scheme_id}").status_code == 403  # another system's draft
    assert client.get("/rounds/new").status_code == 403
    csrf = sign_in(client, world.tokens["viewer_a"])
    assert client.get("/schemes/new").status_code == 403
    forged = client.post(f"/schemes/{scheme_id}/withdraw", data={"csrf_token": csrf})
    assert forged.status_code == 403
    assert (
        client.get("/api/v1/schemes/" + str(scheme_id), headers=world.auth("trust_a1")).json()[
            "status"
        ]
        == "draft"
    )


def test_signing_out_ends_the_session(client, world):
    csrf = sign_in(client, world.tokens["finance_a"])
    assert client.get("/rounds").status_code == 200
    client.post("/logout", data={"csrf_token": csrf})
    assert client.get("/rounds", follow_redirects=False).status_code == 303
