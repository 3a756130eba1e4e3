"""Outbound change events (docs/architecture.md, invariant 8). Pure: no I/O.

Consumers learn what happened from the event itself, never by diffing two states: a merge says
which ids were absorbed into which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from identity.domain.types import EventId, Identifier, ProfileId


class ChangeKind(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    MERGED = "merged"
    SPLIT = "split"
    # The profile's latest consent decision changed for a purpose (domain/consent.py); the
    # event (or the steward's action id) that decided it is the cause. Read Profile.consent.
    CONSENT_CHANGED = "consent_changed"
    # The profile and the ids merged into it (absorbed_ids) were erased: ids only, no data
    # (docs/architecture.md, "Erasure and access").
    ERASED = "erased"


@dataclass(frozen=True, slots=True)
class ProfileChange:
    kind: ChangeKind
    profile_id: ProfileId
    cause_event_id: EventId
    at: datetime
    absorbed_ids: tuple[ProfileId, ...] = ()
    split_ids: tuple[ProfileId, ...] = ()  # new profiles carved out of profile_id
    # For the profile's history (docs/architecture.md, "Steward operations"), not part of
    # what the change is: identifiers new to the graph placed in it, the members a split took
    # out, each split id's members, and what decided it (a link rule, `settle`, or a
    # steward's action).
    added: tuple[Identifier, ...] = field(default=(), compare=False)
    removed: tuple[Identifier, ...] = field(default=(), compare=False)
    pieces: tuple[tuple[Identifier, ...], ...] = field(default=(), compare=False)
    rule: str | None = field(default=None, compare=False)

    @property
    def change_id(self) -> str:
        """Stable across replays of the same event, so consumers can deduplicate."""
        return f"{self.cause_event_id}/{self.kind}/{self.profile_id}"

    @property
    def mentioned_ids(self) -> tuple[ProfileId, ...]:
        """Every profile the change concerns: a watcher of an absorbed or a carved-out id
        must hear of the merge or the split, not only a watcher of the survivor."""
        return (self.profile_id, *self.absorbed_ids, *self.split_ids)
