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
import gc
import json
import os
import re
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from identity.synthetic import Dataset, GeneratorConfig, generate, people_for_events
from load_tests.bench_graphql import (
    FLOOR,
    Workload,
    ratios,
    read_load_args,
    seed,
    serve_and_drive,
)
from load_tests.bench_ingest import (
    TRIVIAL,
    StoreUnderTest,
    stores_under_test,
)
from load_tests.tools import publish

QUERIES_TS = Path(__file__).parents[1] / "console" / "src" / "api" / "queries.ts"
# The console's requests measured, by the name of their document in queries.ts.
PAGE = {"profile_page": "PROFILE_PAGE", "history": "HISTORY", "audit": "AUDIT",
        "latest_position": "LATEST_POSITION"}
SEARCH = "SEARCH"


def console_documents(source: str) -> dict[str, str]:
    """The GraphQL documents queries.ts declares (`const NAME = \\`...\\``), their
    `${PART}` pieces filled in."""
    raw: dict[str, str] = dict(re.findall(r"const (\w+) = `([^`]*)`", source))

    def filled(text: str) -> str:  # pieces hold pieces (LINK holds SCORE)
        return re.sub(r"\$\{(\w+)\}", lambda m: filled(raw[m.group(1)]), text)

    return {name: filled(text) for name, text in raw.items()}


def run_store(name: str, store: StoreUnderTest, dataset: Dataset, documents: dict[str, str],
              args: argparse.Namespace) -> dict[str, Any]:
    seeded, identifiers, profiles = seed(name, store, dataset, args)
    emails = [{"query": i["value"], "by": "EMAIL", "kind": None, "after": None}
              for i in identifiers if i["kind"] == "email"]
    ids = [p["id"] for p in profiles]
    workloads = [
        Workload.of(FLOOR, []),
        Workload.posting("profile_page", documents[PAGE["profile_page"]],
                         [{"id": i} for i in ids]),
        Workload.posting("history", documents[PAGE["history"]],
                         [{"id": i, "after": 0} for i in ids]),
        Workload.posting("audit", documents[PAGE["audit"]],
                         [{"filter": {"profileId": i, "excludeActions": ["read_pii"]}}
                          for i in ids]),
        Workload.posting("latest_position", documents[PAGE["latest_position"]], []),
        Workload.posting("search_email", documents[SEARCH], emails),
    ]
    load = serve_and_drive(name, store, workloads, args)
    return {"seed_ingest": seeded, "profiles": len(ids), "search_emails": len(emails),
            "load": load, "ratios_to_trivial": ratios(load),
            "profile_page_server_cpu_ms": page_cpu(load)}


def page_cpu(load: dict[str, dict[str, dict[str, Any]]]) -> dict[str, float]:
    """The server CPU one opened profile page costs (its requests together), per concurrency."""
    return {c: round(sum(by[r]["server_cpu_ms_per_request"] for r in PAGE), 3)
            for c, by in load.items()}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    return read_load_args(argv, (__doc__ or "").splitlines()[0], events=5_000,
                          concurrency="1,8", duration=2.0, keys=300)


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
