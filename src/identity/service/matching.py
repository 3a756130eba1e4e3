"""Real-time probabilistic matching inside an ingest transaction.

Each new record is filed under its blocking keys first, then compared with every record filed
under the same keys, earlier ones and those of its own batch alike, so two records that arrive
a second apart still meet. What the model decides becomes a link with its evidence: a match
links, a possible match waits for review, a vetoed pair stays visible and inactive.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from prometheus_client import Counter

from identity.domain.events import Event
from identity.domain.links import LinkObservation, LinkRule
from identity.domain.matching.model import MatchModel
from identity.domain.matching.records import MatchRecord, record_of
from identity.domain.matching.scoring import (
    Decision,
    PairScore,
    QuickScorer,
    encode_score,
    score,
)
from identity.store.protocol import MatchIndex

log = logging.getLogger(__name__)

COMPARED = Counter("identity_match_pairs_total", "Record pairs scored in real time, by decision",
                   ["decision"])
OVERSIZED = Counter("identity_match_oversized_blocks_total",
                    "Blocking lookups skipped because the block is over the cap")
AWAITING_REVIEW = "possible match: awaiting review"


@dataclass(frozen=True, slots=True)
class Matcher:
    """The model the service scores with, and how large a block may grow before it is
    skipped (a common surname, a default postcode)."""

    model: MatchModel
    max_block: int = 500
    quick: QuickScorer = field(init=False, repr=False, compare=False)
    # One matcher per size step, kept: each keeps its scorer's memory of levels warm, which a
    # matcher made afresh for every batch would lose.
    _sized: dict[int, Matcher] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "quick", QuickScorer(self.model))
        object.__setattr__(self, "_sized", {})

    def at_size(self, records: int) -> Matcher:
        """This matcher for a graph of `records` records (MatchModel.at_size); itself when
        the prior does not move, and the same matcher for every size of one step."""
        sized = self.model.at_size(records)
        if sized.prior_records is None or sized.prior_records == self.model.prior_records:
            return self
        found = self._sized.get(sized.prior_records)
        if found is None:
            found = self._sized[sized.prior_records] = Matcher(sized, self.max_block)
        return found


class GraphSize:
    """How many match records the graph holds, as this process knows it: read from the store
    at most once every `refresh_s` (other processes and replicas file records too), and
    counted up by the records this process files in between, so a bulk load moves the prior
    as it goes."""

    def __init__(self, refresh_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._refresh_s = refresh_s
        self._clock = clock
        self._count = 0
        self._read_at: float | None = None

    async def records(self, index: MatchIndex) -> int:
        now = self._clock()
        if self._read_at is None or now - self._read_at >= self._refresh_s:
            self._count, self._read_at = await index.count_records(), now
        return self._count

    def filed(self, records: int) -> None:
        self._count += records


@dataclass(frozen=True, slots=True)
class Matches:
    links: list[LinkObservation]
    filed: int  # records stored for the first time


def vetoed_reason(rule: str) -> str:
    return f"never-link rule {rule!r}"


def observation(matcher: Matcher, record: MatchRecord, other: MatchRecord,
                scored: PairScore) -> LinkObservation | None:
    """The link a scored pair leaves, if any. Its evidence is the later record's event (by
    timestamp, then id), whichever of the two arrived first: a link is the same whatever
    order its records came in (docs/architecture.md, invariant 3)."""
    if scored.non_match is not None:
        if scored.probability < matcher.model.review_threshold:
            return None
        rule, reason = LinkRule.VETOED, vetoed_reason(scored.non_match)
    elif scored.decision is Decision.LINK:
        rule, reason = LinkRule.PROBABILISTIC, None
    elif scored.decision is Decision.REVIEW:
        rule, reason = LinkRule.POSSIBLE_MATCH, AWAITING_REVIEW
    else:
        return None
    a, b = sorted((record.anchor, other.anchor))
    later = max(record, other, key=lambda r: (r.seen_at, r.record_id))
    return LinkObservation(a, b, rule, later.event_id, later.source, later.seen_at, reason,
                           scored.probability, encode_score(scored))


def _candidates(new: Sequence[MatchRecord], found: Sequence[MatchRecord]
                ) -> list[tuple[MatchRecord, MatchRecord]]:
    """(newer, other) pairs sharing a key, each once; records of one anchor never pair.
    `new` is in arrival order: of two new records, the later one is the newer, and its event
    is the one that made the link."""
    filed: dict[str, list[MatchRecord]] = defaultdict(list)
    for other in found:
        for key in other.keys:
            filed[key].append(other)
    arrival = {r.record_id: position for position, r in enumerate(new)}
    pairs: dict[tuple[str, str], tuple[MatchRecord, MatchRecord]] = {}
    for record in new:
        for key in record.keys:
            for other in filed[key]:
                if other.anchor == record.anchor:
                    continue
                if arrival.get(other.record_id, -1) > arrival[record.record_id]:
                    continue  # the other new record arrived later: it pairs with this one
                pairs.setdefault((record.record_id, other.record_id), (record, other))
    return [pairs[k] for k in sorted(pairs)]


async def match_events(index: MatchIndex, events: Sequence[Event], matcher: Matcher
                       ) -> Matches:
    """Files the events' records and scores them against their blocks: the links (and
    possible matches, and vetoes) the new records make."""
    records = {r.record_id: r for e in events if (r := record_of(e, matcher.model))}
    if not records:
        return Matches([], 0)
    fresh = set(await index.index_records(list(records.values()), matcher.max_block))
    new = [record for record_id, record in records.items() if record_id in fresh]
    lookup = await index.find_records(sorted({k for r in new for k in r.keys}),
                                      matcher.max_block)
    if lookup.oversized:
        OVERSIZED.inc(len(lookup.oversized))
        log.warning("skipped %d oversized blocks (largest %d records, cap %d)",
                    len(lookup.oversized), max(size for _, size in lookup.oversized),
                    matcher.max_block)
    matches: list[LinkObservation] = []
    values = {r.record_id: r.folded for r in [*new, *lookup.records]}
    unlikely = 0
    review = matcher.model.review_threshold
    for record, other in _candidates(new, lookup.records):
        if matcher.quick.probability(values[record.record_id], values[other.record_id]) < review:
            unlikely += 1  # most pairs in a block: no link, nothing to explain
            continue
        # Left is the record of the link's first end, whichever arrived first.
        left, right = sorted((record, other), key=lambda r: (r.anchor, r.record_id))
        scored = score(matcher.model, left.values, right.values)
        COMPARED.labels(decision=scored.decision.value).inc()
        if (link := observation(matcher, record, other, scored)) is not None:
            matches.append(link)
    COMPARED.labels(decision=Decision.NONE.value).inc(unlikely)
    return Matches(matches, len(fresh))
