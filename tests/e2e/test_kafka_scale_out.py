"""Scale-out (docs/architecture.md, "Kafka"): three `identity consume` workers, separate
processes on one Neo4j, share a topic's partitions; the same people's events are spread over
every partition; one worker is killed with SIGKILL midway, and so is the `identity serve`
that relays the changes. The graph they build equals the one a single process builds from
the same events, no event is lost or applied twice, every bad event is on the dead-letter
topic, and every change in the log is on the changes topic once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from devservers.kafka_client import create_topic, produce, read_topic
from identity.app import build_service
from identity.config import Settings
from identity.domain.types import Identifier
from identity.service import IdentityService
from identity.synthetic import GeneratorConfig, generate
from load_tests.server import free_port, identity_server
from tests.invariants import partition_checked
from tests.kafka_fixtures import change_log, committed, kafka_config
from tests.neo4j_fixtures import Neo4jAccess, connect, wiped

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.neo4j]

PARTITIONS = 4


@contextmanager
def worker(args: list[str], env: dict[str, str], log: Path
           ) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """An `identity consume` process and its /metrics address, once that answers."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "identity.cli", "consume", "--metrics-port", str(port),
             "--log-level", "info", *args],
            env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1)
                    break
                except httpx.TransportError:
                    assert process.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, "the worker never served /metrics"
                    time.sleep(0.1)
            yield process, f"http://127.0.0.1:{port}/metrics"
        finally:
            if process.poll() is None:
                process.terminate()
            process.wait(timeout=60)


def wait_for(check: object, what: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"not within {timeout_s}s: {what}"
        time.sleep(0.2)


def test_workers_on_one_neo4j_build_the_graph_one_process_builds(
    kafka_bootstrap: str, neo4j_access: Neo4jAccess, tmp_path: Path,
) -> None:
    wiped(neo4j_access)
    dataset = generate(GeneratorConfig(people=120, seed=16))
    events = dataset.events
    bad = [{"event_id": f"bad-{n}", "type": "identify"} for n in range(5)]
    config = kafka_config(kafka_bootstrap, batch=50)
    asyncio.run(create_topic(config.bootstrap, config.events_topic, PARTITIONS))
    # Spread by position, not by person: one person's events land on every partition, and
    # every tenth event is sent twice (a producer's retry).
    payloads = [json.dumps(e).encode() for e in events]
    payloads += [payloads[n] for n in range(0, len(payloads), 10)]
    payloads += [json.dumps(b).encode() for b in bad]
    first_half, second_half = payloads[: len(payloads) // 2], payloads[len(payloads) // 2:]

    store_args = ["--store", "neo4j", "--neo4j-uri", neo4j_access.uri,
                  "--neo4j-user", neo4j_access.user]
    kafka_args = ["--kafka-bootstrap", kafka_bootstrap, "--events-topic", config.events_topic,
                  "--group", config.group, "--dead-letter-topic", config.dead_letter_topic,
                  "--changes-topic", config.changes_topic]
    # The relay runs in `identity serve`, which leaves the events to the workers.
    relay_args = [*store_args, *kafka_args, "--no-consume"]
    env = {"IDENTITY_NEO4J_PASSWORD": neo4j_access.password}
    total = len(payloads)

    def done() -> int:
        return sum(asyncio.run(committed(config)).values())

    with ExitStack() as stack:
        relay = stack.enter_context(identity_server(relay_args, env, log=tmp_path / "r1.log"))
        started = [stack.enter_context(worker([*store_args, *kafka_args], env,
                                              tmp_path / f"w{n}.log")) for n in range(3)]
        workers = [process for process, _ in started]
        asyncio.run(produce(kafka_bootstrap, config.events_topic,
                            [(None, p) for p in first_half],
                            partition=lambda index: index % PARTITIONS))
        wait_for(lambda: done() >= len(first_half) // 3, "a third of the first half")
        workers[0].send_signal(signal.SIGKILL)  # mid-batch, most likely: nothing to commit
        relay.process.send_signal(signal.SIGKILL)  # between a commit and its publication
        asyncio.run(produce(kafka_bootstrap, config.events_topic,
                            [(None, p) for p in second_half],
                            partition=lambda index: (index + 1) % PARTITIONS))
        stack.enter_context(identity_server(relay_args, env, log=tmp_path / "r2.log"))
        wait_for(lambda: done() == total, "every message committed", timeout_s=240)
        assert workers[0].wait() == -signal.SIGKILL
        assert all(w.poll() is None for w in workers[1:]), "a worker died on its own"
        metrics = "".join(httpx.get(url, timeout=5).text for _, url in started[1:])
        assert 'identity_kafka_events_total{outcome="accepted"}' in metrics
        assert "identity_kafka_consumer_lag{partition=" in metrics
        assert 'identity_kafka_dead_letters_total{reason="rejected"}' in metrics
        changes_logged = asyncio.run(_change_log(neo4j_access))
        published = asyncio.run(read_topic(kafka_bootstrap, config.changes_topic,
                                           at_least=len(changes_logged), timeout_s=120))
    for w in workers[1:]:
        assert w.returncode == 0, "a worker did not stop cleanly on SIGTERM"

    identifiers = sorted({Identifier(r.kind, r.value) for r in dataset.truth})
    by_workers = asyncio.run(_partition_on_neo4j(neo4j_access, identifiers))
    by_one_process = asyncio.run(_partition_by_one_process(events, identifiers,
                                                           tmp_path / "one.db"))
    assert by_workers == by_one_process

    good_ids = {str(e["event_id"]) for e in events} - set(dataset.invalid_event_ids)
    assert asyncio.run(_stored_event_ids(neo4j_access, good_ids)) == good_ids  # none lost

    # Each change once in the log (an event applied twice would log its changes twice),
    # and each once on the topic, for a read_committed reader, in log order per profile.
    change_ids = [change_id for _, change_id in changes_logged]
    assert len(change_ids) == len(set(change_ids))
    on_topic = [json.loads(r.value) for r in published]
    assert sorted(c["change_id"] for c in on_topic) == sorted(change_ids)
    per_partition: dict[int, list[str]] = {}
    for record, change in zip(published, on_topic, strict=True):
        assert record.key == change["profile_id"].encode()
        per_partition.setdefault(record.partition, []).append(change["position"])
    assert all(p == sorted(p) for p in per_partition.values())

    letters = asyncio.run(read_topic(kafka_bootstrap, config.dead_letter_topic))
    refused = {json.loads(json.loads(r.value)["payload"])["event_id"] for r in letters}
    assert refused == {b["event_id"] for b in bad} | set(dataset.invalid_event_ids)


async def _partition_on_neo4j(access: Neo4jAccess, identifiers: list[Identifier]
                              ) -> frozenset[frozenset[Identifier]]:
    store = await connect(access)
    try:
        return await partition_checked(store, identifiers)
    finally:
        await store.close()


async def _partition_by_one_process(events: list[dict[str, object]],
                                    identifiers: list[Identifier], database: Path
                                    ) -> frozenset[frozenset[Identifier]]:
    """What `identity ingest` would build: the service as the workers compose it (settings
    from the same environment: matching, model, rules), on SQLite, in delivery order."""
    service = await build_service(Settings.from_env().with_overrides(
        store="sqlite", database=str(database)))
    try:
        for start in range(0, len(events), 500):
            await service.ingest(events[start:start + 500])
        return await partition_checked(service.store, identifiers)
    finally:
        await service.store.close()


async def _stored_event_ids(access: Neo4jAccess, wanted: set[str]) -> set[str]:
    store = await connect(access)
    try:
        async with store.transaction(read_only=True) as tx:
            return {str(e) for e in await tx.events.seen_event_ids(sorted(wanted))}
    finally:
        await store.close()


async def _change_log(access: Neo4jAccess) -> list[tuple[str, str]]:
    store = await connect(access)
    try:
        return await change_log(IdentityService(store), quiet_s=2)
    finally:
        await store.close()
