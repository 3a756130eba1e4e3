"""Runs the consumer and the change relay beside the rest of a process, keeps them running
(a part that fails starts again, with a growing pause), and stops them in order: the batch
in hand commits, the transaction in flight ends, then the store may close."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable

from aiokafka.errors import KafkaError
from prometheus_client import Gauge

from identity.api.kafka.config import KafkaConfig
from identity.api.kafka.consumer import EventConsumer
from identity.api.kafka.lifecycle import pause
from identity.api.kafka.relay import ChangeRelay
from identity.api.kafka.topics import ensure_topics
from identity.service import IdentityService

log = logging.getLogger("identity.kafka")

UP = Gauge("identity_kafka_up",
           "1 while this process's Kafka part runs, 0 while it waits to start again", ["part"])
PAUSES_S = (1, 2, 5, 10, 30)

Part = Callable[[asyncio.Event], Awaitable[None]]


def client_id(role: str) -> str:
    """Names this process in the broker's logs and the group's member list."""
    return f"identity-{role}-{socket.gethostname()[:40]}-{os.getpid()}"


async def run_kafka(service: IdentityService, config: KafkaConfig, stop: asyncio.Event, *,
                    consume: bool = True, relay: bool = True,
                    wait_for_broker: bool = True) -> None:
    """Until `stop` is set. `wait_for_broker`: a broker that cannot be reached at start is
    waited for (`identity serve`: the APIs run meanwhile); else its KafkaError is raised
    (`identity consume`: the caller says so and exits)."""
    parts: list[tuple[str, Part]] = []
    if consume:
        parts.append(("consumer", EventConsumer(service, config,
                                                client_id=client_id("consumer")).run))
    if relay:
        parts.append(("relay", ChangeRelay(service, config, client_id=client_id("relay")).run))
    for name, _ in parts:
        UP.labels(name).set(0)
    await _topics_ready(config, stop, wait_for_broker)
    log.info("Kafka at %s: %s", config.bootstrap,
             " and ".join(part for part, on in (
                 (f"consuming {config.events_topic} as group {config.group}", consume),
                 (f"relaying changes to {config.changes_topic}", relay)) if on))
    await asyncio.gather(*(_supervised(name, part, stop) for name, part in parts))


async def _topics_ready(config: KafkaConfig, stop: asyncio.Event, wait: bool) -> None:
    attempt = 0
    while not stop.is_set():
        try:
            await ensure_topics(config)
            return
        except (KafkaError, OSError) as exc:
            if not wait:
                raise
            seconds = PAUSES_S[min(attempt, len(PAUSES_S) - 1)]
            log.error("Kafka at %s cannot be used (%s: %s); again in %ds", config.bootstrap,
                      type(exc).__name__, str(exc)[:200], seconds)
            attempt += 1
            await pause(stop, seconds)


async def _supervised(name: str, part: Part, stop: asyncio.Event) -> None:
    """Runs `part` until `stop`; one that fails (a bug, the broker lost for longer than the
    client waits) starts again, so Kafka never stays off until someone restarts the process."""
    attempt = 0
    while not stop.is_set():
        UP.labels(name).set(1)
        try:
            await part(stop)
            return
        except Exception as exc:
            seconds = PAUSES_S[min(attempt, len(PAUSES_S) - 1)]
            log.error("the Kafka %s stopped (%s: %s); again in %ds", name, type(exc).__name__,
                      str(exc)[:200], seconds)
            attempt += 1
            await pause(stop, seconds)
        finally:
            UP.labels(name).set(0)
