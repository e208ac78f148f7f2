from voucherd.models.base import Base
from voucherd.models.campaign import Campaign
from voucherd.models.client import ApiKey, Client
from voucherd.models.coupon import Coupon, Discount
from voucherd.models.customer import Customer
from voucherd.models.event import Event
from voucherd.models.figures import CampaignFigures, CampaignQuarter, ClientFigures
from voucherd.models.gift import (
    GiftCard,
    GiftCategory,
    GiftDeliveryMethod,
    GiftHold,
    GiftLedgerEntry,
    GiftOption,
    GiftOrder,
    GiftProduct,
    GiftProductCategory,
)
from voucherd.models.idempotency import IdempotencyRecord
from voucherd.models.job import Job
from voucherd.models.publication import Publication, VoucherOwner
from voucherd.models.recipient import Recipient
from voucherd.models.redemption import Redemption
from voucherd.models.staff import NumberGrant, RefreshToken, SalesPage, Staff, StaffSalesPage
from voucherd.models.voucher import Voucher
from voucherd.models.webhook import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "ApiKey",
    "Base",
    "Campaign",
    "CampaignFigures",
    "CampaignQuarter",
    "Client",
    "ClientFigures",
    "Coupon",
    "Customer",
    "Discount",
    "Event",
    "GiftCard",
    "GiftCategory",
    "GiftDeliveryMethod",
    "GiftHold",
    "GiftLedgerEntry",
    "GiftOption",
    "GiftOrder",
    "GiftProduct",
    "GiftProductCategory",
    "IdempotencyRecord",
    "Job",
    "NumberGrant",
    "Publication",
    "Recipient",
    "Redemption",
    "RefreshToken",
    "SalesPage",
    "Staff",
    "StaffSalesPage",
    "Voucher",
    "VoucherOwner",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
