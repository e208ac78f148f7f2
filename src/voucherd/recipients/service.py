"""Recipient upload (seed 000): each recipient gets their own code in one request.

The whole request is checked before anything is written, and every bad row is reported. A
recipient already in the campaign (same external id, else same email, else same mobile) gets
their existing code back and nothing new is made, so a retried upload never issues twice: the
unique ``(campaign_id, identity)`` key makes that a database fact."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.service import Principal
from voucherd.campaigns.rules import DiscountType, describe_discount
from voucherd.campaigns.service import get_campaign
from voucherd.core import clock, links, qr
from voucherd.core.codes import CodePattern
from voucherd.core.errors import InvalidInput
from voucherd.core.ids import new_id
from voucherd.customers import matching, rules
from voucherd.customers.schemas import Person
from voucherd.db import bulk
from voucherd.events import service as events
from voucherd.models import Campaign, Publication, Recipient, Voucher
from voucherd.publications import repository as ownership
from voucherd.publications.schemas import CHANNEL_RECIPIENT_UPLOAD
from voucherd.recipients.errors import ConcurrentUpload, RecipientsInvalid, TooManyRecipients
from voucherd.recipients.schemas import RecipientInput, UploadedRecipient, UploadInput, UploadResult
from voucherd.vouchers import service as vouchers
from voucherd.vouchers.repository import OwnOffer

MAX_RECIPIENTS = 10_000
_FIELD_LIMITS = {"forename": 100, "surname": 100, "postcode": 20, "external_id": 200}

_recipients = cast(Table, Recipient.__table__)
_publications = cast(Table, Publication.__table__)


@dataclass
class _Row:
    """A checked recipient."""

    identity: str
    email: str | None
    mobile: str | None
    mobile_e164: str | None
    forename: str | None
    surname: str | None
    postcode: str | None
    external_id: str | None


def check_rows(rows: Sequence[RecipientInput], currency: str) -> list[_Row]:
    """Every row checked; all problems reported together as (index, field, reason)."""
    if not rows:
        raise InvalidInput("recipients must list at least one recipient.", field="recipients")
    if len(rows) > MAX_RECIPIENTS:
        raise TooManyRecipients(
            f"At most {MAX_RECIPIENTS:,} recipients per request; this one has {len(rows):,}. "
            "Split the list into several requests (a recipient sent twice keeps their code).",
            field="recipients",
        )
    checked: list[_Row] = []
    problems: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        problem_count = len(problems)

        def bad(field: str, reason: str, index: int = index) -> None:
            problems.append({"index": index, "field": field, "reason": reason})

        texts: dict[str, str | None] = {}
        for field, limit in _FIELD_LIMITS.items():
            value = getattr(row, field)
            value = value.strip() if isinstance(value, str) else None
            if value and len(value) > limit:
                bad(field, f"is longer than {limit} characters")
            texts[field] = value or None
        email = row.email.strip() if row.email else None
        if email:
            try:
                email = rules.normalize_email(email)
            except rules.ContactError as error:
                bad("email", str(error))
        mobile = row.mobile.strip() if row.mobile else None
        mobile_e164 = None
        if mobile:
            try:
                mobile_e164 = rules.normalize_mobile(mobile, currency)
            except rules.ContactError as error:
                bad("mobile", str(error))
        if not email and not mobile:
            bad("email", "needs an email or a mobile")
        if len(problems) == problem_count:
            checked.append(
                _Row(
                    identity=rules.identity(
                        external_id=texts["external_id"], email=email, mobile_e164=mobile_e164
                    ),
                    email=email,
                    mobile=mobile,
                    mobile_e164=mobile_e164,
                    forename=texts["forename"],
                    surname=texts["surname"],
                    postcode=texts["postcode"],
                    external_id=texts["external_id"],
                )
            )
    if problems:
        raise RecipientsInvalid(
            f"{len(problems)} problem(s) in the recipients; nothing was created. The first: "
            f"recipients[{problems[0]['index']}].{problems[0]['field']} {problems[0]['reason']}.",
            field=f"recipients[{problems[0]['index']}].{problems[0]['field']}",
            errors=problems,
        )
    return checked


def _offer(data: UploadInput, campaign: Campaign) -> OwnOffer | None:
    """The request's own discount for the codes it creates, or ``None`` for the campaign's."""
    if data.discount_type is None and data.discount_value is None:
        return None
    discount_type = data.discount_type or DiscountType(campaign.discount_type)
    if discount_type is DiscountType.FREE_ITEM:
        if not data.discount_description:
            raise InvalidInput(
                "A free_item discount needs a discount_description saying what the item is.",
                field="discount_description",
            )
        return OwnOffer(discount_type.value, 0, data.discount_description.strip()[:500])
    if data.discount_value is None:
        raise InvalidInput(
            f"discount_value is required with discount_type {discount_type.value}.", field="discount_value"
        )
    if discount_type is DiscountType.PERCENTAGE:
        value = data.discount_value.in_basis_points(field="discount_value")
    else:
        value = data.discount_value.in_minor_units(campaign.currency, field="discount_value")
        if value <= 0:
            raise InvalidInput("discount_value must be more than 0.", field="discount_value")
    description = (data.discount_description or "").strip()[:500] or describe_discount(
        discount_type, value, campaign.currency
    )
    return OwnOffer(discount_type.value, value, description)


def _pattern(data: UploadInput, campaign: Campaign) -> CodePattern | None:
    if not data.code_prefix:
        return None
    campaign_pattern = CodePattern(campaign.code_pattern, campaign.code_charset)
    return CodePattern.build(
        prefix=data.code_prefix, length=campaign_pattern.random_length, charset=campaign.code_charset
    )


async def upload(
    session: AsyncSession,
    principal: Principal,
    campaign_id: uuid.UUID,
    data: UploadInput,
) -> UploadResult:
    """Create a recipient, a customer (or find theirs) and a code per new recipient; return every
    recipient's code and its QR code, new or existing, in the order sent."""
    campaign = await get_campaign(session, principal, campaign_id)
    rows = check_rows(data.recipients, campaign.currency)
    offer = _offer(data, campaign)
    pattern = _pattern(data, campaign)

    existing = await _existing(session, campaign.id, list({row.identity for row in rows}))
    new_rows: dict[str, _Row] = {}
    for row in rows:
        if row.identity not in existing and row.identity not in new_rows:
            new_rows[row.identity] = row
    created: dict[str, UploadedRecipient] = {}
    # The QR codes of new codes are encoded (in worker processes) while the upload writes its
    # rows, not after: they are most of a large upload's time.
    early: list[tuple[list[str], asyncio.Future[list[str]]]] = []

    def encode_early(codes: list[str]) -> None:
        early.append((codes, asyncio.ensure_future(_qr_codes(codes))))

    try:
        if new_rows:
            await vouchers.check_capacity(session, campaign, adding=len(new_rows), pattern=pattern)
            try:
                async with session.begin_nested():
                    created = await _create(
                        session, principal, campaign, list(new_rows.values()), offer, pattern, encode_early
                    )
            except IntegrityError:
                raise ConcurrentUpload() from None
        found = [existing.get(row.identity) or created[row.identity] for row in rows]
        known: dict[str, str] = {}
        for codes, encoding in early:
            known.update(zip(codes, await encoding, strict=True))
    except BaseException:
        for _, encoding in early:
            encoding.cancel()
        raise
    rest = [item.voucher_code for item in found if item.voucher_code not in known]
    known.update(zip(rest, await _qr_codes(rest), strict=True))
    result = [replace(item, qr_code=known[item.voucher_code]) for item in found]
    return UploadResult(total_created=len(created), recipients=result)


async def _qr_codes(codes: list[str]) -> list[str]:
    return await qr.data_uris_async([links.redemption_url(code) for code in codes])


async def _existing(
    session: AsyncSession, campaign_id: uuid.UUID, identities: list[str]
) -> dict[str, UploadedRecipient]:
    """The recipients already in the campaign, by identity, with their codes."""
    query = (
        select(
            _recipients.c.id,
            _recipients.c.identity,
            _recipients.c.voucher_id,
            _recipients.c.email,
            _recipients.c.external_id,
            Voucher.code,
        )
        .join(Voucher, Voucher.id == _recipients.c.voucher_id)
        .where(_recipients.c.campaign_id == campaign_id)
    )
    found = await bulk.select_matching(session, query, _recipients.c.identity, identities)
    return {
        row.identity: UploadedRecipient(
            recipient_id=row.id,
            voucher_id=row.voucher_id,
            voucher_code=row.code,
            email=row.email,
            external_id=row.external_id,
            created=False,
        )
        for row in found
    }


async def _customers_for(session: AsyncSession, client_id: uuid.UUID, rows: list[_Row]) -> list[uuid.UUID]:
    """The customer of each row, matched or made by the customers domain."""
    people = [
        Person(
            email=row.email,
            forename=row.forename,
            surname=row.surname,
            mobile=row.mobile,
            mobile_e164=row.mobile_e164,
            postcode=row.postcode,
            external_id=row.external_id,
        )
        for row in rows
    ]
    return await matching.match_or_create(session, client_id, people)


async def _create(
    session: AsyncSession,
    principal: Principal,
    campaign: Campaign,
    rows: list[_Row],
    offer: OwnOffer | None,
    pattern: CodePattern | None,
    on_issued: Callable[[list[str]], None],
) -> dict[str, UploadedRecipient]:
    issued = await vouchers.issue_personal_codes(
        session, campaign, count=len(rows), pattern=pattern, offer=offer
    )
    on_issued([code for _, code in issued])
    customer_ids = await _customers_for(session, campaign.client_id, rows)
    now = clock.now()
    batch_id = new_id()
    recipients: list[dict[str, Any]] = []
    owners: list[tuple[uuid.UUID, uuid.UUID]] = []
    publications: list[dict[str, Any]] = []
    created_events: list[dict[str, Any]] = []
    result: dict[str, UploadedRecipient] = {}
    for position, (row, (voucher_id, code), customer_id) in enumerate(
        zip(rows, issued, customer_ids, strict=True)
    ):
        recipient_id = uuid.uuid4()
        recipients.append(
            {
                "id": recipient_id,
                "client_id": campaign.client_id,
                "campaign_id": campaign.id,
                "customer_id": customer_id,
                "voucher_id": voucher_id,
                "identity": row.identity,
                "source": "upload",
                "referred_by": None,
                "email": row.email,
                "forename": row.forename,
                "surname": row.surname,
                "mobile": row.mobile,
                "postcode": row.postcode,
                "external_id": row.external_id,
                "opened_at": None,
                "clicked_at": None,
                "bounced_at": None,
                # A microsecond apart, so the export lists recipients in the order they were sent.
                "created_at": now + timedelta(microseconds=position),
            }
        )
        owners.append((voucher_id, customer_id))
        publications.append(
            {
                "id": new_id(),
                "client_id": campaign.client_id,
                "campaign_id": campaign.id,
                "voucher_id": voucher_id,
                "customer_id": customer_id,
                "batch_id": batch_id,
                "channel": CHANNEL_RECIPIENT_UPLOAD,
                "metadata": None,
                "created_at": now,
            }
        )
        created_events.append(
            vouchers.created_event(
                campaign,
                voucher_id,
                code,
                source=CHANNEL_RECIPIENT_UPLOAD,
                recipient_id=str(recipient_id),
                customer_id=str(customer_id),
                email=row.email,
                external_id=row.external_id,
            )
        )
        result[row.identity] = UploadedRecipient(
            recipient_id=recipient_id,
            voucher_id=voucher_id,
            voucher_code=code,
            email=row.email,
            external_id=row.external_id,
            created=True,
        )
    await bulk.insert_rows(session, _recipients, recipients)
    await ownership.give_new_codes(
        session, client_id=campaign.client_id, campaign_id=campaign.id, owners=owners, now=now
    )
    await bulk.insert_rows(session, _publications, publications)
    await events.record_many(session, campaign.client_id, events.VOUCHER_CREATED, created_events)
    return result
