"""Inbound events, validated field by field. Pure: no I/O.

Validation collects every problem in an event instead of stopping at the first, so a producer
fixes its payload in one round trip; one bad event never affects the others of its batch.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from identity.domain.errors import FieldError, InvalidIdentifier, ValidationError
from identity.domain.identifiers import (
    MAX_VALUE_LENGTH,
    NormalizationRules,
    is_placeholder,
    normalize_identifier,
    validate_kind,
)
from identity.domain.types import EventId, Identifier

MAX_IDENTIFIERS_PER_EVENT = 50
MAX_TRAITS_PER_EVENT = 100
_TRAIT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_WHITESPACE = re.compile(r"\s+")
_PLACEHOLDER = "placeholder value: never used to link"
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)
MAX_AMOUNT_DIGITS = 12  # before the decimal point
MAX_AMOUNT_DECIMALS = 4


class EventType(StrEnum):
    IDENTIFY = "identify"
    TRACK = "track"
    PAGE = "page"
    SCREEN = "screen"
    ORDER = "order"
    ALIAS = "alias"


# Traits checked as dates; any other snake_case name is kept as text.
DATE_TRAITS = frozenset({"date_of_birth"})


@dataclass(frozen=True, slots=True)
class IgnoredIdentifier:
    """An identifier kept out of the graph, and why (a placeholder such as `unknown`)."""

    field: str
    kind: str
    value: str
    reason: str


@dataclass(frozen=True, slots=True)
class Order:
    amount: Decimal
    currency: str


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


def _text(raw: Mapping[str, object], name: str, errors: list[FieldError]) -> str:
    value = raw.get(name)
    if not isinstance(value, str) or not value.strip():
        errors.append(FieldError(name, "is required and must be a non-empty string"))
        return ""
    if len(value) > MAX_VALUE_LENGTH:
        errors.append(FieldError(name, f"is longer than {MAX_VALUE_LENGTH} characters"))
    return value.strip()


def parse_timestamp(value: object) -> datetime:
    """ISO 8601; a timestamp without an offset is read as UTC, so every one compares."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 string such as 2024-05-01T12:00:00Z")
    try:
        parsed = datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # year 1 or 9999 with an offset overflows
        raise ValueError(f"{value!r} is not an ISO 8601 timestamp") from None
    if not _EARLIEST <= parsed <= _LATEST:
        raise ValueError(f"{value!r} is outside {_EARLIEST.year}-{_LATEST.year - 1}")
    return parsed


def _event_type(raw: Mapping[str, object], errors: list[FieldError]) -> EventType:
    value = raw.get("type")
    try:
        return EventType(str(value).strip().lower())
    except ValueError:
        allowed = ", ".join(t.value for t in EventType)
        errors.append(FieldError("type", f"{value!r} is not one of {allowed}"))
        return EventType.TRACK


def _timestamp(raw: Mapping[str, object], errors: list[FieldError]) -> datetime:
    try:
        return parse_timestamp(raw.get("timestamp"))
    except ValueError as exc:
        errors.append(FieldError("timestamp", str(exc)))
        return datetime.min.replace(tzinfo=UTC)


def _identifiers(
    raw: Mapping[str, object], rules: NormalizationRules, errors: list[FieldError]
) -> tuple[list[Identifier], list[IgnoredIdentifier]]:
    items = raw.get("identifiers")
    if not isinstance(items, list) or not items:
        errors.append(FieldError("identifiers", "is required: a non-empty list of {kind, value}"))
        return [], []
    if len(items) > MAX_IDENTIFIERS_PER_EVENT:
        errors.append(FieldError("identifiers", f"has more than {MAX_IDENTIFIERS_PER_EVENT} items"))
        return [], []
    kept: set[Identifier] = set()
    ignored: list[IgnoredIdentifier] = []
    errors_before = len(errors)
    for index, item in enumerate(items):
        where = f"identifiers[{index}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("kind"), str):
            errors.append(FieldError(where, "must be an object with string fields kind and value"))
            continue
        value = item.get("value")
        try:
            kind = validate_kind(str(item["kind"]))
        except InvalidIdentifier as exc:
            errors.append(FieldError(f"{where}.kind", str(exc)))
            continue
        if isinstance(value, str) and rules.blocklist.blocks(value):
            # Checked before normalizing: `unknown` as a phone is a placeholder, not a typo.
            ignored.append(IgnoredIdentifier(where, kind, value.strip(), _PLACEHOLDER))
            continue
        try:
            identifier = normalize_identifier(kind, value, rules)
        except InvalidIdentifier as exc:
            errors.append(FieldError(f"{where}.value", str(exc)))
            continue
        if is_placeholder(str(value), identifier, rules.blocklist):
            ignored.append(IgnoredIdentifier(where, identifier.kind, identifier.value,
                                             _PLACEHOLDER))
            continue
        kept.add(identifier)
    if not kept and len(errors) == errors_before:
        errors.append(FieldError("identifiers", "every identifier is a placeholder value; "
                                 "the event has nothing to link"))
    return sorted(kept), ignored


def _trait_value(name: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("must be a string or a number")
    text = _WHITESPACE.sub(" ", str(value)).strip()
    if not text:
        raise ValueError("must not be empty")
    if len(text) > MAX_VALUE_LENGTH:
        raise ValueError(f"is longer than {MAX_VALUE_LENGTH} characters")
    return date_of_birth(text) if name in DATE_TRAITS else text


def date_of_birth(text: str) -> str:
    """The date in YYYY-MM-DD form. Raises ValueError saying why it is not a plausible date
    of birth (not a date, before 1900, in the future)."""
    try:
        born = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date in YYYY-MM-DD form") from None
    if not date(1900, 1, 1) <= born <= date.today():
        raise ValueError(f"{text} is not a plausible date of birth")
    return born.isoformat()


def _traits(raw: Mapping[str, object], errors: list[FieldError]) -> tuple[tuple[str, str], ...]:
    traits = raw.get("traits")
    if traits is None:
        return ()
    if not isinstance(traits, Mapping):
        errors.append(FieldError("traits", "must be an object of trait name to value"))
        return ()
    if len(traits) > MAX_TRAITS_PER_EVENT:
        errors.append(FieldError("traits", f"has more than {MAX_TRAITS_PER_EVENT} traits"))
        return ()
    parsed: dict[str, str] = {}
    for name, value in traits.items():
        if value is None:
            continue  # an absent trait says nothing; it never erases a known value
        if not isinstance(name, str) or not _TRAIT_NAME.match(name):
            errors.append(FieldError(f"traits.{name}", "trait names are snake_case, at most 64 "
                                     "characters, starting with a letter"))
            continue
        try:
            parsed[name] = _trait_value(name, value)
        except ValueError as exc:
            errors.append(FieldError(f"traits.{name}", str(exc)))
    return tuple(sorted(parsed.items()))


def _order(raw: Mapping[str, object], type_: EventType, errors: list[FieldError]) -> Order | None:
    amount, currency = raw.get("amount"), raw.get("currency")
    if amount is None and currency is None:
        if type_ is EventType.ORDER:
            errors.append(FieldError("amount", "is required on an order event"))
            errors.append(FieldError("currency", "is required on an order event"))
        return None
    parsed_amount = Decimal(0)
    try:
        if isinstance(amount, bool) or not isinstance(amount, str | int | float):
            raise InvalidOperation
        parsed_amount = Decimal(str(amount))
        if not parsed_amount.is_finite() or parsed_amount < 0:
            raise InvalidOperation
    except InvalidOperation:
        errors.append(FieldError("amount", f"{amount!r} is not a non-negative decimal amount"))
    else:
        # Bounded, so totals stay exact and no profile is made unreadable by one huge amount.
        exponent = parsed_amount.as_tuple().exponent
        if parsed_amount.adjusted() >= MAX_AMOUNT_DIGITS or (
                isinstance(exponent, int) and -exponent > MAX_AMOUNT_DECIMALS):
            errors.append(FieldError("amount", f"{amount!r} has more than {MAX_AMOUNT_DIGITS} "
                                     f"digits or {MAX_AMOUNT_DECIMALS} decimals"))
    if not isinstance(currency, str) or not _CURRENCY.match(currency.strip().upper()):
        errors.append(FieldError("currency", f"{currency!r} is not an ISO 4217 code such as EUR"))
        return None
    return Order(parsed_amount, currency.strip().upper())


def raw_event(event_id: str, type: str, timestamp: str, source: str,
              identifiers: Iterable[tuple[str, str]], *, traits: object = None,
              amount: object = None, currency: object = None) -> dict[str, object]:
    """An event as a producer sends it (a line of an `identity ingest` file), for entry points
    that receive it in another shape: `parse_event` then validates every entry point's alike.
    Optional fields given as None are left out, as a JSON producer leaves them out."""
    raw: dict[str, object] = {
        "event_id": event_id, "type": type, "timestamp": timestamp, "source": source,
        "identifiers": [{"kind": kind, "value": value} for kind, value in identifiers],
    }
    optional = {"traits": traits, "amount": amount, "currency": currency}
    raw.update({name: value for name, value in optional.items() if value is not None})
    return raw


def parse_event(raw: object, rules: NormalizationRules) -> Event:
    """Raises ValidationError listing every bad field of this one event."""
    if not isinstance(raw, Mapping):
        raise ValidationError([FieldError("event", "must be a JSON object")])
    errors: list[FieldError] = []
    event_id = _text(raw, "event_id", errors)
    type_ = _event_type(raw, errors)
    timestamp = _timestamp(raw, errors)
    source = _text(raw, "source", errors)
    identifiers, ignored = _identifiers(raw, rules, errors)
    traits = _traits(raw, errors)
    order = _order(raw, type_, errors)
    if errors:
        raise ValidationError(errors)
    return Event(EventId(event_id), type_, timestamp, source, tuple(identifiers),
                 traits, order, tuple(ignored))
