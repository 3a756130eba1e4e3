"""Hostile gRPC callers: request bytes that are no message of their type, and more WatchChanges
streams than the server keeps open. A real grpc.aio server on a free port, over SQLite."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import REGISTRY

from identity.api.auth.authenticator import DEVELOPMENT_MODE
from identity.api.grpc.server import SERVICE_NAME, GrpcServer, start_server
from identity.service import IdentityService
from identity.service.change_sinks import ListChangeSink
from identity.store.sqlite import SqliteGraphStore
from identity.v1 import identity_pb2 as pb
from identity.v1 import identity_pb2_grpc

CORRUPT = b"\xff\xff\xff"  # a field tag whose varint never ends: no message parses it
METHODS = pb.DESCRIPTOR.services_by_name["IdentityService"].methods
MAX_WATCH = 3
Status = pb.EventResult.Status


def event(event_id: str, email: str) -> pb.Event:
    return pb.Event(event_id=event_id, type="identify", timestamp="2024-05-01T12:00:00Z",
                    source="web", identifiers=[pb.Identifier(kind="email", value=email)])


async def serve(store: SqliteGraphStore, **options: Any) -> GrpcServer:
    return await start_server(IdentityService(store, sink=ListChangeSink()), "127.0.0.1:0",
                              authenticator=DEVELOPMENT_MODE, **options)


@pytest.fixture
async def limited() -> AsyncIterator[identity_pb2_grpc.IdentityServiceStub]:
    """A stub to a server that keeps at most MAX_WATCH WatchChanges streams open."""
    store = SqliteGraphStore(":memory:")
    running = await serve(store, max_watch_streams=MAX_WATCH)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield identity_pb2_grpc.IdentityServiceStub(channel)
    await running.stop(0)
    await store.close()


def above_debug(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.levelname} {r.name}: {r.getMessage()}" for r in caplog.records
            if r.levelno > logging.DEBUG]


def assert_plain(details: str) -> None:
    """Nothing of the parser's: no exception class, no traceback, no bytes."""
    for word in ("Error", "Exception", "Traceback", "class", "\\x", "\ufffd"):
        assert word not in details, details


# --- request bytes that do not decode ----------------------------------------------------------


@pytest.mark.parametrize("method", [m for m in METHODS if not m.client_streaming],
                         ids=lambda m: m.name)
async def test_corrupt_bytes_to_a_method_are_invalid_argument_and_the_server_serves_on(
    method: Any, channel: grpc.aio.Channel, stub: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    path = f"/{SERVICE_NAME}/{method.name}"
    call: Any
    if method.server_streaming:  # identity serializers: the bytes go out as they are
        call = channel.unary_stream(path)(CORRUPT, timeout=5).read()  # type: ignore[arg-type]
    else:
        call = channel.unary_unary(path)(CORRUPT, timeout=5)  # type: ignore[arg-type]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call

    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    details = caught.value.details() or ""
    assert details == f"the request is not a valid {method.input_type.full_name} message"
    assert_plain(details)
    assert above_debug(caplog) == []
    found = await stub.Resolve(pb.ResolveRequest(
        identifiers=[pb.Identifier(kind="email", value="nobody@shop.com")]), timeout=5)
    assert found.profile_id == ""


async def test_a_corrupt_message_mid_stream_ends_it_after_the_acks_of_the_events_before(
    channel: grpc.aio.Channel, stub: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    good = [event(f"h-{i}", f"hostile{i}@shop.com") for i in range(2)]
    call: Any = channel.stream_stream(f"/{SERVICE_NAME}/IngestStream",
                                 response_deserializer=pb.IngestStreamResponse.FromString)(
        timeout=5)
    for item in good:
        await call.write(pb.IngestStreamRequest(event=item).SerializeToString())
    await call.write(CORRUPT)

    acks = []
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for response in call:
            acks.append(response.result)

    assert [(a.index, a.event_id, a.status) for a in acks] == [
        (0, "h-0", Status.STATUS_ACCEPTED), (1, "h-1", Status.STATUS_ACCEPTED)]
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    details = caught.value.details() or ""
    assert details == ("message 2 of the request stream (the first is 0) is not a valid "
                       "identity.v1.IngestStreamRequest message")
    assert_plain(details)
    assert above_debug(caplog) == []
    for ack, item in zip(acks, good, strict=True):  # acknowledged, so stored
        found = await stub.Resolve(pb.ResolveRequest(identifiers=item.identifiers), timeout=5)
        assert found.profile_id == ack.profile_id != ""


# --- how many WatchChanges streams stay open ---------------------------------------------------


def open_watch_streams() -> float:
    return REGISTRY.get_sample_value("identity_grpc_watch_streams") or 0.0


async def watching(stub: Any, **options: Any) -> Any:
    """A WatchChanges call that the server took: it has sent the first change."""
    call = stub.WatchChanges(pb.WatchChangesRequest(), **options)
    first = await call.read()
    assert isinstance(first, pb.ProfileChange)
    return call


async def watching_once_a_slot_is_free(stub: Any, within_s: float = 5) -> Any:
    """A slot comes back when the server has seen the call end, a moment after the client."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            return await watching(stub, timeout=10)
        except grpc.aio.AioRpcError as exc:
            if exc.code() is not grpc.StatusCode.RESOURCE_EXHAUSTED or (
                    time.monotonic() > deadline):
                raise
        await asyncio.sleep(0.02)


async def refused(stub: Any) -> grpc.aio.AioRpcError:
    call = stub.WatchChanges(pb.WatchChangesRequest(), timeout=5)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call.read()
    return caught.value


async def test_a_watch_stream_beyond_the_limit_is_refused_until_one_ends(limited: Any) -> None:
    stub = limited
    await stub.IngestEvents(pb.IngestEventsRequest(events=[event("w-0", "w0@shop.com")]))
    before = open_watch_streams()
    calls = [await watching(stub) for _ in range(MAX_WATCH)]
    assert open_watch_streams() == before + MAX_WATCH

    error = await refused(stub)
    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.details() == (f"at most {MAX_WATCH} watch streams (WatchChanges, health "
                               "Watch) are open on this server; retry later")

    calls[0].cancel()
    calls[0] = await watching_once_a_slot_is_free(stub)
    assert (await refused(stub)).code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    for call in calls:
        call.cancel()
    for _ in range(250):  # the gauge follows, once the server has seen the calls end
        if open_watch_streams() == before:
            break
        await asyncio.sleep(0.02)
    assert open_watch_streams() == before


async def test_a_watch_stream_gives_its_slot_back_after_an_error_or_its_deadline(
    limited: Any,
) -> None:
    stub = limited
    await stub.IngestEvents(pb.IngestEventsRequest(events=[event("w-1", "w1@shop.com")]))
    for _ in range(MAX_WATCH + 1):  # each takes a slot, fails, and gives it back
        call = stub.WatchChanges(pb.WatchChangesRequest(after_position="not-a-position"),
                                 timeout=5)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call.read()
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT

    short = [await watching(stub, timeout=0.3) for _ in range(MAX_WATCH)]
    for call in short:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call.read()
        assert caught.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    still = [await watching_once_a_slot_is_free(stub) for _ in range(MAX_WATCH)]
    assert (await refused(stub)).code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    for call in still:
        call.cancel()


async def test_corrupt_bytes_to_health_checking_are_invalid_argument_too(
        channel: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await channel.unary_unary("/grpc.health.v1.Health/Check")(CORRUPT)  # type: ignore[arg-type]
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details() == (
        "the request is not a valid grpc.health.v1.HealthCheckRequest message")


async def test_a_request_with_a_hundred_bad_items_lists_the_first_and_counts_the_rest(
        stub: identity_pb2_grpc.IdentityServiceStub) -> None:
    """Status and details are headers, which clients cap at 16 KiB: an uncapped list of 100
    violations reached the client as 'metadata size exceeds hard limit', not INVALID_ARGUMENT."""
    bad = [pb.Identifier(kind="k" * 100, value="v" * 200)] * 100
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.BatchGetProfiles(pb.BatchGetProfilesRequest(identifiers=bad))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = caught.value.details() or ""
    assert details.endswith(
        "; and 97 more (100 in all; the details list the first 10)")
    assert len(details) < 1_000


async def test_health_watch_streams_draw_on_the_same_slots() -> None:
    """2,000 health Watch streams stayed open while WatchChanges was bounded."""
    store = SqliteGraphStore(":memory:")
    running = await serve(store, max_watch_streams=MAX_WATCH)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            health: Any = health_pb2_grpc.HealthStub(channel)  # the stubs omit its methods
            watches = [health.Watch(health_pb2.HealthCheckRequest()) for _ in range(MAX_WATCH)]
            for watch in watches:
                await watch.read()  # each is open and has answered
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await health.Watch(health_pb2.HealthCheckRequest()).read()
            assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
            stub = identity_pb2_grpc.IdentityServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.WatchChanges(pb.WatchChangesRequest()).read()
            assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
            for watch in watches:
                watch.cancel()
    finally:
        await running.stop(0)
        await store.close()
