"""A real Kafka broker for the tests that need one, started once per session from
devservers/ (a new data directory each time), or the one IDENTITY_TEST_KAFKA names; and
what those tests do with it (topics of their own, produce, read a topic to its end)."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from devservers.kafka import KafkaServer
from devservers.kafka_client import partitions_of
from identity.api.kafka.config import KafkaConfig
from identity.service import IdentityService


@dataclass(frozen=True)
class SaslAccess:
    bootstrap: str
    user: str
    password: str


@pytest.fixture(scope="session")
def kafka_devserver(tmp_path_factory: pytest.TempPathFactory,
                    pytestconfig: pytest.Config) -> Iterator[KafkaServer | None]:
    """The session's broker; None when IDENTITY_TEST_KAFKA names one run elsewhere."""
    if os.environ.get("IDENTITY_TEST_KAFKA"):
        yield None
        return
    from devservers.kafka import running_kafka

    with running_kafka(tmp_path_factory.mktemp("kafka")) as server:
        capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
        if capture is not None:  # shown even though output is captured: CI logs keep it
            with capture.global_and_fixture_disabled():
                print(f"\nKafka devserver ready in {server.startup_seconds:.1f}s at "
                      f"{server.bootstrap}")
        yield server


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_devserver: KafkaServer | None) -> str:
    if kafka_devserver is None:
        return os.environ["IDENTITY_TEST_KAFKA"]
    return kafka_devserver.bootstrap


@pytest.fixture(scope="session")
def kafka_sasl(kafka_devserver: KafkaServer | None) -> SaslAccess:
    """The devserver's listener that asks for a password (SASL PLAIN)."""
    if kafka_devserver is None:
        pytest.skip("IDENTITY_TEST_KAFKA names a broker without the devserver's SASL listener")
    return SaslAccess(kafka_devserver.sasl_bootstrap, kafka_devserver.sasl_user,
                      kafka_devserver.sasl_password)


def kafka_config(bootstrap: str, **overrides: object) -> KafkaConfig:
    """Topics and group of this test's own, so tests never read each other's messages."""
    name = f"t{secrets.token_hex(4)}"
    values: dict[str, object] = {
        "events_topic": f"{name}.events", "dead_letter_topic": f"{name}.dead-letter",
        "changes_topic": f"{name}.changes", "group": f"{name}.group", **overrides}
    return KafkaConfig(bootstrap, **values)  # type: ignore[arg-type]


async def create_events_topic(config: KafkaConfig, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=config.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(config.events_topic, partitions, 1)])
    finally:
        await admin.close()


async def produce(bootstrap: str, topic: str,
                  messages: Sequence[tuple[bytes | None, bytes | None]],
                  partition: Callable[[int], int | None] = lambda index: None) -> None:
    """Each (key, value) in order, acknowledged by the broker; `partition(index)` picks one."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                enable_idempotence=True)
    await producer.start()
    try:
        sent = [await producer.send(topic, value, key=key, partition=partition(index))
                for index, (key, value) in enumerate(messages)]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def read_topic(bootstrap: str, topic: str, *, at_least: int = 0,
                     timeout_s: float = 30.0) -> list[ConsumerRecord[bytes, bytes]]:
    """Every committed message of the topic, all partitions, read to their ends (and until
    there are `at_least`)."""
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed",
                              enable_auto_commit=False)
    await reader.start()
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        partitions = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
        assert partitions, f"no topic {topic}"
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        records: list[ConsumerRecord[bytes, bytes]] = []
        while True:
            ends = await reader.end_offsets(partitions)
            if (len(records) >= at_least and
                    all([await reader.position(p) >= ends[p] for p in partitions])):
                return records
            assert asyncio.get_running_loop().time() < deadline, (
                f"{topic}: {len(records)} messages in {timeout_s}s, wanted {at_least}")
            for batch in (await reader.getmany(timeout_ms=500)).values():
                records += batch
    finally:
        await reader.stop()


async def committed(config: KafkaConfig) -> dict[int, int]:
    """The group's committed offset on each partition of the events topic."""
    reader = AIOKafkaConsumer(bootstrap_servers=config.bootstrap_servers, group_id=config.group,
                              enable_auto_commit=False)
    await reader.start()
    try:
        partitions = await partitions_of(config.bootstrap, config.events_topic)
        return {p: (await reader.committed(TopicPartition(config.events_topic, p))) or 0
                for p in partitions}
    finally:
        await reader.stop()


async def change_log(service: IdentityService, quiet_s: float = 0.5) -> list[tuple[str, str]]:
    """(position, change id) of every change the store's log holds: read until none comes
    for `quiet_s`."""
    out: list[tuple[str, str]] = []
    feed = service.watch_changes(None, [])
    try:
        while True:
            async with asyncio.timeout(quiet_s):
                change = await anext(feed)
            out.append((change.position, change.change.change_id))
    except TimeoutError:
        return out
    finally:
        await feed.aclose()
