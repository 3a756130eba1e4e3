"""IngestStream's pipeline: events are read while earlier ones are being ingested.

Between the reader and the ingest loop sits a bounded queue, so memory is bounded whatever the
client does: when acknowledgements are written slowly (a client that reads them slowly), the
loop waits on the write, the queue fills, the reader stops reading, and HTTP/2 flow control
pushes back on the client's sends. The events already waiting when the loop comes round are
ingested in one call (one transaction, one fsync) and acknowledged one by one, in order.
Independent of protobuf: raw events in, ingest results out.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from identity.api.limits import MAX_IDENTIFIERS_PER_REQUEST
from identity.service import IngestResult

Ingest = Callable[[Sequence[object]], Awaitable[list[IngestResult]]]


@dataclass(frozen=True, slots=True)
class _End:
    error: Exception | None = None  # reading failed: the loop raises it after the events before


async def _read(events: AsyncIterator[object], queue: asyncio.Queue[object]) -> None:
    try:
        async for event in events:
            await queue.put(event)  # waits while the queue is full: this is the back-pressure
    except Exception as exc:
        await queue.put(_End(exc))
    else:
        await queue.put(_End())


def _identifiers(event: object) -> int:
    found = event.get("identifiers") if isinstance(event, dict) else None
    return len(found) if isinstance(found, list) else 0


async def _next_batch(queue: asyncio.Queue[object], limit: int, carried: list[object]
                      ) -> tuple[list[object], _End | None]:
    """At least one item (waiting for it), then whatever else has arrived, up to `limit`
    events and MAX_IDENTIFIERS_PER_REQUEST identifiers, as one IngestEvents request may hold;
    an item that would pass the bound is `carried` to the next batch."""
    batch: list[object] = []
    size = 0
    item = carried.pop() if carried else await queue.get()
    while not isinstance(item, _End):
        if batch and size + _identifiers(item) > MAX_IDENTIFIERS_PER_REQUEST:
            carried.append(item)
            return batch, None
        batch.append(item)
        size += _identifiers(item)
        if len(batch) >= limit or queue.empty():
            return batch, None
        item = queue.get_nowait()
    return batch, item


async def ingest_in_order(events: AsyncIterator[object], ingest: Ingest, window: int
                          ) -> AsyncGenerator[tuple[int, list[IngestResult]], None]:
    """Yields (position of the batch's first event in the stream, its results). At most
    `window` events wait unread by the loop, and a batch holds at most `window`."""
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize=window)
    reader = asyncio.create_task(_read(events, queue))
    offset = 0
    try:
        end: _End | None = None
        carried: list[object] = []
        while end is None:  # an item carried over was read before any end
            batch, end = await _next_batch(queue, window, carried)
            if batch:
                yield offset, await ingest(batch)
                offset += len(batch)
        if end.error is not None:
            raise end.error
    finally:
        reader.cancel()
        # asyncio.wait never raises the reader's CancelledError, so a cancellation of this
        # call itself (a deadline, a client gone) still propagates from here.
        await asyncio.wait([reader])
