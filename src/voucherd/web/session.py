"""What every signed-in page (the staff screen, the dashboard) shares: the browser login in a
cookie, CSRF protection of every form, the security headers, and rendering on the shared layout
(``web/templates/layout.html``).

The login cookie holds the staff member's access token (:mod:`voucherd.accounts.tokens`): it is
live while its login is (:func:`voucherd.accounts.staff.web_session`), so logging out, a password
change or a removed member ends it on the server. CSRF: a signed double-submit token. A random
``vd_csrf`` cookie is set on the first page; each form carries a token signed (itsdangerous,
under the server's secret key) over that cookie and, once logged in, the login's id, so a token
from another browser or another login is refused."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from voucherd.accounts import staff, tokens
from voucherd.accounts.permissions import ROLE_PERMISSIONS, Permission
from voucherd.accounts.staff import WebSession
from voucherd.config import get_settings
from voucherd.http.session import SessionDep
from voucherd.web.formats import day_text, moment_text

HERE = Path(__file__).parent
LOGIN_COOKIE = "vd_login"
CSRF_COOKIE = "vd_csrf"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# (The host adds ``X-Content-Type-Options: nosniff`` to everything it mounts.)
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "media-src 'self' blob:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
    "Cache-Control": "no-store, private",
}


class LoginRequired(Exception):
    """No live login: the page sends the visitor to the login form."""


class CsrfRefused(Exception):
    """A form without its token, or with one not made for this browser and login."""


class PageRefused(Exception):
    """The login's role may not do this (rendered as the 403 page)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def is_https(request: Request) -> bool:
    """HTTPS here or at a proxy that says so (only ever used to add ``Secure``, never to trust)."""
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "") == "https"


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    response.set_cookie(
        name, value, httponly=True, samesite="lax", secure=is_https(request), path="/", max_age=None
    )


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(tokens.secret_key(), salt="voucherd-pages-csrf")


def _nonce(request: Request) -> str:
    """This browser's CSRF cookie, or a new one (set on the response by :func:`render`)."""
    found = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf_nonce", None)
    if found is None:
        found = request.state.new_csrf_nonce = secrets.token_urlsafe(24)
    return str(found)


def _binding(request: Request) -> str:
    login: WebSession | None = getattr(request.state, "login", None)
    return f"{_nonce(request)}:{login.token_id if login else ''}"


def csrf_token(request: Request) -> str:
    return str(_serializer().dumps(_binding(request)))


def renew_csrf(request: Request, response: Response) -> None:
    """A new CSRF cookie at each login and logout (no token of before stays good)."""
    set_cookie(request, response, CSRF_COOKIE, secrets.token_urlsafe(24))


async def _login(request: Request, session: SessionDep) -> WebSession | None:
    token = request.cookies.get(LOGIN_COOKIE)
    login = await staff.web_session(session, token) if token else None
    request.state.login = login
    return login


async def _required_login(login: Annotated[WebSession | None, Depends(_login)]) -> WebSession:
    if login is None:
        raise LoginRequired()
    return login


MaybeLoginDep = Annotated[WebSession | None, Depends(_login)]
LoginDep = Annotated[WebSession, Depends(_required_login)]


async def check_csrf(request: Request, login: MaybeLoginDep) -> None:
    """Every form POST: its token must be ours, made for this browser's cookie and login (read
    first, by the ``login`` dependency)."""
    if request.method in SAFE_METHODS:
        return
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if not isinstance(token, str) or CSRF_COOKIE not in request.cookies:
        raise CsrfRefused()
    try:
        bound = _serializer().loads(token, max_age=get_settings().access_token_seconds)
    except BadSignature:
        raise CsrfRefused() from None
    if not secrets.compare_digest(str(bound), _binding(request)):
        raise CsrfRefused()


def may(login: WebSession, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[login.principal.role]


def require(permission: Permission, what: str) -> Any:
    """A dependency for pages of one permission: others get the 403 page saying ``what``."""

    async def allowed(login: LoginDep) -> WebSession:
        if not may(login, permission):
            raise PageRefused(f"A {login.principal.role.value} login may not {what}; ask the owner.")
        return login

    return Depends(allowed)


class Pages:
    """A Jinja2 environment over an application's templates and the shared ones (the layout, the
    login, password and message pages), for the application mounted at ``mount``."""

    def __init__(self, directories: Sequence[Path], *, mount: str, home_label: str) -> None:
        self.mount = mount
        self.home_label = home_label
        self.environment = Environment(
            loader=ChoiceLoader([FileSystemLoader(d) for d in [*directories, HERE / "templates"]]),
            autoescape=select_autoescape(default=True),
            auto_reload=False,
        )

    def render(self, request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        login: WebSession | None = getattr(request.state, "login", None)
        timezone = "UTC" if login is None else login.principal.timezone
        html = self.environment.get_template(name).render(
            login=login,
            # what the login may do, so links to pages it may not open are left out
            allowed=frozenset() if login is None else ROLE_PERMISSIONS[login.principal.role],
            csrf_token=csrf_token(request),
            mount=self.mount,
            home_label=self.home_label,
            # moments for people, in the business's timezone (web/formats.py)
            day=partial(day_text, timezone=timezone),
            when=partial(moment_text, timezone=timezone),
            **context,
        )
        response = HTMLResponse(html, status_code=status_code, headers=HEADERS)
        new_nonce = getattr(request.state, "new_csrf_nonce", None)
        if new_nonce is not None:
            set_cookie(request, response, CSRF_COOKIE, new_nonce)
        return response
