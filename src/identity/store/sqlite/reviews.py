"""SQLite: the review queue: possible matches awaiting a steward, paged by score through a
partial index of the pending ones (docs/architecture.md, "Stores")."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from identity.domain.types import Identifier, from_micros, to_micros
from identity.store._paging import review_page_start
from identity.store.protocol import ReviewCursor, ReviewItem
from identity.store.sqlite.base import SqlitePart

_COLUMNS = "a_key, b_key, score, source, queued_at, outcome"

# A page is read in two index seeks, each stopping after `limit` rows (EXPLAIN QUERY PLAN:
# SEARCH ... USING INDEX review_pending_by_score, or review_pending_by_source under a source
# filter, and no temporary B-tree): the cursor's own score after its pair, then the lower
# scores. One range with a row-value test would read every tie before the cursor again, and
# matching scores tie often (they come from a few levels per field). Fixed texts: every
# value is a parameter.
_TIES = (
    f"SELECT {_COLUMNS} FROM review_items WHERE outcome IS NULL"
    " AND score = :score AND (a_key, b_key) > (:a, :b) ORDER BY a_key, b_key LIMIT :limit"
)
_BELOW = (
    f"SELECT {_COLUMNS} FROM review_items WHERE outcome IS NULL"
    " AND score < :score AND score >= :min ORDER BY score DESC, a_key, b_key LIMIT :limit"
)
_TIES_OF_SOURCE = (
    f"SELECT {_COLUMNS} FROM review_items WHERE outcome IS NULL AND source = :source"
    " AND score = :score AND (a_key, b_key) > (:a, :b) ORDER BY a_key, b_key LIMIT :limit"
)
_BELOW_OF_SOURCE = (
    f"SELECT {_COLUMNS} FROM review_items WHERE outcome IS NULL AND source = :source"
    " AND score < :score AND score >= :min ORDER BY score DESC, a_key, b_key LIMIT :limit"
)


def _item(row: sqlite3.Row) -> ReviewItem:
    return ReviewItem(Identifier.of_key(row[0]), Identifier.of_key(row[1]), row[2], row[3],
                      from_micros(row[4]), row[5])


class SqliteReviewQueue(SqlitePart):
    """Possible matches awaiting a steward, by score."""

    async def enqueue(self, items: Sequence[ReviewItem]) -> None:
        # A decided pair keeps its outcome; a pending one only ever gains score, and keeps the
        # source and time it was first queued with.
        self._conn.executemany(
            f"INSERT INTO review_items ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL)"
            " ON CONFLICT (a_key, b_key) DO UPDATE SET score = excluded.score"
            " WHERE review_items.outcome IS NULL AND excluded.score > review_items.score",
            [(i.a.key, i.b.key, i.score, i.source, to_micros(i.queued_at)) for i in items])

    async def page_pending(self, after: ReviewCursor | None, limit: int,
                           min_score: float, max_score: float, source: str | None
                           ) -> list[ReviewItem]:
        start = review_page_start(after, min_score, max_score)
        if start is None:
            return []
        score, a, b = start
        ties, below = (_TIES, _BELOW) if source is None else (_TIES_OF_SOURCE, _BELOW_OF_SOURCE)
        params = {"score": score, "a": a, "b": b, "min": min_score, "source": source,
                  "limit": limit}
        found = [_item(row) for row in self._conn.execute(ties, params).fetchall()]
        if len(found) < limit:
            params["limit"] = limit - len(found)
            found += [_item(row) for row in self._conn.execute(below, params).fetchall()]
        return found

    async def read_items(self, pairs: Sequence[tuple[Identifier, Identifier]]
                         ) -> list[ReviewItem]:
        found: list[ReviewItem] = []
        for a, b in pairs:
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM review_items WHERE a_key = ? AND b_key = ?",
                (a.key, b.key)).fetchone()
            if row is not None:
                found.append(_item(row))
        return found

    async def resolve(self, outcomes: Sequence[tuple[Identifier, Identifier, str | None]]
                      ) -> None:
        self._conn.executemany(
            "UPDATE review_items SET outcome = ? WHERE a_key = ? AND b_key = ?",
            [(outcome, a.key, b.key) for a, b, outcome in outcomes])
