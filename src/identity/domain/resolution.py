"""Incremental connected components: what one event does to the profiles it touches.

Pure: no I/O. Union by size (docs/architecture.md): the members of the smaller groups move
into the largest, so total relabelling stays O(n log n); the public id that survives is the
oldest, whichever group held it, so ids already handed out keep resolving
(docs/architecture.md, invariant 2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from identity.domain.types import Identifier, ProfileId

# Anything orderable and hashable: identifiers in the graph, record ids in batch matching.
Node = TypeVar("Node", Identifier, str)


@dataclass(frozen=True, slots=True)
class GroupState:
    group_id: int
    profile_id: ProfileId
    profile_seq: int  # creation order of the public id: lower is older
    size: int


@dataclass(frozen=True, slots=True)
class GroupMakeup:
    """What the per-profile limits need to know of a group: its identifiers by kind, and the
    mark of the latest link a limit holds at one of its members (None: no held link)."""

    kinds: Mapping[str, int]
    held: str | None = None


def makeups(rows: Iterable[tuple[int, str, int, str | None]]) -> dict[int, GroupMakeup]:
    """Each group's makeup from the rows a store counts: (group, kind, members of that kind,
    the latest held mark among them)."""
    kinds: dict[int, dict[str, int]] = {}
    held: dict[int, str | None] = {}
    for group_id, kind, count, mark in rows:
        kinds.setdefault(group_id, {})[kind] = count
        held[group_id] = max((m for m in (held.get(group_id), mark) if m is not None),
                             default=None)
    return {group_id: GroupMakeup(found, held[group_id]) for group_id, found in kinds.items()}


@dataclass(frozen=True, slots=True)
class MergePlan:
    container: int
    absorbed_groups: tuple[int, ...]
    survivor: ProfileId
    absorbed_profiles: tuple[ProfileId, ...]


def plan_merge(groups: list[GroupState]) -> MergePlan:
    if not groups:
        raise ValueError("a merge needs at least one group")
    container = max(groups, key=lambda g: (g.size, -g.profile_seq))
    oldest = min(groups, key=lambda g: (g.profile_seq, g.profile_id))
    return MergePlan(
        container=container.group_id,
        absorbed_groups=tuple(sorted(g.group_id for g in groups if g is not container)),
        survivor=oldest.profile_id,
        absorbed_profiles=tuple(
            sorted(g.profile_id for g in groups if g.profile_id != oldest.profile_id)
        ),
    )


def components(
    identifiers: Iterable[Node], edges: Iterable[tuple[Node, Node]]
) -> list[list[Node]]:
    """Connected components, each sorted, ordered by their smallest member: deterministic.

    A plain union-find: it runs once per event on a handful of nodes, where building a
    networkx graph would cost more than the rest of the event's resolution.
    """
    parent = {node: node for node in identifiers}

    def root(node: Node) -> Node:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in edges:
        parent.setdefault(a, a)
        parent.setdefault(b, b)
        parent[root(a)] = root(b)
    parts: dict[Node, list[Node]] = {}
    for node in parent:
        parts.setdefault(root(node), []).append(node)
    return sorted((sorted(part) for part in parts.values()), key=lambda part: part[0])


def plan_split(members: Iterable[tuple[Identifier, datetime]],
               part_of: Mapping[Identifier, int], rank: Callable[[str], int]
               ) -> list[list[Identifier]]:
    """The pieces one profile splits into, by the part each member now belongs to. The
    first keeps the profile's id: the piece holding its strongest identifier (an account
    before an email before a phone..., the earliest seen among equals), so an id handed out
    for an account stays with that account (invariant 2); the others get new ids."""
    pieces: dict[int, list[tuple[Identifier, datetime]]] = {}
    for node, seen in members:
        pieces.setdefault(part_of[node], []).append((node, seen))
    ordered = sorted(pieces.values(), key=lambda piece: min(
        (rank(node.kind), seen, node) for node, seen in piece))
    return [sorted(node for node, _ in piece) for piece in ordered]
