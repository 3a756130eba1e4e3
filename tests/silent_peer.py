"""A TCP peer that accepts connections and never answers: a client's start (a Kafka bootstrap,
a Bolt handshake) waits on it until cancelled, which is how tests cut a start short."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class _Silent(asyncio.Protocol):
    def __init__(self, held: list[asyncio.BaseTransport]) -> None:
        self._held = held

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._held.append(transport)


@asynccontextmanager
async def silent_peer() -> AsyncIterator[int]:
    """Yields its port; closes every connection it accepted on the way out (plain transports,
    no stream handlers left to the event loop's end)."""
    held: list[asyncio.BaseTransport] = []
    server = await asyncio.get_running_loop().create_server(
        lambda: _Silent(held), "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for transport in held:
            transport.close()
        await server.wait_closed()
