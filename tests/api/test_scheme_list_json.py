"""The scheme list builds its JSON from rows (service.list_scheme_documents), not through the
ORM and pydantic: it must give the very bytes the pydantic path (service.list_schemes, then
SchemePage as FastAPI renders it) gives, for every kind of scheme."""

from decimal import Decimal

import pytest

from api.deps import principal_for
from api.schemes import service
from api.strict_json import StrictJSONResponse
from api.users import service as users_service

API = "/api/v1/schemes"


def _pydantic_bytes(session, token: str, **query) -> bytes:
    principal = principal_for(users_service.authenticate(session, token=token))
    filters = {name: query.get(name) for name in ("system", "organisation", "category", "status")}
    page = service.list_schemes(
        session, principal=principal, limit=query.get("limit", 50), offset=query.get("offset", 0),
        **filters,
    )  # fmt: skip
    return StrictJSONResponse(page.model_dump(mode="json")).body


def _variants(items: list[dict]) -> set[str]:
    """The kinds of field value a page shows, to prove the comparison covers them."""
    seen = set()
    for s in items:
        seen |= {f"status:{s['status']}"}
        if s["depends_on"]:
            seen.add("dependencies")
        if s["scores"]["assessments"]:
            seen.add("scores")
        else:
            seen.add("no scores")
        if len(s["cost_profile"]) > 1:
            seen.add("multi-year costs")
        if any(isinstance(v, float) for v in s["cost_profile"].values()):
            seen.add("pence")
        for field in ("backlog_risk", "mandatory_reason", "alternative_group", "approved_run_id"):
            seen.add(f"{field}:{'null' if s[field] is None else 'set'}")
    return seen


def test_the_list_json_is_byte_for_byte_what_the_pydantic_path_gave(client, demo_world, session):
    # A scheme with pence, no backlog risk and a draft status, beside the demo's variety.
    trust = demo_world.auth("trust")
    body = {"system": "QWV", "organisation": "R0A", "title": "Pence and nulls £ “quotes”",
            "category": "digital", "cost_profile": {"2027/28": "1234.56", "2026/27": "0.10"}}  # fmt: skip
    assert client.post(API, json=body, headers=trust).status_code == 201
    seen: set[str] = set()
    for role in ("admin", "ics_finance", "trust", "viewer"):
        token = demo_world.tokens[role]
        for query in ({"limit": 50}, {"limit": 50, "offset": 50}, {"limit": 7, "offset": 3},
                      {"status": "approved"}, {"status": "draft"}, {"category": "digital"},
                      {"organisation": "R0A", "system": "QWV"}, {"offset": 100000}):  # fmt: skip
            response = client.get(API, params=query, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/json"
            assert response.content == _pydantic_bytes(session, token, **query), (role, query)
            seen |= _variants(response.json()["items"])
    expected = {"dependencies", "scores", "no scores", "multi-year costs", "pence",
                "status:draft", "status:submitted", "status:approved"}  # fmt: skip
    expected |= {f"{f}:{v}" for f in ("backlog_risk", "mandatory_reason", "alternative_group",
                                      "approved_run_id") for v in ("null", "set")}  # fmt: skip
    assert expected <= seen, expected - seen


@pytest.mark.parametrize("amount", ["0.01", "999.99", "1000000", "9999999999999.99", "12.50"])
def test_money_in_the_list_is_exact(client, world, amount):
    body = {"system": "SYA", "organisation": "RA1", "title": "Money", "category": "other",
            "cost_profile": {"2026/27": amount}}  # fmt: skip
    created = client.post(API, json=body, headers=world.auth("trust_a1")).json()
    listed = client.get(API, headers=world.auth("trust_a1")).json()["items"]
    (item,) = [s for s in listed if s["id"] == created["id"]]
    assert Decimal(str(item["cost_profile"]["2026/27"])) == Decimal(amount)
    assert Decimal(str(item["total_cost"])) == Decimal(amount)
    assert item == created | {"scores": item["scores"]}
