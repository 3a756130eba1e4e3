"""Runs the consumer and the change relay beside the rest of a process, and stops them in
order: the batch in hand commits, the transaction in flight ends, then the store may close."""

from __future__ import annotations

import asyncio
import logging
import os
import socket

from identity.api.kafka.config import KafkaConfig
from identity.api.kafka.consumer import EventConsumer
from identity.api.kafka.relay import ChangeRelay
from identity.api.kafka.topics import ensure_topics
from identity.service import IdentityService

log = logging.getLogger("identity.kafka")


def client_id(role: str) -> str:
    """Names this process in the broker's logs and the group's member list."""
    return f"identity-{role}-{socket.gethostname()[:40]}-{os.getpid()}"


async def run_kafka(service: IdentityService, config: KafkaConfig, stop: asyncio.Event, *,
                    consume: bool = True, relay: bool = True) -> None:
    """Until `stop` is set; raises what stopped a part early (the broker unreachable at
    start, a topic that cannot be created)."""
    await ensure_topics(config)
    async with asyncio.TaskGroup() as parts:
        if consume:
            parts.create_task(EventConsumer(service, config, client_id=client_id("consumer"))
                              .run(stop), name="kafka-consumer")
        if relay:
            parts.create_task(ChangeRelay(service, config, client_id=client_id("relay"))
                              .run(stop), name="kafka-relay")
        log.info("Kafka at %s: %s", config.bootstrap,
                 " and ".join(part for part, on in (
                     (f"consuming {config.events_topic} as group {config.group}", consume),
                     (f"relaying changes to {config.changes_topic}", relay)) if on))
