"""The golden record: one value per field, chosen by rules, with provenance. Pure: no I/O.

The result depends only on the set of observations, never on the order they arrived in, so a
replay or a reordered stream builds the same golden record (docs/architecture.md, invariant 3).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from identity.domain.traits import MAX_CUSTOM_TRAITS, PERSON_TRAITS


class Criterion(StrEnum):
    SOURCE_PRIORITY = "source_priority"
    MOST_RECENT = "most_recent"
    MOST_FREQUENT = "most_frequent"


DEFAULT_CRITERIA = (Criterion.SOURCE_PRIORITY, Criterion.MOST_RECENT, Criterion.MOST_FREQUENT)


@dataclass(frozen=True)
class SurvivorshipRules:
    """`source_priority` lists trusted sources first; unlisted sources rank below all of them."""

    source_priority: tuple[str, ...] = ()
    criteria: tuple[Criterion, ...] = DEFAULT_CRITERIA
    per_field: Mapping[str, tuple[Criterion, ...]] = field(default_factory=dict)

    def source_rank(self, source: str) -> int:
        try:
            return self.source_priority.index(source)
        except ValueError:
            return len(self.source_priority)


@dataclass(frozen=True, slots=True)
class Observation:
    field: str
    value: str
    source: str
    observed_at: datetime
    event_id: str


@dataclass(frozen=True, slots=True)
class GoldenField:
    """The surviving value and where it came from; `support` counts observations agreeing."""

    field: str
    value: str
    source: str
    observed_at: datetime
    event_id: str
    support: int


@dataclass(frozen=True, slots=True)
class OrderLine:
    event_id: str
    amount: Decimal | None  # None: the order's value is unknown
    currency: str | None
    observed_at: datetime


@dataclass(frozen=True, slots=True)
class OrderSummary:
    count: int
    total_spend: tuple[tuple[str, Decimal], ...]  # (currency, total), sorted by currency
    unknown_value: int = 0  # orders counted in `count` whose amount is not known


@dataclass
class _Candidate:
    observations: list[Observation]

    def key(self, rules: SurvivorshipRules, criteria: tuple[Criterion, ...]) -> tuple[object, ...]:
        parts: list[object] = []
        for criterion in criteria:
            if criterion is Criterion.SOURCE_PRIORITY:
                parts.append(min(rules.source_rank(o.source) for o in self.observations))
            elif criterion is Criterion.MOST_RECENT:
                parts.append(-max(o.observed_at for o in self.observations).timestamp())
            else:
                parts.append(-len(self.observations))
        parts.append(self.provenance(rules).value)  # last resort, so ties never depend on order
        return tuple(parts)

    def provenance(self, rules: SurvivorshipRules) -> Observation:
        """The best-ranked source's latest observation vouches for the value."""
        return min(
            self.observations,
            key=lambda o: (rules.source_rank(o.source), -o.observed_at.timestamp(), o.event_id),
        )


def _fold(value: str) -> str:
    return " ".join(value.casefold().split())


def golden_record(
    observations: Iterable[Observation], rules: SurvivorshipRules
) -> dict[str, GoldenField]:
    """The person's fields, and at most MAX_CUSTOM_TRAITS custom ones, so no producer (nor
    anyone who knows one of a person's identifiers) can grow a profile past what every reader
    can take. Which custom ones: those seen in the most events, then the first seen, then by
    name; every part of that is the sender's to claim, so under a flood this bounds size,
    not who wins (authenticated producers are what can)."""
    by_field: dict[str, dict[str, _Candidate]] = defaultdict(dict)
    first_seen: dict[str, datetime] = {}
    events: dict[str, set[str]] = defaultdict(set)
    for obs in observations:
        candidates = by_field[obs.field]
        candidates.setdefault(_fold(obs.value), _Candidate([])).observations.append(obs)
        if obs.field not in first_seen or obs.observed_at < first_seen[obs.field]:
            first_seen[obs.field] = obs.observed_at
        events[obs.field].add(obs.event_id)
    custom = sorted((-len(events[name]), first_seen[name], name)
                    for name in by_field if name not in PERSON_TRAITS)
    shown = {name for name in by_field if name in PERSON_TRAITS} | {
        name for _, _, name in custom[:MAX_CUSTOM_TRAITS]}
    record: dict[str, GoldenField] = {}
    for name in sorted(shown):
        criteria = rules.per_field.get(name, rules.criteria)
        best = min(by_field[name].values(), key=lambda c: c.key(rules, criteria))
        chosen = best.provenance(rules)
        record[name] = GoldenField(name, chosen.value, chosen.source, chosen.observed_at,
                                   chosen.event_id, len(best.observations))
    return record


def summarize_orders(orders: Iterable[OrderLine]) -> OrderSummary:
    """Spend is totalled per currency: adding EUR to USD would need a rate we do not have."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    seen: set[str] = set()
    unknown = 0
    for line in orders:
        if line.event_id in seen:
            continue
        seen.add(line.event_id)
        if line.amount is None or line.currency is None:
            unknown += 1
        else:
            totals[line.currency] += line.amount
    return OrderSummary(len(seen), tuple(sorted(totals.items())), unknown)
