"""Kafka benchmark: events/s from a topic to resolved profiles with 1, 2 and 3 `identity consume`
workers on each store, beside the broker's own produce and consume rate measured in the same
run, and the latency of profile changes from their commit to the changes topic.

The events are generated journeys (identity.synthetic, as bench_ingest), JSON-encoded once
and keyed by event id, so one person's events (and the conflicting ones among them) spread
over the topic's partitions. The ceiling is the broker with no service: the same messages
produced to a scratch topic (acks=all, idempotent, as the tests' producer) and read back by a
bare consumer group that commits after every batch, as a worker does, but ingests nothing.

Each run (a store and a worker count) gets a fresh store (a new SQLite file; Neo4j wiped), a
fresh events topic of --partitions partitions filled before any worker starts, its own group,
dead-letter and changes topics, and one `identity serve` whose change relay publishes the
store's change log to that changes topic (its own consumer reads a topic nobody writes, so
only the workers ingest). Then N worker processes start at once, and the run ends when the
group's committed offsets reach the topic's end. events/s is measured while the whole group
is at work: from the moment the group is stable with N members to the last commit (startup,
from spawning the processes to their first commit, and the rate over the whole wall time are
reported beside it). A reader in this process follows the changes topic (read_committed)
meanwhile: a change's latency is when it arrived minus its `at` (the clock reading taken as
the transaction that committed it began). Afterwards every change in the store's log must have
arrived, and the store's partition of the generated identifiers into profiles is compared with
the one a single process builds from the same events in file order with no Kafka (in this
process, through the service as the workers build it, on SQLite; it is timed on each store
too) and with the 1-worker run's.

Prints JSON (also written to --out, with a markdown table beside it, .md); progress on stderr.

    python -m load_tests.bench_kafka [--events 20000] [--workers 1,2,3] [--stores sqlite,neo4j]
        [--kafka-bootstrap HOST:PORT] [--neo4j-uri URI] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, aclosing, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiokafka
import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families

from devservers.kafka_client import create_topic, fetches, produce
from identity.api.kafka.config import KafkaConfig
from identity.api.kafka.topics import ensure_topics
from identity.app import build_service
from identity.config import Settings
from identity.domain.types import Identifier
from identity.service import IdentityService
from identity.service.change_feed import format_position
from identity.store import StoreConfig, open_store
from identity.synthetic import Dataset, GeneratorConfig, generate, people_for_events
from load_tests.bench_ingest import store_flags, wipe
from load_tests.server import free_port, identity_server
from load_tests.tools import publish

Message = tuple[bytes, bytes]
POLL_S = 0.2  # how often the group's committed offsets and state are read
RELAY_READY = "relaying profile changes to"  # the relay's log line once it holds its turn
WORKER_READY = "Kafka at "  # a worker's log line once it handles SIGTERM and has its topics
OUTCOMES = ("accepted", "duplicate", "rejected", "undecodable", "failed")
# A steady rate needs the whole group at work on a good share of the events.
MIN_STEADY_SHARE = 0.25


@dataclass(frozen=True)
class Store:
    """How this process opens a store and how the service's processes are pointed at it."""

    name: str
    neo4j_uri: str | None = None
    neo4j_user: str = "neo4j"
    neo4j_password: str = field(default="", repr=False)

    def config(self, sqlite_file: Path) -> StoreConfig:
        if self.name == "sqlite":
            return StoreConfig("sqlite", sqlite_path=str(sqlite_file))
        assert self.neo4j_uri is not None
        return StoreConfig("neo4j", neo4j_uri=self.neo4j_uri, neo4j_user=self.neo4j_user,
                           neo4j_password=self.neo4j_password)

    def args(self, sqlite_file: Path) -> list[str]:
        if self.name == "sqlite":
            return ["--database", str(sqlite_file)]
        assert self.neo4j_uri is not None
        return ["--store", "neo4j", "--neo4j-uri", self.neo4j_uri,
                "--neo4j-user", self.neo4j_user]

    def env(self) -> dict[str, str]:
        """Secrets go in the environment, never in the arguments."""
        return {"IDENTITY_NEO4J_PASSWORD": self.neo4j_password} if self.name == "neo4j" else {}


@dataclass(frozen=True)
class Bench:
    """What every run shares."""

    bootstrap: str
    work: Path
    messages: list[Message]
    identifiers: list[Identifier]
    partitions: int
    batch: int
    matching: bool
    model_env: dict[str, str]
    timeout_s: float
    run_id: str = field(default_factory=lambda: secrets.token_hex(3))


# --- figures ----------------------------------------------------------------------------------


def rate(count: int, seconds: float) -> int | None:
    return round(count / seconds) if seconds > 0 else None


def percentiles_ms(samples_s: Sequence[float]) -> dict[str, float | int | None]:
    if not samples_s:
        return {"count": 0, "p50_ms": None, "p99_ms": None, "max_ms": None, "mean_ms": None}
    ordered = sorted(samples_s)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {"count": len(ordered), "p50_ms": at(0.50), "p99_ms": at(0.99),
            "max_ms": round(ordered[-1] * 1000, 1),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 1)}


# --- the broker: topics, producing, the ceiling ------------------------------------------------


async def timed_produce(bootstrap: str, topic: str, messages: list[Message]
                        ) -> dict[str, Any]:
    """Every message, acknowledged by the broker, keyed by event id: the default partitioner
    spreads them."""
    started = time.perf_counter()
    await produce(bootstrap, topic, messages)
    seconds = time.perf_counter() - started
    return {"events": len(messages), "seconds": round(seconds, 2),
            "events_per_s": rate(len(messages), seconds)}


async def consume_bare(bootstrap: str, topic: str, group: str, total: int,
                       batch: int) -> dict[str, Any]:
    """A consumer group member with no service: fetch a batch, commit its offsets, again,
    until `total` messages; the same settings as a worker's consumer (api/kafka/consumer.py)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
        auto_offset_reset="earliest", isolation_level="read_committed",
        max_poll_records=batch)
    started = time.perf_counter()
    try:
        await consumer.start()
        first: float | None = None
        count = 0
        while count < total:
            if time.perf_counter() - started > 300:
                raise RuntimeError(f"the bare consumer read {count} of {total} in 300 s")
            fetched = await consumer.getmany(timeout_ms=500, max_records=batch)
            if not fetched:
                continue
            first = first or time.perf_counter()
            count += sum(len(records) for records in fetched.values())
            await consumer.commit({p: records[-1].offset + 1 for p, records in fetched.items()})
        ended = time.perf_counter()
    finally:
        await consumer.stop()
    assert first is not None
    # From joining the group: the first fetch returns what the fetcher has read meanwhile.
    return {"events": count, "seconds": round(ended - started, 3),
            "events_per_s": rate(count, ended - started),
            "join_and_first_fetch_s": round(first - started, 3)}


async def ceiling(bench: Bench, label: str) -> dict[str, Any]:
    topic = f"bench-{bench.run_id}.ceiling-{label}"
    await create_topic(bench.bootstrap, topic, bench.partitions)
    await asyncio.sleep(1.0)  # a timed produce right after the leaders are elected is slower
    produced = await timed_produce(bench.bootstrap, topic, bench.messages)
    consumed = await consume_bare(bench.bootstrap, topic, f"{topic}.group",
                                  len(bench.messages), bench.batch)
    return {"produce": produced, "consume": consumed}


# --- the store, before and after --------------------------------------------------------------


async def partition_of(config: StoreConfig, identifiers: list[Identifier]
                       ) -> frozenset[frozenset[Identifier]]:
    """The generated identifiers the store knows, grouped by profile."""
    store = await open_store(config)
    try:
        service = IdentityService(store, profile_cache=0)
        groups: dict[str, set[Identifier]] = {}
        for start in range(0, len(identifiers), 500):
            chunk = identifiers[start : start + 500]
            for identifier, profile_id in zip(chunk, await service.profile_ids(chunk),
                                              strict=True):
                if profile_id is not None:
                    groups.setdefault(profile_id, set()).add(identifier)
        return frozenset(frozenset(members) for members in groups.values())
    finally:
        await store.close()


async def logged_positions(config: StoreConfig) -> set[str]:
    """The position of every change the store's change log holds (touch entries aside, as
    the relay skips them), in the relay's format."""
    store = await open_store(config)
    try:
        positions: set[str] = set()
        after = 0
        while True:
            async with store.transaction(read_only=True) as tx:
                page = await tx.changes.read_changes(after, 500, [])
            positions.update(format_position(row.position) for row in page.changes)
            if page.through <= after or page.through >= page.last:
                return positions
            after = page.through
    finally:
        await store.close()


async def one_process(bench: Bench, store: Store, events: list[dict[str, object]]) -> tuple[
        dict[str, Any], frozenset[frozenset[Identifier]]]:
    """The reference: the same events, in file order, ingested by one process through the
    service as the workers build it (no Kafka), on a fresh store, in batches of --batch."""
    path = bench.work / f"one-process-{store.name}.db"
    config = store.config(path)
    if store.name == "neo4j":
        await wipe(config)
    settings = Settings.from_env({**os.environ, **bench.model_env}).with_overrides(
        store=config.kind, database=config.sqlite_path, neo4j_uri=config.neo4j_uri,
        neo4j_user=config.neo4j_user, neo4j_password=config.neo4j_password,
        matching=bench.matching)
    service = await build_service(settings)
    outcome: Counter[str] = Counter()
    try:
        started = time.perf_counter()
        for start in range(0, len(events), bench.batch):
            outcome.update(r.status.value for r in
                           await service.ingest(events[start : start + bench.batch]))
        seconds = time.perf_counter() - started
    finally:
        await service.store.close()
    partition = await partition_of(config, bench.identifiers)
    return {"events": len(events), "seconds": round(seconds, 2),
            "events_per_s": rate(len(events), seconds), "batch": bench.batch,
            "outcome": {k: outcome.get(k, 0) for k in ("accepted", "duplicate", "rejected")},
            "profiles": len(partition)}, partition


# --- one run: a store, N workers ---------------------------------------------------------------


@dataclass
class Watch:
    """What the monitor sees while the workers run (monotonic seconds from their spawn)."""

    first_commit_s: float | None = None
    formed_s: float | None = None  # the group stable with every worker in it
    committed_when_formed: int = 0
    done_s: float | None = None
    samples: list[tuple[float, int]] = field(default_factory=list)


def worker_command(kafka_args: list[str], store_args: list[str], metrics_port: int,
                   matching: bool) -> list[str]:
    return [sys.executable, "-m", "identity.cli", "consume", "--metrics-port", str(metrics_port),
            "--log-level", "info", *kafka_args, *store_args,
            *([] if matching else ["--no-matching"])]


def tail(path: Path, lines: int = 25) -> str:
    with suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return "(no log)"


async def follow_changes(bootstrap: str, topic: str, received: list[tuple[float, bytes]],
                         stop: asyncio.Event) -> None:
    """Every committed message of the changes topic with the time it arrived here. Leaving
    the loop early closes the fetching generator here, so its consumer stops now rather than
    half-way through the event loop's shutdown, which leaves its socket open."""
    async with aclosing(fetches(bootstrap, topic, follow=True, wait_ms=100)) as batches:
        async for fetched in batches:
            now = time.time()
            received.extend((now, record.value or b"") for record in fetched)
            if stop.is_set():
                return


async def watch_group(bootstrap: str, group: str, topic: str, workers: int, total: int,
                      spawned: float, processes: list[asyncio.subprocess.Process],
                      logs: list[Path], timeout_s: float) -> Watch:
    """Polls the group until its committed offsets reach the topic's end (`total`)."""
    watch = Watch()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        coordinator = await admin.find_coordinator(group)
        while True:
            now = time.monotonic() - spawned
            for process, log in zip(processes, logs, strict=True):
                if process.returncode is not None:
                    raise RuntimeError(f"a worker exited ({process.returncode}):\n{tail(log)}")
            if now > timeout_s:
                raise RuntimeError(f"{group}: not every event committed in {timeout_s:.0f} s "
                                   f"({watch.samples[-1:]})\n{tail(logs[0])}")
            offsets = await admin.list_consumer_group_offsets(group, coordinator)
            committed = sum(max(o.offset, 0) for p, o in offsets.items() if p.topic == topic)
            watch.samples.append((round(now, 2), committed))
            if committed and watch.first_commit_s is None:
                watch.first_commit_s = now
            if watch.formed_s is None:
                (described,) = (await admin.describe_consumer_groups([group], coordinator)
                                )[0].groups
                state, members = described[2], described[5]
                if state == "Stable" and len(members) == workers:
                    watch.formed_s, watch.committed_when_formed = now, committed
            if committed >= total:
                watch.done_s = now
                return watch
            await asyncio.sleep(POLL_S)
    finally:
        await admin.close()


def scrape(port: int) -> dict[str, float]:
    """A worker's counters that say what it did, summed over their other labels, and its
    batch-time histogram's buckets."""
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return {}
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "identity_kafka_events_total":
                outcome = sample.labels["outcome"]
                found[outcome] = found.get(outcome, 0.0) + sample.value
            elif sample.name in ("identity_kafka_dead_letters_total",
                                 "identity_store_conflicts_total",
                                 "identity_kafka_batch_seconds_sum",
                                 "identity_kafka_batch_seconds_count"):
                found[sample.name] = found.get(sample.name, 0.0) + sample.value
            elif sample.name == "identity_kafka_batch_seconds_bucket":
                bucket = f"le={sample.labels['le']}"  # cumulative, as Prometheus keeps them
                found[bucket] = found.get(bucket, 0.0) + sample.value
    return found


def thinned(samples: list[tuple[float, int]], every_s: float = 1.0) -> list[list[float]]:
    kept: list[list[float]] = []
    for at, committed in samples:
        if not kept or at - kept[-1][0] >= every_s or (at, committed) == samples[-1]:
            kept.append([at, committed])
    return kept


def bucket_quantile(metrics: list[dict[str, float]], q: float) -> float | None:
    buckets: dict[float, float] = {}
    for found in metrics:
        for name, value in found.items():
            if name.startswith("le="):
                bound = float(name[3:])
                buckets[bound] = buckets.get(bound, 0.0) + value
    if not buckets or not buckets.get(float("inf")):
        return None
    wanted = q * buckets[float("inf")]
    return next(bound for bound in sorted(buckets) if buckets[bound] >= wanted)


def log_facts(logs: list[Path]) -> dict[str, int]:
    """What the workers' logs say happened besides ingest: partitions handed out (one line
    per worker per rebalance), batches waited out while the store refused them (SQLite busy
    across processes, Neo4j away), commits refused after a rebalance (read again), errors."""
    text = "\n".join(log.read_text(errors="replace") for log in logs if log.exists())
    return {"assignments": text.count("events partitions held"),
            "store_busy_retries": text.count("store cannot take"),
            "commits_refused_after_rebalance": text.count("offsets not committed"),
            "error_lines": len(re.findall(r"^(ERROR|CRITICAL)\b", text, re.MULTILINE))}


async def run_workers(bench: Bench, config: KafkaConfig, store: Store, sqlite_file: Path,
                      workers: int, prefix: str) -> dict[str, Any]:
    """Spawns the workers, follows the group and the changes topic until every event is
    committed and every logged change has arrived, then stops them."""
    kafka_args = ["--kafka-bootstrap", bench.bootstrap, "--events-topic", config.events_topic,
                  "--group", config.group, "--dead-letter-topic", config.dead_letter_topic,
                  "--changes-topic", config.changes_topic, "--batch", str(bench.batch)]
    env = {**os.environ, **bench.model_env, **store.env()}
    received: list[tuple[float, bytes]] = []
    stop_reading = asyncio.Event()
    reader = asyncio.create_task(follow_changes(bench.bootstrap, config.changes_topic, received,
                                                stop_reading))
    ports = [free_port() for _ in range(workers)]
    logs = [bench.work / f"{prefix}.worker{n}.log" for n in range(workers)]
    processes: list[asyncio.subprocess.Process] = []
    spawned = time.monotonic()
    try:
        for port, log in zip(ports, logs, strict=True):
            with log.open("wb") as output:
                processes.append(await asyncio.create_subprocess_exec(
                    *worker_command(kafka_args, store.args(sqlite_file), port, bench.matching),
                    env=env, stdout=output, stderr=subprocess.STDOUT))
        watch = await watch_group(bench.bootstrap, config.group, config.events_topic, workers,
                                  len(bench.messages), spawned, processes, logs,
                                  bench.timeout_s)
        # Every change the log holds now must reach the topic (the relay may lag behind).
        logged = await logged_positions(store.config(sqlite_file))
        deadline = time.monotonic() + 120
        arrived: set[str] = set()
        read = 0
        while True:
            arrived.update(json.loads(value)["position"] for _, value in received[read:])
            read = len(received)
            if logged <= arrived or time.monotonic() > deadline or reader.done():
                break
            await asyncio.sleep(0.1)
        # A worker slow to start may find every event taken by the others; it is stopped
        # once it handles SIGTERM (it has said so), else the signal would just kill it.
        await asyncio.gather(*(wait_for_line(log, WORKER_READY, exited_of(process))
                               for process, log in zip(processes, logs, strict=True)))
        metrics = [await asyncio.to_thread(scrape, port) for port in ports]
    finally:
        stop_reading.set()
        for process in processes:
            if process.returncode is None:
                process.terminate()
        exit_codes = [await asyncio.wait_for(process.wait(), 60) for process in processes]
        with suppress(asyncio.CancelledError):
            await asyncio.wait_for(reader, 30)
    assert watch.done_s is not None

    changes = [json.loads(value) for _, value in received]
    positions = Counter(c["position"] for c in changes)
    latencies = [arrived_at - datetime.fromisoformat(c["at"]).timestamp()
                 for (arrived_at, _), c in zip(received, changes, strict=True)]
    total = len(bench.messages)
    batches = sum(m.get("identity_kafka_batch_seconds_count", 0) for m in metrics)
    outcome = {k: round(sum(m.get(k, 0) for m in metrics)) for k in OUTCOMES}
    timing: dict[str, Any] = {
        "startup_s": round(watch.first_commit_s or 0, 2),
        "group_formed_s": None if watch.formed_s is None else round(watch.formed_s, 2),
        "wall_s": round(watch.done_s, 2),
        "events_per_s_wall": rate(total, watch.done_s),
    }
    # The second half of the events alone: after start-up, rebalances and a store's slow
    # start (Neo4j, on a graph just wiped: see the notes).
    half_at, half = next((at, n) for at, n in watch.samples if n >= total / 2)
    timing["events_per_s_second_half"] = rate(total - half, watch.done_s - half_at)
    steady: int | None = None
    if watch.formed_s is not None:
        left = total - watch.committed_when_formed
        window = watch.done_s - watch.formed_s
        timing["steady_window"] = {"events": left, "seconds": round(window, 2)}
        if left >= MIN_STEADY_SHARE * total:
            steady = rate(left, window)
    return {
        "events_per_s": steady,
        "timing": timing,
        "outcome": outcome,
        "dead_letters": round(sum(m.get("identity_kafka_dead_letters_total", 0)
                                  for m in metrics)),
        "store_conflicts_retried": round(sum(m.get("identity_store_conflicts_total", 0)
                                             for m in metrics)),
        # From a batch's fetch to its committed offsets, as the workers measure it.
        "batches": round(batches),
        "batch_mean_ms": round(sum(m.get("identity_kafka_batch_seconds_sum", 0)
                                   for m in metrics) / batches * 1000, 1) if batches else None,
        # The histogram's bucket bounds that hold half and 99% of the batches.
        "batch_p50_at_most_s": bucket_quantile(metrics, 0.50),
        "batch_p99_at_most_s": bucket_quantile(metrics, 0.99),
        "changes": {
            "logged": len(logged), "published": len(positions),
            "published_twice": sum(1 for n in positions.values() if n > 1),
            "missing": len(logged - set(positions)),
            "all_published_once": logged == set(positions) and max(positions.values(),
                                                                   default=1) == 1,
            "latency_commit_to_topic": percentiles_ms(latencies),
        },
        "workers_detail": {"exit_codes": exit_codes, **log_facts(logs)},
        # [seconds from spawning the workers, events committed], about one a second.
        "progress": thinned(watch.samples),
    }


def exited_of(process: asyncio.subprocess.Process) -> Callable[[], bool]:
    return lambda: process.returncode is not None


async def wait_for_line(path: Path, line: str, exited: Callable[[], bool],
                        timeout_s: float = 60) -> None:
    """Until the process logs `line`; RuntimeError when it exits or times out first."""
    deadline = time.monotonic() + timeout_s
    while True:
        with suppress(OSError):
            if line in await asyncio.to_thread(path.read_text, errors="replace"):
                return
        if exited() or time.monotonic() > deadline:
            raise RuntimeError(f"no {line!r} in {path}:\n{tail(path)}")
        await asyncio.sleep(0.1)


def run_one(bench: Bench, store: Store, workers: int) -> tuple[
        dict[str, Any], frozenset[frozenset[Identifier]]]:
    prefix = f"bench-{bench.run_id}-{store.name}-{workers}w"
    sqlite_file = bench.work / f"{prefix}.db"
    if store.name == "neo4j":
        asyncio.run(wipe(store.config(sqlite_file)))
    config = KafkaConfig(bench.bootstrap, events_topic=f"{prefix}.events",
                         dead_letter_topic=f"{prefix}.dead-letter",
                         changes_topic=f"{prefix}.changes", group=f"{prefix}.group",
                         batch=bench.batch)
    # The relay runs in `identity serve`, whose own consumer reads a topic nobody writes.
    async def prepare() -> dict[str, Any]:
        await create_topic(bench.bootstrap, config.events_topic, bench.partitions)
        await ensure_topics(config)
        return await timed_produce(bench.bootstrap, config.events_topic, bench.messages)

    produced = asyncio.run(prepare())
    # The relay alone: the workers consume.
    relay_args = [*store.args(sqlite_file), "--kafka-bootstrap", bench.bootstrap, "--no-consume",
                  "--events-topic", config.events_topic, "--group", config.group,
                  "--dead-letter-topic", config.dead_letter_topic,
                  "--changes-topic", config.changes_topic,
                  *([] if bench.matching else ["--no-matching"])]
    relay_log = bench.work / f"{prefix}.relay.log"
    with identity_server(relay_args, {**bench.model_env, **store.env()}, timeout_s=120,
                         log=relay_log, log_level="info") as relay:
        asyncio.run(wait_for_line(relay_log, RELAY_READY,
                                  lambda: relay.process.poll() is not None))
        figures = asyncio.run(run_workers(bench, config, store, sqlite_file, workers, prefix))
        relay_latency = relay_metrics(relay.url)
    figures["changes"]["relay_own_latency_mean_ms"] = relay_latency
    figures["produce_prefill"] = produced
    partition = asyncio.run(partition_of(store.config(sqlite_file), bench.identifiers))
    figures["profiles"] = len(partition)
    return figures, partition


def relay_metrics(url: str) -> float | None:
    """The relay's own mean latency from commit to its Kafka transaction's end (its
    histogram in `identity serve`'s /metrics), beside what the reader here saw."""
    try:
        text = httpx.get(f"{url}/metrics", timeout=5).text
    except httpx.HTTPError:
        return None
    values = {s.name: s.value for f in text_string_to_metric_families(text)
              for s in f.samples if s.name.startswith("identity_kafka_change_latency_seconds")}
    count = values.get("identity_kafka_change_latency_seconds_count", 0)
    return round(values["identity_kafka_change_latency_seconds_sum"] / count * 1000, 1) \
        if count else None


# --- the report --------------------------------------------------------------------------------


def differing(a: frozenset[frozenset[Identifier]], b: frozenset[frozenset[Identifier]]) -> int:
    """Profiles in one partition and not the other (both sides counted)."""
    return len(a ^ b)


def summarize(report: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for store, runs in report["runs"].items():
        for workers, run in runs.items():
            changes = run["changes"]
            rows.append({
                "store": store, "workers": int(workers),
                "events_per_s": run["events_per_s"],
                "x_broker_consume": run.get("x_broker_consume"),
                "x_one_process": run.get("x_one_process"),
                "x_1_worker": run.get("x_1_worker"),
                "events_per_s_second_half": run["timing"]["events_per_s_second_half"],
                "events_per_s_wall": run["timing"]["events_per_s_wall"],
                "startup_s": run["timing"]["startup_s"],
                "change_latency_p50_ms": changes["latency_commit_to_topic"]["p50_ms"],
                "change_latency_p99_ms": changes["latency_commit_to_topic"]["p99_ms"],
                "changes_logged": changes["logged"],
                "changes_published": changes["published"],
                "changes_all_published_once": changes["all_published_once"],
                "accepted": run["outcome"]["accepted"],
                "profiles": run["profiles"],
                "partition_equal_to_one_process": run["consistency"][
                    "partition_equal_to_one_process"],
            })
    return rows


def _num(value: Any, fmt: str = ",") -> str:
    return "-" if value is None else format(value, fmt)


def markdown(report: dict[str, Any]) -> str:
    ceiling = report["ceiling"]
    alone = ", ".join(f"{name} {figures['events_per_s']:,}"
                      for name, figures in report["one_process"].items())
    lines = [
        f"{report['dataset']['events']:,} events, {report['config']['partitions']} partitions, "
        f"batches of {report['config']['batch']}. Broker alone: produce "
        f"{ceiling['produce_events_per_s']:,} events/s, a bare consumer group "
        f"{ceiling['consume_events_per_s']:,} events/s. One process without Kafka, events/s: "
        f"{alone}.",
        "",
        "| store | workers | events/s | x broker consume | x one process | x 1 worker "
        "| second half events/s | incl. startup events/s | change latency p50 / p99 ms "
        "| changes published / logged | profiles | same graph as one process |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---|",
    ]
    for row in report["summary"]:
        lines.append(
            f"| {row['store']} | {row['workers']} | {_num(row['events_per_s'])} | "
            f"{_num(row['x_broker_consume'], '.4f')} | {_num(row['x_one_process'], '.2f')} | "
            f"{_num(row['x_1_worker'], '.2f')} | {_num(row['events_per_s_second_half'])} | "
            f"{_num(row['events_per_s_wall'])} | "
            f"{_num(row['change_latency_p50_ms'])} / {_num(row['change_latency_p99_ms'])} | "
            f"{row['changes_published']:,} / {row['changes_logged']:,} | {row['profiles']:,} | "
            f"{'yes' if row['partition_equal_to_one_process'] else 'no'} |")
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------------


def encode(dataset: Dataset) -> list[Message]:
    """Each event as JSON once, keyed by its event id (not by person)."""
    return [(str(e.get("event_id") or f"no-id-{i}").encode(), json.dumps(e).encode())
            for i, e in enumerate(dataset.events)]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000,
                        help="about this many generated events (default 20,000)")
    parser.add_argument("--workers", default="1,2,3",
                        help="comma-separated worker counts, each a run per store")
    parser.add_argument("--partitions", type=int, default=6,
                        help="of each events topic (default 6, as the service creates it)")
    parser.add_argument("--batch", type=int, default=500,
                        help="events a worker ingests together, at most (IDENTITY_KAFKA_BATCH)")
    parser.add_argument("--kafka-bootstrap",
                        help="use this broker instead of starting one from devservers/")
    parser.add_argument("--timeout", type=float, default=900,
                        help="seconds a run may take to commit every event")
    parser.add_argument("--out", type=Path,
                        help="also write the JSON here (and the table beside it, .md)")
    store_flags(parser)
    return parser.parse_args(argv)


@contextmanager
def servers(args: argparse.Namespace, names: list[str], work: Path) -> Iterator[
        tuple[str, Store | None, dict[str, float]]]:
    """The broker and Neo4j: those given, else started from devservers/ (Neo4j with
    production's JVM and memory settings)."""
    startup: dict[str, float] = {}
    with ExitStack() as stack:
        bootstrap = args.kafka_bootstrap
        if bootstrap is None:
            from devservers.kafka import running_kafka

            kafka = stack.enter_context(running_kafka(work / "kafka"))
            bootstrap, startup["kafka_s"] = kafka.bootstrap, round(kafka.startup_seconds, 1)
        neo4j = None
        if "neo4j" in names:
            uri = args.neo4j_uri
            user = os.environ.get("IDENTITY_NEO4J_USER", "neo4j")
            password = os.environ.get("IDENTITY_NEO4J_PASSWORD", "")
            if uri is None:
                from devservers.neo4j import running_neo4j

                password = secrets.token_urlsafe(16)
                server = stack.enter_context(running_neo4j(work / "neo4j", password=password,
                                                           server_grade=True))
                uri, user = server.uri, server.user
                startup["neo4j_s"] = round(server.startup_seconds, 1)
            neo4j = Store("neo4j", uri, user, password)
        yield bootstrap, neo4j, startup


NOTES = [
    "events_per_s: while the whole group works, from the moment it is stable with every "
    "worker in it to the last commit; events_per_s_wall counts from spawning the workers "
    "(Python start-up, joining, the rebalances as each one joins) to the last commit.",
    "A change's latency is when this reader got it from the changes topic (read_committed) "
    "minus its `at`, which the service reads when the batch's transaction begins: it includes "
    "the batch's own transaction (batch_mean_ms and batch_p50/p99_at_most_s beside it are the "
    "workers' fetch-to-commit times), the relay's poll of the change log (every 50 ms) and its "
    "Kafka transaction.",
    "Several workers on one SQLite file: each batch is one BEGIN IMMEDIATE transaction, so "
    "SQLite's file lock lets one process write at a time (a writer waits up to 5 s, then the "
    "worker retries the batch: store_busy_retries); workers gain only what happens outside the "
    "write (fetching, decoding, parsing).",
    "events_per_s_second_half: from the moment half the events were committed to the last "
    "commit. On a Neo4j graph just wiped the first few thousand events go several times slower "
    "than the rest (in this process too, when the server sat idle for a while before: see "
    "`progress`), which weighs on the whole-run figures of short runs.",
]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    names = [n.strip() for n in args.stores.split(",") if n.strip()]
    counts = sorted({int(n) for n in args.workers.split(",") if n.strip()})
    started = time.perf_counter()
    dataset = generate(GeneratorConfig(people=people_for_events(args.events), seed=args.seed))
    messages = encode(dataset)
    identifiers = sorted({Identifier(t.kind, t.value) for t in dataset.truth})
    report: dict[str, Any] = {
        "benchmark": "kafka",
        "config": {"workers": counts, "stores": names, "partitions": args.partitions,
                   "batch": args.batch, "matching": args.matching, "key": "event_id",
                   "cpus": os.cpu_count(), "python": sys.version.split()[0],
                   "aiokafka": aiokafka.__version__},
        "dataset": {"events": len(messages), "people": len({t.person_id for t in dataset.truth}),
                    "identifiers": len(identifiers), "seed": args.seed,
                    "invalid_events": len(dataset.invalid_event_ids),
                    "bytes_mean": round(statistics.fmean(len(v) for _, v in messages)),
                    "generate_seconds": round(time.perf_counter() - started, 2)},
        "notes": NOTES,
    }
    with tempfile.TemporaryDirectory(prefix="identity-bench-kafka-") as tmp, \
            servers(args, names, Path(tmp)) as (bootstrap, neo4j, startup):
        work = Path(tmp)
        report["config"]["startup"] = startup
        bench = Bench(bootstrap, work, messages, identifiers, args.partitions, args.batch,
                      args.matching, {"IDENTITY_MODEL": str(work / "no-model-here.json")},
                      args.timeout)
        stores = {"sqlite": Store("sqlite"), **({"neo4j": neo4j} if neo4j else {})}
        print(f"{len(messages):,} events; broker at {bootstrap}; the ceiling ...",
              file=sys.stderr)
        ceilings = [asyncio.run(ceiling(bench, "before"))]
        # One process with no Kafka on each store: the reference graph (SQLite's), and on
        # Neo4j it warms the server's JVM before the runs compared with each other.
        report["one_process"] = {}
        one: dict[str, frozenset[frozenset[Identifier]]] = {}
        for name in names:
            warm_up = None
            if name == "neo4j":  # a first run meets a cold JVM; it is reported apart
                print("neo4j, one process without Kafka: warming up ...", file=sys.stderr)
                warm_up, _ = asyncio.run(one_process(bench, stores[name], dataset.events))
            print(f"{name}, one process without Kafka ...", file=sys.stderr)
            report["one_process"][name], one[name] = asyncio.run(
                one_process(bench, stores[name], dataset.events))
            if warm_up is not None:
                report["one_process"][name]["warm_up_events_per_s"] = warm_up["events_per_s"]
        reference_store = "sqlite" if "sqlite" in one else names[0]
        reference, expected = one[reference_store], report["one_process"][reference_store]
        for name, partition in one.items():
            report["one_process"][name]["partition_equal_to_" + reference_store] = (
                partition == reference)
        partitions: dict[tuple[str, int], frozenset[frozenset[Identifier]]] = {}
        report["runs"] = {}
        for name in names:
            runs: dict[str, Any] = {}
            report["runs"][name] = runs
            for workers in counts:
                print(f"{name}, {workers} worker(s) ...", file=sys.stderr)
                run, partition = run_one(bench, stores[name], workers)
                partitions[name, workers] = partition
                run["consistency"] = {
                    "accepted_equals_one_process":
                        run["outcome"]["accepted"] == expected["outcome"]["accepted"],
                    "partition_equal_to_one_process": partition == reference,
                    "profiles_differing_from_one_process": differing(partition, reference)}
                if (name, 1) in partitions and workers > 1:
                    run["consistency"]["partition_equal_to_1_worker"] = (
                        partition == partitions[name, 1])
                runs[str(workers)] = run
                print(f"  {run['events_per_s']} events/s (wall "
                      f"{run['timing']['events_per_s_wall']}), changes p50/p99 "
                      f"{run['changes']['latency_commit_to_topic']['p50_ms']}/"
                      f"{run['changes']['latency_commit_to_topic']['p99_ms']} ms",
                      file=sys.stderr)
        ceilings.append(asyncio.run(ceiling(bench, "after")))
    report["ceiling"] = {
        "produce_events_per_s": max(c["produce"]["events_per_s"] or 0 for c in ceilings),
        "consume_events_per_s": max(c["consume"]["events_per_s"] or 0 for c in ceilings),
        "before_the_runs": ceilings[0], "after_the_runs": ceilings[1],
        "what": "the same messages produced to a scratch topic (acks=all, idempotent) and "
                "read back by one bare consumer group member that commits after every batch "
                "(from joining the group to the last commit); the better of two measurements, "
                "before and after the runs"}
    consume_ceiling = report["ceiling"]["consume_events_per_s"]
    for name, runs in report["runs"].items():
        alone = runs.get("1", {}).get("events_per_s")
        for run in runs.values():
            if run["events_per_s"] is None:
                continue
            run["x_broker_consume"] = round(run["events_per_s"] / consume_ceiling, 4)
            run["x_one_process"] = round(
                run["events_per_s"] / report["one_process"][name]["events_per_s"], 2)
            if alone:
                run["x_1_worker"] = round(run["events_per_s"] / alone, 2)
    report["summary"] = summarize(report)
    publish(json.dumps(report, indent=2), args.out)
    table = markdown(report)
    print(table, file=sys.stderr)
    if args.out:
        args.out.with_suffix(".md").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
