"""Erasure (GDPR Art. 17, CCPA) and the suppression list it leaves (docs/architecture.md,
"Erasure and access").

An erased profile leaves only tombstones: an HMAC-SHA256 of each identifier's key under a
server secret, the erasing action and its time. The tombstones not lifted are the suppression
list: ingest drops a suppressed identifier from every event (with the warning `erased`), so
neither a replay of old events nor a new one can rebuild the person.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from identity.domain.changes import ChangeKind, ProfileChange
from identity.domain.errors import FieldError, ValidationError
from identity.domain.events import Event
from identity.domain.identifiers import phone_number, printable
from identity.domain.matching.records import MatchRecord, rebuilt
from identity.domain.pii_hashing import is_hashed
from identity.domain.steward import check_note
from identity.domain.types import EventId, Identifier, IdentifierKind, ProfileId
from identity.service.history import new_action_id
from identity.service.matching import Matcher
from identity.service.retry import retry_on_conflict
from identity.store.protocol import (
    AuditEntry,
    AuditFilter,
    ErasedRows,
    GraphStore,
    GraphTransaction,
    Tombstone,
)

ERASE_ACTION = "erase"
LIFT_ACTION = "lift_suppression"
# The reason ingest gives for an erased identifier it dropped (a warning) and for an event
# left with none (an error); the Kafka consumer keeps no payload of a dead letter with it.
ERASED_REASON = "erased: a suppressed identifier of an erased person"
ERASED_TEXT = "[erased]"  # what an audit entry shows in place of an erased value
_PAGE = 500

Announce = Callable[[Sequence[ProfileChange], frozenset[ProfileId]], Awaitable[None]]


def keyed_hash(key: bytes, identifier: Identifier) -> str:
    """HMAC-SHA256 of the identifier's key ("kind|value", normalized): without the secret a
    tombstone tells nothing, not even by hashing guessed emails."""
    return hmac.new(key, identifier.key.encode(), hashlib.sha256).hexdigest()


def suppressed_form(identifier: Identifier) -> Identifier:
    """What a tombstone names: a phone without its extension (pii_hashing.py keeps a hashed
    phone's number before `;` too), so erasing a number suppresses it with any extension,
    and erasing it with one suppresses the bare number."""
    if identifier.kind != IdentifierKind.PHONE:
        return identifier
    return Identifier(identifier.kind, phone_number(identifier.value))


def tombstone_hashes(key: bytes, identifier: Identifier) -> set[str]:
    """The hashes a suppression check (or a lift) looks up for one identifier: of its
    suppressed form, and of itself as tombstones made before extensions were dropped. Ingest
    hashes every identifier of every event: one HMAC where both forms are the same."""
    form = suppressed_form(identifier)
    if form == identifier:
        return {keyed_hash(key, identifier)}
    return {keyed_hash(key, form), keyed_hash(key, identifier)}


class ErasureKey:
    """The secret of the tombstones' hashes: the configured one (IDENTITY_ERASURE_KEY or its
    file), or else one random key made at first use and kept in the store, so every replica
    and every restart hashes alike. Kept in the store, it protects tombstones read apart from
    the database, not a database read whole: production sets the key."""

    def __init__(self, store: GraphStore, configured: bytes | None = None) -> None:
        self._store = store
        self._key = configured

    async def get(self) -> bytes:
        if self._key is None:
            async def read() -> str:
                async with self._store.transaction() as tx:
                    return await tx.erasure.erasure_key(secrets.token_hex(32))

            self._key = (await retry_on_conflict(read)).encode()
        return self._key


class Suppression:
    """Which identifiers erasure suppressed: one batched, indexed lookup by hash per ingest
    transaction (never one per event), inside the transaction that would write them, so an
    erasure committed before it (by any replica) holds, and on SQLite (one writer) none can
    commit in between."""

    def __init__(self, key: ErasureKey) -> None:
        self._key = key

    async def key(self) -> bytes:
        """Read before the transaction: the first use may write it (ErasureKey)."""
        return await self._key.get()

    @staticmethod
    async def suppressed(tx: GraphTransaction, key: bytes,
                         identifiers: Iterable[Identifier]) -> set[Identifier]:
        by_hash = {hashed: identifier for identifier in set(identifiers)
                   for hashed in tombstone_hashes(key, identifier)}
        if not by_hash:
            return set()
        return {by_hash[h] for h in await tx.erasure.suppressed(sorted(by_hash))}


def trim(events: Sequence[Event], hit: set[Identifier]
         ) -> tuple[list[Event], dict[str, tuple[FieldError, ...]],
                    dict[str, tuple[FieldError, ...]]]:
    """The events without the suppressed identifiers `hit`: an event naming one loses it,
    and its traits and order (which may describe the erased person), with a warning per
    identifier (its kind only); an event left with none is refused. Returns the events kept,
    the errors of the refused and the warnings of the trimmed, by event id."""
    gone = set(hit)
    for event in events:  # one value hashed under two keys (a rotation): both go
        for group in event.same_value:
            if gone.intersection(group):
                gone.update(group)
    kept: list[Event] = []
    refused: dict[str, tuple[FieldError, ...]] = {}
    warned: dict[str, tuple[FieldError, ...]] = {}
    for event in events:
        dropped = [i for i in event.identifiers if i in gone]
        if not dropped:
            kept.append(event)
            continue
        left = tuple(i for i in event.identifiers if i not in gone)
        if not left:
            refused[event.event_id] = (FieldError(
                "identifiers", f"{ERASED_REASON}: every identifier of this event was erased, "
                "so it is not taken in"),)
            continue
        warnings = tuple(FieldError("identifiers", f"{ERASED_REASON} ({i.kind}): dropped, "
                                    "with the event's traits and order") for i in dropped)
        warned[event.event_id] = warnings
        kept.append(replace(event, identifiers=left, traits=(), order=None,
                            warnings=(*event.warnings, *warnings)))
    return kept, refused, warned


_PHONE_LIKE = re.compile(r"^[\d\s().+\-/]+$")
_MIN_PHONE_DIGITS = 7  # digits7 blocking's length: fewer say too little to be the number


@dataclass(frozen=True, slots=True)
class ErasedValues:
    """The values of an erased person's identifiers, as a survivor's record field or trait
    may hold them: the normalized value (a phone also without its extension), any case, and
    a phone written another way (its digits, at least the last seven, ending the number)."""

    texts: frozenset[str]
    phone_digits: frozenset[str]

    @classmethod
    def of(cls, members: Iterable[Identifier]) -> ErasedValues:
        texts: set[str] = set()
        digits: set[str] = set()
        for member in members:
            texts.add(member.value.lower())
            if member.kind == IdentifierKind.PHONE:
                number = phone_number(member.value)
                texts.add(number.lower())
                if not is_hashed(member.value):
                    digits.add("".join(ch for ch in number if ch.isdigit()))
        return cls(frozenset(texts), frozenset(d for d in digits if d))

    def needles(self) -> list[str]:
        """What the store's coarse scan looks for: each text, and each phone's last four
        digits (in every spelling of the number)."""
        return sorted({*self.texts, *(d[-4:] for d in self.phone_digits)})

    def redact_json(self, text: str) -> str:
        """A link's details (JSON) with each string holding an erased value replaced, and
        an erased value inside a longer string (a note's reason) too."""
        try:
            parsed = json.loads(text)
        except ValueError:
            return self.redact_string(text)
        redacted = self._redact(parsed)
        return text if redacted == parsed else json.dumps(redacted, separators=(",", ":"))

    def _redact(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact_string(value)
        if isinstance(value, list):
            return [self._redact(item) for item in value]
        if isinstance(value, dict):
            return {k: self._redact(v) for k, v in value.items()}
        return value

    def redact_string(self, value: str) -> str:
        """Free text (a reason) with each erased value in it replaced, in any case."""
        if self.holds(value):
            return ERASED_TEXT
        for text in sorted(self.texts, key=len, reverse=True):
            value = re.sub(re.escape(text), ERASED_TEXT, value, flags=re.IGNORECASE)
        return value

    def holds(self, value: str) -> bool:
        if value.strip().lower() in self.texts:
            return True
        if not self.phone_digits or not _PHONE_LIKE.match(value):
            return False
        digits = "".join(ch for ch in value if ch.isdigit())
        return len(digits) >= _MIN_PHONE_DIGITS and any(
            number.endswith(digits) for number in self.phone_digits)


@dataclass(frozen=True, slots=True)
class Erasure:
    """What one erasure did: ids and counts only, never a value."""

    action_id: str
    profile_id: ProfileId
    erased_ids: tuple[ProfileId, ...]  # the profile and the ids merged into it
    identifiers: int  # tombstoned (and suppressed)
    rows: ErasedRows
    at: datetime


@dataclass(frozen=True, slots=True)
class Lifted:
    action_id: str
    lifted: tuple[Identifier, ...]  # those that were suppressed; the others were not


def _redact(value: Any, gone: frozenset[str]) -> Any:
    """A JSON value with every erased identifier (its key or its value) taken out: a string
    equal to one becomes ERASED_TEXT, a key inside a longer string is replaced, a map entry
    keyed by one is dropped."""
    if isinstance(value, str):
        if value in gone:
            return ERASED_TEXT
        for text in gone:
            if "|" in text and text in value:
                value = value.replace(text, ERASED_TEXT)
        return value
    if isinstance(value, list):
        return [_redact(item, gone) for item in value]
    if isinstance(value, dict):
        return {k: _redact(v, gone) for k, v in value.items() if k not in gone}
    return value


def redact_text(text: str, gone: frozenset[str]) -> str:
    """An audit entry's JSON (or plain text) with the erased identifiers taken out."""
    try:
        parsed = json.loads(text)
    except ValueError:
        # Free text (a steward's reason): every erased value found in it, longest first.
        for value in sorted(gone, key=len, reverse=True):
            text = text.replace(value, ERASED_TEXT)
        return text
    return json.dumps(_redact(parsed, gone), sort_keys=True)


class Eraser:
    """eraseProfile and the lifting of suppressions, each one audited write transaction."""

    def __init__(self, store: GraphStore, key: ErasureKey, clock: Callable[[], datetime],
                 announce: Announce, matcher: Matcher | None = None) -> None:
        """`matcher`: the model survivors' match records are rebuilt by (their blocking keys
        follow their fields)."""
        self._store = store
        self._matcher = matcher
        self._key = key
        self._clock = clock
        self._announce = announce

    async def erase(self, profile_id: str, actor: str, reason: str) -> Erasure:
        """Raises ValidationError for an unknown profile id or a missing actor or reason. A
        merged id erases the profile it was merged into."""
        actor, reason = check_note(actor, reason)
        key = await self._key.get()

        async def attempt() -> Erasure:
            action_id, now = new_action_id(), self._clock()
            async with self._store.transaction() as tx:
                return await self._erase(tx, profile_id, actor, reason, key, action_id, now)

        done = await retry_on_conflict(attempt)
        change = ProfileChange(ChangeKind.ERASED, done.profile_id, EventId(done.action_id),
                               done.at, absorbed_ids=done.erased_ids[1:])
        await self._announce([change], frozenset(done.erased_ids))
        return done

    async def _erase(self, tx: GraphTransaction, profile_id: str, actor: str, reason: str,
                     key: bytes, action_id: str, now: datetime) -> Erasure:
        found = await tx.graph.lookup_profiles([profile_id])
        if not found:
            raise ValidationError.of("profileId", f"no profile '{printable(profile_id, 64)}'")
        row = found[0]
        erased_ids = (row.profile_id, *await tx.graph.merged_ids(row.profile_id))
        members = [m.identifier for m in await tx.graph.read_members([row.group_id])]
        gone = frozenset(text for m in members for text in (m.key, m.value))
        related: set[ProfileId] = set()
        for erased in erased_ids:
            after = 0
            while page := await tx.versions.read_versions(erased, after, _PAGE):
                related.update(r for v in page for r in v.related)
                after = page[-1].version
            await self._redact_audit(tx, erased, gone)
        rows = await tx.erasure.erase_rows(members, erased_ids)
        stripped = await self._strip_survivors(tx, members)
        await tx.consents.erase_consents(members)
        await tx.erasure.strip_versions(sorted(related - set(erased_ids)), members, erased_ids)
        await tx.erasure.add_tombstones(
            [Tombstone(h, action_id, now)
             for h in sorted({keyed_hash(key, suppressed_form(m)) for m in members})])
        counts = asdict(rows)
        # The erasure's own reason may name the person ("request from ann@..."): redacted as
        # the earlier entries are, in any case.
        reason = ErasedValues.of(members).redact_string(redact_text(reason, gone))
        await tx.audit.append_entries([AuditEntry(
            action_id, ERASE_ACTION, actor, now, reason, erased_ids,
            json.dumps({"identifiers": len(members)}, sort_keys=True),
            json.dumps({"erased": counts, "tombstones": len(members), "stripped": stripped},
                       sort_keys=True))])
        change = ProfileChange(ChangeKind.ERASED, row.profile_id, EventId(action_id), now,
                               absorbed_ids=erased_ids[1:])
        await tx.changes.append_changes([change])
        return Erasure(action_id, row.profile_id, erased_ids, len(members), rows, now)

    async def _strip_survivors(self, tx: GraphTransaction, members: Sequence[Identifier]
                               ) -> dict[str, int]:
        """The erased values other identifiers still hold: a match record anchored at a
        survivor (an event named both before a split) is rebuilt without the fields holding
        one, under its new blocking keys (dropped without a model to rebuild it by); a
        survivor's stored event loses the traits holding one, and a link's evidence (a
        score's values, a steward's note) shows ERASED_TEXT in place of one. The rest of
        their data stays."""
        erased = ErasedValues.of(members)
        found = await tx.erasure.holding(erased.needles())
        dropped: list[str] = []
        rebuilt_records: list[MatchRecord] = []
        for record in found.records:
            names = frozenset(name for name, value in record.fields if erased.holds(value))
            if not names:
                continue
            dropped.append(record.record_id)
            if self._matcher is not None and (
                    again := rebuilt(record, names, self._matcher.model)) is not None:
                rebuilt_records.append(again)
        traits = [(e.event_id, kept) for e in found.events
                  if (kept := tuple((n, v) for n, v in e.traits if not erased.holds(v)))
                  != e.traits]
        details = [(a, b, rule, redacted) for a, b, rule, text in found.details
                   if (redacted := erased.redact_json(text)) != text]
        await tx.erasure.rewrite_holding(dropped, traits, details)
        if rebuilt_records and self._matcher is not None:
            await tx.matches.index_records(rebuilt_records, self._matcher.max_block)
        return {"records": len(dropped), "events": len(traits), "links": len(details)}

    @staticmethod
    async def _redact_audit(tx: GraphTransaction, profile_id: ProfileId,
                            gone: frozenset[str]) -> None:
        """The person's audit entries stay (what was done, by whom, when), without their
        identifiers."""
        before = None
        entries: list[AuditEntry] = []
        while page := await tx.audit.page_entries(AuditFilter(profile_id=profile_id), before,
                                                  _PAGE):
            entries += page
            before = (page[-1].at, page[-1].action_id)
            if len(page) < _PAGE:
                break
        redacted = [(e.action_id, redact_text(e.reason, gone), redact_text(e.before, gone),
                     redact_text(e.after, gone)) for e in entries]
        await tx.erasure.redact_audit(
            [r for r, e in zip(redacted, entries, strict=True)
             if r[1:] != (e.reason, e.before, e.after)])

    async def lift(self, identifiers: Sequence[Identifier], actor: str, reason: str
                   ) -> Lifted:
        """Lifts the suppression of these (normalized) identifiers: events naming them are
        taken in again. Audited (action `lift_suppression`, the count only)."""
        actor, reason = check_note(actor, reason)
        key = await self._key.get()
        by_hash = {hashed: identifier for identifier in identifiers
                   for hashed in tombstone_hashes(key, identifier)}

        async def attempt() -> Lifted:
            action_id, now = new_action_id(), self._clock()
            async with self._store.transaction() as tx:
                found = sorted({by_hash[h] for h in await tx.erasure.lift(sorted(by_hash), now)})
                await tx.audit.append_entries([AuditEntry(
                    action_id, LIFT_ACTION, actor, now, reason, (),
                    json.dumps({"asked": len(set(identifiers))}),
                    json.dumps({"lifted": len(found)}))])
            return Lifted(action_id, tuple(found))

        return await retry_on_conflict(attempt)
