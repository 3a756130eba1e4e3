"""The project's own generator as a benchmark task: the person traits of its events, deduped.

`identity generate` writes customer journeys as events (visits, sign-ups, orders, loyalty-card
activity...) with the truth of which person owns each identifier. The task built here is
what a record-only tool can be given: one record per distinct set of person traits an event
carries (`record_of`, as the service files them), identified by the record's id; the truth of
a record is the person owning its anchor identifier, and the true pairs are every pair of
records of one person (a dedupe task, as FEBRL3).

The record-only peers (Splink, recordlinkage, our batch matcher) see the columns in
``COLUMNS``, nothing else. Our real-time peer ingests the events themselves, so it also sees
the deterministic links between identifiers (cookies, devices, customer ids, emails) that the
record-only peers never see: its figures answer "what does the service get right", not "who
matches records best".

    python -m load_tests.generated_task            # sizes and truth of the task
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from identity.domain.errors import ValidationError
from identity.domain.events import parse_event
from identity.domain.identifiers import NormalizationRules
from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.domain.matching.engine import LinkedPair
from identity.domain.matching.model import FieldValues
from identity.domain.matching.records import record_of
from identity.domain.types import Identifier
from identity.synthetic import GeneratorConfig, generate
from load_tests.febrl_identity import resolved
from load_tests.febrl_realtime import (
    RealtimeRun,
    ceiling_records_per_second,
    grouped_pairs,
    ingest_one_by_one,
)
from load_tests.tasks import FebrlTask

if TYPE_CHECKING:
    import pandas as pd

PEOPLE = 2_000  # about 22,000 events and 3,900 records: a few thousand, like FEBRL
SEED = 5
COLUMNS = ("first_name", "last_name", "date_of_birth", "address_line1", "city", "postcode",
           "email", "phone")
"""What the record-only peers see. The records' customer id (a field of our model, taken from
the event's identifier) is left out: it is an account number, not a person trait, and the
generator gives each person one, so it would hand over most of the answer."""

Pair = tuple[str, str]


@dataclass(frozen=True, eq=False)
class GeneratedData:
    """The events, the records they make and the truth of each record."""

    people: int
    seed: int
    events: tuple[dict[str, object], ...]  # in delivery order, invalid ones and repeats included
    records: dict[str, FieldValues]  # record id -> every field the service's record holds
    anchors: dict[str, Identifier]  # record id -> its anchor identifier
    persons: dict[str, str]  # record id -> the person owning its anchor
    true_pairs: frozenset[Pair]
    invalid_events: int  # rejected by the parser: they make no record
    trait_events: int  # valid events carrying person traits (a record, new or repeated)
    unowned_records: int  # anchor missing from the truth or shared: left out (expected 0)

    def columns(self) -> dict[str, FieldValues]:
        """The records as the record-only peers see them: ``COLUMNS`` only."""
        return {record_id: {name: values.get(name) for name in COLUMNS}
                for record_id, values in self.records.items()}

    def rows(self) -> list[dict[str, str | None]]:
        """One row per record, the id in ``rec_id``, every column present (None if missing)."""
        return [{"rec_id": record_id, **{c: values.get(c) for c in COLUMNS}}
                for record_id, values in sorted(self.columns().items())]

    def frame(self) -> pd.DataFrame:
        """`rows` as the peers take them."""
        import pandas as pd

        return pd.DataFrame(self.rows(), columns=["rec_id", *COLUMNS])


def build(people: int = PEOPLE, seed: int = SEED) -> GeneratedData:
    """Generate the journeys and derive the records and their truth, as described above."""
    dataset = generate(GeneratorConfig(people=people, seed=seed))
    owners = {Identifier(row.kind, row.value): row for row in dataset.truth}
    rules = NormalizationRules()  # the service's defaults, so anchors match what it stores
    records: dict[str, FieldValues] = {}
    anchors: dict[str, Identifier] = {}
    persons: dict[str, str] = {}
    seen: set[str] = set()  # record ids met so far, owned or not, so each is counted once
    invalid = unowned = with_traits = 0
    for raw in dataset.events:
        try:
            event = parse_event(raw, rules)
        except ValidationError:
            invalid += 1
            continue
        record = record_of(event, DEFAULT_MODEL)
        with_traits += record is not None
        if record is None or record.record_id in seen:
            continue  # no person traits, or the same facts sent again (the same record)
        seen.add(record.record_id)
        owner = owners.get(record.anchor)
        if owner is None or owner.is_shared:
            unowned += 1
            continue
        records[record.record_id] = record.values
        anchors[record.record_id] = record.anchor
        persons[record.record_id] = owner.person_id
    return GeneratedData(people, seed, tuple(dataset.events), records, anchors, persons,
                         frozenset(grouped_pairs(persons)), invalid, with_traits, unowned)


# ---------------------------------------------------------------------------------------------
# This project on the task: batch over the records, real time over the events


def batch_links(data: GeneratedData, floor: float | None = None) -> list[LinkedPair]:
    """`resolve_records` with the built-in model on the peers' columns (it estimates the
    prior from the model's prior rules as it fits).

    The links are those at or above the model's link threshold, or at or above ``floor``
    when given (the threshold plays no part in fitting, so one run serves both readings).
    """
    model = DEFAULT_MODEL
    if floor is not None:
        model = replace(model, link_threshold=floor, review_threshold=floor)
    return resolved(data.columns(), model).links


def batch_pairs(data: GeneratedData) -> set[Pair]:
    """The pairs the built-in model links as shipped (at its own link threshold)."""
    return {(pair.left, pair.right) for pair in batch_links(data)}


def realtime_run(data: GeneratedData) -> tuple[RealtimeRun, dict[str, int]]:
    """Train the built-in model on the service's records, then ingest every event alone.

    Training reads the records as the service files them (customer id included, as
    `identity train` would read them from the store). Returns the run (``records`` counts
    the events ingested, one per call) and how many events were accepted, duplicates or
    rejected.
    """
    started = time.perf_counter()
    # The built-in model fitted on the records: prior from its deterministic rules, u from
    # random pairs, m by EM (what `identity train` does); it links at its own threshold.
    model = resolved(data.records, DEFAULT_MODEL).model
    trained = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        elapsed, pairs, statuses = ingest_one_by_one(data.events, model,
                                                     Path(folder) / "graph.db", data.anchors)
        ceiling = ceiling_records_per_second(
            [json.dumps(event, sort_keys=True) for event in data.events],
            Path(folder) / "ceiling.db")
    return RealtimeRun(pairs, trained, elapsed, len(data.events), 0, ceiling), dict(statuses)


def summary(data: GeneratedData) -> dict[str, Any]:
    """Sizes, for the report and for a look at the task."""
    records_of_person = Counter(data.persons.values())
    sizes = Counter(records_of_person.values())
    filled = {name: sum(1 for r in data.records.values() if r.get(name)) for name in COLUMNS}
    return {"people": data.people, "seed": data.seed, "events": len(data.events),
            "invalid_events": data.invalid_events, "trait_events": data.trait_events,
            "records": len(data.records),
            "people_with_records": len(records_of_person), "true_pairs": len(data.true_pairs),
            "records_per_person": dict(sorted(sizes.items())), "filled": filled,
            "unowned_records": data.unowned_records}


def main(argv: Sequence[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--people", type=int, default=PEOPLE)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    print(json.dumps(summary(build(args.people, args.seed)), indent=2))


if __name__ == "__main__":
    main()


def load_generated() -> FebrlTask:
    """Events of `identity generate` (2,000 people, seed 5): about 3,800 records of person
    traits to dedupe; the truth is the person owning each record's anchor identifier."""
    data = build()
    return FebrlTask(name="generated", kind="dedupe", frames=(data.frame(),),
                     true_pairs=data.true_pairs, schema="person", generated=data)
