"""Headers every API answer carries, whichever dialect: ``X-Content-Type-Options: nosniff`` (a
browser never reads a JSON body or a CSV export as something else) and ``Cache-Control:
no-store`` unless the route chose its own (answers carry personal data: the recipient export,
customers, a voucher's history; no proxy or browser cache may keep them)."""

from __future__ import annotations

from starlette.types import Message, Send

_NOSNIFF = (b"x-content-type-options", b"nosniff")
_NO_STORE = (b"cache-control", b"no-store")


def with_api_headers(send: Send) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            headers.append(_NOSNIFF)
            if not any(name.lower() == b"cache-control" for name, _ in headers):
                headers.append(_NO_STORE)
            message["headers"] = headers
        await send(message)

    return send_with_headers
