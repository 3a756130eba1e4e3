"""Properties over hostile text, generated: whatever a producer sends, ingest answers each
event (accepted or rejected with reasons) and never raises, and everything it stored can be
encoded, shown and sent back over gRPC; and whatever bytes reach the events topic, the Kafka
decoding and the event parser (either shape) answer them. The APIs: test_fuzz_apis.py."""

from __future__ import annotations

import asyncio
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from identity.api.grpc import convert
from identity.domain.identifiers import folded_text, text_problem
from identity.service import IdentityService
from identity.service.ingest import IngestStatus
from identity.store.sqlite import SqliteGraphStore
from load_tests import fuzzing
from load_tests.fuzzing import Failure, check_event_message, event_messages

# Every code point, surrogates, controls and format characters included.
HOSTILE_TEXT = st.text(st.characters(codec=None, categories=None), max_size=40)
NASTY = st.sampled_from(["\ud800", "\x00", "\u202e", "\u200b", "\ufeff", "\x85", "\u2028",
                         "\uff21", "\ufb01", "\u00ad", "\n", "\u200d", "\U000e0041"])
VALUES = st.one_of(HOSTILE_TEXT, st.builds(lambda a, b, c: a + b + c, HOSTILE_TEXT, NASTY,
                                           HOSTILE_TEXT))
KINDS = st.sampled_from(["email", "phone", "customer_id", "device_id", "anonymous_id",
                         "external:crm", "Email", "bad kind"])
TIMESTAMPS = st.one_of(st.just("2024-05-01T10:00:00Z"), st.just("2099-01-01T00:00:00Z"),
                       HOSTILE_TEXT)


@st.composite
def events(draw: st.DrawFn) -> dict[str, object]:
    return {
        "event_id": draw(st.one_of(VALUES, st.uuids().map(str))),
        "type": draw(st.sampled_from(["identify", "order", "track", "x"])),
        "timestamp": draw(TIMESTAMPS),
        "source": draw(st.one_of(st.just("web"), VALUES)),
        "identifiers": draw(st.lists(st.fixed_dictionaries(
            {"kind": KINDS, "value": st.one_of(VALUES, st.emails())}), max_size=4)),
        "traits": draw(st.dictionaries(st.one_of(st.sampled_from(
            ["first_name", "city", "country", "date_of_birth"]), VALUES),
                                       st.one_of(VALUES, st.integers(), st.floats()),
                                       max_size=4)),
        "amount": draw(st.one_of(st.none(), VALUES, st.decimals().map(str))),
        "currency": draw(st.one_of(st.none(), st.sampled_from(["usd", "EUR", "XTS"]), VALUES)),
    }


@st.composite
def nearly_valid(draw: st.DrawFn) -> dict[str, object]:
    """An event whose only hostile part is its traits: it lands whenever they are clean, so
    every run stores profiles to read back."""
    return {"event_id": str(draw(st.uuids())), "type": "identify",
            "timestamp": "2024-05-01T10:00:00Z", "source": "web",
            "identifiers": [{"kind": "customer_id", "value": str(draw(st.uuids()))}],
            "traits": draw(st.dictionaries(st.sampled_from(["first_name", "city", "country"]),
                                           VALUES, max_size=3))}


# The oracle, written here from Unicode's categories rather than taken from ingest: no
# control (Cc), surrogate (Cs) or format (Cf) character, save the two joiners scripts and
# emoji need and, in free text, the tags of a flag emoji (England, Scotland, Wales); no line
# or paragraph separator; nothing that draws nothing; and the text encodes as UTF-8.
JOINERS = {unicodedata.lookup("ZERO WIDTH NON-JOINER"), unicodedata.lookup("ZERO WIDTH JOINER")}
SEPARATORS = {unicodedata.lookup("LINE SEPARATOR"), unicodedata.lookup("PARAGRAPH SEPARATOR")}
DRAWS_NOTHING = {unicodedata.lookup(name) for name in [
    "COMBINING GRAPHEME JOINER", "HANGUL CHOSEONG FILLER", "HANGUL JUNGSEONG FILLER",
    "KHMER VOWEL INHERENT AQ", "KHMER VOWEL INHERENT AA",
    "MONGOLIAN FREE VARIATION SELECTOR ONE", "MONGOLIAN FREE VARIATION SELECTOR TWO",
    "MONGOLIAN FREE VARIATION SELECTOR THREE", "MONGOLIAN FREE VARIATION SELECTOR FOUR",
    "BRAILLE PATTERN BLANK", "HANGUL FILLER", "HALFWIDTH HANGUL FILLER"]}
BLACK_FLAG = unicodedata.lookup("WAVING BLACK FLAG")
CANCEL_TAG = unicodedata.lookup("CANCEL TAG")
TAGS = {chr(c) for c in range(0xE0020, 0xE007F)}  # TAG SPACE .. TAG TILDE


def flag_tag_positions(text: str) -> set[int]:
    """Where the tags (and cancel tag) of a flag sequence are: a black flag, one or more
    tags, a cancel tag."""
    positions: set[int] = set()
    start = text.find(BLACK_FLAG)
    while start != -1:
        end = start + 1
        while end < len(text) and text[end] in TAGS:
            end += 1
        if end > start + 1 and end < len(text) and text[end] == CANCEL_TAG:
            positions.update(range(start + 1, end + 1))
        start = text.find(BLACK_FLAG, start + 1)
    return positions


def usable_text(text: str, *, free_text: bool = False) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    in_flags = flag_tag_positions(text) if free_text else set()
    for index, char in enumerate(text):
        category = unicodedata.category(char)
        if category in ("Cc", "Cs") or char in SEPARATORS or char in DRAWS_NOTHING:
            return False
        if category == "Cf" and char not in JOINERS and index not in in_flags:
            return False
    return True


def stored_text_is_clean(text: str, *, free_text: bool = False) -> bool:
    return usable_text(text, free_text=free_text) and text.strip() == text != ""


def test_the_oracle_knows_what_is_clean() -> None:
    england = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    for clean in ["Ann", "Zo\u00eb", "\u0645\u064a", family, "a\u200cb", "1 High St"]:
        assert stored_text_is_clean(clean) and stored_text_is_clean(clean, free_text=True)
    assert stored_text_is_clean(f"Leeds {england}", free_text=True)
    assert not stored_text_is_clean(f"Leeds {england}")  # tags: never in an identifier
    for dirty in ["a\x00b", "a\nb", "a\x85b", "a\ud800b", "a\u202eb", "a\u200bb", "a\ufeffb",
                  "a\u00adb", "a\u2028b", "a\u2029b", "a\u3164b", "a\U000e0041b",
                  "\U0001f3f4\U000e0067", "\U000e0067\U000e007f", " a", "a ", ""]:
        assert not stored_text_is_clean(dirty, free_text=True), ascii(dirty)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(events(), max_size=20), nearly_valid())
def test_ingest_answers_every_event_and_stores_only_clean_text(
        hostile: list[dict[str, object]], landing: dict[str, object]) -> None:
    batch = [*hostile, landing]

    async def run() -> None:
        store = SqliteGraphStore(":memory:")
        try:
            service = IdentityService(store)
            results = await service.ingest(batch)
            assert [r.index for r in results] == list(range(len(batch)))
            for result in results:
                assert result.status is not IngestStatus.REJECTED or result.errors
                for error in result.errors:
                    error.reason.encode("utf-8")
                    error.field.encode("utf-8")
            assert results[-1].status is IngestStatus.ACCEPTED or {
                e.field.split(".")[0] for e in results[-1].errors} == {"traits"}
            ids = sorted({r.profile_id for r in results if r.profile_id})
            for view in await service.profiles(ids):
                assert view is not None
                message = convert.profile(view)
                message.SerializeToString()  # what gRPC sends: must encode
                for field in view.golden.values():
                    assert stored_text_is_clean(field.value, free_text=True), field
                for node in view.identifiers:
                    assert stored_text_is_clean(node.identifier.value), node
        finally:
            await store.close()

    asyncio.run(run())


@given(HOSTILE_TEXT)
def test_folding_is_idempotent_and_leaves_nothing_unusable(text: str) -> None:
    try:
        folded = folded_text(text)
    except ValueError:
        return
    assert folded_text(folded) == folded
    assert unicodedata.normalize("NFKC", folded) == folded
    assert text_problem(folded) is None
    assert usable_text(folded), ascii(folded)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(event_messages())
def test_a_kafka_message_is_an_event_a_rejection_with_reasons_or_a_dead_letter(
        value: bytes) -> None:
    """Any bytes on the events topic, in our shape or Segment's (load_tests/fuzzing.py):
    decode_event, parse_event and dead_letter answer; never an exception."""
    assert check_event_message(value) in {"accepted", "rejected", "undecodable"}


def test_the_event_oracle_catches_a_parser_that_raises(monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    def broken(raw: object, rules: object) -> None:
        raise KeyError("traits")

    monkeypatch.setattr(fuzzing, "parse_event", broken)
    with pytest.raises(Failure, match="KeyError"):
        check_event_message(b'{"event_id": "e1"}')
