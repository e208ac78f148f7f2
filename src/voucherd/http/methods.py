"""The methods a path answers, for ``Allow`` on a 405. Starlette stops at the first route whose
path matches and names only that route's methods, while FastAPI registers each method of a path
as a route of its own: ``Allow: POST`` on ``/campaigns``, which also answers GET."""

from __future__ import annotations

from fastapi import Request
from fastapi.routing import iter_route_contexts
from starlette.routing import Route


def allowed_methods(request: Request) -> str:
    # The path under the mount (a mounted app's scope keeps the whole path and a longer root_path).
    path: str = request.scope["path"]
    root_path: str = request.scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    methods: set[str] = set()
    for context in iter_route_contexts(list(request.app.routes)):
        route = context.original_route
        if isinstance(route, Route) and route.methods and route.path_regex.match(path):
            methods |= route.methods
    return ", ".join(sorted(methods))
