"""Links between identifiers and the evidence behind each one. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from identity.domain.types import EventId, Identifier, priority_key


class LinkRule(StrEnum):
    """Why two identifiers are linked; every link names one (docs/architecture.md, invariant 4)."""

    SAME_EVENT = "same_event"
    PROBABILISTIC = "probabilistic"  # two records scored at or above the link threshold
    POSSIBLE_MATCH = "possible_match"  # scored between review and link: inactive until reviewed
    VETOED = "vetoed"  # scored high, but a never-link rule forbids it: always inactive
    # A steward's decisions (docs/architecture.md, "Steward operations"); `details` holds
    # who, why and which audited action, as JSON (domain.steward.StewardNote).
    MANUAL = "manual"  # a merge: joins before any other link
    NEVER = "never_link"  # these two are two people: never in one profile, always inactive
    UNLINKED = "unlinked"  # no link between these two joins: always inactive


# The rules whose evidence details hold a scored comparison (domain.matching.scoring), and
# those whose details hold a steward's note (domain.steward): a link's details are read by
# its rule, never guessed from their shape.
SCORED_RULES = frozenset({LinkRule.PROBABILISTIC.value, LinkRule.POSSIBLE_MATCH.value,
                          LinkRule.VETOED.value})
STEWARD_RULES = frozenset({LinkRule.MANUAL.value, LinkRule.NEVER.value,
                           LinkRule.UNLINKED.value})


@dataclass(frozen=True, slots=True)
class LinkObservation:
    """One sighting of a link: the store folds sightings into one link with its evidence."""

    a: Identifier
    b: Identifier
    rule: LinkRule
    event_id: EventId
    source: str
    seen_at: datetime
    inactive_reason: str | None = None  # set when a guard blocks the link from the start
    score: float | None = None  # match probability, for probabilistic rules
    details: str | None = None  # the scored comparison as JSON (domain.matching.scoring)


MAX_EVENT_IDS_SHOWN = 100


@dataclass(frozen=True, slots=True)
class Evidence:
    rule: str
    sources: tuple[str, ...]
    first_seen: datetime
    last_seen: datetime
    # The events that sighted the link: at most MAX_EVENT_IDS_SHOWN, the first by id, as the
    # store reads them (a pair seen in 10,000 events would otherwise weigh on every read of
    # it, settling included), and how many there are in all.
    event_ids: tuple[str, ...]
    event_count: int
    score: float | None = None  # the best score any sighting gave
    details: str | None = None  # that sighting's comparison, field by field


@dataclass(frozen=True, slots=True)
class Link:
    a: Identifier
    b: Identifier
    evidence: Evidence
    is_active: bool = True
    inactive_reason: str | None = None


def anchor(identifiers: tuple[Identifier, ...]) -> Identifier:
    """The strongest identifier of an event: its links and its traits hang on it."""
    return min(identifiers, key=priority_key)


def plan_links(
    identifiers: tuple[Identifier, ...], event_id: EventId, source: str, seen_at: datetime
) -> list[LinkObservation]:
    """A star from the anchor: k-1 links connect what a clique of k(k-1)/2 would.

    The components are the same either way, and the anchor is chosen by kind priority and
    value, never arrival order, so the same event always yields the same links, in the same
    order.
    """
    if len(identifiers) < 2:
        return []
    hub = anchor(identifiers)
    return [
        LinkObservation(min(hub, other), max(hub, other), LinkRule.SAME_EVENT, event_id,
                        source, seen_at)
        for other in sorted(identifiers)
        if other != hub
    ]
