"""Inbound events, validated field by field. Pure: no I/O.

Validation collects every problem in an event instead of stopping at the first, so a producer
fixes its payload in one round trip; one bad event never affects the others of its batch. A
malformed identifier costs only itself: the event lands without it and says so, unless the
caller asks for strict validation (docs/architecture.md, invariant 11).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum

import phonenumbers
import pycountry

from identity.domain.consent import Purpose, parse_consent
from identity.domain.errors import ACCEPTED_WITHOUT, FieldError, InvalidIdentifier, ValidationError
from identity.domain.identifiers import (
    MAX_VALUE_LENGTH,
    NormalizationRules,
    is_placeholder,
    normalize_identifier,
    printable,
    text_problem,
    validate_kind,
)
from identity.domain.pii_hashing import holds_contact
from identity.domain.segment import from_segment, is_segment
from identity.domain.traits import date_of_birth, parse_traits, region_of
from identity.domain.types import EventId, Identifier

__all__ = ["MAX_CLOCK_SKEW", "Event", "EventType", "IgnoredIdentifier", "Order",
           "date_of_birth", "echo",
           "parse_event", "parse_timestamp", "raw_event"]

MAX_IDENTIFIERS_PER_EVENT = 50
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_PLAIN_DECIMAL = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_PLACEHOLDER = "placeholder value: never used to link"
_CONTACT_DROPPED = ("holds an email or a phone, which this service keeps only as keyed "
                    "hashes of identifiers: dropped")
_UNKNOWN_VALUE = "missing on an order: recorded as an order of unknown value"
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
# How far ahead of the receiving server a producer's clock may run (configurable: the
# max_clock_skew setting). An event from further in the future would win every "latest
# value" in the golden record until that date; one within it is recorded at the time it was
# received, so recency never trusts a time the server has not reached.
MAX_CLOCK_SKEW = timedelta(minutes=5)
# ISO 4217 codes for what no customer pays an order in, and what each is.
_NOT_MONEY = {
    "XTS": "testing", "XXX": "no currency",
    **dict.fromkeys(("XAU", "XAG", "XPD", "XPT"), "a precious metal"),
    **dict.fromkeys(("XBA", "XBB", "XBC", "XBD", "XDR", "XSU", "XUA"), "a unit of account"),
    **dict.fromkeys(("BOV", "CHE", "CHW", "CLF", "COU", "MXV", "USN", "UYI", "UYW"),
                    "a fund or settlement unit"),
}
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)
_SHOWN_BITS = 256  # a larger int is not written out in a reason (str() refuses 4,300 digits)
MAX_AMOUNT_DIGITS = 12  # before the decimal point
MAX_AMOUNT_DECIMALS = 4


class EventType(StrEnum):
    IDENTIFY = "identify"
    TRACK = "track"
    PAGE = "page"
    SCREEN = "screen"
    ORDER = "order"
    ALIAS = "alias"


@dataclass(frozen=True, slots=True)
class IgnoredIdentifier:
    """An identifier kept out of the graph, and why: a placeholder such as `unknown`, or a
    malformed value the event was accepted without."""

    field: str
    kind: str
    value: str
    reason: str


@dataclass(frozen=True, slots=True)
class Order:
    """`amount` None: the order happened, its value is unknown (the producer lost it)."""

    amount: Decimal | None
    currency: str | None


@dataclass(frozen=True, slots=True)
class Event:
    event_id: EventId
    type: EventType
    timestamp: datetime
    source: str
    identifiers: tuple[Identifier, ...]
    traits: tuple[tuple[str, str], ...] = ()
    order: Order | None = None
    ignored: tuple[IgnoredIdentifier, ...] = ()
    warnings: tuple[FieldError, ...] = ()  # what was accepted in another form, and why
    # (purpose, granted) the event decides, by purpose (domain/consent.py)
    consent: tuple[tuple[Purpose, bool], ...] = ()
    # Identifiers that are one email or phone hashed under each key listed, while a key is
    # rotated (domain/pii_hashing.py): erasure's suppression drops them together.
    same_value: tuple[tuple[Identifier, ...], ...] = ()


def _text(raw: Mapping[str, object], name: str, errors: list[FieldError]) -> str:
    value = raw.get(name)
    if not isinstance(value, str) or not value.strip():
        errors.append(FieldError(name, "is required and must be a non-empty string"))
        return ""
    if len(value) > MAX_VALUE_LENGTH:
        errors.append(FieldError(name, f"is longer than {MAX_VALUE_LENGTH} characters"))
    elif (problem := text_problem(value.strip())) is not None:
        errors.append(FieldError(name, problem))
    return value.strip()


def parse_timestamp(value: object) -> datetime:
    """ISO 8601; a timestamp without an offset is read as UTC, so every one compares."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 string such as 2024-05-01T12:00:00Z")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{shown(value)} is not an ISO 8601 timestamp") from None
    outside = f"{shown(value)} is outside {_EARLIEST.year}-{_LATEST.year - 1}"
    try:
        parsed = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:  # year 1 or 9999 with an offset
        raise ValueError(outside) from None
    if not _EARLIEST <= parsed < _LATEST:
        raise ValueError(outside)
    return parsed


def _event_type(raw: Mapping[str, object], errors: list[FieldError]) -> EventType:
    value = raw.get("type")
    allowed = ", ".join(t.value for t in EventType)
    if value is None:
        errors.append(FieldError("type", f"is required: one of {allowed}"))
        return EventType.TRACK
    try:
        if not isinstance(value, str):
            raise ValueError  # never str() of a caller's object: a deep one has no repr
        return EventType(value.strip().lower())
    except ValueError:
        errors.append(FieldError("type", f"{shown(value)} is not one of {allowed}"))
        return EventType.TRACK


def _timestamp(raw: Mapping[str, object], errors: list[FieldError],
               warnings: list[FieldError], received_at: datetime | None,
               max_clock_skew: timedelta) -> datetime:
    """Refused beyond the skew; within it, ahead of the server, recorded when received."""
    try:
        parsed = parse_timestamp(raw.get("timestamp"))
    except ValueError as exc:
        errors.append(FieldError("timestamp", str(exc)))
        return datetime.min.replace(tzinfo=UTC)
    if received_at is None or parsed <= received_at:
        return parsed
    ahead = (parsed - received_at).total_seconds()
    if parsed > received_at + max_clock_skew:
        errors.append(FieldError("timestamp", (
            f"{shown(raw.get('timestamp'))} is {_duration(ahead)} ahead of the clock of the "
            f"server that received it ({received_at:%Y-%m-%dT%H:%M:%SZ}); at most "
            f"{_duration(max_clock_skew.total_seconds())} is allowed (max_clock_skew)")))
        return datetime.min.replace(tzinfo=UTC)
    # Recorded when received, less a thousandth of the skew it left unused: never after the
    # server's clock, and events of one fast clock keep their order (+1 s before +2 s).
    recorded = received_at - (max_clock_skew - (parsed - received_at)) / 1000
    warnings.append(FieldError("timestamp", f"{ahead:.3g} s ahead of the server's clock: "
                               "recorded at the time the server received the event, "
                               f"{recorded:%Y-%m-%dT%H:%M:%S.%fZ}"))
    return recorded


def _duration(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds:.0f} s"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 86400:,.0f} days"


def echo(value: object, limit: int = MAX_VALUE_LENGTH) -> str:
    """A caller's value as a result may show it back: bounded, and always encodable (a lone
    surrogate is shown escaped rather than breaking the response)."""
    if not isinstance(value, str):
        return ""
    text = value.strip()[:limit]
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def shown(value: object, limit: int = 32) -> str:
    """A caller's value quoted in a reason: bounded (a megabyte sent is not a megabyte
    answered) and escaped, whatever it holds."""
    if isinstance(value, str):
        return f"'{printable(value.strip(), limit)}'"
    if isinstance(value, int) and value.bit_length() > _SHOWN_BITS:
        return "a number too large to show"  # Python refuses to write one out
    if value is None or isinstance(value, bool | int | float):
        return repr(value)[:limit]
    return f"a {type(value).__name__}"


@dataclass
class _Identifiers:
    kept: set[Identifier]
    ignored: list[IgnoredIdentifier]
    malformed: list[tuple[FieldError, IgnoredIdentifier]]  # the error, and its report if dropped
    same_value: list[tuple[Identifier, ...]]  # Event.same_value


def _identifiers(raw: Mapping[str, object], rules: NormalizationRules, region: str,
                 errors: list[FieldError]) -> _Identifiers:
    found = _Identifiers(set(), [], [], [])
    items = raw.get("identifiers")
    if not isinstance(items, list) or not items:
        errors.append(FieldError("identifiers", "is required: a non-empty list of {kind, value}"))
        return found
    if len(items) > MAX_IDENTIFIERS_PER_EVENT:
        errors.append(FieldError("identifiers", f"has more than {MAX_IDENTIFIERS_PER_EVENT} items"))
        return found
    for index, item in enumerate(items):
        where = f"identifiers[{index}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("kind"), str):
            reason = "must be an object with string fields kind and value"
            found.malformed.append((FieldError(where, reason),
                                    IgnoredIdentifier(where, "", "", reason + ACCEPTED_WITHOUT)))
            continue
        value, raw_kind = item.get("value"), str(item["kind"])
        try:
            kind = validate_kind(raw_kind)
        except InvalidIdentifier as exc:
            found.malformed.append((FieldError(f"{where}.kind", str(exc)), IgnoredIdentifier(
                f"{where}.kind", echo(raw_kind, 64), echo(value), str(exc) + ACCEPTED_WITHOUT)))
            continue
        if isinstance(value, str) and rules.blocklist.blocks(value):
            # Checked before normalizing: `unknown` as a phone is a placeholder, not a typo.
            found.ignored.append(IgnoredIdentifier(where, kind, echo(value), _PLACEHOLDER))
            continue
        try:
            identifier = normalize_identifier(kind, value, rules, region)
        except InvalidIdentifier as exc:
            found.malformed.append((FieldError(f"{where}.value", str(exc)), IgnoredIdentifier(
                f"{where}.value", kind, echo(value), str(exc) + ACCEPTED_WITHOUT)))
            continue
        if is_placeholder(str(value), identifier, rules.blocklist):
            found.ignored.append(IgnoredIdentifier(where, identifier.kind, identifier.value,
                                                   _PLACEHOLDER))
            continue
        linked = rules.linked(identifier)  # hashed here when hashing is on
        found.kept.update(linked)
        if len(linked) > 1:
            found.same_value.append(linked)
    return found


def _without_contacts(traits: tuple[tuple[str, str], ...], warnings: list[FieldError]
                      ) -> tuple[tuple[str, str], ...]:
    """With PII hashing on, no trait keeps an email or a phone in clear (pii_hashing.py)."""
    kept = []
    for name, value in traits:
        if holds_contact(name, value):
            warnings.append(FieldError(f"traits.{name}", _CONTACT_DROPPED))
        else:
            kept.append((name, value))
    return tuple(kept)


def _currency(currency: object, errors: list[FieldError]) -> str | None:
    code = currency.strip().upper() if isinstance(currency, str) else ""
    if not _CURRENCY.match(code) or pycountry.currencies.get(alpha_3=code) is None:
        errors.append(FieldError("currency", f"{shown(currency, 16)} is not an ISO 4217 code "
                                 "such as EUR"))
        return None
    if code in _NOT_MONEY:
        errors.append(FieldError("currency", f"{code} is the ISO 4217 code for "
                                 f"{_NOT_MONEY[code]}, not money an order is paid in"))
        return None
    return code


def _amount(amount: object, errors: list[FieldError]) -> Decimal:
    parsed = Decimal(0)
    if isinstance(amount, int) and amount.bit_length() > _SHOWN_BITS:
        # Refused before str(), which raises past 4,300 digits.
        errors.append(FieldError("amount", f"is a number of more than {MAX_AMOUNT_DIGITS} "
                                 "digits"))
        return parsed
    try:
        if isinstance(amount, bool) or not isinstance(amount, str | int | float):
            raise InvalidOperation
        if isinstance(amount, str) and not _PLAIN_DECIMAL.match(amount.strip()):
            raise InvalidOperation  # no sign, exponent, "_" or digits of other scripts
        parsed = Decimal(str(amount).strip())
        if not parsed.is_finite() or parsed < 0:
            raise InvalidOperation
    except InvalidOperation:
        errors.append(FieldError("amount", f"{shown(amount)} is not a non-negative "
                                 "decimal amount"))
        return parsed
    # Bounded, so totals stay exact and no profile is made unreadable by one huge amount.
    exponent = parsed.as_tuple().exponent
    if parsed.adjusted() >= MAX_AMOUNT_DIGITS or (
            isinstance(exponent, int) and -exponent > MAX_AMOUNT_DECIMALS):
        errors.append(FieldError("amount", f"{shown(amount)} has more than "
                                 f"{MAX_AMOUNT_DIGITS} digits or {MAX_AMOUNT_DECIMALS} decimals"))
    return parsed


def _order(raw: Mapping[str, object], type_: EventType, errors: list[FieldError],
           warnings: list[FieldError], strict: bool) -> Order | None:
    """An order event without an amount still happened: it lands as an order of unknown
    value, and says so (strict validation rejects it instead)."""
    amount, currency = raw.get("amount"), raw.get("currency")
    if amount is None and type_ is EventType.ORDER and not strict:
        warnings.append(FieldError("amount", _UNKNOWN_VALUE))
        return Order(None, None if currency is None else _currency(currency, errors))
    if amount is None and currency is None:
        if type_ is EventType.ORDER:
            errors.append(FieldError("amount", "is required on an order event"))
            errors.append(FieldError("currency", "is required on an order event"))
        return None
    if amount is None or currency is None:
        missing, given = ("amount", "currency") if amount is None else ("currency", "amount")
        errors.append(FieldError(missing, "is required on an order event"
                                 if type_ is EventType.ORDER else f"is required with {given}"))
    parsed = None if amount is None else _amount(amount, errors)
    code = None if currency is None else _currency(currency, errors)
    return None if parsed is None or code is None else Order(parsed, code)


def phone_region(traits: Iterable[tuple[str, str]], source: str,
                 rules: NormalizationRules) -> str:
    """Where the event's phones are read as national numbers: the country its address shows,
    else its source's region in configuration, else the default region."""
    country = dict(traits).get("country")
    region = region_of(country) if country else None
    if region in phonenumbers.SUPPORTED_REGIONS:
        return str(region)
    return rules.region_for(source)


def raw_event(event_id: str, type: str, timestamp: str, source: str,
              identifiers: Iterable[tuple[str, str]], *, traits: object = None,
              amount: object = None, currency: object = None,
              consent: object = None) -> dict[str, object]:
    """An event as a producer sends it (a line of an `identity ingest` file), for entry points
    that receive it in another shape: `parse_event` then validates every entry point's alike.
    Optional fields given as None are left out, as a JSON producer leaves them out."""
    raw: dict[str, object] = {
        "event_id": event_id, "type": type, "timestamp": timestamp, "source": source,
        "identifiers": [{"kind": kind, "value": value} for kind, value in identifiers],
    }
    optional = {"traits": traits, "amount": amount, "currency": currency, "consent": consent}
    raw.update({name: value for name, value in optional.items() if value is not None})
    return raw


def parse_event(raw: object, rules: NormalizationRules, *, strict: bool = False,
                received_at: datetime | None = None,
                max_clock_skew: timedelta = MAX_CLOCK_SKEW) -> Event:
    """Raises ValidationError listing every bad field of this one event. A malformed
    identifier is dropped and reported (`Event.ignored`) when the event has another to link
    and nothing else is wrong with it; `strict` rejects the event for it instead.
    `received_at`: when the service received it; its timestamp may not be more than
    `max_clock_skew` later, and one later at all is recorded as `received_at`.
    A message in Segment's spec shape is first moved into ours (domain/segment.py), then
    validated as ours are; its errors name the Segment fields the values came from."""
    if not isinstance(raw, Mapping):
        raise ValidationError([FieldError("event", "must be a JSON object")])
    segment = from_segment(raw) if is_segment(raw) else None
    if segment is not None:
        raw = segment.event
    errors: list[FieldError] = []
    warnings: list[FieldError] = []
    event_id = _text(raw, "event_id", errors)
    type_ = _event_type(raw, errors)
    timestamp = _timestamp(raw, errors, warnings, received_at, max_clock_skew)
    source = _text(raw, "source", errors)
    traits = parse_traits(raw.get("traits"), errors)
    if rules.pii_keys is not None:
        traits = _without_contacts(traits, warnings)
    found = _identifiers(raw, rules, phone_region(traits, source, rules), errors)
    order = _order(raw, type_, errors, warnings, strict)
    consent = parse_consent(raw.get("consent"), errors)
    ignored = found.ignored
    refused = segment is not None and bool(segment.errors)  # its mapping rejects it already
    if found.malformed and (errors or refused or strict or not found.kept):
        errors += [error for error, _ in found.malformed]
    else:
        ignored += [report for _, report in found.malformed]
    if found.ignored and not found.kept and not found.malformed:
        errors.append(FieldError("identifiers", "every identifier is a placeholder value; "
                                 "the event has nothing to link"))
    errors.sort(key=_field_order)
    ignored.sort(key=_field_order)
    if segment is not None:
        errors = segment.reported(errors)
        ignored = [replace(item, field=segment.field(item.field)) for item in ignored]
        warnings = [*segment.warnings,  # what the mapping set aside, at its Segment field
                    *(replace(item, field=segment.field(item.field)) for item in warnings)]
    if errors:
        raise ValidationError(errors)
    return Event(EventId(event_id), type_, timestamp, source, tuple(sorted(found.kept)),
                 traits, order, tuple(ignored), tuple(warnings), consent,
                 tuple(found.same_value))


_FIELD_ORDER = {name: rank for rank, name in enumerate(
    ("event", "event_id", "type", "timestamp", "source", "identifiers", "traits", "amount",
     "currency", "consent"))}


def _field_order(item: FieldError | IgnoredIdentifier) -> tuple[int, int, str]:
    """Errors in the order of the event's fields, identifiers by index (10 after 9)."""
    head = re.split(r"[.\[]", item.field, maxsplit=1)[0]
    index = re.search(r"\[(\d+)\]", item.field)
    return (_FIELD_ORDER.get(head, len(_FIELD_ORDER)), int(index.group(1)) if index else -1,
            item.field)
