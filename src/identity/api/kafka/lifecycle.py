"""Waiting and stopping, for parts that must end when asked even while the broker is away."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

log = logging.getLogger("identity.kafka")

STOP_WAIT_S = 10.0


class _Client(Protocol):
    async def stop(self) -> None: ...


async def stopped(client: _Client) -> None:
    """Stops an aiokafka client, giving up after STOP_WAIT_S: with the broker away a producer
    waits for its unsent messages for ever, and a process must still be able to stop (what
    was not acknowledged is sent again by whoever comes next)."""
    try:
        async with asyncio.timeout(STOP_WAIT_S):
            await client.stop()
    except TimeoutError:
        log.warning("%s did not stop within %.0fs (the broker away?); left as it is",
                    type(client).__name__, STOP_WAIT_S)


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Waits `seconds`, or less when `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
