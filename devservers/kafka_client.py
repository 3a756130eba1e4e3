"""A Kafka client's everyday steps, for trying the service's Kafka side by hand (`python -m
devservers.kafka send | read`), for the tests and for the benchmark: one place for each."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing
from typing import TypeAlias

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

Record: TypeAlias = "ConsumerRecord[bytes, bytes]"


async def partitions_of(bootstrap: str, topic: str) -> list[int]:
    """The topic's partition numbers, none when it does not exist. From the admin API: a
    consumer's metadata holds only the topics it already knows."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        if topic not in await admin.list_topics():
            return []
        (described,) = await admin.describe_topics([topic])
        return sorted(p["partition"] for p in described["partitions"])
    finally:
        await admin.close()


async def create_topic(bootstrap: str, name: str, partitions: int, **configs: str) -> None:
    """Made with one replica, and returned once every partition has its leader: a produce
    at once is otherwise often refused (NotLeaderForPartition) and retried after a pause."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        await admin.create_topics([NewTopic(name, partitions, 1, topic_configs=configs)])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            (described,) = await admin.describe_topics([name])
            if len(described["partitions"]) == partitions and all(
                    p["leader"] >= 0 for p in described["partitions"]):
                return
            await asyncio.sleep(0.1)
    finally:
        await admin.close()


async def produce(bootstrap: str, topic: str,
                  messages: Sequence[tuple[bytes | None, bytes | None]],
                  partition: Callable[[int], int | None] = lambda index: None) -> None:
    """Each (key, value) in order, acknowledged by the broker (acks=all, idempotent: as a
    careful producer sends); `partition(index)` picks one, else the key does."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                enable_idempotence=True)
    try:
        await producer.start()
        sent = [await producer.send(topic, value, key=key, partition=partition(index))
                for index, (key, value) in enumerate(messages)]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def fetches(bootstrap: str, topic: str, *, follow: bool = False, wait_ms: int = 500
                  ) -> AsyncGenerator[list[Record], None]:
    """The topic's committed messages from the oldest (read_committed, as a consumer of the
    changes topic reads), a fetch at a time, all partitions; empty fetches too, so a reader
    that follows can stop between them. Without `follow`, ends once caught up. Raises
    LookupError when there is no such topic. A caller that leaves the loop early closes it
    (`contextlib.aclosing`): its consumer stops only then."""
    partitions = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
    if not partitions:
        raise LookupError(f"no topic {topic}")
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed",
                              enable_auto_commit=False)
    try:
        await reader.start()
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        while True:
            ends = await reader.end_offsets(partitions)
            fetched = [r for records in (await reader.getmany(timeout_ms=wait_ms)).values()
                       for r in records]
            yield fetched
            if not follow and not fetched and all(
                    [await reader.position(p) >= ends[p] for p in partitions]):
                return
    finally:
        await reader.stop()


async def read_topic(bootstrap: str, topic: str, *, at_least: int = 0,
                     timeout_s: float = 30.0) -> list[Record]:
    """Every committed message of the topic, read to its end, once there are `at_least`;
    TimeoutError when there are not that many within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        records = [r async for fetched in fetches(bootstrap, topic) for r in fetched]
        if len(records) >= at_least:
            return records
        if time.monotonic() > deadline:
            raise TimeoutError(f"{topic}: {len(records)} messages in {timeout_s:.0f}s, "
                               f"wanted {at_least}")
        await asyncio.sleep(0.2)


async def send_lines(args: argparse.Namespace) -> int:
    lines = [line.rstrip(b"\r\n") for line in sys.stdin.buffer if line.strip()]
    await produce(args.bootstrap, args.topic, [(None, line) for line in lines])
    print(f"{len(lines)} messages sent to {args.topic}", file=sys.stderr)
    return 0


async def print_topic(args: argparse.Namespace) -> int:
    try:
        async with aclosing(fetches(args.bootstrap, args.topic, follow=args.follow)) as batches:
            async for fetched in batches:  # left early by a print to a closed pipe
                for record in fetched:
                    key = record.key.decode(errors="replace") if record.key else ""
                    value = record.value.decode(errors="replace") if record.value else ""
                    print(f"{key}\t{value}", flush=True)
    except LookupError as error:
        print(error, file=sys.stderr)
        return 1
    return 0
