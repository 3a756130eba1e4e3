"""Review queue benchmark: pages of a 100,000-item queue, half of it decided, on each store.

Fills each store's review queue through `tx.reviews.enqueue` in batches (a SQLite file in a
temporary folder; Neo4j from devservers/ unless --neo4j-uri is given), marks half the items
joined through `tx.reviews.resolve`, then times reading pages of pending items: the first
page, a page deep in the queue (after the 50,000th item in score order), and filtered pages
(a score range and a common source; a rare source). Scores come from a few hundred levels, as
matching's do, so pages cross long runs of ties. Each figure is the median of --repeat reads,
each in its own read transaction, beside a reference measured in the same run on the same
store: a point read of one item by its pair (`tx.reviews.read_items`), and for SQLite also a
raw SELECT of one row by primary key on its own connection. Only the ratios travel between
machines. The plans are printed too: SQLite's EXPLAIN QUERY PLAN, and for Neo4j the operators
and the rows the index seeks handed up (PROFILE), which stay near the page size however deep
the page is.

    python -m load_tests.bench_review_queue [--items 100000] [--stores sqlite,neo4j] [--out F]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import neo4j

from identity.domain.types import Identifier
from identity.store import GraphStore
from identity.store.neo4j import Neo4jGraphStore
from identity.store.neo4j import reviews as neo4j_reviews
from identity.store.protocol import ReviewCursor, ReviewItem
from identity.store.sqlite import SqliteGraphStore
from identity.store.sqlite import reviews as sqlite_reviews
from load_tests.tools import publish

BATCH = 5_000
PAGE = 20
LEVELS = 400  # distinct scores, as a match model's few levels per field make
SOURCES = ("web", "pos", "crm", "app")
RARE_SOURCE = "kiosk"  # about one item in a hundred
T0 = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Queue:
    items: list[ReviewItem]
    joined: list[ReviewItem]
    deep: ReviewCursor  # the position of the middle item (the 50,000th of 100,000) by score


def generated(count: int, seed: int) -> Queue:
    rng = random.Random(seed)
    levels = sorted({round(rng.uniform(0.6, 0.95), 6) for _ in range(LEVELS)})
    items = []
    for i in range(count):
        a = Identifier("anonymous_id", f"c{i:07d}")
        b = Identifier("email", f"person{rng.randrange(10**9):09d}@shop.example")
        source = RARE_SOURCE if rng.random() < 0.01 else rng.choice(SOURCES)
        items.append(ReviewItem(a, b, rng.choice(levels), source,
                                T0 + timedelta(seconds=i)))
    ordered = sorted(items, key=lambda i: (-i.score, i.a.key, i.b.key))
    middle = ordered[count // 2 - 1]
    return Queue(items, rng.sample(items, count // 2),
                 (middle.score, middle.a.key, middle.b.key))


async def fill(store: GraphStore, queue: Queue) -> dict[str, float]:
    started = time.perf_counter()
    for start in range(0, len(queue.items), BATCH):
        async with store.transaction() as tx:
            await tx.reviews.enqueue(queue.items[start:start + BATCH])
    enqueued = time.perf_counter() - started
    started = time.perf_counter()
    for start in range(0, len(queue.joined), BATCH):
        async with store.transaction() as tx:
            await tx.reviews.resolve([(i.a, i.b, "joined")
                                      for i in queue.joined[start:start + BATCH]])
    resolved = time.perf_counter() - started
    return {"enqueue_s": round(enqueued, 2),
            "enqueue_items_per_s": round(len(queue.items) / enqueued),
            "resolve_joined_s": round(resolved, 2)}


async def medians_ms(calls: dict[str, Callable[[], Awaitable[object]]], repeat: int
                     ) -> dict[str, float]:
    """Each call's median time; the calls take turns, round by round, so that a busy stretch
    of a shared machine falls on all of them alike."""
    for call in calls.values():  # warm caches and plans
        for _ in range(3):
            await call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeat):
        for name, call in calls.items():
            started = time.perf_counter()
            await call()
            times[name].append((time.perf_counter() - started) * 1000)
    return {name: statistics.median(found) for name, found in times.items()}


def page_call(store: GraphStore, after: ReviewCursor | None, min_score: float = 0.0,
              max_score: float = 1.0, source: str | None = None
              ) -> Callable[[], Awaitable[list[ReviewItem]]]:
    async def call() -> list[ReviewItem]:
        async with store.transaction(read_only=True) as tx:
            return await tx.reviews.page_pending(after, PAGE, min_score, max_score, source)

    return call


PAGES: dict[str, dict[str, Any]] = {
    "first_page": {"after": None},
    "deep_page": {"after": "deep"},
    "filtered_page_score_0.7_to_0.8_source_pos": {"after": None, "min_score": 0.7,
                                                  "max_score": 0.8, "source": "pos"},
    "filtered_page_rare_source_deep": {"after": "deep", "source": RARE_SOURCE},
}
POINT_READ = "point_read_of_one_item"


async def time_pages(store: GraphStore, queue: Queue, repeat: int) -> dict[str, Any]:
    """Every page and the reference, a point read of one item by its pair."""
    probe = queue.items[len(queue.items) // 3]

    async def point_read() -> list[ReviewItem]:
        async with store.transaction(read_only=True) as tx:
            return await tx.reviews.read_items([(probe.a, probe.b)])

    calls: dict[str, Callable[[], Awaitable[object]]] = {POINT_READ: point_read}
    assert len(await point_read()) == 1
    for name, spec in PAGES.items():
        after = queue.deep if spec["after"] == "deep" else None
        call = page_call(store, after, spec.get("min_score", 0.0), spec.get("max_score", 1.0),
                         spec.get("source"))
        shown = await call()
        assert len(shown) == PAGE and all(i.outcome is None for i in shown), name
        calls[name] = call
    medians = await medians_ms(calls, repeat)
    point = medians.pop(POINT_READ)
    return {"reference": {"point_read_ms": round(point, 3)},
            "pages": {name: {"median_ms": round(ms, 3), "items": PAGE,
                             "ratio_to_point_read": round(ms / point, 2)}
                      for name, ms in medians.items()}}


def sqlite_plans(path: Path) -> dict[str, list[str]]:
    params = {"score": 0.8, "a": "", "b": "", "min": 0.0, "source": "pos", "limit": PAGE}
    queries = {"ties": sqlite_reviews._TIES, "below": sqlite_reviews._BELOW,
               "ties_of_source": sqlite_reviews._TIES_OF_SOURCE,
               "below_of_source": sqlite_reviews._BELOW_OF_SOURCE}
    with sqlite3.connect(path) as raw:
        return {name: [row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + query, params)]
                for name, query in queries.items()}


def raw_ms(path: Path, sql: str, params: tuple[object, ...], repeat: int) -> float:
    """One statement on a plain connection."""
    raw = sqlite3.connect(path)
    try:
        def call() -> None:
            raw.execute(sql, params).fetchall()

        for _ in range(3):
            call()
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            call()
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)
    finally:
        raw.close()


async def run_sqlite(work: Path, queue: Queue, repeat: int) -> dict[str, Any]:
    path = work / "queue.db"
    store = SqliteGraphStore(str(path))
    try:
        filled = await fill(store, queue)
        timed = await time_pages(store, queue, repeat)
        probe = queue.items[len(queue.items) // 3]
        # The floor of any read: one row by primary key.
        raw = raw_ms(path, "SELECT * FROM review_items WHERE a_key = ? AND b_key = ?",
                     (probe.a.key, probe.b.key), repeat)
        # What reading the whole pending queue costs, as a page without its index would.
        every = raw_ms(path, "SELECT count(*), max(source) FROM review_items"
                       " WHERE outcome IS NULL", (), max(3, repeat // 10))
        for figures in timed["pages"].values():
            figures["ratio_to_raw_select"] = round(figures["median_ms"] / raw, 1)
        timed["reference"].update({"raw_select_one_row_ms": round(raw, 4),
                                   "raw_scan_of_every_pending_item_ms": round(every, 2)})
    finally:
        await store.close()
    return {"fill": filled, **timed, "plans": sqlite_plans(path)}


def _seeks(plan: Any) -> list[dict[str, Any]]:
    found = []
    if "Seek" in plan["operatorType"] or "Scan" in plan["operatorType"]:
        found.append({"operator": plan["operatorType"].split("@")[0],
                      "rows": plan.get("rows"),
                      "index": plan.get("args", {}).get("Details", "")[:90]})
    for child in plan.get("children", []):
        found += _seeks(child)
    return found


async def neo4j_plans(uri: str, password: str, queue: Queue) -> dict[str, Any]:
    """PROFILE of the deep pages: every index seek and the rows it handed up."""
    score, a, b = queue.deep
    driver = neo4j.AsyncGraphDatabase.driver(uri, auth=("neo4j", password))
    try:
        found = {}
        async with driver.session(database="neo4j") as session:
            probe = queue.items[len(queue.items) // 3]
            for name, query, source, wanted in (
                ("deep_page", neo4j_reviews._PENDING, None, PAGE),
                ("deep_page_rare_source", neo4j_reviews._PENDING_OF_SOURCE, RARE_SOURCE, PAGE),
                ("point_read", neo4j_reviews._READ_ITEMS, None, 1),
            ):
                result = await session.run(
                    "PROFILE " + query, rank=0.0 - score, a=a, b=b, lowest=0.0,
                    limit=PAGE, source=source,
                    pairs=[{"a": probe.a.key, "b": probe.b.key}])
                rows = [r async for r in result]
                summary = await result.consume()
                assert len(rows) == wanted and summary.profile is not None
                found[name] = _seeks(summary.profile)
        return found
    finally:
        await driver.close()


async def run_neo4j(uri: str, password: str, queue: Queue, repeat: int) -> dict[str, Any]:
    store = await Neo4jGraphStore.connect(uri, "neo4j", password)
    try:
        await store.wipe()
        filled = await fill(store, queue)
        timed = await time_pages(store, queue, repeat)
        plans = await neo4j_plans(uri, password, queue)
        await store.wipe()
    finally:
        await store.close()
    return {"fill": filled, **timed, "index_seeks": plans}


def neo4j_server(stack: ExitStack, work: Path, uri: str | None
                 ) -> tuple[str, str, float | None]:
    """The given Neo4j, or one started from devservers/ for as long as `stack` is open."""
    if uri is not None:
        return uri, os.environ.get("IDENTITY_NEO4J_PASSWORD", ""), None
    from devservers.neo4j import running_neo4j

    password = secrets.token_urlsafe(16)
    server = stack.enter_context(running_neo4j(
                work / "neo4j", password=password, server_grade=True))
    return server.uri, password, server.startup_seconds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50, help="reads per figure (median)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stores", default="sqlite,neo4j",
                        help="comma-separated: sqlite, neo4j (default both)")
    parser.add_argument("--neo4j-uri", help="use this Neo4j (password in "
                        "IDENTITY_NEO4J_PASSWORD) instead of starting one from devservers/")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    if args.items < 2 * PAGE * 100:
        parser.error(f"--items must be at least {2 * PAGE * 100}: the pages read are full")
    names = [n.strip() for n in args.stores.split(",") if n.strip()]
    queue = generated(args.items, args.seed)
    report: dict[str, Any] = {
        "benchmark": "review_queue_pages", "items": args.items,
        "joined": len(queue.joined), "pending": args.items - len(queue.joined),
        "distinct_scores": len({i.score for i in queue.items}), "page_size": PAGE,
        "deep_page_after_items": args.items // 2, "repeat": args.repeat, "stores": {}}
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        work = Path(folder)
        if "sqlite" in names:
            report["stores"]["sqlite"] = asyncio.run(run_sqlite(work, queue, args.repeat))
        if "neo4j" in names:
            uri, password, startup = neo4j_server(stack, work, args.neo4j_uri)
            found = asyncio.run(run_neo4j(uri, password, queue, args.repeat))
            found["devserver_startup_s"] = round(startup, 1) if startup else None
            report["stores"]["neo4j"] = found
    publish(json.dumps(report, indent=2), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
