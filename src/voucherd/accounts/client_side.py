"""What a browser may do with a client's publishable key (Voucherify's client-side API, seed
004): only from the key's origins, validation always, redemption and publication only when the
client has switched them on (the "danger zone", off by default). The application pair (a secret
key) used on client-side endpoints is trusted as the server itself."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts import keys
from voucherd.accounts.service import Principal, Role
from voucherd.core.errors import PermissionDenied, Unauthenticated
from voucherd.models import ApiKey, Client


@dataclass(frozen=True)
class ClientSide:
    publishable: bool
    may_redeem: bool
    may_publish: bool

    def require_redeem(self) -> None:
        if not self.may_redeem:
            raise PermissionDenied(
                "Client-side redemption is off for this client: redeem from your server, or switch "
                "client-side redemption on (it lets a browser change what it redeems)."
            )

    def require_publish(self) -> None:
        if not self.may_publish:
            raise PermissionDenied(
                "Client-side publication is off for this client: publish from your server, or switch it on."
            )


TRUSTED = ClientSide(publishable=False, may_redeem=True, may_publish=True)


async def access(session: AsyncSession, principal: Principal, origin: str | None) -> ClientSide:
    """What ``principal`` may do client-side when the browser says it is at ``origin``."""
    if principal.role is not Role.PUBLISHABLE:
        return TRUSTED
    row = (
        await session.execute(
            select(ApiKey.allowed_origins, Client.client_side_redeem, Client.client_side_publish)
            .join(Client, Client.id == ApiKey.client_id)
            .where(ApiKey.id == principal.subject.id)
        )
    ).first()
    if row is None or not keys.origin_allowed(origin, row.allowed_origins):
        raise Unauthenticated(f"This publishable key may not be used from the origin {origin or '(none)'}.")
    return ClientSide(
        publishable=True, may_redeem=row.client_side_redeem, may_publish=row.client_side_publish
    )


async def origin_known(session: AsyncSession, origin: str | None) -> bool:
    """Whether some live publishable key may be used from ``origin`` (a CORS preflight names no key)."""
    if not origin:
        return False
    rows = await session.scalars(
        select(ApiKey.allowed_origins).where(ApiKey.publishable.is_(True), ApiKey.revoked_at.is_(None))
    )
    return any(keys.origin_allowed(origin, allowed) for allowed in rows)
