"""The topics the service reads and writes, created when missing, so `identity serve
--kafka-bootstrap` works on a bare broker (one with automatic topic creation off, as a
production broker should be). A topic that exists is left as it is."""

from __future__ import annotations

import asyncio
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from identity.api.kafka.config import KafkaConfig

log = logging.getLogger("identity.kafka")

NEW_TOPIC_PARTITIONS = 6  # workers share the events topic by partitions: at most 6 busy
_BROKER_DEFAULT = -1  # replication factor: the broker's default.replication.factor


def _topic(name: str, partitions: int, **configs: str) -> NewTopic:
    # An empty assignment: aiokafka takes the broker's default replication factor (-1) only
    # beside one, and the broker places the replicas itself when it is empty.
    return NewTopic(name, partitions, _BROKER_DEFAULT, replica_assignments={},
                    topic_configs=configs)


def _wanted(config: KafkaConfig) -> list[NewTopic]:
    return [
        _topic(config.events_topic, NEW_TOPIC_PARTITIONS),
        _topic(config.dead_letter_topic, 1),
        _topic(config.changes_topic, NEW_TOPIC_PARTITIONS),
        # Only the relay's latest position matters: compaction keeps the log small forever.
        _topic(config.position_topic, 1, **{"cleanup.policy": "compact"}),
    ]


async def ensure_topics(config: KafkaConfig) -> list[str]:
    """Creates the missing topics; returns their names."""
    admin = AIOKafkaAdminClient(**config.client_options(),
                                client_id="identity-admin")
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        missing = [topic for topic in _wanted(config) if topic.name not in existing]
        if missing:
            response = await admin.create_topics(missing)
            for name, code, *_ in response.topic_errors:
                if code and code != TopicAlreadyExistsError.errno:  # another replica won
                    raise RuntimeError(f"Kafka topic {name} could not be created "
                                       f"(error code {code})")
            log.info("Kafka topics created: %s", ", ".join(t.name for t in missing))
        if config.position_topic in existing:  # one made here has one partition
            await _check_position_topic(admin, config)
        return [topic.name for topic in missing]
    finally:
        await admin.close()


async def _check_position_topic(admin: AIOKafkaAdminClient, config: KafkaConfig) -> None:
    """The relay's turn is the topic's one partition, and its position is read from it."""
    for _ in range(50):  # a topic just made may show no partitions for a moment
        (position,) = await admin.describe_topics([config.position_topic])
        if position["partitions"]:
            break
        await asyncio.sleep(0.1)
    if len(position["partitions"]) != 1:
        raise RuntimeError(f"Kafka topic {config.position_topic} has "
                           f"{len(position['partitions'])} partitions; the relay needs "
                           "exactly one (and cleanup.policy=compact): recreate it")
