"""The records `identity train` fits the match model on, read from the store.

Fitting itself is the batch pipeline's (`resolve_records`): the prior from the model's prior
rules, u from random pairs, m by EM on the blocked pairs, and the term frequencies of the
records it saw, so real-time scoring weighs common and rare values as training did.
"""

from __future__ import annotations

from identity.domain.matching.model import Record
from identity.store.protocol import GraphStore

PAGE = 5_000


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
