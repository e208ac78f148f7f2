"""Request fields of the VoucherCart dialect, by the seed's names. Unknown fields are ignored;
fields arrive as form text or JSON, so numbers may come as strings."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from voucherd.core.errors import InvalidInput


class Fields(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, str_strip_whitespace=True)


class RegisterFields(Fields):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    full_name: str = Field(alias="fullName", max_length=200)
    company_name: str = Field(alias="companyName", max_length=200)
    subdomain: str | None = Field(default=None, max_length=63)
    phone: str | None = Field(default=None, max_length=40)
    country: str | None = Field(default=None, max_length=64)
    timezone: str | None = Field(default=None, max_length=64)
    currency: str | None = Field(default=None, max_length=3)
    # cardNumber, cardCvv, cardExpiryMonth, cardExpiryYear, cardHolderName: accepted, never read.


class AuthorizeFields(Fields):
    subdomain: str = Field(max_length=63)


class RefreshFields(Fields):
    access_token: str = Field(alias="accessToken", max_length=4096)
    refresh_token: str = Field(alias="refreshToken", max_length=200)


class EmailFields(Fields):
    email: str = Field(max_length=320)


Model = TypeVar("Model", bound=Fields)


def read(model: type[Model], data: dict[str, Any]) -> Model:
    """The fields as ``model`` names them, or a 422 naming the first one at fault."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        name = ".".join(str(part) for part in first["loc"])
        message = "is required" if first["type"] == "missing" else first["msg"]
        raise InvalidInput(f"{name} {message}.", field=name) from None
