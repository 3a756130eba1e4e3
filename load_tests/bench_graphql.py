"""GraphQL read benchmark: profileByIdentifier and profile(id:) beside a trivial query, per store.

Seeds each store with generated customer journeys through the service layer (in-process, as
bench_ingest does), starts `identity serve` on it, and drives three queries over real HTTP
(httpx, one connection per client): the trivial `query { __typename }`, strawberry's own
floor on the same server (HTTP, parsing, validation, extensions), `profileByIdentifier` of
known identifiers and `profile(id:)` of their profiles, with the same field selection. At each
concurrency (clients of one asyncio loop, each waiting for its answer) the three take turns,
run by run, --repeat times after a warm-up, and each figure is the median, so a busy stretch
of a shared machine falls on all of them alike. Beside req/s and p50/p99 it records the
server's own CPU per request (from /proc), which moves far less with the machine's load.

Prints JSON with each read's ratio to the trivial query measured in the same run (req/s, and
the trivial query's server CPU per request over the read's).

    python -m load_tests.bench_graphql [--events 20000] [--stores sqlite,neo4j]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from identity.domain.types import Identifier
from identity.service import IdentityService
from identity.store import open_store
from identity.synthetic import Dataset, GeneratorConfig, generate, people_for_events
from load_tests.bench_grpc import cpu_seconds, median_of
from load_tests.bench_ingest import (
    LOOKUP,
    TRIVIAL,
    StoreUnderTest,
    ingest_service,
    percentiles_ms,
    store_flags,
    stores_under_test,
    wipe,
)
from load_tests.server import identity_server
from load_tests.tools import publish

# The same selection as LOOKUP (bench_ingest's profileByIdentifier), by profile id.
PROFILE = ("query($id: ID!) { profile(id: $id) { id firstSeen lastSeen orderCount "
           "golden { name value source } identifiers { kind identifiers { value } } } }")
QUERIES = {"trivial": TRIVIAL, "profile_by_identifier": LOOKUP, "profile": PROFILE}
FLOOR = "trivial"


@dataclass(frozen=True)
class Workload:
    """One query and the variables its requests cycle through, encoded once: the client's
    own CPU is taken from the same two cores as the server's."""

    name: str
    bodies: list[bytes]

    @classmethod
    def of(cls, name: str, variables: Sequence[dict[str, str]]) -> Workload:
        """One of this benchmark's QUERIES, by name."""
        return cls.posting(name, QUERIES[name], variables)

    @classmethod
    def posting(cls, name: str, query: str, variables: Sequence[dict[str, Any]]) -> Workload:
        """Any document (bench_console's, read from the console's sources); no variables:
        one request without any."""
        return cls(name, [json.dumps({"query": query, "variables": v}).encode()
                          for v in variables or [{}]])


async def drive(url: str, workload: Workload, concurrency: int, seconds: float,
                pid: int | None = None, headers: dict[str, str] | None = None
                ) -> dict[str, Any]:
    """`concurrency` clients post back to back for `seconds`: req/s, latency, the server's
    CPU per request (with its `pid`), and errors (a non-200 or a GraphQL error). `headers`:
    sent with each request (credentials)."""
    samples: list[float] = []
    errors = 0
    headers = {"content-type": "application/json", **(headers or {})}
    # A client each (one connection): one httpx client shared by 16 tasks spends more CPU in
    # its connection pool than the server spends answering.
    clients = [httpx.AsyncClient(base_url=url, timeout=60) for _ in range(concurrency)]

    async def client_loop(client: httpx.AsyncClient, offset: int) -> None:
        nonlocal errors
        turn = offset
        while time.perf_counter() < deadline:
            body = workload.bodies[turn % len(workload.bodies)]
            turn += concurrency
            sent = time.perf_counter()
            response = await client.post("/graphql", content=body, headers=headers)
            samples.append(time.perf_counter() - sent)
            if response.status_code != 200 or b'"errors"' in response.content:
                errors += 1

    try:
        cpu = cpu_seconds(pid) if pid is not None else float("nan")
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(client_loop(c, k) for k, c in enumerate(clients)))
        elapsed = time.perf_counter() - started
        cpu = (cpu_seconds(pid) - cpu) if pid is not None else float("nan")
    finally:
        for client in clients:
            await client.aclose()
    return {"rps": round(len(samples) / elapsed, 1), **percentiles_ms(samples),
            "server_cpu_ms_per_request": round(cpu * 1000 / max(1, len(samples)), 3),
            "count": len(samples), "errors": errors}


def take_turns(url: str, pid: int, workloads: list[Workload], concurrency: int,
               seconds: float, warmup: float, repeat: int) -> dict[str, dict[str, Any]]:
    """A warm-up of each workload (caches, connections), then `repeat` runs taking turns
    (A B C A B C ...): each workload's medians."""
    for workload in workloads:
        asyncio.run(drive(url, workload, concurrency, warmup))
    runs: dict[str, list[dict[str, Any]]] = {w.name: [] for w in workloads}
    for _ in range(repeat):
        for workload in workloads:
            runs[workload.name].append(asyncio.run(drive(url, workload, concurrency, seconds,
                                                         pid)))
    return {name: median_of(mine) for name, mine in runs.items()}


def ratios(load: dict[str, dict[str, dict[str, Any]]]) -> dict[str, dict[str, dict[str, float]]]:
    """Per read measured (every workload but the floor) and concurrency: req/s over the
    trivial query's, and the trivial query's server CPU per request over the read's (the
    req/s ratio a CPU-bound server would reach)."""
    cpu = "server_cpu_ms_per_request"
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name in next(iter(load.values())):
        if name == FLOOR:
            continue
        out[name] = {"rps_ratio": {}, "cpu_ratio": {}}
        for c, by_query in load.items():
            mine, floor = by_query[name], by_query[FLOOR]
            out[name]["rps_ratio"][c] = round(mine["rps"] / floor["rps"], 3)
            if mine[cpu] > 0:
                out[name]["cpu_ratio"][c] = round(floor[cpu] / mine[cpu], 3)
    return out


async def known_reads(store: StoreUnderTest, dataset: Dataset, keys: int, seed: int
                      ) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Up to `keys` identifiers of the truth that the store knows (spread over people and
    kinds), and their profiles' ids: the variables of the two reads."""
    rows = [Identifier(t.kind, t.value) for t in dataset.truth if not t.is_shared]
    random.Random(seed).shuffle(rows)
    service = IdentityService(await open_store(store.config))
    try:
        found = await service.profile_ids(rows[: keys * 2])
    finally:
        await service.store.close()
    known = [(i, p) for i, p in zip(rows, found, strict=False) if p is not None][:keys]
    return ([{"kind": i.kind, "value": i.value} for i, _ in known],
            [{"id": p} for _, p in known])


def seed(name: str, store: StoreUnderTest, dataset: Dataset, args: argparse.Namespace
         ) -> tuple[dict[str, Any], list[dict[str, str]], list[dict[str, str]]]:
    """The store emptied and seeded through the service: the ingest's figures, and up to
    --keys known identifiers and their profiles' ids (known_reads)."""
    asyncio.run(wipe(store.config))
    print(f"seeding {name} with {len(dataset.events):,} events ...", file=sys.stderr)
    seeded = asyncio.run(ingest_service(dataset.events, store, args.batch_size, args.matching))
    identifiers, profile_ids = asyncio.run(known_reads(store, dataset, args.keys, args.seed))
    return seeded, identifiers, profile_ids


def serve_and_drive(name: str, store: StoreUnderTest, workloads: list[Workload],
                    args: argparse.Namespace) -> dict[str, dict[str, dict[str, Any]]]:
    """`identity serve` on the store, the workloads taking turns at each concurrency: the
    medians by concurrency, then workload (each line also on stderr)."""
    load: dict[str, dict[str, dict[str, Any]]] = {}
    with identity_server(store.server_args, store.server_env, timeout_s=120) as server:
        for concurrency in args.concurrency:
            load[str(concurrency)] = found = take_turns(
                server.url, server.process.pid, workloads, concurrency, args.duration,
                args.warmup, args.repeat)
            for query, figures in found.items():
                print(f"  {name:>6} {query:<22} c={concurrency:<3} {figures['rps']:>8.1f} req/s"
                      f"  p50 {figures['p50_ms']:.2f} ms  p99 {figures['p99_ms']:.2f} ms  "
                      f"cpu/req {figures['server_cpu_ms_per_request']:.3f} ms  "
                      f"errors {figures['errors']}", file=sys.stderr)
    return load


def run_store(name: str, store: StoreUnderTest, dataset: Dataset, args: argparse.Namespace
              ) -> dict[str, Any]:
    seeded, identifiers, profile_ids = seed(name, store, dataset, args)
    workloads = [Workload.of(FLOOR, []), Workload.of("profile_by_identifier", identifiers),
                 Workload.of("profile", profile_ids)]
    load = serve_and_drive(name, store, workloads, args)
    return {"seed_ingest": seeded, "known_identifiers": len(identifiers),
            "load": load, "ratios_to_trivial": ratios(load)}


def read_load_args(argv: Sequence[str] | None, description: str, *, events: int,
                   concurrency: str, duration: float, keys: int) -> argparse.Namespace:
    """The flags of a benchmark of reads over HTTP on seeded stores (this one's and
    bench_console's), with each one's defaults."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--events", type=int, default=events,
                        help="generated events seeded into each store (about)")
    parser.add_argument("--concurrency", default=concurrency,
                        help="comma-separated client counts")
    parser.add_argument("--duration", type=float, default=duration,
                        help=f"seconds per measured run (default {duration:g})")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before the runs")
    parser.add_argument("--repeat", type=int, default=3,
                        help="measured runs per request and concurrency, taking turns; medians")
    parser.add_argument("--keys", type=int, default=keys,
                        help="known identifiers (and their profiles) the requests cycle through")
    parser.add_argument("--batch-size", type=int, default=500, help="seeding batches")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    store_flags(parser)
    args = parser.parse_args(argv)
    args.concurrency = [int(c) for c in args.concurrency.split(",") if c.strip()]
    return args


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    return read_load_args(argv, (__doc__ or "").splitlines()[0], events=20_000,
                          concurrency="1,16", duration=3.0, keys=500)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    names = [n.strip() for n in args.stores.split(",") if n.strip()]
    started = time.perf_counter()
    dataset = generate(GeneratorConfig(people=people_for_events(args.events), seed=args.seed))
    gc.freeze()  # the harness's data: keep the collector from rescanning it
    report: dict[str, Any] = {
        "benchmark": "graphql_reads",
        "config": {"concurrency": args.concurrency, "duration_s": args.duration,
                   "warmup_s": args.warmup, "repeat": args.repeat, "keys": args.keys,
                   "matching": args.matching, "python": sys.version.split()[0],
                   "cpus": os.cpu_count(),
                   "dataset": {"events": len(dataset.events), "seed": args.seed,
                               "people": len({t.person_id for t in dataset.truth}),
                               "generate_seconds": round(time.perf_counter() - started, 2)}},
        "queries": QUERIES,
    }
    with tempfile.TemporaryDirectory(prefix="identity-bench-graphql-") as tmp, \
            ExitStack() as stack:
        args.neo4j_startup_s = None
        stores = stack.enter_context(stores_under_test(names, Path(tmp), args))
        report["stores"] = {name: run_store(name, store, dataset, args)
                            for name, (store, _) in stores.items()}
        if args.neo4j_startup_s is not None:
            report["config"]["neo4j_startup_seconds"] = args.neo4j_startup_s
    publish(json.dumps(report, indent=2), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
