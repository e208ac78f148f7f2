"""Voucherify's publication object (``voucherify-api.md`` section 4) from a publication call of
ours (one batch of codes to one customer): ``id`` is ``pub_<hex>`` of the batch; one code answers
``voucher`` (the voucher object), more answer ``vouchers`` (codes); ``vouchers_id`` always. The
create response says ``"channel": "API"`` (all the SDK accepts there); the list shows the channel
stored."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.service import Principal
from voucherd.api.voucherify import customer_mappers, voucher_mappers
from voucherd.api.voucherify.mappers import VOUCHER, moment, prefixed
from voucherd.publications.schemas import PublicationBatch, PublicationResult, PublishedCode
from voucherd.vouchers import service as vouchers

PUBLICATION = "pub_"


async def _codes(
    session: AsyncSession,
    principal: Principal,
    codes: list[PublishedCode],
    *,
    brief: bool,
    views: dict[uuid.UUID, vouchers.VoucherView] | None = None,
) -> dict[str, Any]:
    """``views``: the vouchers already read (a list page's), by id."""
    answer: dict[str, Any] = {"vouchers_id": [prefixed(VOUCHER, code.voucher_id) for code in codes]}
    if len(codes) == 1:
        view = (views or {}).get(codes[0].voucher_id) or await vouchers.own_voucher(
            session, principal, codes[0].code, voucher_id=codes[0].voucher_id
        )
        full = voucher_mappers.voucher(view)
        if brief:
            full = {
                key: full[key]
                for key in (
                    "code",
                    "object",
                    "campaign",
                    "gift",
                    "loyalty_card",
                    "discount",
                    "is_referral_code",
                )
            }
        answer["voucher"] = full
    else:
        answer["vouchers"] = [code.code for code in codes]
    return answer


def _common(item: PublicationResult | PublicationBatch) -> dict[str, Any]:
    return {
        "id": prefixed(PUBLICATION, item.id),
        "object": "publication",
        "created_at": moment(item.created_at),
        "customer_id": prefixed(customer_mappers.CUSTOMER, item.customer.id),
        "tracking_id": item.customer.external_id,
        "metadata": item.metadata or {},
        "source_id": item.source_id,
        "result": "SUCCESS",
        "customer": customer_mappers.customer(item.customer),
    }


async def created(session: AsyncSession, principal: Principal, result: PublicationResult) -> dict[str, Any]:
    codes = await _codes(session, principal, result.vouchers, brief=False)
    return {**_common(result), "channel": "API", **codes}


async def listed(
    session: AsyncSession, principal: Principal, batches: Sequence[PublicationBatch]
) -> list[dict[str, Any]]:
    """A list page's items; the vouchers of its one-code items read at once."""
    views = await vouchers.own_vouchers(
        session, principal, [batch.codes[0].voucher_id for batch in batches if len(batch.codes) == 1]
    )
    return [
        {
            **_common(batch),
            "channel": batch.channel,
            **await _codes(session, principal, batch.codes, brief=True, views=views),
        }
        for batch in batches
    ]
