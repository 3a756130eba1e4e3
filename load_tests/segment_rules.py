"""A peer for the quality benchmark: Segment's documented identity rules, simulated.

Segment's "flat matching" (its Identity Resolution docs): an event's identifiers are looked
up; none known makes a profile, one profile takes the new identifiers, several profiles merge.
Before adding or merging, the per-profile limits (at most so many identifiers of each kind)
are checked: when the result would break one, the event's lowest-priority identifier is
dropped and the event tried again. Blocked values never count. Events are applied in arrival
order, as Segment applies them; there is no fuzzy matching.

The simulation uses this service's normalization, placeholder blocklist, limits and
priorities, so the comparison is between the two algorithms, not their settings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from identity.domain.errors import ValidationError
from identity.domain.events import parse_event
from identity.domain.identifiers import NormalizationRules
from identity.domain.types import Identifier, priority_key


def segment_profiles(events: Iterable[object], limits: Mapping[str, int],
                     rules: NormalizationRules | None = None) -> dict[Identifier, str]:
    """Each identifier placed in a profile -> its profile's name; identifiers every event
    dropped are left out (the scoring counts them as profiles of their own)."""
    rules = rules or NormalizationRules()
    owner: dict[Identifier, int] = {}
    members: dict[int, set[Identifier]] = {}
    kinds: dict[int, Counter[str]] = {}
    made = 0
    for raw in events:
        try:
            event = parse_event(raw, rules)
        except ValidationError:
            continue
        ordered = sorted(event.identifiers, key=priority_key)
        while ordered:
            found = sorted({owner[i] for i in ordered if i in owner})
            counts: Counter[str] = Counter()
            for profile in found:
                counts.update(kinds[profile])
            counts.update(i.kind for i in ordered if i not in owner)
            if all(n <= limits.get(kind, n) for kind, n in counts.items()):
                break
            ordered.pop()  # the lowest-priority identifier is dropped, then try again
        if not ordered:
            continue
        found = sorted({owner[i] for i in ordered if i in owner})
        if found:
            target = found[0]
        else:
            target, made = made, made + 1
            members[target], kinds[target] = set(), Counter()
        for absorbed in found[1:]:
            for identifier in members.pop(absorbed):
                owner[identifier] = target
                members[target].add(identifier)
            kinds[target].update(kinds.pop(absorbed))
        for identifier in ordered:
            if identifier not in owner:
                owner[identifier] = target
                members[target].add(identifier)
                kinds[target][identifier.kind] += 1
    return {identifier: f"segment-{profile}" for identifier, profile in owner.items()}
