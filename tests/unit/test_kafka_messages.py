"""What a Kafka message's bytes become: an event to validate, or the reason there is none;
and what goes out: a dead letter that keeps the payload, a change keyed by its profile."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from identity.api.kafka.messages import (
    MAX_EVENT_BYTES,
    MAX_LETTER_PAYLOAD_BYTES,
    Undecodable,
    change_message,
    dead_letter,
    decode_event,
)
from identity.domain.changes import ChangeKind, ProfileChange
from identity.domain.errors import FieldError
from identity.domain.types import EventId, ProfileId
from identity.service.change_feed import PositionedChange


def test_an_event_is_read_with_or_without_a_byte_order_mark() -> None:
    assert decode_event(b'{"event_id": "e1"}') == {"event_id": "e1"}
    assert decode_event('\ufeff{"event_id": "e1"}'.encode()) == {"event_id": "e1"}


def test_what_holds_no_event_says_why() -> None:
    cases = {
        None: "no value (a tombstone)",
        b"\xc3\x28": "not UTF-8: byte 0xc3 at offset 0",
        b'{"a": ': "not JSON",
        b"[" * 100_000: "nested too deeply",
        b'{"a": NaN}': "not JSON",
        b'{"a": 1e999}': "out of the range",
        b"[{}, {}]": "send one event per message",
        b" " * (MAX_EVENT_BYTES + 1): "more than an event may be",
    }
    for value, reason in cases.items():
        decoded = decode_event(value)
        assert isinstance(decoded, Undecodable), value
        assert reason in decoded.reason, (decoded.reason, reason)


@given(st.binary(max_size=300))
def test_any_bytes_decode_or_give_a_reason_never_raise(value: bytes) -> None:
    decoded = decode_event(value)
    assert isinstance(decoded, Undecodable) or not isinstance(decoded, list)


def test_a_dead_letter_keeps_the_payload_where_it_was_and_every_reason() -> None:
    errors = [FieldError("timestamp", "is required"), FieldError("identifiers", "empty")]
    letter = json.loads(dead_letter(b'{"event_id": "x"}', errors, topic="events",
                                    partition=3, offset=41))
    assert letter == {
        "error": "timestamp: is required; identifiers: empty",
        "errors": [{"field": "timestamp", "reason": "is required"},
                   {"field": "identifiers", "reason": "empty"}],
        "topic": "events", "partition": 3, "offset": 41, "payload": '{"event_id": "x"}'}


def test_a_payload_that_is_not_text_is_kept_in_base64_and_the_letter_is_ascii() -> None:
    raw = b"\xff\x00" + "\u2028".encode()
    letter_bytes = dead_letter(raw, [FieldError("message", "not UTF-8")], topic="t",
                               partition=0, offset=0)
    assert letter_bytes.isascii()
    letter = json.loads(letter_bytes)
    assert base64.b64decode(letter["payload_base64"]) == raw and "payload" not in letter


def test_a_change_is_keyed_by_its_profile_and_says_what_the_feeds_say() -> None:
    change = ProfileChange(ChangeKind.MERGED, ProfileId("p-1"), EventId("e-9"),
                           datetime(2024, 5, 1, 12, tzinfo=UTC),
                           absorbed_ids=(ProfileId("p-2"),))
    key, value = change_message(PositionedChange("00000000000000000007", change))
    assert key == b"p-1"
    assert json.loads(value) == {
        "position": "00000000000000000007", "change_id": "e-9/merged/p-1", "kind": "merged",
        "profile_id": "p-1", "absorbed_ids": ["p-2"], "split_ids": [],
        "cause_event_id": "e-9", "at": "2024-05-01T12:00:00+00:00"}


def test_a_large_payload_is_cut_to_its_head_with_its_size_and_hash_and_stays_compact() -> None:
    payload = ("é" * (MAX_LETTER_PAYLOAD_BYTES)).encode()  # 2 bytes each: twice the limit
    letter_bytes = dead_letter(payload, [FieldError("traits.first_name", "too long")],
                               topic="t", partition=1, offset=2)
    assert len(letter_bytes) < MAX_LETTER_PAYLOAD_BYTES + 1_000  # UTF-8, not \\u escapes
    letter = json.loads(letter_bytes)
    assert letter["payload_bytes"] == len(payload)
    assert letter["payload_sha256"] == hashlib.sha256(payload).hexdigest()
    assert letter["payload"] == "é" * (MAX_LETTER_PAYLOAD_BYTES // 2)  # no half character
    bare = json.loads(dead_letter(payload, [], topic="t", partition=1, offset=2,
                                  keep_payload=False))
    assert bare["payload"] == "" and bare["payload_bytes"] == len(payload)
