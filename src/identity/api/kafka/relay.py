"""The change log to the changes topic: a transactional outbox (docs/architecture.md, "Kafka").

Every change is written to the store's change log in the transaction that made it, so the
log holds exactly the changes that committed. The relay reads the log from its position and
publishes each change keyed by profile id, in log order; in the same Kafka transaction it
writes the position it reached to a compacted topic. A relay that dies anywhere starts again
from the last position a committed transaction wrote: changes published in a transaction
that never committed are published again (a `read_committed` reader sees them once), and none
is skipped. One relay publishes at a time: the replicas that run one join a consumer group
on the position topic and the member that holds its one partition relays; the transactional
id fences a relay that lost its turn but does not know it yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Sequence
from contextlib import aclosing
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from prometheus_client import Counter, Histogram

from identity.api.kafka.config import KafkaConfig
from identity.api.kafka.lifecycle import stopped
from identity.api.kafka.messages import change_message
from identity.domain.errors import InvalidInput
from identity.service import IdentityService
from identity.service.change_feed import (
    PositionedChange,
    PositionPruned,
    format_position,
    parse_position,
)

log = logging.getLogger("identity.kafka")

PUBLISHED = Counter("identity_kafka_changes_published_total",
                    "Profile changes published to the changes topic")
LATENCY = Histogram("identity_kafka_change_latency_seconds",
                    "From a change's time (when the transaction that made it began) to its "
                    "publication on the changes topic; clocks of other hosts included",
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
POLL_INTERVAL_S = 0.05  # how soon another replica's commit is found in the log
RESTART_S = 1.0
LOG_CHECK_S = 10.0  # to find the last published change in the log again
POSITION_READ_S = 30.0  # reading the position topic to its end takes longer: the broker is ill


class ChangeRelay:
    """`run()` until `stop` is set: takes its turn as the relay when the group gives it."""

    def __init__(self, service: IdentityService, config: KafkaConfig, *,
                 client_id: str = "identity-relay",
                 poll_interval_s: float = POLL_INTERVAL_S) -> None:
        self._service = service
        self._config = config
        self._client_id = client_id
        self._poll_interval_s = poll_interval_s
        self._turn: asyncio.Task[None] | None = None
        self.held = False  # this replica holds the position topic's partition: its turn

    async def run(self, stop: asyncio.Event) -> None:
        member = AIOKafkaConsumer(
            **self._config.client_options(), group_id=self._config.relay_id,
            client_id=self._client_id, enable_auto_commit=False)
        try:
            await member.start()
            member.subscribe([self._config.position_topic], listener=_Turns(self))
            while not stop.is_set():
                await member.getmany(timeout_ms=200)  # stays a member; the data is unused
                if self._turn is not None and self._turn.done():
                    await self._after_failure(self._turn)
        finally:
            await self.end_turn()
            await stopped(member)

    async def _after_failure(self, turn: asyncio.Task[None]) -> None:
        """A relay that stopped on its own failed (the broker or the store away, or fenced
        by a newer relay): it starts again while this replica still holds the turn."""
        self._turn = None
        failure = None if turn.cancelled() else turn.exception()
        log.warning("the change relay stopped (%s: %s); %s", type(failure).__name__,
                    str(failure)[:200], "again in 1s" if self.held else "not its turn")
        if self.held:
            await asyncio.sleep(RESTART_S)
            if self.held:
                self.start_turn()

    def start_turn(self) -> None:
        if self._turn is None or self._turn.done():
            self._turn = asyncio.create_task(self._relay(), name="change-relay")

    async def end_turn(self) -> None:
        """Ends the relaying this replica does at once: a transaction in flight is aborted,
        and the next relay publishes its changes again from the last committed position."""
        turn, self._turn = self._turn, None
        if turn is not None and not turn.done():
            turn.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await turn

    async def _relay(self) -> None:
        producer = AIOKafkaProducer(
            **self._config.client_options(), client_id=self._client_id,
            transactional_id=self._config.relay_id, acks="all", enable_idempotence=True)
        try:
            await producer.start()  # fences the previous relay and aborts what it left open
            after = await self._checked(await read_position(self._config))
            log.info("relaying profile changes to %s after position %s",
                     self._config.changes_topic, after or "(the oldest kept)")
            while True:
                try:
                    async with aclosing(self._service.watch_change_pages(
                            after, poll_interval_s=self._poll_interval_s)) as pages:
                        async for batch in pages:  # a page of the log: one transaction
                            await self._publish(producer, batch)
                            after = batch[-1].position
                except PositionPruned:
                    log.error("the change log was pruned past the relay's position %s: the "
                              "changes between were never published; going on from the "
                              "oldest kept", after)
                    after = None
        finally:
            await stopped(producer)

    async def _checked(self, published: Published | None) -> str | None:
        """Where to go on from: after the last change published, when the store's log still
        holds that change under that position. When it does not (a store restored from an
        older backup, another database, the log pruned past it), the position means nothing
        here: everything the log keeps is published again, each change with its change_id
        (consumers deduplicate by it), rather than skipping what the log holds now."""
        if published is None:
            return None
        found: PositionedChange | None = None
        previous = format_position(max(int(published.position) - 1, 0))
        try:
            async with aclosing(self._service.watch_changes(previous, [])) as changes:
                async with asyncio.timeout(LOG_CHECK_S):
                    found = await anext(changes)
        except (TimeoutError, InvalidInput):  # ahead of the log, pruned, or not there
            found = None
        if found is not None and (found.position, found.change.change_id) == (
                published.position, published.change_id):
            return published.position
        log.error("the changes topic was published through position %s (change %s), which "
                  "this store's change log does not hold (restored from an older backup, or "
                  "another database?): publishing every change the log keeps again",
                  published.position, published.change_id[:200])
        return None

    async def _publish(self, producer: AIOKafkaProducer, batch: Sequence[PositionedChange]
                       ) -> None:
        last = batch[-1]
        async with producer.transaction():
            sent = [await producer.send(self._config.changes_topic, key=key, value=value)
                    for key, value in map(change_message, batch)]
            sent.append(await producer.send(
                self._config.position_topic, partition=0, key=self._config.changes_topic.encode(),
                value=Published(last.position, last.change.change_id).encoded()))
            # Each acknowledged before the commit: aiokafka commits a transaction whose sends
            # failed, and the position would then move past changes never published.
            await asyncio.gather(*sent)
        now = time.time()
        for positioned in batch:
            LATENCY.observe(max(now - positioned.change.at.timestamp(), 0.0))
        PUBLISHED.inc(len(batch))


class _Turns(ConsumerRebalanceListener):  # type: ignore[misc]
    """The replica that holds the position topic's partition relays; one that loses it
    stops before the next holder starts (the group waits for this callback)."""

    def __init__(self, relay: ChangeRelay) -> None:
        self._relay = relay

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        self._relay.held = False
        await self._relay.end_turn()

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        self._relay.held = bool(assigned)
        if assigned:
            self._relay.start_turn()


@dataclass(frozen=True, slots=True)
class Published:
    """What the last committed relay transaction published through: a position in the
    change log, and the change there, which says whether this store's log is that log."""

    position: str
    change_id: str

    def encoded(self) -> bytes:
        return json.dumps({"position": self.position, "change_id": self.change_id}).encode()

    @classmethod
    def decoded(cls, value: bytes) -> Published | None:
        """None for a record that is not ours (anyone may write to a topic): as if nothing
        was published, so the whole log is published again rather than any skipped."""
        try:
            found = json.loads(value)
            position = format_position(parse_position(found["position"]))
            return cls(position, str(found["change_id"]))
        except (ValueError, TypeError, KeyError):  # ValidationError is a ValueError
            return None


async def read_position(config: KafkaConfig) -> Published | None:
    """What the last committed relay transaction published through; None before the first."""
    reader = AIOKafkaConsumer(**config.client_options(),
                              client_id="identity-relay-position", enable_auto_commit=False,
                              isolation_level="read_committed")
    try:
        await reader.start()
        partition = TopicPartition(config.position_topic, 0)
        reader.assign([partition])
        await reader.seek_to_beginning(partition)
        end = (await reader.end_offsets([partition]))[partition]
        position: Published | None = None
        key = config.changes_topic.encode()
        deadline = time.monotonic() + POSITION_READ_S
        while await reader.position(partition) < end:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{config.position_topic} not read to its end in "
                                   f"{POSITION_READ_S:.0f}s")
            fetched = await reader.getmany(partition, timeout_ms=1_000)
            for record in fetched.get(partition, []):
                if record.key == key and record.value is not None:
                    position = Published.decoded(record.value)
        return position
    finally:
        await reader.stop()
