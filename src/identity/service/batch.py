"""The body of one ingest transaction: a batch of new events applied to the graph.

Reads once (the batch's nodes, their groups, the neighbors that decide hubs), resolves in
memory (domain.batch), writes in bulk. Hubs are decided before anything is joined, from all
the batch's links, so a hub found by the batch's last event never bridged its first one.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from identity.domain.batch import BatchPlan, BatchResolution
from identity.domain.changes import ChangeKind, ProfileChange
from identity.domain.events import Event
from identity.domain.guards import HubRules, hub_reason
from identity.domain.links import LinkObservation, LinkRule, anchor, plan_links
from identity.domain.resolution import components, plan_split
from identity.domain.types import EventId, Identifier, IdentifierKind, ProfileId
from identity.service.matching import Matcher, match_events
from identity.store.protocol import EventRecord, GraphTransaction, StoreConflict


@dataclass(frozen=True, slots=True)
class Applied:
    profile_id: ProfileId
    merged_ids: tuple[ProfileId, ...]
    changes: tuple[ProfileChange, ...]


@dataclass(frozen=True, slots=True)
class AppliedBatch:
    events: dict[EventId, Applied]
    # Every profile whose view the batch may have changed, under any id it had before or has
    # now (a last_seen moved, a hub marked, a merge, a split): what read caches must forget.
    touched: frozenset[ProfileId] = frozenset()


def new_profile_id() -> ProfileId:
    """Random, so no id is ever reused, even across stores restored from backups (§2.2)."""
    return ProfileId(f"prf_{uuid.uuid4().hex}")


def _hub_link_reason(hub: Identifier, reason: str) -> str:
    return f"{hub.kind} {hub.value} stopped bridging: {reason}"


def _guarded(link: LinkObservation, hubs: dict[Identifier, str]) -> LinkObservation:
    """A link to a known hub is born inactive, with the reason (DESIGN §2.7)."""
    for end in (link.a, link.b):
        if end in hubs:
            return replace(link, inactive_reason=_hub_link_reason(end, hubs[end]))
    return link


async def _new_hubs(
    tx: GraphTransaction, links: list[LinkObservation], hubs: dict[Identifier, str],
    rules: HubRules,
) -> dict[Identifier, str]:
    """Only nodes that just gained a link to a watched kind can have crossed a limit. Hubs
    are identifiers seen *in events* with many others: a record that merely looks like
    someone else's says nothing about a shared device."""
    candidates = sorted({
        node for link in links for node, other in ((link.a, link.b), (link.b, link.a))
        if node not in hubs and rules.watches(other.kind) and other.kind != node.kind
    })
    if not candidates:
        return {}
    neighbors: dict[Identifier, list[Identifier]] = defaultdict(list)
    for node, neighbor in await tx.read_neighbors(candidates, LinkRule.SAME_EVENT, rules.kinds,
                                                    rules.kind_prefixes):
        neighbors[node].append(neighbor)
    found = {node: hub_reason(node, neighbors[node], rules) for node in candidates}
    return {node: reason for node, reason in found.items() if reason is not None}


async def _split(
    tx: GraphTransaction, group_ids: set[int], cause: EventId, now: datetime
) -> list[ProfileChange]:
    """Recomputes the components of the profiles new hubs held, and only those (§2)."""
    changes: list[ProfileChange] = []
    for group in await tx.read_groups(sorted(group_ids)):
        members = await tx.read_members([group.group_id])
        inside = {m.identifier for m in members}
        edges = [(link.a, link.b) for link in await tx.read_links(sorted(inside))
                 if link.is_active and link.a in inside and link.b in inside]
        parts = plan_split([(m.identifier, m.first_seen) for m in members], edges)[1:]
        if not parts:
            continue
        carved = await tx.create_groups([new_profile_id() for _ in parts], now)
        await tx.assign_members([(node, new.group_id)
                                 for new, part in zip(carved, parts, strict=True)
                                 for node in part])
        changes.append(ProfileChange(ChangeKind.SPLIT, group.profile_id, cause, now,
                                     split_ids=tuple(g.profile_id for g in carved)))
    return changes


async def _write(tx: GraphTransaction, plan: BatchPlan, now: datetime) -> None:
    created = await tx.create_groups(plan.new_profiles, now)
    real = {-(i + 1): group.group_id for i, group in enumerate(created)}

    def group(group_id: int) -> int:
        return real.get(group_id, group_id)

    await tx.move_members([(group(a), group(b)) for a, b in plan.moves])
    await tx.assign_members([(node, group(g)) for node, g in plan.placements])
    await tx.relabel_groups([(group(g), p, absorbed) for g, p, absorbed in plan.relabels])


async def apply_batch(
    tx: GraphTransaction, events: Sequence[Event], now: datetime, rules: HubRules,
    matcher: Matcher | None = None,
) -> AppliedBatch:
    """Applies events not seen before, in order; each gets its own outcome and changes.
    Deterministic links first, then the probabilistic ones the batch's records bring."""
    if not events:
        return AppliedBatch({})
    # Every node of the batch first, in one sorted pass: first/last seen fold in any
    # order, and node locks are taken in one global order, so batches cannot deadlock on them.
    nodes = await tx.upsert_identifiers(sorted(
        (identifier, e.timestamp) for e in events for identifier in e.identifiers))
    hubs = {n.identifier: n.hub_reason for n in nodes if n.hub_reason}
    links_of = {e.event_id: plan_links(e.identifiers, e.event_id, e.source, e.timestamp)
                for e in events}
    links = [_guarded(link, hubs) for e in events for link in links_of[e.event_id]]
    await tx.add_links(links)
    new_hubs = await _new_hubs(tx, links, hubs, rules)
    splits: list[ProfileChange] = []
    if new_hubs:
        for hub, reason in sorted(new_hubs.items()):
            await tx.deactivate_links([hub], _hub_link_reason(hub, reason))
        await tx.mark_hubs(sorted(new_hubs.items()))
        held = {n.group_id for n in nodes if n.identifier in new_hubs and n.group_id is not None}
        splits = await _split(tx, held, events[0].event_id, now)
        hubs.update(new_hubs)
        nodes = await tx.find_identifiers(sorted({n.identifier for n in nodes}))
    node_groups = {n.identifier: n.group_id for n in nodes}
    groups = await tx.read_groups(sorted({g for g in node_groups.values() if g is not None}))
    resolution = BatchResolution(node_groups, groups, new_profile_id)
    applied = {e.event_id: _join_event(resolution, e, links_of[e.event_id], hubs, now)
               for e in events}
    await _write(tx, resolution.plan(), now)
    await tx.record_events([EventRecord(e.event_id, e.type.value, e.source, e.timestamp,
                                        anchor(e.identifiers), e.traits, e.order)
                            for e in events])
    if splits:
        first = events[0].event_id
        applied[first] = replace(applied[first], changes=(*splits, *applied[first].changes))
    if matcher is not None:
        matches = await match_events(tx, events, matcher)
        if matches:
            merges = await _join_matches(tx, matches, now)
            applied = _after_matches(applied, merges)
    touched = {g.profile_id for g in groups}
    touched.update(p for outcome in applied.values() for change in outcome.changes
                   for p in change.mentioned_ids)
    return AppliedBatch(applied, frozenset(touched))


def _customer_ids_reason(left: set[Identifier], right: set[Identifier]) -> str:
    names = ", ".join(sorted(i.value for i in left | right))
    return f"never link: the profiles hold different customer ids ({names})"


async def _join_matches(
    tx: GraphTransaction, links: list[LinkObservation], now: datetime
) -> list[ProfileChange]:
    """Writes the scored links and joins the profiles the active ones connect, strongest
    first. Two profiles that each hold a customer id, and not the same one, are never joined:
    the link stays, inactive, with the reason. A pair already in one profile adds nothing to
    it and is not written (a person's tenth record would otherwise link to the nine before)."""
    anchors = sorted({end for link in links for end in (link.a, link.b)})
    # Lock the anchors, as the batch's own identifiers are locked: a concurrent merge or split
    # cannot move them between reading their groups and joining them.
    seen = await tx.find_identifiers(anchors)
    nodes = {n.identifier: n for n in await tx.upsert_identifiers(
        [(n.identifier, n.first_seen) for n in seen])}
    hubs = {node: row.hub_reason for node, row in nodes.items() if row.hub_reason}
    group_of = {node: row.group_id for node, row in nodes.items()}
    group_ids = sorted({g for g in group_of.values() if g is not None})
    groups = await tx.read_groups(group_ids)
    if len(groups) != len(group_ids) or len(nodes) != len(anchors):
        raise StoreConflict("a profile changed while the batch was matching")
    customers: dict[int, set[Identifier]] = defaultdict(set)
    for member in await tx.read_members(group_ids):
        if member.identifier.kind == IdentifierKind.CUSTOMER_ID and member.group_id is not None:
            customers[member.group_id].add(member.identifier)
    resolution = BatchResolution(group_of, groups, new_profile_id)

    def apart(link: LinkObservation) -> bool:
        return resolution.group_of(link.a) != resolution.group_of(link.b)

    # A pair whose scored link was kept inactive before (a guard said no) stays apart: a new
    # sighting folds into that inactive link, and joining anyway would leave the profile
    # without a path of active links.
    candidates = sorted({(k.a, k.b) for k in links
                         if k.rule is LinkRule.PROBABILISTIC and apart(k)})
    refused = {(k.a, k.b) for k in await tx.read_links(sorted({e for c in candidates
                                                               for e in c}))
               if k.evidence.rule == LinkRule.PROBABILISTIC and not k.is_active} \
        if candidates else set()
    written: list[LinkObservation] = []
    changes: list[ProfileChange] = []
    for link in sorted(links, key=lambda k: (-(k.score or 0.0), k.a, k.b, k.event_id)):
        link = _guarded(link, hubs)
        if link.rule is LinkRule.VETOED:
            written.append(link)  # a steward should see it, joined or not
            continue
        if not apart(link):
            continue
        if link.rule is LinkRule.PROBABILISTIC and link.inactive_reason is None and \
                (link.a, link.b) not in refused:
            ga, gb = resolution.group_of(link.a), resolution.group_of(link.b)
            assert ga is not None and gb is not None, "every node of the graph is in a profile"
            if customers[ga] and customers[gb]:
                link = replace(link, inactive_reason=_customer_ids_reason(customers[ga],
                                                                          customers[gb]))
            else:
                joined = resolution.join([link.a, link.b], carries_data=False)
                merged = resolution.group_of(link.a)
                assert merged is not None
                customers[merged] = customers.pop(ga, set()) | customers.pop(gb, set())
                if joined.change is ChangeKind.MERGED:
                    changes.append(ProfileChange(ChangeKind.MERGED, joined.profile_id,
                                                 link.event_id, now, joined.merged_ids))
        written.append(link)
    await tx.add_links(written)
    await _write(tx, resolution.plan(), now)
    return changes


def _after_matches(applied: dict[EventId, Applied], merges: list[ProfileChange]
                   ) -> dict[EventId, Applied]:
    """Each event reports the profile its identifiers ended in, and the merges it caused."""
    survivor: dict[ProfileId, ProfileId] = {}
    for change in merges:
        for absorbed in change.absorbed_ids:
            survivor[absorbed] = change.profile_id

    def final(profile_id: ProfileId) -> ProfileId:
        while profile_id in survivor:
            profile_id = survivor[profile_id]
        return profile_id

    caused: dict[EventId, list[ProfileChange]] = defaultdict(list)
    for change in merges:
        caused[change.cause_event_id].append(change)
    return {
        event_id: replace(
            outcome, profile_id=final(outcome.profile_id),
            merged_ids=(*outcome.merged_ids,
                        *(p for c in caused[event_id] for p in c.absorbed_ids)),
            changes=(*outcome.changes, *caused[event_id]))
        for event_id, outcome in applied.items()
    }


def _join_event(resolution: BatchResolution, event: Event, links: list[LinkObservation],
                hubs: dict[Identifier, str], now: datetime) -> Applied:
    main = anchor(event.identifiers)
    active = [(link.a, link.b) for link in links if link.a not in hubs and link.b not in hubs]
    changes: list[ProfileChange] = []
    result: Applied | None = None
    for part in components(event.identifiers, active):
        has_anchor = main in part
        joined = resolution.join(part, carries_data=has_anchor and bool(event.traits or
                                                                         event.order))
        if joined.change is not None:
            changes.append(ProfileChange(joined.change, joined.profile_id, event.event_id, now,
                                         joined.merged_ids))
        if has_anchor:
            result = Applied(joined.profile_id, joined.merged_ids, ())
    assert result is not None
    return replace(result, changes=tuple(changes))
