"""Match records: the person traits one event brings, as the model compares them. Pure.

A record hangs on its event's anchor identifier, so a probabilistic link joins two anchors.
Its id is a digest of the anchor and the values, so the same facts sent again make the same
record (nothing new to compare), and a record never changes: every pair is scored once, when
the later of its two records arrives, whatever order they arrive in.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from identity.domain.events import Event
from identity.domain.identifiers import Blocklist, phone_number
from identity.domain.links import anchor
from identity.domain.matching.blocking import blocking_keys
from identity.domain.matching.model import FieldValues, MatchModel, fold_record
from identity.domain.types import EventId, Identifier, IdentifierKind, priority_key


@dataclass(frozen=True, slots=True)
class MatchRecord:
    record_id: str
    anchor: Identifier
    fields: tuple[tuple[str, str], ...]  # sorted by field name
    keys: tuple[str, ...]  # blocking keys: where earlier records with something in common wait
    event_id: EventId
    source: str
    seen_at: datetime

    @property
    def values(self) -> FieldValues:
        return dict(self.fields)

    @property
    def folded(self) -> FieldValues:
        """The values as comparisons see them; shared between records with this id (the id
        is a digest of the values), so never mutate. A record is read back each time a newer
        one shares its block: it is folded once."""
        found = _FOLDED.get(self.record_id)
        if found is None:
            if len(_FOLDED) >= _MAX_FOLDED:
                _FOLDED.clear()
            found = _FOLDED[self.record_id] = fold_record(dict(self.fields))
        return found


_FOLDED: dict[str, FieldValues] = {}
_MAX_FOLDED = 200_000


# Values forms fill in when the person did not: they would make strangers look alike.
TRAIT_PLACEHOLDERS = Blocklist(
    values=frozenset({
        "unknown", "null", "none", "nil", "undefined", "n/a", "na", "-", ".", "?", "test",
        "testing", "asdf", "qwerty", "anonymous", "guest", "customer", "nobody", "noname",
        "no name", "first name", "last name", "firstname", "lastname", "name", "address",
        "1900-01-01", "1901-01-01", "1970-01-01",
    }),
    patterns=(
        r"^[0\s().+-]*$",  # zeros and punctuation: an unset postcode or phone
    ),
    repeats=True,  # one character repeated: xxx, aaaa, 99999
)


def record_of(event: Event, model: MatchModel,
              placeholders: Blocklist = TRAIT_PLACEHOLDERS) -> MatchRecord | None:
    """Events without a compared trait (name, birth date, address...) make no record: their
    identifiers link deterministically, and an email alone says nothing fuzzy. A field named
    like an identifier kind (email, phone, customer_id) takes the event's normalized
    identifier of that kind before any trait of that name, so records carrying two
    different customer ids can be told apart. Placeholder values are left out."""
    wanted = frozenset(model.fields)
    traits = {name: value for name, value in event.traits
              if name in wanted and value and not placeholders.blocks(value)}
    if not traits:
        return None
    fields = dict(traits)
    for identifier in sorted(event.identifiers, key=priority_key, reverse=True):
        if identifier.kind in wanted:  # the strongest one ends up kept
            fields[identifier.kind] = (phone_number(identifier.value)
                                       if identifier.kind == IdentifierKind.PHONE
                                       else identifier.value)
    return _made(anchor(event.identifiers), fields, model, event.event_id, event.source,
                 event.timestamp)


def _made(main: Identifier, fields: dict[str, str], model: MatchModel, event_id: EventId,
          source: str, seen_at: datetime) -> MatchRecord:
    ordered = tuple(sorted(fields.items()))
    digest = hashlib.sha256(json.dumps([main.key, ordered]).encode()).hexdigest()[:32]
    return MatchRecord(f"rec_{digest}", main, ordered,
                       tuple(blocking_keys(model.blocking, fields)), event_id, source, seen_at)


def rebuilt(record: MatchRecord, dropped: frozenset[str], model: MatchModel
            ) -> MatchRecord | None:
    """The record without the fields named in `dropped`, as record_of would have made it
    from an event without them (new id, keys by `model`): how erasure takes an erased
    person's value out of a record another identifier anchors. None when no compared trait
    is left (fields named like an identifier kind alone make no record)."""
    fields = {name: value for name, value in record.fields if name not in dropped}
    kinds = {kind.value for kind in IdentifierKind}
    if not any(name not in kinds for name in fields):
        return None
    return _made(record.anchor, fields, model, record.event_id, record.source, record.seen_at)
