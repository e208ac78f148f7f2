"""What each role may do. A staff member's role decides; an API key acts for its whole client.

| permission | what it covers | staff | manager | owner, API key |
|---|---|---|---|---|
| redeem | look up, validate, redeem and roll back codes | yes | yes | yes |
| manage | campaigns, codes, customers, publications, recipients, exports, figures | | yes | yes |
| administer | staff, API keys, webhooks | | | yes |

(Selling, top-ups, refunds and the gift voucher catalog will be ``manage`` too.)"""

from __future__ import annotations

from enum import StrEnum

from voucherd.accounts.service import Principal, Role
from voucherd.core.errors import PermissionDenied


class Permission(StrEnum):
    REDEEM = "redeem"
    MANAGE = "manage"
    ADMINISTER = "administer"


_EVERYTHING = frozenset(Permission)
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: _EVERYTHING,
    Role.OWNER: _EVERYTHING,
    Role.MANAGER: frozenset({Permission.REDEEM, Permission.MANAGE}),
    Role.STAFF: frozenset({Permission.REDEEM}),
    Role.PUBLISHABLE: frozenset(),  # client-side endpoints check it themselves
}
_WHAT = {
    Permission.REDEEM: "redeem codes",
    Permission.MANAGE: "manage campaigns, codes and customers",
    Permission.ADMINISTER: "manage staff, API keys and webhooks",
}


def require(principal: Principal, permission: Permission) -> None:
    if permission not in ROLE_PERMISSIONS[principal.role]:
        raise PermissionDenied(
            f"A {principal.role.value} login may not {_WHAT[permission]}; ask the business's owner."
        )
