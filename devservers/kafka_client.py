"""`python -m devservers.kafka send | read`: put lines on a topic and print one back, for
trying the service's Kafka side by hand (the broker's own console tools need its scripts)."""

from __future__ import annotations

import argparse
import sys

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


async def send_lines(args: argparse.Namespace) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=args.bootstrap, acks="all",
                                enable_idempotence=True)
    await producer.start()
    sent = 0
    try:
        for line in sys.stdin.buffer:
            if line.strip():
                await producer.send(args.topic, line.rstrip(b"\r\n"))
                sent += 1
        await producer.flush()
    finally:
        await producer.stop()
    print(f"{sent} messages sent to {args.topic}", file=sys.stderr)
    return 0


async def print_topic(args: argparse.Namespace) -> int:
    reader = AIOKafkaConsumer(bootstrap_servers=args.bootstrap, enable_auto_commit=False,
                              isolation_level="read_committed")
    await reader.start()
    try:
        partitions = [TopicPartition(args.topic, p)
                      for p in await partitions_of(args.bootstrap, args.topic)]
        if not partitions:
            print(f"no topic {args.topic}", file=sys.stderr)
            return 1
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        while True:
            ends = await reader.end_offsets(partitions)
            batch = await reader.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    key = record.key.decode(errors="replace") if record.key else ""
                    value = record.value.decode(errors="replace") if record.value else ""
                    print(f"{key}\t{value}", flush=True)
            caught_up = all([await reader.position(p) >= ends[p] for p in partitions])
            if caught_up and not batch and not args.follow:
                return 0
    finally:
        await reader.stop()


async def partitions_of(bootstrap: str, topic: str) -> list[int]:
    """The topic's partition numbers, none when it does not exist. From the admin API: a
    consumer's metadata holds only the topics it already knows."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            return []
        (described,) = await admin.describe_topics([topic])
        return sorted(p["partition"] for p in described["partitions"])
    finally:
        await admin.close()
