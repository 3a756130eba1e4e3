"""The ground truth: which person each normalized identifier belongs to.

Truth is recorded as events are written, from the raw values the events carry, and normalized by
the domain's own rules; so two spellings of one mailbox are one row and a typo is its own row,
exactly as the graph will see them.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from identity.domain.errors import InvalidIdentifier
from identity.domain.identifiers import NormalizationRules, is_placeholder, normalize_identifier
from identity.domain.resolution import components
from identity.domain.types import Identifier
from identity.synthetic.scenarios import Scenario


@dataclass(frozen=True)
class TruthRow:
    """`is_shared` marks an identifier several people use (a family tablet or mailbox, a
    kiosk); `person_id` is then its owner. `scenarios` are the owner's and the identifier's
    own (a mistyped mailbox is a `typo`), sorted."""

    kind: str
    value: str
    person_id: str
    is_shared: bool = False
    scenarios: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Mention:
    """One identifier as written in one event; no owner means a value the graph must not link
    (a placeholder such as `unknown`, an invalid phone). `canonical` is the value to normalize
    when the written one needs context the event carries (a phone written nationally, read
    with the country the event shows)."""

    kind: str
    raw: str
    owner: str | None
    shared: bool = False
    canonical: str | None = None
    scenario: Scenario | None = None  # what this identifier is an instance of, if anything


@dataclass(frozen=True, slots=True)
class _Claim:
    person_id: str
    shared: bool


class TruthLedger:
    """Owns every identifier handed out, so no two people ever share a normalized value."""

    def __init__(self, rules: NormalizationRules | None = None) -> None:
        self._rules = rules or NormalizationRules()
        self._normalized: dict[tuple[str, str], Identifier | None] = {}
        self._claims: dict[Identifier, _Claim] = {}
        self._seen: dict[Identifier, None] = {}
        self._tags: dict[str, set[str]] = defaultdict(set)
        self._identifier_tags: dict[Identifier, set[str]] = defaultdict(set)
        self._shown: dict[Identifier, None] = {}  # owned, unshared identifiers events show
        self._together: list[tuple[Identifier, Identifier]] = []
        self._trait_root: dict[str, Identifier] = {}

    def tag(self, person_id: str, scenario: Scenario) -> None:
        """The person lives this scenario; every identifier of theirs is marked with it."""
        self._tags[person_id].add(scenario.value)

    def tags(self, person_id: str) -> frozenset[str]:
        return frozenset(self._tags.get(person_id, ()))

    def normalize(self, kind: str, raw: str) -> Identifier | None:
        """None for values the graph never links: invalid ones and placeholders."""
        key = (kind, raw)
        if key not in self._normalized:
            try:
                identifier: Identifier | None = normalize_identifier(kind, raw, self._rules)
            except InvalidIdentifier:
                identifier = None
            if identifier is not None and is_placeholder(raw, identifier, self._rules.blocklist):
                identifier = None
            self._normalized[key] = identifier
        return self._normalized[key]

    def reserve(self, kind: str, raw: str, person_id: str, *, shared: bool = False) -> bool:
        """Claim a value for a person (for a household, when `shared`, with its first member
        as owner) before it is used; False when it is unusable or taken."""
        identifier = self.normalize(kind, raw)
        if identifier is None:
            return False
        claim = self._claims.get(identifier)
        if claim is None:
            self._claims[identifier] = _Claim(person_id, shared=shared)
            return True
        return claim.person_id == person_id and claim.shared == shared

    def owner_of(self, kind: str, raw: str) -> str:
        """Whom a reserved value was given to (a household's first member, when shared)."""
        identifier = self.normalize(kind, raw)
        assert identifier is not None and identifier in self._claims, f"{raw!r} is not reserved"
        return self._claims[identifier].person_id

    def identify(self, mention: Mention) -> Identifier | None:
        """The identifier a mention names, as the graph will hold it; None for values it
        must not link."""
        return None if mention.owner is None else self.normalize(
            mention.kind, mention.canonical or mention.raw)

    def record(self, mention: Mention) -> None:
        """Every value an event carries lands in the truth; a clash is a generator bug."""
        identifier = self.identify(mention)
        if mention.owner is None:
            return
        if identifier is None:
            raise ValueError(f"generator wrote an unusable {mention.kind} {mention.raw!r}")
        claim = self._claims.get(identifier)
        if claim is None:
            claim = self._claims[identifier] = _Claim(mention.owner, mention.shared)
        clash = claim.shared != mention.shared or (
            not claim.shared and claim.person_id != mention.owner)
        if clash:
            raise ValueError(f"generator gave {identifier.key} to both {claim.person_id} "
                             f"and {mention.owner}")
        self._seen[identifier] = None
        if mention.scenario is not None:
            self._identifier_tags[identifier].add(mention.scenario.value)

    def observe(self, mentions: Sequence[Mention], carries_traits: bool) -> None:
        """What one event shows a perfect resolver: its owned, unshared identifiers belong
        together, and a record of person traits ties them to that person's other records."""
        owned = [(m.owner, i) for m in mentions
                 if m.owner is not None and not m.shared and (i := self.identify(m))]
        self._shown.update((identifier, None) for _, identifier in owned)
        self._together += [(a, b) for (_, a), (_, b) in itertools.pairwise(owned)]
        if carries_traits and owned:
            owner, first = owned[0]
            self._together.append((self._trait_root.setdefault(owner, first), first))

    def reachable(self) -> dict[Identifier, str]:
        """Each identifier events show unshared -> a label shared by exactly those a perfect
        resolver could link to it (the smallest key in its part)."""
        return {identifier: part[0].key
                for part in components(self._shown, self._together) for identifier in part}

    def rows(self) -> list[TruthRow]:
        """Identifiers that some event carries, in the order they first appeared."""
        rows = []
        for i in self._seen:
            claim = self._claims[i]
            tags = self._tags.get(claim.person_id, set()) | self._identifier_tags.get(i, set())
            rows.append(TruthRow(i.kind, i.value, claim.person_id, claim.shared,
                                 tuple(sorted(tags))))
        return rows

