"""IngestStream's pipeline on its own: order, grouping, bounded read-ahead, failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import pytest

from identity.api.grpc.ingest_stream import ingest_in_order
from identity.api.grpc.servicer import IdentityServicer
from identity.api.limits import MAX_IDENTIFIERS_PER_REQUEST
from identity.service import IdentityService, IngestResult, IngestStatus
from identity.v1 import identity_pb2 as pb


class Recorder:
    """An ingest that records its batches and can be held shut."""

    def __init__(self) -> None:
        self.batches: list[list[object]] = []
        self.open = asyncio.Event()
        self.open.set()

    async def __call__(self, raw_events: Sequence[object]) -> list[IngestResult]:
        await self.open.wait()
        self.batches.append(list(raw_events))
        return [IngestResult(i, str(e), IngestStatus.ACCEPTED) for i, e in enumerate(raw_events)]


async def numbers(count: int, pulled: list[int] | None = None) -> AsyncIterator[object]:
    for n in range(count):
        if pulled is not None:
            pulled.append(n)
        yield n
        await asyncio.sleep(0)


async def test_results_come_in_stream_order_with_their_stream_positions() -> None:
    ingest = Recorder()
    seen = [(offset + r.index, r.event_id)
            async for offset, results in ingest_in_order(numbers(50), ingest, window=8)
            for r in results]
    assert seen == [(n, str(n)) for n in range(50)]
    assert all(1 <= len(batch) <= 8 for batch in ingest.batches)


async def test_events_waiting_while_a_batch_is_ingested_go_in_one_call() -> None:
    ingest = Recorder()
    ingest.open.clear()
    stream = ingest_in_order(numbers(6), ingest, window=16)
    first = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.05)  # the other five arrive while the first is held
    ingest.open.set()
    await first
    rest = [batch async for batch in stream]
    assert [len(b) for b in ingest.batches] == [1, 5]
    assert rest[0][0] == 1  # the second batch starts at stream position 1


async def test_a_stalled_ingest_stops_the_reading_at_the_window() -> None:
    """The bound that makes HTTP/2 flow control push back on the client."""
    ingest = Recorder()
    ingest.open.clear()
    pulled: list[int] = []
    stream = ingest_in_order(numbers(10_000, pulled), ingest, window=4)
    first = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.1)
    # one batch held by the ingest, `window` in the queue, one waiting to be put
    assert len(pulled) <= 1 + 4 + 1
    first.cancel()
    await asyncio.wait([first])
    await stream.aclose()


async def test_a_failed_read_ends_the_stream_after_the_events_before_it() -> None:
    async def broken() -> AsyncIterator[object]:
        yield "a"
        yield "b"
        raise ConnectionError("client went away")

    ingest = Recorder()
    seen: list[str | None] = []
    with pytest.raises(ConnectionError):
        async for _, results in ingest_in_order(broken(), ingest, window=4):
            seen += [r.event_id for r in results]
    assert seen == ["a", "b"]


async def test_closing_the_stream_cancels_its_reader() -> None:
    reading = asyncio.Event()

    async def endless() -> AsyncIterator[object]:
        yield "a"
        reading.set()
        await asyncio.sleep(30)
        yield "never"

    before = asyncio.all_tasks()
    stream = ingest_in_order(endless(), Recorder(), window=4)
    await anext(stream)
    await asyncio.wait_for(reading.wait(), 2)
    await stream.aclose()
    assert asyncio.all_tasks() - before == set()


async def test_the_servicers_stream_closed_at_an_acknowledgement_cancels_its_reader(
        service: IdentityService) -> None:
    """As gRPC closes a call's handler when the call is cancelled while a response waits."""
    reading = asyncio.Event()

    async def endless() -> AsyncIterator[pb.IngestStreamRequest]:
        yield pb.IngestStreamRequest(event=pb.Event(
            event_id="e1", type="identify", timestamp="2024-05-01T12:00:00Z", source="web",
            identifiers=[pb.Identifier(kind="anonymous_id", value="a1")]))
        reading.set()
        await asyncio.sleep(30)
        yield pb.IngestStreamRequest()

    before = asyncio.all_tasks()
    context: Any = None  # not used unless the call fails
    stream = IdentityServicer(service).IngestStream(endless(), context)
    first = await anext(stream)
    assert first.result.event_id == "e1"
    await asyncio.wait_for(reading.wait(), 2)
    await stream.aclose()
    assert asyncio.all_tasks() - before == set()


async def test_a_batch_holds_no_more_identifiers_than_one_ingest_request_may() -> None:
    """256 events of 50 identifiers were one call of 12,800: no IngestEvents may hold that."""
    ingest = Recorder()
    ingest.open.clear()

    async def wide(count: int) -> AsyncIterator[object]:
        for n in range(count):
            yield {"event_id": f"e{n}", "identifiers": [{"kind": "anonymous_id",
                                                          "value": f"a{n}-{i}"}
                                                         for i in range(50)]}

    stream = ingest_in_order(wide(256), ingest, window=256)
    first = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.05)  # every event is waiting before the first batch goes
    ingest.open.set()
    offsets = [(await first)[0]] + [offset async for offset, _ in stream]
    sizes = [sum(len(cast(dict[str, list[object]], e)["identifiers"]) for e in batch)
             for batch in ingest.batches]
    assert max(sizes) <= MAX_IDENTIFIERS_PER_REQUEST
    assert sum(len(batch) for batch in ingest.batches) == 256
    assert offsets == sorted(offsets) and offsets[1] == len(ingest.batches[0])
