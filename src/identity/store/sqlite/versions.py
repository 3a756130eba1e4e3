"""SQLite: profile versions: what changed in each profile, numbered from 1 per profile, keyed
by (profile_id, version) (docs/architecture.md, "Steward operations")."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from identity.domain.types import Identifier, ProfileId, from_micros, to_micros
from identity.store._event_codec import decode_ids, decode_keys, encode_ids, encode_keys
from identity.store.errors import StoreConflict
from identity.store.protocol import VersionRow
from identity.store.sqlite.base import SqlitePart

_COLUMNS = "profile_id, version, at, kind, cause, actor, added, removed, related"


def _identifiers(text: str) -> tuple[Identifier, ...]:
    """Identifiers are kept as their keys ("kind|value")."""
    return tuple(Identifier.of_key(key) for key in decode_keys(text))


def _version(row: sqlite3.Row) -> VersionRow:
    return VersionRow(ProfileId(row[0]), row[1], from_micros(row[2]), row[3], row[4], row[5],
                      _identifiers(row[6]), _identifiers(row[7]), decode_ids(row[8]))


class SqliteProfileVersions(SqlitePart):
    """Each profile's versions, numbered from 1."""

    async def append_versions(self, rows: Sequence[VersionRow]) -> None:
        try:
            self._conn.executemany(
                f"INSERT INTO profile_versions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(r.profile_id, r.version, to_micros(r.at), r.kind, r.cause, r.actor,
                  encode_keys(tuple(i.key for i in r.added)),
                  encode_keys(tuple(i.key for i in r.removed)), encode_ids(r.related))
                 for r in rows])
        except sqlite3.IntegrityError as exc:
            # The primary key refused a (profile, version) stored already: two writers
            # numbered one profile's change alike; the transaction rolls back and one retries.
            raise StoreConflict(f"profile version stored twice: {exc}") from exc

    async def latest_versions(self, profile_ids: Sequence[str]) -> dict[ProfileId, int]:
        # One statement however many ids: they go as one JSON array, and each id's last
        # version is one seek at the end of its primary-key range. On every write that
        # records versions: the time is the view's alone (latest_stamp).
        rows = self._rows(
            "SELECT j.value, (SELECT max(v.version) FROM profile_versions v"
            " WHERE v.profile_id = j.value) FROM json_each(?) j",
            (json.dumps(list(profile_ids)),))
        return {ProfileId(row[0]): row[1] for row in rows if row[1] is not None}

    async def latest_stamp(self, profile_id: str) -> tuple[int, datetime | None]:
        """A profile's last version and its time, (0, None) for none: what its view reads
        (views.py). One seek from the end of its primary-key range."""
        row = self._conn.execute(
            "SELECT version, at FROM profile_versions WHERE profile_id = ?"
            " ORDER BY version DESC LIMIT 1", (profile_id,)).fetchone()
        return (row[0], from_micros(row[1])) if row else (0, None)

    async def read_versions(self, profile_id: str, after: int, limit: int
                            ) -> list[VersionRow]:
        return [_version(row) for row in self._rows(
            f"SELECT {_COLUMNS} FROM profile_versions WHERE profile_id = ? AND version > ?"
            " ORDER BY version LIMIT ?", (profile_id, after, limit))]
