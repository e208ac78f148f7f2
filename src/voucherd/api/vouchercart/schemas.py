"""Request fields of the VoucherCart dialect, by the seed's names. Unknown fields are ignored;
fields arrive as form text or JSON, so numbers may come as strings."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

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


class ExpiryFields(Fields):
    type: str = Field(max_length=16)
    interval: str | None = Field(default=None, max_length=16)
    period: int | None = None
    date_from: str | None = Field(default=None, alias="dateFrom", max_length=40)
    date_to: str | None = Field(default=None, alias="dateTo", max_length=40)


# The seed's curl sends ``domainId``, its tables name ``domain``: both are accepted.
_DOMAIN = AliasChoices("domainId", "domain")


class CouponFields(Fields):
    domain_id: int = Field(validation_alias=_DOMAIN)
    title: str = Field(max_length=200)
    terms: str | None = Field(default=None, max_length=5000)
    description: str | None = Field(default=None, max_length=5000)
    type: str = Field(max_length=16)
    amount: int
    metadata: dict[str, Any] | None = None
    expiry: ExpiryFields | None = None


class CouponListFields(Fields):
    domain_id: int | None = Field(default=None, validation_alias=_DOMAIN)
    limit: int = 100
    offset: int = 0


class PaymentFields(Fields):
    amount: int
    currency: str = Field(max_length=3)
    title: str | None = Field(default=None, max_length=200)
    metadata: dict[str, Any] | None = None


class RecipientFields(Fields):
    email: str = Field(max_length=320)
    label: str | None = Field(default=None, max_length=200)


class PurchaseFields(Fields):
    domain_id: int | None = Field(default=None, validation_alias=_DOMAIN)
    payments: list[PaymentFields] = Field(default_factory=list)
    recipients: list[RecipientFields] = Field(default_factory=list)


class DiscountCodeFields(Fields):
    discount_code: str = Field(alias="discountCode", max_length=100)


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
