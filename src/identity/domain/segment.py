"""Messages in Segment's spec shape, mapped to our event shape. Pure: no I/O.

Producers that already speak Segment's spec (https://segment.com/docs/connections/spec/common/)
send `messageId`, `userId`, `anonymousId`, `traits`, `context`... instead of our documented
fields (README.md, "Events"). This module only moves their values to where our parser reads
them; `parse_event` then validates a Segment message exactly as it validates our own events.
It keeps where each value came from, so an error names the Segment field (`userId`,
`traits.email`) a producer has to fix, never a field it did not send.

    messageId                              -> event_id
    type (identify track page screen alias) -> type; `group` refused; track Order Completed
                                              -> order
    timestamp, else originalTimestamp      -> timestamp
    source (a string), else context.library.name, else "segment" -> source
    userId -> customer_id; anonymousId -> anonymous_id; alias's previousId -> anonymous_id
    traits.email / .phone (else context.traits's) -> email / phone; context.device.id ->
                                              device_id
    identify's traits, other calls' context.traits -> traits (firstName, lastName, birthday
                                              renamed; email and phone left out)
    Order Completed: properties.order_id -> order_id; total (else revenue) -> amount;
                                              currency -> currency

Where the spec is silent: a top-level `traits` on a call other than identify is not read
(the spec gives traits to identify and group only); the spec's camelCase name wins over our
spelling sent beside it; numbers are not turned into ids (the spec's ids are strings).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from identity.domain.errors import FieldError
from identity.domain.types import IdentifierKind

__all__ = ["SegmentEvent", "from_segment", "is_segment"]

# identify, track, page, screen and alias are ours too; group has no place in a person's graph.
_GROUP_REFUSED = ("'group' is not accepted: a group call ties a user to an account or "
                  "company, not identifiers to one person; send the person's identify instead")
_NO_IDENTIFIER = ("is required unless anonymousId is given: the message identifies no one "
                  "(traits.email, traits.phone or context.device.id would too)")
_OUR_FIELDS = ("event_id", "eventId", "identifiers")
_SEGMENT_FIELDS = ("messageId", "userId", "anonymousId")
# Segment's reserved traits spelt in camelCase -> our trait names. Its `address` object is
# read by parse_traits as it is; `email` and `phone` are identifiers, not traits.
TRAIT_NAMES: Mapping[str, str] = {
    "firstName": "first_name", "lastName": "last_name", "birthday": "date_of_birth",
}
IDENTIFYING_TRAITS: Mapping[str, IdentifierKind] = {
    "email": IdentifierKind.EMAIL, "phone": IdentifierKind.PHONE,
}
ORDER_COMPLETED = "order completed"  # Segment's e-commerce spec, compared case-insensitively
_LONGEST_DATETIME = 64  # a birthday longer than this is not tried as a datetime


@dataclass(frozen=True, slots=True)
class SegmentEvent:
    """A Segment message in our shape (`event`), where each of our fields came from
    (`paths`: `identifiers[1]` -> `traits.email`), and what the mapping itself refused."""

    event: Mapping[str, object]
    paths: Mapping[str, str]
    errors: tuple[FieldError, ...] = ()

    def field(self, path: str) -> str:
        """The Segment path of a field path of our shape: its longest mapped head, the rest
        kept (`traits.address.city` -> `context.traits.address.city`), so a producer is told
        the field it sent."""
        head = path
        while head not in self.paths:
            cut = max(head.rfind("."), head.rfind("["))
            if cut <= 0:
                return path
            head = head[:cut]
        return self.paths[head] + path[len(head):]

    def reported(self, errors: Iterable[FieldError]) -> list[FieldError]:
        """The mapping's errors, then the parser's at their Segment paths; a field the mapping
        already explained is not reported again with the parser's less helpful reason."""
        explained = {error.field for error in self.errors}
        found = list(self.errors)
        for error in errors:
            field = self.field(error.field)
            if field not in explained:
                found.append(FieldError(field, error.reason))
        return found


def is_segment(raw: Mapping[str, object]) -> bool:
    """Segment's spec shape: one of its id fields, and none of ours (an event in our shape
    that also carries a `userId` stays ours)."""
    return (not any(name in raw for name in _OUR_FIELDS)
            and any(name in raw for name in _SEGMENT_FIELDS))


def _object(parent: Mapping[str, object], name: str, path: str,
            errors: list[FieldError]) -> Mapping[str, object] | None:
    """A field the spec makes an object; None when absent, and an error when it is not one
    (its content is then not read)."""
    value = parent.get(name)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        errors.append(FieldError(path, f"must be an object, got {_kind_of(value)}"))
        return None
    return value


def _kind_of(value: object) -> str:
    """A value's JSON kind, for a reason: never its content, which may be huge or hostile."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    return "a list" if isinstance(value, list | tuple) else f"a {type(value).__name__}"


def _birthday(value: object) -> object:
    """Segment's birthday is an ISO date or datetime; a datetime keeps the date it writes (a
    birthday is a calendar day, so it is not moved to UTC). Anything else goes on as sent, for
    parse_traits to accept or refuse with its reason."""
    if not isinstance(value, str) or len(value) > _LONGEST_DATETIME:
        return value
    text = value.strip()
    if len(text) <= len("YYYY-MM-DD"):
        return value
    try:
        return datetime.fromisoformat(text).date().isoformat()
    except ValueError:
        return value


def _traits(person: Mapping[str, object], path: str,
            paths: dict[str, str]) -> dict[str, object]:
    """Our traits from Segment's: its camelCase names renamed (the spec's name wins over our
    spelling of it sent alongside), identifying traits left out, any other name passed on."""
    traits = {name: value for name, value in person.items()
              if name not in IDENTIFYING_TRAITS and name not in TRAIT_NAMES}
    for segment_name, ours in TRAIT_NAMES.items():
        value = person.get(segment_name)
        if value is not None:
            traits[ours] = _birthday(value) if ours == "date_of_birth" else value
            paths[f"traits.{ours}"] = f"{path}.{segment_name}"
    return traits


def _first(sources: Iterable[tuple[Mapping[str, object] | None, str]],
           name: str) -> tuple[object, str] | None:
    """The first object of `sources` that gives `name` a value, and that value's path."""
    for found, path in sources:
        if found is not None and found.get(name) is not None:
            return found[name], f"{path}.{name}"
    return None


def from_segment(raw: Mapping[str, object]) -> SegmentEvent:
    """Our event shape from a Segment message (the module's docstring gives the mapping).
    Values are moved, never checked: parse_event checks them as it checks our own events."""
    errors: list[FieldError] = []
    paths: dict[str, str] = {"event_id": "messageId"}
    event: dict[str, object] = {"event_id": raw.get("messageId"), "type": raw.get("type")}
    call = event["type"].strip().lower() if isinstance(event["type"], str) else None
    if call == "group":
        errors.append(FieldError("type", _GROUP_REFUSED))
    timestamp_field = "timestamp" if raw.get("timestamp") is not None else "originalTimestamp"
    event["timestamp"], paths["timestamp"] = raw.get(timestamp_field), timestamp_field
    context = _object(raw, "context", "context", errors) or {}
    _source(raw, context, event, paths, errors)

    # identify carries the person's traits itself; the other calls in context.traits.
    own = _object(raw, "traits", "traits", errors) if call == "identify" else None
    in_context = _object(context, "traits", "context.traits", errors)
    person, person_path = ((own, "traits") if own is not None
                           else (in_context, "context.traits"))
    if person is not None:
        event["traits"], paths["traits"] = _traits(person, person_path, paths), person_path

    found: list[tuple[str, object, str]] = []  # (our kind, value, its Segment path)
    for field, kind in (("userId", IdentifierKind.CUSTOMER_ID),
                        ("anonymousId", IdentifierKind.ANONYMOUS_ID)):
        if raw.get(field) is not None:
            found.append((kind, raw[field], field))
    if call == "alias" and raw.get("previousId") is not None:
        # Segment: the id the user was known by before the alias, usually its anonymousId.
        found.append((IdentifierKind.ANONYMOUS_ID, raw["previousId"], "previousId"))
    for field, kind in IDENTIFYING_TRAITS.items():
        given = _first(((own, "traits"), (in_context, "context.traits")), field)
        if given is not None:
            found.append((kind, given[0], given[1]))
    device = _object(context, "device", "context.device", errors) or {}
    if device.get("id") is not None:
        found.append((IdentifierKind.DEVICE_ID, device["id"], "context.device.id"))
    properties = _object(raw, "properties", "properties", errors) or {}
    if call == "track" and _is_order(raw, errors):
        found += _order(properties, event, paths)

    event["identifiers"] = [{"kind": str(kind), "value": value} for kind, value, _ in found]
    for index, (_, _, path) in enumerate(found):
        for part in ("", ".kind", ".value"):  # a Segment field holds the value itself
            paths[f"identifiers[{index}]{part}"] = path
    paths["identifiers"] = found[0][2] if found else "userId"
    if not found:
        errors.append(FieldError("userId", _NO_IDENTIFIER))
    return SegmentEvent(event, paths, tuple(errors))


def _source(raw: Mapping[str, object], context: Mapping[str, object],
            event: dict[str, object], paths: dict[str, str], errors: list[FieldError]) -> None:
    """A top-level `source` string (not in Segment's spec, but what a pipeline adding one
    means), else the library that sent the message, else "segment"."""
    if isinstance(raw.get("source"), str):
        event["source"], paths["source"] = raw["source"], "source"
        return
    library = _object(context, "library", "context.library", errors) or {}
    if library.get("name") is not None:
        event["source"], paths["source"] = library["name"], "context.library.name"
    else:
        event["source"] = "segment"


def _is_order(raw: Mapping[str, object], errors: list[FieldError]) -> bool:
    """Whether a track call is Segment's `Order Completed` (its name in any case)."""
    action = raw.get("event")
    if action is not None and not isinstance(action, str):
        errors.append(FieldError("event", "must be a string (the name of the action), got "
                                 f"{_kind_of(action)}"))
    return isinstance(action, str) and action.strip().casefold() == ORDER_COMPLETED


def _order(properties: Mapping[str, object], event: dict[str, object],
           paths: dict[str, str]) -> list[tuple[str, object, str]]:
    """Our order fields from Order Completed's properties, and its order id as an identifier.
    The event becomes our `order` type, so one without its total lands as an order of
    unknown value, as ours do (docs/architecture.md, invariant 11)."""
    event["type"] = "order"
    amount = ("revenue" if properties.get("total") is None
              and properties.get("revenue") is not None else "total")
    event["amount"], paths["amount"] = properties.get(amount), f"properties.{amount}"
    event["currency"], paths["currency"] = properties.get("currency"), "properties.currency"
    order_id = properties.get("order_id")
    return [] if order_id is None else [(IdentifierKind.ORDER_ID, order_id,
                                         "properties.order_id")]
