"""Neo4j: the API keys, one (:ApiKey) each (graph_schema/0006_api_keys.cypher)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, LiteralString

from identity.domain.types import from_micros, to_micros
from identity.store.neo4j.base import Neo4jPart
from identity.store.protocol import ApiKeyRow

_FIELDS: LiteralString = (
    "k.key_id AS key_id, k.name AS name, k.scopes AS scopes, k.salt AS salt,"
    " k.digest AS digest, k.created_at AS created_at, k.revoked_at AS revoked_at,"
    " k.rate_per_s AS rate_per_s"
)


def _row(r: Mapping[str, Any]) -> ApiKeyRow:
    return ApiKeyRow(r["key_id"], r["name"], tuple(r["scopes"]), r["salt"], r["digest"],
                     from_micros(r["created_at"]),
                     from_micros(r["revoked_at"]) if r["revoked_at"] is not None else None,
                     r["rate_per_s"])


class Neo4jApiKeys(Neo4jPart):
    async def add_key(self, row: ApiKeyRow) -> None:
        # CREATE against the unique constraint: a taken id is a ConstraintError, which the
        # store reports as a conflict.
        await self._records(
            "CREATE (k:ApiKey {key_id: $key_id, name: $name, scopes: $scopes, salt: $salt,"
            " digest: $digest, created_at: $created_at, revoked_at: $revoked_at,"
            " rate_per_s: $rate_per_s})",
            key_id=row.key_id, name=row.name, scopes=list(row.scopes), salt=row.salt,
            digest=row.digest, created_at=to_micros(row.created_at),
            revoked_at=to_micros(row.revoked_at) if row.revoked_at else None,
            rate_per_s=row.rate_per_s)

    async def read_key(self, key_id: str) -> ApiKeyRow | None:
        rows = await self._records(
            "MATCH (k:ApiKey {key_id: $key_id}) RETURN " + _FIELDS, key_id=key_id)
        return _row(rows[0]) if rows else None

    async def list_keys(self) -> list[ApiKeyRow]:
        rows = await self._records(
            "MATCH (k:ApiKey) RETURN " + _FIELDS + " ORDER BY created_at, key_id")
        return [_row(r) for r in rows]

    async def revoke_key(self, key_id: str, at: datetime) -> bool:
        rows = await self._records(
            "MATCH (k:ApiKey {key_id: $key_id})"
            " SET k.revoked_at = coalesce(k.revoked_at, $at) RETURN k.key_id AS key_id",
            key_id=key_id, at=to_micros(at))
        return bool(rows)
