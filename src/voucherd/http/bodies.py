"""A JSON body read by the route itself, for routes that must check something first (the caller)
and that FastAPI would otherwise read before anything else. Errors are FastAPI's own
(``RequestValidationError``), so each dialect renders them as it renders every bad body."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)
NOT_JSON = object()  # what :func:`loads` answers for a body that is not JSON


def loads(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return NOT_JSON


def validate(model: type[Model], data: Any) -> Model:
    """``data`` (from :func:`loads`) as ``model``, or the 422 FastAPI would have answered."""
    if data is NOT_JSON:
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body",), "msg": "JSON decode error"}])
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise RequestValidationError(
            [{**item, "loc": ("body", *item["loc"])} for item in error.errors(include_url=False)]
        ) from None


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting ``model`` as the route's JSON body."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
        }
    }
