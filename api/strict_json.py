"""Strict JSON at every boundary: no NaN, Infinity or -Infinity ever leaves the service.

JSON has no non-finite numbers; browsers, `jq` and PostgreSQL's `json` type reject them.
Pydantic's JSON serialiser silently writes them as `null`, and Python's `json` module writes
them as the invalid tokens `Infinity`/`NaN`. Neither is acceptable for money and results, so
a non-finite number is a bug that fails loudly where it would leave: an HTTP response (500,
and the test that produced it fails) or a JSON column (the write fails and rolls back).
The result document is finite by construction (`optimiser.result.Number`); these guards
make sure no other path can leak one.
"""

import json
import math
from typing import Annotated, Any

from pydantic import AfterValidator
from starlette.responses import JSONResponse


def dumps(value: Any) -> str:
    """The JSON text of `value`; ValueError if it holds NaN or an infinity."""
    return json.dumps(value, allow_nan=False)


class StrictJSONResponse(JSONResponse):
    """Every JSON response of the API. Being the app's explicit response class also turns off
    FastAPI's pydantic fast path, which would write a non-finite float as `null`."""

    def render(self, content: Any) -> bytes:
        return json.dumps(
            content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
        ).encode("utf-8")


def _require_finite(value: Any, path: str = "$") -> None:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path} is {value}: JSON has no non-finite numbers")
    elif isinstance(value, dict):
        for key, item in value.items():
            _require_finite(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _require_finite(item, f"{path}[{index}]")


def _finite_json(value: Any) -> Any:
    _require_finite(value)
    return value


# Free-form JSON in a response (a run's result, options, audit values): every number in it is
# checked, because pydantic cannot type it and would write a non-finite float as `null`.
JSONObject = Annotated[dict[str, Any], AfterValidator(_finite_json)]
