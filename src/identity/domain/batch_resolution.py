"""One batch of events resolved in memory, then written in a few bulk operations.

Pure: no I/O. The batch's nodes and the groups they belong to are read once; each event is
then joined in arrival order exactly as if it were applied alone (so every event still gets
its own outcome and change events), and `plan()` says what to write: the groups to create,
the groups to fold into others, the nodes to place and the public ids to relabel. A store
round trip per batch instead of several per event is what lets a networked store keep up.

Joining here is the fast path of the per-profile limits (docs/architecture.md, invariant 7):
`admits` says when a join cannot be at stake, because the joined profile keeps within every
limit and no link a limit holds at its members is decided after the new ones; the service
decides the other cases over their region of the graph (service/settle.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from identity.domain.changes import ChangeKind
from identity.domain.guards import LinkOrder, ProfileLimits, order_mark
from identity.domain.resolution import GroupMakeup, GroupState, plan_merge
from identity.domain.types import Identifier, ProfileId


@dataclass(frozen=True, slots=True)
class Joined:
    """What joining one connected part of an event did."""

    profile_id: ProfileId
    merged_ids: tuple[ProfileId, ...]
    change: ChangeKind | None
    added: tuple[Identifier, ...] = ()  # identifiers new to the graph it placed there


@dataclass(frozen=True, slots=True)
class BatchPlan:
    """Writes in order. Group ids below zero name groups `new_profiles` creates, in order:
    -1 is the first. Groups created and absorbed in the same batch still get created, so the
    profile id an earlier event reported keeps resolving to its survivor."""

    new_profiles: tuple[ProfileId, ...]
    moves: tuple[tuple[int, int], ...]  # (absorbed group, surviving group)
    placements: tuple[tuple[Identifier, int], ...]  # a node without a group joins one
    relabels: tuple[tuple[int, ProfileId, tuple[ProfileId, ...]], ...]


@dataclass
class _Group:
    group_id: int
    profile_id: ProfileId
    profile_seq: int
    size: int
    absorbed: list[ProfileId] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    held: str | None = None  # the latest held link's mark at a member (guards.order_mark)


class BatchResolution:
    def __init__(
        self,
        node_groups: Mapping[Identifier, int | None],
        groups: Iterable[GroupState],
        new_profile_id: Callable[[], ProfileId],
        makeup: Mapping[int, GroupMakeup] | None = None,
        limits: ProfileLimits | None = None,
        bridges: Iterable[Identifier] = (),
    ) -> None:
        """`makeup`: each group's identifiers by kind and held mark, for `admits`; without
        it (or without `limits`) every join is admitted. `bridges`: weak identifiers a limit
        holds a link at, which may vouch for no one (domain.partition): a join through one
        is never admitted here."""
        self._node_group = dict(node_groups)
        found = makeup or {}
        none = GroupMakeup({})
        self._groups: dict[int, _Group] = {}
        for g in groups:
            made = found.get(g.group_id, none)
            self._groups[g.group_id] = _Group(g.group_id, g.profile_id, g.profile_seq, g.size,
                                              kinds=Counter(made.kinds), held=made.held)
        self._limits = limits
        self._bridges = frozenset(bridges)
        self._parent: dict[int, int] = {}
        self._new_profile_id = new_profile_id
        self._new: list[ProfileId] = []
        # New profiles are younger than every stored one, and ordered among themselves.
        self._next_seq = max((g.profile_seq for g in self._groups.values()), default=0) + 1
        self._moves: list[tuple[int, int]] = []
        self._placed: list[Identifier] = []
        self._relabelled: set[int] = set()

    def group_of(self, node: Identifier) -> int | None:
        """The group the node belongs to now, merges of this batch included."""
        group_id = self._node_group[node]
        return None if group_id is None else self._root(group_id)

    def _root(self, group_id: int) -> int:
        while group_id in self._parent:
            group_id = self._parent[group_id]
        return group_id

    def _create(self) -> _Group:
        profile_id = self._new_profile_id()
        self._new.append(profile_id)
        group = _Group(-len(self._new), profile_id, self._next_seq, 0)
        self._next_seq += 1
        self._groups[group.group_id] = group
        return group

    def admits(self, part: Iterable[Identifier], order: LinkOrder) -> bool:
        """Whether joining `part` is certainly what the limits decide: the joined profile
        keeps within every limit, and no link a limit holds at its members comes at or after
        `order` (the earliest of the new links'), so nothing decided before changes."""
        if self._limits is None:
            return True
        nodes = set(part)
        if not self._bridges.isdisjoint(nodes):
            return False
        roots = {self._root(g) for n in nodes if (g := self._node_group[n]) is not None}
        groups = [self._groups[r] for r in roots]
        if any(sum(g.kinds.values()) != g.size for g in groups):
            return False  # the store's counts do not add up: settle decides (fail closed)
        held = [g.held for g in groups if g.held is not None]
        if held and max(held) >= order_mark(order):
            return False
        counts: Counter[str] = Counter(n.kind for n in nodes if self._node_group[n] is None)
        for group in groups:
            counts.update(group.kinds)
        return self._limits.broken(counts) is None

    def join(self, part: list[Identifier], *, carries_data: bool) -> Joined:
        """Folds every profile that one connected part of one event touches into one."""
        roots = sorted({self._root(g) for n in part if (g := self._node_group[n]) is not None})
        newcomers = [n for n in part if self._node_group[n] is None]
        change: ChangeKind | None = None
        merged: tuple[ProfileId, ...] = ()
        if not roots:
            group, change = self._create(), ChangeKind.CREATED
        elif len(roots) == 1:
            group = self._groups[roots[0]]
            change = ChangeKind.UPDATED if newcomers or carries_data else None
        else:
            group, merged = self._merge([self._groups[r] for r in roots])
            change = ChangeKind.MERGED
        for node in newcomers:
            self._node_group[node] = group.group_id
            self._placed.append(node)
            group.size += 1
            group.kinds[node.kind] += 1
        return Joined(group.profile_id, merged, change, tuple(sorted(newcomers)))

    def _merge(self, groups: list[_Group]) -> tuple[_Group, tuple[ProfileId, ...]]:
        plan = plan_merge([GroupState(g.group_id, g.profile_id, g.profile_seq, g.size)
                           for g in groups])
        container = self._groups[plan.container]
        for absorbed_id in plan.absorbed_groups:
            absorbed = self._groups[absorbed_id]
            self._parent[absorbed_id] = container.group_id
            self._moves.append((absorbed_id, container.group_id))
            container.size += absorbed.size
            container.kinds.update(absorbed.kinds)
            container.held = max((m for m in (container.held, absorbed.held) if m is not None),
                                 default=None)
        container.profile_id = plan.survivor
        container.profile_seq = min(g.profile_seq for g in groups)
        container.absorbed.extend(plan.absorbed_profiles)
        self._relabelled.add(container.group_id)
        return container, plan.absorbed_profiles

    def plan(self) -> BatchPlan:
        """Moves chain through roots in the order they happened, so a group absorbed twice
        lands where its members finally belong; placements go straight to final roots."""
        absorbed_by_root: dict[int, list[ProfileId]] = {}
        for group_id, group in self._groups.items():  # once: a root per group, not per pair
            if group.absorbed:
                absorbed_by_root.setdefault(self._root(group_id), []).extend(group.absorbed)
        relabels = []
        for group_id in sorted(self._relabelled):
            if group_id in self._parent:
                continue  # absorbed later in the batch: its root is relabelled instead
            group = self._groups[group_id]
            # Every profile id folded into this root, through intermediate merges too.
            absorbed = {p for p in absorbed_by_root.get(group_id, ()) if p != group.profile_id}
            relabels.append((group_id, group.profile_id, tuple(sorted(absorbed))))
        return BatchPlan(
            new_profiles=tuple(self._new),
            moves=tuple((source, self._root(target)) for source, target in self._moves),
            placements=tuple((node, self._root(self._placed_in(node))) for node in self._placed),
            relabels=tuple(relabels),
        )

    def _placed_in(self, node: Identifier) -> int:
        group_id = self._node_group[node]
        assert group_id is not None, "placed nodes always have a group"
        return group_id
