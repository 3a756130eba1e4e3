"""The events topic into ingest, at least once (docs/architecture.md, "Kafka").

A batch is what one fetch returns, across the partitions this worker holds. It is ingested
as one call; its refused messages go to the dead-letter topic (and are acknowledged there);
only then are its offsets committed. A worker that dies before the commit leaves the batch
to the partition's next owner, which ingests it again: every event it had applied is a
duplicate by `event_id` and changes nothing. A rebalance waits for the batch in hand, which
commits before its partitions are given away, so none is half-applied or skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.errors import CommitFailedError, KafkaError, MessageSizeTooLargeError
from prometheus_client import Counter, Gauge, Histogram

from identity.api.kafka.config import KafkaConfig
from identity.api.kafka.lifecycle import pause, stopped
from identity.api.kafka.messages import Undecodable, dead_letter, decode_event
from identity.domain.errors import FieldError
from identity.service import (
    IdentityService,
    IngestResult,
    IngestStatus,
    StoreConflict,
    StoreUnavailable,
)
from identity.service.erasure import ERASED_REASON

log = logging.getLogger("identity.kafka")

MESSAGES = Counter("identity_kafka_events_total",
                   "Messages consumed from the events topic, by outcome", ["outcome"])
DEAD_LETTERS = Counter("identity_kafka_dead_letters_total",
                       "Messages sent to the dead-letter topic, by why", ["reason"])
LAG = Gauge("identity_kafka_consumer_lag",
            "Messages on a partition this worker holds not yet committed", ["partition"])
BATCH_SECONDS = Histogram("identity_kafka_batch_seconds",
                          "From a batch's fetch to its committed offsets")
FETCH_WAIT_MS = 500  # how long a fetch waits for messages; also how soon a stop is seen
RETRY_S = (0.2, 0.5, 1.0, 2.0, 5.0)  # while the store cannot take a batch
REBALANCE_WAIT_MS = 120_000
SEND_TIMEOUT_S = 30.0  # dead letters or offsets not acknowledged by then: the broker is away
_INTERNAL = "the service failed on this event; it was set aside so its partition goes on"


@dataclass(frozen=True, slots=True)
class _Message:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    event: object  # what decode_event made of the value


class _WaitForBatch(ConsumerRebalanceListener):  # type: ignore[misc]
    """Called by the group coordinator before a rebalance: the batch in hand finishes and
    commits first, so the partitions' next owners start after it."""

    def __init__(self, consumer: EventConsumer) -> None:
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        async with self._consumer.batch_lock:  # the batch in hand commits first
            self._consumer.revocations += bool(revoked)
            for partition in revoked:
                with contextlib.suppress(KeyError):  # never fetched from: no figure yet
                    LAG.remove(str(partition.partition))

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        log.info("events partitions held: %s", sorted(p.partition for p in assigned))


def _read_again(consumer: AIOKafkaConsumer,
                fetched: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> None:
    """The next fetch starts at this batch again, on the partitions this worker still
    holds (the others' new owners start at the committed offsets anyway)."""
    held = consumer.assignment()
    for partition, records in fetched.items():
        if partition in held:
            consumer.seek(partition, records[0].offset)


class EventConsumer:
    """One worker of the consumer group: `run()` until `stop` is set."""

    def __init__(self, service: IdentityService, config: KafkaConfig, *,
                 client_id: str = "identity-consumer") -> None:
        self._service = service
        self._config = config
        self._client_id = client_id
        self.batch_lock = asyncio.Lock()  # held while a batch is applied and committed
        self.revocations = 0  # rebalances that took partitions back, so far

    async def run(self, stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(
            **self._config.client_options(), group_id=self._config.group,
            client_id=self._client_id, enable_auto_commit=False,
            auto_offset_reset="earliest", isolation_level="read_committed",
            max_poll_records=self._config.batch,
            # How long the group waits for this worker's batch in hand before it moves on
            # without it (its partitions then read again by their next owner: duplicates).
            rebalance_timeout_ms=REBALANCE_WAIT_MS)
        producer = AIOKafkaProducer(
            **self._config.client_options(), client_id=self._client_id,
            acks="all", enable_idempotence=True)
        # Each client stopped whatever happens, even to a start cut short (the broker away,
        # or cancelled): a client left unstopped keeps its connections.
        try:
            await producer.start()
            await consumer.start()
            consumer.subscribe([self._config.events_topic], listener=_WaitForBatch(self))
            while not stop.is_set():
                await self._next_batch(consumer, producer, stop)
        finally:
            try:
                await stopped(consumer)  # leaves the group: the others take over at once
            finally:
                await stopped(producer)

    async def _next_batch(self, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer,
                          stop: asyncio.Event) -> None:
        revocations = self.revocations
        fetched = await consumer.getmany(timeout_ms=FETCH_WAIT_MS,
                                         max_records=self._config.batch)
        if not fetched:
            return
        async with self.batch_lock:
            if self.revocations != revocations:
                # Fetched before a rebalance took partitions away: their new owners start
                # from the committed offsets, and this worker reads the ones it kept again.
                _read_again(consumer, fetched)
                return
            try:
                await self._apply(consumer, producer, fetched, stop)
            except (KafkaError, TimeoutError) as exc:
                # The broker away while dead letters or offsets were sent: the batch is in
                # the store, so reading it again costs duplicates, never an event.
                log.warning("a batch's dead letters or offsets did not reach Kafka (%s); "
                            "reading it again in %.0fs", type(exc).__name__, RETRY_S[-1])
                _read_again(consumer, fetched)
                await pause(stop, RETRY_S[-1])

    async def _apply(self, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer,
                     fetched: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]],
                     stop: asyncio.Event) -> None:
        started = time.perf_counter()
        messages = [_Message(record.partition, record.offset, record.key, record.value,
                             decode_event(record.value))
                    for records in fetched.values() for record in records]
        refused = await self._ingest(messages, stop)
        if refused is None:  # stopping while the store was down: the next owner takes it
            return
        await self._dead_letters(producer, refused)
        offsets = {partition: records[-1].offset + 1 for partition, records in fetched.items()}
        try:
            async with asyncio.timeout(SEND_TIMEOUT_S):
                await consumer.commit(offsets)
        except CommitFailedError as exc:  # no longer the owner: the next one ingests again
            log.warning("batch applied but its offsets not committed (%s): its events will "
                        "be read again and absorbed as duplicates", type(exc).__name__)
        for partition, offset in offsets.items():
            if (highwater := consumer.highwater(partition)) is not None:
                LAG.labels(str(partition.partition)).set(max(highwater - offset, 0))
        BATCH_SECONDS.observe(time.perf_counter() - started)

    async def _ingest(self, messages: list[_Message], stop: asyncio.Event
                      ) -> list[tuple[_Message, Sequence[FieldError], str]] | None:
        """Every message's outcome, durable, and the refused ones with their errors; None
        when stopped before the store took the batch."""
        events = [m for m in messages if not isinstance(m.event, Undecodable)]
        refused: list[tuple[_Message, Sequence[FieldError], str]] = [
            (m, [FieldError("message", m.event.reason)], "undecodable")
            for m in messages if isinstance(m.event, Undecodable)]
        MESSAGES.labels(outcome="undecodable").inc(len(refused))
        results = await self._ingest_with_retry([m.event for m in events], stop)
        if results is None:
            return None
        for message, result in zip(events, results, strict=True):
            if isinstance(result, str):
                refused.append((message, [FieldError("event", result)], "failed"))
                MESSAGES.labels(outcome="failed").inc()
                continue
            MESSAGES.labels(outcome=result.status.value).inc()
            if result.status is IngestStatus.REJECTED:
                refused.append((message, result.errors, "rejected"))
        return refused

    async def _ingest_with_retry(self, events: list[object], stop: asyncio.Event
                                 ) -> list[IngestResult | str] | None:
        """The store down is waited out (retrying the batch: what committed is absorbed);
        an unexpected failure is narrowed to its event by ingesting one at a time, so one
        event the service cannot take never holds its partition."""
        attempt = 0
        while True:
            seconds = RETRY_S[min(attempt, len(RETRY_S) - 1)]
            try:
                return list(await self._service.ingest(events)) if events else []
            except (StoreUnavailable, StoreConflict) as exc:
                log.warning("store cannot take a batch of %d events (%s); again in %.1fs",
                            len(events), type(exc).__name__, seconds)
            except Exception:
                log.exception("a batch of %d events failed; ingesting them one by one",
                              len(events))
                try:
                    return [await self._ingest_one(event) for event in events]
                except (StoreUnavailable, StoreConflict) as exc:  # the whole batch again
                    log.warning("store cannot take an event (%s); again in %.1fs",
                                type(exc).__name__, seconds)
            attempt += 1
            await pause(stop, seconds)
            if stop.is_set():
                return None

    async def _ingest_one(self, event: object) -> IngestResult | str:
        try:
            return (await self._service.ingest([event]))[0]
        except (StoreUnavailable, StoreConflict):
            raise
        except Exception:
            log.exception("an event failed; it goes to the dead-letter topic")
            return _INTERNAL

    async def _dead_letters(self, producer: AIOKafkaProducer,
                            refused: list[tuple[_Message, Sequence[FieldError], str]]) -> None:
        """Each refused message on the dead-letter topic, acknowledged by the broker before
        the batch's offsets move past it. A letter the broker refuses as too large goes
        again without its payload and key (its size, hash, partition and offset say which
        it was), so no message can hold its partition."""
        async def send(message: _Message, errors: Sequence[FieldError]) -> None:
            letter = partial(dead_letter, message.value, errors,
                             topic=self._config.events_topic, partition=message.partition,
                             offset=message.offset)
            if any(error.reason.startswith(ERASED_REASON) for error in errors):
                # An erased person's event: no copy of it anywhere, not even here
                # (docs/architecture.md, "Erasure and access").
                await producer.send_and_wait(self._config.dead_letter_topic,
                                             letter(keep_payload=False))
                return
            try:
                await producer.send_and_wait(self._config.dead_letter_topic, letter(),
                                             key=message.key)
            except MessageSizeTooLargeError:  # a huge payload or key: the letter without
                await producer.send_and_wait(self._config.dead_letter_topic,
                                             letter(keep_payload=False))

        async with asyncio.timeout(SEND_TIMEOUT_S):  # the broker away: read the batch again
            await asyncio.gather(*(send(message, errors) for message, errors, _ in refused))
        for _, _, reason in refused:
            DEAD_LETTERS.labels(reason=reason).inc()
