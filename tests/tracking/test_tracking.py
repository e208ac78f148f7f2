"""Email tracking: the documented inbound endpoints, and the pixel and click links."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import Tenant
from tests.fixtures.factories import make_campaign
from voucherd.core import clock
from voucherd.db import Database, unit_of_work
from voucherd.models import Event, Recipient

T0 = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def recipient(api: httpx.AsyncClient, database: Database, tenant: Tenant) -> dict[str, str]:
    campaign = await make_campaign(database, tenant)
    response = await api.post(
        f"/api/integrations/campaigns/{campaign.id}/recipients",
        json={"recipients": [{"email": "john@example.com"}]},
        headers=tenant.headers,
    )
    return response.json()["recipients"][0]  # type: ignore[no-any-return]


async def state(database: Database, recipient_id: str) -> tuple[object, object, object, dict[str, int]]:
    async with unit_of_work(database, write=False) as session:
        row = await session.get(Recipient, uuid.UUID(recipient_id))
        assert row is not None
        counts = dict(
            (
                await session.execute(
                    select(Event.type, func.count()).where(Event.type.like("email.%")).group_by(Event.type)
                )
            ).all()
        )
    return row.opened_at, row.clicked_at, row.bounced_at, counts


@pytest.mark.parametrize(
    ("endpoint", "column"), [("email-opened", 0), ("email-clicked", 1), ("email-bounced", 2)]
)
async def test_first_signal_is_recorded_once(
    api: httpx.AsyncClient,
    database: Database,
    tenant: Tenant,
    recipient: dict[str, str],
    endpoint: str,
    column: int,
) -> None:
    query = f"recipient_id={recipient['recipient_id']}&api_key={tenant.api_key}"
    url = f"/api/integrations/tracking/{endpoint}?{query}"
    with clock.frozen(T0):
        first = await api.post(url)
    with clock.frozen(T0 + timedelta(hours=1)):
        second = await api.post(url)
    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.json()["recorded"], second.json()["recorded"]) == (True, False)
    assert first.json()["success"] is True
    values = await state(database, recipient["recipient_id"])
    assert values[column] == T0  # the first time stays
    assert values[3] == {f"email.{endpoint.split('-')[1]}": 1}


async def test_a_click_implies_an_open(
    api: httpx.AsyncClient, database: Database, tenant: Tenant, recipient: dict[str, str]
) -> None:
    with clock.frozen(T0):
        await api.post(
            f"/api/integrations/tracking/email-clicked?recipient_id={recipient['recipient_id']}",
            headers=tenant.headers,
        )
    opened, clicked, bounced, _ = await state(database, recipient["recipient_id"])
    assert (opened, clicked, bounced) == (T0, T0, None)


async def test_unknown_or_other_clients_recipient_is_404(
    api: httpx.AsyncClient,
    database: Database,
    other_tenant: Tenant,
    tenant: Tenant,
    recipient: dict[str, str],
) -> None:
    for key, recipient_id in ((other_tenant, recipient["recipient_id"]), (tenant, str(uuid.uuid4()))):
        response = await api.post(
            f"/api/integrations/tracking/email-opened?recipient_id={recipient_id}", headers=key.headers
        )
        assert response.status_code == 404
        assert response.json()["error_code"] == "recipient_not_found"
    assert await state(database, recipient["recipient_id"]) == (None, None, None, {})


async def test_pixel_records_the_open_and_reveals_nothing(
    api: httpx.AsyncClient, database: Database, recipient: dict[str, str]
) -> None:
    pixel = recipient["tracking_pixel_url"].removeprefix("http://127.0.0.1:8000")
    known = await api.get(pixel)
    unknown = await api.get(f"/t/o/{uuid.uuid4()}.gif")
    garbage = await api.get("/t/o/nothing.gif")
    assert known.status_code == unknown.status_code == garbage.status_code == 200
    assert known.content == unknown.content == garbage.content
    assert known.headers["content-type"] == "image/gif"
    opened, clicked, _, events = await state(database, recipient["recipient_id"])
    assert opened is not None
    assert clicked is None
    assert events == {"email.opened": 1}


async def test_click_link_records_and_leads_to_the_voucher_page(
    api: httpx.AsyncClient, database: Database, recipient: dict[str, str]
) -> None:
    link = recipient["click_tracking_url"].removeprefix("http://127.0.0.1:8000")
    response = await api.get(link)
    assert response.status_code == 302
    assert response.headers["location"] == recipient["redemption_url"]
    assert (await api.get(f"/t/c/{uuid.uuid4()}")).status_code == 404
    _, clicked, _, events = await state(database, recipient["recipient_id"])
    assert clicked is not None
    assert events == {"email.clicked": 1}


async def test_tracking_links_are_rate_limited_per_ip(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voucherd.config import get_settings

    monkeypatch.setenv("VOUCHERD_RATE_LIMIT_TRACKING_PER_IP", "3/minute")
    get_settings.cache_clear()
    answers = [(await api.get(f"/t/o/{uuid.uuid4()}.gif")).status_code for _ in range(3)]
    answers.append((await api.get(f"/t/c/{uuid.uuid4()}")).status_code)
    assert answers == [200, 200, 200, 429]
