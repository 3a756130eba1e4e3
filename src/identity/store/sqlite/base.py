"""What every part of a SQLite transaction shares: the connection, the node ids this
transaction has looked up, and the helpers that read rows and node ids."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from identity.domain.types import Identifier

CHUNK = 500  # stays far below SQLite's limit on bound parameters per statement


def in_chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def placeholders(count: int) -> str:
    return ",".join("?" * count)


class SqlitePart:
    """The state and helpers of one open transaction, shared by its role parts."""

    def __init__(self, conn: sqlite3.Connection, node_ids: dict[Identifier, int]) -> None:
        self._conn = conn
        self._node_ids = node_ids  # shared by the parts of one transaction

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        return self._conn.execute(sql, tuple(params)).fetchall()

    def _ids_of(self, identifiers: Iterable[Identifier]) -> dict[Identifier, int]:
        found: dict[Identifier, int] = {}
        for identifier in identifiers:
            node_id = self._node_ids.get(identifier)
            if node_id is None:
                row = self._conn.execute(
                    "SELECT node_id FROM nodes WHERE kind = ? AND value = ?",
                    (identifier.kind, identifier.value),
                ).fetchone()
                if row is None:
                    continue
                node_id = self._node_ids[identifier] = row[0]
            found[identifier] = node_id
        return found

    def _identifiers_of(self, node_ids: Iterable[int]) -> dict[int, Identifier]:
        wanted = sorted(set(node_ids))
        found: dict[int, Identifier] = {}
        for part in in_chunks(wanted):
            for row in self._rows(
                "SELECT node_id, kind, value FROM nodes"
                f" WHERE node_id IN ({placeholders(len(part))})",
                part,
            ):
                found[row[0]] = Identifier(row[1], row[2])
        return found

