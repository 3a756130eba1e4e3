"""The invariants of docs/architecture.md checked on any store through the protocol alone."""

from __future__ import annotations

from collections.abc import Sequence

from identity.domain.resolution import components
from identity.domain.types import Identifier
from identity.store import GraphStore


async def partition_checked(
    store: GraphStore, identifiers: Sequence[Identifier]
) -> frozenset[frozenset[Identifier]]:
    """The partition of `identifiers` into profiles, after asserting that every known node is
    in exactly one group whose size is right, that each group is one connected component of
    active links, and that each group's profile id resolves to that same group."""
    async with store.transaction(read_only=True) as tx:
        nodes = await tx.graph.find_identifiers(identifiers)
        assert all(n.group_id is not None for n in nodes), "a node outside every profile"
        group_ids = sorted({n.group_id for n in nodes if n.group_id is not None})
        groups = await tx.graph.read_groups(group_ids)
        assert sorted(g.group_id for g in groups) == group_ids, "a node in a deleted group"
        members: dict[int, set[Identifier]] = {}
        for group in groups:
            rows = await tx.graph.read_members([group.group_id])
            members[group.group_id] = {r.identifier for r in rows}
            assert group.size == len(rows), f"group {group.group_id}: size {group.size}"
            (row,) = await tx.graph.lookup_profiles([group.profile_id])
            assert row.group_id == group.group_id and row.profile_id == group.profile_id
            links = await tx.graph.read_links(sorted(members[group.group_id]))
            inside = members[group.group_id]
            edges = [(link.a, link.b) for link in links
                     if link.is_active and link.a in inside and link.b in inside]
            assert len(components(inside, edges)) == 1, f"group {group.group_id} is not connected"
            assert all(not link.is_active or (link.a in inside and link.b in inside)
                       for link in links), "an active link crosses two profiles"
        seen: set[Identifier] = set()
        for group_members in members.values():
            assert not (seen & group_members), "a node in two profiles"
            seen |= group_members
    wanted = set(identifiers)
    return frozenset(frozenset(m & wanted) for m in members.values() if m & wanted)
