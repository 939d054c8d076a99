"""The OpenAPI document states the rules the service enforces, and a client generated from it
with openapi-python-client is complete (any warning - a dropped model or endpoint - fails)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from api.main import create_app

PROBLEM = "application/problem+json"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _schema() -> dict:
    return create_app().openapi()


def test_openapi_python_client_generates_a_client_without_any_warning(tmp_path):
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(_schema()))
    # The workbook is binary like any download; the generator only needs telling so.
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "content_type_overrides": {
                    XLSX: "application/octet-stream",
                    "application/pdf": "application/octet-stream",
                }
            }
        )
    )
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(
        [str(bin_dir / "openapi-python-client"), "generate", "--path", str(spec),
         "--config", str(config), "--meta", "none", "--output-path", str(tmp_path / "client"),
         "--fail-on-warning"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "warning" not in output.lower(), output
    models = {p.stem for p in (tmp_path / "client" / "models").glob("*.py")}
    assert {"round_read", "scheme_read", "scheme_page", "category_limit_read"} <= models


def test_schema_names_are_unique_and_plain():
    names = list(_schema()["components"]["schemas"])
    assert not [n for n in names if n.endswith(("-Input", "-Output"))]


def test_errors_are_problem_json_and_every_status_is_stated():
    schema = _schema()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if status[0] in "45":
                    assert list(response.get("content", {PROBLEM: {}})) == [PROBLEM], (
                        path, method, status)  # fmt: skip
    for path in ("/api/v1/schemes/{scheme_id}", "/api/v1/rounds/{round_id}"):
        update = schema["paths"][path]["patch"]
        assert {"409", "412", "428"} <= set(update["responses"]), path
        if_match = next(p for p in update["parameters"] if p["name"].lower() == "if-match")
        assert if_match["required"] is True, path
        assert "ETag" in update["responses"]["200"]["headers"], path
        assert "ETag" in schema["paths"][path]["get"]["responses"]["200"]["headers"], path
    created = schema["paths"]["/api/v1/schemes"]["post"]["responses"]["201"]
    assert "Location" in created["headers"]


def test_the_rules_are_in_the_schema():
    components = _schema()["components"]["schemas"]
    profile = components["SchemeCreate"]["properties"]["cost_profile"]
    assert profile["minProperties"] == 1
    assert list(profile["patternProperties"]) == ["^20[0-9]{2}/[0-9]{2}$"]
    scheme_id = next(
        p for p in _schema()["paths"]["/api/v1/schemes/{scheme_id}"]["get"]["parameters"]
        if p["name"] == "scheme_id"
    )  # fmt: skip
    assert scheme_id["schema"]["maximum"] == 2**31 - 1 and scheme_id["schema"]["minimum"] == 1
    # one list envelope everywhere
    for path, item in _schema()["paths"].items():
        get = item.get("get")
        if get and any(p["name"] == "limit" for p in get.get("parameters", [])):
            ref = get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
            page = components[ref.rsplit("/", 1)[1]]
            assert {"items", "total", "limit", "offset"} <= set(page["properties"]), path
