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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from identity.domain.batch_resolution import BatchPlan, BatchResolution
from identity.domain.changes import ChangeKind, ProfileChange
from identity.domain.guards import (
    JOINING_RULES,
    NEVER_MARK,
    NEVER_PREFIX,
    NEVER_RULES,
    LinkOrder,
    ProfileLimits,
    order_mark,
)
from identity.domain.links import Link, LinkRule
from identity.domain.partition import Candidate, LinkKey, partition
from identity.domain.resolution import GroupState, plan_split
from identity.domain.steward import StewardNote
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
class Restore:
    """How a region was before an action being undone: each node's profile id then, and the
    ids then merged into each profile. A piece all of whose members had one id gets that id
    back (an id merged away answers for itself again) instead of a new one."""

    profile_of: Mapping[Identifier, ProfileId]
    merged: Mapping[ProfileId, tuple[ProfileId, ...]]

    def id_of(self, piece: Sequence[Identifier]) -> ProfileId | None:
        found = {self.profile_of.get(node) for node in piece}
        return found.pop() if len(found) == 1 else None


@dataclass(frozen=True, slots=True)
class Settled:
    changes: list[ProfileChange]
    touched: frozenset[ProfileId]  # every profile id the region held or holds now


def link_order(link: Link, limits: ProfileLimits) -> LinkOrder:
    return limits.order(link.a, link.b, link.evidence.rule, link.evidence.first_seen,
                        link.evidence.score)


async def read_region(graph: IdentityGraph, seeds: Iterable[Identifier],
                      since: LinkOrder | None, limits: ProfileLimits,
                      groups: Iterable[int] = ()) -> Region:
    """`groups`: profiles to start from besides the seeds' (a steward's action knows them)."""
    region = Region()
    wanted = sorted(set(seeds))
    rows = await graph.find_identifiers(wanted) if wanted else []
    frontier = {row.group_id for row in rows if row.group_id is not None} | set(groups)
    while frontier:
        around = await graph.read_groups_around(sorted(frontier))  # groups locked till commit
        for group in around.groups:
            region.groups[group.group_id] = group
        region.members.update((m.identifier, m) for m in around.members)
        found = around.links
        region.links.update(((k.a, k.b, k.evidence.rule), k) for k in found)
        region.outside.update((row.identifier, row) for row in around.ends
                              if row.identifier not in region.members
                              and row.identifier not in region.outside)
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
                 limits: ProfileLimits, now: datetime, cause: EventId, *,
                 rule: str = "settle", restore: Restore | None = None) -> Settled:
    """Decides the region of `seeds` again and writes what changed: link states, held
    marks, and the profiles as splits then merges (the piece holding a profile's strongest
    identifier keeps its id; the oldest id survives a merge: invariant 2). `rule`: what
    decided, for the changes' history; `restore`: the ids to give back (an undo)."""
    region = await read_region(graph, seeds, since, limits)
    inside = set(region.members)
    unlinked = {(k.a, k.b): _steward_why(k, "unlinked") for k in region.links.values()
                if k.evidence.rule == LinkRule.UNLINKED}
    joining = [k for k in region.links.values()
               if region.joins(k) and k.a in inside and k.b in inside]
    candidates = [_candidate(k, limits) for k in joining if (k.a, k.b) not in unlinked]
    disabled = [_candidate(k, limits) for k in joining if (k.a, k.b) in unlinked]
    # A link a steward holds (unlinked, or held by a steward's never-link) is no bridge: the
    # steward said where its weak end belongs. Only a limit's or a rule's hold makes one.
    leaving = [Candidate(k.a, k.b, k.evidence.rule, link_order(k, limits))
               for k in region.links.values()
               if region.joins(k) and not k.is_active and (k.a in inside) != (k.b in inside)
               and (k.a, k.b) not in unlinked and not _steward_hold(k.inactive_reason)]
    apart = [(k.a, k.b, _never_why(k)) for k in region.links.values()
             if k.evidence.rule == LinkRule.VETOED and k.a in inside and k.b in inside]
    kept_apart = [(k.a, k.b, _never_why(k)) for k in region.links.values()
                  if k.evidence.rule == LinkRule.NEVER and k.a in inside and k.b in inside]
    decided = partition(inside, candidates, limits, leaving, apart, kept_apart)
    held = {**decided.held, **{c.key: unlinked[(c.a, c.b)] for c in disabled}}
    await _write_links(graph, region, [*candidates, *disabled], leaving, held)
    changes = await _repartition(graph, region, decided.parts, limits, now, cause, rule,
                                 restore)
    touched = {g.profile_id for g in region.groups.values()}
    touched.update(p for change in changes for p in change.mentioned_ids)
    return Settled(changes, frozenset(touched))


def _candidate(link: Link, limits: ProfileLimits) -> Candidate:
    note = StewardNote.from_json(link.evidence.details) \
        if link.evidence.rule == LinkRule.MANUAL else None
    return Candidate(link.a, link.b, link.evidence.rule, link_order(link, limits),
                     note.allowed if note else ())


def _steward_why(link: Link, what: str) -> str:
    note = StewardNote.from_json(link.evidence.details)
    who = f"{note.actor} ({note.reason})" if note else "a steward"
    return (f"{what} by {who}: {link.a.kind} {link.a.value} and {link.b.kind} "
            f"{link.b.value}")


# The words a steward's hold starts with (_steward_why writes them, partition wraps them).
_STEWARD_HOLDS = ("unlinked by ", f"{NEVER_PREFIX}kept apart by ")


def _steward_hold(reason: str | None) -> bool:
    """Whether a link is held by a steward's decision (the words _steward_why writes)."""
    return reason is not None and reason.startswith(_STEWARD_HOLDS)


def _never_why(link: Link) -> str:
    """The words a held link names: the never-link rule's, or the steward's."""
    if link.evidence.rule == LinkRule.NEVER:
        return _steward_why(link, "kept apart") + " are two people"
    return (f"{link.inactive_reason} says {link.a.kind} {link.a.value} and {link.b.kind} "
            f"{link.b.value} are two people")


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
        if link.evidence.rule in NEVER_RULES or link.evidence.rule == LinkRule.UNLINKED:
            marks.update((end, NEVER_MARK) for end in (link.a, link.b) if end in region.members)
    await graph.mark_held([(node, marks.get(node))
                              for node, row in sorted(region.members.items())
                              if row.held != marks.get(node)])


async def _repartition(graph: IdentityGraph, region: Region, parts: list[list[Identifier]],
                       limits: ProfileLimits, now: datetime, cause: EventId, rule: str,
                       restore: Restore | None) -> list[ProfileChange]:
    """Splits first: each group keeps the piece holding its strongest identifier
    (domain.resolution.plan_split) and gives each other piece a new profile (or, undoing,
    the id it had); then merges: the pieces of one part fold into one profile, the oldest
    id surviving."""
    part_of = {node: index for index, part in enumerate(parts) for node in part}
    by_group: dict[int, list[NodeRow]] = defaultdict(list)
    for row in region.members.values():
        assert row.group_id is not None, "every node of the graph is in a profile"
        by_group[row.group_id].append(row)
    changes: list[ProfileChange] = []
    carved: list[tuple[GroupState, list[Identifier]]] = []
    kept: dict[int, int] = {}  # group -> members it keeps
    splits: list[tuple[ProfileId, list[list[Identifier]]]] = []  # (profile, pieces it gives)
    for group_id, rows in sorted(by_group.items()):
        ordered = plan_split([(r.identifier, r.first_seen) for r in rows], part_of,
                             limits.rank)
        current = region.groups[group_id].profile_id
        if restore is not None and len(ordered) > 1:
            ordered = sorted(ordered, key=lambda piece: restore.id_of(piece) != current)
        kept[group_id] = len(ordered[0])
        if len(ordered) > 1:
            splits.append((current, ordered[1:]))
    for (current, pieces), made in zip(splits, await _carve(graph, splits, now, restore),
                                       strict=True):
        carved += list(zip(made, pieces, strict=True))
        changes.append(ProfileChange(
            ChangeKind.SPLIT, current, cause, now, split_ids=tuple(g.profile_id for g in made),
            removed=tuple(sorted(n for piece in pieces for n in piece)),
            pieces=tuple(tuple(piece) for piece in pieces), rule=rule))
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
                                         joined.merged_ids, rule=rule))
    await write_plan(graph, resolution.plan(), now)
    return changes


async def _carve(graph: IdentityGraph, splits: list[tuple[ProfileId, list[list[Identifier]]]],
                 now: datetime, restore: Restore | None) -> list[list[GroupState]]:
    """Per (profile, pieces), a group per piece carved out of it: a new profile each, or,
    undoing, the id the piece had before when the profile absorbed it (never an id someone
    else holds). Every split's groups made in one call (a round trip on Neo4j)."""
    backs: list[list[ProfileId | None]] = []
    for current, pieces in splits:
        absorbed = set(await graph.merged_ids(current)) if restore is not None else set()
        wanted = [restore.id_of(piece) if restore is not None else None for piece in pieces]
        backs.append([p if p is not None and p in absorbed else None for p in wanted])
    flat = [p for back in backs for p in back]
    fresh = iter(await graph.create_groups([new_profile_id() for p in flat if p is None], now))
    revived = iter(await graph.restore_groups(
        [(p, restore.merged.get(p, ())) for p in flat if p is not None and restore]))
    return [[next(fresh) if p is None else next(revived) for p in back] for back in backs]


async def write_plan(graph: IdentityGraph, plan: BatchPlan, now: datetime) -> None:
    created = await graph.create_groups(plan.new_profiles, now)
    real = {-(i + 1): group.group_id for i, group in enumerate(created)}

    def group(group_id: int) -> int:
        return real.get(group_id, group_id)

    await graph.move_members([(group(a), group(b)) for a, b in plan.moves])
    await graph.assign_members([(node, group(g)) for node, g in plan.placements])
    await graph.relabel_groups([(group(g), p, absorbed) for g, p, absorbed in plan.relabels])
