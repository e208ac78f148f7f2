"""What every HTTP face of voucherd shares: the API dialects (``api/``) and the pages (``web/``).

Request ids, the request's unit of work, idempotency keys, rate limits and JSON responses live
here once, identity-agnostic: each dialect brings its own authentication (a dependency returning
an ``accounts.Principal``), its own error table and its own 429 body. Nothing here knows a
dialect, and nothing here holds a business rule."""
