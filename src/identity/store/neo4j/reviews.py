"""Neo4j: the review queue: possible matches awaiting a steward, paged by score through a
range index on the pending ones (docs/architecture.md, "Stores")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import LiteralString

import neo4j

from identity.domain.types import Identifier, from_micros, to_micros
from identity.store._paging import review_page_start
from identity.store.neo4j.base import Neo4jPart
from identity.store.protocol import ReviewCursor, ReviewItem

# One (:ReviewItem {a, b}) per pair, keyed by its ends' keys (graph_schema/0005); a pending
# one also carries :PendingReview, which alone the indexes cover, so a page never reads the
# decided items however many the queue keeps. `rank` is 0 - score: a range index reads one
# way only, and ascending (rank, a, b) is the queue's order (score descending, then the pair),
# which the index then gives whole, with no sort of the ties.
_FIELDS: LiteralString = (
    " RETURN r.a AS a, r.b AS b, r.score AS score, r.source AS source,"
    " r.queued_at AS queued_at, r.outcome AS outcome"
)


def _page(index: LiteralString, where: LiteralString, order: LiteralString) -> LiteralString:
    """A page in three index seeks, each stopping after `limit` entries (checked with
    PROFILE: NodeIndexSeek then Limit, no sort below the union): the cursor's score after its
    pair (same a, later b; later a), then the lower scores in the range. One range with an OR
    on the pair would read every tie before the cursor again, and matching scores tie often
    (a few levels per field). Fixed texts: every value is a parameter."""
    def seek(condition: LiteralString) -> LiteralString:
        return ("MATCH (r:PendingReview) USING INDEX r:PendingReview(" + index + ")"
                " WHERE " + where + condition + " RETURN r ORDER BY " + order + " LIMIT $limit")

    return ("CALL () { " + seek("r.rank = $rank AND r.a = $a AND r.b > $b")
            + " UNION ALL " + seek("r.rank = $rank AND r.a > $a AND r.b IS NOT NULL")
            + " UNION ALL " + seek("r.rank > $rank AND r.rank <= $lowest"
                                   " AND r.a IS NOT NULL AND r.b IS NOT NULL")
            + " } WITH r ORDER BY r.rank, r.a, r.b LIMIT $limit" + _FIELDS)


_PENDING = _page("rank, a, b", "", "r.rank, r.a, r.b")
# Under the source filter the order names the source too (fixed by the filter), or the
# planner does not see that the index gives it.
_PENDING_OF_SOURCE = _page("source, rank, a, b", "r.source = $source AND ",
                           "r.source, r.rank, r.a, r.b")


# One lookup per pair on the pair's uniqueness constraint.
_READ_ITEMS: LiteralString = "UNWIND $pairs AS p MATCH (r:ReviewItem {a: p.a, b: p.b})" + _FIELDS


def _rank(score: float) -> float:
    return 0.0 - score  # never -0.0, which would sort apart from 0.0


def _item(r: neo4j.Record) -> ReviewItem:
    return ReviewItem(Identifier.of_key(r["a"]), Identifier.of_key(r["b"]), r["score"], r["source"],
                      from_micros(r["queued_at"]), r["outcome"])


class Neo4jReviewQueue(Neo4jPart):
    """Possible matches awaiting a steward, by score."""

    async def enqueue(self, items: Sequence[ReviewItem]) -> None:
        # MERGE on the pair's uniqueness constraint: two writers queueing one pair meet on its
        # lock. A decided pair keeps its outcome; a pending one only ever gains score, and
        # keeps the source and time it was first queued with.
        await self._records(
            "UNWIND $rows AS row MERGE (r:ReviewItem {a: row.a, b: row.b})"
            " ON CREATE SET r:PendingReview, r.score = row.score, r.rank = row.rank,"
            " r.source = row.source, r.queued_at = row.queued_at"
            " ON MATCH SET r += CASE WHEN r.outcome IS NULL AND row.score > r.score"
            " THEN {score: row.score, rank: row.rank} ELSE {} END",
            rows=[{"a": i.a.key, "b": i.b.key, "score": i.score, "rank": _rank(i.score),
                   "source": i.source, "queued_at": to_micros(i.queued_at)} for i in items])

    async def page_pending(self, after: ReviewCursor | None, limit: int,
                           min_score: float, max_score: float, source: str | None
                           ) -> list[ReviewItem]:
        start = review_page_start(after, min_score, max_score)
        if start is None:
            return []
        score, a, b = start
        records = await self._records(
            _PENDING if source is None else _PENDING_OF_SOURCE, rank=_rank(score), a=a, b=b,
            lowest=_rank(min_score), limit=limit, source=source)
        return [_item(r) for r in records]

    async def read_items(self, pairs: Sequence[tuple[Identifier, Identifier]]
                         ) -> list[ReviewItem]:
        records = await self._records(_READ_ITEMS,
                                      pairs=[{"a": a.key, "b": b.key} for a, b in pairs])
        found = {(r["a"], r["b"]): _item(r) for r in records}
        return [item for a, b in pairs if (item := found.get((a.key, b.key))) is not None]

    async def resolve(self, outcomes: Sequence[tuple[Identifier, Identifier, str | None]]
                      ) -> None:
        # The label follows the outcome: pending again (None) re-enters the score index.
        await self._records(
            "UNWIND $rows AS row MATCH (r:ReviewItem {a: row.a, b: row.b})"
            " SET r.outcome = row.outcome"
            " FOREACH (_ IN CASE WHEN row.outcome IS NULL THEN [1] ELSE [] END |"
            " SET r:PendingReview)"
            " FOREACH (_ IN CASE WHEN row.outcome IS NULL THEN [] ELSE [1] END |"
            " REMOVE r:PendingReview)",
            rows=[{"a": a.key, "b": b.key, "outcome": outcome} for a, b, outcome in outcomes])
