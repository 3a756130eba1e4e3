"""Ingest and lookup benchmark with resolution quality, on each store, printed as JSON.

Ingests generated customer journeys through the service layer and through GraphQL over HTTP,
times profile lookups, and scores the profiles against the generator's truth, for the SQLite
and the Neo4j store side by side. Every speed has a reference measured in the same run (raw
SQLite inserts; a trivial GraphQL query on the same server), because shared machines are noisy
and only the ratios travel. Neo4j is started from devservers/ unless --neo4j-uri is given.

    python -m load_tests.bench_ingest --events 100000
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import secrets
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from identity.domain.evaluation import pairwise_scores
from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.domain.types import Identifier
from identity.service import IdentityService, IngestStatus
from identity.service.matching import Matcher
from identity.store import StoreConfig, open_store
from identity.store.neo4j import Neo4jGraphStore
from identity.synthetic import Dataset, GeneratorConfig, generate, people_for_events
from load_tests.server import identity_server
from load_tests.tools import publish

INGEST = ("mutation($events: [EventInput!]!) { ingestEvents(events: $events) "
          "{ accepted duplicates rejected } }")
LOOKUP = ("query($kind: String!, $value: String!) { profileByIdentifier(kind: $kind, "
          "value: $value) { id firstSeen lastSeen orderCount golden { name value source } "
          "identifiers { kind identifiers { value } } } }")
TRIVIAL = "query { __typename }"


@dataclass(frozen=True)
class StoreUnderTest:
    """How the benchmark opens a store in-process and how it starts a server on it."""

    config: StoreConfig
    server_args: list[str]
    server_env: dict[str, str]


def percentiles_ms(samples_s: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples_s)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)

    return {"p50_ms": at(0.50), "p99_ms": at(0.99),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 3)}


def timed(call: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def raw_sqlite_reference(rows: int, path: Path) -> dict[str, Any]:
    """The ceiling of an embedded ingest path: one node row plus one link row per event,
    in transactions of 1,000, with the same durability (WAL, synchronous=FULL)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE nodes (id INTEGER PRIMARY KEY, kind TEXT, value TEXT, "
                 "UNIQUE (kind, value))")
    conn.execute("CREATE TABLE links (a INTEGER, b INTEGER, PRIMARY KEY (a, b))")
    started = time.perf_counter()
    for start in range(0, rows, 1000):
        conn.execute("BEGIN")
        for i in range(start, min(rows, start + 1000)):
            conn.execute("INSERT INTO nodes (kind, value) VALUES ('anonymous_id', ?)", (f"c{i}",))
            conn.execute("INSERT INTO links VALUES (?, ?)", (i, i + 1))
        conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    lookups = timed(lambda: conn.execute("SELECT id FROM nodes WHERE kind = 'anonymous_id' "
                                         "AND value = ?", (f"c{random.randrange(rows)}",)
                                         ).fetchone(), 5000)
    conn.close()
    return {"rows_per_s": round(rows / seconds), "pk_lookup": percentiles_ms(lookups)}


async def ingest_service(events: list[dict[str, object]], store: StoreUnderTest,
                         batch_size: int, matching: bool) -> dict[str, Any]:
    """The service as `identity serve` builds it: real-time matching on, unless turned off."""
    service = IdentityService(await open_store(store.config),
                              matcher=Matcher(DEFAULT_MODEL) if matching else None)
    outcome: dict[str, int] = {s.value: 0 for s in IngestStatus}
    slice_rates: list[int] = []
    slice_size = max(batch_size, len(events) // 10)
    started = slice_started = time.perf_counter()
    done_in_slice = 0
    for start in range(0, len(events), batch_size):
        batch = events[start : start + batch_size]
        for result in await service.ingest(batch):
            outcome[result.status.value] += 1
        done_in_slice += len(batch)
        if done_in_slice >= slice_size:
            now = time.perf_counter()
            slice_rates.append(round(done_in_slice / (now - slice_started)))
            slice_started, done_in_slice = now, 0
    seconds = time.perf_counter() - started
    await service.store.close()
    return {"events": len(events), "seconds": round(seconds, 2),
            "events_per_s": round(len(events) / seconds), "outcome": outcome,
            "events_per_s_by_tenth_of_the_graph": slice_rates}


async def score(store: StoreUnderTest, dataset: Dataset, lookups: int) -> dict[str, Any]:
    """Pairwise quality over the identifiers the truth gives one person (shared ones excluded),
    and the latency of service-layer profile reads."""
    service = IdentityService(await open_store(store.config))
    truth = {Identifier(t.kind, t.value): t.person_id for t in dataset.truth if not t.is_shared}
    keys = list(truth)
    predicted: dict[Identifier, str] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        for identifier, profile_id in zip(chunk, await service.profile_ids(chunk), strict=True):
            if profile_id is not None:
                predicted[identifier] = profile_id
    scores = pairwise_scores(predicted, truth)
    samples = []
    for identifier in random.Random(7).sample(keys, min(lookups, len(keys))):
        started = time.perf_counter()
        await service.profiles_by_identifier([identifier])
        samples.append(time.perf_counter() - started)
    await service.store.close()
    return {
        "identifiers_scored": len(predicted), "identifiers_in_truth": len(truth),
        "profiles": len(set(predicted.values())), "people": len(set(truth.values())),
        "precision": round(scores.precision, 4), "recall": round(scores.recall, 4),
        "f1": round(scores.f1, 4), "false_pairs": scores.false_pairs,
        "missed_pairs": scores.missed_pairs,
        "service_profile_lookup": percentiles_ms(samples),
    }


def graphql_lookups(store: StoreUnderTest, dataset: Dataset, lookups: int) -> dict[str, Any]:
    """profileByIdentifier on the full graph, beside a trivial query on the same server."""
    rng = random.Random(11)
    known = [t for t in dataset.truth if not t.is_shared]
    sample = rng.sample(known, min(lookups, len(known)))
    misses = 0
    with identity_server(store.server_args, store.server_env) as server, \
            httpx.Client(base_url=server.url, timeout=60) as client:
        def lookup() -> None:
            # A miss is an identifier only rejected events carried (the generator writes
            # malformed values on purpose): timed all the same, and counted.
            nonlocal misses
            row = sample[rng.randrange(len(sample))]
            body = client.post("/graphql", json={"query": LOOKUP, "variables": {
                "kind": row.kind, "value": row.value}}).json()
            assert "errors" not in body or body["data"]["profileByIdentifier"] is None, body
            misses += body["data"]["profileByIdentifier"] is None

        def trivial() -> None:
            client.post("/graphql", json={"query": TRIVIAL}).raise_for_status()

        timed(trivial, 200)  # warm both paths: parser and validation caches, connections
        timed(lookup, 200)
        trivial_s = timed(trivial, lookups)
        lookup_s = timed(lookup, lookups)
    trivial_ms, lookup_ms = percentiles_ms(trivial_s), percentiles_ms(lookup_s)
    return {
        "profile_lookup": lookup_ms,
        "trivial_query_reference": trivial_ms,
        "lookup_p50_over_trivial_p50": round(lookup_ms["p50_ms"] / trivial_ms["p50_ms"], 2),
        "lookups_not_found": misses,
        "lookup_req_per_s_concurrency_1": round(len(lookup_s) / sum(lookup_s)),
        "trivial_req_per_s_concurrency_1": round(len(trivial_s) / sum(trivial_s)),
    }


def graphql_ingest(events: list[dict[str, object]], store: StoreUnderTest,
                   batch_size: int) -> dict[str, Any]:
    """Ingest over real HTTP into `identity serve` running in its own process."""
    with identity_server(store.server_args, store.server_env) as server, \
            httpx.Client(base_url=server.url, timeout=300) as client:
        started = time.perf_counter()
        for start in range(0, len(events), batch_size):
            batch = [_as_input(e) for e in events[start : start + batch_size]]
            client.post("/graphql", json={"query": INGEST, "variables": {"events": batch}}
                        ).raise_for_status()
        seconds = time.perf_counter() - started
    return {"events": len(events), "seconds": round(seconds, 2),
            "events_per_s": round(len(events) / seconds), "batch_size": batch_size}


def _as_input(event: dict[str, object]) -> dict[str, object]:
    """JSONL field names to GraphQL's camelCase; nothing else changes."""
    converted = dict(event)
    converted["eventId"] = converted.pop("event_id", None)
    return converted


async def wipe(config: StoreConfig) -> None:
    """Empties a Neo4j store before a run (a SQLite one is a new file each run)."""
    opened = await open_store(config)
    if isinstance(opened, Neo4jGraphStore):
        await opened.wipe()
    await opened.close()


def store_flags(parser: argparse.ArgumentParser) -> None:
    """The flags stores_under_test reads, and the dataset's seed: the same in every
    benchmark that compares the stores."""
    parser.add_argument("--stores", default="sqlite,neo4j",
                        help="comma-separated: sqlite, neo4j (default both)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--neo4j-uri", help="use this Neo4j (password in "
                        "IDENTITY_NEO4J_PASSWORD) instead of starting one from devservers/")
    parser.add_argument("--no-matching", dest="matching", action="store_false",
                        help="deterministic links only (no probabilistic matching), seeding "
                        "and serving")


@contextmanager
def stores_under_test(names: list[str], work: Path,
                      args: argparse.Namespace) -> Iterator[dict[str, tuple[StoreUnderTest,
                                                                             StoreUnderTest]]]:
    """Per store: one for service ingest and lookups, one for GraphQL ingest."""
    found: dict[str, tuple[StoreUnderTest, StoreUnderTest]] = {}
    # The server scores with the built-in model (no trained model file there), like the
    # service-layer run; or not at all with --no-matching.
    matching = ([] if args.matching else ["--no-matching"])
    model = {"IDENTITY_MODEL": str(work / "no-model-here.json")}
    with ExitStack() as stack:
        if "sqlite" in names:
            def sqlite(name: str) -> StoreUnderTest:
                path = str(work / f"{name}.db")
                return StoreUnderTest(StoreConfig("sqlite", sqlite_path=path),
                                      ["--database", path, *matching], model)
            found["sqlite"] = (sqlite("service"), sqlite("graphql"))
        if "neo4j" in names:
            uri, password = args.neo4j_uri, os.environ.get("IDENTITY_NEO4J_PASSWORD", "")
            startup_s = None
            if uri is None:
                from devservers.neo4j import running_neo4j

                password = secrets.token_urlsafe(16)
                server = stack.enter_context(running_neo4j(
                work / "neo4j", password=password, server_grade=True))
                uri, startup_s = server.uri, server.startup_seconds
            neo4j = StoreUnderTest(
                StoreConfig("neo4j", neo4j_uri=uri, neo4j_password=password),
                ["--store", "neo4j", "--neo4j-uri", uri, *matching],
                {"IDENTITY_NEO4J_PASSWORD": password, **model})
            found["neo4j"] = (neo4j, neo4j)
            args.neo4j_startup_s = startup_s
        yield found


def run_store(store: StoreUnderTest, graphql_store: StoreUnderTest, dataset: Dataset,
              args: argparse.Namespace) -> dict[str, Any]:
    events = dataset.events[: args.events_per_store] if args.events_per_store else dataset.events
    asyncio.run(wipe(store.config))
    service = asyncio.run(ingest_service(events, store, args.batch_size, args.matching))
    quality = asyncio.run(score(store, dataset, args.lookups)) if events is dataset.events else {}
    lookups = graphql_lookups(store, dataset, args.lookups) if quality else {}
    asyncio.run(wipe(graphql_store.config))
    over_http = events[: args.graphql_events] if args.graphql_events else events
    return {"service_ingest": service, "quality": quality,
            "graphql": {"ingest": graphql_ingest(over_http, graphql_store, args.batch_size),
                        **lookups}}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--events-per-store", type=int, default=None,
                        help="ingest only the first N events (quality is then not scored)")
    parser.add_argument("--graphql-events", type=int, default=None,
                        help="events to ingest over HTTP (default: all of them)")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    store_flags(parser)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    dataset = generate(GeneratorConfig(people=people_for_events(args.events), seed=args.seed))
    generate_s = time.perf_counter() - started
    # The dataset is the harness's, not the service's: keep the collector from rescanning it.
    gc.freeze()
    report: dict[str, Any] = {
        "benchmark": "ingest_lookup_quality",
        "matching": args.matching,
        "dataset": {"events": len(dataset.events),
                    "people": len({t.person_id for t in dataset.truth}),
                    "identifiers": len(dataset.truth), "seed": args.seed,
                    "generate_seconds": round(generate_s, 2)},
    }
    with tempfile.TemporaryDirectory(prefix="identity-bench-") as tmp:
        work = Path(tmp)
        report["reference_raw_sqlite"] = raw_sqlite_reference(len(dataset.events),
                                                              work / "reference.db")
        names = [n.strip() for n in args.stores.split(",") if n.strip()]
        with stores_under_test(names, work, args) as stores:
            report["stores"] = {name: run_store(*pair, dataset, args)
                                for name, pair in stores.items()}
        if "neo4j" in report["stores"]:
            report["stores"]["neo4j"]["startup_seconds"] = args.neo4j_startup_s
    raw = report["reference_raw_sqlite"]["rows_per_s"]
    for figures in report["stores"].values():
        figures["service_ingest"]["ratio_to_raw_sqlite_rows"] = round(
            figures["service_ingest"]["events_per_s"] / raw, 4)
    publish(json.dumps(report, indent=2), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
