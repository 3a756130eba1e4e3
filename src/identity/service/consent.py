"""Consent: decisions recorded from events and by stewards, read with the profile, and the
`consent_changed` changes they make (docs/architecture.md, "Consent").

A decision hangs on an identifier (an event's anchor, or the strongest identifier of the
profile a steward decides for), so merges and splits carry it with the identifier, as they
carry the events the golden record is built from. A profile's consent is the latest decision
among its members' (domain/consent.py): no carrying over is needed, and none can be missed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from identity.domain.changes import ChangeKind, ProfileChange
from identity.domain.consent import (
    ConsentDecision,
    Purpose,
    changed_purposes,
    latest_decisions,
)
from identity.domain.errors import ValidationError
from identity.domain.events import Event
from identity.domain.identifiers import printable, text_problem
from identity.domain.links import anchor
from identity.domain.types import EventId, Identifier, ProfileId, priority_key
from identity.service.history import new_action_id, record_changes
from identity.service.retry import retry_on_conflict
from identity.store.errors import StoreConflict
from identity.store.protocol import AuditEntry, ConsentRow, GraphStore, GraphTransaction, NodeRow

STEWARD_SOURCE = "steward"
SET_CONSENT = "set_consent"  # the audit log's action
MAX_REASON = 1000

Announce = Callable[[Sequence[ProfileChange], frozenset[ProfileId]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ConsentResult:
    """What a steward's decision did: `changed` False when the profile's latest decision for
    the purpose already said the same (the decision is kept and audited all the same)."""

    action_id: str
    profile_id: ProfileId
    decision: ConsentDecision
    consent: tuple[ConsentDecision, ...]  # the profile's latest decisions, after
    changed: bool
    changes: tuple[ProfileChange, ...]


async def members_of(tx: GraphTransaction, profile_ids: Iterable[ProfileId]
                     ) -> dict[ProfileId, list[NodeRow]]:
    """Each profile's members (a merged id answers for its survivor's)."""
    rows = await tx.graph.lookup_profiles(sorted(set(profile_ids)))
    group_of = {row.requested_id: row.group_id for row in rows}
    by_group: dict[int, list[NodeRow]] = defaultdict(list)
    for node in await tx.graph.read_members(sorted(set(group_of.values()))):
        if node.group_id is not None:
            by_group[node.group_id].append(node)
    return {pid: by_group[group] for pid, group in group_of.items()}


async def decisions_of(tx: GraphTransaction, members: Iterable[Identifier]
                       ) -> list[ConsentDecision]:
    return [row.decision for row in await tx.consents.read_consents(sorted(set(members)))]


async def record_event_consents(tx: GraphTransaction, events: Sequence[Event],
                                placed: Mapping[EventId, ProfileId], now: datetime
                                ) -> list[ProfileChange]:
    """Records the decisions the batch's events carry, on each event's anchor, and returns a
    `consent_changed` change per profile whose latest decision changed for a purpose (caused
    by the latest of the events that changed it). `placed`: where each event's anchor is
    once the batch is applied. An old decision arriving late is kept on its identifier (it
    may decide once a split leaves it without the newer one) and changes nothing now."""
    rows: list[ConsentRow] = []
    by_profile: dict[ProfileId, list[ConsentRow]] = defaultdict(list)
    for e in events:
        if e.consent:
            own = [ConsentRow(anchor(e.identifiers), ConsentDecision(
                purpose, granted, e.source, e.timestamp, e.event_id))
                for purpose, granted in e.consent]
            rows += own
            by_profile[placed[e.event_id]] += own
    if not rows:
        return []
    members = await members_of(tx, by_profile)
    if len(members) != len(by_profile):
        raise StoreConflict("a profile was merged while its consent was recorded")
    before = await tx.consents.read_consents(
        sorted({m.identifier for nodes in members.values() for m in nodes}))
    await tx.consents.record_consents(rows)
    changes: list[ProfileChange] = []
    for profile_id, new in sorted(by_profile.items()):
        inside = {m.identifier for m in members[profile_id]}
        was = [r.decision for r in before if r.anchor in inside]
        change = _change(profile_id, was, [r.decision for r in new], now)
        if change is not None:
            changes.append(change)
    return changes


def _change(profile_id: ProfileId, was: Sequence[ConsentDecision],
            new: Sequence[ConsentDecision], now: datetime) -> ProfileChange | None:
    now_latest = latest_decisions([*was, *new])
    moved = set(changed_purposes(was, now_latest))
    if not moved:
        return None
    cause = max((d for d in now_latest if d.purpose in moved), key=lambda d: d.order)
    return ProfileChange(ChangeKind.CONSENT_CHANGED, profile_id, EventId(cause.event_id), now,
                         rule="consent")


class ConsentSteward:
    """A steward's decision for one profile and purpose: recorded, audited, announced."""

    def __init__(self, store: GraphStore, clock: Callable[[], datetime],
                 announce: Announce) -> None:
        self._store = store
        self._clock = clock
        self._announce = announce

    async def set_consent(self, profile_id: str, purpose: Purpose, granted: bool, actor: str,
                          reason: str) -> ConsentResult:
        """Raises ValidationError for an unknown profile or a reason that cannot be kept.
        The decision is dated now and hangs on the profile's strongest identifier (not a
        hub), so it follows that identifier through later splits."""
        if not reason.strip() or len(reason) > MAX_REASON or text_problem(reason):
            raise ValidationError.of("reason", f"a reason is required: 1 to {MAX_REASON} "
                                     "printable characters")

        async def attempt() -> ConsentResult:
            action_id, now = new_action_id(), self._clock()
            async with self._store.transaction() as tx:
                found = (await members_of(tx, [ProfileId(profile_id)])).get(
                    ProfileId(profile_id))
                if not found:
                    raise ValidationError.of(
                        "profileId", f"no profile '{printable(profile_id, 64)}'")
                rows = await tx.graph.lookup_profiles([profile_id])
                current = rows[0].profile_id
                was = await decisions_of(tx, [m.identifier for m in found])
                decision = ConsentDecision(purpose, granted, STEWARD_SOURCE, now, action_id)
                await tx.consents.record_consents([ConsentRow(_strongest(found), decision)])
                change = _change(current, was, [decision], now)
                changes = [change] if change is not None else []
                after = latest_decisions([*was, decision])
                await tx.audit.append_entries([AuditEntry(
                    action_id, SET_CONSENT, actor, now, reason, (current,),
                    _as_json(latest_decisions(was), purpose),
                    _as_json(after, purpose))])
                await record_changes(tx, changes, actor=actor, touched=[current])
            return ConsentResult(action_id, current, decision, after, bool(changes),
                                 tuple(changes))

        result = await retry_on_conflict(attempt)
        await self._announce(result.changes, frozenset({result.profile_id}))
        return result


def _strongest(members: Sequence[NodeRow]) -> Identifier:
    """The identifier a steward's decision hangs on: the profile's strongest that is no hub
    (a hub may be taken out of the profile); a profile of hubs only, its strongest."""
    return min(members, key=lambda m: (m.hub_reason is not None, priority_key(m.identifier),
                                       m.first_seen)).identifier


def _as_json(decisions: Iterable[ConsentDecision], purpose: Purpose) -> str:
    """The profile's decision for the purpose, as the audit log keeps it."""
    found = [d for d in decisions if d.purpose is purpose]
    return json.dumps({"purpose": purpose.value, "decision": None if not found else {
        "granted": found[0].granted, "source": found[0].source,
        "at": found[0].at.isoformat(), "event_id": found[0].event_id}}, sort_keys=True)
