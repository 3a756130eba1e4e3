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
        return {p: version for p, (version, _) in (await self.latest_stamps(profile_ids)).items()}

    async def latest_stamps(self, profile_ids: Sequence[str]
                            ) -> dict[ProfileId, tuple[int, datetime]]:
        """The last version of each profile that has one, with its time (what a profile's
        view reads: views.py)."""
        # One statement however many ids: they go as one JSON array, and each id's last
        # version is one seek at the end of its primary-key range, its row one more seek.
        rows = self._rows(
            "SELECT j.value, v.version, v.at FROM json_each(?) j JOIN profile_versions v"
            " ON v.profile_id = j.value AND v.version = (SELECT max(w.version)"
            " FROM profile_versions w WHERE w.profile_id = j.value)",
            (json.dumps(list(profile_ids)),))
        return {ProfileId(row[0]): (row[1], from_micros(row[2])) for row in rows}

    async def read_versions(self, profile_id: str, after: int, limit: int
                            ) -> list[VersionRow]:
        return [_version(row) for row in self._rows(
            f"SELECT {_COLUMNS} FROM profile_versions WHERE profile_id = ? AND version > ?"
            " ORDER BY version LIMIT ?", (profile_id, after, limit))]
