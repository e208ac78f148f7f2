"""A small HTTP/1.1 keep-alive client for load generation.

One request in flight per connection, responses parsed by httptools (the parser uvicorn uses),
requests prebuilt as bytes. It costs the load generator far less CPU per request than httpx,
which matters when the generator, the server and PostgreSQL share two cores."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import cast

import httptools


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes


class HttpConnection(asyncio.Protocol):
    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._body = bytearray()
        self._reply: asyncio.Future[Reply] | None = None

    @classmethod
    async def open(cls, host: str, port: int) -> HttpConnection:
        _, connection = await asyncio.get_running_loop().create_connection(cls, host, port)
        return connection

    async def send(self, request: bytes) -> Reply:
        if self._transport is None or self._transport.is_closing():
            raise ConnectionError("the connection is closed")
        self._reply = asyncio.get_running_loop().create_future()
        self._transport.write(request)
        return await self._reply

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's does not subclass asyncio.Transport).
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(ConnectionError(f"unparsable response: {error}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(ConnectionError("the server closed the connection"))

    # httptools callbacks

    def on_body(self, body: bytes) -> None:
        self._body += body

    def on_message_complete(self) -> None:
        reply = Reply(self._parser.get_status_code(), bytes(self._body))
        self._body.clear()
        if self._reply is not None and not self._reply.done():
            self._reply.set_result(reply)

    def _fail(self, error: Exception) -> None:
        if self._reply is not None and not self._reply.done():
            self._reply.set_exception(error)


class HttpPool:
    """Open connections to one server; a request waits for an idle one (first in, first out)."""

    def __init__(self, connections: list[HttpConnection]) -> None:
        self._connections = connections
        self._idle: asyncio.Queue[HttpConnection] = asyncio.Queue()
        for connection in connections:
            self._idle.put_nowait(connection)

    async def send(self, request: bytes) -> Reply:
        connection = await self._idle.get()
        try:
            return await connection.send(request)
        finally:
            self._idle.put_nowait(connection)

    def close(self) -> None:
        for connection in self._connections:
            connection.close()


@asynccontextmanager
async def http_pool(host: str, port: int, size: int) -> AsyncIterator[HttpPool]:
    connections = await asyncio.gather(*(HttpConnection.open(host, port) for _ in range(size)))
    pool = HttpPool(list(connections))
    try:
        yield pool
    finally:
        pool.close()


def _head(method: str, host: str, path: str, headers: Mapping[str, str]) -> str:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
    return "\r\n".join(lines) + "\r\n"


def get(host: str, path: str, headers: Mapping[str, str]) -> bytes:
    return (_head("GET", host, path, headers) + "\r\n").encode()


def post_json(host: str, path: str, body: bytes, headers: Mapping[str, str]) -> bytes:
    head = _head("POST", host, path, {**headers, "Content-Type": "application/json"})
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def post_form(host: str, path: str, body: bytes, headers: Mapping[str, str]) -> bytes:
    head = _head("POST", host, path, {**headers, "Content-Type": "application/x-www-form-urlencoded"})
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body
