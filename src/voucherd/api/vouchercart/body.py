"""VoucherCart's request bodies: form-encoded as its curl examples send them, or JSON with the
same names, on every endpoint.

``curl -d`` sends its data as typed, not URL-encoded, so a form value may hold a bare ``%``
(``title=Season sale 25%``) or a ``+`` meant as a space: a ``%`` followed by two hex digits is a
percent-escape, any other ``%`` is itself. Nested names (``payments[0][amount]``,
``metadata[ref]``) become nested objects and lists, as the seed's names mean them."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson
from fastapi import Request

from voucherd.core.errors import InvalidInput

_ESCAPE = re.compile(rb"%[0-9A-Fa-f]{2}")
_PART = re.compile(r"\[([^\[\]]*)\]")
MAX_INDEX = 1000  # payments[1000000][amount] must not build a million-item list


def _decode(raw: bytes) -> str:
    raw = raw.replace(b"+", b" ")
    parts: list[bytes] = []
    last = 0
    for match in _ESCAPE.finditer(raw):
        parts.append(raw[last : match.start()])
        parts.append(unquote_to_bytes(match.group().decode()))
        last = match.end()
    parts.append(raw[last:])
    return b"".join(parts).decode("utf-8", errors="replace")


def _path(name: str) -> list[str]:
    """``payments[0][amount]`` -> ``["payments", "0", "amount"]``."""
    head, _, rest = name.partition("[")
    if not rest:
        return [name]
    return [head, *_PART.findall("[" + rest)]


def _put(target: dict[str, Any], path: list[str], value: str) -> None:
    node: Any = target
    for index, key in enumerate(path):
        last = index == len(path) - 1
        following = None if last else path[index + 1]
        child: Any = value if last else ([] if following is not None and following.isdigit() else {})
        if isinstance(node, list):
            if not key.isdigit() or int(key) > MAX_INDEX:
                raise InvalidInput(f"{path[0]}: list positions are 0 to {MAX_INDEX}.", field=path[0])
            position = int(key)
            while len(node) <= position:
                node.append(None)
            if last or node[position] is None:
                node[position] = child
            node = node[position]
        else:
            if last or key not in node or not isinstance(node[key], dict | list):
                node[key] = child
            node = node[key]


def parse_form(raw: bytes) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for pair in raw.split(b"&"):
        if not pair:
            continue
        name, _, value = pair.partition(b"=")
        key = _decode(name).strip()
        if key:
            _put(fields, _path(key), _decode(value))
    return fields


async def fields(request: Request) -> dict[str, Any]:
    """The body's fields: JSON when it is a JSON object (whatever the content type says),
    else a form. An empty body has no fields."""
    raw = await request.body()
    if not raw.strip():
        return {}
    if raw.lstrip()[:1] in (b"{", b"["):
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise InvalidInput("The request body is not valid JSON.") from None
        if not isinstance(parsed, dict):
            raise InvalidInput("The request body must be a JSON object or a form.")
        return parsed
    return parse_form(raw)
