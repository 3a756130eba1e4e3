"""The fuzzers' parts, shared by the CI tests (tests/hostile/test_fuzz*.py) and the long run
(load_tests/fuzz.py): strategies for hostile input, the targets they are sent to, and the
oracle each answer is held to (docs/architecture.md, "Hostile input", fuzzing).

Every target is built from what the service declares, never from a list kept here: the
GraphQL operations from the schema's introspection (schemathesis), the gRPC methods and
their request messages from the protobuf descriptors, so a field or method added later is
fuzzed without an edit. A target answers each input with an outcome label (a GraphQL
error's kind, an HTTP status, a gRPC status code) or raises Failure saying what broke.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple, TypeVar

import grpc
import httpx
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from identity.api.kafka.messages import Undecodable, dead_letter, decode_event
from identity.app import build_app
from identity.config import Settings
from identity.domain.access import Scope
from identity.domain.errors import FieldError, ValidationError
from identity.domain.events import parse_event
from identity.domain.identifiers import NormalizationRules
from identity.service.api_keys import ApiKeys
from identity.store import open_store
from identity.v1 import identity_pb2 as pb

T = TypeVar("T")


class Failure(AssertionError):
    """An answer the oracle refuses: a 5xx, an unexpected status, an error without a reason,
    an exception where an answer was due, or an ERROR logged."""


# --- text ----------------------------------------------------------------------------------

# Every code point, surrogates, controls and format characters included.
ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=40)
# Every code point but the lone surrogates, which no UTF-8 text on the wire can hold.
WIRE_TEXT = st.text(st.characters(codec="utf-8"), max_size=40)
NASTY = st.sampled_from([
    "\x00", "\u202e", "\u200b", "\ufeff", "\x85", "\u2028", "\uff21", "\ufb01", "\u00ad",
    "\n", "\u200d", "\U000e0041", "\u3164", "%s%n", "'; DROP TABLE x; --", "MATCH (n) DELETE n",
    "`", "\\", "${jndi:ldap://northwind.org/a}", "../../etc/passwd", "\ud800", "\udfff"])
PLAUSIBLE = st.sampled_from([
    "email", "phone", "customer_id", "device_id", "anonymous_id", "cookie", "order_id",
    "external:crm", "identify", "order", "track", "web", "grpc", "pos-gb",
    "ann.lee@northwind.org", "+14155550123", "+44 20 7946 0958", "cust-1", "2024-05-01T10:00:00Z",
    "2099-01-01T00:00:00Z", "12.50", "USD", "EUR", "first_name", "city", "reviewer", "duplicate",
    "same_person", "different_people", "0", "-1", "9" * 30, "1e400", "NaN"])


@st.composite
def huge_text(draw: st.DrawFn) -> str:
    """A value far over every field's limit: 2 KB to 200 KB of one repeated piece."""
    piece = draw(st.sampled_from(["a", "\u00e9", "\U0001f600", "x@northwind.org ", "\u200b"]))
    return piece * draw(st.integers(2_000, 200_000 // len(piece.encode())))


def hostile_text(known: Sequence[str] = (), *, wire: bool = False) -> st.SearchStrategy[str]:
    """Text for any string field: plausible values (and `known` ones: ids that exist) often
    enough to get past validation, hostile ones the rest of the time. `wire`: no lone
    surrogates (a protobuf string or JSON produced by a client that checks UTF-8)."""
    base = WIRE_TEXT if wire else ANY_TEXT
    nasty = NASTY.filter(lambda s: not (wire and "\ud800" <= s[0] <= "\udfff"))
    spliced = st.builds(lambda a, b, c: a + b + c, base, nasty, base)
    choices = [PLAUSIBLE, base, spliced, huge_text()]
    if known:
        choices.insert(0, st.sampled_from(list(known)))
    return st.one_of(*choices)


# --- events as Kafka and `identity ingest` receive them ------------------------------------

JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**80), 2**80),
                         st.floats(allow_nan=False, allow_infinity=False), hostile_text())


def _json(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.lists(children, max_size=4),
                     st.dictionaries(hostile_text(), children, max_size=4))


ANY_JSON = st.recursive(JSON_SCALARS, _json, max_leaves=12)
FIELD = st.one_of(hostile_text(), ANY_JSON)
# Consent decisions by purpose (ours and Segment's categories), values any JSON.
CONSENT = st.dictionaries(st.one_of(st.sampled_from(
    ["marketing", "analytics", "personalization", "sale_sharing", "Advertising", ""]),
    hostile_text()), st.one_of(st.booleans(), FIELD), max_size=4)


@st.composite
def our_events(draw: st.DrawFn) -> dict[str, Any]:
    """An event in the service's own shape, any field hostile."""
    event: dict[str, Any] = {
        "event_id": draw(st.one_of(st.uuids().map(str), FIELD)),
        "type": draw(st.one_of(st.sampled_from(["identify", "order", "track"]), FIELD)),
        "timestamp": draw(st.one_of(st.just("2024-05-01T10:00:00Z"), FIELD)),
        "source": draw(st.one_of(st.just("web"), FIELD)),
        "identifiers": draw(st.one_of(st.lists(st.fixed_dictionaries(
            {"kind": hostile_text(), "value": st.one_of(st.emails(), hostile_text(), FIELD)}),
            max_size=4), FIELD)),
    }
    for name in ("traits", "amount", "currency", "consent"):
        if draw(st.booleans()):
            event[name] = draw(st.one_of(st.dictionaries(hostile_text(), FIELD, max_size=4),
                                         CONSENT, FIELD))
    return event


SEGMENT_CALLS = st.sampled_from(["identify", "track", "page", "alias", "group", "screen",
                                 "Identify", " TRACK "])


@st.composite
def segment_events(draw: st.DrawFn) -> dict[str, Any]:
    """A message in Segment's spec shape (domain/segment.py), any field hostile."""
    person = st.dictionaries(st.one_of(st.sampled_from(
        ["email", "phone", "name", "firstName", "first_name", "lastName", "birthday",
         "address", "company", "id", "createdAt", "age"]), hostile_text()),
        st.one_of(hostile_text(), ANY_JSON, st.fixed_dictionaries(
            {"city": FIELD, "country": FIELD, "street": FIELD})), max_size=5)
    message: dict[str, Any] = {"type": draw(st.one_of(SEGMENT_CALLS, FIELD))}
    for name, value in (("messageId", st.one_of(st.uuids().map(str), FIELD)),
                        ("userId", st.one_of(hostile_text(), FIELD)),
                        ("anonymousId", st.one_of(hostile_text(), FIELD)),
                        ("previousId", FIELD),
                        ("timestamp", st.one_of(st.just("2024-05-01T10:00:00Z"), FIELD)),
                        ("originalTimestamp", FIELD),
                        ("event", st.one_of(st.just("Order Completed"), FIELD)),
                        ("traits", st.one_of(person, FIELD)),
                        ("properties", st.one_of(st.fixed_dictionaries(
                            {"order_id": FIELD, "total": FIELD, "revenue": FIELD,
                             "currency": FIELD}), FIELD)),
                        ("context", st.one_of(st.fixed_dictionaries(
                            {"traits": st.one_of(person, FIELD),
                             "device": st.one_of(st.fixed_dictionaries({"id": FIELD}), FIELD),
                             "consent": st.one_of(st.fixed_dictionaries(
                                 {"categoryPreferences": st.one_of(CONSENT, FIELD)}), FIELD),
                             "library": FIELD}), FIELD))):
        if draw(st.booleans()):
            message[name] = draw(value)
    if not any(name in message for name in ("messageId", "userId", "anonymousId")):
        message["userId"] = draw(hostile_text())
    return message


@st.composite
def calm_events(draw: st.DrawFn) -> dict[str, Any]:
    """An event that lands unless its one hostile part, the traits, is refused: in our shape
    or as a Segment identify call."""
    traits = draw(st.dictionaries(st.sampled_from(["first_name", "city", "country", "name"]),
                                  hostile_text(wire=True), max_size=3))
    email = draw(st.emails())
    consent = draw(st.dictionaries(st.sampled_from(["marketing", "analytics"]),
                                   st.booleans(), max_size=2))
    if draw(st.booleans()):
        return {"messageId": str(draw(st.uuids())), "type": "identify",
                "timestamp": "2024-05-01T10:00:00Z", "userId": str(draw(st.uuids())),
                "traits": {**traits, "email": email},
                "context": {"consent": {"categoryPreferences": consent}}}
    return {"event_id": str(draw(st.uuids())), "type": "identify",
            "timestamp": "2024-05-01T10:00:00Z", "source": "web",
            "identifiers": [{"kind": "email", "value": email}], "traits": traits,
            "consent": consent}


def _encoded(value: Any, ascii_only: bool) -> bytes:
    # Lone surrogates pass as \u escapes (what a JSON producer that does not check writes).
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


@st.composite
def event_messages(draw: st.DrawFn) -> bytes:
    """A Kafka message's value: an event of either shape, any JSON, or bytes that are not
    one (truncated, not UTF-8, a BOM, an array)."""
    value = draw(st.one_of(our_events(), segment_events(), ANY_JSON, calm_events()))
    raw = _encoded(value, draw(st.booleans()))
    cut = draw(st.sampled_from(["whole", "whole", "whole", "head", "bom", "garbage", "array"]))
    if cut == "head":
        return raw[:draw(st.integers(0, len(raw)))]
    if cut == "bom":
        return b"\xef\xbb\xbf" + raw
    if cut == "garbage":
        return raw + draw(st.binary(min_size=1, max_size=8))
    if cut == "array":
        return b"[" + raw + b"]"
    return raw


RULES = NormalizationRules()


def check_event_message(value: bytes, rules: NormalizationRules = RULES) -> str:
    """A Kafka message through what the consumer does with it: decoded, parsed (either
    shape), and, refused, written as a dead letter. Returns the outcome."""
    decoded = decode_event(value)
    errors: list[FieldError]
    if isinstance(decoded, Undecodable):
        if not decoded.reason:
            raise Failure("an undecodable message without a reason")
        outcome, errors = "undecodable", [FieldError("", decoded.reason)]
    else:
        try:
            parse_event(decoded, rules)
        except ValidationError as exc:
            if not exc.errors or not all(e.reason for e in exc.errors):
                raise Failure(f"a rejection without reasons: {exc.errors!r}") from None
            outcome, errors = "rejected", list(exc.errors)
        except Exception as exc:
            raise Failure(f"parse_event raised {type(exc).__name__}: {exc}") from exc
        else:
            return "accepted"
    letter = dead_letter(value, errors, topic="events", partition=0, offset=0)
    json.loads(letter)  # a dead letter is JSON whatever the payload held
    if len(letter) > 1 << 20:
        raise Failure(f"a dead letter of {len(letter)} bytes: over Kafka's 1 MiB")
    return outcome


# --- protobuf messages from their descriptors ----------------------------------------------

# A little over gRPC's default 4 MiB receive limit: a larger request is refused alike.
MAX_MESSAGE_BYTES = 5 << 20
Known = Mapping[str, Sequence[str]]  # a field's name (singular) -> values that exist
# Plausible values by field name (singular), for names the seeded store has none for.
CALM_TEXT: dict[str, list[str]] = {
    "kind": ["email", "phone", "customer_id"], "source": ["web", "grpc"],
    "type": ["identify", "order"], "timestamp": ["2024-05-01T10:00:00Z"],
    "amount": ["12.50"], "currency": ["USD"], "actor": ["ann.steward"],
    "reason": ["one customer, two accounts"], "after_position": [""],
    "purpose": ["marketing", "analytics", "personalization"]}
INT_EDGES = [0, 1, -1, 2**31 - 1, -(2**31), 2**32 - 1, 2**63 - 1, -(2**63), 2**64 - 1]
_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative numbers as protobuf writes them: ten bytes
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _tag(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _calm_text(name: str, known: Known) -> st.SearchStrategy[str]:
    """A value a well-meaning client would send in a string field called `name`: the
    seeded store's ones where the name says which (profile ids, identifier values)."""
    singular = name.removesuffix("s")
    values = list(known.get(singular, ())) or list(CALM_TEXT.get(singular, ()))
    return st.sampled_from(values or [v for vs in known.values() for v in vs] or ["web"])


def _scalar(fd: FieldDescriptor, known: Known, calm: bool
            ) -> st.SearchStrategy[tuple[int, bytes]]:
    """(wire type, payload) for one value of a scalar field; `calm`: a plausible one."""
    F = FieldDescriptor
    kind = fd.type
    if calm:
        if kind == F.TYPE_STRING:
            return _calm_text(fd.name, known).map(lambda s: (_LENGTH, s.encode()))
        if kind == F.TYPE_ENUM:
            numbers = [v.number for v in fd.enum_type.values] if fd.enum_type else [0]
            return st.sampled_from([n for n in numbers if n] or [0]).map(
                lambda n: (_VARINT, _varint(n)))
        if kind == F.TYPE_BOOL:
            return st.sampled_from([0, 1]).map(lambda n: (_VARINT, _varint(n)))
    everything = [v for vs in known.values() for v in vs]
    enum = fd.enum_type
    if kind == F.TYPE_STRING:
        return st.one_of(hostile_text(everything, wire=True), hostile_text(everything)).map(
            lambda s: (_LENGTH, s.encode("utf-8", "surrogatepass")))
    if kind == F.TYPE_BYTES:
        return st.binary(max_size=64).map(lambda b: (_LENGTH, b))
    if kind == F.TYPE_DOUBLE:
        return st.floats().map(lambda x: (_FIXED64, struct.pack("<d", x)))
    if kind == F.TYPE_FLOAT:
        return st.floats(width=32).map(lambda x: (_FIXED32, struct.pack("<f", x)))
    if kind in (F.TYPE_FIXED64, F.TYPE_SFIXED64):
        return st.integers(0, 2**64 - 1).map(lambda n: (_FIXED64, struct.pack("<Q", n)))
    if kind in (F.TYPE_FIXED32, F.TYPE_SFIXED32):
        return st.integers(0, 2**32 - 1).map(lambda n: (_FIXED32, struct.pack("<I", n)))
    if kind == F.TYPE_ENUM:
        values = [v.number for v in enum.values] if enum else [0]
        return st.one_of(st.sampled_from(values), st.integers(-(2**31), 2**31 - 1)).map(
            lambda n: (_VARINT, _varint(n)))
    if kind == F.TYPE_BOOL:
        return st.sampled_from([0, 1, 1, 2]).map(lambda n: (_VARINT, _varint(n)))
    if kind in (F.TYPE_SINT32, F.TYPE_SINT64):
        return st.integers(-(2**63), 2**63 - 1).map(
            lambda n: (_VARINT, _varint((n << 1) ^ (n >> 63))))
    return st.one_of(st.sampled_from(INT_EDGES), st.integers(-(2**63), 2**64 - 1),
                     st.integers(-5, 200)).map(lambda n: (_VARINT, _varint(n)))


@st.composite
def _repeated(draw: st.DrawFn, element: st.SearchStrategy[bytes]) -> list[bytes]:
    """Usually a few; now and then hundreds to thousands (a few distinct ones cycled)."""
    if draw(st.integers(0, 9)) == 0:
        distinct = draw(st.lists(element, min_size=1, max_size=3))
        count = draw(st.sampled_from([101, 257, 1_001, 5_001]))
        # Held under MAX_MESSAGE_BYTES in all: more is the same refusal, slower to build.
        count = min(count, max(1, MAX_MESSAGE_BYTES // max(len(b) for b in distinct)))
        return [distinct[i % len(distinct)] for i in range(count)]
    return draw(st.lists(element, max_size=4))


def message_bytes(descriptor: Descriptor, known: Known | None = None, *, calm: bool = False,
                  depth: int = 3) -> st.SearchStrategy[bytes]:
    """A message of `descriptor`'s type on the wire: every field (nested messages, maps and
    oneofs included) absent or drawn, strings hostile (lone surrogates now and then, which
    no parser accepts), enums out of range, numbers at their extremes, repeated fields long.
    `calm`: plausible values only, so that the request reaches the work behind validation
    (a merge of profiles that exist)."""
    known = known or {}

    def one(fd: FieldDescriptor) -> st.SearchStrategy[bytes]:
        if fd.type == FieldDescriptor.TYPE_MESSAGE:
            if depth <= 0:
                return st.just(_tag(fd.number, _LENGTH) + _varint(0))
            assert fd.message_type is not None, fd.full_name
            return message_bytes(fd.message_type, known, calm=calm, depth=depth - 1).map(
                lambda body: _tag(fd.number, _LENGTH) + _varint(len(body)) + body)
        return _scalar(fd, known, calm).map(
            lambda wp: _tag(fd.number, wp[0])
            + (_varint(len(wp[1])) if wp[0] == _LENGTH else b"") + wp[1])

    names = {fd.name: fd for fd in descriptor.fields}
    paired = calm and {"kind", "value"} <= names.keys() and bool(known.get("identifier"))

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        parts: list[bytes] = []
        if paired:  # an identifier that exists: its kind and value together
            kind, _, value = draw(st.sampled_from(list(known["identifier"]))).partition(":")
            parts += [_tag(names[n].number, _LENGTH) + _varint(len(v.encode())) + v.encode()
                      for n, v in (("kind", kind), ("value", value))]
        for fd in descriptor.fields:
            if paired and fd.name in ("kind", "value"):
                continue
            if not draw(st.integers(0, 9 if calm else 3)):  # absent now and then
                continue
            if fd.is_repeated:
                parts += draw(st.lists(one(fd), min_size=1, max_size=3) if calm
                              else _repeated(one(fd)))
            else:
                parts.append(draw(one(fd)))
        kept, size = [], 0
        for part in parts:  # nested long lists could multiply: held to the bound
            size += len(part)
            if size > MAX_MESSAGE_BYTES:
                break
            kept.append(part)
        return b"".join(kept)

    return build()


# --- the gRPC target -------------------------------------------------------------------------

SERVICE = pb.DESCRIPTOR.services_by_name["IdentityService"]
# What a caller's mistake may be answered with; UNKNOWN and INTERNAL are bugs, and so is any
# other code a request alone should not bring about.
ALLOWED_CODES = frozenset({
    grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.OUT_OF_RANGE})
CALL_TIMEOUT_S = 60.0
Metadata = Sequence[tuple[str, str]]
WATCH_WAIT_S = 0.3  # a watch that is still open after this long is a watch that works


def methods() -> list[MethodDescriptor]:
    """Every method of identity.v1.IdentityService, as the descriptors declare them now."""
    return list(SERVICE.methods)


def request_strategy(method: MethodDescriptor, known: Known | None = None
                     ) -> st.SearchStrategy[list[bytes]]:
    """The request messages of one call (one for a unary request, one to five streamed):
    hostile half the time, calm the other half."""
    request_type = method.input_type
    assert request_type is not None, method.full_name
    message = st.one_of(message_bytes(request_type, known),
                        message_bytes(request_type, known, calm=True))
    if method.client_streaming:
        return st.lists(message, min_size=1, max_size=5)
    return message.map(lambda m: [m])


async def call_method(channel: grpc.aio.Channel, method: MethodDescriptor,
                      requests: list[bytes], metadata: Metadata = ()) -> str:
    """Sends one unary or server-streaming call's raw request bytes; returns the status
    code's name, or raises Failure. A watch still open after WATCH_WAIT_S is cancelled."""
    path = f"/{SERVICE.full_name}/{method.name}"
    try:
        if method.server_streaming:
            call: Any = channel.unary_stream(path)(
                requests[0], timeout=CALL_TIMEOUT_S, metadata=metadata)  # type: ignore[arg-type]
            try:
                await asyncio.wait_for(call.read(), WATCH_WAIT_S)
            except TimeoutError:
                call.cancel()
                return "OK (stream open)"
            call.cancel()
        else:
            await channel.unary_unary(path)(
                requests[0], timeout=CALL_TIMEOUT_S, metadata=metadata)  # type: ignore[arg-type]
    except grpc.aio.AioRpcError as exc:
        return status_outcome(method, exc.code(), exc.details())
    return "OK"


def call_streaming(channel: grpc.Channel, method: MethodDescriptor, requests: list[bytes],
                   metadata: Metadata = ()) -> str:
    """A request-streaming call, through a synchronous channel: grpc.aio's client reports
    INTERNAL ("Internal error from Core") instead of the server's status when the server
    ends the call (a refused caller, a bad message) while the client is still writing
    (grpc/grpc issue 36066); the synchronous client reports what the server sent."""
    path = f"/{SERVICE.full_name}/{method.name}"
    try:
        for _ in channel.stream_stream(path)(iter(requests),  # type: ignore[arg-type]
                                             timeout=CALL_TIMEOUT_S, metadata=tuple(metadata)):
            pass
    except grpc.RpcError as exc:
        call: Any = exc  # a grpc.Call too, which the stubs do not say
        return status_outcome(method, call.code(), call.details())
    return "OK"


def status_outcome(method: MethodDescriptor, code: grpc.StatusCode, details: str | None
                   ) -> str:
    """The outcome of a call that ended with `code`, or Failure."""
    if code not in ALLOWED_CODES:
        raise Failure(f"{method.name}: {code.name} {details!r}")
    if not (details or "").strip():
        raise Failure(f"{method.name}: {code.name} without details")
    return str(code.name)


# --- the GraphQL target ----------------------------------------------------------------------

MASKED = "Unexpected error."  # what MaskErrors shows for a bug (api/graphql/schema.py)


def graphql_outcome(response: httpx.Response) -> str:
    """The outcome of one GraphQL answer, or Failure: a 5xx, a masked bug, an error entry
    or a 4xx without a reason."""
    status = response.status_code
    if status >= 500:
        raise Failure(f"HTTP {status}: {response.text[:300]!r}")
    try:
        body = response.json()
    except ValueError:
        body = None
    if status >= 400:
        reason = (_messages(body) if isinstance(body, dict) else []) or [response.text.strip()]
        if not any(reason):
            raise Failure(f"HTTP {status} without a reason")
        return f"HTTP {status}"
    if not isinstance(body, dict) or not ("data" in body or "errors" in body):
        raise Failure(f"HTTP {status} that is not a GraphQL response: {response.text[:300]!r}")
    messages = _messages(body)
    if "errors" in body and not all(m.strip() for m in messages):
        raise Failure(f"an error without a message: {body['errors']!r}"[:500])
    if MASKED in messages:
        raise Failure(f"a bug, masked: {json.dumps(body)[:500]}")
    if not messages:
        return "data"
    codes = {str((e.get("extensions") or {}).get("code", "")) for e in body["errors"]
             if isinstance(e, dict)} - {""}
    return "errors " + (",".join(sorted(codes)) if codes else "(validation or input)")


def _messages(body: Mapping[str, Any]) -> list[str]:
    errors = body.get("errors")
    if not isinstance(errors, list):
        return []
    return [str(e.get("message") or "") if isinstance(e, dict) else "" for e in errors]


def graphql_operations(schema: Any) -> list[Any]:
    """schemathesis's operations of a strawberry schema, read through introspection, as
    `schemathesis.graphql.from_asgi` would read them from the running app."""
    import graphql
    import schemathesis
    from schemathesis.core.result import Ok

    loaded = schemathesis.graphql.from_dict(
        dict(graphql.introspection_from_schema(schema._schema)))
    operations = []
    for result in loaded.get_all_operations():
        if not isinstance(result, Ok):  # schemathesis could not read it: say which
            raise Failure(f"schemathesis cannot fuzz an operation: {result.err()}")
        operations.append(result.ok())
    return operations


def graphql_cases(operation: Any, negative: bool = False) -> st.SearchStrategy[Any]:
    """Queries for one operation: valid ones (positive), or ones that break the schema's
    types (negative), which validation must refuse by name."""
    from schemathesis.generation import GenerationMode

    mode = GenerationMode.NEGATIVE if negative else GenerationMode.POSITIVE
    cases: st.SearchStrategy[Any] = operation.as_strategy(generation_mode=mode)
    return cases


# --- the logs --------------------------------------------------------------------------------


class ErrorLog(logging.Handler):
    """Every record at ERROR and above, and every record carrying a traceback, from any
    logger: a client's mistake never writes one (docs/architecture.md, "Hostile input")."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if (record.levelno >= logging.ERROR or record.exc_info) and not any(
                r is record for r in self.records):
            self.records.append(record)

    def take(self) -> list[str]:
        """What was logged since the last take, one line each (its exception's type)."""
        lines = [f"{r.levelname} {r.name}: {r.getMessage()}"
                 + (f" ({r.exc_info[0].__name__})" if r.exc_info and r.exc_info[0] else "")
                 for r in self.records]
        self.records.clear()
        return lines


@contextmanager
def logged_errors() -> Iterator[ErrorLog]:
    """An ErrorLog on the root logger and on `identity` (which may not propagate) for the
    duration."""
    handler = ErrorLog()
    loggers = [logging.getLogger(), logging.getLogger("identity")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


# --- the service under fuzzing: a throwaway store, seeded ------------------------------------

SEED_EVENTS: list[dict[str, Any]] = [
    {"event_id": f"seed-{n}", "type": "order" if n % 3 == 2 else "identify",
     "timestamp": f"2024-05-0{n + 1}T10:00:00Z", "source": "web",
     "identifiers": [{"kind": "email", "value": f"person{n // 2}@northwind.org"},
                     {"kind": "customer_id", "value": f"cust-{n}"},
                     {"kind": "phone", "value": f"+1415555{n:04d}"}],
     "traits": {"first_name": ["Ann", "Bo", "Cy"][n % 3], "city": "Leeds"},
     **({"amount": "12.50", "currency": "USD"} if n % 3 == 2 else {})}
    for n in range(6)]
KNOWN_IDS: list[str] = []  # profile ids the seeded store holds (the GraphQL ID scalar's)


SEED_QUERY = """mutation Seed($events: [EventInput!]!) {
  ingestEvents(events: $events) { results { status profileId errors { field reason } } }
}"""


class Caller(NamedTuple):
    """Who fuzzes: `dev_mode` serves without authentication; else `scopes` is the API
    key's (None: no credentials at all)."""

    dev_mode: bool
    scopes: frozenset[Scope] | None = None


CALLERS: dict[str, Caller] = {
    "development": Caller(dev_mode=True),
    "read-only key": Caller(dev_mode=False, scopes=frozenset({Scope.PROFILE_READ})),
    "no credentials": Caller(dev_mode=False),
}
FAST = 1_000_000.0  # requests per second: no fuzzer's key is rate limited


async def issue_key(settings: Settings, name: str, scopes: frozenset[Scope]) -> str:
    """A key issued into the store `settings` name, before the server opens it."""
    store = await open_store(settings.store_config())
    try:
        return (await ApiKeys(store).issue(name, scopes, FAST)).secret
    finally:
        await store.close()


class Served:
    """The app `identity serve` builds (app.py: build_app, its lifespan run here) on a
    throwaway store that `settings` name, GraphQL called in process through httpx's ASGI
    transport and gRPC over a real port; seeded, on an event loop of its own in a thread, so
    the fuzzers call it from any thread and what it logs is logged in this process."""

    def __init__(self, settings: Settings, caller: Caller) -> None:
        self._settings = replace(settings, dev_mode=caller.dev_mode, grpc_port=0,
                                 kafka_bootstrap=None)
        self._caller = caller
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._lifespan: AbstractAsyncContextManager[Any] | None = None
        self.known: dict[str, list[str]] = {}
        self.headers: dict[str, str] = {}
        self.metadata: tuple[tuple[str, str], ...] = ()

    def __enter__(self) -> Served:
        self._thread.start()
        try:
            self._run(self._start())
        except BaseException:
            self._halt()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._run(self._stop())
        finally:
            self._halt()

    def _halt(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(CALL_TIMEOUT_S * 2)

    async def _start(self) -> None:
        seeder: dict[str, str] = {}
        if not self._caller.dev_mode:
            seeder = _bearer(await issue_key(self._settings, "fuzz seeder",
                                             frozenset({Scope.ADMIN})))
            if self._caller.scopes is not None:
                self.headers = _bearer(await issue_key(self._settings, "fuzz caller",
                                                       self._caller.scopes))
        self.metadata = tuple((k.lower(), v) for k, v in self.headers.items())
        app = build_app(self._settings)
        self._lifespan = lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                        base_url="http://fuzz.northwind.org")
        port = app.state.grpc_port
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        self.sync_channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.known = await self._seed(seeder)

    async def _seed(self, headers: dict[str, str]) -> dict[str, list[str]]:
        """SEED_EVENTS through GraphQL (duplicates on a store seeded before); the values worth
        drawing often, by the name of the field that takes them."""
        events = [{"eventId": e["event_id"], "type": e["type"], "timestamp": e["timestamp"],
                   "source": e["source"], "identifiers": e["identifiers"],
                   "traits": e["traits"], "amount": e.get("amount"),
                   "currency": e.get("currency")} for e in SEED_EVENTS]
        response = await self.client.post("/graphql", headers=headers, json={
            "query": SEED_QUERY, "variables": {"events": events}})
        results = response.json()["data"]["ingestEvents"]["results"]
        if any(r["errors"] for r in results):
            raise RuntimeError(f"the seed events did not land: {results!r}")
        ids = sorted({r["profileId"] for r in results if r["profileId"]})
        KNOWN_IDS[:] = ids or KNOWN_IDS
        pairs = sorted({f"{i['kind']}:{i['value']}" for e in SEED_EVENTS
                        for i in e["identifiers"]})
        return {"profile_id": ids, "identifier": pairs,
                "value": sorted({pair.partition(":")[2] for pair in pairs}),
                "event_id": [str(e["event_id"]) for e in SEED_EVENTS]}

    async def _stop(self) -> None:
        self.sync_channel.close()
        await self.channel.close()
        await self.client.aclose()
        if self._lifespan is not None:
            await self._lifespan.__aexit__(None, None, None)

    def call(self, method: MethodDescriptor, requests: list[bytes]) -> str:
        """One gRPC call's raw request messages sent; its outcome, or Failure."""
        if method.client_streaming:
            return call_streaming(self.sync_channel, method, requests, self.metadata)
        return self._run(call_method(self.channel, method, requests, self.metadata))

    def post(self, case: Any) -> str:
        """One schemathesis case sent as its JSON body; the outcome, or Failure."""
        body = case.as_transport_kwargs(base_url="http://fuzz.northwind.org")["json"]
        return graphql_outcome(self._run(self.client.post(
            "/graphql", json=body, headers=self.headers, timeout=CALL_TIMEOUT_S)))


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _known_id(index: int) -> str:
    return KNOWN_IDS[index % len(KNOWN_IDS)] if KNOWN_IDS else "p_unknown"


def _known_value(index: int) -> str:
    return KNOWN_TEXT[index % len(KNOWN_TEXT)]


# Strings a well-meaning GraphQL client sends: identifier kinds and the seeded values,
# stewards' names and reasons, sources.
KNOWN_TEXT = sorted({str(i[part]) for e in SEED_EVENTS
                     for i in e["identifiers"] for part in ("kind", "value")}
                    | {v for values in CALM_TEXT.values() for v in values if v})


def register_scalars() -> None:
    """GraphQL's ID drawn from the seeded profiles' ids, and String from plausible values,
    two times in three (else any text), so merges, splits and reads reach profiles that
    exist and identifiers that parse. Registered with schemathesis for the process."""
    import schemathesis
    from schemathesis.graphql import nodes

    for name, plausible in (("ID", st.integers(0, 63).map(_known_id)),
                            ("String", st.integers(0, 255).map(_known_value))):
        schemathesis.graphql.scalar(name, st.one_of(
            plausible, plausible, hostile_text(wire=True)).map(nodes.String))


# --- running a fuzzer and counting -----------------------------------------------------------

MAX_FAILURES_KEPT = 20  # per target, in the report


@dataclass
class Tally:
    """What one target made of its examples: how many, the outcomes, the failures."""

    examples: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    failures: list[dict[str, str]] = field(default_factory=list)
    failure_count: int = 0
    seconds: float = 0.0

    def report(self) -> dict[str, object]:
        return {"examples": self.examples, "seconds": round(self.seconds, 1),
                "outcomes": dict(self.outcomes.most_common()),
                "failures": self.failure_count, "failures_shown": self.failures}


def shown_input(value: object, limit: int = 300) -> str:
    text = ascii(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def drive(strategy: st.SearchStrategy[T], check: Callable[[T], str], *, examples: int,
          errors: ErrorLog, tally: Tally) -> Tally:
    """Runs `check` on `examples` inputs hypothesis draws from `strategy`, counting each
    outcome; a Failure, any other exception, or an ERROR logged while it ran is counted and
    kept (its input shown), and the run goes on."""
    started = time.monotonic()

    @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    @given(strategy)
    def each(value: T) -> None:
        tally.examples += 1
        try:
            outcome = check(value)
        except Exception as exc:  # Failure, or a bug the oracle did not foresee
            outcome = "failure"
            problem = str(exc) if isinstance(exc, Failure) else f"{type(exc).__name__}: {exc}"
        else:
            problem = ""
        if logged := errors.take():
            outcome, problem = "failure", "; ".join([problem, *logged] if problem else logged)
        tally.outcomes[outcome] += 1
        if problem:
            tally.failure_count += 1
            if len(tally.failures) < MAX_FAILURES_KEPT:
                tally.failures.append({"problem": problem[:1000], "input": shown_input(value)})

    each()
    tally.seconds += time.monotonic() - started
    return tally
