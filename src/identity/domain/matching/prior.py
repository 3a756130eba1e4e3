"""The prior: how likely two records drawn at random are one person. Pure.

No label says which pairs match, but some rules are near certain (the same email, the same
social security number and birth date): the pairs they catch, over the share of true pairs
they are assumed to catch, over all pairs, estimate the prior, as Splink estimates it from
deterministic rules.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from identity.domain.matching.levels import fold
from identity.domain.matching.model import FieldValues

ASSUMED_RECALL = 0.8  # deterministic rules miss the typos, so they see part of the matches
FLOOR, CEILING = 1e-8, 0.5
MAX_GROUP = 1_000  # a value this many records share is a placeholder, not a person


def estimate_prior(records: Mapping[str, FieldValues], rules: Sequence[Sequence[str]], *,
                   sources: Mapping[str, str] | None = None,
                   recall: float = ASSUMED_RECALL) -> float | None:
    """None when no rule is given, the records are too few, or no pair meets a rule."""
    ids = sorted(records)
    if not rules or len(ids) < 2:
        return None
    if sources is None:
        total = len(ids) * (len(ids) - 1) // 2
    else:
        per_source: dict[str, int] = defaultdict(int)
        for record_id in ids:
            per_source[sources[record_id]] += 1
        everyone = sum(per_source.values())
        total = (everyone * everyone - sum(n * n for n in per_source.values())) // 2
    matched: set[tuple[str, str]] = set()
    for rule in rules:
        groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for record_id in ids:
            values = tuple(fold(records[record_id].get(name) or "") for name in rule)
            if all(values):
                groups[values].append(record_id)
        for members in groups.values():
            if len(members) > MAX_GROUP:
                continue
            for i, left in enumerate(members):
                for right in members[i + 1:]:
                    if sources is None or sources[left] != sources[right]:
                        matched.add((left, right))
    if total == 0 or not matched:
        return None  # no rule caught anything: nothing to learn the prior from
    return min(max(len(matched) / recall / total, FLOOR), CEILING)
