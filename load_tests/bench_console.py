"""What the steward console's pages cost the server, per store, beside a trivial query.

The console is a GraphQL client: a page is the requests it sends. This benchmark reads those
requests from the console's own sources (console/src/api/queries.ts, so it measures what the
console sends, not a copy), seeds each store with generated customer journeys (as
bench_graphql does), starts `identity serve` on it and drives, over real HTTP, taking turns:
the trivial `query { __typename }` (the server's floor), the profile page's main request
(the profile and the links that built it), its history and audit requests, the change
feed's position it subscribes after, and a search by email. Each figure is the median of
--repeat runs; beside req/s and latency, the server's CPU per request and each request's
ratio to the floor measured in the same run, so a busy stretch of a shared machine falls on
all of them alike. A profile page is the sum of its requests (they are sent together).

    python -m load_tests.bench_console [--events 5000] [--stores sqlite,neo4j]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from identity.synthetic import Dataset, GeneratorConfig, generate, people_for_events
from load_tests.bench_graphql import Workload, known_reads, take_turns
from load_tests.bench_ingest import (
    TRIVIAL,
    StoreUnderTest,
    ingest_service,
    store_flags,
    stores_under_test,
    wipe,
)
from load_tests.server import identity_server
from load_tests.tools import publish

QUERIES_TS = Path(__file__).parents[1] / "console" / "src" / "api" / "queries.ts"
# The console's requests measured, by the name of their document in queries.ts.
PAGE = {"profile_page": "PROFILE_PAGE", "history": "HISTORY", "audit": "AUDIT",
        "latest_position": "LATEST_POSITION"}
SEARCH = "SEARCH"
FLOOR = "trivial"


def console_documents(source: str) -> dict[str, str]:
    """The GraphQL documents queries.ts declares (`const NAME = \\`...\\``), their
    `${PART}` pieces filled in."""
    raw: dict[str, str] = dict(re.findall(r"const (\w+) = `([^`]*)`", source))

    def filled(text: str) -> str:  # pieces hold pieces (LINK holds SCORE)
        return re.sub(r"\$\{(\w+)\}", lambda m: filled(raw[m.group(1)]), text)

    return {name: filled(text) for name, text in raw.items()}


def workload(name: str, query: str, variables: Sequence[dict[str, Any]]) -> Workload:
    return Workload(name, [json.dumps({"query": query, "variables": v}).encode()
                           for v in variables or [{}]])


def run_store(name: str, store: StoreUnderTest, dataset: Dataset, documents: dict[str, str],
              args: argparse.Namespace) -> dict[str, Any]:
    asyncio.run(wipe(store.config))
    print(f"seeding {name} with {len(dataset.events):,} events ...", file=sys.stderr)
    seeded = asyncio.run(ingest_service(dataset.events, store, args.batch_size, args.matching))
    identifiers, profiles = asyncio.run(known_reads(store, dataset, args.keys, args.seed))
    emails = [{"query": i["value"], "by": "EMAIL", "kind": None, "after": None}
              for i in identifiers if i["kind"] == "email"]
    ids = [p["id"] for p in profiles]
    workloads = [
        workload(FLOOR, TRIVIAL, []),
        workload("profile_page", documents[PAGE["profile_page"]], [{"id": i} for i in ids]),
        workload("history", documents[PAGE["history"]], [{"id": i, "after": 0} for i in ids]),
        workload("audit", documents[PAGE["audit"]],
                 [{"filter": {"profileId": i}, "first": 100} for i in ids]),
        workload("latest_position", documents[PAGE["latest_position"]], []),
        workload("search_email", documents[SEARCH], emails),
    ]
    load: dict[str, dict[str, dict[str, Any]]] = {}
    with identity_server(store.server_args, store.server_env, timeout_s=120) as server:
        for concurrency in args.concurrency:
            load[str(concurrency)] = found = take_turns(
                server.url, server.process.pid, workloads, concurrency, args.duration,
                args.warmup, args.repeat)
            for request, figures in found.items():
                print(f"  {name:>6} {request:<16} c={concurrency:<3} {figures['rps']:>8.1f} "
                      f"req/s  p50 {figures['p50_ms']:.2f} ms  p99 {figures['p99_ms']:.2f} ms"
                      f"  cpu/req {figures['server_cpu_ms_per_request']:.3f} ms  "
                      f"errors {figures['errors']}", file=sys.stderr)
    return {"seed_ingest": seeded, "profiles": len(ids), "search_emails": len(emails),
            "load": load, "ratios_to_trivial": ratios(load),
            "profile_page_server_cpu_ms": page_cpu(load)}


def ratios(load: dict[str, dict[str, dict[str, Any]]]) -> dict[str, dict[str, float]]:
    """Per request and concurrency: req/s over the trivial query's."""
    return {request: {c: round(by[request]["rps"] / by[FLOOR]["rps"], 3)
                      for c, by in load.items()}
            for request in next(iter(load.values())) if request != FLOOR}


def page_cpu(load: dict[str, dict[str, dict[str, Any]]]) -> dict[str, float]:
    """The server CPU one opened profile page costs (its requests together), per concurrency."""
    return {c: round(sum(by[r]["server_cpu_ms_per_request"] for r in PAGE), 3)
            for c, by in load.items()}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=5_000,
                        help="generated events seeded into each store (about)")
    parser.add_argument("--concurrency", default="1,8", help="comma-separated client counts")
    parser.add_argument("--duration", type=float, default=2.0, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before the runs")
    parser.add_argument("--repeat", type=int, default=3,
                        help="measured runs per request and concurrency, taking turns; medians")
    parser.add_argument("--keys", type=int, default=300,
                        help="known identifiers (and their profiles) the requests cycle through")
    parser.add_argument("--batch-size", type=int, default=500, help="seeding batches")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    store_flags(parser)
    args = parser.parse_args(argv)
    args.concurrency = [int(c) for c in args.concurrency.split(",") if c.strip()]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    documents = console_documents(QUERIES_TS.read_text())
    names = [n.strip() for n in args.stores.split(",") if n.strip()]
    dataset = generate(GeneratorConfig(people=people_for_events(args.events), seed=args.seed))
    gc.freeze()
    report: dict[str, Any] = {
        "benchmark": "console_requests",
        "config": {"concurrency": args.concurrency, "duration_s": args.duration,
                   "warmup_s": args.warmup, "repeat": args.repeat, "keys": args.keys,
                   "matching": args.matching, "cpus": os.cpu_count(),
                   "dataset": {"events": len(dataset.events), "seed": args.seed}},
        "requests": {**{k: documents[v] for k, v in PAGE.items()},
                     "search_email": documents[SEARCH], FLOOR: TRIVIAL},
    }
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="identity-bench-console-") as tmp, \
            ExitStack() as stack:
        args.neo4j_startup_s = None
        stores = stack.enter_context(stores_under_test(names, Path(tmp), args))
        report["stores"] = {name: run_store(name, store, dataset, documents, args)
                            for name, (store, _) in stores.items()}
    report["config"]["seconds"] = round(time.perf_counter() - started, 1)
    publish(json.dumps(report, indent=2), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
