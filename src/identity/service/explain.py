"""Why identities are joined, or not: paths of links, profile histories, possible matches.

Everything here reads one profile's subgraph at a time (networkx finds paths inside it, never
over the whole graph: docs/architecture.md, Stores) and decodes the scored comparison a
probabilistic link kept as its evidence, so a steward sees each field, both values, its level,
weight and bucket.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import networkx as nx

from identity.domain.errors import FieldError, ValidationError
from identity.domain.guards import ProfileLimits
from identity.domain.identifiers import MAX_VALUE_LENGTH, printable
from identity.domain.links import SCORED_RULES, STEWARD_RULES, Link, LinkRule
from identity.domain.matching.model import MatchModel
from identity.domain.matching.records import MatchRecord
from identity.domain.matching.scoring import PairScore, decode_score, score
from identity.domain.partition import Candidate, partition
from identity.domain.resolution import GroupState
from identity.domain.steward import StewardNote
from identity.domain.types import Identifier, ProfileId
from identity.service.matching import GraphSize
from identity.service.queries import placed_nodes
from identity.service.retry import retry_on_conflict
from identity.service.settle import link_order
from identity.store.errors import StoreConflict
from identity.store.protocol import GraphStore, GraphTransaction, NodeRow, ReviewCursor
from identity.store.protocol import ReviewItem as QueuedReview

MAX_PAGE = 100
# A review page reads at most this many queued items: a stretch of pairs found joined (each
# then leaves the queue) costs one call a bounded time, and the next call goes on from there.
MAX_SCAN = 1_000
# A cursor this API hands out is a score and two keys of at most a few hundred characters.
MAX_CURSOR_LENGTH = 4_096


@dataclass(frozen=True, slots=True)
class LinkStep:
    """A link with its evidence: `comparison` is set for scored links, `note` (who, why,
    which action) for a steward's."""

    link: Link
    comparison: PairScore | None
    note: StewardNote | None = None

    @classmethod
    def of(cls, link: Link) -> LinkStep:
        """Its details read by its rule: a steward's link keeps a note there, not a score
        (domain/links.py SCORED_RULES, STEWARD_RULES); other rules keep none."""
        details, rule = link.evidence.details, link.evidence.rule
        if not details:
            return cls(link, None)
        if rule in SCORED_RULES:
            return cls(link, decode_score(details))
        if rule in STEWARD_RULES:
            return cls(link, None, StewardNote.from_json(details))
        return cls(link, None)


@dataclass(frozen=True, slots=True)
class Explanation:
    a: Identifier
    b: Identifier
    profile_a: ProfileId | None  # None: the identifier is unknown
    profile_b: ProfileId | None
    path: tuple[LinkStep, ...]  # from a to b over active links; empty when not joined
    # When they are not joined: how their records compare under the model now, if both
    # carry records (the best-scoring pair), so "why not" has an answer too.
    comparison: PairScore | None
    link_threshold: float | None  # None: matching is off
    review_threshold: float | None

    @property
    def same_profile(self) -> bool:
        return self.profile_a is not None and self.profile_a == self.profile_b


@dataclass(frozen=True, slots=True)
class ProfileHistory:
    profile_id: ProfileId
    # The links that joined the profile, in the order they are decided (strong before weak,
    # early before late): each joins two parts; links inside a part already add nothing.
    steps: tuple[LinkStep, ...]
    blocked: tuple[LinkStep, ...]  # inactive links touching it: limits, hubs, vetoes, reviews


@dataclass(frozen=True, slots=True)
class ReviewItem:
    link: LinkStep
    profile_a: ProfileId
    profile_b: ProfileId


@dataclass(frozen=True, slots=True)
class ReviewPage:
    items: tuple[ReviewItem, ...]
    end_cursor: str | None  # pass as `after` for the next page; None: this was the last


def _order(step: LinkStep) -> tuple[object, ...]:
    link = step.link
    return (link.evidence.first_seen, link.evidence.rule, link.a, link.b)


def encode_cursor(position: ReviewCursor) -> str:
    score_, a, b = position
    return base64.urlsafe_b64encode("\n".join((repr(score_), a, b)).encode()).decode()


def decode_cursor(cursor: str) -> ReviewCursor:
    refused = ValidationError.of(
        "after", f"'{printable(cursor, 32)}' is not a cursor this API returned")
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise refused
    try:
        score_, first, second = base64.urlsafe_b64decode(cursor.encode()).decode().split("\n")
        position = (float(score_), first, second)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise refused from None
    if not math.isfinite(position[0]):
        raise refused
    return position


def check_review_filter(min_score: float, max_score: float, source: str | None
                        ) -> str | None:
    """The filter of a review page, or every problem with it at once; returns the source as
    events store theirs (trimmed)."""
    errors: list[FieldError] = []
    for name, value in (("minScore", min_score), ("maxScore", max_score)):
        if not 0.0 <= value <= 1.0:
            errors.append(FieldError(name, f"must be between 0 and 1, got {value}"))
    if not errors and min_score > max_score:
        errors.append(FieldError("maxScore", f"must be at least minScore ({min_score}), "
                                             f"got {max_score}"))
    if source is not None:
        source = source.strip()
        if not source:
            errors.append(FieldError("source", "must not be empty"))
        elif len(source) > MAX_VALUE_LENGTH:
            errors.append(FieldError("source", f"at most {MAX_VALUE_LENGTH} characters, got "
                                               f"{len(source)}"))
    if errors:
        raise ValidationError(errors)
    return source


class Explainer:
    def __init__(self, store: GraphStore, model: MatchModel | None,
                 limits: ProfileLimits, size: GraphSize) -> None:
        """`size`: how large the graph is, which the model's prior follows (as ingest's)."""
        self._store = store
        self._model = model
        self._limits = limits
        self._size = size

    async def explain(self, a: Identifier, b: Identifier) -> Explanation:
        async def read() -> Explanation:
            async with self._store.transaction(read_only=True) as tx:
                placed = await placed_nodes(tx, [a, b])
                profile_a = placed[a][1].profile_id if a in placed else None
                profile_b = placed[b][1].profile_id if b in placed else None
                path: tuple[LinkStep, ...] = ()
                comparison = None
                if profile_a is not None and profile_a == profile_b:
                    if a != b:
                        path = await _path(tx, placed[a][1].group_id, a, b)
                elif profile_a is not None and profile_b is not None:
                    comparison = await self._best_comparison(
                        tx, (a, placed[a][1].group_id), (b, placed[b][1].group_id))
            return Explanation(a, b, profile_a, profile_b, path, comparison,
                               *self._thresholds())

        return await retry_on_conflict(read)

    def _thresholds(self) -> tuple[float | None, float | None]:
        model = self._model
        return (model.link_threshold, model.review_threshold) if model else (None, None)

    async def _best_comparison(self, tx: GraphTransaction, a: tuple[Identifier, int],
                               b: tuple[Identifier, int]) -> PairScore | None:
        """The best-scoring pair of the two sides' records: those hung on the identifiers
        themselves, else the most recent of their profiles' (at most `SIDE_RECORDS` a side)."""
        if self._model is None:
            return None
        model = self._model.at_size(await self._size.records(tx.matches))
        sides = [await _records_of(tx, identifier, group_id) for identifier, group_id in (a, b)]
        scored = [score(model, left.values, right.values)
                  for left in sides[0] for right in sides[1]]
        return max(scored, key=lambda s: s.weight, default=None)

    async def profile_history(self, profile_id: str) -> ProfileHistory | None:
        async def read() -> ProfileHistory | None:
            async with self._store.transaction(read_only=True) as tx:
                found = await tx.graph.lookup_profiles([profile_id])
                if not found:
                    return None
                members = await tx.graph.read_members([found[0].group_id])
                if not members:
                    raise StoreConflict("a profile was merged while it was being read")
                inside = {m.identifier for m in members}
                links = await tx.graph.read_links(sorted(inside))
            active = {(k.a, k.b, k.evidence.rule): k for k in links
                      if k.is_active and k.a in inside and k.b in inside}
            built = partition(inside, [Candidate(*key, link_order(k, self._limits))
                                       for key, k in active.items()], ProfileLimits({}))
            blocked = [LinkStep.of(k) for k in links if not k.is_active]
            return ProfileHistory(found[0].profile_id,
                                  tuple(LinkStep.of(active[key]) for key in built.joined),
                                  tuple(sorted(blocked, key=_order)))

        return await retry_on_conflict(read)

    async def review_queue(self, first: int, after: str | None, *, min_score: float = 0.0,
                           max_score: float = 1.0, source: str | None = None) -> ReviewPage:
        """Possible matches whose two sides are still apart, highest score first (then the
        pair), paged from the review queue's index (docs/architecture.md, "Stores"). A pair
        found joined is not shown and leaves the queue for good, so later pages do not read
        it again. At most MAX_SCAN queued items are read per call: a page may hold fewer
        than `first` items and still have a cursor."""
        if not 1 <= first <= MAX_PAGE:
            raise ValidationError.of("first", f"must be between 1 and {MAX_PAGE}, got {first}")
        source = check_review_filter(min_score, max_score, source)
        position = decode_cursor(after) if after else None

        async def read() -> tuple[ReviewPage, list[QueuedReview]]:
            items: list[ReviewItem] = []
            joined: list[QueuedReview] = []
            cursor, scanned, more = position, 0, True
            async with self._store.transaction(read_only=True) as tx:
                while more and len(items) < first and scanned < MAX_SCAN:
                    # Past pairs found joined, read more at a time (up to a page of 100).
                    wanted = min(MAX_PAGE, max(first - len(items), scanned))
                    queued = await tx.reviews.page_pending(cursor, wanted, min_score,
                                                           max_score, source)
                    more = len(queued) == wanted
                    shown, together = await _screen(tx, queued)
                    for index, entry in enumerate(queued):
                        cursor, scanned = (entry.score, entry.a.key, entry.b.key), scanned + 1
                        if (entry.a, entry.b) in together:
                            joined.append(entry)
                        elif (view := shown.get((entry.a, entry.b))) is not None:
                            items.append(view)
                        if len(items) == first or scanned == MAX_SCAN:
                            more = more or index < len(queued) - 1
                            break
            page_end = encode_cursor(cursor) if more and cursor is not None else None
            return ReviewPage(tuple(items), page_end), joined

        page, joined = await retry_on_conflict(read)
        if joined:
            await retry_on_conflict(lambda: self._leave_queue(joined))
        return page

    async def _leave_queue(self, joined: Sequence[QueuedReview]) -> None:
        """Records `joined` on the pairs a page found joined, in a short write of its own
        after the read: those still pending and still in one profile (a steward may have
        decided or split them since)."""
        async with self._store.transaction() as tx:
            pending = [q for q in await tx.reviews.read_items([(q.a, q.b) for q in joined])
                       if q.outcome is None]
            placed = await placed_nodes(tx, sorted({e for q in pending for e in (q.a, q.b)}))
            await tx.reviews.resolve([(q.a, q.b, "joined") for q in pending
                                      if _together(placed, q.a, q.b)])


def _together(placed: dict[Identifier, tuple[NodeRow, GroupState]], a: Identifier,
              b: Identifier) -> bool:
    return a in placed and b in placed and placed[a][1].group_id == placed[b][1].group_id


async def _screen(tx: GraphTransaction, queued: Sequence[QueuedReview]
                  ) -> tuple[dict[tuple[Identifier, Identifier], ReviewItem],
                             set[tuple[Identifier, Identifier]]]:
    """The queued pairs to show (still apart, with their possible-match link and profiles),
    and those found joined. A pair with an unknown end or no link any more is neither: not
    shown, and left in the queue for whoever removed it to decide."""
    placed = await placed_nodes(tx, sorted({e for q in queued for e in (q.a, q.b)}))
    together = {(q.a, q.b) for q in queued if _together(placed, q.a, q.b)}
    apart = [q for q in queued if (q.a, q.b) not in together
             and q.a in placed and q.b in placed]
    ends = sorted({e for q in apart for e in (q.a, q.b)})
    links = {(k.a, k.b): k for k in await tx.graph.read_links(ends)
             if k.evidence.rule == LinkRule.POSSIBLE_MATCH}
    shown = {(q.a, q.b): ReviewItem(LinkStep.of(link), placed[q.a][1].profile_id,
                                    placed[q.b][1].profile_id)
             for q in apart if (link := links.get((q.a, q.b))) is not None}
    return shown, together


SIDE_RECORDS = 20


async def _records_of(tx: GraphTransaction, identifier: Identifier, group_id: int
                      ) -> list[MatchRecord]:
    found = await tx.matches.read_records([identifier])
    if not found:
        members = await tx.graph.read_members([group_id])
        found = await tx.matches.read_records([m.identifier for m in members])
    return sorted(found, key=lambda r: r.seen_at, reverse=True)[:SIDE_RECORDS]


async def _path(tx: GraphTransaction, group_id: int, a: Identifier, b: Identifier
                ) -> tuple[LinkStep, ...]:
    """The shortest chain of active links from a to b inside their profile."""
    members = await tx.graph.read_members([group_id])
    inside = {m.identifier for m in members}
    graph: nx.Graph = nx.Graph()
    for link in await tx.graph.read_links(sorted(inside)):
        if link.is_active and link.a in inside and link.b in inside:
            current = graph.get_edge_data(link.a, link.b)
            # Between two identifiers, a link seen in an event explains more than a score.
            if current is None or link.evidence.rule == LinkRule.SAME_EVENT:
                graph.add_edge(link.a, link.b, link=link)
    try:
        nodes: Sequence[Identifier] = nx.shortest_path(graph, a, b)
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        raise StoreConflict("a profile changed while it was being read") from None
    return tuple(LinkStep.of(graph.edges[left, right]["link"])
                 for left, right in pairwise(nodes))
