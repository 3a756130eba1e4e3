"""A Kafka part that fails starts again (and says so in /metrics); one that ends because it
was asked to stop is not started again."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

from identity.api.kafka import runner


async def test_a_failing_part_starts_again_until_asked_to_stop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runner, "PAUSES_S", (0.01,))
    stop = asyncio.Event()
    runs: list[str] = []
    third = asyncio.Event()

    async def part(stop: asyncio.Event) -> None:
        runs.append("run")
        assert REGISTRY.get_sample_value("identity_kafka_up", {"part": "test"}) == 1
        if len(runs) < 3:
            raise ConnectionError("the broker went away")
        third.set()
        await stop.wait()

    supervised = asyncio.create_task(runner._supervised("test", part, stop))
    await asyncio.wait_for(third.wait(), 5)
    stop.set()
    await asyncio.wait_for(supervised, 5)
    assert runs == ["run"] * 3
    assert REGISTRY.get_sample_value("identity_kafka_up", {"part": "test"}) == 0


async def test_a_broker_away_at_start_is_waited_for_or_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from aiokafka.errors import KafkaConnectionError

    from identity.api.kafka.config import KafkaConfig

    attempts: list[int] = []
    fourth = asyncio.Event()

    async def unreachable(config: KafkaConfig) -> list[str]:
        attempts.append(1)
        if len(attempts) == 4:
            fourth.set()
        raise KafkaConnectionError("no broker")

    monkeypatch.setattr(runner, "ensure_topics", unreachable)
    monkeypatch.setattr(runner, "PAUSES_S", (0.01,))
    config = KafkaConfig("127.0.0.1:1")
    with pytest.raises(KafkaConnectionError):
        await runner._topics_ready(config, asyncio.Event(), wait=False)
    stop = asyncio.Event()
    waiting = asyncio.create_task(runner._topics_ready(config, stop, wait=True))
    await asyncio.wait_for(fourth.wait(), 5)
    stop.set()
    await asyncio.wait_for(waiting, 5)  # returns once asked to stop
