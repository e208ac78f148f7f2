"""The error statuses every operation of a dialect can answer, added to its OpenAPI document in one
place, so that each route documents only what is its own (a 409 it raises, a body it answers)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts

from voucherd.http.ratelimit import is_rate_limited

# One login for every dialect: the same bearer scheme in each document (and so once in the root's).
BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "A staff member's access token (/vouchercart/v1/authorize) or an API key (vd_live_...)",
}


def add_error_responses(
    schema: dict[str, Any],
    routes: Iterable[Any],
    describe: Callable[[int], dict[str, Any]],
    *,
    authenticated: Callable[[APIRoute], bool],
) -> None:
    """For each operation: 401 where it takes a credential, 404 where its path names an object
    (an unknown one, or another client's), 413 where it takes a body (over the size limit), 422
    (bad input), 429 where a rate limit applies. ``describe(status)`` is the dialect's response
    object for that status (its description and error envelope); a status the route documents
    itself is left as the route wrote it."""
    paths = schema.get("paths", {})
    for context in iter_route_contexts(list(routes)):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        for method in context.methods or ():
            operation = paths.get(context.path_format, {}).get(method.lower())
            if operation is None:
                continue
            statuses = [422]
            if authenticated(route):
                statuses.append(401)
            if "{" in (context.path_format or ""):
                statuses.append(404)
            if "requestBody" in operation:
                statuses.append(413)
            if is_rate_limited(route):
                statuses.append(429)
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses):
                responses.setdefault(str(status), describe(status))
