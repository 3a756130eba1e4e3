"""Neo4j: profile versions: one (:ProfileVersion) per (profile_id, version), unique together
(graph_schema/0004_audit_versions.cypher), so a version numbered twice fails at the CREATE
and the transaction ends in StoreConflict (docs/architecture.md, "Steward operations")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import LiteralString

import neo4j

from identity.domain.types import Identifier, ProfileId, from_micros, to_micros
from identity.store._event_codec import decode_ids, decode_keys, encode_ids, encode_keys
from identity.store.neo4j.base import Neo4jPart
from identity.store.protocol import VersionRow

_FIELDS: LiteralString = (
    "v.profile_id AS profile_id, v.version AS version, v.at AS at, v.kind AS kind,"
    " v.cause AS cause, v.actor AS actor, v.added AS added, v.removed AS removed,"
    " v.related AS related"
)


def _identifiers(text: str) -> tuple[Identifier, ...]:
    """Identifiers are kept as their keys ("kind|value"), as on SQLite."""
    return tuple(Identifier.of_key(key) for key in decode_keys(text))


def _version(r: neo4j.Record) -> VersionRow:
    return VersionRow(ProfileId(r["profile_id"]), r["version"], from_micros(r["at"]), r["kind"],
                      r["cause"], r["actor"], _identifiers(r["added"]),
                      _identifiers(r["removed"]), decode_ids(r["related"]))


class Neo4jProfileVersions(Neo4jPart):
    """Each profile's versions, numbered from 1."""

    async def append_versions(self, rows: Sequence[VersionRow]) -> None:
        await self._records(
            "UNWIND $rows AS r CREATE (v:ProfileVersion) SET v = r",
            rows=[{"profile_id": r.profile_id, "version": r.version, "at": to_micros(r.at),
                   "kind": r.kind, "cause": r.cause, "actor": r.actor,
                   "added": encode_keys(tuple(i.key for i in r.added)),
                   "removed": encode_keys(tuple(i.key for i in r.removed)),
                   "related": encode_ids(r.related)}
                  for r in rows])

    async def latest_versions(self, profile_ids: Sequence[str]) -> dict[ProfileId, int]:
        # Each id's last version is one seek at the end of the constraint's index: a
        # composite index serves only predicates on all its properties (hence IS NOT NULL),
        # and gives its order only to an ORDER BY naming them all.
        records = await self._rows(
            "UNWIND $ids AS id CALL (id) { MATCH (v:ProfileVersion)"
            " USING INDEX v:ProfileVersion(profile_id, version)"
            " WHERE v.profile_id = id AND v.version IS NOT NULL RETURN v.version AS version"
            " ORDER BY v.profile_id DESC, v.version DESC LIMIT 1 }"
            " RETURN collect({id: id, version: version}) AS rows",
            ids=sorted(set(profile_ids)))
        return {ProfileId(r["id"]): r["version"] for r in records}

    async def read_versions(self, profile_id: str, after: int, limit: int
                            ) -> list[VersionRow]:
        records = await self._records(
            "MATCH (v:ProfileVersion) USING INDEX v:ProfileVersion(profile_id, version)"
            " WHERE v.profile_id = $id AND v.version > $after"
            " RETURN " + _FIELDS + " ORDER BY v.profile_id, v.version LIMIT $limit",
            id=profile_id, after=after, limit=limit)
        return [_version(r) for r in records]
