"""Events from a real Kafka topic into the service, and its changes out to another: every
good event resolved once, every bad one on the dead-letter topic with its reason, offsets
committed only after the batch is durable, the change log published in order per profile."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY

from devservers.kafka_client import create_topic, produce, read_topic
from identity.api.kafka.config import KafkaConfig
from identity.api.kafka.consumer import EventConsumer
from identity.api.kafka.messages import MAX_LETTER_PAYLOAD_BYTES
from identity.api.kafka.relay import ChangeRelay, read_position
from identity.api.kafka.topics import ensure_topics
from identity.service import IdentityService
from identity.service.change_sinks import ListChangeSink
from identity.store.sqlite import SqliteGraphStore
from tests.builders import event, ident
from tests.kafka_fixtures import change_log, committed, kafka_config

pytestmark = pytest.mark.kafka


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value).encode()


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@asynccontextmanager
async def running(part: Callable[[asyncio.Event], Coroutine[Any, Any, None]]
                  ) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(part(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def until(check: Callable[[], Awaitable[bool]], timeout_s: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "not within the time allowed"
        await asyncio.sleep(0.1)


async def all_committed(config: KafkaConfig, ends: dict[int, int]) -> None:
    async def done() -> bool:
        return await committed(config) == ends
    await until(done)


@pytest.fixture
async def service() -> AsyncIterator[IdentityService]:
    store = SqliteGraphStore(":memory:")
    yield IdentityService(store, sink=ListChangeSink())
    await store.close()


async def test_good_events_resolve_once_and_bad_ones_go_to_the_dead_letter_topic(
    kafka_bootstrap: str, service: IdentityService, caplog: pytest.LogCaptureFixture,
) -> None:
    config = kafka_config(kafka_bootstrap, batch=7)  # several batches
    await create_topic(config.bootstrap, config.events_topic, 3)
    await ensure_topics(config)
    good = [event(ident("email", f"kafka{n}@northwind.org"), ident("anonymous_id", f"anon-{n}"),
                  event_id=f"good-{n}") for n in range(20)]
    # Person 0's login on another device, and a resend of event 3 (a duplicate).
    good.append(event(ident("email", "kafka0@northwind.org"), ident("device_id", "dev-0"),
                      event_id="good-login"))
    messages: list[tuple[bytes | None, bytes | None]] = [(b"k", _json(e)) for e in good]
    messages.append((b"k", _json(good[3])))
    bad = {
        b"\xff\xfe not utf-8": "not UTF-8: byte 0xff at offset 0",
        b"{\"event_id\": ": "not JSON",
        b"[1, 2]": "a JSON array",
        _json({"event_id": "bad-1", "type": "identify"}): "timestamp",
        _json(event(ident("email", "x@northwind.org"), event_id="bad-2",
                    timestamp="2099-01-01T00:00:00Z")): "timestamp",
        _json(event(ident("email", "bad\u0000@northwind.org"), event_id="bad-3")): "control",
    }
    messages += [(b"bad", value) for value in bad]
    messages.append((b"tombstone", None))
    accepted_before = _metric("identity_kafka_events_total", outcome="accepted")
    letters_before = _metric("identity_kafka_dead_letters_total", reason="rejected")
    await produce(kafka_bootstrap, config.events_topic, messages,
                  partition=lambda index: index % 3)

    caplog.set_level(logging.DEBUG, logger="identity")
    caplog.set_level(logging.INFO, logger="aiokafka")  # as configure_logging holds it
    async with running(EventConsumer(service, config).run):
        await all_committed(config, {0: 10, 1: 10, 2: 9})

    profiles = await service.profiles_by_identifier(
        [service.normalize("email", f"kafka{n}@northwind.org") for n in range(20)])
    assert all(profiles) and len({p.profile_id for p in profiles if p}) == 20
    login = await service.profiles_by_identifier([service.normalize("device_id", "dev-0")])
    assert login[0] is not None and login[0].profile_id == profiles[0].profile_id  # type: ignore[union-attr]
    assert _metric("identity_kafka_events_total", outcome="accepted") - accepted_before == 21

    letters = [json.loads(r.value) for r in
               await read_topic(kafka_bootstrap, config.dead_letter_topic, at_least=7)]
    assert len(letters) == 7  # the six bad ones and the tombstone; never a good one
    by_payload = {letter.get("payload") or letter.get("payload_base64"): letter
                  for letter in letters}
    for value, reason in bad.items():
        try:
            key = value.decode("utf-8")
        except UnicodeDecodeError:
            key = base64.b64encode(value).decode()
        letter = by_payload[key]
        assert reason in letter["error"], letter
        assert letter["topic"] == config.events_topic and letter["errors"]
        assert isinstance(letter["partition"], int) and isinstance(letter["offset"], int)
    assert by_payload[None]["error"].startswith("message: the message has no value")
    assert _metric("identity_kafka_dead_letters_total", reason="rejected") - letters_before == 3
    # What the messages held never reaches a log, good or refused.
    assert "events partitions held" in caplog.text  # the service's own lines were captured
    assert "northwind.org" not in caplog.text and "2099" not in caplog.text


async def test_offsets_are_not_committed_while_the_store_cannot_take_the_batch(
    kafka_bootstrap: str,
) -> None:
    """Store down: nothing committed, the worker waits; back: the batch lands, then commits."""
    config = kafka_config(kafka_bootstrap)
    await ensure_topics(config)
    store = SqliteGraphStore(":memory:")
    service = IdentityService(store, sink=ListChangeSink())
    real_ingest = service.ingest
    down = asyncio.Event()
    down.set()

    async def ingest(raw: Any, *, strict: bool = False) -> Any:
        from identity.service import StoreUnavailable
        if down.is_set():
            raise StoreUnavailable("the test took the store away")
        return await real_ingest(raw, strict=strict)

    service.ingest = ingest  # type: ignore[method-assign,assignment]
    await produce(kafka_bootstrap, config.events_topic,
                  [(None, _json(event(ident("email", f"down{n}@northwind.org"))))
                   for n in range(5)], partition=lambda index: 0)
    try:
        async with running(EventConsumer(service, config).run):
            await asyncio.sleep(2)
            assert await committed(config) == dict.fromkeys(range(6), 0)
            down.clear()
            await all_committed(config, {0: 5, **dict.fromkeys(range(1, 6), 0)})
        found = await service.profiles_by_identifier(
            [service.normalize("email", f"down{n}@northwind.org") for n in range(5)])
        assert all(found)
    finally:
        await store.close()


async def test_two_workers_share_the_partitions_and_one_stopping_hands_over_cleanly(
    kafka_bootstrap: str, service: IdentityService,
) -> None:
    config = kafka_config(kafka_bootstrap, batch=20)
    await create_topic(config.bootstrap, config.events_topic, 4)
    await ensure_topics(config)
    events = [event(ident("customer_id", f"c{n % 30}"), ident("anonymous_id", f"a{n}"),
                    event_id=f"share-{n}") for n in range(400)]
    accepted = _metric("identity_kafka_events_total", outcome="accepted")
    first, second = EventConsumer(service, config), EventConsumer(service, config)
    async with running(first.run):
        async with running(second.run):
            await produce(kafka_bootstrap, config.events_topic,
                          [(None, _json(e)) for e in events[:200]],
                          partition=lambda index: index % 4)
            await until(lambda: _count(accepted, 200))
        # the second left the group: the first takes every partition and the rest
        await produce(kafka_bootstrap, config.events_topic,
                      [(None, _json(e)) for e in events[200:]],
                      partition=lambda index: index % 4)
        await all_committed(config, dict.fromkeys(range(4), 100))
    # Each event applied once: accepted 400 times in all, whatever was read twice came back
    # as a duplicate.
    assert _metric("identity_kafka_events_total", outcome="accepted") - accepted == 400
    profiles = await service.profiles_by_identifier(
        [service.normalize("customer_id", f"c{n}") for n in range(30)])
    assert len({p.profile_id for p in profiles if p}) == 30
    assert all(len(p.identifiers) == 1 + 400 // 30 + (n < 400 % 30)  # type: ignore[union-attr]
               for n, p in enumerate(profiles))


async def _count(before: float, wanted: int) -> bool:
    return _metric("identity_kafka_events_total", outcome="accepted") - before >= wanted


async def test_the_relay_publishes_the_change_log_in_order_per_profile_once(
    kafka_bootstrap: str, service: IdentityService,
) -> None:
    config = kafka_config(kafka_bootstrap)
    await ensure_topics(config)
    # Committed before any relay runs: the log keeps them until one does.
    await service.ingest([event(ident("email", "early@northwind.org"), event_id="early")])
    async with running(ChangeRelay(service, config).run):
        for n in range(30):
            await service.ingest([
                event(ident("customer_id", f"r{n}"), ident("anonymous_id", f"ra{n}")),
                event(ident("anonymous_id", f"ra{n}"), ident("email", f"r{n}@northwind.org")),
                event(ident("customer_id", f"r{n}"), ident("email", f"r{n}@northwind.org"),
                      ident("device_id", f"rd{n}")),
            ])
        logged = await change_log(service)
        records = await read_topic(kafka_bootstrap, config.changes_topic, at_least=len(logged))
    published = [json.loads(r.value) for r in records]
    assert sorted(p["position"] for p in published) == [p for p, _ in logged]
    assert {p["change_id"] for p in published} == {c for _, c in logged}
    for record, change in zip(records, published, strict=True):
        assert record.key == change["profile_id"].encode()
    by_partition: dict[int, list[str]] = {}
    for record, change in zip(records, published, strict=True):
        by_partition.setdefault(record.partition, []).append(change["position"])
    assert all(positions == sorted(positions) for positions in by_partition.values())
    through = await read_position(config)
    assert through is not None and through.position == logged[-1][0]
    assert through.change_id == logged[-1][1]


async def test_a_relay_that_dies_before_its_transaction_commits_is_followed_without_a_gap(
    kafka_bootstrap: str, service: IdentityService,
) -> None:
    """Killed between publishing and committing: its messages are never seen by a
    read_committed reader, and the next relay publishes them again, each once."""
    config = kafka_config(kafka_bootstrap)
    await ensure_topics(config)
    for n in range(10):
        await service.ingest([event(ident("email", f"die{n}@northwind.org"))])
    relay = ChangeRelay(service, config)
    sent = asyncio.Event()
    real_send = AIOKafkaProducer.send

    async def send_then_die(self: AIOKafkaProducer, topic: str, *args: Any, **kw: Any) -> Any:
        if topic == config.position_topic:  # every change sent; the commit never comes
            sent.set()
            await asyncio.Event().wait()
        return await real_send(self, topic, *args, **kw)

    AIOKafkaProducer.send = send_then_die
    try:
        relay.held = True
        relay.start_turn()
        await asyncio.wait_for(sent.wait(), 30)
        await relay.end_turn()  # the process dies here, its transaction open
    finally:
        AIOKafkaProducer.send = real_send
    assert await read_position(config) is None
    async with running(ChangeRelay(service, config).run):
        logged = await change_log(service)
        records = await read_topic(kafka_bootstrap, config.changes_topic, at_least=len(logged))
    assert sorted(json.loads(r.value)["position"] for r in records) == [p for p, _ in logged]


async def test_a_stewards_merge_and_split_go_out_on_the_changes_topic(
    kafka_bootstrap: str, service: IdentityService,
) -> None:
    config = kafka_config(kafka_bootstrap)
    await ensure_topics(config)
    first, second = await service.ingest([
        event(ident("email", "ines@northwind.org"), ident("anonymous_id", "ines-web")),
        event(ident("email", "ines.m@northwind.org"), ident("anonymous_id", "ines-app")),
    ])
    assert first.profile_id and second.profile_id
    async with running(ChangeRelay(service, config).run):
        merged = await service.merge([first.profile_id, second.profile_id], "steward@northwind.org",
                                     "one customer, two mailboxes")
        split = await service.split(
            merged.profile_ids[0],
            [[service.normalize("email", "ines@northwind.org"),
              service.normalize("anonymous_id", "ines-web")],
             [service.normalize("email", "ines.m@northwind.org"),
              service.normalize("anonymous_id", "ines-app")]],
            "steward@northwind.org", "two people after all")
        logged = await change_log(service)
        records = await read_topic(kafka_bootstrap, config.changes_topic, at_least=len(logged))
    published = {json.loads(r.value)["change_id"] for r in records}
    steward_changes = {c.change_id for c in (*merged.changes, *split.changes)}
    assert {c.kind.value for c in (*merged.changes, *split.changes)} >= {"merged", "split"}
    assert steward_changes <= published


async def test_a_relay_on_a_store_whose_log_is_not_the_published_one_publishes_it_again(
    kafka_bootstrap: str, service: IdentityService,
) -> None:
    """The position topic says position N was published, but this store's log (restored from
    an older backup, a new database) holds another change there, or none: skipping to N would
    leave its changes unpublished, so the relay publishes all it keeps."""
    config = kafka_config(kafka_bootstrap)
    await ensure_topics(config)
    for n in range(6):
        await service.ingest([event(ident("email", f"first{n}@northwind.org"))])
    async with running(ChangeRelay(service, config).run):
        before = await change_log(service)
        await read_topic(kafka_bootstrap, config.changes_topic, at_least=len(before))
    restored = SqliteGraphStore(":memory:")
    try:
        other = IdentityService(restored, sink=ListChangeSink())
        for n in range(3):  # fewer changes: the published position is ahead of this log
            await other.ingest([event(ident("email", f"other{n}@northwind.org"))])
        async with running(ChangeRelay(other, config).run):
            theirs = await change_log(other)
            records = await read_topic(kafka_bootstrap, config.changes_topic,
                                       at_least=len(before) + len(theirs))
    finally:
        await restored.close()
    published = [json.loads(r.value)["change_id"] for r in records]
    assert sorted(published) == sorted(c for _, c in before + theirs)


async def test_a_change_the_broker_refuses_never_moves_the_position_past_it(
    kafka_bootstrap: str, service: IdentityService,
) -> None:
    config = kafka_config(kafka_bootstrap)
    # A changes topic that takes no message as large as a change.
    await create_topic(kafka_bootstrap, config.changes_topic, 1, **{"max.message.bytes": "200"})
    await ensure_topics(config)
    for n in range(3):
        await service.ingest([event(ident("email", f"refused{n}@northwind.org"))])
    async with running(ChangeRelay(service, config).run):
        await asyncio.sleep(4)  # several attempts, each refused
    assert await read_position(config) is None
    assert await read_topic(kafka_bootstrap, config.changes_topic) == []


async def test_a_refused_event_too_large_to_quote_whole_still_reaches_the_dead_letters(
    kafka_bootstrap: str, service: IdentityService,
) -> None:
    """Escaped, 400,000 accented letters would be a letter over the broker's limit: the
    letter keeps the payload's head, its size and hash, and the partition goes on."""
    config = kafka_config(kafka_bootstrap)
    await create_topic(config.bootstrap, config.events_topic, 1)
    await ensure_topics(config)
    huge = json.dumps(event(ident("email", "huge@northwind.org"), event_id="huge",
                            traits={"first_name": "\u00e9" * 400_000}),
                      ensure_ascii=False).encode()
    assert MAX_LETTER_PAYLOAD_BYTES < len(huge) < 1_000_000
    after = _json(event(ident("email", "after-huge@northwind.org"), event_id="after-huge"))
    await produce(kafka_bootstrap, config.events_topic, [(b"h", huge), (b"a", after)])
    async with running(EventConsumer(service, config).run):
        await all_committed(config, {0: 2})
    (record,) = await read_topic(kafka_bootstrap, config.dead_letter_topic, at_least=1)
    letter = json.loads(record.value)
    assert letter["payload_bytes"] == len(huge)
    assert letter["payload_sha256"] == hashlib.sha256(huge).hexdigest()
    assert huge.decode().startswith(letter["payload"]) and "first_name" in letter["error"]
    assert (await service.profiles_by_identifier(
        [service.normalize("email", "after-huge@northwind.org")]))[0] is not None


async def test_a_position_topic_of_several_partitions_is_refused_naming_it(
    kafka_bootstrap: str,
) -> None:
    config = kafka_config(kafka_bootstrap)
    await create_topic(kafka_bootstrap, config.position_topic, 3)
    with pytest.raises(RuntimeError, match=f"{config.position_topic} has 3 partitions"):
        await ensure_topics(config)


async def test_segment_messages_on_the_topic_are_read_by_the_same_parser(
    kafka_bootstrap: str, service: IdentityService,
) -> None:
    """analytics.js-shaped messages: an identify and an Order Completed land on one profile;
    a group call goes to the dead letters, named by Segment's own field."""
    config = kafka_config(kafka_bootstrap)
    await create_topic(config.bootstrap, config.events_topic, 1)
    await ensure_topics(config)
    messages: list[dict[str, Any]] = [
        {"messageId": "seg-identify-1", "type": "identify", "userId": "u-7781",
         "anonymousId": "anon-5531", "timestamp": "2024-05-01T12:00:00Z",
         "context": {"library": {"name": "analytics.js", "version": "4.1.0"}},
         "traits": {"email": "lena.marsh@northwind.org", "firstName": "Lena",
                    "createdAt": "2024-04-30T08:00:00Z", "company": {"name": "Northwind"}}},
        {"messageId": "seg-order-1", "type": "track", "event": "Order Completed",
         "anonymousId": "anon-5531", "timestamp": "2024-05-01T12:05:00Z",
         "properties": {"order_id": "o-20931", "total": 59.9, "currency": "eur"}},
        {"messageId": "seg-group-1", "type": "group", "userId": "u-7781", "groupId": "g-1",
         "timestamp": "2024-05-01T12:06:00Z"},
    ]
    await produce(kafka_bootstrap, config.events_topic,
                  [(None, _json(message)) for message in messages])
    async with running(EventConsumer(service, config).run):
        await all_committed(config, {0: 3})
    (profile,) = await service.profiles_by_identifier([service.normalize("customer_id",
                                                                         "u-7781")])
    assert profile is not None
    kinds = {member.identifier.kind for member in profile.identifiers}
    assert {"customer_id", "anonymous_id", "email", "order_id"} <= kinds
    assert profile.golden["first_name"].value == "Lena"
    assert profile.orders.count == 1
    (letter,) = [json.loads(r.value) for r in
                 await read_topic(kafka_bootstrap, config.dead_letter_topic, at_least=1)]
    assert letter["errors"][0]["field"] == "type" and "seg-group-1" in letter["payload"]


async def test_a_key_too_large_for_its_dead_letter_does_not_hold_the_partition(
    kafka_bootstrap: str, service: IdentityService,
) -> None:
    """A message of a key just under the broker's limit and a value that is no event: its
    letter (the key, the reason, the payload) is over the limit, so it goes without key and
    payload, and the next message is read."""
    config = kafka_config(kafka_bootstrap)
    await create_topic(config.bootstrap, config.events_topic, 1)
    await ensure_topics(config)
    key = b"k" * 1_048_400  # with its record, a few bytes under the producer's 1 MiB
    after = _json(event(ident("email", "after-key@northwind.org"), event_id="after-key"))
    await produce(kafka_bootstrap, config.events_topic, [(key, b"not json"), (None, after)])
    async with running(EventConsumer(service, config).run):
        await all_committed(config, {0: 2})
    (record,) = await read_topic(kafka_bootstrap, config.dead_letter_topic, at_least=1)
    letter = json.loads(record.value)
    assert record.key is None and letter["payload"] == "" and letter["offset"] == 0
    assert letter["payload_bytes"] == len(b"not json") and "not JSON" in letter["error"]


@pytest.mark.parametrize("value", [
    b"not json", b'{"position": "x", "change_id": "c"}', b'{"position": 7}',
    b'{"position": "99999999999999999999999", "change_id": "c"}'])
async def test_a_position_record_that_is_not_the_relays_means_publish_the_whole_log(
    kafka_bootstrap: str, service: IdentityService, value: bytes,
) -> None:
    """Anyone may write to the position topic: what the relay cannot read as its own record
    is as if nothing was published (every change goes out; none is skipped)."""
    config = kafka_config(kafka_bootstrap)
    await ensure_topics(config)
    await service.ingest([event(ident("email", "pos@northwind.org"))])
    await produce(kafka_bootstrap, config.position_topic,
                  [(config.changes_topic.encode(), value)])
    assert await read_position(config) is None
    async with running(ChangeRelay(service, config).run):
        logged = await change_log(service)
        records = await read_topic(kafka_bootstrap, config.changes_topic, at_least=len(logged))
    assert sorted(json.loads(r.value)["change_id"] for r in records) == sorted(
        c for _, c in logged)
