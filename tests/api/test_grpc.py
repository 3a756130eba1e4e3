"""identity.v1.IdentityService through a real grpc.aio channel to a real server on a free port,
over a real SQLite store: every method, its status codes and its stream behaviour."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from identity.api.auth.authenticator import DEVELOPMENT_MODE
from identity.api.grpc.server import SERVICE_NAME, start_server
from identity.service import IdentityService, retry
from identity.service.change_sinks import ListChangeSink
from identity.service.retry import MAX_ATTEMPTS
from identity.store.errors import StoreConflict
from identity.store.sqlite import SqliteGraphStore
from identity.v1 import identity_pb2 as pb
from identity.v1 import identity_pb2_grpc

Mode = pb.ResolveRequest.Mode
Status = pb.EventResult.Status


def ident(kind: str, value: str) -> pb.Identifier:
    return pb.Identifier(kind=kind, value=value)


def event(event_id: str, *identifiers: pb.Identifier, **fields: Any) -> pb.Event:
    values: dict[str, Any] = {"type": "identify", "timestamp": "2024-05-01T12:00:00Z",
                              "source": "web"}
    values.update(fields)
    return pb.Event(event_id=event_id, identifiers=identifiers, **values)


@pytest.fixture
def database(tmp_path: Path) -> str:
    return str(tmp_path / "graph.db")


@pytest.fixture
async def service(database: str) -> AsyncIterator[IdentityService]:
    store = SqliteGraphStore(database)
    yield IdentityService(store, sink=ListChangeSink())
    await store.close()


def bad_request(error: grpc.aio.AioRpcError) -> dict[str, str]:
    """The google.rpc.BadRequest in the status details, as {field: description}."""
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    # also checks code and message agree with the details; an AioRpcError carries the same
    # trailing metadata as the Call the stubs name
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    (detail,) = status.details
    found = error_details_pb2.BadRequest()
    assert detail.Unpack(found)
    return {v.field: v.description for v in found.field_violations}


async def failure(call: Any) -> grpc.aio.AioRpcError:
    """The error a unary call, or a stream's next read, ends with."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await (call.read() if hasattr(call, "read") else call)
    return caught.value


# --- Resolve -------------------------------------------------------------------------------


async def test_resolve_create_makes_a_profile_that_lookup_then_finds(stub: Any) -> None:
    created = await stub.Resolve(pb.ResolveRequest(
        mode=Mode.MODE_CREATE, source="checkout",
        identifiers=[ident("email", "Grace.Hopper+shop@GMail.com"), ident("anonymous_id", "c-1")]))
    assert created.created and created.profile_id.startswith("prf_")
    assert created.profile.id == created.profile_id
    assert {(i.kind, i.value) for i in created.profile.identifiers} == {
        ("email", "gracehopper@gmail.com"), ("anonymous_id", "c-1")}

    found = await stub.Resolve(pb.ResolveRequest(
        identifiers=[ident("email", "gracehopper@gmail.com")]))
    assert (found.profile_id, found.created) == (created.profile_id, False)
    assert found.profile.first_seen.ToDatetime() <= found.profile.last_seen.ToDatetime()

    again = await stub.Resolve(pb.ResolveRequest(
        mode=Mode.MODE_CREATE, identifiers=[ident("anonymous_id", "c-1")]))
    assert (again.profile_id, again.created) == (created.profile_id, False)


async def test_resolve_id_only_leaves_the_profile_out(stub: Any) -> None:
    await stub.Resolve(pb.ResolveRequest(mode=Mode.MODE_CREATE,
                                         identifiers=[ident("customer_id", "C-1")]))
    found = await stub.Resolve(pb.ResolveRequest(identifiers=[ident("customer_id", "C-1")],
                                                 id_only=True))
    assert found.profile_id and not found.HasField("profile")


async def test_resolve_lookup_writes_nothing_and_answers_empty_when_unknown(
    stub: Any, service: IdentityService
) -> None:
    found = await stub.Resolve(pb.ResolveRequest(identifiers=[ident("email", "new@shop.com")]))
    assert found.profile_id == "" and not found.HasField("profile") and not found.created
    assert await service.profile_ids([service.normalize("email", "new@shop.com")]) == [None]


async def test_resolve_lookup_takes_the_first_known_and_lists_the_conflicting(stub: Any) -> None:
    first = await stub.Resolve(pb.ResolveRequest(mode=Mode.MODE_CREATE,
                                                 identifiers=[ident("email", "a@shop.com")]))
    await stub.Resolve(pb.ResolveRequest(mode=Mode.MODE_CREATE,
                                         identifiers=[ident("phone", "+1 415 555 2671")]))
    found = await stub.Resolve(pb.ResolveRequest(identifiers=[
        ident("anonymous_id", "unknown-cookie"), ident("email", "a@shop.com"),
        ident("phone", "(415) 555-2671")]))
    assert found.profile_id == first.profile_id
    assert [(i.kind, i.value) for i in found.conflicting] == [("phone", "+14155552671")]


async def test_resolve_create_merges_and_the_oldest_profile_survives(stub: Any) -> None:
    old = await stub.Resolve(pb.ResolveRequest(mode=Mode.MODE_CREATE,
                                               identifiers=[ident("email", "a@shop.com")]))
    new = await stub.Resolve(pb.ResolveRequest(mode=Mode.MODE_CREATE,
                                               identifiers=[ident("anonymous_id", "c-9")]))
    merged = await stub.Resolve(pb.ResolveRequest(mode=Mode.MODE_CREATE, identifiers=[
        ident("anonymous_id", "c-9"), ident("email", "a@shop.com")]))
    assert merged.profile_id == old.profile_id
    assert list(merged.merged_profile_ids) == [new.profile_id]
    assert not merged.created


async def test_resolve_invalid_identifiers_are_invalid_argument_naming_each_field(
    stub: Any,
) -> None:
    error = await failure(stub.Resolve(pb.ResolveRequest(identifiers=[
        ident("fax", "1"), ident("email", "grace(at)navy"), ident("anonymous_id", "ok")])))
    violations = bad_request(error)
    assert set(violations) == {"identifiers[0].kind", "identifiers[1].value"}
    assert "unknown identifier kind 'fax'" in violations["identifiers[0].kind"]
    assert "not a valid email address" in violations["identifiers[1].value"]

    error = await failure(stub.Resolve(pb.ResolveRequest(
        mode=Mode.MODE_CREATE, identifiers=[ident("email", "grace(at)navy")])))
    assert set(bad_request(error)) == {"identifiers[0].value"}

    error = await failure(stub.Resolve(pb.ResolveRequest()))
    assert "1 to 50" in bad_request(error)["identifiers"]


async def test_resolve_create_of_placeholders_only_is_invalid_argument(stub: Any) -> None:
    error = await failure(stub.Resolve(pb.ResolveRequest(
        mode=Mode.MODE_CREATE, identifiers=[ident("email", "test@test.com")])))
    assert "placeholder" in bad_request(error)["identifiers"]


# --- GetProfile and BatchGetProfiles ----------------------------------------------------------


async def test_get_profile_by_a_merged_id_answers_with_the_survivor(stub: Any) -> None:
    old = await stub.Resolve(pb.ResolveRequest(mode=Mode.MODE_CREATE,
                                               identifiers=[ident("email", "a@shop.com")]))
    new = await stub.Resolve(pb.ResolveRequest(mode=Mode.MODE_CREATE,
                                               identifiers=[ident("anonymous_id", "c-9")]))
    await stub.Resolve(pb.ResolveRequest(mode=Mode.MODE_CREATE, identifiers=[
        ident("anonymous_id", "c-9"), ident("email", "a@shop.com")]))
    profile = await stub.GetProfile(pb.GetProfileRequest(profile_id=new.profile_id))
    assert (profile.id, profile.requested_id) == (old.profile_id, new.profile_id)
    assert list(profile.merged_ids) == [new.profile_id]


async def test_get_profile_unknown_is_not_found_and_empty_is_invalid(stub: Any) -> None:
    error = await failure(stub.GetProfile(pb.GetProfileRequest(profile_id="prf_nobody")))
    assert error.code() is grpc.StatusCode.NOT_FOUND
    assert "prf_nobody" in (error.details() or "")
    error = await failure(stub.GetProfile(pb.GetProfileRequest()))
    assert bad_request(error) == {"profile_id": "is required"}


async def test_an_id_that_cannot_be_a_profile_id_is_invalid_wherever_it_is_sent(
    stub: Any,
) -> None:
    """A megabyte sent as an id used to come back whole in NOT_FOUND's message, too large for
    a status: the transport failed instead."""
    huge, hostile = "p" * 1_000_000, "prf_\x1b[31m\u202e"
    error = await failure(stub.GetProfile(pb.GetProfileRequest(profile_id=huge)))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    reason = bad_request(error)["profile_id"]
    assert reason.endswith("is not a profile id (at most 64 letters, digits, '_' or '-')")
    assert len(reason) < 120
    error = await failure(stub.BatchGetProfiles(pb.BatchGetProfilesRequest(
        profile_ids=["prf_fine", hostile])))
    assert list(bad_request(error)) == ["profile_ids[1]"]
    assert "\\x1b[31m\\u202e" in bad_request(error)["profile_ids[1]"]
    watch = stub.WatchChanges(pb.WatchChangesRequest(profile_ids=[huge]))
    error = await failure(watch.read())
    assert list(bad_request(error)) == ["profile_ids[0]"]


async def test_a_resolve_mode_the_contract_does_not_name_is_invalid(stub: Any) -> None:
    error = await failure(stub.Resolve(pb.ResolveRequest(
        mode=cast(Any, 99), identifiers=[ident("email", "a@shop.com")])))
    assert bad_request(error) == {"mode": "99 is not a mode: MODE_LOOKUP (1) or MODE_CREATE (2)"}


async def test_get_profile_carries_the_golden_record_and_orders(stub: Any) -> None:
    (result,) = (await stub.IngestEvents(pb.IngestEventsRequest(events=[event(
        "o-1", ident("email", "k@shop.com"), ident("order_id", "ORD-1"), type="order",
        amount="59.90", currency="usd", traits={"first_name": "Katherine"})]))).results
    profile = await stub.GetProfile(pb.GetProfileRequest(profile_id=result.profile_id))
    assert [(g.name, g.value, g.event_id) for g in profile.golden] == [
        ("first_name", "Katherine", "o-1")]
    assert profile.order_count == 1
    assert [(m.currency, m.amount) for m in profile.total_spend] == [("USD", "59.90")]


async def test_batch_get_reports_missing_entries_in_request_order(stub: Any) -> None:
    known = await stub.Resolve(pb.ResolveRequest(mode=Mode.MODE_CREATE,
                                                 identifiers=[ident("email", "a@shop.com")]))
    answer = await stub.BatchGetProfiles(pb.BatchGetProfilesRequest(
        profile_ids=["prf_missing", known.profile_id],
        identifiers=[ident("email", "A@Shop.com"), ident("phone", "+1 415 555 2671")]))
    assert [(lookup.WhichOneof("key"), lookup.found, lookup.profile.id)
            for lookup in answer.lookups] == [
        ("profile_id", False, ""), ("profile_id", True, known.profile_id),
        ("identifier", True, known.profile_id), ("identifier", False, "")]
    assert answer.lookups[2].identifier == ident("email", "a@shop.com")  # normalized


async def test_batch_get_limits_and_invalid_identifiers_are_invalid_argument(stub: Any) -> None:
    error = await failure(stub.BatchGetProfiles(pb.BatchGetProfilesRequest(
        profile_ids=[f"prf_{i}" for i in range(101)])))
    assert "at most 100" in bad_request(error)["profile_ids"]
    error = await failure(stub.BatchGetProfiles(pb.BatchGetProfilesRequest(
        identifiers=[ident("email", "ok@shop.com"), ident("phone", "12")])))
    assert set(bad_request(error)) == {"identifiers[1].value"}


# --- IngestEvents and IngestStream -----------------------------------------------------------


async def test_ingest_events_gives_each_event_its_own_result(stub: Any) -> None:
    events = [
        event("e-1", ident("anonymous_id", "c-1")),
        event("e-2", ident("email", "grace(at)navy"), timestamp="yesterday"),
        event("e-1", ident("anonymous_id", "c-1")),
        event("e-3", ident("anonymous_id", "c-1"), ident("email", "test@test.com")),
    ]
    results = (await stub.IngestEvents(pb.IngestEventsRequest(events=events))).results
    assert [(r.index, r.event_id, r.status) for r in results] == [
        (0, "e-1", Status.STATUS_ACCEPTED), (1, "e-2", Status.STATUS_REJECTED),
        (2, "e-1", Status.STATUS_DUPLICATE), (3, "e-3", Status.STATUS_ACCEPTED)]
    assert {e.field for e in results[1].errors} == {"timestamp", "identifiers[0].value"}
    assert results[3].profile_id == results[0].profile_id
    assert [(i.field, i.value) for i in results[3].ignored_identifiers] == [
        ("identifiers[1]", "test@test.com")]


async def test_ingest_events_drops_a_malformed_identifier_unless_asked_to_be_strict(
    stub: Any,
) -> None:
    def sent(event_id: str) -> pb.Event:
        return event(event_id, ident("email", "ann@shop.com"), ident("phone", "12"),
                     ident("order_id", event_id), type="order", source="checkout")

    strict = (await stub.IngestEvents(pb.IngestEventsRequest(events=[sent("o-1")],
                                                             strict=True))).results[0]
    assert strict.status == Status.STATUS_REJECTED
    assert [e.field for e in strict.errors] == ["identifiers[1].value", "amount", "currency"]
    (lenient,) = (await stub.IngestEvents(pb.IngestEventsRequest(events=[sent("o-2")]))).results
    assert lenient.status == Status.STATUS_ACCEPTED
    assert [(i.field, i.kind, i.value) for i in lenient.ignored_identifiers] == [
        ("identifiers[1].value", "phone", "12")]
    assert [(w.field, w.description) for w in lenient.warnings] == [
        ("amount", "missing on an order: recorded as an order of unknown value")]
    profile = await stub.GetProfile(pb.GetProfileRequest(profile_id=lenient.profile_id))
    assert (profile.order_count, profile.unknown_value_order_count) == (1, 1)
    assert {i.kind for i in profile.identifiers} == {"email", "order_id"}


async def test_a_profile_says_which_limits_hold_a_link_at_it(stub: Any) -> None:
    events = [event("l-1", ident("customer_id", "ann"), ident("email", "ann@home.com"),
                    timestamp="2024-03-01T10:00:00Z"),
              event("l-2", ident("device_id", "tablet"), ident("customer_id", "bob"),
                    timestamp="2024-03-02T10:00:00Z"),
              event("l-3", ident("device_id", "tablet"), ident("email", "ann@home.com"),
                    timestamp="2024-03-03T10:00:00Z")]
    await stub.IngestEvents(pb.IngestEventsRequest(events=events))
    found = await stub.Resolve(pb.ResolveRequest(identifiers=[ident("customer_id", "bob")]))
    assert [(r.kind, r.limit) for r in found.profile.limits_reached] == [("customer_id", 1)]


async def test_ingest_events_over_the_graphql_limit_is_invalid_argument(stub: Any) -> None:
    events = [event(f"e-{i}", ident("anonymous_id", "c")) for i in range(1001)]
    error = await failure(stub.IngestEvents(pb.IngestEventsRequest(events=events)))
    assert "at most 1000" in bad_request(error)["events"]


async def test_ingest_stream_acknowledges_every_event_in_order_even_a_rejected_one(
    stub: Any,
) -> None:
    events = [event(f"s-{i}", ident("anonymous_id", f"c-{i % 3}")) for i in range(30)]
    events[12] = event("s-12", ident("email", "nope"))

    async def requests() -> AsyncIterator[pb.IngestStreamRequest]:
        for item in events:
            yield pb.IngestStreamRequest(event=item)

    acks = [ack.result async for ack in stub.IngestStream(requests())]
    assert [(a.index, a.event_id) for a in acks] == [(i, f"s-{i}") for i in range(30)]
    assert [a.status for a in acks].count(Status.STATUS_ACCEPTED) == 29
    assert acks[12].status == Status.STATUS_REJECTED
    assert [e.field for e in acks[12].errors] == ["identifiers[0].value"]
    assert len({a.profile_id for a in acks if a.status == Status.STATUS_ACCEPTED}) == 3


async def test_a_client_leaving_mid_stream_leaves_the_server_working_and_acks_durable(
    stub: Any, database: str,
) -> None:
    outbox: asyncio.Queue[pb.IngestStreamRequest] = asyncio.Queue()

    async def requests() -> AsyncIterator[pb.IngestStreamRequest]:
        while True:
            yield await outbox.get()

    call = stub.IngestStream(requests())
    acked: list[str] = []
    for i in range(3):
        sent = event(f"d-{i}", ident("session_id", f"s{i}"))
        await outbox.put(pb.IngestStreamRequest(event=sent))
        acked.append((await call.read()).result.event_id)
    call.cancel()  # the client goes away with the stream open
    assert await call.code() is grpc.StatusCode.CANCELLED

    answer = await stub.Resolve(pb.ResolveRequest(identifiers=[ident("session_id", "s2")]))
    assert answer.profile_id
    reopened = SqliteGraphStore(database)  # acknowledged means on disk
    try:
        async with reopened.transaction(read_only=True) as tx:
            assert await tx.events.seen_event_ids(acked) == set(acked) == {"d-0", "d-1", "d-2"}
    finally:
        await reopened.close()


async def test_a_client_not_reading_its_acks_is_paused_and_then_gets_every_one(
    stub: Any,
) -> None:
    """Flow control end to end: the server reads at most a window of events ahead of the acks
    the client takes, so a producer whose acks pile up stops being read from (HTTP/2 windows
    fill) instead of growing the server's memory; once it reads, everything goes through.
    Each event is rejected with 100 field errors, so its ack is large (about 8 KB) and the
    acks outgrow the transport's buffers quickly."""
    total = 8_000
    traits = {f"Bad Trait {n}": "x" for n in range(100)}
    pulled = 0

    async def requests() -> AsyncIterator[pb.IngestStreamRequest]:
        nonlocal pulled
        for i in range(total):
            pulled += 1
            yield pb.IngestStreamRequest(event=event(f"f-{i}", ident("session_id", f"fs{i}"),
                                                     traits=traits))

    call = stub.IngestStream(requests())
    first = await call.read()  # the stream is going; now the client stops reading
    settled = -1
    while settled != pulled:  # wait until the producer stops being pulled from
        settled = pulled
        await asyncio.sleep(0.5)
    assert pulled < total * 0.75, f"the server read {pulled} of {total} events while unacked"
    acks = [first.result]
    while (ack := await call.read()) is not grpc.aio.EOF:
        acks.append(ack.result)
    assert [a.index for a in acks] == list(range(total))
    assert {a.status for a in acks} == {Status.STATUS_REJECTED}
    assert len(acks[-1].errors) == 100


# --- deadlines, cancellation, availability and unexpected errors --------------------------------


async def test_a_deadline_that_expires_cancels_the_handler_and_the_server_goes_on(
    stub: Any, service: IdentityService, monkeypatch: pytest.MonkeyPatch,
) -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def stuck(profile_ids: object, **_: object) -> list[None]:  # purpose=...
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return [None]

    monkeypatch.setattr(service, "profiles", stuck)
    error = await failure(stub.GetProfile(pb.GetProfileRequest(profile_id="prf_x"), timeout=0.2))
    assert error.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    await asyncio.wait_for(cancelled.wait(), 2)
    monkeypatch.undo()
    error = await failure(stub.GetProfile(pb.GetProfileRequest(profile_id="prf_x"), timeout=2))
    assert error.code() is grpc.StatusCode.NOT_FOUND


async def test_a_deadline_mid_stream_cancels_the_ingest_and_its_reader(
    stub: Any, service: IdentityService, monkeypatch: pytest.MonkeyPatch,
) -> None:
    cancelled = asyncio.Event()
    ingest = service.ingest

    async def slow_after_first(raw_events: Any) -> Any:
        if raw_events[0]["event_id"] != "t-0":
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.set()
                raise
        return await ingest(raw_events)

    monkeypatch.setattr(service, "ingest", slow_after_first)

    async def requests() -> AsyncIterator[pb.IngestStreamRequest]:
        yield pb.IngestStreamRequest(event=event("t-0", ident("session_id", "t0")))
        await asyncio.sleep(0.05)
        yield pb.IngestStreamRequest(event=event("t-1", ident("session_id", "t1")))
        await asyncio.sleep(30)

    call = stub.IngestStream(requests(), timeout=0.5)
    assert (await call.read()).result.status == Status.STATUS_ACCEPTED
    error = await failure(call)
    assert error.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    await asyncio.wait_for(cancelled.wait(), 2)


async def test_a_closed_store_is_unavailable_and_health_follows_it() -> None:
    # In memory: a closed file store still opens fresh readers, so its reads would succeed.
    store = SqliteGraphStore(":memory:")
    running = await start_server(IdentityService(store), "127.0.0.1:0",
                                 readiness_interval_s=0.02, authenticator=DEVELOPMENT_MODE)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = identity_pb2_grpc.IdentityServiceStub(channel)
            health: Any = health_pb2_grpc.HealthStub(channel)  # the stubs omit its methods
            serving = health_pb2.HealthCheckResponse.SERVING
            request = health_pb2.HealthCheckRequest(service=SERVICE_NAME)
            assert (await health.Check(request)).status == serving
            await store.close()
            error = await failure(stub.Resolve(pb.ResolveRequest(
                identifiers=[ident("email", "a@b.co")])))
            assert error.code() is grpc.StatusCode.UNAVAILABLE
            assert "closed" in (error.details() or "")
            error = await failure(stub.IngestEvents(pb.IngestEventsRequest(
                events=[event("u-1", ident("anonymous_id", "c"))])))
            assert error.code() is grpc.StatusCode.UNAVAILABLE
            for _ in range(100):
                if (await health.Check(request)).status != serving:
                    break
                await asyncio.sleep(0.01)
            not_serving = health_pb2.HealthCheckResponse.NOT_SERVING
            assert (await health.Check(request)).status == not_serving
            overall = await health.Check(health_pb2.HealthCheckRequest(service=""))
            assert overall.status == not_serving
    finally:
        await running.stop(0)


async def test_an_unexpected_error_is_internal_with_a_generic_message(
    stub: Any, service: IdentityService, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(a: object, b: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(service, "explain", broken)
    error = await failure(stub.Explain(pb.ExplainRequest(a=ident("email", "a@shop.com"),
                                                         b=ident("email", "b@shop.com"))))
    assert (error.code(), error.details()) == (grpc.StatusCode.INTERNAL, "Unexpected error.")
    assert "secret internals" in caplog.text  # logged for the operator, not sent to the caller


async def test_a_conflict_that_outlasts_the_retries_is_aborted_and_says_to_retry(
    stub: Any, service: IdentityService, monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempts: list[object] = []
    backoffs: list[float] = []

    async def racing(profile_ids: object) -> None:
        attempts.append(profile_ids)
        raise StoreConflict("a profile was merged while it was being read")

    async def no_wait(seconds: float) -> None:
        backoffs.append(seconds)
        await asyncio.sleep(0)

    # the store-side read loses every race; the service's own retries run, without waiting
    monkeypatch.setattr(service._queries, "_read_profiles", racing)
    monkeypatch.setattr(retry, "asyncio", SimpleNamespace(sleep=no_wait))
    error = await failure(stub.GetProfile(pb.GetProfileRequest(profile_id="prf_1")))
    assert MAX_ATTEMPTS > 1 and attempts == [["prf_1"]] * MAX_ATTEMPTS  # retried, to the end
    assert len(backoffs) == MAX_ATTEMPTS - 1
    assert error.code() is grpc.StatusCode.ABORTED
    assert error.details() == "a profile was merged while it was being read; retry the call"


# --- Explain ---------------------------------------------------------------------------------


async def test_explain_gives_the_path_of_links_with_evidence(stub: Any) -> None:
    await stub.IngestEvents(pb.IngestEventsRequest(events=[
        event("x-1", ident("anonymous_id", "c-1"), ident("email", "a@shop.com")),
        event("x-2", ident("email", "a@shop.com"), ident("phone", "+1 415 555 2671"),
              source="checkout")]))
    found = await stub.Explain(pb.ExplainRequest(a=ident("anonymous_id", "c-1"),
                                                 b=ident("phone", "(415) 555-2671")))
    assert found.same_profile and found.profile_a == found.profile_b
    assert [(step.rule, list(step.event_ids)) for step in found.path] == [
        ("same_event", ["x-1"]), ("same_event", ["x-2"])]
    assert not found.HasField("link_threshold")  # matching is off in this service


async def test_explain_of_unknown_and_invalid_identifiers(stub: Any) -> None:
    found = await stub.Explain(pb.ExplainRequest(a=ident("email", "a@shop.com"),
                                                 b=ident("email", "b@shop.com")))
    assert (found.profile_a, found.profile_b, found.same_profile) == ("", "", False)
    error = await failure(stub.Explain(pb.ExplainRequest(a=ident("email", "nope"))))
    assert set(bad_request(error)) == {"a.value", "b.kind"}


# --- WatchChanges ------------------------------------------------------------------------------


async def test_watch_changes_streams_created_and_merged_and_resumes(stub: Any) -> None:
    await stub.IngestEvents(pb.IngestEventsRequest(events=[
        event("w-1", ident("email", "a@shop.com")), event("w-2", ident("anonymous_id", "c-1")),
        event("w-3", ident("anonymous_id", "c-1"), ident("email", "a@shop.com"))]))
    call = stub.WatchChanges(pb.WatchChangesRequest(), timeout=5)
    changes = [await call.read() for _ in range(3)]
    call.cancel()
    kinds = [(c.kind, c.cause_event_id) for c in changes]
    assert kinds[:2] == [(pb.ProfileChange.KIND_CREATED, "w-1"),
                         (pb.ProfileChange.KIND_CREATED, "w-2")]
    assert kinds[2][1] == "w-3" and changes[2].kind == pb.ProfileChange.KIND_MERGED
    assert list(changes[2].absorbed_ids) == [changes[1].profile_id]

    resumed = stub.WatchChanges(pb.WatchChangesRequest(after_position=changes[1].position),
                                timeout=5)
    assert (await resumed.read()).change_id == changes[2].change_id
    resumed.cancel()


async def test_watch_changes_follows_new_changes_for_the_profiles_asked_for(stub: Any) -> None:
    (mine,) = (await stub.IngestEvents(pb.IngestEventsRequest(
        events=[event("f-1", ident("email", "a@shop.com"))]))).results
    call = stub.WatchChanges(pb.WatchChangesRequest(profile_ids=[mine.profile_id]), timeout=5)
    assert (await call.read()).cause_event_id == "f-1"
    await stub.IngestEvents(pb.IngestEventsRequest(events=[
        event("f-2", ident("email", "b@shop.com")),  # someone else: filtered out
        event("f-3", ident("email", "a@shop.com"), traits={"first_name": "Ada"})]))
    change = await asyncio.wait_for(call.read(), 5)
    assert (change.cause_event_id, change.kind) == ("f-3", pb.ProfileChange.KIND_UPDATED)
    call.cancel()


async def test_watch_changes_from_an_invalid_position_is_invalid_argument(stub: Any) -> None:
    call = stub.WatchChanges(pb.WatchChangesRequest(after_position="not-a-position"), timeout=5)
    error = await failure(call)
    assert set(bad_request(error)) == {"after_position"}


# --- health and reflection --------------------------------------------------------------------


async def test_health_reports_serving_for_the_server_and_the_service(
    channel: grpc.aio.Channel,
) -> None:
    health: Any = health_pb2_grpc.HealthStub(channel)  # the stubs omit its methods
    for name in ("", SERVICE_NAME):
        answer = await health.Check(health_pb2.HealthCheckRequest(service=name))
        assert answer.status == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_the_identity_service_and_describes_it(
    channel: grpc.aio.Channel,
) -> None:
    # The stubs type it for synchronous channels only.
    reflection: Any = reflection_pb2_grpc.ServerReflectionStub(channel)  # type: ignore[arg-type]

    async def ask(**request: Any) -> reflection_pb2.ServerReflectionResponse:
        call = reflection.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(**request)]))
        async for answer in call:
            found: reflection_pb2.ServerReflectionResponse = answer
            return found
        raise AssertionError("no answer")

    listed = await ask(list_services="")
    names = {s.name for s in listed.list_services_response.service}
    assert {"identity.v1.IdentityService", "grpc.health.v1.Health"} <= names
    described = await ask(file_containing_symbol="identity.v1.IdentityService")
    assert described.file_descriptor_response.file_descriptor_proto


async def test_stop_drains_a_call_in_flight_and_refuses_new_ones(
    service: IdentityService, monkeypatch: pytest.MonkeyPatch,
) -> None:
    running = await start_server(service, "127.0.0.1:0", authenticator=DEVELOPMENT_MODE)
    entered = asyncio.Event()

    async def slow(profile_ids: object, **_: object) -> list[None]:  # purpose=...
        entered.set()
        await asyncio.sleep(0.3)
        return [None]

    monkeypatch.setattr(service, "profiles", slow)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as opened:
        stub = identity_pb2_grpc.IdentityServiceStub(opened)
        in_flight = asyncio.ensure_future(failure(stub.GetProfile(
            pb.GetProfileRequest(profile_id="prf_x"), timeout=5)))
        await asyncio.wait_for(entered.wait(), 5)
        stopping = asyncio.ensure_future(running.stop(grace_s=5))
        await asyncio.sleep(0.05)
        # it ran to its end (NOT_FOUND from the service), it was not cut off
        assert (await in_flight).code() is grpc.StatusCode.NOT_FOUND
        await asyncio.wait_for(stopping, 5)
        error = await failure(stub.GetProfile(pb.GetProfileRequest(profile_id="prf_x"),
                                              timeout=1))
        assert error.code() is grpc.StatusCode.UNAVAILABLE


async def test_a_watch_of_more_profiles_than_allowed_is_refused_before_any_is_checked(
        stub: Any) -> None:
    """1.3 million ids held the event loop for 12 s while each was checked and escaped."""
    call = stub.WatchChanges(pb.WatchChangesRequest(profile_ids=["\n"] * 200_000))
    error = await failure(call)
    assert bad_request(error) == {"profile_ids": "at most 1000 per request, got 200000"}


async def test_a_profile_id_with_a_trailing_newline_is_not_one(stub: Any) -> None:
    error = await failure(stub.GetProfile(pb.GetProfileRequest(profile_id="prf_abc\n")))
    assert list(bad_request(error)) == ["profile_id"]
