"""Domain objects to VoucherTrack's wire shapes (decimal money, ISO times with Z)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from voucherd.accounts.members import Member
from voucherd.accounts.service import IssuedKey, Principal
from voucherd.campaigns.rules import DiscountType
from voucherd.core import links
from voucherd.core.clock import isoformat_z
from voucherd.core.money import basis_points_to_percent, to_decimal
from voucherd.core.pagination import Page
from voucherd.models import (
    ApiKey,
    Campaign,
    Customer,
    Job,
    Redemption,
    SalesPage,
    Voucher,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from voucherd.offers.rules import CampaignOffer, Discount
from voucherd.publications.schemas import PublicationEntry, PublicationResult
from voucherd.recipients.schemas import UploadResult
from voucherd.redemptions.schemas import RedemptionResult, Validation
from voucherd.stats.service import CampaignStats
from voucherd.vouchers.service import VoucherDetails


def _time(value: Any) -> str | None:
    return isoformat_z(value) if value is not None else None


def discount_value(offer: Discount | CampaignOffer, currency: str) -> Decimal | int:
    if offer.discount_type == DiscountType.PERCENTAGE:
        return basis_points_to_percent(offer.discount_value)
    if offer.discount_type == DiscountType.FIXED:
        return to_decimal(offer.discount_value, currency)
    return 0


def _money(minor: int | None, currency: str) -> Decimal | None:
    return None if minor is None else to_decimal(minor, currency)


def validation(result: Validation, principal: Principal) -> dict[str, Any]:
    offer = result.offer
    if offer is None or result.error is not None:
        message = result.error.message if result.error else "Voucher not found"
        return {"valid": False, "code": result.code, "error": message}
    return {
        "valid": True,
        "code": offer.code,
        "discount_type": offer.discount_type,
        "discount_value": discount_value(offer, offer.currency),
        "discount_description": offer.discount_description,
        "minimum_spend": _money(offer.minimum_spend, offer.currency),
        "valid_until": _time(offer.valid_until),
        "remaining_uses": result.remaining_uses,
        "campaign_name": offer.campaign_name,
        "client_name": principal.client_name,
    }


def redemption(result: RedemptionResult) -> dict[str, Any]:
    return {
        "success": True,
        "voucher_code": result.code,
        "discount_applied": to_decimal(result.discount_applied, result.currency),
        "message": "Redemption recorded successfully",
    }


def redemption_record(item: Redemption) -> dict[str, Any]:
    return {
        "id": str(item.id),
        "voucher_code": item.code,
        "order_reference": item.order_reference,
        "transaction_amount": to_decimal(item.transaction_amount, item.currency),
        "discount_applied": to_decimal(item.discount_applied, item.currency),
        "currency": item.currency,
        "channel": item.channel,
        "customer_id": None if item.customer_id is None else str(item.customer_id),
        "redeemed_at": _time(item.redeemed_at),
        "recorded_at": _time(item.created_at),
        "rolled_back": item.rolled_back_at is not None,
        "rolled_back_at": _time(item.rolled_back_at),
        "rollback_reason": item.rollback_reason,
        "staff_id": None if item.staff_id is None else str(item.staff_id),
        "sales_page_id": None if item.sales_page_id is None else str(item.sales_page_id),
    }


def campaign(item: Campaign) -> dict[str, Any]:
    return {
        "id": str(item.id),
        "name": item.name,
        "status": item.status,
        "discount_type": item.discount_type,
        "discount_value": discount_value(item, item.currency),
        "discount_description": item.discount_description,
        "minimum_spend": _money(item.minimum_spend, item.currency),
        "currency": item.currency,
        "valid_from": _time(item.valid_from),
        "valid_until": _time(item.valid_until),
        "uses_per_voucher": item.uses_per_voucher,
        "uses_per_customer": item.uses_per_customer,
        "require_customer": item.require_customer,
        "code_pattern": item.code_pattern,
        "code_charset": item.code_charset,
        "auto_update": item.auto_update,
        "landing_slug": item.landing_slug,
        "landing_page_url": f"{links.base_url()}/c/{item.landing_slug}" if item.landing_slug else None,
        "terms": item.terms,
        "created_at": _time(item.created_at),
        "updated_at": _time(item.updated_at),
    }


def voucher_summary(item: Voucher, owner: Campaign) -> dict[str, Any]:
    return {
        "id": str(item.id),
        "code": item.code,
        "campaign_id": str(item.campaign_id),
        "redeemed_count": item.redeemed_count,
        "remaining_uses": max(owner.uses_per_voucher - item.redeemed_count, 0),
        "redeemed": item.redeemed_count > 0,
        "created_at": _time(item.created_at),
    }


def voucher_details(details: VoucherDetails) -> dict[str, Any]:
    offer = details.discount
    return {
        **voucher_summary(details.voucher, details.campaign),
        "state": details.state.value,
        "uses_per_voucher": details.campaign.uses_per_voucher,
        "campaign_name": details.campaign.name,
        "discount_type": offer.discount_type,
        "discount_value": discount_value(offer, details.campaign.currency),
        "discount_description": offer.discount_description,
        "valid_from": _time(details.campaign.valid_from),
        "valid_until": _time(details.valid_until),
        "redemptions": [redemption_record(r) for r in details.redemptions],
    }


def job(item: Job) -> dict[str, Any]:
    return {
        "id": str(item.id),
        "kind": item.kind,
        "status": item.status,
        "progress": item.progress,
        "total": item.total,
        "attempts": item.attempts,
        "result": item.result,
        "last_error": item.last_error,
        "created_at": _time(item.created_at),
        "finished_at": _time(item.finished_at),
    }


def page(result: Page[Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    body = {
        "data": items,
        "page": result.request.page,
        "limit": result.request.limit,
        "total": result.total,
        "has_more": result.has_more,
    }
    if result.keyset:  # the documented fields first; the cursor is an extra one
        body["next_cursor"] = result.next_cursor
    return body


def customer(item: Customer) -> dict[str, Any]:
    return {
        "id": str(item.id),
        "email": item.email,
        "name": item.name,
        "forename": item.forename,
        "surname": item.surname,
        "mobile": item.mobile,
        "mobile_e164": item.mobile_e164,
        "postcode": item.postcode,
        "external_id": item.external_id,
        "metadata": item.metadata_,
        "created_at": _time(item.created_at),
        "updated_at": _time(item.updated_at),
    }


def publication(result: PublicationResult) -> dict[str, Any]:
    return {
        "id": str(result.id),
        "object": "publication",
        "created_at": _time(result.created_at),
        "customer_id": str(result.customer.id),
        "customer": customer(result.customer),
        "channel": result.channel,
        "metadata": result.metadata,
        "count": len(result.vouchers),
        "vouchers": [code.code for code in result.vouchers],
        "redemption_urls": [links.redemption_url(code.code) for code in result.vouchers],
    }


def publication_entry(entry: PublicationEntry) -> dict[str, Any]:
    return {
        "id": str(entry.id),
        "publication_id": str(entry.batch_id),
        "object": "publication",
        "voucher_code": entry.voucher_code,
        "campaign_id": str(entry.campaign_id),
        "customer_id": str(entry.customer_id),
        "customer_email": entry.customer_email,
        "customer_name": entry.customer_name,
        "channel": entry.channel,
        "metadata": entry.metadata,
        "published_at": _time(entry.published_at),
    }


def stats(item: CampaignStats) -> dict[str, Any]:
    return {
        "campaign_id": str(item.campaign_id),
        "currency": item.currency,
        "issued": item.issued,
        "published": item.published,
        "recipients": item.recipients,
        "opened": item.opened,
        "clicked": item.clicked,
        "bounced": item.bounced,
        "leads": item.leads,
        "referrals": item.referrals,
        "redeemed": {
            "total": item.redemptions_online + item.redemptions_in_store,
            "online": item.redemptions_online,
            "in_store": item.redemptions_in_store,
            "codes": item.redeemed_codes,
        },
        "redemption_rate": item.redemption_rate,
        "revenue": to_decimal(item.revenue, item.currency),
        "discount_given": to_decimal(item.discount_given, item.currency),
    }


def webhook(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": str(endpoint.id),
        "name": endpoint.name,
        "url": endpoint.url,
        "events": endpoint.events,
        "enabled": endpoint.enabled,
        "disabled_at": _time(endpoint.disabled_at),
        "disabled_reason": endpoint.disabled_reason,
        "previous_secret_expires_at": _time(endpoint.previous_secret_expires_at)
        if endpoint.previous_secret
        else None,
        "created_at": _time(endpoint.created_at),
        "updated_at": _time(endpoint.updated_at),
    }


def webhook_delivery(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": str(delivery.id),
        "event_id": str(delivery.event_id),
        "event": delivery.event_type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": _time(delivery.next_attempt_at) if delivery.status == "pending" else None,
        "last_response_code": delivery.last_response_code,
        "last_error": delivery.last_error,
        "created_at": _time(delivery.created_at),
        "delivered_at": _time(delivery.delivered_at),
    }


def webhook_attempt(attempt: WebhookAttempt, delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "delivery_id": str(delivery.id),
        "event_id": str(delivery.event_id),
        "event": delivery.event_type,
        "attempt": attempt.attempt,
        "status": "succeeded" if attempt.succeeded else "failed",
        "response_code": attempt.response_code,
        "duration_ms": attempt.duration_ms,
        "error": attempt.error,
        "created_at": _time(attempt.created_at),
    }


def upload(result: UploadResult) -> dict[str, Any]:
    """Seed 000's upload answer: each recipient's code, links and QR code, in the order sent."""
    return {
        "success": True,
        "total_created": result.total_created,
        "recipients": [
            {
                "recipient_id": str(item.recipient_id),
                "voucher_id": str(item.voucher_id),
                "voucher_code": item.voucher_code,
                "redemption_url": links.redemption_url(item.voucher_code),
                "qr_code_url": item.qr_code,
                "email": item.email,
                "external_id": item.external_id,
                "created": item.created,
                "tracking_pixel_url": links.pixel_url(item.recipient_id),
                "click_tracking_url": links.click_url(item.recipient_id),
            }
            for item in result.recipients
        ],
    }


def api_key(item: ApiKey) -> dict[str, Any]:
    """A key as listed: never the key or its hash."""
    return {
        "api_key_id": str(item.id),
        "name": item.name,
        "prefix": item.prefix,
        "created_at": _time(item.created_at),
        "revoked": item.revoked_at is not None,
        "revoked_at": _time(item.revoked_at),
        "publishable": item.publishable,
        "allowed_origins": item.allowed_origins,
    }


def issued_key(issued: IssuedKey) -> dict[str, Any]:
    """A new key: the only answer that carries it."""
    item = issued.api_key
    return {
        "api_key_id": str(item.id),
        "api_key": issued.secret,
        "name": item.name,
        "prefix": item.prefix,
        "created_at": _time(item.created_at),
        "publishable": item.publishable,
        "allowed_origins": item.allowed_origins,
    }


def staff_member(member: Member) -> dict[str, Any]:
    """A member by their number, with the names the request body uses; never a password hash."""
    item = member.staff
    return {
        "id": item.number,
        "email": item.email,
        "fullName": item.full_name,
        "role": item.role,
        "domainIds": member.page_numbers,
        "created_at": _time(item.created_at),
        "updated_at": _time(item.updated_at),
    }


def domain(page: SalesPage) -> dict[str, Any]:
    """A sales page, as VoucherCart shows a domain."""
    return {"id": page.number, "name": page.name, "url": links.shop_url(page.name)}
