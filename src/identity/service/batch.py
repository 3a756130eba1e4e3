"""The body of one ingest transaction: a batch of new events applied to the graph.

Reads once (the batch's nodes, their groups and what they hold, the neighbors that decide
hubs), resolves in memory (domain.batch), writes in bulk. Hubs are decided before anything is
joined, from all the batch's links, so a hub found by the batch's last event never bridged its
first one. A join the per-profile limits could be at stake in is not made on this fast path:
its links are settled over their region at the end (service/settle.py), after the
probabilistic links the batch's records bring (docs/architecture.md, invariants 3 and 7).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from identity.domain.batch_resolution import BatchResolution
from identity.domain.changes import ChangeKind, ProfileChange
from identity.domain.events import Event
from identity.domain.guards import (
    JOINING_RULES,
    NEVER_MARK,
    WEAK_KINDS,
    GraphRules,
    LinkOrder,
    ProfileLimits,
    hub_reason,
)
from identity.domain.links import LinkObservation, LinkRule, anchor, plan_links
from identity.domain.partition import LinkKey
from identity.domain.resolution import components
from identity.domain.types import EventId, Identifier, ProfileId
from identity.service.consent import record_event_consents
from identity.service.matching import Matcher, match_events
from identity.service.profile_ids import new_profile_id
from identity.service.settle import settle, write_plan
from identity.store.errors import StoreConflict
from identity.store.protocol import GraphTransaction, NodeRow, PriorLink, StoredEvent
from identity.store.protocol import ReviewItem as QueuedReview


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
    filed: int = 0  # match records the batch stored for the first time
    # Every change the batch made, in the order it made them: hubs stopped, each event's own
    # joins, then matching's and settling's. What the change log, the versions and the sink
    # get (an event's outcome lists only the changes it is the cause of, and a change matching
    # makes for a record stored earlier has that earlier event as its cause).
    changes: tuple[ProfileChange, ...] = ()


@dataclass
class _Deferred:
    """Links the fast path left to settle, and the event each came with; `bound`: pairs a
    never-link rule now says are two people, found in one profile (they bind every link)."""

    links: dict[LinkKey, tuple[LinkOrder, EventId]] = field(default_factory=dict)
    bound: dict[tuple[Identifier, Identifier], EventId] = field(default_factory=dict)

    def add(self, key: LinkKey, order: LinkOrder, event_id: EventId) -> None:
        self.links.setdefault(key, (order, event_id))

    def seeds(self) -> set[Identifier]:
        return {end for a, b, _ in self.links for end in (a, b)} | {
            end for pair in self.bound for end in pair}

    def since(self) -> LinkOrder | None:
        """Decisions before this order stand; None: any may change (a new constraint)."""
        return None if self.bound else min(order for order, _ in self.links.values())

    def cause(self) -> EventId:
        return min(self.links.values())[1] if self.links else min(self.bound.values())


def _bridges(nodes: Iterable[NodeRow]) -> list[Identifier]:
    """Weak identifiers a limit holds a link at: they may vouch for no one any more."""
    return [n.identifier for n in nodes if n.held is not None and n.identifier.kind in WEAK_KINDS]


def _hub_link_reason(hub: Identifier, reason: str) -> str:
    return f"{hub.kind} {hub.value} stopped bridging: {reason}"


def _guarded(link: LinkObservation, hubs: dict[Identifier, str]) -> LinkObservation:
    """A link to a known hub is born inactive, with the reason (invariant 7)."""
    for end in (link.a, link.b):
        if end in hubs:
            return replace(link, inactive_reason=_hub_link_reason(end, hubs[end]))
    return link


def _changed(observed: Sequence[LinkObservation], priors: Sequence[PriorLink | None],
             limits: ProfileLimits) -> dict[LinkKey, LinkOrder]:
    """The joining links whose order this batch made new: links made by it, links it saw
    earlier than anyone before, probabilistic links it scored higher. Only they can change
    a decision; a link seen again later than before changes nothing."""
    first: dict[LinkKey, PriorLink | None] = {}
    earliest: dict[LinkKey, datetime] = {}
    best: dict[LinkKey, float] = {}
    for link, prior in zip(observed, priors, strict=True):
        if link.rule.value not in JOINING_RULES or link.inactive_reason is not None:
            continue
        key: LinkKey = (link.a, link.b, str(link.rule.value))
        first.setdefault(key, prior)
        earliest[key] = min(earliest.get(key, link.seen_at), link.seen_at)
        best[key] = max(best.get(key, 0.0), link.score or 0.0)
    found: dict[LinkKey, LinkOrder] = {}
    for key, prior in first.items():
        seen = earliest[key] if prior is None else min(prior.first_seen, earliest[key])
        score = best[key] if prior is None else max(prior.score or 0.0, best[key])
        order = limits.order(key[0], key[1], key[2], seen, score or None)
        if prior is None or order < limits.order(key[0], key[1], key[2], prior.first_seen,
                                                 prior.score):
            found[key] = order
    return found


async def _new_hubs(
    tx: GraphTransaction, links: list[LinkObservation], hubs: dict[Identifier, str],
    rules: GraphRules,
) -> dict[Identifier, str]:
    """Only nodes that just gained a link to a watched kind can have crossed a limit. Hubs
    are identifiers seen *in events* with many others: a record that merely looks like
    someone else's says nothing about a shared device."""
    watch = rules.hubs
    candidates = sorted({
        node for link in links for node, other in ((link.a, link.b), (link.b, link.a))
        if node not in hubs and watch.watches(other.kind) and other.kind != node.kind
    })
    if not candidates:
        return {}
    neighbors: dict[Identifier, list[Identifier]] = defaultdict(list)
    for node, neighbor in await tx.graph.read_neighbors(
            candidates, LinkRule.SAME_EVENT, watch.kinds, watch.kind_prefixes):
        neighbors[node].append(neighbor)
    found = {node: hub_reason(node, neighbors[node], watch) for node in candidates}
    return {node: reason for node, reason in found.items() if reason is not None}


async def _stop_hubs(tx: GraphTransaction, new_hubs: dict[Identifier, str],
                     limits: ProfileLimits, now: datetime, cause: EventId
                     ) -> tuple[list[ProfileChange], frozenset[ProfileId]]:
    """A new hub's links leave the joining set, held ones included (their reason becomes
    the hub's; a link between two new hubs takes the later one's, in key order); the
    profiles it held are settled again, which splits what it bridged."""
    links = await tx.graph.read_links(sorted(new_hubs))
    states: dict[LinkKey, str] = {}
    for hub, reason in sorted(new_hubs.items()):
        why = _hub_link_reason(hub, reason)
        states.update(((k.a, k.b, k.evidence.rule), why) for k in links
                      if hub in (k.a, k.b) and k.evidence.rule in JOINING_RULES)
    now_reason = {(k.a, k.b, k.evidence.rule): k.inactive_reason for k in links}
    moved = [(a, b, rule, why) for (a, b, rule), why in sorted(states.items())
             if now_reason[(a, b, rule)] != why]
    await tx.graph.set_link_states(moved)
    await tx.graph.mark_hubs(sorted(new_hubs.items()))
    settled = await settle(tx.graph, new_hubs, None, limits, now, cause)
    # A held link's reason shows in the views of both its ends' profiles (limits reached),
    # and the far end's may lie outside the region settled: read caches forget it too.
    ends = sorted({end for a, b, _, _ in moved for end in (a, b)})
    placed = await tx.views.profile_ids_of(ends) if ends else {}
    far = frozenset(p for p in placed.values() if p is not None)
    return settled.changes, settled.touched | far


async def apply_batch(
    tx: GraphTransaction, events: Sequence[Event], now: datetime, rules: GraphRules,
    matcher: Matcher | None = None,
) -> AppliedBatch:
    """Applies events not seen before, in order; each gets its own outcome and changes.
    Deterministic links first, then the probabilistic ones the batch's records bring, then
    whatever the fast path left to settle."""
    if not events:
        return AppliedBatch({})
    # Every node of the batch first, in one sorted pass: first/last seen fold in any
    # order, and node locks are taken in one global order, so batches cannot deadlock on them.
    nodes = await tx.graph.upsert_identifiers(sorted(
        (identifier, e.timestamp) for e in events for identifier in e.identifiers))
    hubs = {n.identifier: n.hub_reason for n in nodes if n.hub_reason}
    links_of = {e.event_id: plan_links(e.identifiers, e.event_id, e.source, e.timestamp)
                for e in events}
    observed = [_guarded(link, hubs) for e in events for link in links_of[e.event_id]]
    changed = _changed(observed, await tx.graph.add_links(observed), rules.limits)
    new_hubs = await _new_hubs(tx, observed, hubs, rules)
    first = events[0].event_id
    early: list[ProfileChange] = []
    touched: set[ProfileId] = set()
    if new_hubs:
        early, split = await _stop_hubs(tx, new_hubs, rules.limits, now, first)
        touched.update(split)
        hubs.update(new_hubs)
        nodes = await tx.graph.find_identifiers(sorted({n.identifier for n in nodes}))
    node_groups = {n.identifier: n.group_id for n in nodes}
    group_ids = sorted({g for g in node_groups.values() if g is not None})
    groups = await tx.graph.read_groups(group_ids)
    resolution = BatchResolution(node_groups, groups, new_profile_id,
                                 await tx.graph.read_makeup(group_ids), rules.limits,
                                 _bridges(nodes))
    deferred = _Deferred()
    own = {e.event_id: _join_event(resolution, e, links_of[e.event_id], hubs, changed,
                                   deferred, now)
           for e in events}
    await write_plan(tx.graph, resolution.plan(), now)
    await tx.events.record_events([StoredEvent(e.event_id, e.type.value, e.source, e.timestamp,
                                               anchor(e.identifiers), e.traits, e.order, now)
                                   for e in events])
    later: list[ProfileChange] = []
    filed = 0
    if matcher is not None:
        matches = await match_events(tx.matches, events, matcher)
        filed = matches.filed
        if matches.links:
            joined, marked = await _join_matches(tx, matches.links, now, rules.limits,
                                                 deferred)
            later += joined
            touched.update(marked)
    if deferred.links or deferred.bound:
        settled = await settle(tx.graph, deferred.seeds(), deferred.since(), rules.limits, now,
                               deferred.cause())
        later += settled.changes
        touched.update(settled.touched)
    touched.update(g.profile_id for g in groups)
    applied = await _where_anchors_are(tx, events, _attributed(own, early, first, later),
                                       later)
    # Consent decisions last, on the profiles the events ended in (service/consent.py).
    consent = await record_event_consents(
        tx, events, {event_id: a.profile_id for event_id, a in applied.items()}, now)
    made = (*early, *(c for e in events for c in own[e.event_id].changes), *later, *consent)
    touched.update(p for change in made for p in change.mentioned_ids)
    return AppliedBatch(applied, frozenset(touched), filed, made)


def _join_event(resolution: BatchResolution, event: Event, links: list[LinkObservation],
                hubs: dict[Identifier, str], changed: Mapping[LinkKey, LinkOrder],
                deferred: _Deferred, now: datetime) -> Applied:
    """The event's new links, part by part: joined here when the limits cannot be at stake,
    else left to settle, each of the part's identifiers in its own profile until then."""
    main = anchor(event.identifiers)
    fresh = [(key, changed[key]) for link in links
             if (key := (link.a, link.b, link.rule.value)) in changed
             and link.a not in hubs and link.b not in hubs]
    changes: list[ProfileChange] = []
    result: Applied | None = None
    for part in components(event.identifiers, [(key[0], key[1]) for key, _ in fresh]):
        data = main in part and bool(event.traits or event.order)
        inside = [(key, order) for key, order in fresh if key[0] in part]
        if inside and not resolution.admits(part, min(o for _, o in inside)):
            for key, order in inside:
                deferred.add(key, order, event.event_id)
            joins = [([node], resolution.join([node], carries_data=data and node == main))
                     for node in part]
        else:
            joins = [(part, resolution.join(part, carries_data=data))]
        for nodes, joined in joins:
            if joined.change is not None:
                changes.append(ProfileChange(joined.change, joined.profile_id, event.event_id,
                                             now, joined.merged_ids, added=joined.added,
                                             rule=LinkRule.SAME_EVENT.value))
            if main in nodes:
                result = Applied(joined.profile_id, joined.merged_ids, ())
    assert result is not None
    return replace(result, changes=tuple(changes))


async def _join_matches(tx: GraphTransaction, links: list[LinkObservation], now: datetime,
                        limits: ProfileLimits, deferred: _Deferred
                        ) -> tuple[list[ProfileChange], set[ProfileId]]:
    """Writes the scored links and joins the profiles the new ones connect, most likely
    first, where the limits cannot be at stake; the others are left to settle. Returns the
    merges, and every profile the links touch. Every
    probabilistic link is kept, joined or not, so the partition does not depend on which
    record came first; a possible match between two records already in one profile adds
    nothing to review and is not written."""
    anchors = sorted({end for link in links for end in (link.a, link.b)})
    # Lock the anchors, as the batch's own identifiers are locked: a concurrent merge or split
    # cannot move them between reading their groups and joining them.
    seen = await tx.graph.find_identifiers(anchors)
    nodes = {n.identifier: n for n in await tx.graph.upsert_identifiers(
        [(n.identifier, n.first_seen) for n in seen])}
    hubs = {node: row.hub_reason for node, row in nodes.items() if row.hub_reason}
    group_of = {node: row.group_id for node, row in nodes.items()}
    group_ids = sorted({g for g in group_of.values() if g is not None})
    groups = await tx.graph.read_groups(group_ids)
    if len(groups) != len(group_ids) or len(nodes) != len(anchors):
        raise StoreConflict("a profile changed while the batch was matching")
    resolution = BatchResolution(group_of, groups, new_profile_id,
                                 await tx.graph.read_makeup(group_ids), limits,
                                 _bridges(nodes.values()))
    guarded = [_guarded(link, hubs) for link in links]
    written = [link for link in guarded if link.rule is not LinkRule.POSSIBLE_MATCH
               or resolution.group_of(link.a) != resolution.group_of(link.b)]
    changed = _changed(written, await tx.graph.add_links(written), limits)
    # Each possible match written waits in the review queue, sorted by score (docs/
    # architecture.md, "Stores"); a pair a steward decided is not queued again.
    await tx.reviews.enqueue([QueuedReview(k.a, k.b, k.score or 0.0, k.source, now)
                              for k in written if k.rule is LinkRule.POSSIBLE_MATCH])
    vetoes = [link for link in written if link.rule is LinkRule.VETOED]
    await tx.graph.mark_held(sorted({(end, NEVER_MARK) for k in vetoes for end in (k.a, k.b)}))
    event_of = {(k.a, k.b, k.rule.value): k.event_id for k in written}
    changes: list[ProfileChange] = []
    for key, order in sorted(changed.items(), key=lambda item: item[1]):
        if not resolution.admits(key[:2], order):
            deferred.add(key, order, event_of[key])
            continue
        joined = resolution.join(list(key[:2]), carries_data=False)
        if joined.change is ChangeKind.MERGED:
            changes.append(ProfileChange(ChangeKind.MERGED, joined.profile_id, event_of[key],
                                         now, joined.merged_ids,
                                         rule=LinkRule.PROBABILISTIC.value))
    for veto in vetoes:  # two people in one profile: it splits, whatever joined them
        if resolution.group_of(veto.a) == resolution.group_of(veto.b):
            deferred.bound.setdefault((veto.a, veto.b), veto.event_id)
    await write_plan(tx.graph, resolution.plan(), now)
    # A veto marks its ends, which every profile view shows: those profiles are touched.
    return changes, {g.profile_id for g in groups}


def _attributed(applied: dict[EventId, Applied], early: list[ProfileChange], first: EventId,
                later: Iterable[ProfileChange]) -> dict[EventId, Applied]:
    """Each event reports the changes it caused, and the profiles it merged: the hubs it
    found before anything was joined, then what matching and settling did for it."""
    later = list(later)
    if not early and not later:
        return applied
    caused: dict[EventId, list[ProfileChange]] = defaultdict(list)
    for change in later:
        caused[change.cause_event_id].append(change)
    found = {}
    for event_id, outcome in applied.items():
        before = early if event_id == first else []
        after = caused[event_id]
        found[event_id] = replace(
            outcome, changes=(*before, *outcome.changes, *after),
            merged_ids=(*outcome.merged_ids,
                        *(p for c in after if c.kind is ChangeKind.MERGED
                          for p in c.absorbed_ids)))
    return found


async def _where_anchors_are(tx: GraphTransaction, events: Sequence[Event],
                             applied: dict[EventId, Applied], later: Sequence[ProfileChange]
                             ) -> dict[EventId, Applied]:
    """After matching and settling, each event reports the profile its strongest identifier
    is in now: a merged profile's survivor, known from the changes; where a profile on the
    way was split, read from the store."""
    survivor = {absorbed: c.profile_id for c in later if c.kind is ChangeKind.MERGED
                for absorbed in c.absorbed_ids}
    split = {c.profile_id for c in later if c.kind is ChangeKind.SPLIT}

    def final(profile_id: ProfileId) -> tuple[ProfileId, bool]:
        moved = profile_id in split
        while profile_id in survivor:
            profile_id = survivor[profile_id]
            moved = moved or profile_id in split
        return profile_id, moved

    found: dict[EventId, Applied] = {}
    unsure: list[Event] = []
    for event in events:
        outcome = applied[event.event_id]
        profile_id, moved = final(outcome.profile_id)
        found[event.event_id] = replace(outcome, profile_id=profile_id)
        if moved:
            unsure.append(event)
    if unsure:
        main = {e.event_id: anchor(e.identifiers) for e in unsure}
        placed = await tx.graph.find_identifiers(sorted(set(main.values())))
        nodes = {n.identifier: n for n in placed}
        groups = {g.group_id: g for g in await tx.graph.read_groups(
            sorted({n.group_id for n in nodes.values() if n.group_id is not None}))}
        for event_id, node in main.items():
            group_id = nodes[node].group_id
            assert group_id is not None, "every node of the graph is in a profile"
            found[event_id] = replace(found[event_id], profile_id=groups[group_id].profile_id)
    return found
