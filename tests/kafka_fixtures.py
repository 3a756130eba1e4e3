"""A real Kafka broker for the tests that need one, started once per session from
devservers/ (a new data directory each time), or the one IDENTITY_TEST_KAFKA names; topics
and a group of a test's own, and what the service committed and logged. Producing and
reading a topic: devservers/kafka_client.py."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from devservers.kafka import KafkaServer
from devservers.kafka_client import partitions_of
from identity.api.kafka.config import KafkaConfig
from identity.service import IdentityService
from tests.session_output import say


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
        say(pytestconfig, f"\nKafka devserver ready in {server.startup_seconds:.1f}s at "
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


async def committed(config: KafkaConfig) -> dict[int, int]:
    """The group's committed offset on each partition of the events topic."""
    reader = AIOKafkaConsumer(bootstrap_servers=config.bootstrap_servers, group_id=config.group,
                              enable_auto_commit=False)
    try:
        await reader.start()
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
