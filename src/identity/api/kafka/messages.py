"""What goes over the wire: an event's bytes in, a dead letter and a profile change out.

A message is input like any other (docs/architecture.md, "Hostile input"): bytes that are not
UTF-8, not JSON, too large or a batch instead of one event become a dead letter with the
reason, never an exception that stops the partition.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from identity.domain.changes import ProfileChange
from identity.domain.errors import FieldError
from identity.domain.json_text import read_json
from identity.service.change_feed import PositionedChange

# Far above any valid event (at most 50 identifiers and 100 traits of 256 characters), and
# at Kafka's own default largest message.
MAX_EVENT_BYTES = 1 << 20
# A dead letter must fit where its event came from, whatever the payload holds (escaped, a
# payload grows): the payload is kept whole up to this many bytes, else its head is.
MAX_LETTER_PAYLOAD_BYTES = 128 << 10  # even escaped six times over, under 1 MiB


@dataclass(frozen=True, slots=True)
class Undecodable:
    """A message that holds no event to validate, and why."""

    reason: str


def decode_event(value: bytes | None) -> object:
    """The event the message holds (a JSON value for ingest to validate), or Undecodable."""
    if value is None:
        return Undecodable("the message has no value (a tombstone)")
    if len(value) > MAX_EVENT_BYTES:
        return Undecodable(f"{len(value):,} bytes, more than an event may be "
                           f"({MAX_EVENT_BYTES:,})")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Undecodable(f"not UTF-8: byte 0x{value[exc.start]:02x} at offset {exc.start}")
    try:
        event = read_json(text.removeprefix("\ufeff"))
    except json.JSONDecodeError as exc:
        return Undecodable(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    if isinstance(event, list):
        return Undecodable("a JSON array: send one event per message")
    return event


def dead_letter(value: bytes | None, errors: Sequence[FieldError], *, topic: str,
                partition: int, offset: int, keep_payload: bool = True) -> bytes:
    """The original payload with where it was and why it was refused: enough to fix it and
    send it again. The payload is kept as text when it is UTF-8, else in base64; one larger
    than MAX_LETTER_PAYLOAD_BYTES (or any, with `keep_payload` off: the broker refused the
    letter) is cut to its head, and its size and SHA-256 say which message it was."""
    letter: dict[str, object] = {
        "error": "; ".join(str(error) for error in errors),
        "errors": [{"field": error.field, "reason": error.reason} for error in errors],
        "topic": topic, "partition": partition, "offset": offset,
    }
    if value is None:
        letter["payload"] = None
        return json.dumps(letter).encode("ascii")
    limit = MAX_LETTER_PAYLOAD_BYTES if keep_payload else 0
    kept = value[:limit]
    if len(kept) < len(value):
        letter.update(payload_bytes=len(value),
                      payload_sha256=hashlib.sha256(value).hexdigest(),
                      payload_cut_to=len(kept))
    try:
        letter["payload"] = kept.decode("utf-8")
    except UnicodeDecodeError as exc:
        if len(kept) < len(value) and exc.reason == "unexpected end of data":  # a cut char
            letter["payload"] = kept.decode("utf-8", "ignore")
        else:
            letter["payload_base64"] = base64.b64encode(kept).decode("ascii")
    # UTF-8, not \u escapes: a payload of accents or emoji stays its own size.
    return json.dumps(letter, ensure_ascii=False).encode("utf-8")


def change_message(positioned: PositionedChange) -> tuple[bytes, bytes]:
    """Key (the profile id: a profile's changes stay in order on one partition) and value:
    the fields the GraphQL and gRPC change feeds show, in JSON."""
    change: ProfileChange = positioned.change
    value = {
        "position": positioned.position, "change_id": change.change_id,
        "kind": change.kind.value, "profile_id": change.profile_id,
        "absorbed_ids": list(change.absorbed_ids), "split_ids": list(change.split_ids),
        "cause_event_id": change.cause_event_id, "at": change.at.isoformat(),
    }
    return change.profile_id.encode(), json.dumps(value).encode()
