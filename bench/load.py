"""Load patterns: an open loop at a fixed offered rate (latency) and a closed loop of concurrent
clients (throughput). An operation is one request; it returns ``None`` on the expected answer and
a short description otherwise."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bench.common import BenchError

Operation = Callable[[], Awaitable[str | None]]


class Exhausted(Exception):
    """The operation has no work left (every prepared code is used)."""


@dataclass
class LoadResult:
    succeeded: int = 0
    failed: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds; open loop only
    first_failure: str | None = None

    @property
    def rate(self) -> float:
        """Successful requests per second."""
        return self.succeeded / self.elapsed if self.elapsed else 0.0


async def _call(operation: Operation, result: LoadResult) -> None:
    try:
        failure = await operation()
    except OSError as error:
        failure = f"{type(error).__name__}: {error}"
    if failure is None:
        result.succeeded += 1
        return
    result.failed += 1
    if result.first_failure is None:
        result.first_failure = failure


async def open_loop(operation: Operation, *, rate: float, duration: float) -> LoadResult:
    """Start a request every ``1/rate`` seconds whether or not earlier ones have finished, and
    time each from its scheduled start to its end, so a stalled server shows in the latencies
    instead of slowing the load (no coordinated omission)."""
    result = LoadResult()
    interval = 1.0 / rate

    async def timed(scheduled: float) -> None:
        await _call(operation, result)
        result.latencies.append(time.perf_counter() - scheduled)

    start = time.perf_counter()
    try:
        async with asyncio.TaskGroup() as group:
            for index in range(round(rate * duration)):
                scheduled = start + index * interval
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                group.create_task(timed(scheduled))
    except* Exhausted:
        raise BenchError("ran out of prepared codes during an open-loop run") from None
    result.elapsed = time.perf_counter() - start
    return result


async def closed_loop(operation: Operation, *, concurrency: int, duration: float) -> LoadResult:
    """``concurrency`` clients, each sending its next request when the last one is answered,
    until ``duration`` is up (or the prepared codes run out)."""
    result = LoadResult()
    start = time.perf_counter()
    deadline = start + duration

    async def client() -> None:
        while time.perf_counter() < deadline:
            try:
                await _call(operation, result)
            except Exhausted:
                return

    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(client())
    result.elapsed = time.perf_counter() - start
    return result
