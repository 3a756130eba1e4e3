"""Every Kafka client the service makes is stopped, even when its start is cut short: the broker
refuses, or the task is cancelled while the client is still starting (a relay's turn ended by a
rebalance or by shutdown). A client never stopped keeps its connections and warns when it is
collected (an error here: pytest runs with filterwarnings = error). No broker is needed: one
address refuses, another accepts and never answers (tests/silent_peer.py)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError

from identity.api.kafka.config import KafkaConfig
from identity.api.kafka.consumer import EventConsumer
from identity.api.kafka.relay import ChangeRelay, read_position
from load_tests.server import free_port
from tests.silent_peer import silent_peer

# The service is never reached: each client is stopped before its start returns.
NO_SERVICE: Any = None


@pytest.fixture
async def silent_broker() -> AsyncIterator[KafkaConfig]:
    async with silent_peer() as port:
        yield KafkaConfig(f"127.0.0.1:{port}")


async def cancelled_while_starting(work: Callable[[], Coroutine[Any, Any, object]]) -> None:
    task = asyncio.create_task(work())
    await asyncio.sleep(0.3)  # connected, waiting for the broker's first answer
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_worker_whose_broker_refuses_stops_both_its_clients() -> None:
    worker = EventConsumer(NO_SERVICE, KafkaConfig(f"127.0.0.1:{free_port()}"))
    with pytest.raises(KafkaConnectionError):
        await worker.run(asyncio.Event())
    gc.collect()


async def test_a_worker_cancelled_while_starting_stops_both_its_clients(
        silent_broker: KafkaConfig) -> None:
    await cancelled_while_starting(
        lambda: EventConsumer(NO_SERVICE, silent_broker).run(asyncio.Event()))
    gc.collect()


async def test_a_relay_turn_ended_while_its_producer_starts_stops_the_producer(
        silent_broker: KafkaConfig) -> None:
    relay = ChangeRelay(NO_SERVICE, silent_broker)
    relay.held = True
    relay.start_turn()
    await asyncio.sleep(0.3)
    await relay.end_turn()
    gc.collect()


async def test_reading_the_relay_position_cancelled_while_starting_stops_its_reader(
        silent_broker: KafkaConfig) -> None:
    await cancelled_while_starting(lambda: read_position(silent_broker))
    gc.collect()

