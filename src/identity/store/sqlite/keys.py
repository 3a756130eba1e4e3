"""SQLite: the API keys (docs/architecture.md, "Security and privacy")."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from identity.domain.types import from_micros, to_micros
from identity.store.errors import StoreConflict
from identity.store.protocol import ApiKeyRow
from identity.store.sqlite.base import SqlitePart

_COLUMNS = "key_id, name, scopes, salt, digest, created_at, revoked_at, rate_per_s"


def _row(r: sqlite3.Row) -> ApiKeyRow:
    return ApiKeyRow(r[0], r[1], tuple(json.loads(r[2])), r[3], r[4], from_micros(r[5]),
                     from_micros(r[6]) if r[6] is not None else None, r[7])


class SqliteApiKeys(SqlitePart):
    async def add_key(self, row: ApiKeyRow) -> None:
        try:
            self._conn.execute(
                f"INSERT INTO api_keys ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (row.key_id, row.name, json.dumps(list(row.scopes)), row.salt, row.digest,
                 to_micros(row.created_at),
                 to_micros(row.revoked_at) if row.revoked_at else None, row.rate_per_s))
        except sqlite3.IntegrityError as exc:
            raise StoreConflict(f"API key {row.key_id} exists") from exc

    async def read_key(self, key_id: str) -> ApiKeyRow | None:
        rows = self._rows(f"SELECT {_COLUMNS} FROM api_keys WHERE key_id = ?", (key_id,))
        return _row(rows[0]) if rows else None

    async def list_keys(self) -> list[ApiKeyRow]:
        return [_row(r) for r in self._rows(
            f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, key_id")]

    async def revoke_key(self, key_id: str, at: datetime) -> bool:
        cursor = self._conn.execute(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE key_id = ?",
            (to_micros(at), key_id))
        return cursor.rowcount > 0
