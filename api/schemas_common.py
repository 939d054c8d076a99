"""Base classes shared by every request and response schema."""

from pydantic import BaseModel, ConfigDict


class RequestModel(BaseModel):
    """Request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


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
