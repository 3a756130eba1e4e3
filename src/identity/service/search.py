"""Search for data stewards: profiles by name (fuzzy), email, phone or any identifier, paged
(docs/architecture.md, "Search").

Identifiers are normalized as ingest normalizes them and looked up as nodes. Names live in
match records only (docs/architecture.md, "Matching"): the query's name is turned into the
blocking keys the model in force files records under, for the name as typed, its order
swapped, its nicknames and its one-edit typos, and the records filed there are ranked with
rapidfuzz. Without a match model nothing is filed, so a name search says so instead of
guessing. Everything a caller controls is bounded before the work it costs
(docs/architecture.md, invariant 10).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import string
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from rapidfuzz.distance import JaroWinkler

from identity.domain.errors import InvalidIdentifier, ValidationError
from identity.domain.identifiers import MAX_VALUE_LENGTH, printable, text_problem, validate_kind
from identity.domain.matching.blocking import TRANSFORMS, blocking_keys
from identity.domain.matching.levels import fold
from identity.domain.matching.nicknames import CANONICAL, canonical_name
from identity.domain.matching.records import MatchRecord
from identity.domain.types import Identifier, IdentifierKind, ProfileId
from identity.service.matching import Matcher
from identity.service.queries import placed_nodes
from identity.service.retry import retry_on_conflict
from identity.store.protocol import GraphStore, GraphTransaction

MAX_QUERY_LENGTH = MAX_VALUE_LENGTH  # as long as any identifier or trait may be
MAX_PAGE = 100
DEFAULT_PAGE = 20
MAX_NAME_WORDS = 6
# Blocking keys one name search may look up: the name as typed, swapped and nicknamed
# first, then one-edit typos while they last (about 55 per letter of a name).
MAX_KEYS = 4_000
KEYS_PER_LOOKUP = 500
# Records one name search may rank: the lookups stop once this many are in hand.
MAX_CANDIDATES = 2_000
MIN_NAME_SCORE = 0.8  # less alike: not shown (one name exact, the other unlike: 0.75)
NICKNAME_SCORE = 0.95
SWAPPED_PENALTY = 0.02  # "Baker Anna" finds Anna Baker, just below "Anna Baker" would
MAX_MATCHES_PER_HIT = 5
MAX_CURSOR_LENGTH = 200
NAME_FIELDS = ("first_name", "last_name")  # the traits match records keep a name in

_METAPHONE = TRANSFORMS["metaphone"]
_NICKNAMES: dict[str, tuple[str, ...]] = {}
for _name, _canonical in CANONICAL.items():
    _NICKNAMES[_canonical] = (*_NICKNAMES.get(_canonical, ()), _name)
# Identifier kinds ANY tries a free text as (email and phone first, when it reads as one).
_ANY_KINDS = tuple(k.value for k in IdentifierKind
                   if k not in (IdentifierKind.EMAIL, IdentifierKind.PHONE))
_CURSOR_VERSION = "s1"
_EXACT = "exact, normalized as ingest normalizes it"


class SearchBy(StrEnum):
    """What the query text is: ANY tries it as an email, a phone, every built-in identifier
    kind, and a name."""

    ANY = "any"
    NAME = "name"
    EMAIL = "email"
    PHONE = "phone"
    IDENTIFIER = "identifier"


@dataclass(frozen=True, slots=True)
class SearchMatch:
    """What matched (`field`: name, or an identifier kind), its value as stored, and why."""

    field: str
    value: str
    how: str


@dataclass(frozen=True, slots=True)
class SearchHit:
    profile_id: ProfileId
    score: float  # 1.0: an identifier, or a name exactly as typed; rounded to 4 places
    matches: tuple[SearchMatch, ...]  # best first


@dataclass(frozen=True, slots=True)
class SkippedBlock:
    """A block over the match index's cap: never read (a common name), so its records are
    missing from the results. `key` names the rule's fields and the values searched."""

    key: str
    size: int


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: tuple[SearchHit, ...]
    end_cursor: str | None  # pass as `after` for the next page; None: this was the last
    total: int  # profiles found in all, over every page
    skipped: tuple[SkippedBlock, ...]
    notes: tuple[str, ...]  # what was not searched, and why


@dataclass(frozen=True, slots=True)
class Reading:
    """One way to read the query as a name: which words are the first name, which the last."""

    first: str | None
    last: str | None
    swapped: bool = False  # read last name first ("Baker Anna", "Baker, Anna")


@dataclass(frozen=True, slots=True)
class _Plan:
    fingerprint: str
    identifiers: tuple[tuple[Identifier, str], ...]  # (identifier, how it was read)
    readings: tuple[Reading, ...]
    keys: tuple[str, ...]  # blocking keys, most likely first
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Found:
    hits: list[SearchHit]
    skipped: list[SkippedBlock]
    notes: list[str]


def checked_query(query: str) -> str:
    """The query trimmed, or a ValidationError at `query` saying why it cannot be searched.
    Length first: nothing else reads a huge text."""
    if len(query) > MAX_QUERY_LENGTH:
        raise ValidationError.of("query", f"at most {MAX_QUERY_LENGTH} characters, got "
                                 f"{len(query)}")
    if (problem := text_problem(query)) is not None:
        raise ValidationError.of("query", problem)
    text = query.strip()
    if not text:
        raise ValidationError.of("query", "must not be empty")
    return text


def check_page_size(first: int) -> None:
    if not 1 <= first <= MAX_PAGE:
        raise ValidationError.of("first", f"must be between 1 and {MAX_PAGE}, got {first}")


def name_words(text: str) -> list[str]:
    """The folded words of a name; commas separate like spaces ("Baker, Anna")."""
    words = fold(text.replace(",", " ")).split()
    if not any(c.isalpha() for word in words for c in word):
        raise ValidationError.of("query", "a name needs at least one letter")
    if len(words) > MAX_NAME_WORDS:
        raise ValidationError.of("query", f"a name of at most {MAX_NAME_WORDS} words, got "
                                 f"{len(words)}")
    return words


def readings(words: Sequence[str]) -> list[Reading]:
    """Every split of the words into a first and a last name, in the written order first,
    then swapped; one word may be either."""
    if len(words) == 1:
        return [Reading(words[0], None), Reading(None, words[0], swapped=True)]
    split = [(" ".join(words[:i]), " ".join(words[i:])) for i in range(1, len(words))]
    return ([Reading(a, b) for a, b in split]
            + [Reading(b, a, swapped=True) for a, b in split])


def nicknames(name: str) -> tuple[str, ...]:
    """The given names of `name`'s nickname group (domain/matching/nicknames.py), itself
    included: "bob" gives robert, bob, rob, ..."""
    return _NICKNAMES.get(canonical_name(name), (name,))


def typos(word: str, alphabet: str) -> Iterator[str]:
    """Every spelling one edit away (a letter dropped, doubled, swapped with the next, or
    replaced), the way the typed name may differ from the stored one."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    for left, right in splits:
        if right:
            yield left + right[1:]
            if len(right) > 1:
                yield left + right[1] + right[0] + right[2:]
            for letter in alphabet:
                yield left + letter + right[1:]
        for letter in alphabet:
            yield left + letter + right


def name_keys(rules: tuple[tuple[str, ...], ...], found: Sequence[Reading],
              budget: int = MAX_KEYS) -> tuple[list[str], bool]:
    """The blocking keys (blocking.py, as ingest files records) of every reading, its
    nicknames and its one-edit typos, most likely first, at most `budget` of them; and
    whether typos were left out for want of budget."""
    keys: dict[str, None] = {}

    def add(first: str | None, last: str | None) -> bool:
        for key in blocking_keys(rules, {NAME_FIELDS[0]: first, NAME_FIELDS[1]: last}):
            keys.setdefault(key)
        return len(keys) < budget

    for reading in found:
        add(reading.first, reading.last)
    for reading in found:
        for nickname in nicknames(reading.first) if reading.first else ():
            add(nickname, reading.last)
    letters = "".join(sorted({c for r in found for part in (r.first, r.last) if part
                              for c in part if c.isalpha()} | set(string.ascii_lowercase)))
    for reading in found:
        for typo in typos(reading.last, letters) if reading.last else ():
            if typo.strip() and not add(reading.first, typo):
                return list(keys)[:budget], True
        for typo in typos(reading.first, letters) if reading.first else ():
            if typo.strip() and not add(typo, reading.last):
                return list(keys)[:budget], True
    return list(keys), False


def part_similarity(wanted: str, stored: str) -> tuple[float, str]:
    """How alike a typed and a stored name are (both folded), 0 to 1, and why: as the match
    model's name ladders read them (exact, nickname, Jaro-Winkler, sounds alike)."""
    if wanted == stored:
        return 1.0, "exact"
    if canonical_name(wanted) == canonical_name(stored):
        return NICKNAME_SCORE, "nickname"
    similarity = JaroWinkler.similarity(wanted, stored)
    sounds = bool(_METAPHONE(wanted)) and _METAPHONE(wanted) == _METAPHONE(stored)
    how = f"jaro-winkler {similarity:.2f}" + (", sounds alike" if sounds else "")
    return 0.9 * similarity + (0.05 if sounds else 0.0), how


def name_score(reading: Reading, record: MatchRecord) -> tuple[float, str]:
    """The mean similarity of the parts the reading gives (a part the record lacks counts
    0), less a little when the reading swaps the name's order."""
    folded = record.folded
    scores: list[float] = []
    reasons: list[str] = []
    for label, wanted, field in (("first name", reading.first, NAME_FIELDS[0]),
                                 ("last name", reading.last, NAME_FIELDS[1])):
        if wanted is None:
            continue
        stored = folded.get(field)
        similarity, how = part_similarity(wanted, stored) if stored else (0.0, "missing")
        scores.append(similarity)
        reasons.append(f"{label} {how}")
    if reading.swapped and reading.first is not None and reading.last is not None:
        reasons.append("first and last name swapped")
    score = sum(scores) / len(scores) - (SWAPPED_PENALTY if reading.swapped else 0.0)
    return max(score, 0.0), "; ".join(reasons)


def rank_records(found: Sequence[Reading], records: Sequence[MatchRecord]
                 ) -> list[tuple[float, MatchRecord, str]]:
    """Each record scored under its best reading, those alike enough, best first (then by
    record id, so the order never depends on the store's)."""
    ranked = []
    for record in records:
        score, how = max((name_score(reading, record) for reading in found),
                         key=lambda scored: scored[0])
        if score >= MIN_NAME_SCORE:
            ranked.append((round(score, 4), record, how))
    return sorted(ranked, key=lambda r: (-r[0], r[1].record_id))


def stored_name(record: MatchRecord) -> str:
    values = record.values
    return " ".join(v for field in NAME_FIELDS if (v := values.get(field)))


def group_hits(scored: Sequence[tuple[float, ProfileId, SearchMatch]]) -> list[SearchHit]:
    """One hit per profile, scored by its best match, in the stable order pages follow:
    score descending, then profile id."""
    by_profile: dict[ProfileId, list[tuple[float, SearchMatch]]] = defaultdict(list)
    for score, profile_id, match in scored:
        by_profile[profile_id].append((score, match))
    hits = []
    for profile_id, matches in by_profile.items():
        ordered = sorted(matches, key=lambda m: (-m[0], m[1].field, m[1].value, m[1].how))
        shown = list(dict.fromkeys(match for _, match in ordered))[:MAX_MATCHES_PER_HIT]
        hits.append(SearchHit(profile_id, ordered[0][0], tuple(shown)))
    return sorted(hits, key=order_key)


def order_key(hit: SearchHit) -> tuple[float, str]:
    return -hit.score, hit.profile_id


def encode_cursor(fingerprint: str, hit: SearchHit) -> str:
    text = "\n".join((_CURSOR_VERSION, fingerprint, repr(hit.score), hit.profile_id))
    return base64.urlsafe_b64encode(text.encode()).decode()


def decode_cursor(cursor: str, fingerprint: str) -> tuple[float, str]:
    """The (score, profile id) a page ended at; a ValidationError at `after` for a cursor
    this API did not return, or returned for another search."""
    refused = ValidationError.of(
        "after", f"'{printable(cursor, 32)}' is not a cursor this API returned")
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise refused
    try:
        version, made_for, score_text, profile_id = (
            base64.urlsafe_b64decode(cursor.encode("ascii")).decode().split("\n"))
        score = float(score_text)
    except (ValueError, binascii.Error, UnicodeError):
        raise refused from None
    if version != _CURSOR_VERSION or not math.isfinite(score) or not 0 <= score <= 1:
        raise refused
    if made_for != fingerprint:
        raise ValidationError.of("after", "a cursor of another search: pass the same query, "
                                 "by and kind as the search that returned it")
    return score, profile_id


def page_of(hits: Sequence[SearchHit], first: int, position: tuple[float, str] | None,
            fingerprint: str) -> tuple[tuple[SearchHit, ...], str | None]:
    """The `first` hits after `position` in (score descending, profile id) order, and the
    cursor after them (None when none are left)."""
    if position is not None:
        after = (-position[0], position[1])
        hits = [h for h in hits if order_key(h) > after]
    shown = tuple(hits[:first])
    more = len(hits) > first
    return shown, encode_cursor(fingerprint, shown[-1]) if more else None


def fingerprint(text: str, by: SearchBy, kind: str | None) -> str:
    """Which search a cursor belongs to, without the query in it."""
    return hashlib.sha256("\n".join((by.value, kind or "", text)).encode()).hexdigest()[:16]


def _key_shown(rules: tuple[tuple[str, ...], ...], key: str) -> str:
    """A blocking key as a steward reads it: the rule's terms, then the values."""
    position, _, values = key.partition(":")
    terms = rules[int(position)] if position.isdigit() and int(position) < len(rules) else ()
    return printable(f"{' + '.join(terms)}: {' / '.join(values.split(chr(0x1F)))}", 120)


class Searcher:
    """Built once by the service; reads in one read-only transaction per search, retried
    when a concurrent merge moves what it reads (queries.py: placed_nodes)."""

    def __init__(self, store: GraphStore, normalize: Callable[[str, str], Identifier],
                 matcher: Matcher | None) -> None:
        """`normalize`: the service's (IdentityService.normalize), so a search reads an
        identifier exactly as ingest stored it."""
        self._store = store
        self._normalize = normalize
        self._matcher = matcher

    async def search(self, query: str, by: SearchBy = SearchBy.ANY, *, kind: str | None = None,
                     first: int = DEFAULT_PAGE, after: str | None = None) -> SearchPage:
        """Raises ValidationError naming the argument (query, kind, first, after) and why."""
        text = checked_query(query)
        check_page_size(first)
        plan = self._plan(text, by, kind)
        position = decode_cursor(after, plan.fingerprint) if after is not None else None
        found = await retry_on_conflict(lambda: self._read(plan))
        hits, cursor = page_of(found.hits, first, position, plan.fingerprint)
        return SearchPage(hits, cursor, len(found.hits), tuple(found.skipped),
                          (*plan.notes, *found.notes))

    def _plan(self, text: str, by: SearchBy, kind: str | None) -> _Plan:
        """What to look up: the identifiers the text normalizes to, the name readings and
        their blocking keys. Refuses, before any read, what cannot be searched as asked."""
        if kind is not None and by not in (SearchBy.IDENTIFIER, SearchBy.ANY):
            raise ValidationError.of("kind", f"only with by IDENTIFIER, not {by.name}")
        if kind is not None:
            by = SearchBy.IDENTIFIER
        marker = fingerprint(text, by, kind)
        if by is SearchBy.IDENTIFIER:
            if kind is None:
                raise ValidationError.of("kind", "required with by IDENTIFIER: email, phone, "
                                         "customer_id, ... or external:<system>")
            try:
                checked = validate_kind(kind)
            except InvalidIdentifier as exc:
                raise ValidationError.of("kind", str(exc)) from None
            return _Plan(marker, ((self._identifier(checked, text), _EXACT),), (), (), ())
        if by in (SearchBy.EMAIL, SearchBy.PHONE):
            return _Plan(marker, ((self._identifier(by.value, text), _EXACT),), (), (), ())
        if by is SearchBy.NAME:
            found, keys, notes = self._name_plan(text)
            return _Plan(marker, (), tuple(found), tuple(keys), tuple(notes))
        return self._any_plan(text, marker)

    def _identifier(self, kind: str, text: str) -> Identifier:
        try:
            return self._normalize(kind, text)
        except InvalidIdentifier as exc:
            raise ValidationError.of("query", f"cannot be read as {kind}: {exc}") from None

    def _any_plan(self, text: str, marker: str) -> _Plan:
        """The text as every identifier kind it normalizes as (an email only when it holds
        an @, a phone only when it holds a digit), and as a name when it reads as one."""
        kinds = [*(["email"] if "@" in text else []),
                 *(["phone"] if any(c.isdigit() for c in text) else []), *_ANY_KINDS]
        identifiers: dict[Identifier, str] = {}
        for kind in kinds:
            try:
                identifiers.setdefault(self._normalize(kind, text), f"the query read as {kind}")
            except InvalidIdentifier:
                continue
        notes: list[str] = []
        found: list[Reading] = []
        keys: list[str] = []
        if any(c.isalpha() for c in text) and not any(c.isdigit() or c == "@" for c in text):
            try:
                found, keys, name_notes = self._name_plan(text)
                notes += name_notes
            except ValidationError as exc:
                notes.append(f"not searched as a name: {exc.errors[0].reason}")
        return _Plan(marker, tuple(identifiers.items()), tuple(found), tuple(keys),
                     tuple(notes))

    def _name_plan(self, text: str) -> tuple[list[Reading], list[str], list[str]]:
        if self._matcher is None:
            raise ValidationError.of(
                "by", "name search needs the match index, which is filed only while matching "
                "is on (IDENTITY_MATCHING); search by email, phone or identifier instead")
        rules = self._matcher.model.blocking
        by_name = [rule for rule in rules
                   if all(term.rpartition(":")[2] in NAME_FIELDS for term in rule)]
        if not by_name:
            raise ValidationError.of(
                "by", "the match model in force files no records by name alone (see its "
                "blocking rules), so names cannot be searched")
        found = readings(name_words(text))
        keys, cut = name_keys(rules, found)
        if not keys:
            wanted = " or ".join(" + ".join(rule) for rule in by_name)
            raise ValidationError.of("query", f"a name search needs {wanted}: the match "
                                     "model files names under them")
        notes = ["the name is long: only some of its one-letter typos were tried"] if cut else []
        return found, keys, notes

    async def _read(self, plan: _Plan) -> _Found:
        async with self._store.transaction(read_only=True) as tx:
            records, skipped, cut = await self._candidates(tx, plan.keys)
            ranked = rank_records(plan.readings, records)
            wanted = {identifier for identifier, _ in plan.identifiers}
            placed = await placed_nodes(tx, sorted(wanted | {r.anchor for _, r, _ in ranked}))
        scored: list[tuple[float, ProfileId, SearchMatch]] = [
            (1.0, placed[identifier][1].profile_id,
             SearchMatch(identifier.kind, identifier.value, how))
            for identifier, how in plan.identifiers if identifier in placed]
        scored += [(score, placed[record.anchor][1].profile_id,
                    SearchMatch("name", stored_name(record), how))
                   for score, record, how in ranked if record.anchor in placed]
        notes = [f"stopped after {MAX_CANDIDATES} candidate records: some namesakes may be "
                 "missing; search a fuller name"] if cut else []
        return _Found(group_hits(scored), skipped, notes)

    async def _candidates(self, tx: GraphTransaction, keys: Sequence[str]
                          ) -> tuple[list[MatchRecord], list[SkippedBlock], bool]:
        """The records filed under `keys`, looked up most likely keys first, until
        MAX_CANDIDATES are in hand; blocks over the cap are reported, never read."""
        if not keys or self._matcher is None:
            return [], [], False
        rules = self._matcher.model.blocking
        records: dict[str, MatchRecord] = {}
        skipped: list[SkippedBlock] = []
        for start in range(0, len(keys), KEYS_PER_LOOKUP):
            if len(records) >= MAX_CANDIDATES:
                return list(records.values()), skipped, True
            lookup = await tx.matches.find_records(keys[start:start + KEYS_PER_LOOKUP],
                                                   self._matcher.max_block)
            for record in lookup.records:
                records.setdefault(record.record_id, record)
            skipped += [SkippedBlock(_key_shown(rules, key), size)
                        for key, size in lookup.oversized]
        return list(records.values()), skipped, False
