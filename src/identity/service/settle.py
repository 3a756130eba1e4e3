"""Settling a region of the graph: deciding again which links join the profiles a change can
reach, under the per-profile limits (docs/architecture.md, invariant 7).

Most links join on the fast path (domain.batch: `admits`). A link that might break a limit, or
that comes before a link a limit already holds, is decided here instead, with the links that
leave the graph's joining set (a new hub): the partition of the region is computed again from
its links alone (domain.partition) and written as splits and merges, each with its change
event, so a late event that changes the answer moves the decision (invariant 3).

The region is the profiles of the seeds, and every profile a limit holds apart from one of them
by a link decided after `since`, again and again: a decision before `since` cannot change, as
everything before it is as it was, so a link held earlier never widens the region. In practice
a region is one or two profiles; a long chain held apart at its end is not re-read when it
grows at its end.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from identity.domain.batch_resolution import BatchPlan, BatchResolution
from identity.domain.changes import ChangeKind, ProfileChange
from identity.domain.guards import (
    JOINING_RULES,
    NEVER_MARK,
    LinkOrder,
    ProfileLimits,
    order_mark,
)
from identity.domain.links import Link, LinkRule
from identity.domain.partition import Candidate, LinkKey, partition
from identity.domain.resolution import GroupState, plan_split
from identity.domain.types import EventId, Identifier, ProfileId
from identity.service.profile_ids import new_profile_id
from identity.store.protocol import IdentityGraph, NodeRow


@dataclass
class Region:
    """One closed region: its groups (locked), members and every link touching a member."""

    groups: dict[int, GroupState] = field(default_factory=dict)
    members: dict[Identifier, NodeRow] = field(default_factory=dict)
    outside: dict[Identifier, NodeRow] = field(default_factory=dict)  # ends of links leaving
    links: dict[LinkKey, Link] = field(default_factory=dict)

    def is_hub(self, node: Identifier) -> bool:
        row = self.members.get(node) or self.outside.get(node)
        return row is not None and row.hub_reason is not None

    def joins(self, link: Link) -> bool:
        """A link the limits decide: of a joining rule, between two non-hubs."""
        return (link.evidence.rule in JOINING_RULES and not self.is_hub(link.a)
                and not self.is_hub(link.b))


@dataclass(frozen=True, slots=True)
class Settled:
    changes: list[ProfileChange]
    touched: frozenset[ProfileId]  # every profile id the region held or holds now


def link_order(link: Link, limits: ProfileLimits) -> LinkOrder:
    return limits.order(link.a, link.b, link.evidence.rule, link.evidence.first_seen,
                        link.evidence.score)


async def read_region(graph: IdentityGraph, seeds: Iterable[Identifier],
                      since: LinkOrder | None, limits: ProfileLimits) -> Region:
    region = Region()
    rows = await graph.find_identifiers(sorted(set(seeds)))
    frontier = {row.group_id for row in rows if row.group_id is not None}
    while frontier:
        for group in await graph.read_groups(sorted(frontier)):  # locked until commit
            region.groups[group.group_id] = group
        members = await graph.read_members(sorted(frontier))
        region.members.update((m.identifier, m) for m in members)
        found = await graph.read_links([m.identifier for m in members])
        region.links.update(((k.a, k.b, k.evidence.rule), k) for k in found)
        ends = sorted({end for k in found for end in (k.a, k.b)} - set(region.members)
                      - set(region.outside))
        outside = await graph.find_identifiers(ends)
        region.outside.update((row.identifier, row) for row in outside)
        frontier = set()
        for link in found:
            if link.is_active or not region.joins(link):
                continue
            if since is not None and link_order(link, limits) <= since:
                continue
            for end in (link.a, link.b):
                row = region.outside.get(end)
                if row is not None and row.group_id is not None and \
                        row.group_id not in region.groups:
                    frontier.add(row.group_id)
    for identifier in list(region.outside):
        if identifier in region.members:
            del region.outside[identifier]
    return region


async def settle(graph: IdentityGraph, seeds: Iterable[Identifier], since: LinkOrder | None,
                 limits: ProfileLimits, now: datetime, cause: EventId) -> Settled:
    """Decides the region of `seeds` again and writes what changed: link states, held
    marks, and the profiles as splits then merges (the piece holding a profile's strongest
    identifier keeps its id; the oldest id survives a merge: invariant 2)."""
    region = await read_region(graph, seeds, since, limits)
    inside = set(region.members)
    candidates = [Candidate(k.a, k.b, k.evidence.rule, link_order(k, limits))
                  for k in region.links.values()
                  if region.joins(k) and k.a in inside and k.b in inside]
    leaving = [Candidate(k.a, k.b, k.evidence.rule, link_order(k, limits))
               for k in region.links.values()
               if region.joins(k) and not k.is_active and (k.a in inside) != (k.b in inside)]
    apart = [(k.a, k.b, f"{k.inactive_reason} says {k.a.kind} {k.a.value} and {k.b.kind} "
              f"{k.b.value} are two people") for k in region.links.values()
             if k.evidence.rule == LinkRule.VETOED and k.a in inside and k.b in inside]
    decided = partition(inside, candidates, limits, leaving, apart)
    await _write_links(graph, region, candidates, leaving, decided.held)
    changes = await _repartition(graph, region, decided.parts, limits, now, cause)
    touched = {g.profile_id for g in region.groups.values()}
    touched.update(p for change in changes for p in change.mentioned_ids)
    return Settled(changes, frozenset(touched))


async def _write_links(graph: IdentityGraph, region: Region, candidates: Sequence[Candidate],
                       leaving: Sequence[Candidate], held: dict[LinkKey, str]) -> None:
    states = []
    for candidate in candidates:
        link = region.links[candidate.key]
        reason = held.get(candidate.key)
        if link.is_active != (reason is None) or (reason and link.inactive_reason != reason):
            states.append((candidate.a, candidate.b, candidate.rule, reason))
    await graph.set_link_states(states)
    # A node's mark is the latest held link at it: inside the region as just decided, and
    # those leaving it (held before `since`, so as they were).
    marks: dict[Identifier, str] = {}
    for held_link in [*(c for c in candidates if c.key in held), *leaving]:
        for end in (held_link.a, held_link.b):
            if end in region.members:
                marks[end] = max(marks.get(end, ""), order_mark(held_link.order))
    for link in region.links.values():
        if link.evidence.rule == LinkRule.VETOED:
            marks.update((end, NEVER_MARK) for end in (link.a, link.b) if end in region.members)
    await graph.mark_held([(node, marks.get(node))
                              for node, row in sorted(region.members.items())
                              if row.held != marks.get(node)])


async def _repartition(graph: IdentityGraph, region: Region, parts: list[list[Identifier]],
                       limits: ProfileLimits, now: datetime, cause: EventId
                       ) -> list[ProfileChange]:
    """Splits first: each group keeps the piece holding its strongest identifier
    (domain.resolution.plan_split) and gives each other piece a new profile; then merges:
    the pieces of one part fold into one profile, the oldest id surviving."""
    part_of = {node: index for index, part in enumerate(parts) for node in part}
    by_group: dict[int, list[NodeRow]] = defaultdict(list)
    for row in region.members.values():
        assert row.group_id is not None, "every node of the graph is in a profile"
        by_group[row.group_id].append(row)
    changes: list[ProfileChange] = []
    carved: list[tuple[GroupState, list[Identifier]]] = []
    kept: dict[int, int] = {}  # group -> members it keeps
    for group_id, rows in sorted(by_group.items()):
        ordered = plan_split([(r.identifier, r.first_seen) for r in rows], part_of,
                             limits.rank)
        kept[group_id] = len(ordered[0])
        if len(ordered) == 1:
            continue
        made = await graph.create_groups([new_profile_id() for _ in ordered[1:]], now)
        carved += list(zip(made, ordered[1:], strict=True))
        changes.append(ProfileChange(ChangeKind.SPLIT, region.groups[group_id].profile_id,
                                     cause, now, split_ids=tuple(g.profile_id for g in made)))
    await graph.assign_members([(node, group.group_id) for group, nodes in carved
                             for node in nodes])
    node_groups: dict[Identifier, int | None] = {
        node: row.group_id for node, row in region.members.items()}
    node_groups.update((node, group.group_id) for group, nodes in carved for node in nodes)
    pieces_now = [replace(g, size=kept[g.group_id]) for g in region.groups.values()]
    pieces_now += [replace(group, size=len(nodes)) for group, nodes in carved]
    resolution = BatchResolution(node_groups, pieces_now, new_profile_id)
    for part in parts:
        joined = resolution.join(part, carries_data=False)
        if joined.change is ChangeKind.MERGED:
            changes.append(ProfileChange(ChangeKind.MERGED, joined.profile_id, cause, now,
                                         joined.merged_ids))
    await write_plan(graph, resolution.plan(), now)
    return changes


async def write_plan(graph: IdentityGraph, plan: BatchPlan, now: datetime) -> None:
    created = await graph.create_groups(plan.new_profiles, now)
    real = {-(i + 1): group.group_id for i, group in enumerate(created)}

    def group(group_id: int) -> int:
        return real.get(group_id, group_id)

    await graph.move_members([(group(a), group(b)) for a, b in plan.moves])
    await graph.assign_members([(node, group(g)) for node, g in plan.placements])
    await graph.relabel_groups([(group(g), p, absorbed) for g, p, absorbed in plan.relabels])
