"""What keeping emails and phones as keyed hashes costs resolution: the same synthetic journeys
(bench_quality's) ingested on SQLite with the option off and on, scored pair by pair against
the truth, overall and by scenario, and the ingest time of each.

The truth names clear identifiers; with hashing on each is looked up as the service looks a
caller's value up (NormalizationRules.looked_up), so both runs are scored on the same pairs.

    python -m load_tests.bench_pii_hashing --people 1000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from identity.domain.identifiers import NormalizationRules
from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.domain.pii_hashing import parse_keys
from identity.domain.types import Identifier
from identity.service import IdentityService
from identity.service.matching import Matcher
from identity.store.sqlite import SqliteGraphStore
from identity.synthetic import SOURCE_REGIONS
from load_tests.bench_quality import BATCH, Run, journeys, scored
from load_tests.tools import publish


async def run(path: Path, events: Sequence[dict[str, object]], keys: Sequence[Identifier],
              rules: NormalizationRules) -> tuple[dict[Identifier, str], float]:
    """Every event through the service in batches; then where each truth identifier is."""
    store = SqliteGraphStore(str(path))
    service = IdentityService(store, rules=rules, matcher=Matcher(DEFAULT_MODEL),
                              profile_cache=0)
    try:
        started = time.perf_counter()
        for start in range(0, len(events), BATCH):
            await service.ingest(events[start:start + BATCH])
        seconds = time.perf_counter() - started
        placed: dict[Identifier, str] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            asked = [rules.looked_up(key) for key in chunk]
            for key, profile in zip(chunk, await service.profile_ids(asked), strict=True):
                if profile is not None:
                    placed[key] = profile
    finally:
        await store.close()
    return placed, seconds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)

    dataset, truth, relation, keys = journeys(args.people, args.seed)
    plain = NormalizationRules(source_regions=SOURCE_REGIONS)
    hashed = NormalizationRules(source_regions=SOURCE_REGIONS,
                                pii_keys=parse_keys(secrets.token_hex(32), "generated key"))
    report: dict[str, Any] = {"benchmark": "pii_hashing_resolution_cost",
                              "dataset": {"people": args.people, "seed": args.seed,
                                          "events": len(dataset.events),
                                          "identifiers_scored": len(truth)},
                              "runs": []}
    with tempfile.TemporaryDirectory(prefix="identity-pii-") as tmp:
        for name, rules in (("clear", plain), ("keyed hashes", hashed)):
            placed, seconds = asyncio.run(run(Path(tmp) / f"{len(report['runs'])}.db",
                                              dataset.events, keys, rules))
            report["runs"].append(scored(Run(name, placed, {}, seconds), truth,
                                         relation))
    publish(json.dumps(report, indent=2), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
