"""Why identities are joined, or not: paths of links, profile histories, possible matches.

Everything here reads one profile's subgraph at a time (networkx finds paths inside it, never
over the whole graph: docs/architecture.md, Stores) and decodes the scored comparison a
probabilistic link kept as its evidence, so a steward sees each field, both values, its level,
weight and bucket.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import networkx as nx

from identity.domain.errors import ValidationError
from identity.domain.guards import ProfileLimits
from identity.domain.identifiers import printable
from identity.domain.links import Link, LinkRule
from identity.domain.matching.model import MatchModel
from identity.domain.matching.records import MatchRecord
from identity.domain.matching.scoring import PairScore, decode_score, score
from identity.domain.partition import Candidate, partition
from identity.domain.types import Identifier, ProfileId
from identity.service.matching import GraphSize
from identity.service.queries import placed_nodes
from identity.service.retry import retry_on_conflict
from identity.service.settle import link_order
from identity.store.errors import StoreConflict
from identity.store.protocol import GraphStore, GraphTransaction

MAX_PAGE = 100


@dataclass(frozen=True, slots=True)
class LinkStep:
    """A link with its evidence; `comparison` is set for scored links."""

    link: Link
    comparison: PairScore | None

    @classmethod
    def of(cls, link: Link) -> LinkStep:
        details = link.evidence.details
        return cls(link, decode_score(details) if details else None)


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


def encode_cursor(position: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode("\n".join(position).encode()).decode()


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        first, second = base64.urlsafe_b64decode(cursor.encode()).decode().split("\n")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError.of(
            "after", f"'{printable(cursor, 32)}' is not a cursor this API returned") from None
    return first, second


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

    async def review_queue(self, first: int, after: str | None) -> ReviewPage:
        """Possible matches whose two sides are still apart, in a stable order."""
        if not 1 <= first <= MAX_PAGE:
            raise ValidationError.of("first", f"must be between 1 and {MAX_PAGE}, got {first}")
        position = decode_cursor(after) if after else None

        async def read() -> ReviewPage:
            items: list[ReviewItem] = []
            cursor = position
            async with self._store.transaction(read_only=True) as tx:
                while len(items) < first:
                    wanted = first - len(items)
                    links = await tx.graph.read_links_by_rule(LinkRule.POSSIBLE_MATCH, cursor,
                                                              wanted)
                    placed = await placed_nodes(tx, sorted({e for k in links
                                                            for e in (k.a, k.b)}))
                    for link in links:
                        pa, pb = placed[link.a][1].profile_id, placed[link.b][1].profile_id
                        if pa != pb:  # joined since: nothing left to review
                            items.append(ReviewItem(LinkStep.of(link), pa, pb))
                    if len(links) < wanted:
                        return ReviewPage(tuple(items), None)
                    cursor = (links[-1].a.key, links[-1].b.key)
            assert cursor is not None
            return ReviewPage(tuple(items), encode_cursor(cursor))

        return await retry_on_conflict(read)


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
