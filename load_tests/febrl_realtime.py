"""This project on FEBRL in real time: every record is one event, ingested one at a time.

The model is first trained on the records (`identity train` does the same on a store or a
file); then each record goes through `IdentityService.ingest` alone, in its own transaction,
on the embedded SQLite store (a file, synchronous=FULL), and is compared with every earlier
record in its blocks as it arrives. The pairs predicted are the records the service put in
one profile.

The same run measures a reference on the same machine: as many rows as there were ingest
calls, each written in its own transaction to a raw SQLite file with the store's durability
(WAL, synchronous=FULL). Machines differ and are noisy; the ratio of the two rates is what
carries from one run to the next.

    python -m load_tests.febrl_realtime --task febrl3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import tempfile
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

from identity.domain.matching.engine import resolve_records
from identity.domain.matching.model import MatchModel, Record
from identity.domain.types import Identifier
from identity.service import IdentityService, IngestStatus
from identity.service.matching import Matcher
from identity.store.sqlite import SqliteGraphStore
from load_tests.febrl_identity import febrl_model, records_of

if TYPE_CHECKING:
    from load_tests.peers import FebrlTask, Pair

KIND = "external:febrl"
PRODUCERS = 16


@dataclass(frozen=True, slots=True)
class RealtimeRun:
    pairs: set[tuple[str, str]]
    train_seconds: float
    ingest_seconds: float
    records: int  # ingest calls made, one event each
    dropped_dates: int  # dates of birth the service refuses as dates (FEBRL's corrupted ones)
    ceiling_records_per_second: float = 0.0  # raw SQLite, one row per transaction, same run
    # The same records from PRODUCERS concurrent producers, still one record per call (group
    # commit shares transactions between overlapping calls); and whether it linked the same.
    concurrent_records_per_second: float = 0.0
    concurrent_same_pairs: bool = False

    @property
    def records_per_second(self) -> float:
        return self.records / self.ingest_seconds if self.ingest_seconds else 0.0

    @property
    def ratio_to_ceiling(self) -> float:
        """records_per_second / ceiling_records_per_second: the figure that travels."""
        if not self.ceiling_records_per_second:
            return 0.0
        return self.records_per_second / self.ceiling_records_per_second


def ceiling_records_per_second(payloads: Sequence[str], path: Path) -> float:
    """Rows per second written one per transaction to a raw SQLite file: the reference.

    Each payload (the event as JSON) becomes one row, ``BEGIN IMMEDIATE; INSERT; COMMIT``,
    in WAL mode with synchronous=FULL, as the embedded store commits: what a durable write
    costs on this disk with no graph, matching or Python service around it: a ceiling for
    an ingest that commits each event on its own, whatever else it does.
    """
    conn = sqlite3.connect(path, isolation_level=None)  # autocommit: we issue BEGIN ourselves
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        started = time.perf_counter()
        for payload in payloads:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO events (body) VALUES (?)", (payload,))
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
    return len(payloads) / elapsed if elapsed else 0.0


def _is_date(text: str) -> bool:
    try:
        born = date.fromisoformat(text)
    except ValueError:
        return False
    return date(1900, 1, 1) <= born <= date.today()


def as_event(record_id: str, record: Record, source: str, file: str | None = None
             ) -> dict[str, Any]:
    """A record as a producer would send it (with the file it came from, when linking). A
    birth date that is not a date is left out, as a producer must: the service rejects an
    event whose date of birth is not a date."""
    traits = {name: value for name, value in record.items() if value}
    if file is not None:
        traits["file"] = file
    if "date_of_birth" in traits and not _is_date(traits["date_of_birth"]):
        del traits["date_of_birth"]
    return {"event_id": record_id, "type": "identify", "timestamp": "2024-01-01T00:00:00Z",
            "source": source, "identifiers": [{"kind": KIND, "value": record_id}],
            "traits": traits}


def trained_model(task: FebrlTask) -> MatchModel:
    records, frame_of = records_of(task)
    sources = {r: str(f) for r, f in frame_of.items()} if task.kind == "link" else None
    base = febrl_model(files=task.kind == "link")
    return resolve_records(records, base, sources=sources, seed=2, random_pairs=100_000).model


async def _ingest(events: list[dict[str, Any]], model: MatchModel, folder: Path,
                  producers: int = 1) -> tuple[float, set[tuple[str, str]]]:
    """Every event in its own ingest call; `producers` callers share the events round robin,
    each waiting for its acknowledgement before sending the next."""
    store = SqliteGraphStore(str(folder / f"graph-{producers}.db"))
    service = IdentityService(store, matcher=Matcher(model))

    async def produce(mine: list[dict[str, Any]]) -> None:
        for event in mine:
            (result,) = await service.ingest([event])
            if result.status is not IngestStatus.ACCEPTED:
                raise RuntimeError(f"record {event['event_id']} was {result.status}: "
                                   f"{result.errors}")

    started = time.perf_counter()
    await asyncio.gather(*(produce(events[k::producers]) for k in range(producers)))
    elapsed = time.perf_counter() - started
    # What the service answers: records whose identifiers share a profile (scored links form a
    # tree inside a profile, so the links alone would undercount what it joined).
    ids = [str(event["event_id"]) for event in events]
    profiles = await service.profile_ids([Identifier(KIND, record_id) for record_id in ids])
    await store.close()
    return elapsed, pairs_in_profiles(dict(zip(ids, profiles, strict=True)))


def pairs_in_profiles(profile_of: Mapping[str, str | None]) -> set[tuple[str, str]]:
    """Every pair of records whose anchors ended in one profile."""
    by_profile: dict[str, list[str]] = defaultdict(list)
    for record_id, profile in profile_of.items():
        if profile is not None:
            by_profile[profile].append(record_id)
    return {pair for members in by_profile.values() for pair in combinations(sorted(members), 2)}


def run(task: FebrlTask) -> RealtimeRun:
    records, frame_of = records_of(task)
    started = time.perf_counter()
    model = trained_model(task)
    trained = time.perf_counter() - started
    events = [as_event(r, records[r], f"file{frame_of[r]}",
                       f"file{frame_of[r]}" if task.kind == "link" else None) for r in records]
    dropped = sum(1 for e, r in zip(events, records.values(), strict=True)
                  if r.get("date_of_birth") and "date_of_birth" not in e["traits"])
    with tempfile.TemporaryDirectory() as folder:
        elapsed, pairs = asyncio.run(_ingest(events, model, Path(folder)))
        # right after the ingest, on the same disk: the reference for records_per_second
        ceiling = ceiling_records_per_second(
            [json.dumps(event, sort_keys=True) for event in events], Path(folder) / "ceiling.db")
        together, concurrent_pairs = asyncio.run(_ingest(events, model, Path(folder),
                                                         PRODUCERS))
    if task.kind == "link":  # the truth holds pairs across the two files only
        pairs = {(a, b) for a, b in pairs if frame_of[a] != frame_of[b]}
        concurrent_pairs = {(a, b) for a, b in concurrent_pairs if frame_of[a] != frame_of[b]}
    return RealtimeRun(pairs, trained, elapsed, len(events), dropped, ceiling,
                       len(events) / together if together else 0.0, concurrent_pairs == pairs)


def realtime_pairs(task: FebrlTask) -> set[Pair]:
    return run(task).pairs


def main(argv: list[str] | None = None) -> None:
    from load_tests.peers import TASKS, pairwise_metrics

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--task", choices=("febrl3", "febrl4"), default="febrl3")
    args = parser.parse_args(argv)
    task = TASKS[args.task]()
    result = run(task)
    print(json.dumps({"task": task.name, "records": result.records,
                      "train_seconds": round(result.train_seconds, 3),
                      "ingest_seconds": round(result.ingest_seconds, 3),
                      "records_per_second": round(result.records_per_second, 1),
                      "ceiling_records_per_second": round(result.ceiling_records_per_second, 1),
                      "ratio_to_ceiling": round(result.ratio_to_ceiling, 4),
                      f"records_per_second_{PRODUCERS}_producers":
                          round(result.concurrent_records_per_second, 1),
                      "concurrent_same_pairs": result.concurrent_same_pairs,
                      "dropped_dates": result.dropped_dates,
                      **pairwise_metrics(result.pairs, task.true_pairs)}, indent=2))


if __name__ == "__main__":
    main()
