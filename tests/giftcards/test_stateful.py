"""RELIABILITY M7: a stateful run over issue, top-up, partial redeem, hold, capture, void and
expiry (the clock moved), the domain's functions called as the routes call them, each step in its
own transaction. After every step the card's balance is Σ ledger, never negative, and what a
model of the card says; a top-up over the cap is refused (422) and changes nothing."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from tests.api.vouchercart.test_giftcards import MONEY, add_product, open_shop, order
from tests.conftest import Tenant, make_tenant
from voucherd.api.app import create_app
from voucherd.core import clock
from voucherd.core.errors import Conflict, DomainError, InvalidInput
from voucherd.db import Database, set_database, unit_of_work
from voucherd.db.engine import create_database
from voucherd.giftcards import balances, holds, ledger, lifecycle
from voucherd.giftcards.errors import HoldClosed, TopUpOverCap

T = TypeVar("T")
CAP = 50_000  # MONEY's maxAmount
LIFE = timedelta(days=3)
PRODUCT = {**MONEY, "expiry": {"type": "period", "interval": "days", "period": 3}}


@dataclass
class World:
    """What lives across examples: one event loop, one database, one shop."""

    runner: asyncio.Runner
    database: Database
    tenant: Tenant
    api: httpx.AsyncClient
    product: dict[str, Any]
    domain: int
    now: datetime = field(default_factory=clock.now)

    def run(self, work: Callable[[], Awaitable[T]]) -> T:
        with clock.frozen(self.now):
            return self.runner.run(work())  # type: ignore[arg-type]


@dataclass
class Hold:
    id: uuid.UUID
    amount: int
    expires_at: datetime
    status: str = "held"
    captured: int = 0


def _pounds(pence: int) -> Decimal:
    return Decimal(pence).scaleb(-2)


def machine(world: World) -> type[RuleBasedStateMachine]:
    class GiftCardLife(RuleBasedStateMachine):
        opened = Bundle("holds")

        def __init__(self) -> None:
            super().__init__()
            self.code = ""
            self.balance = 0
            self.closed = False
            self.lost = False
            self.valid_until = world.now
            self.holds: list[Hold] = []

        # --- the model's clock ---------------------------------------------------------------

        def _settle_model(self) -> None:
            for held in self.holds:
                if held.status == "held" and (held.expires_at <= world.now or world.now >= self.valid_until):
                    held.status = "expired"
                    self.balance += held.amount
            if not self.closed and world.now >= self.valid_until:
                # what was left goes (ledger expiry, status expired); a used-up card stays completed
                self.closed, self.lost, self.balance = True, self.balance > 0, 0

        def _expect(self, work: Callable[[], Awaitable[T]], refused: type[DomainError] | None) -> T | None:
            async def step() -> T:
                async with unit_of_work(world.database) as session:
                    return await work_in(session)

            work_in: Any = work
            if refused is None:
                return world.run(step)
            try:
                world.run(step)
            except refused:
                return None
            raise AssertionError(f"expected {refused.__name__}")

        # --- the rules -----------------------------------------------------------------------

        @initialize(amount=st.integers(500, 20_000))
        def issue(self, amount: int) -> None:
            async def buy() -> str:
                placed = await order(
                    world.api,
                    _shop(world),
                    {
                        "voucherId": world.product["voucherId"],
                        "monetaryAmount": amount,
                        "payments": [{"amount": amount, "currency": "GBP"}],
                    },
                )
                return str(placed["codes"][0])

            self.code = world.run(buy)
            self.balance = amount
            self.valid_until = world.now + LIFE

        @rule(amount=st.integers(1, 30_000))
        def top_up(self, amount: int) -> None:
            self._settle_model()
            refused: type[DomainError] | None = None
            if self.closed:
                refused = Conflict
            elif self.balance + amount > CAP:  # the cap is on the balance; held money is off it
                refused = TopUpOverCap
            self._expect(
                lambda s: balances.top_up(s, world.tenant.principal, self.code, page=None, amount=amount),
                refused,
            )
            if refused is None:
                self.balance += amount

        @rule()
        def top_up_over_the_cap(self) -> None:
            self._settle_model()
            if self.closed:
                return
            over = CAP - self.balance + 1
            self._expect(
                lambda s: balances.top_up(s, world.tenant.principal, self.code, page=None, amount=over),
                InvalidInput,
            )

        @rule(amount=st.integers(1, 8_000))
        def redeem(self, amount: int) -> None:
            self._settle_model()
            refused = Conflict if self.closed or amount > self.balance else None
            self._expect(
                lambda s: balances.redeem(s, world.tenant.principal, self.code, page=None, amount=amount),
                refused,
            )
            if refused is None:
                self.balance -= amount

        @rule(target=opened, amount=st.integers(1, 8_000), seconds=st.integers(60, 2 * 24 * 3600))
        def hold(self, amount: int, seconds: int) -> Hold:
            self._settle_model()
            refused = Conflict if self.closed or amount > self.balance else None
            placed = self._expect(
                lambda s: holds.place(
                    s, world.tenant.principal, self.code, amount=_pounds(amount), expires_in=seconds
                ),
                refused,
            )
            if placed is None:
                return Hold(uuid.uuid4(), amount, world.now, status="never")
            _, row = placed
            self.balance -= amount
            made = Hold(row.id, amount, world.now + timedelta(seconds=seconds))
            self.holds.append(made)
            return made

        @rule(held=opened, part=st.one_of(st.none(), st.floats(0.01, 1.0)))
        def capture(self, held: Hold, part: float | None) -> None:
            self._settle_model()
            if held.status == "never":
                return
            keep = held.amount if part is None else max(1, int(held.amount * part))
            same = held.status == "captured" and (part is None or keep == held.captured)
            refused = None if held.status == "held" or same else HoldClosed
            if self.closed and held.status != "captured":
                refused = HoldClosed
            self._expect(
                lambda s: holds.capture(
                    s,
                    world.tenant.principal,
                    self.code,
                    held.id,
                    amount=None if part is None else _pounds(keep),
                ),
                refused,
            )
            if refused is None and held.status == "held":
                held.status, held.captured = "captured", keep
                self.balance += held.amount - keep

        @rule(held=opened)
        def void(self, held: Hold) -> None:
            self._settle_model()
            if held.status == "never":
                return
            refused = None if held.status in ("held", "voided") else HoldClosed
            self._expect(lambda s: holds.void(s, world.tenant.principal, self.code, held.id), refused)
            if refused is None and held.status == "held":
                held.status = "voided"
                self.balance += held.amount

        @rule(seconds=st.integers(1, 2 * 24 * 3600), sweep=st.booleans())
        def time_passes(self, seconds: int, sweep: bool) -> None:
            world.now += timedelta(seconds=seconds)
            self._settle_model()
            if sweep:  # the worker's sweep; otherwise the next step settles it lazily
                world.run(lambda: lifecycle.sweep(world.database))

        # --- after every step ----------------------------------------------------------------

        @invariant()
        def balance_is_the_ledger(self) -> None:
            if not self.code:
                return
            self._settle_model()

            async def check() -> tuple[int, int, str]:
                async with unit_of_work(world.database) as session:
                    shown = await holds.details(session, world.tenant.principal, self.code)
                    card = shown.view.card
                    return card.balance, await ledger.total(session, card.id), card.status

            balance, total, status = world.run(check)
            assert balance == total >= 0
            assert balance == self.balance, (balance, self.balance)
            assert (status == "expired") == (
                self.closed and status != "in_progress"
            ) or status == "in_progress"

    return GiftCardLife


def _shop(world: World) -> Any:
    from tests.api.vouchercart.test_giftcards import Shop

    return Shop(world.tenant, world.domain, "m7-shop")


def test_m7_balance_is_the_ledger_after_every_step(db_url: str) -> None:
    with asyncio.Runner() as runner:
        database = create_database(db_url)
        set_database(database)
        transport = httpx.ASGITransport(app=create_app(embedded_worker=False), raise_app_exceptions=False)
        api = httpx.AsyncClient(transport=transport, base_url="http://voucherd.test")
        try:

            async def setup() -> tuple[Tenant, int, dict[str, Any]]:
                tenant = await make_tenant(database, "M7 Gifts")
                shop = await open_shop(database, tenant, "m7-shop")
                return tenant, shop.domain, await add_product(api, shop, PRODUCT)

            tenant, domain, product = runner.run(setup())
            world = World(runner, database, tenant, api, product, domain)
            test = machine(world).TestCase
            test.settings = settings(
                max_examples=int(os.environ.get("M7_EXAMPLES", "25")),
                stateful_step_count=15,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            )
            test().runTest()
        finally:
            runner.run(api.aclose())
            set_database(None)
            runner.run(database.dispose())
