"""`identity train`: fit the match model on the records the store holds, or on a file.

The prior comes from the model's deterministic rules, u from random pairs and m by EM on the
blocked pairs (the batch pipeline does both); the fitted model carries the term frequencies
of the records it saw, so real-time scoring weighs common and rare values as training did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from identity.domain.matching.engine import Progress, resolve_records
from identity.domain.matching.model import MatchModel, Record
from identity.store.protocol import GraphStore

PAGE = 5_000


@dataclass(frozen=True, slots=True)
class Trained:
    model: MatchModel
    records: int
    candidate_pairs: int
    fitted: bool  # False: too few records, so m and u were kept from the base model
    oversized_blocks: int


async def records_in_store(store: GraphStore) -> dict[str, Record]:
    """Every match record, read page by page in id order."""
    found: dict[str, Record] = {}
    after = ""
    while True:
        async with store.transaction(read_only=True) as tx:
            page = await tx.scan_records(after, PAGE)
        for record in page:
            found[record.record_id] = record.values
        if len(page) < PAGE:
            return found
        after = page[-1].record_id


def train(records: Mapping[str, Record], base: MatchModel, *,
          sources: Mapping[str, str] | None = None, seed: int = 0,
          random_pairs: int = 200_000, max_block: int = 500,
          progress: Progress | None = None) -> Trained:
    result = resolve_records(records, base, sources=sources, seed=seed,
                             random_pairs=random_pairs, max_block=max_block, progress=progress)
    return Trained(result.model, len(records), result.candidate_pairs, result.fitted,
                   len(result.oversized_blocks))
