"""Request fields of the gift voucher endpoints, by the seed's names, and what they become in the
domain's inputs. ``domain`` and ``domainId`` are both accepted wherever either is documented."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from voucherd.accounts.service import Principal
from voucherd.api.vouchercart import dates
from voucherd.api.vouchercart.schemas import Fields
from voucherd.giftcards import catalog, orders

Money = int  # minor units; the domain checks the bounds and names the field
_DOMAIN_ALIASES = ("domainId", "domain", "subdomainId")


class DomainFields(Fields):
    domain: str | None = Field(default=None, max_length=63)

    @model_validator(mode="before")
    @classmethod
    def _one_domain(cls, data: Any) -> Any:
        """``domainId`` (the tables) or ``domain`` (the curl examples): the sales page's id or name."""
        if isinstance(data, dict):
            for name in _DOMAIN_ALIASES:
                value = data.get(name)
                if value not in (None, ""):
                    return {**data, "domain": str(value)}
        return data

    @property
    def page(self) -> int | str | None:
        if self.domain is None:
            return None
        return int(self.domain) if self.domain.isdigit() else self.domain


class ListFields(DomainFields):
    limit: int = Field(default=15, ge=1, le=50)
    offset: int = Field(default=0, ge=0, le=10**6)
    access_level: str | None = Field(default="published", alias="accessLevel", max_length=16)


class OptionFields(Fields):
    option_id: int | None = Field(default=None, alias="optionId")
    type: str | None = Field(default=None, max_length=16)
    description: str = Field(default="", max_length=500)
    sell_price: Money | None = Field(default=None, alias="sellPrice")
    real_value: Money | None = Field(default=None, alias="realValue")
    quantity: int | None = Field(default=None, alias="optionQuantity")
    currency: str | None = Field(default=None, max_length=3)

    @model_validator(mode="before")
    @classmethod
    def _quantity(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("quantity") not in (None, ""):
            return {**data, "optionQuantity": data["quantity"]}
        return data


class CategoryFields(Fields):
    name: str = Field(max_length=100)


class CarrierFields(Fields):
    title: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=500)
    amount: Money = 0
    currency: str | None = Field(default=None, max_length=3)


class DeliveryFields(Fields):
    method_id: int | None = Field(default=None, alias="methodId")
    type: str = Field(default="electronic", max_length=16)
    title: str = Field(default="", max_length=200)
    options: list[CarrierFields] = Field(default_factory=list, max_length=20)

    @model_validator(mode="before")
    @classmethod
    def _method(cls, data: Any) -> Any:  # the tables call it ``method``, the example ``type``
        if isinstance(data, dict) and data.get("method") and not data.get("type"):
            return {**data, "type": data["method"]}
        return data


class ExpiryFields(Fields):
    type: str = Field(max_length=8)
    interval: str | None = Field(default=None, max_length=8)
    period: int | None = None
    date_from: str | None = Field(default=None, alias="dateFrom", max_length=40)
    date_to: str | None = Field(default=None, alias="dateTo", max_length=40)


class ProductFields(DomainFields):
    type: str = Field(max_length=16)
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=20_000)
    terms: str = Field(default="", max_length=20_000)
    currency: str | None = Field(default=None, max_length=3)
    tax_rate: int = Field(default=0, alias="taxRate")
    access_level: str = Field(default="published", alias="accessLevel", max_length=16)
    hide_price_disabled: bool = Field(default=False, alias="hidePriceDisabled")
    quantity_is_limited: bool = Field(default=False, alias="quantityIsLimited")
    stock: int | None = None
    min_amount: Money | None = Field(default=None, alias="minAmount")
    max_amount: Money | None = Field(default=None, alias="maxAmount")
    options: list[OptionFields] = Field(default_factory=list, max_length=50)
    categories: list[CategoryFields | str] = Field(default_factory=list, max_length=50)
    delivery: list[DeliveryFields] = Field(default_factory=list, max_length=10)
    expiry: ExpiryFields | None = None
    image: str | None = Field(default=None, max_length=2000)
    images: list[str] = Field(default_factory=list, max_length=20)
    redeemable_on: list[int] | None = Field(default=None, alias="redeemableOn", max_length=100)

    @model_validator(mode="before")
    @classmethod
    def _main_image(cls, data: Any) -> Any:  # the list calls it ``image``, the table ``mainImage``
        if isinstance(data, dict) and data.get("mainImage") and not data.get("image"):
            return {**data, "image": data["mainImage"]}
        return data

    def to_input(self, principal: Principal) -> catalog.ProductInput:
        expiry = self.expiry
        return catalog.ProductInput(
            sales_page=self.page,
            type=self.type,
            title=self.title,
            description=self.description,
            terms=self.terms,
            currency=self.currency,
            tax_rate=self.tax_rate,
            access_level=self.access_level,
            hide_price_disabled=self.hide_price_disabled,
            quantity_is_limited=self.quantity_is_limited,
            stock=self.stock,
            min_amount=self.min_amount,
            max_amount=self.max_amount,
            options=[
                catalog.OptionInput(
                    number=option.option_id,
                    type=option.type,
                    description=option.description,
                    sell_price=option.sell_price,
                    real_value=option.real_value,
                    quantity=option.quantity,
                    currency=option.currency,
                )
                for option in self.options
            ],
            categories=[item if isinstance(item, str) else item.name for item in self.categories],
            delivery=[
                catalog.DeliveryInput(
                    number=method.method_id,
                    type=method.type,
                    title=method.title,
                    options=[
                        catalog.DeliveryOptionInput(
                            title=carrier.title,
                            description=carrier.description,
                            amount=carrier.amount,
                            currency=carrier.currency,
                        )
                        for carrier in method.options
                    ],
                )
                for method in self.delivery
            ],
            expiry=None
            if expiry is None
            else catalog.ExpiryInput(
                type=expiry.type,
                interval=expiry.interval,
                period=expiry.period,
                date_from=dates.parse(expiry.date_from, principal.timezone, field="expiry[dateFrom]"),
                date_to=dates.parse(expiry.date_to, principal.timezone, field="expiry[dateTo]"),
            ),
            image=self.image,
            images=self.images,
            redeemable_on=self.redeemable_on,
        )


class PaymentFields(Fields):
    amount: Money
    currency: str = Field(max_length=3)
    title: str = Field(default="", max_length=200)
    metadata: dict[str, str | int | float | bool | None] = Field(default_factory=dict, max_length=50)


class PersonFields(Fields):
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    message: str | None = Field(default=None, max_length=2000)


class OrderFields(DomainFields):
    voucher_id: int = Field(alias="voucherId")
    option_id: int | None = Field(default=None, alias="optionId")
    monetary_amount: Money | None = Field(default=None, alias="monetaryAmount")
    quantity: int = 1
    delivery_method_id: int | None = Field(default=None, alias="deliveryMethodId")
    payments: list[PaymentFields] = Field(default_factory=list, max_length=20)
    email: str | None = Field(default=None, max_length=320)
    buyer: PersonFields = Field(default_factory=PersonFields)
    recipient: PersonFields = Field(default_factory=PersonFields)
    delivery_date: str | None = Field(default=None, alias="deliveryDate", max_length=40)

    def to_input(self, principal: Principal) -> orders.OrderInput:
        return orders.OrderInput(
            product=self.voucher_id,
            sales_page=self.page,
            option=self.option_id,
            monetary_amount=self.monetary_amount,
            quantity=self.quantity,
            delivery_method=self.delivery_method_id,
            payments=[
                orders.Payment(amount=p.amount, currency=p.currency, title=p.title, metadata=dict(p.metadata))
                for p in self.payments
            ],
            buyer_name=self.buyer.name,
            buyer_email=self.buyer.email or self.email,
            recipient_name=self.recipient.name,
            recipient_email=self.recipient.email or self.email,
            recipient_message=self.recipient.message,
            delivery_date=dates.parse(self.delivery_date, principal.timezone, field="deliveryDate"),
        )


class CodeFields(DomainFields):
    code: str = Field(max_length=64)


class RedeemFields(CodeFields):
    domain: str = Field(max_length=63)  # required to redeem (optional on /status)
    reductor: int | None = None
    redeem_date: str | None = Field(default=None, alias="redeemDate", max_length=40)


class TopUpFields(CodeFields):
    domain: str = Field(max_length=63)
    amount: Money
