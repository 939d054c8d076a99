"""Strict JSON at the API's edges: a round where no scheme is eligible is stored and served on
every backend, and a non-finite number can neither leave in a response nor enter a JSON column."""

import json
import math
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import StatementError

from api.audit.models import AuditEvent
from api.main import create_app
from api.schemas_common import ResponseModel
from api.strict_json import JSONObject
from tests.conftest import scheme_body


def strict(text: str) -> Any:
    """Parse as a browser or `jq` would: NaN and Infinity are not JSON."""

    def refuse(token: str):
        raise AssertionError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def test_a_round_where_no_scheme_is_eligible_is_stored_and_served(client, world):
    finance, trust = world.auth("finance_a"), world.auth("trust_a1")
    # A submitted scheme nobody has scored: in the round, but not eligible.
    scheme = client.post("/api/v1/schemes", json=scheme_body(), headers=trust).json()
    assert client.post(f"/api/v1/schemes/{scheme['id']}/submit", headers=trust).status_code == 200
    round_ = client.post(
        "/api/v1/rounds",
        json={"system": "SYA", "name": "Nothing eligible", "years": ["2026/27", "2027/28"],
              "envelope": {"2026/27": 1000000, "2027/28": 1000000}},
        headers=finance,
    )  # fmt: skip
    assert round_.status_code == 201, round_.text
    created = client.post(f"/api/v1/rounds/{round_.json()['id']}/runs", json={}, headers=finance)
    assert created.status_code == 201, created.text
    result = strict(created.text)["result"]
    assert result["status"] == "optimal" and result["objective"] == 0
    assert result["gap"] is None and result["bound"] == 0
    assert [s["outcome"] for s in result["schemes"]] == ["not_funded"]
    run_id = created.json()["id"]
    for path in (f"/api/v1/runs/{run_id}", f"/api/v1/rounds/{round_.json()['id']}/runs",
                 f"/api/v1/runs/{run_id}/compare?with={run_id}"):  # fmt: skip
        response = client.get(path, headers=finance)
        assert response.status_code == 200, response.text
        strict(response.text)
    stored = strict(client.get(f"/api/v1/runs/{run_id}", headers=finance).text)["result"]
    assert stored["gap"] is None
    frontier = client.post(
        f"/api/v1/rounds/{round_.json()['id']}/frontier",
        json={"multipliers": [0.5, 1.0]},
        headers=finance,
    )
    # The frontier is a job; its document is strict JSON too (points are checked in tests/optimiser).
    assert frontier.status_code == 202, frontier.text
    job = client.get(frontier.headers["location"], headers=finance)
    assert job.status_code == 200 and strict(job.text)["kind"] == "frontier"


class Probe(ResponseModel):
    number: float
    anything: JSONObject


@pytest.mark.parametrize(
    "body",
    [
        {"number": math.inf, "anything": {}},
        {"number": 1.0, "anything": {"gap": math.inf}},
        {"number": 1.0, "anything": {"nested": [{"x": math.nan}]}},
    ],
)
def test_a_non_finite_number_never_leaves_the_api_silently(body):
    """Pydantic alone would write it as null; the service refuses to answer instead (500), so
    the test or the log that meets it fails loudly."""
    app = create_app()

    @app.get("/probe")
    def probe() -> Probe:
        return Probe.model_construct(**body)  # as if built without validation

    @app.get("/probe-document")
    def probe_document() -> JSONObject:
        return body["anything"] or {"number": body["number"]}

    for path in ("/probe", "/probe-document"):
        with TestClient(app) as client, pytest.raises(Exception, match="finite|JSON compliant"):
            client.get(path)
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.get(path)
        assert response.status_code == 500, response.text
        assert "Infinity" not in response.text and "null" not in response.text
    with pytest.raises(ValueError, match="finite"):
        Probe(**body)


def test_a_non_finite_number_cannot_be_stored_in_a_json_column(session):
    event = AuditEvent(actor_name="t", action="x", entity="run", entity_id="1",
                       after={"gap": math.inf})  # fmt: skip
    session.add(event)
    with pytest.raises((StatementError, ValueError), match="JSON compliant"):
        session.flush()
    session.rollback()


def _unchecked(tp, metadata=(), floats_checked=False, seen=None, where="") -> list[str]:
    """Places in a response type where a non-finite number could pass unnoticed."""
    import decimal
    import inspect
    import typing

    from pydantic import AfterValidator, BaseModel

    from api.strict_json import _finite_json

    seen = set() if seen is None else seen
    if any(isinstance(m, AfterValidator) and m.func is _finite_json for m in metadata):
        return []
    flat = [*metadata, *(x for m in metadata for x in getattr(m, "metadata", []))]
    if any(getattr(m, "allow_inf_nan", None) is False for m in flat):
        floats_checked = True
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        base, *extra = typing.get_args(tp)
        return _unchecked(base, (*metadata, *extra), floats_checked, seen, where)
    if tp is Any or tp in (dict, list):
        return [f"{where}: free-form JSON without JSONObject"]
    if tp in (float, decimal.Decimal):
        return [] if floats_checked else [f"{where}: a number in a model that allows inf/nan"]
    if inspect.isclass(tp) and issubclass(tp, BaseModel):
        if tp in seen:
            return []
        seen.add(tp)
        checked = tp.model_config.get("allow_inf_nan", True) is False
        found = []
        for name, field in tp.model_fields.items():
            found += _unchecked(field.annotation, tuple(field.metadata), checked, seen,
                                f"{tp.__name__}.{name}")  # fmt: skip
        return found
    found = []
    for arg in typing.get_args(tp):
        if arg is not type(None) and not isinstance(arg, str | int):
            found += _unchecked(arg, (), floats_checked, seen, where)
    return found


def test_every_response_model_refuses_non_finite_numbers():
    """The whole class: every JSON response of every route is either typed with finite
    numbers or its free-form JSON is checked (api.strict_json.JSONObject)."""
    from fastapi.routing import APIRoute

    try:
        from fastapi.routing import _iter_routes_with_context

        routes = [r for r, _ in _iter_routes_with_context(create_app().routes)]
    except ImportError:  # older FastAPI: routes are flat
        routes = create_app().routes
    found = []
    for route in routes:
        if isinstance(route, APIRoute) and route.response_model is not None:
            found += [f"{route.path}: {p}" for p in _unchecked(route.response_model, where="body")]
    assert len([r for r in routes if isinstance(r, APIRoute)]) > 20
    assert found == []
