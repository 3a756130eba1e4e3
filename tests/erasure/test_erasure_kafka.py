"""Erasure with a real Kafka broker, on both stores: replaying the events topic from its
start (a new consumer group) does not rebuild an erased person, their refused events reach
the dead-letter topic without their payload, the household's other member is untouched, and
the relay publishes the `erased` change (docs/architecture.md, "Erasure and access")."""

from __future__ import annotations

import dataclasses
import json

import pytest

from devservers.kafka_client import create_topic, produce, read_topic
from identity.api.kafka.consumer import EventConsumer
from identity.api.kafka.relay import ChangeRelay
from identity.api.kafka.topics import ensure_topics
from identity.service import IdentityService
from identity.store.protocol import GraphStore
from tests.erasure.conftest import dump, holding
from tests.erasure.test_erasure_service import ANA_VALUES, ana_events, bo_as_seen, bo_events
from tests.integration.test_kafka_pipeline import all_committed, running
from tests.kafka_fixtures import kafka_config

pytestmark = pytest.mark.kafka


async def test_a_replay_from_kafka_does_not_bring_an_erased_person_back(
        kafka_bootstrap: str, service: IdentityService, store: GraphStore) -> None:
    config = kafka_config(kafka_bootstrap)
    await create_topic(config.bootstrap, config.events_topic, 1)
    await ensure_topics(config)
    events = [*bo_events(), *ana_events()]
    await produce(kafka_bootstrap, config.events_topic,
                  [(b"k", json.dumps(e).encode()) for e in events])
    async with running(EventConsumer(service, config).run):
        await all_committed(config, {0: len(events)})
    (ana,) = [p for p in await service.profile_ids(
        [service.normalize("email", "ana.lindqvist@northwind.org")]) if p]
    (bo,) = [p for p in await service.profile_ids(
        [service.normalize("email", "bo.okafor@northwind.org")]) if p]
    bo_before = await bo_as_seen(service, bo)

    erasure = await service.erase_profile(ana, "dpo@northwind.org", "request 4713")
    replay = dataclasses.replace(config, group=f"{config.group}.replay")
    async with running(EventConsumer(service, replay).run):
        await all_committed(replay, {0: len(events)})

    after = await dump(store)
    for value in ANA_VALUES:
        assert holding(after, value) == {}, value
    assert await service.profiles([ana]) == [None]
    assert await bo_as_seen(service, bo) == bo_before
    letters = [json.loads(r.value) for r in
               await read_topic(kafka_bootstrap, config.dead_letter_topic, at_least=2)]
    assert len(letters) == 2  # Ana's order and cookie events: nothing of hers left in them
    for letter in letters:
        assert "erased" in letter["error"] and letter["payload"] == ""
        assert not any(value in json.dumps(letter) for value in ANA_VALUES)

    async with running(ChangeRelay(service, config).run):
        published = [json.loads(r.value) for r in await read_topic(
            kafka_bootstrap, config.changes_topic, at_least=1)]
        while not any(p["kind"] == "erased" for p in published):
            published = [json.loads(r.value) for r in await read_topic(
                kafka_bootstrap, config.changes_topic, at_least=len(published) + 1)]
    (erased,) = [p for p in published if p["kind"] == "erased"]
    assert (erased["profile_id"], erased["cause_event_id"]) == (ana, erasure.action_id)
    assert not any(p.get("profile_id") == ana and p["kind"] != "erased" for p in published)
