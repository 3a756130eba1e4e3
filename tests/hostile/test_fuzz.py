"""Properties over hostile text, generated: whatever a producer sends, ingest answers each
event (accepted or rejected with reasons) and never raises, and everything it stored can be
encoded, shown and sent back over gRPC."""

from __future__ import annotations

import asyncio
import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from identity.api.grpc import convert
from identity.domain.identifiers import folded_text, text_problem
from identity.service import IdentityService
from identity.service.ingest import IngestStatus
from identity.store.sqlite import SqliteGraphStore

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


def stored_text_is_clean(text: str, *, free_text: bool = False) -> bool:
    text.encode("utf-8")  # raises on a surrogate
    return text_problem(text, emoji_tags=free_text) is None and text.strip() == text != ""


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
