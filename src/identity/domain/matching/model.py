"""MatchModel: comparisons, thresholds and the trained m/u of every level, as one document.

The model is data: it round-trips through JSON (what `identity train` writes and the service
reads), in the spirit of Splink's settings, so a reviewer can read why two records link.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from identity.domain.json_text import read_json
from identity.domain.matching.levels import KINDS, PREDICATES, Level, fold

# One record's values by model field (a value None or missing: unknown), as compared.
FieldValues = Mapping[str, str | None]


@dataclass(frozen=True, slots=True)
class Comparison:
    """One field's ladder: null first, else last, and the first level that matches wins."""

    field: str
    levels: tuple[Level, ...]

    def __post_init__(self) -> None:
        kinds = [level.kind for level in self.levels]
        # null and else only at the ends: neither has a predicate of its own in between.
        if (len(kinds) < 3 or kinds[0] != "null" or kinds[-1] != "else"
                or "null" in kinds[1:] or "else" in kinds[:-1]):
            raise ValueError(f"comparison {self.field!r}: levels go null, ..., else")
        for level in self.levels:
            if level.kind not in KINDS:
                raise ValueError(f"comparison {self.field!r}: unknown level kind {level.kind!r}")
            for name, p in (("m", level.m), ("u", level.u)):
                if p is not None and not 0 <= p <= 1:  # NaN too: it compares false
                    raise ValueError(f"comparison {self.field!r}, level {level.label!r}: {name} "
                                     f"is a probability, got {p}")

    def level_of(self, a: FieldValues, b: FieldValues) -> int:
        return self.level_of_folded(fold(a.get(self.field) or ""), fold(b.get(self.field) or ""))

    def level_of_folded(self, left: str, right: str) -> int:
        """What `Level.matches` says rung by rung, for values folded once instead of once
        per rung: the real-time path runs this for every candidate of every record."""
        if not left or not right:
            return 0
        last = len(self.levels) - 1
        for index in range(1, last):
            level = self.levels[index]
            if PREDICATES[level.kind](left, right, level):
                return index
        return last


@dataclass(frozen=True, slots=True)
class NonMatchRule:
    """Pairs whose comparisons reach these levels are never the same person, whatever their
    weight: twins share a surname, an address and a birthday, and differ in first name, and
    Fellegi-Sunter's independence assumption would add those agreements up."""

    name: str
    when: tuple[tuple[str, tuple[str, ...]], ...]  # (field, level labels), all must hold


@dataclass(frozen=True, slots=True)
class MatchModel:
    comparisons: tuple[Comparison, ...]
    prior: float  # P(two records drawn at random are the same person)
    link_threshold: float = 0.95  # match probability at or above which a pair links
    review_threshold: float = 0.6  # from here up to the link threshold: a possible match
    blocking: tuple[tuple[str, ...], ...] = field(default_factory=tuple)
    never_link: tuple[NonMatchRule, ...] = field(default_factory=tuple)
    # Pairs agreeing exactly on every field of one of these rules are taken as the same
    # person when training estimates the prior (domain.matching.prior).
    prior_rules: tuple[tuple[str, ...], ...] = field(default_factory=tuple)
    # field -> folded value -> share of records holding it, for tf-adjusted levels: what
    # training saw, so real-time scoring weighs "Smith" and "Okafor" as batch scoring does.
    term_frequencies: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    # How many records the prior holds for. Two records drawn from a larger graph are less
    # likely one person: above this size the prior falls in proportion (`at_size`), so a
    # prior fit for a small graph does not join namesakes in a large one. None: fixed.
    prior_records: int | None = None

    def __post_init__(self) -> None:
        if not 0 < self.prior < 1:
            raise ValueError(f"prior must be strictly between 0 and 1, got {self.prior}")
        if not 0 < self.review_threshold <= self.link_threshold < 1:
            raise ValueError("thresholds: 0 < review_threshold <= link_threshold < 1")
        if self.prior_records is not None and (isinstance(self.prior_records, bool)
                                               or self.prior_records < 1):
            raise ValueError(f"prior_records counts records: at least 1, got "
                             f"{self.prior_records}")

    @property
    def fields(self) -> tuple[str, ...]:
        """Every field the model compares or blocks on, compared ones first: what a record
        keeps of an event and what a file must hold."""
        blocked = [term.rpartition(":")[2] for rule in self.blocking for term in rule]
        return tuple(dict.fromkeys([*(c.field for c in self.comparisons), *blocked]))

    @property
    def prior_weight(self) -> float:
        return math.log2(self.prior / (1 - self.prior))

    def at_size(self, records: int) -> MatchModel:
        """The model for a graph of `records` records: the prior scaled by prior_records /
        records once the graph is larger, in steps of a doubling, so a prior moves at most
        a few dozen times in a graph's life (a pair's decision depends on the step it was
        compared in, as little as can be while still following the graph)."""
        if self.prior_records is None or records <= self.prior_records:
            return self
        steps = math.ceil(math.log2(records / self.prior_records))
        return replace(self, prior=self.prior / 2**steps, prior_records=self.prior_records
                       * 2**steps)

    def non_match(self, vector: tuple[int, ...]) -> NonMatchRule | None:
        labels = {c.field: c.levels[i].label for c, i in zip(self.comparisons, vector,
                                                              strict=True)}
        for rule in self.never_link:
            if all(labels.get(name) in allowed for name, allowed in rule.when):
                return rule
        return None

    def vector(self, a: FieldValues, b: FieldValues) -> tuple[int, ...]:
        """The level each comparison reaches: what training counts and scoring weighs."""
        return tuple(c.level_of(a, b) for c in self.comparisons)

    def with_levels(self, updated: Mapping[str, tuple[Level, ...]]) -> MatchModel:
        return replace(self, comparisons=tuple(
            replace(c, levels=updated.get(c.field, c.levels)) for c in self.comparisons))

    def compacted(self, keep: int = 5_000) -> MatchModel:
        """For saving: each term-frequency table keeps its `keep` most common values seen
        more than once; every other value counts as the rarest seen (the "" entry). The file
        stays small, and values held by one person only (most of them) stay out of it."""
        tables: dict[str, dict[str, float]] = {}
        for name, table in self.term_frequencies.items():
            rarest = min(table.values(), default=0.0)
            common = sorted(((share, value) for value, share in table.items()
                             if share > rarest and value), reverse=True)[:keep]
            tables[name] = {"": rarest, **{value: share for share, value in common}}
        return replace(self, term_frequencies=tables)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> MatchModel:
        """Read strictly (no NaN, no nesting deeper than Python can follow): a model file is
        an operator's input."""
        document = read_json(text)
        if not isinstance(document, Mapping):
            raise ValueError("not a match model: not a JSON object")
        return cls.from_dict(document)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> MatchModel:
        try:
            comparisons = tuple(
                Comparison(c["field"], tuple(Level(**level) for level in c["levels"]))
                for c in raw["comparisons"])
            never_link = tuple(
                NonMatchRule(rule["name"], tuple((name, tuple(labels))
                                                 for name, labels in rule["when"]))
                for rule in raw.get("never_link", ()))
            return cls(comparisons=comparisons, prior=float(raw["prior"]),
                       link_threshold=float(raw.get("link_threshold", 0.95)),
                       review_threshold=float(raw.get("review_threshold", 0.6)),
                       blocking=tuple(tuple(rule) for rule in raw.get("blocking", ())),
                       never_link=never_link,
                       prior_rules=tuple(tuple(rule) for rule in raw.get("prior_rules", ())),
                       term_frequencies={
                           str(name): {str(v): float(share) for v, share in table.items()}
                           for name, table in raw.get("term_frequencies", {}).items()},
                       prior_records=None if raw.get("prior_records") is None
                       else int(raw["prior_records"]))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a match model: {exc}") from None


def fold_record(record: FieldValues) -> dict[str, str]:
    """Every value folded once, blanks dropped: what the comparisons actually compare."""
    return {name: folded for name, value in record.items() if value and (folded := fold(value))}
