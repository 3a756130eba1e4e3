"""SQLite: profile views read from the other roles' statements (each takes microseconds on
the embedded store, so composing them costs nothing worth a query of its own)."""

from __future__ import annotations

from collections.abc import Sequence

from identity.domain.types import Identifier, ProfileId
from identity.store.protocol import ProfileReading
from identity.store.sqlite.base import SqlitePart
from identity.store.sqlite.events import SqliteEventLog
from identity.store.sqlite.graph import SqliteGraph
from identity.store.sqlite.versions import SqliteProfileVersions


class SqliteProfileViews(SqlitePart):
    """What a profile's view is built from."""

    async def read_profiles(self, profile_ids: Sequence[str]) -> list[ProfileReading]:
        graph = SqliteGraph(self._conn, self._node_ids)
        events = SqliteEventLog(self._conn, self._node_ids)
        versions = SqliteProfileVersions(self._conn, self._node_ids)
        found: list[ProfileReading] = []
        for row in await graph.lookup_profiles(profile_ids):
            members = await graph.read_members([row.group_id])
            held = [m.identifier for m in members if m.held is not None]
            reasons = sorted({k.inactive_reason for k in await graph.read_links(held)
                              if not k.is_active and k.inactive_reason}) if held else []
            version, updated_at = await versions.latest_stamp(row.profile_id)
            found.append(ProfileReading(
                row, members, await events.read_stored_events([m.identifier for m in members]),
                await graph.merged_ids(row.profile_id), version, updated_at, reasons))
        return found

    async def profile_ids_of(self, identifiers: Sequence[Identifier]
                             ) -> dict[Identifier, ProfileId | None]:
        graph = SqliteGraph(self._conn, self._node_ids)
        nodes = await graph.find_identifiers(identifiers)
        groups = {g.group_id: g.profile_id for g in await graph.read_groups(
            sorted({n.group_id for n in nodes if n.group_id is not None}))}
        return {n.identifier: groups.get(n.group_id) if n.group_id is not None else None
                for n in nodes}

    async def read_profiles_of(self, identifiers: Sequence[Identifier]
                               ) -> dict[Identifier, ProfileReading | None]:
        graph = SqliteGraph(self._conn, self._node_ids)
        nodes = await graph.find_identifiers(identifiers)
        groups = {g.group_id: g.profile_id for g in await graph.read_groups(
            sorted({n.group_id for n in nodes if n.group_id is not None}))}
        readings = {r.row.requested_id: r for r in await self.read_profiles(
            sorted(set(groups.values())))}
        return {n.identifier: readings.get(groups[n.group_id])
                if n.group_id in groups else None for n in nodes}
