"""Neo4j: a profile's view in one query: the profile and its survivor, its members, their
events that carry data, the ids merged into it, its latest version (and that version's time) and
the reasons held at its held members (five to six round trips before, each a millisecond or two)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, LiteralString

from identity.domain.types import Identifier, ProfileId, from_micros
from identity.store.neo4j.base import NODE_FIELDS, Neo4jPart, node_row
from identity.store.neo4j.events import EVENT_FIELDS, stored_event
from identity.store.protocol import ProfileReading, ProfileRow

# Per id, as lookup_profiles, read_members, read_stored_events, merged_ids and
# versions.latest_versions read it (the same index seeks), each in a subquery of its own.
_BY_ID: LiteralString = (
    "UNWIND range(0, size($ids) - 1) AS i MATCH (p:Profile {profile_id: $ids[i]})"
    " WITH i, p.profile_id AS requested, coalesce(p.merged_into, p.profile_id) AS current"
    " MATCH (g:Group {profile_id: current}) MATCH (c:Profile {profile_id: current})"
    " WITH i, requested, current, g.group_id AS group_id, c.created_at AS created_at"
    " WHERE group_id IS NOT NULL AND created_at IS NOT NULL"
)
# A node's group read once: one that a concurrent merge deletes mid-statement reads as nulls,
# and the node comes back without a profile (the caller retries).
_BY_KEY: LiteralString = (
    "UNWIND range(0, size($keys) - 1) AS i MATCH (n0:Identifier {key: $keys[i]})"
    " OPTIONAL MATCH (g:Group {group_id: n0.group_id})"
    " WITH i, n0.key AS key, g.group_id AS group_id, g.profile_id AS current"
    " OPTIONAL MATCH (c:Profile {profile_id: current})"
    " WITH i, key, current AS requested, current, group_id, c.created_at AS created_at"
)
_EACH: LiteralString = (
    " CALL (group_id) { MATCH (n:Identifier {group_id: group_id})"
    "   WITH n ORDER BY n.kind, n.value"
    "   RETURN collect({" + NODE_FIELDS + "}) AS members, collect(n.key) AS keys,"
    "   collect(CASE WHEN n.held IS NOT NULL THEN n.key END) AS held }"
    " CALL (keys) { UNWIND keys AS k MATCH (e:Event {anchor: k}) WHERE e.has_data"
    "   RETURN collect(e {" + EVENT_FIELDS + "}) AS events }"
    " CALL (current) { MATCH (m:Profile {merged_into: current}) WITH m ORDER BY m.seq"
    "   RETURN collect(m.profile_id) AS merged }"
    " CALL (current) { OPTIONAL CALL (current) { MATCH (v:ProfileVersion)"
    "   USING INDEX v:ProfileVersion(profile_id, version)"
    "   WHERE v.profile_id = current AND v.version IS NOT NULL"
    "   RETURN v.version AS version, v.at AS at"
    "   ORDER BY v.profile_id DESC, v.version DESC LIMIT 1 }"
    "   RETURN coalesce(version, 0) AS version, at AS updated_at }"
    " CALL (held) { UNWIND held AS k MATCH (:Identifier {key: k})-[l:LINKED]-()"
    "   WHERE NOT l.is_active AND l.inactive_reason IS NOT NULL"
    "   RETURN collect(DISTINCT l.inactive_reason) AS reasons }"
)
# Per id, as lookup_profiles, read_members, read_stored_events, merged_ids and
# versions.latest_versions read it (the same index seeks), each in a subquery of its own.
_READ: LiteralString = (
    _BY_ID + _EACH + " WITH * ORDER BY i RETURN collect({i: i, requested: requested,"
    " current: current, group_id: group_id, created_at: created_at, members: members,"
    " events: events, merged: merged, version: version, updated_at: updated_at,"
    " reasons: reasons}) AS rows"
)
_IDS_OF: LiteralString = (
    _BY_KEY + " WITH i, current ORDER BY i RETURN collect({i: i, current: current}) AS rows")
_READ_OF: LiteralString = (
    _BY_KEY + _EACH + " WITH * ORDER BY i RETURN collect({i: i, key: key,"
    " requested: requested, current: current, group_id: group_id, created_at: created_at,"
    " members: members, events: events, merged: merged, version: version,"
    " updated_at: updated_at, reasons: reasons}) AS rows"
)


def _reading(r: Mapping[str, Any]) -> ProfileReading:
    members = [node_row(m) for m in r["members"]]
    by_key = {m.identifier.key: m.identifier for m in members}
    row = ProfileRow(ProfileId(r["requested"]), ProfileId(r["current"]), r["group_id"],
                     from_micros(r["created_at"]))
    return ProfileReading(
        row, members,
        [stored_event(e, by_key.get(e["anchor"]) or Identifier.of_key(e["anchor"]))
         for e in r["events"]],
        [ProfileId(p) for p in r["merged"]], r["version"],
        None if r["updated_at"] is None else from_micros(r["updated_at"]),
        sorted(r["reasons"]))


class Neo4jProfileViews(Neo4jPart):
    """What a profile's view is built from."""

    async def read_profiles(self, profile_ids: Sequence[str]) -> list[ProfileReading]:
        return [_reading(r) for r in await self._rows(_READ, ids=list(profile_ids))]

    async def profile_ids_of(self, identifiers: Sequence[Identifier]
                             ) -> dict[Identifier, ProfileId | None]:
        found: dict[Identifier, ProfileId | None] = {}
        for r in await self._rows(_IDS_OF, keys=[i.key for i in identifiers]):
            found[identifiers[r["i"]]] = ProfileId(r["current"]) if r["current"] else None
        return found

    async def read_profiles_of(self, identifiers: Sequence[Identifier]
                               ) -> dict[Identifier, ProfileReading | None]:
        keys = [i.key for i in identifiers]
        found: dict[Identifier, ProfileReading | None] = {}
        for r in await self._rows(_READ_OF, keys=keys):
            whole = r["current"] is not None and r["created_at"] is not None and r["members"]
            found[identifiers[r["i"]]] = _reading(r) if whole else None
        return found
