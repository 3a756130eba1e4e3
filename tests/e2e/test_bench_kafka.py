"""The Kafka benchmark (load_tests/bench_kafka.py) run tiny: a few hundred events, 1 and 2
`identity consume` workers on each store; its JSON has every figure, and the counts add up:
every event committed and ingested once, every logged change published once, the same graph
as one process builds."""

from __future__ import annotations

import asyncio
import gc
import json
import secrets

import pytest

from devservers.kafka_client import create_topic, produce
from load_tests.bench_kafka import follow_changes, main
from tests.neo4j_fixtures import Neo4jAccess

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.neo4j]


def test_the_benchmark_measures_each_store_and_worker_count_and_the_counts_add_up(
        kafka_bootstrap: str, neo4j_access: Neo4jAccess, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_NEO4J_USER", neo4j_access.user)
    monkeypatch.setenv("IDENTITY_NEO4J_PASSWORD", neo4j_access.password)
    assert main(["--events", "300", "--workers", "1,2", "--kafka-bootstrap", kafka_bootstrap,
                 "--neo4j-uri", neo4j_access.uri, "--timeout", "120"]) == 0
    report = json.loads(capsys.readouterr().out)

    events = report["dataset"]["events"]
    assert events >= 250
    for side in ("before_the_runs", "after_the_runs"):
        for step in ("produce", "consume"):
            figures = report["ceiling"][side][step]
            assert figures["events"] == events and figures["events_per_s"] > 0
    assert set(report["one_process"]) == {"sqlite", "neo4j"}
    reference = report["one_process"]["sqlite"]
    assert sum(reference["outcome"].values()) == events
    assert reference["outcome"]["accepted"] > 0 and reference["profiles"] > 0
    assert report["one_process"]["neo4j"]["outcome"] == reference["outcome"]
    assert report["one_process"]["neo4j"]["partition_equal_to_sqlite"]
    assert report["one_process"]["neo4j"]["warm_up_events_per_s"] > 0

    assert set(report["runs"]) == {"sqlite", "neo4j"}
    for runs in report["runs"].values():
        assert set(runs) == {"1", "2"}
        for run in runs.values():
            # Every message committed, each good event applied once (a batch read twice
            # after a rebalance comes back as duplicates), bad ones on the dead-letter topic.
            assert run["outcome"]["accepted"] == reference["outcome"]["accepted"]
            assert sum(run["outcome"].values()) >= events
            assert run["dead_letters"] >= reference["outcome"]["rejected"]
            timing = run["timing"]
            assert timing["wall_s"] > 0 and timing["events_per_s_wall"] > 0
            assert "events_per_s_second_half" in timing and "events_per_s" in run
            assert run["progress"][-1][1] == events  # [seconds, events committed]
            assert run["workers_detail"]["exit_codes"] == [0] * len(
                run["workers_detail"]["exit_codes"])
            changes = run["changes"]
            assert changes["logged"] > 0 and changes["all_published_once"]
            assert changes["published"] == changes["logged"] and changes["missing"] == 0
            latency = changes["latency_commit_to_topic"]
            assert latency["count"] == changes["logged"]
            assert 0 < latency["p50_ms"] <= latency["p99_ms"] <= latency["max_ms"]
            assert run["profiles"] == reference["profiles"]
            assert run["consistency"]["partition_equal_to_one_process"]
        assert runs["2"]["consistency"]["partition_equal_to_1_worker"]
    assert [(row["store"], row["workers"]) for row in report["summary"]] == [
        ("sqlite", 1), ("sqlite", 2), ("neo4j", 1), ("neo4j", 2)]


def test_a_changes_reader_told_to_stop_closes_its_connections(kafka_bootstrap: str) -> None:
    """It returns from inside its fetch loop: unless the fetching generator is closed there,
    its consumer is left to the event loop's shutdown, which cancels the consumer's stop
    half-way and leaves a socket to the garbage collector (a ResourceWarning, an error here)."""
    topic = f"bench-reader-{secrets.token_hex(4)}"
    asyncio.run(create_topic(kafka_bootstrap, topic, 2))
    asyncio.run(produce(kafka_bootstrap, topic, [(b"k", b"a change")]))
    received: list[tuple[float, bytes]] = []

    async def read_then_stop() -> None:
        stop = asyncio.Event()
        stop.set()
        await follow_changes(kafka_bootstrap, topic, received, stop)

    for _ in range(3):
        asyncio.run(read_then_stop())
        gc.collect()
    assert received  # it read before it stopped
