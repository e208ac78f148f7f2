"""Staff logins on our own API: a member changes their own password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import Field

from voucherd.accounts import staff
from voucherd.accounts.permissions import Permission
from voucherd.api.vouchertrack.auth import AuthenticatedRoute, PrincipalDep
from voucherd.api.vouchertrack.schemas import Body
from voucherd.http.routes import permission
from voucherd.http.session import SessionDep

router = APIRouter(prefix="/staff", tags=["Staff"], route_class=AuthenticatedRoute)


class PasswordChange(Body):
    current_password: Annotated[str, Field(min_length=1, max_length=1024)]
    new_password: Annotated[str, Field(min_length=1, max_length=1024)]


@router.post(
    "/me/password",
    status_code=204,
    summary="Change your password",
    responses={204: {"description": "Changed: every session of yours has ended; log in again"}},
)
@permission(Permission.REDEEM)  # every member, whatever their role
async def change_password(body: PasswordChange, session: SessionDep, principal: PrincipalDep) -> Response:
    """With a staff access token. Every token of yours stops working, this one too."""
    await staff.change_password(session, principal, current=body.current_password, new=body.new_password)
    return Response(status_code=204)
