"""Errors of staff logins and client registration."""

from voucherd.core.errors import Conflict, NotFound, Unauthenticated


class LoginRefused(Unauthenticated):
    """A wrong password, an unknown email or a sales page the member is not given: one answer."""

    code = "login_refused"
    default_message = "The email, password or sales page is not right."


class RefreshRefused(Unauthenticated):
    code = "refresh_refused"
    default_message = "The refresh token is not valid (used, revoked or unknown); log in again."


class SubdomainTaken(Conflict):
    code = "subdomain_taken"


class StaffEmailTaken(Conflict):
    code = "staff_email_taken"


class LastOwner(Conflict):
    """A client always keeps an owner: someone must be able to manage its staff and keys."""

    code = "last_owner"


class ApiKeyInUse(Conflict):
    code = "api_key_in_use"


class SalesPageNotFound(NotFound):
    code = "domain_not_found"
    default_message = "No sales page (domain) of yours has this id or name."
