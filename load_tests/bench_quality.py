"""Resolution quality by scenario, on each store, with the built-in and the trained model.

Generates customer journeys with the situations that make identity resolution hard (families
sharing a tablet, a browser or a mailbox; parents, siblings and twins at one address;
namesakes in one city; kiosks; movers; typos; phones written nationally or wrongly; guest
checkouts; producer bugs) and the truth of who is who. Ingests them through the service, as
`identity ingest` does, on each store; scores the profiles pair by pair: precision (pairs put
together that are one person), recall against the raw truth, and recall against what a
perfect resolver could link from the events (the reachable partition), overall and by
scenario. Then trains the model on the store, as `identity train` does, and ingests the same
events again into an empty store with it. Segment's documented rules, simulated on the same
events, are the peer.

Pairs involving shared identifiers (a family tablet, a kiosk, a family mailbox) are not
scored: they belong to no one person. An identifier the service lost counts as a profile of
its own, so its pairs are missed.

    python -m load_tests.bench_quality --people 2000 --stores sqlite,neo4j
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import secrets
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from identity.domain.evaluation import ALL, Labelled, ScenarioCounts, scenario_scores
from identity.domain.identifiers import NormalizationRules
from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.domain.matching.engine import resolve_records
from identity.domain.matching.model import MatchModel
from identity.domain.types import Identifier
from identity.service import IdentityService, IngestStatus
from identity.service.matching import Matcher
from identity.service.training import judge, records_in_store, values_of
from identity.store import StoreConfig, open_store
from identity.synthetic import SOURCE_REGIONS, Dataset, GeneratorConfig, PersonFacts, generate
from load_tests.bench_ingest import wipe
from load_tests.segment_rules import segment_profiles
from load_tests.tools import publish

BATCH = 500  # `identity ingest`'s default
SEGMENT_LIMITS = {"customer_id": 1, "email": 5, "phone": 5, "external:loyalty": 2,
                  "device_id": 10, "anonymous_id": 100, "session_id": 1000, "order_id": 1000}


def labelled(dataset: Dataset) -> dict[Identifier, Labelled]:
    """Every identifier one person owns, with its person, reachable part and scenarios."""
    return {Identifier(row.kind, row.value): Labelled(
        row.person_id, dataset.reachable.get(Identifier(row.kind, row.value)),
        frozenset(row.scenarios)) for row in dataset.truth if not row.is_shared}


def relations(people: Mapping[str, PersonFacts]) -> Callable[[str, str], frozenset[str]]:
    """How the two people of a false pair are related: what made them look alike."""
    def relation(a: str, b: str) -> frozenset[str]:
        first, second = people.get(a), people.get(b)
        if first is None or second is None:
            return frozenset({"pair: strangers"})
        found = set()
        if first.household is not None and first.household == second.household:
            found.add("pair: same household")
            if "twin" in first.scenarios and "twin" in second.scenarios:
                found.add("pair: twins")
        if first.full_name == second.full_name:
            found.add("pair: namesakes")
        return frozenset(found or {"pair: strangers"})
    return relation


def journeys(people: int, seed: int) -> tuple[Dataset, dict[Identifier, Labelled],
                                              Callable[[str, str], frozenset[str]],
                                              list[Identifier]]:
    """The synthetic journeys, their truth by identifier, how two people are related, and
    the identifiers scored (sorted): what a benchmark scoring resolution starts from."""
    dataset = generate(GeneratorConfig(people=people, seed=seed))
    truth = labelled(dataset)
    return dataset, truth, relations(dataset.people), sorted(truth)


@dataclass
class Run:
    """One way of resolving the dataset, scored."""

    name: str
    placed: dict[Identifier, str]
    outcome: dict[str, Any]
    seconds: float


def scored(run: Run, truth: Mapping[Identifier, Labelled],
           relation: Callable[[str, str], frozenset[str]]) -> dict[str, Any]:
    scores = scenario_scores(run.placed, truth, relation)
    every = scores[ALL]
    f1 = 2 * every.precision * every.recall / (every.precision + every.recall or 1)
    return {
        "name": run.name, "seconds": round(run.seconds, 2), **run.outcome,
        "precision": round(every.precision, 4), "recall": round(every.recall, 4),
        "reachable_recall": round(every.reachable_recall, 4), "f1": round(f1, 4),
        "false_pairs": every.false_pairs, "missed_pairs": every.missed_pairs,
        "missed_reachable_pairs": every.missed_reachable,
        "by_scenario": {tag: _counts(counts) for tag, counts in sorted(scores.items())},
    }


def _counts(counts: ScenarioCounts) -> dict[str, Any]:
    return {"true_pairs": counts.true_pairs, "predicted_pairs": counts.predicted_pairs,
            "false_pairs": counts.false_pairs, "missed_pairs": counts.missed_pairs,
            "reachable_pairs": counts.reachable_pairs,
            "missed_reachable_pairs": counts.missed_reachable,
            "precision": round(counts.precision, 4), "recall": round(counts.recall, 4),
            "reachable_recall": round(counts.reachable_recall, 4)}


async def ingest(config: StoreConfig, events: Sequence[dict[str, object]],
                 model: MatchModel) -> dict[str, Any]:
    """Every event through the service in batches, as `identity ingest` sends them."""
    store = await open_store(config)
    # Configured as a user would for these sources: the tills of each country send phones
    # written nationally without an address (the README's configuration section).
    service = IdentityService(store, matcher=Matcher(model), profile_cache=0,
                              rules=NormalizationRules(source_regions=SOURCE_REGIONS))
    statuses: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    try:
        for start in range(0, len(events), BATCH):
            for result in await service.ingest(events[start:start + BATCH]):
                statuses[result.status.value] += 1
                if result.status is IngestStatus.REJECTED:
                    reasons.update({f"{e.field.split('[')[0]}: {e.reason.split(':')[0]}"
                                    for e in result.errors})
    finally:
        await store.close()
    return {"events": dict(statuses), "rejects_by_reason": dict(reasons.most_common(8))}


async def placements(config: StoreConfig, keys: Sequence[Identifier]) -> dict[Identifier, str]:
    store = await open_store(config)
    service = IdentityService(store, profile_cache=0)
    placed: dict[Identifier, str] = {}
    try:
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            for key, profile in zip(chunk, await service.profile_ids(chunk), strict=True):
                if profile is not None:
                    placed[key] = profile
    finally:
        await store.close()
    return placed


async def trained_model(config: StoreConfig, in_force: MatchModel
                        ) -> tuple[MatchModel, dict[str, Any]]:
    """`identity train`: fitted on the match records the store holds, and saved only when
    the store's evidence says it is no worse than the model in force."""
    store = await open_store(config)
    try:
        records = await records_in_store(store)
        fitted = resolve_records(values_of(records), in_force).model
        judgement = await judge(store, fitted, in_force, records)
    finally:
        await store.close()
    verdict = {"replaces": judgement.replaces,
               "link_threshold": judgement.model.link_threshold,
               "pairs_events_join": len(judgement.evidence.same),
               "pairs_holding_two_accounts": len(judgement.evidence.apart),
               **{f"{name}_estimate": {"precision": round(e.precision, 4),
                                        "recall": round(e.recall, 4)}
                  for name, e in (("fitted", judgement.fitted),
                                  ("in_force", judgement.in_force))}}
    return (judgement.model if judgement.replaces else in_force), verdict


def partition_digest(placed: Mapping[Identifier, str]) -> str:
    """The same for two stores exactly when they put the same identifiers together."""
    groups: dict[str, list[str]] = {}
    for identifier, profile in placed.items():
        groups.setdefault(profile, []).append(identifier.key)
    text = json.dumps(sorted(sorted(members) for members in groups.values()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def resolve_on(config: StoreConfig, name: str, dataset: Dataset, keys: Sequence[Identifier],
               model: MatchModel) -> Run:
    asyncio.run(wipe(config))
    started = time.perf_counter()
    outcome = asyncio.run(ingest(config, dataset.events, model))
    seconds = time.perf_counter() - started
    placed = asyncio.run(placements(config, keys))
    outcome["partition"] = partition_digest(placed)
    return Run(name, placed, outcome, seconds)


@contextmanager
def stores(names: Sequence[str], work: Path, neo4j_uri: str | None
           ) -> Iterator[dict[str, Callable[[str], StoreConfig]]]:
    """Per store, a way to get an empty one for a named run."""
    found: dict[str, Callable[[str], StoreConfig]] = {}
    with ExitStack() as stack:
        if "sqlite" in names:
            found["sqlite"] = lambda run: StoreConfig(
                "sqlite", sqlite_path=str(work / f"{run}.db"))
        if "neo4j" in names:
            uri, password = neo4j_uri, os.environ.get("IDENTITY_NEO4J_PASSWORD", "")
            if uri is None:
                from devservers.neo4j import running_neo4j

                password = secrets.token_urlsafe(16)
                uri = stack.enter_context(running_neo4j(
                work / "neo4j", password=password, server_grade=True)).uri
            config = StoreConfig("neo4j", neo4j_uri=uri, neo4j_password=password)
            found["neo4j"] = lambda run: config
        yield found


def markdown(report: dict[str, Any]) -> str:
    runs = [run for runs in report["runs"].values() for run in runs]
    lines = ["| store / model | events accepted / rejected | precision | recall | "
             "reachable recall | F1 | false pairs | missed reachable pairs | partition |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for run in runs:
        events = run.get("events", {})
        lines.append(
            f"| {run['name']} | {events.get('accepted', '-')} / {events.get('rejected', '-')} "
            f"| {run['precision']:.4f} | {run['recall']:.4f} | {run['reachable_recall']:.4f} "
            f"| {run['f1']:.4f} | {run['false_pairs']} | {run['missed_reachable_pairs']} | "
            f"{run.get('partition', '')} |")
    tags = sorted({tag for run in runs for tag in run["by_scenario"]} - {ALL})
    header = " | ".join(run["name"] for run in runs)
    lines += ["", "False pairs / missed reachable pairs (reachable recall) by scenario:", "",
              f"| scenario | true pairs | {header} |",
              "|---|---:|" + "---|" * len(runs)]
    for tag in tags:
        cells = []
        for run in runs:
            c = run["by_scenario"].get(tag)
            cells.append("-" if c is None else
                         f"{c['false_pairs']} / {c['missed_reachable_pairs']} "
                         f"({c['reachable_recall']:.3f})")
        true_pairs = max(run["by_scenario"].get(tag, {}).get("true_pairs", 0) for run in runs)
        lines.append(f"| {tag} | {true_pairs} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--stores", default="sqlite,neo4j",
                        help="comma-separated: sqlite, neo4j (default both)")
    parser.add_argument("--no-train", dest="train", action="store_false",
                        help="only the built-in model")
    parser.add_argument("--neo4j-uri", help="use this Neo4j (password in "
                        "IDENTITY_NEO4J_PASSWORD) instead of starting one from devservers/")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    parser.add_argument("--markdown-out", type=Path, help="and the tables here")
    args = parser.parse_args(argv)

    dataset, truth, relation, keys = journeys(args.people, args.seed)
    report: dict[str, Any] = {
        "benchmark": "resolution_quality_by_scenario",
        "dataset": {"people": args.people, "seed": args.seed, "events": len(dataset.events),
                    "identifiers_scored": len(truth),
                    "invalid_events": len(dataset.invalid_event_ids)},
        "runs": {},
    }
    started = time.perf_counter()
    segment = Run("Segment's rules (simulated)",
                  segment_profiles(dataset.events, SEGMENT_LIMITS), {}, 0.0)
    segment.seconds = time.perf_counter() - started
    report["runs"]["peer"] = [scored(segment, truth, relation)]
    names = [n.strip() for n in args.stores.split(",") if n.strip()]
    with tempfile.TemporaryDirectory(prefix="identity-quality-") as tmp, \
            stores(names, Path(tmp), args.neo4j_uri) as configs:
        for name, config in configs.items():
            built_in = resolve_on(config("built-in"), f"{name}, built-in model", dataset, keys,
                                  DEFAULT_MODEL)
            runs = [scored(built_in, truth, relation)]
            if args.train:
                model, verdict = asyncio.run(trained_model(config("built-in"), DEFAULT_MODEL))
                retrained = resolve_on(config("trained"), f"{name}, after identity train",
                                       dataset, keys, model)
                retrained.outcome["identity_train"] = verdict
                runs.append(scored(retrained, truth, relation))
            report["runs"][name] = runs
    publish(json.dumps(report, indent=2), args.out)
    publish(markdown(report), args.markdown_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
