"""Base classes shared by every request and response schema."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class RequestModel(BaseModel):
    """Request bodies: unknown fields are an error, not silently dropped."""

    # strict: a JSON boolean is not a number, "5" is not an integer and 5.5 is not a count -
    # what the OpenAPI says is exactly what is accepted (money and percentages take a
    # number or an ASCII decimal string, see api/types.py).
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


class ResponseModel(BaseModel):
    """Response bodies, strict JSON (api/strict_json.py): a non-finite number fails validation
    (typed floats; free-form JSON is `JSONObject`), also of instances built without it
    (revalidated on the way out), and is never quietly written as `null` by pydantic."""

    model_config = ConfigDict(
        from_attributes=True,
        allow_inf_nan=False,
        ser_json_inf_nan="constants",
        revalidate_instances="always",
    )


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def optional(**constraints: Any) -> Any:
    """A field that may be omitted but not sent as `null`: `title: Line = optional(max_length=200)`.

    Omitted, it is None in Python (use `model_dump(exclude_unset=True)`); an explicit `null` is a
    422 naming the field, and the OpenAPI shows a plain non-nullable type with no default.
    Where null means "unset", type the field `X | None = None` and document it instead."""
    return Field(default=None, json_schema_extra=_drop_default, **constraints)
