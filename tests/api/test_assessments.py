"""Assessments: assessors score submitted schemes of other organisations, 0-5 with a rationale."""

import pytest

from tests.conftest import scheme_body

SCORES = {"strategic_fit": 4, "safety_quality": 5, "value_for_money": 3, "deliverability": 2}


@pytest.fixture
def submitted(client, world):
    headers = world.auth("trust_a1")
    scheme = client.post("/api/v1/schemes", json=scheme_body(), headers=headers).json()
    return client.post(f"/api/v1/schemes/{scheme['id']}/submit", headers=headers).json()


def url(scheme):
    return f"/api/v1/schemes/{scheme['id']}/assessments"


def test_assessor_scores_then_replaces_and_the_mean_is_reported(client, world, submitted):
    body = {**SCORES, "rationale": "Clear safety case"}
    first = client.post(url(submitted), json=body, headers=world.auth("assessor_a"))
    assert first.status_code == 201
    replaced = client.post(
        url(submitted), json={**body, "deliverability": 4}, headers=world.auth("assessor_a")
    )
    assert replaced.status_code == 200 and replaced.json()["id"] == first.json()["id"]
    other = {**SCORES, "strategic_fit": 1, "rationale": "Weak link to strategy"}
    assert (
        client.post(url(submitted), json=other, headers=world.auth("assessor_a_plain")).status_code
        == 201
    )
    scheme = client.get(
        f"/api/v1/schemes/{submitted['id']}", headers=world.auth("finance_a")
    ).json()
    assert scheme["scores"] == {
        "strategic_fit": 2.5, "safety_quality": 5.0, "value_for_money": 3.0,
        "deliverability": 3.0, "assessments": 2,
    }  # fmt: skip
    everyone = client.get(url(submitted), headers=world.auth("finance_a")).json()
    assert everyone["total"] == 2 and len(everyone["items"]) == 2
    own = client.get(url(submitted), headers=world.auth("assessor_a")).json()["items"]
    assert [a["assessor"] for a in own] == ["assessor_a"]


def test_assessor_never_scores_their_own_organisation(client, world):
    headers = world.auth("trust_a2")
    scheme = client.post(
        "/api/v1/schemes", json=scheme_body(organisation="RA2"), headers=headers
    ).json()
    client.post(f"/api/v1/schemes/{scheme['id']}/submit", headers=headers)
    response = client.post(
        url(scheme), json={**SCORES, "rationale": "x"}, headers=world.auth("assessor_a")
    )
    assert response.status_code == 403


@pytest.mark.parametrize("who", ["trust_a1", "trust_a2", "finance_a", "viewer_a", "admin"])
def test_only_assessors_score(client, world, submitted, who):
    response = client.post(
        url(submitted), json={**SCORES, "rationale": "x"}, headers=world.auth(who)
    )
    assert response.status_code == 403


def test_assessor_of_another_system_is_refused(client, world, submitted):
    response = client.post(
        url(submitted), json={**SCORES, "rationale": "x"}, headers=world.auth("assessor_b")
    )
    assert response.status_code == 404  # another system's scheme reads like a missing one


def test_drafts_cannot_be_scored(client, world):
    scheme = client.post(
        "/api/v1/schemes", json=scheme_body(), headers=world.auth("trust_a1")
    ).json()
    # the assessor cannot even see another organisation's draft: it reads like a missing one
    response = client.post(
        url(scheme), json={**SCORES, "rationale": "x"}, headers=world.auth("assessor_a")
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("field", "value"),
    [("strategic_fit", 6), ("safety_quality", -1), ("value_for_money", 2.5), ("deliverability", "4"),
     ("rationale", "")],
)  # fmt: skip
def test_scores_are_whole_numbers_from_0_to_5(client, world, submitted, field, value):
    body = {**SCORES, "rationale": "ok", field: value}
    response = client.post(url(submitted), json=body, headers=world.auth("assessor_a"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == f"body.{field}"
