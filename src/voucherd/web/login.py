"""Logging in, out and changing one's password: the same forms for every signed-in application
(the staff screen, the dashboard), on its own layout and under its own mount."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from voucherd.accounts import staff
from voucherd.accounts.errors import LoginRefused
from voucherd.core.errors import InvalidInput
from voucherd.http import ratelimit
from voucherd.http.session import SessionDep
from voucherd.web import session as pages
from voucherd.web.session import LOGIN_COOKIE, LoginDep, MaybeLoginDep, Pages

COMMON_CSS = Path(__file__).parent / "static" / "common.css"


def safe_next(target: str, home: str) -> str:
    """Where to go after logging in: one of our own pages, never another site."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return home


def router(view: Pages) -> APIRouter:
    """``/login``, ``/logout``, ``/password`` and the shared stylesheet, for the application of
    ``view`` (include it under that application's CSRF dependency)."""
    home = f"{view.mount}/"
    routes = APIRouter(include_in_schema=False)

    @routes.get("/static/common.css")
    async def common_css() -> FileResponse:
        return FileResponse(COMMON_CSS, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    @routes.get("/login")
    async def login_form(request: Request, login: MaybeLoginDep, next: str = home) -> Response:
        if login is not None:
            return RedirectResponse(safe_next(next, home), status_code=303)
        form = {"email": "", "sales_page": ""}
        return view.render(request, "login.html", form=form, next=safe_next(next, home))

    @routes.post("/login")
    async def log_in(
        request: Request,
        session: SessionDep,
        email: Annotated[str, Form(max_length=320)] = "",
        password: Annotated[str, Form(max_length=1024)] = "",
        sales_page: Annotated[str, Form(max_length=63)] = "",
        next: Annotated[str, Form(max_length=500)] = home,
    ) -> Response:
        """Email, password and sales page (it may be left out by a member of one page only)."""
        await ratelimit.check(request, "staff_login_per_ip", f"ip:{ratelimit.client_ip(request)}")
        await ratelimit.check(request, "login_per_account", f"email:{email.strip().lower()}")
        page = sales_page.strip()
        if not page:
            given = await staff.pages_of_email(session, email)
            page = given[0].name if len(given) == 1 else ""
        try:
            if not page:
                raise LoginRefused("Name your sales page too (you may log in on more than one).")
            done = await staff.log_in(session, email=email, password=password, subdomain=page)
        except LoginRefused as error:
            form = {"email": email, "sales_page": sales_page}
            target = safe_next(next, home)
            return view.render(request, "login.html", 401, form=form, next=target, error=error.message)
        response = RedirectResponse(safe_next(next, home), status_code=303)
        pages.set_cookie(request, response, LOGIN_COOKIE, done.access_token)
        pages.renew_csrf(request, response)
        return response

    @routes.post("/logout")
    async def log_out(request: Request, session: SessionDep, login: LoginDep) -> Response:
        await staff.log_out(session, login)
        response = RedirectResponse(f"{view.mount}/login", status_code=303)
        response.delete_cookie(LOGIN_COOKIE, path="/")
        pages.renew_csrf(request, response)
        return response

    @routes.get("/password")
    async def password_form(request: Request, login: LoginDep) -> Response:
        return view.render(request, "password.html")

    @routes.post("/password")
    async def change_password(
        request: Request,
        session: SessionDep,
        login: LoginDep,
        current: Annotated[str, Form(max_length=1024)] = "",
        new: Annotated[str, Form(max_length=1024)] = "",
        repeat: Annotated[str, Form(max_length=1024)] = "",
    ) -> Response:
        """Every session of the member ends, this one too: they log in again with the new one."""
        try:
            if new != repeat:
                raise InvalidInput("The two new passwords are not the same.", field="repeat")
            await staff.change_password(session, login.principal, current=current, new=new)
        except InvalidInput as error:
            return view.render(request, "password.html", 422, error=error.message)
        response = view.render(
            request,
            "message.html",
            heading="Password changed",
            message="Log in again with your new password.",
            link=(f"{view.mount}/login", "Log in"),
        )
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    return routes
