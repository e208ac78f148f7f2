"""Request bodies of the VoucherTrack dialect. Unknown fields are ignored (and responses may
grow), as integrations expect."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from voucherd.campaigns.rules import CampaignStatus, DiscountType

Text = Annotated[str, Field(max_length=500)]


def _integer_as_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


# Shops send order numbers as strings or as integers.
OrderReference = Annotated[str, BeforeValidator(_integer_as_text), Field(max_length=200)]


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class RedemptionRequest(Body):
    code: Annotated[str, Field(min_length=1, max_length=100)]
    transaction_amount: Decimal = Field(description="Order total in the campaign's currency, e.g. 45.99")
    order_reference: OrderReference | None = Field(
        default=None, description="Your order number; a retry with the same one never redeems twice"
    )
    redeemed_at: datetime | None = None
    customer: Annotated[str, Field(min_length=1, max_length=320)] | None = Field(
        default=None,
        description="Who redeems: an email or a customer id. Counts toward a campaign's "
        "uses_per_customer; a campaign with require_customer refuses redemptions without it",
    )


class RollbackRequest(Body):
    code: Annotated[str, Field(min_length=1, max_length=100)]
    order_reference: Annotated[OrderReference, Field(min_length=1)]
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class ReasonRequest(Body):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class CampaignCreate(Body):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    discount_type: DiscountType
    discount_value: Decimal | None = Field(
        default=None,
        description="Percent (20 = 20%) or an amount in the currency (10 = £10); omit for free_item",
    )
    discount_description: Text | None = None
    minimum_spend: Decimal | None = None
    currency: Annotated[str, Field(min_length=3, max_length=3)] | None = None
    valid_from: date | datetime | None = Field(
        default=None, description="A date alone means the start of that day in your timezone"
    )
    valid_until: date | datetime | None = Field(
        default=None, description="A date alone means the end of that day in your timezone"
    )
    uses_per_voucher: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    uses_per_customer: Annotated[int, Field(ge=1, le=1_000_000)] | None = Field(
        default=None, description="How often one customer may redeem this campaign's codes; null: no limit"
    )
    require_customer: bool = Field(
        default=False,
        description="With uses_per_customer: refuse redemptions that name no customer "
        "(without it they are accepted, and the limit cannot apply to them)",
    )
    code_prefix: Annotated[str, Field(max_length=32)] | None = None
    code_length: Annotated[int, Field(ge=1, le=32)] | None = None
    code_pattern: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="Literal text with # for each random character, e.g. JAN26-######"
    )
    code_charset: Annotated[str, Field(min_length=2, max_length=64)] | None = None
    status: CampaignStatus = CampaignStatus.ACTIVE
    auto_update: bool = Field(
        default=False, description="Publishing from an exhausted pool makes new codes instead of a 409"
    )
    landing_slug: Annotated[str, Field(max_length=100)] | None = Field(
        default=None, description="Public landing page at /c/{landing_slug} where visitors claim a code"
    )
    terms: Annotated[str, Field(max_length=5000)] | None = None


class CampaignUpdate(Body):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    discount_type: DiscountType | None = None
    discount_value: Decimal | None = None
    discount_description: Text | None = None
    minimum_spend: Decimal | None = None
    valid_from: date | datetime | None = None
    valid_until: date | datetime | None = None
    uses_per_voucher: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    uses_per_customer: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    require_customer: bool | None = None
    status: CampaignStatus | None = None
    auto_update: bool | None = None
    landing_slug: Annotated[str, Field(max_length=100)] | None = None
    terms: Annotated[str, Field(max_length=5000)] | None = None


class GenerateRequest(Body):
    count: Annotated[
        int, Field(ge=1, le=1_000_000, description="How many codes; more than 1,000 run as a background job")
    ]


def _number_as_text(value: Any) -> Any:
    return str(value) if isinstance(value, int | Decimal) and not isinstance(value, bool) else value


# Spreadsheets and CRMs send ids and phone numbers as numbers too.
LooseText = Annotated[
    str,
    BeforeValidator(_number_as_text),
    WithJsonSchema(
        {"anyOf": [{"type": "string"}, {"type": "number"}], "description": "Text (a number is read as text)"}
    ),
]


class RecipientBody(Body):
    email: LooseText | None = None
    forename: LooseText | None = None
    surname: LooseText | None = None
    mobile: LooseText | None = None
    postcode: LooseText | None = None
    external_id: LooseText | None = None


class RecipientUpload(Body):
    recipients: list[RecipientBody] = Field(description="Up to 10,000 per request")
    discount_type: DiscountType | None = Field(
        default=None, description="For the codes this request creates; the campaign's when absent"
    )
    discount_value: Decimal | None = Field(default=None, description="Percent (20) or an amount (10 = £10)")
    discount_description: Text | None = None
    code_prefix: Annotated[str, Field(max_length=32)] | None = Field(
        default=None, description="Codes become PREFIX-XXXXXXXX (the campaign's random length)"
    )


class CustomerBody(Body):
    email: LooseText | None = None
    name: LooseText | None = None
    forename: LooseText | None = None
    surname: LooseText | None = None
    mobile: LooseText | None = None
    postcode: LooseText | None = None
    external_id: LooseText | None = Field(default=None, description="Your CRM's id; unique per client")
    metadata: dict[str, Any] | None = None


class CampaignRef(Body):
    id: Any = None
    name: str | None = None
    count: Annotated[int, Field(ge=1, le=1000)] = 1


class PublicationCreate(Body):
    voucher: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        default=None, description="A specific code to publish"
    )
    campaign: CampaignRef | None = Field(
        default=None, description='Publish from a pool: {"id": ...} or {"name": ...}, and "count"'
    )
    customer: str | CustomerBody = Field(
        description="A customer id, or the customer's details (found or created)"
    )
    channel: Annotated[str, Field(max_length=100)] | None = None
    metadata: dict[str, Any] | None = None
