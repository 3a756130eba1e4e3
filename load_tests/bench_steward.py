"""Steward operations on a profile of 1,000 identifiers, on each store: split preview, split,
undo of the split, merge and its undo, beside a reference measured in the same run (reading the
same profile uncached, which every steward action does at least once).

Two people are built, each a star of 500 identifiers around an account or an email (the
per-profile limits allow that many sessions, cookies and devices), then one shared tablet joins
them: one profile of 1,000 nodes whose cheapest cut is the tablet's link to the second person.

    python -m load_tests.bench_steward [--stores sqlite,neo4j] [--repeat 5] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import tempfile
import time
from collections.abc import Awaitable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TypeVar

from identity.domain.types import Identifier
from identity.service import IdentityService
from identity.store import StoreConfig, open_store
from identity.store.neo4j import Neo4jGraphStore
from load_tests.tools import publish

T = TypeVar("T")
HALF = 500  # identifiers per person
BATCH = 250


def star(anchor: Identifier, leaves: Sequence[Identifier], prefix: str
         ) -> list[dict[str, Any]]:
    return [{"event_id": f"{prefix}-{i}", "type": "identify", "source": "bench",
             "timestamp": f"2024-05-01T10:{i // 60 % 60:02d}:{i % 60:02d}Z",
             "identifiers": [{"kind": anchor.kind, "value": anchor.value},
                             {"kind": leaf.kind, "value": leaf.value}]}
            for i, leaf in enumerate(leaves)]


def leaves(owner: str, count: int) -> list[Identifier]:
    """Within the default per-profile limits: 10 devices, 100 cookies, sessions for the rest."""
    found = [Identifier("device_id", f"{owner}-dev-{i}") for i in range(10)]
    found += [Identifier("anonymous_id", f"{owner}-anon-{i}") for i in range(100)]
    found += [Identifier("session_id", f"{owner}-sess-{i}") for i in range(count - len(found))]
    return found


ANN = Identifier("customer_id", "ann")
BEA = Identifier("email", "bea@northwind.org")
TABLET = Identifier("device_id", "ann-dev-0")


def household() -> list[dict[str, Any]]:
    events = star(ANN, leaves("ann", HALF - 1), "ann")
    events += star(BEA, leaves("bea", HALF - 1), "bea")
    # The tablet is Ann's (seen with her twice), once with Bea's email: the bridge.
    events += star(ANN, [TABLET], "ann-again")
    events += star(BEA, [TABLET], "bridge")
    return events


async def timed(work: Awaitable[T]) -> tuple[float, T]:
    """`work` is a coroutine not started yet: it runs inside the timing."""
    started = time.perf_counter()
    result = await work
    return (time.perf_counter() - started) * 1000, result


def summary(samples: list[float]) -> dict[str, float]:
    return {"median_ms": round(statistics.median(samples), 2),
            "max_ms": round(max(samples), 2)}


async def measure(config: StoreConfig, repeat: int) -> dict[str, Any]:
    store = await open_store(config)
    try:
        if isinstance(store, Neo4jGraphStore):
            await store.wipe()
        service = IdentityService(store, profile_cache=0)
        events = household()
        started = time.perf_counter()
        for start in range(0, len(events), BATCH):
            await service.ingest(events[start:start + BATCH])
        ingest_s = time.perf_counter() - started
        (profile,) = await service.profile_ids([ANN])
        assert profile is not None
        (view,) = await service.profiles([profile])
        assert view is not None and len(view.identifiers) == 2 * HALF, "one 1,000-node profile"
        sides = [[ANN], [BEA]]
        read: list[float] = []
        preview: list[float] = []
        split: list[float] = []
        undo_split: list[float] = []
        unlink: list[float] = []
        merge: list[float] = []
        undo_merge: list[float] = []
        for _ in range(repeat):
            read.append((await timed(service.profiles([profile])))[0])
            ms, planned = await timed(service.preview_split(profile, sides))
            preview.append(ms)
            assert sorted(len(p.identifiers) for p in planned.parts) == [HALF, HALF]
            ms, done = await timed(service.split(profile, sides, "bench", "measure"))
            split.append(ms)
            kept, carved = done.profile_ids
            ms, _ = await timed(service.undo(done.action_id, "bench", "measure"))
            undo_split.append(ms)
            # Two profiles to merge: the bridge unlinked (a merge across a split's
            # never-links is refused, as it should be).
            ms, unlinked = await timed(service.unlink(TABLET, BEA, "bench", "measure"))
            unlink.append(ms)
            apart = unlinked.profile_ids
            ms, merged = await timed(service.merge(list(apart), "bench", "measure"))
            merge.append(ms)
            ms, _ = await timed(service.undo(merged.action_id, "bench", "measure"))
            undo_merge.append(ms)
            await service.undo(unlinked.action_id, "bench", "measure")
            assert carved != kept
        reference = statistics.median(read)
        figures = {"read_profile (reference)": summary(read), "preview_split": summary(preview),
                   "split": summary(split), "undo_split": summary(undo_split),
                   "unlink": summary(unlink), "merge": summary(merge),
                   "undo_merge": summary(undo_merge)}
        for name in ("preview_split", "split", "undo_split", "unlink", "merge", "undo_merge"):
            figures[name]["ratio_to_read"] = round(figures[name]["median_ms"] / reference, 2)
        return {"profile_nodes": len(view.identifiers), "ingest_seconds": round(ingest_s, 2),
                "repeat": repeat, **figures}
    finally:
        await store.close()


@contextmanager
def configs(names: list[str], work: Path) -> Iterator[dict[str, StoreConfig]]:
    found: dict[str, StoreConfig] = {}
    with ExitStack() as stack:
        if "sqlite" in names:
            found["sqlite"] = StoreConfig("sqlite", sqlite_path=str(work / "steward.db"))
        if "neo4j" in names:
            from devservers.neo4j import running_neo4j

            password = secrets.token_urlsafe(16)
            server = stack.enter_context(running_neo4j(
                work / "neo4j", password=password, server_grade=True))
            found["neo4j"] = StoreConfig("neo4j", neo4j_uri=server.uri, neo4j_password=password)
        yield found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--stores", default="sqlite,neo4j",
                        help="comma-separated: sqlite, neo4j (default both)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds per store (default 5)")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.stores.split(",") if n.strip()]
    report: dict[str, Any] = {"benchmark": "steward_operations", "stores": {}}
    with tempfile.TemporaryDirectory(prefix="identity-steward-") as tmp, \
            configs(names, Path(tmp)) as found:
        for name, config in found.items():
            report["stores"][name] = asyncio.run(measure(config, args.repeat))
    publish(json.dumps(report, indent=2), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
