"""The ground truth: which person each normalized identifier belongs to.

Truth is recorded as events are written, from the raw values the events carry, and normalized by
the domain's own rules; so two spellings of one mailbox are one row and a typo is its own row,
exactly as the graph will see them.
"""

from __future__ import annotations

from dataclasses import dataclass

from identity.domain.errors import InvalidIdentifier
from identity.domain.identifiers import NormalizationRules, is_placeholder, normalize_identifier
from identity.domain.types import Identifier


@dataclass(frozen=True)
class TruthRow:
    """`is_shared` marks a device several people use; `person_id` is then its owner."""

    kind: str
    value: str
    person_id: str
    is_shared: bool = False


@dataclass(frozen=True, slots=True)
class Mention:
    """One identifier as written in one event; no owner means a placeholder (`unknown`)."""

    kind: str
    raw: str
    owner: str | None
    shared: bool = False


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

    def reserve(self, kind: str, raw: str, person_id: str) -> bool:
        """Claim a value for a person before it is used; False when it is unusable or taken."""
        identifier = self.normalize(kind, raw)
        if identifier is None:
            return False
        claim = self._claims.get(identifier)
        if claim is None:
            self._claims[identifier] = _Claim(person_id, shared=False)
            return True
        return claim.person_id == person_id and not claim.shared

    def record(self, mention: Mention) -> None:
        """Every value an event carries lands in the truth; a clash is a generator bug."""
        if mention.owner is None:
            return
        identifier = self.normalize(mention.kind, mention.raw)
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

    def rows(self) -> list[TruthRow]:
        """Identifiers that some event carries, in the order they first appeared."""
        return [
            TruthRow(i.kind, i.value, self._claims[i].person_id, self._claims[i].shared)
            for i in self._seen
        ]
