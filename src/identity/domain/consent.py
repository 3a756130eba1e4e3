"""Consent per person and purpose (docs/architecture.md, "Security and privacy", Consent).
Pure: no I/O.

A decision (granted or withdrawn) for one purpose comes from an event (`consent` in ours,
`context.consent.categoryPreferences` in Segment's shape) or from a steward. It hangs on the
strongest identifier of the event (its anchor, where its traits hang too), so it follows the
person through merges and splits as the golden record does. A profile's consent for a
purpose is the latest decision among its identifiers', by (time, then event id): the same
whatever order the decisions arrive in. No decision recorded means not consented.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from identity.domain.errors import ACCEPTED_WITHOUT, FieldError
from identity.domain.identifiers import printable

__all__ = ["SEGMENT_CATEGORIES", "SET_ASIDE", "ConsentDecision", "Purpose",
           "changed_purposes", "consented", "latest_decisions", "parse_consent",
           "parse_purpose", "segment_purpose"]


class Purpose(StrEnum):
    """What a person's data may be used for. A closed set: a purpose added here is accepted
    by every entry point (events, GraphQL, gRPC) at once."""

    PERSONALIZATION = "personalization"
    MARKETING = "marketing"
    ANALYTICS = "analytics"
    SALE_SHARING = "sale_sharing"  # CCPA: "do not sell or share my personal information"


_ALLOWED = ", ".join(Purpose)
_WORD_START = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")  # DataSharing -> Data_Sharing

# Segment's Consent Management categories are named by each workspace; these names (compared
# in snake_case, any case) are read as our purposes, besides the purposes' own names. Any
# other category is set aside with a warning: a guess would grant what was not asked.
SEGMENT_CATEGORIES: Mapping[str, Purpose] = {
    "advertising": Purpose.MARKETING,
    "personalisation": Purpose.PERSONALIZATION,
    "data_sharing": Purpose.SALE_SHARING,
}


@dataclass(frozen=True, slots=True)
class ConsentDecision:
    """One decision: for `purpose`, `granted` or withdrawn, by `source` (the event's source,
    or `steward`) at `at` (the event's time), set by `event_id` (an event, or a steward's
    action id)."""

    purpose: Purpose
    granted: bool
    source: str
    at: datetime
    event_id: str

    @property
    def order(self) -> tuple[datetime, str]:
        """Later wins: by time, then event id, so the winner does not depend on arrival."""
        return (self.at, self.event_id)


def latest_decisions(decisions: Iterable[ConsentDecision]) -> tuple[ConsentDecision, ...]:
    """The latest decision per purpose, in the purposes' order. One event decides a purpose
    once, so (time, event id) orders any two decisions for one purpose; on a full tie (the
    same event read twice) a withdrawal wins."""
    latest: dict[Purpose, ConsentDecision] = {}
    for decision in decisions:
        kept = latest.get(decision.purpose)
        if kept is None or (decision.order, not decision.granted) > (kept.order,
                                                                       not kept.granted):
            latest[decision.purpose] = decision
    return tuple(latest[p] for p in Purpose if p in latest)


def consented(decisions: Iterable[ConsentDecision], purpose: Purpose) -> bool:
    """Whether the latest decision for `purpose` grants it; no decision: not consented."""
    return any(d.granted for d in latest_decisions(decisions) if d.purpose is purpose)


def changed_purposes(before: Iterable[ConsentDecision], after: Iterable[ConsentDecision]
                     ) -> list[Purpose]:
    """The purposes whose latest decision says otherwise after than before (granted
    flipped, or decided for the first time): what a consent change reports."""
    was = {d.purpose: d.granted for d in latest_decisions(before)}
    now = {d.purpose: d.granted for d in latest_decisions(after)}
    return [p for p in Purpose if p in now and was.get(p) != now[p]]


def parse_purpose(value: object) -> Purpose:
    """A purpose a caller names (GraphQL, gRPC); raises ValueError with the allowed ones."""
    name = _name(value)
    if name in Purpose._value2member_map_:
        return Purpose(name)
    shown = (f"'{printable(value.strip(_SPACE), 32)}'" if isinstance(value, str)
             else f"a {type(value).__name__}")
    raise ValueError(f"{shown} is not a purpose: one of {_ALLOWED}")


_SPACE = " \t\r\n"


def _name(value: object) -> str:
    """A purpose's or category's name as compared: ASCII only (else "", no name), spaces
    around it dropped, in lower case. Not str.strip() and str.lower() alone: they would read
    a name ending in a control character (U+001F, U+0085, U+2028) or spelt with the Kelvin
    sign as a purpose."""
    if not isinstance(value, str) or not value.isascii():
        return ""
    return value.strip(_SPACE).lower()


def parse_consent(value: object, errors: list[FieldError], field: str = "consent"
                  ) -> tuple[tuple[Purpose, bool], ...]:
    """An event's `consent` object, `{"marketing": true, "analytics": false}`: each name a
    purpose, each value a boolean; every bad entry is a field error (the event is refused:
    a consent misread is worse than one not recorded)."""
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        errors.append(FieldError(field, "must be an object of purpose: true or false, such "
                                 'as {"marketing": true}'))
        return ()
    if len(value) > len(Purpose):
        errors.append(FieldError(field, f"has more than {len(Purpose)} purposes: one of "
                                 f"{_ALLOWED}"))
        return ()
    found: list[tuple[Purpose, bool]] = []
    for name, granted in value.items():
        # The name as a path shows it: escaped, so a hostile key is never echoed raw.
        where = f"{field}.{printable(name, 64)}" if isinstance(name, str) else field
        try:
            purpose = parse_purpose(name)
        except ValueError as exc:
            errors.append(FieldError(where, str(exc)))
            continue
        if not isinstance(granted, bool):
            errors.append(FieldError(where, "must be true (granted) or false (withdrawn)"))
            continue
        found.append((purpose, granted))
    if len({p for p, _ in found}) < len(found):
        errors.append(FieldError(field, "names one purpose twice"))
        return ()
    return tuple(sorted(found))


def segment_purpose(category: object) -> Purpose | None:
    """Our purpose for a Segment consent category (its name in any case, camelCase or
    snake_case); None for a category that is not one."""
    if not isinstance(category, str) or len(category) > 64:
        return None
    name = _name(re.sub(r"[ \t-]+", "_", _WORD_START.sub("_", category.strip(_SPACE))))
    if name in Purpose._value2member_map_:
        return Purpose(name)
    return SEGMENT_CATEGORIES.get(name)


# The warning for a Segment category that is none of our purposes.
SET_ASIDE = f"is not one of our purposes ({_ALLOWED}): not recorded" + ACCEPTED_WITHOUT
