"""What data stewards do to the graph: merge, split (with a preview), unlink, decide review
items, undo (docs/architecture.md, "Steward operations").

Each action is one write transaction: it writes steward links (`manual` to join,
`never_link` to keep apart, `unlinked` to stop one direct link), lets settling decide the
region again exactly as ingest would (so a later event, the same events replayed included,
meets the same constraints), checks the outcome is the one asked for (else nothing is kept
and the reason is given), and records the action in the audit log with what undo needs: each
node's profile before, the ids merged into each, the links it wrote and the versions it left.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations, pairwise

from identity.domain.changes import ProfileChange
from identity.domain.errors import ActionRefused, FieldError, ValidationError
from identity.domain.guards import JOINING_RULES, ProfileLimits
from identity.domain.identifiers import printable, text_problem
from identity.domain.links import Link, LinkObservation, LinkRule
from identity.domain.split import plan_split
from identity.domain.steward import MAX_ACTOR_LENGTH, StewardNote, check_note
from identity.domain.types import EventId, Identifier, ProfileId
from identity.service.action_records import (
    Snapshot,
    after_state,
    audit_entry,
    check_unchanged,
    decode_audit_cursor,
    encode_audit_cursor,
    snapshot,
)
from identity.service.history import check_action_id, new_action_id, record_changes
from identity.service.retry import retry_on_conflict
from identity.service.settle import Restore, Settled, settle
from identity.store.errors import StoreConflict
from identity.store.protocol import (
    AuditCursor,
    AuditEntry,
    AuditFilter,
    GraphStore,
    GraphTransaction,
    NodeRow,
    ProfileRow,
)

__all__ = ["ActionResult", "AuditEntry", "AuditFilter", "AuditPage", "PlannedPart",
           "SplitPreview", "Steward", "check_sides", "decode_audit_cursor",
           "encode_audit_cursor"]

Clock = Callable[[], datetime]
# After a commit: the changes to publish and every profile id whose cached view is stale.
Announce = Callable[[Sequence[ProfileChange], frozenset[ProfileId]], Awaitable[None]]

MAX_MERGE_PROFILES = 20
MAX_SPLIT_GROUPS = 10
MAX_SPLIT_IDENTIFIERS = 50  # given by a steward, across the groups of one split
MAX_AUDIT_PAGE = 100
STEWARD_SOURCE = "steward"
LinkKey = tuple[Identifier, Identifier, str]


@dataclass(frozen=True, slots=True)
class PlannedPart:
    """A profile a split would leave: `profile_id` None gets a new id when applied."""

    profile_id: ProfileId | None
    identifiers: tuple[Identifier, ...]


@dataclass(frozen=True, slots=True)
class SplitPreview:
    profile_id: ProfileId
    cut: tuple[Link, ...]  # the links that stop joining
    parts: tuple[PlannedPart, ...]  # the first keeps the profile's id (invariant 2)


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What an applied action did; `profile_ids`: the profiles it left, first the one asked
    about (a merge's survivor, a split's original)."""

    action_id: str
    profile_ids: tuple[ProfileId, ...]
    changes: tuple[ProfileChange, ...]
    split: SplitPreview | None = None  # a split's cut and parts, each part with its id


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: tuple[AuditEntry, ...]
    end_cursor: AuditCursor | None  # None: no more


@dataclass(frozen=True, slots=True)
class _Done:
    result: ActionResult
    touched: frozenset[ProfileId]


class Steward:
    def __init__(self, store: GraphStore, limits: ProfileLimits, clock: Clock,
                 announce: Announce) -> None:
        self._store = store
        self._limits = limits
        self._clock = clock
        self._announce = announce

    # -- merge ----------------------------------------------------------------------------

    async def merge(self, profile_ids: Sequence[str], actor: str, reason: str, *,
                    override_limits: bool = False) -> ActionResult:
        """Joins the profiles with steward links between their strongest identifiers. The
        per-profile limits still apply unless `override_limits`: then the merged profile
        may hold what the merge brought together (no more), and the audit log says so."""
        actor, reason = check_note(actor, reason)
        wanted = list(dict.fromkeys(str(p) for p in profile_ids))
        if not 2 <= len(wanted) <= MAX_MERGE_PROFILES:
            raise ValidationError.of("profileIds", f"a merge takes 2 to {MAX_MERGE_PROFILES} "
                                     f"distinct profile ids, got {len(wanted)}")

        async def work(tx: GraphTransaction, action_id: str, now: datetime) -> _Done:
            rows = await tx.graph.lookup_profiles(wanted)
            found: dict[str, ProfileRow] = {row.requested_id: row for row in rows}
            for index, pid in enumerate(wanted):
                if pid not in found:
                    raise ValidationError.of(f"profileIds[{index}]",
                                             f"no profile '{printable(pid, 64)}'")
            group_ids = sorted({row.group_id for row in rows})
            if len(group_ids) < 2:
                raise ActionRefused("these ids are one profile already "
                                    f"({found[wanted[0]].profile_id}): nothing to merge")
            ids_of = {g.group_id: g.profile_id for g in await tx.graph.read_groups(group_ids)}
            members: dict[int, list[NodeRow]] = {g: [] for g in group_ids}
            for row in await tx.graph.read_members(group_ids):
                if row.group_id in members:
                    members[row.group_id].append(row)
            anchors = [_anchor(members[g], self._limits, ids_of[g]) for g in group_ids]
            before = await snapshot(tx, anchors, self._limits)
            makeup = await tx.graph.read_makeup(group_ids)
            counts: dict[str, int] = {}
            for group in makeup.values():
                for kind, n in group.kinds.items():
                    counts[kind] = counts.get(kind, 0) + n
            allowed: tuple[tuple[str, int], ...] = ()
            broken = self._limits.broken(counts)
            if broken is not None:
                kind, count, limit = broken
                if not override_limits:
                    raise ActionRefused(
                        f"merging would make one profile hold {count} {kind} identifiers "
                        f"(limit {limit}); a steward may override the limits "
                        "(overrideLimits), which the audit log records")
                allowed = tuple(sorted(
                    (k, n) for k, n in counts.items()
                    if (lim := self._limits.limit(k)) is not None and n > lim))
            note = StewardNote(actor, reason, action_id, allowed)
            links = [_observation(a, b, LinkRule.MANUAL, note, now)
                     for a, b in pairwise(anchors)]
            await tx.graph.add_links(links)
            settled = await settle(tx.graph, anchors, None, self._limits, now,
                                   EventId(action_id), rule="merge")
            merged = [row.identifier for g in group_ids for row in members[g]]
            survivor = await _one_profile(tx, merged)
            if survivor is None:
                raise ActionRefused(await _held_why(tx, links, merged))
            await record_changes(tx, settled.changes, actor,
                                 touched=settled.touched | before.ids)
            after = await after_state(tx, [survivor], links)
            await tx.audit.append_entries([audit_entry(
                action_id, "merge", actor, now, reason, before, after,
                extra={"override_limits": override_limits, "allowed": dict(allowed)})])
            result = ActionResult(action_id, (survivor,), tuple(settled.changes))
            return _Done(result, settled.touched | before.ids)

        return await self._act(work)

    # -- split ----------------------------------------------------------------------------

    async def preview_split(self, profile_id: str, sides: Sequence[Sequence[Identifier]]
                            ) -> SplitPreview:
        """What `split` would do, exactly: the split is made in a transaction that is then
        rolled back, so the preview shows what settling decides too (a profile a limit held
        apart that the smaller part now takes in), and nothing is kept, nor announced."""
        _check_sides(sides)

        async def attempt() -> SplitPreview:
            try:
                async with self._store.transaction() as tx:
                    split = await self._split(tx, profile_id, sides, "preview", "preview",
                                              new_action_id(), self._clock(), previewing=True)
                    raise _RolledBack(split.preview)
            except _RolledBack as done:
                return done.preview

        return await retry_on_conflict(attempt)

    async def split(self, profile_id: str, sides: Sequence[Sequence[Identifier]], actor: str,
                    reason: str) -> ActionResult:
        """Cuts the profile where `preview_split` says, and keeps the parts apart for good:
        a never-link between the two ends of every link the cut takes, and between the
        identifiers given in different groups."""
        actor, reason = check_note(actor, reason)
        _check_sides(sides)

        async def work(tx: GraphTransaction, action_id: str, now: datetime) -> _Done:
            split = await self._split(tx, profile_id, sides, actor, reason, action_id, now)
            preview, settled, before = split.preview, split.settled, split.before
            await record_changes(tx, settled.changes, actor,
                                 touched=settled.touched | before.ids)
            ids = [part.profile_id for part in preview.parts if part.profile_id is not None]
            after = await after_state(tx, ids, split.written)
            await tx.audit.append_entries([audit_entry(
                action_id, "split", actor, now, reason, before, after,
                extra={"sides": [[n.key for n in side] for side in sides],
                       "cut": [[k.a.key, k.b.key, k.evidence.rule]
                               for k in preview.cut]})])
            result = ActionResult(action_id, tuple(ids), tuple(settled.changes), preview)
            return _Done(result, settled.touched | before.ids)

        return await self._act(work)

    async def _split(self, tx: GraphTransaction, profile_id: str,
                     sides: Sequence[Sequence[Identifier]], actor: str, reason: str,
                     action_id: str, now: datetime, *, previewing: bool = False) -> _Split:
        """The split's writes and what they did: the links that stopped joining, and each
        profile the members are in now (`profile_id` None: one made by this split)."""
        found = await tx.graph.lookup_profiles([profile_id])
        if not found:
            raise ValidationError.of("profileId", f"no profile '{printable(profile_id, 64)}'")
        row = found[0]
        before = await snapshot(tx, (), self._limits, [row.group_id])
        inside = {m.identifier for m in before.members.get(row.group_id, ())}
        if not inside:
            raise StoreConflict("a profile was merged while it was being split")
        seed = [min(inside)]  # the profile's region, whichever member it is read from
        active = [k for k in before.links if k.is_active and k.a in inside and k.b in inside]
        try:
            # A minimum cut per group over the whole profile: off the event loop.
            plan = await asyncio.to_thread(plan_split, inside, active,
                                           [set(side) for side in sides])
        except ValueError as exc:
            raise ValidationError.of("sides", str(exc)) from None
        part_of = {n: i for i, part in enumerate(plan.parts) for n in part}
        for index, side in enumerate(sides):
            if len({part_of[n] for n in side}) > 1:
                raise ValidationError.of(f"sides[{index}]", (
                    "these identifiers are joined only through identifiers of another group, "
                    "so they cannot stay together once apart from it; split them into groups "
                    "of their own"))
        cut = set(plan.cut)
        pairs = sorted(cut | {(min(a, b), max(a, b)) for left, right in
                              combinations(range(len(sides)), 2)
                              for a in sides[left] for b in sides[right]})
        note = StewardNote(actor, reason, action_id)
        written = [_observation(a, b, LinkRule.NEVER, note, now,
                                inactive=f"kept apart by {actor}: {reason}") for a, b in pairs]
        await tx.graph.add_links(written)
        settled = await settle(tx.graph, seed, None, self._limits, now, EventId(action_id),
                               rule="split")
        now_in = await _profiles_of(tx, sorted(inside))
        if len({now_in[n] for side in sides for n in side}) < len(sides) or any(
                len({now_in[n] for n in side}) != 1 for side in sides):
            raise ActionRefused("the graph changed while the split was applied; try again")
        made = {p for c in settled.changes for p in c.split_ids} - before.ids
        parts: dict[ProfileId, list[Identifier]] = {}
        for node in sorted(inside):
            parts.setdefault(now_in[node], []).append(node)
        ordered = sorted(parts.items(), key=lambda item: (item[0] != row.profile_id,
                                                          item[1][0]))
        preview = SplitPreview(
            row.profile_id,
            tuple(k for k in active if now_in[k.a] != now_in[k.b]),  # no active link crosses
            tuple(PlannedPart(None if pid in made and previewing else pid, tuple(nodes))
                  for pid, nodes in ordered))
        return _Split(preview, settled, before, written)

    # -- unlink ---------------------------------------------------------------------------

    async def unlink(self, a: Identifier, b: Identifier, actor: str, reason: str
                     ) -> ActionResult:
        """No link between `a` and `b` joins any more, whatever later sightings say; their
        profile splits only if that link held it together."""
        actor, reason = check_note(actor, reason)
        a, b = min(a, b), max(a, b)

        async def work(tx: GraphTransaction, action_id: str, now: datetime) -> _Done:
            rules = {k.evidence.rule for k in await tx.graph.read_links([a])
                     if (k.a, k.b) == (a, b)}
            if not rules & JOINING_RULES:
                raise ValidationError.of("b", f"no link joins {a.kind} '{printable(a.value, 64)}'"
                                         f" and {b.kind} '{printable(b.value, 64)}'")
            if LinkRule.UNLINKED in rules:
                raise ActionRefused("this link is unlinked already")
            before = await snapshot(tx, [a, b], self._limits)
            written = [_observation(a, b, LinkRule.UNLINKED, StewardNote(actor, reason,
                                                                        action_id), now,
                                    inactive=f"unlinked by {actor}: {reason}")]
            await tx.graph.add_links(written)
            settled = await settle(tx.graph, [a, b], None, self._limits, now,
                                   EventId(action_id), rule="unlink")
            await record_changes(tx, settled.changes, actor,
                                 touched=settled.touched | before.ids)
            ids = sorted(set((await _profiles_of(tx, [a, b])).values()))
            after = await after_state(tx, ids, written)
            await tx.audit.append_entries([audit_entry(action_id, "unlink", actor, now, reason,
                                                  before, after)])
            return _Done(ActionResult(action_id, tuple(ids), tuple(settled.changes)),
                         settled.touched | before.ids)

        return await self._act(work)

    # -- review decisions -----------------------------------------------------------------

    async def decide_review(self, a: Identifier, b: Identifier, accept: bool, actor: str,
                            reason: str, *, override_limits: bool = False) -> ActionResult:
        """Accepted: a steward's link joins the pair (limits apply unless overridden);
        rejected: a never-link keeps them apart. The item leaves the queue either way."""
        actor, reason = check_note(actor, reason)
        a, b = min(a, b), max(a, b)

        async def work(tx: GraphTransaction, action_id: str, now: datetime) -> _Done:
            items = await tx.reviews.read_items([(a, b)])
            if not items:
                raise ValidationError.of("b", "no review item for this pair")
            if items[0].outcome is not None:
                raise ActionRefused(f"this review item is decided already ({items[0].outcome})")
            placed = {n.identifier: n.group_id for n in await tx.graph.find_identifiers([a, b])}
            group_ids = sorted({g for g in placed.values() if g is not None})
            before = await snapshot(tx, [a, b], self._limits)
            allowed: tuple[tuple[str, int], ...] = ()
            if accept and len(group_ids) == 2:
                allowed = await self._allowance(tx, group_ids, override_limits)
            note = StewardNote(actor, reason, action_id, allowed)
            written = [_observation(a, b, LinkRule.MANUAL, note, now) if accept else
                       _observation(a, b, LinkRule.NEVER, note, now,
                                    inactive=f"kept apart by {actor}: {reason}")]
            await tx.graph.add_links(written)
            await tx.reviews.resolve([(a, b, "accepted" if accept else "rejected")])
            settled = await settle(tx.graph, [a, b], None, self._limits, now,
                                   EventId(action_id),
                                   rule="accept_review" if accept else "reject_review")
            together = [row.identifier for rows in before.members.values() for row in rows
                        if row.group_id in group_ids]
            if accept and await _one_profile(tx, together) is None:
                raise ActionRefused(await _held_why(tx, written, together))
            await record_changes(tx, settled.changes, actor,
                                 touched=settled.touched | before.ids)
            ids = sorted(set((await _profiles_of(tx, [a, b])).values()))
            after = await after_state(tx, ids, written)
            action = "accept_review" if accept else "reject_review"
            await tx.audit.append_entries([audit_entry(
                action_id, action, actor, now, reason, before, after,
                extra={"review": [a.key, b.key], "override_limits": override_limits})])
            return _Done(ActionResult(action_id, tuple(ids), tuple(settled.changes)),
                         settled.touched | before.ids)

        return await self._act(work)

    async def _allowance(self, tx: GraphTransaction, group_ids: Sequence[int],
                         override: bool) -> tuple[tuple[str, int], ...]:
        counts: dict[str, int] = {}
        for group in (await tx.graph.read_makeup(group_ids)).values():
            for kind, n in group.kinds.items():
                counts[kind] = counts.get(kind, 0) + n
        broken = self._limits.broken(counts)
        if broken is None:
            return ()
        kind, count, limit = broken
        if not override:
            raise ActionRefused(f"joining would make one profile hold {count} {kind} "
                                f"identifiers (limit {limit}); a steward may override the "
                                "limits (overrideLimits), which the audit log records")
        return tuple(sorted((k, n) for k, n in counts.items()
                            if (lim := self._limits.limit(k)) is not None and n > lim))

    # -- undo -----------------------------------------------------------------------------

    async def undo(self, action_id: str, actor: str, reason: str) -> ActionResult:
        """Takes out the links the action wrote and gives every identifier back the profile
        id it had before; refused, with the later changes named, when a profile the action
        left has changed since (an exact undo is then impossible)."""
        actor, reason = check_note(actor, reason)

        check_action_id("actionId", action_id)

        async def work(tx: GraphTransaction, undo_id: str, now: datetime) -> _Done:
            entries = await tx.audit.read_entries([action_id])
            if not entries:
                raise ValidationError.of("actionId",
                                         f"no action '{printable(action_id, 64)}' in the audit log")
            entry = entries[0]
            if entry.action not in _UNDOABLE:
                raise ActionRefused(f"a {entry.action} cannot be undone; "
                                    "only steward actions can")
            if entry.undone_by is not None:
                raise ActionRefused(f"this action was undone already by {entry.undone_by}")
            before, after = json.loads(entry.before), json.loads(entry.after)
            await check_unchanged(tx, after["versions"])
            links = [(Identifier.of_key(a), Identifier.of_key(b), rule)
                     for a, b, rule in after["links"]]
            await tx.graph.withdraw_sightings([(*link, entry.action_id) for link in links])
            if review := after.get("review"):
                await tx.reviews.resolve([(Identifier.of_key(review[0]),
                                           Identifier.of_key(review[1]), None)])
            restore = Restore({Identifier.of_key(k): ProfileId(p)
                               for k, p in before["profile_of"].items()},
                              {ProfileId(p): tuple(ProfileId(m) for m in merged)
                               for p, merged in before["merged"].items()})
            seeds = sorted({end for a, b, _ in links for end in (a, b)} |
                           set(restore.profile_of))
            settled = await settle(tx.graph, seeds, None, self._limits, now,
                                   EventId(undo_id), rule="undo", restore=restore)
            now_of = await _profiles_of(tx, list(restore.profile_of))
            wrong = sorted(n for n, p in restore.profile_of.items() if now_of.get(n) != p)
            if wrong:
                node = wrong[0]
                raise ActionRefused(
                    f"undo cannot restore the profiles exactly: {node.kind} "
                    f"'{printable(node.value, 64)}' would be in {now_of.get(node)}, not "
                    f"{restore.profile_of[node]} as before ({len(wrong)} identifiers differ)")
            await record_changes(tx, settled.changes, actor,
                                 touched=settled.touched | frozenset(entry.profile_ids))
            ids = sorted(set(restore.profile_of.values()))
            state = await after_state(tx, ids, [])
            await tx.audit.append_entries([AuditEntry(
                undo_id, "undo", actor, now, reason,
                tuple(sorted(set(entry.profile_ids) | set(ids))), entry.after,
                json.dumps(state, sort_keys=True), undo_of=entry.action_id)])
            await tx.audit.mark_undone([(entry.action_id, undo_id)])
            return _Done(ActionResult(undo_id, tuple(ids), tuple(settled.changes)),
                         settled.touched | frozenset(entry.profile_ids))

        return await self._act(work)

    # -- audit log ------------------------------------------------------------------------

    async def audit_log(self, where: AuditFilter, first: int, after: AuditCursor | None
                        ) -> AuditPage:
        if not 1 <= first <= MAX_AUDIT_PAGE:
            raise ValidationError.of("first",
                                     f"must be between 1 and {MAX_AUDIT_PAGE}, got {first}")
        check_filter(where)

        async def read() -> AuditPage:
            async with self._store.transaction(read_only=True) as tx:
                found = await tx.audit.page_entries(where, after, first + 1)
            page = found[:first]
            more = len(found) > first
            return AuditPage(tuple(page), (page[-1].at, page[-1].action_id) if more else None)

        return await retry_on_conflict(read)

    # -- one action -----------------------------------------------------------------------

    async def _act(self, work: Callable[[GraphTransaction, str, datetime], Awaitable[_Done]]
                   ) -> ActionResult:
        """One transaction, retried on conflicts; announced after it commits."""
        touched: frozenset[ProfileId] = frozenset()

        async def attempt() -> _Done:
            nonlocal touched
            action_id, now = new_action_id(), self._clock()
            async with self._store.transaction() as tx:
                done = await work(tx, action_id, now)
            touched = done.touched
            return done

        done = await retry_on_conflict(attempt)
        await self._announce(done.result.changes, touched)
        return done.result


@dataclass(frozen=True, slots=True)
class _Split:
    preview: SplitPreview
    settled: Settled
    before: Snapshot
    written: list[LinkObservation]


class _RolledBack(Exception):
    """Not an error: how a preview leaves no trace."""

    def __init__(self, preview: SplitPreview) -> None:
        super().__init__("preview")
        self.preview = preview


_UNDOABLE = frozenset({"merge", "split", "unlink", "accept_review", "reject_review"})


def _anchor(members: Iterable[NodeRow], limits: ProfileLimits, profile_id: ProfileId
            ) -> Identifier:
    """The identifier a steward's link hangs on: the profile's strongest that is no hub."""
    usable = [m for m in members if m.hub_reason is None]
    if not usable:
        raise ActionRefused(f"profile {profile_id} holds only shared identifiers (hubs), "
                            "which join nothing")
    return min(usable, key=lambda m: (limits.rank(m.identifier.kind), m.first_seen,
                                      m.identifier)).identifier


def _observation(a: Identifier, b: Identifier, rule: LinkRule, note: StewardNote,
                 now: datetime, *, inactive: str | None = None) -> LinkObservation:
    return LinkObservation(min(a, b), max(a, b), rule, EventId(note.action_id), STEWARD_SOURCE,
                           now, inactive_reason=inactive, details=note.to_json())


async def _one_profile(tx: GraphTransaction, nodes: Sequence[Identifier]) -> ProfileId | None:
    found = await _profiles_of(tx, nodes)
    ids = set(found.values())
    return ids.pop() if len(ids) == 1 and len(found) == len(set(nodes)) else None


async def _profiles_of(tx: GraphTransaction, nodes: Sequence[Identifier]
                       ) -> dict[Identifier, ProfileId]:
    rows = await tx.graph.find_identifiers(sorted(set(nodes)))
    groups = {g.group_id: g.profile_id for g in await tx.graph.read_groups(
        sorted({r.group_id for r in rows if r.group_id is not None}))}
    return {r.identifier: groups[r.group_id] for r in rows
            if r.group_id is not None and r.group_id in groups}


async def _held_why(tx: GraphTransaction, written: Sequence[LinkObservation],
                    joined: Sequence[Identifier]) -> str:
    """Why the profiles a steward joins do not end up whole in one: the reason settling held
    the steward's link with, or a link that would keep one of them in (a never-link rule
    keeps two of their identifiers apart, so joining would split one profile)."""
    keys = {(k.a, k.b, k.rule.value) for k in written}
    links = await tx.graph.read_links(sorted(set(joined)))
    for link in links:
        if (link.a, link.b, link.evidence.rule) in keys and not link.is_active:
            return f"the profiles cannot be joined: {link.inactive_reason}"
    inside = set(joined)
    for link in sorted(links, key=lambda k: (k.a, k.b, k.evidence.rule)):
        if not link.is_active and link.inactive_reason and link.a in inside and \
                link.b in inside and link.evidence.rule in JOINING_RULES:
            return ("the profiles cannot be joined whole: it would split one of them, as "
                    f"{link.inactive_reason}")
    return "the profiles cannot be joined whole"


def check_sides(groups: int, identifiers: int) -> None:
    """Before anything is read or normalized: each group costs a minimum cut over the whole
    profile, and each pair of identifiers in two groups a never-link."""
    if groups > MAX_SPLIT_GROUPS:
        raise ValidationError.of("sides", f"at most {MAX_SPLIT_GROUPS} groups in a split, "
                                 f"got {groups}")
    if identifiers > MAX_SPLIT_IDENTIFIERS:
        raise ValidationError.of("sides", f"at most {MAX_SPLIT_IDENTIFIERS} identifiers "
                                 f"across the groups of a split, got {identifiers}")


_ACTION = re.compile(r"[a-z_]{1,32}")
MAX_EXCLUDED_ACTIONS = 20  # a filter's actions left out: there are a few dozen in all


def check_filter(where: AuditFilter) -> None:
    """What a filter compares is text a store can hold, bounded: every problem at once (a
    profile id is checked by the entry points, as every profile id a caller sends)."""
    errors: list[FieldError] = []
    if where.actor is not None and (len(where.actor) > MAX_ACTOR_LENGTH
                                    or text_problem(where.actor) is not None):
        errors.append(FieldError("filter.actor", f"'{printable(where.actor, 32)}' is not an "
                                 f"actor (at most {MAX_ACTOR_LENGTH} printable characters)"))
    actions = [("filter.action", where.action)] if where.action is not None else []
    if len(where.exclude_actions) > MAX_EXCLUDED_ACTIONS:
        errors.append(FieldError("filter.excludeActions", f"at most {MAX_EXCLUDED_ACTIONS} "
                                 f"actions, got {len(where.exclude_actions)}"))
    else:
        actions += [(f"filter.excludeActions[{i}]", action)
                    for i, action in enumerate(where.exclude_actions)]
    errors += [FieldError(path, f"'{printable(action, 32)}' is not an action (merge, split, "
                          "unlink, undo, ...)")
               for path, action in actions if not _ACTION.fullmatch(action)]
    if errors:
        raise ValidationError(errors)


def _check_sides(sides: Sequence[Collection[Identifier]]) -> None:
    check_sides(len(sides), sum(len(side) for side in sides))
