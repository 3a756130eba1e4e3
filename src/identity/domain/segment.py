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
    identify's traits, other calls' context.traits -> traits (email and phone left out; below)
    Order Completed: properties.order_id -> order_id; total (else revenue) -> amount;
                                              currency -> currency
    context.consent.categoryPreferences -> consent (a category named as one of our purposes,
                                              or in consent.SEGMENT_CATEGORIES; others set
                                              aside with a warning)

Traits are read as Segment sends them, so that a message lands with what can be stored and
says what could not (warnings at their Segment field: `traits.company`), never refused for
Segment's own conventions; a value refused in our events (control characters, a lone
surrogate, too long, a number too large) is still refused, at its Segment field:
- names: `firstName`, `lastName`, `birthday` -> first_name, last_name, date_of_birth (a
  datetime keeps the date it writes); any other camelCase or PascalCase name -> snake_case
  (`createdAt` -> created_at, `planName` -> plan_name, `userID` -> user_id); a name that
  cannot be one (`Plan Name`, `$plan`, over 64 characters) is set aside with a warning, one
  holding a hostile character refused. A name sent in snake_case wins over one renamed to it
  (`created_at` over `createdAt`, `first_name` over `firstName`; the renamed one is reported
  when its value differs); two renamed to one name: the first sent wins.
- values: an object or a list (Segment's `company`, a list of tags; inside `address` too) is
  set aside with a warning: a trait is a string or a number. `address` is read as an object
  (traits.py). A boolean is stored as `true` / `false`.
- Segment's other reserved traits are kept (created_at, age, avatar, website, title,
  username, description, gender, and `company` when a string): what the producer knows of
  the person, stored as any custom trait is. `id` (the user's id in the producer's database)
  is set aside: userId is the id that links, and an id beside it is not guessed to be one;
  reported unless it equals userId.
- `name`: when no first or last name is sent, a full name of exactly two words of letters
  (`Jane Doe`, `Anne-Marie O'Neil`) is first_name and last_name, in the spec's order (Segment
  fills `name` from firstName + " " + lastName); any other (`Jane`, `J. R. R. Tolkien`, `Doe,
  Jane`, `Dr. Who`) is kept as the trait `name`, as is every name sent beside a first or last
  name: a guessed split would put a wrong first name in the golden record.

Where the spec is silent: a top-level `traits` on a call other than identify is not read
(the spec gives traits to identify and group only); numbers are not turned into ids (the
spec's ids are strings).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from identity.domain.consent import SET_ASIDE, segment_purpose
from identity.domain.errors import ACCEPTED_WITHOUT, FieldError
from identity.domain.identifiers import MAX_VALUE_LENGTH, text_problem
from identity.domain.traits import (
    ADDRESS,
    MAX_ADDRESS_FIELDS,
    MAX_TRAIT_NAME,
    MAX_TRAITS_PER_EVENT,
    path_part,
)
from identity.domain.types import IdentifierKind

__all__ = ["SegmentEvent", "from_segment", "is_segment"]

# identify, track, page, screen and alias are ours too; group has no place in a person's graph.
_GROUP_REFUSED = ("'group' is not accepted: a group call ties a user to an account or "
                  "company, not identifiers to one person; send the person's identify instead")
_NO_IDENTIFIER = ("is required unless anonymousId is given: the message identifies no one "
                  "(traits.email, traits.phone or context.device.id would too)")
_OUR_FIELDS = ("event_id", "eventId", "identifiers")
_SEGMENT_FIELDS = ("messageId", "userId", "anonymousId")
# Segment's reserved traits whose name is not ours -> our trait names (any other camelCase
# name is made snake_case). Its `address` object is read by parse_traits as it is; `email`
# and `phone` are identifiers, not traits.
TRAIT_NAMES: Mapping[str, str] = {
    "firstName": "first_name", "lastName": "last_name", "birthday": "date_of_birth",
}
USER_ID_TRAIT = "id"  # Segment's "unique ID in your database for a user": set aside
FULL_NAME = "name"
COMPANY = "company"  # as a string, a trait; Segment's object describes the user's account
_SPLIT_NAME = ("first_name", "last_name")
_NOT_STORED = "is {kind}: not stored, a trait is a string or a number" + ACCEPTED_WITHOUT
_COMPANY = ("is Segment's company object (the account the user belongs to, not the "
            "person): not stored, a trait is a string or a number" + ACCEPTED_WITHOUT)
_ID_SET_ASIDE = ("is not stored: userId is the id that links the person, and another id "
                 "beside it is not guessed to be one; send it as userId" + ACCEPTED_WITHOUT)
_BAD_NAME = ("is not stored: a trait name is snake_case or camelCase, at most "
             f"{MAX_TRAIT_NAME} characters, starting with a letter" + ACCEPTED_WITHOUT)
_SHADOWED = "is not stored: {kept} was sent too and is kept" + ACCEPTED_WITHOUT
_CAMEL = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_WORD_START = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NAME_WORD = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*")  # letters; O'Neil, Anne-Marie
IDENTIFYING_TRAITS: Mapping[str, IdentifierKind] = {
    "email": IdentifierKind.EMAIL, "phone": IdentifierKind.PHONE,
}
ORDER_COMPLETED = "order completed"  # Segment's e-commerce spec, compared case-insensitively
_LONGEST_DATETIME = 64  # a birthday longer than this is not tried as a datetime


@dataclass(frozen=True, slots=True)
class SegmentEvent:
    """A Segment message in our shape (`event`), where each of our fields came from
    (`paths`: `identifiers[1]` -> `traits.email`), what the mapping itself refused, and
    what it set aside for the event to land without (`traits.company`, an object)."""

    event: Mapping[str, object]
    paths: Mapping[str, str]
    errors: tuple[FieldError, ...] = ()
    warnings: tuple[FieldError, ...] = ()  # what was set aside, at its Segment field

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
    if isinstance(value, Mapping):
        return "an object"
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


def snake_case(name: str) -> str | None:
    """A camelCase or PascalCase name in snake_case (`createdAt` -> `created_at`, `userID` ->
    `user_id`, `HTTPStatus` -> `http_status`; snake_case stays as it is); None when the name
    cannot be a trait name (`Plan Name`, `$plan`, `2fa`, over 64 characters)."""
    if len(name) > 2 * MAX_TRAIT_NAME or not _CAMEL.fullmatch(name):
        return None
    snake = _WORD_START.sub("_", name).lower()
    return snake if len(snake) <= MAX_TRAIT_NAME else None


def _storable(value: object, where: str, warnings: list[FieldError]) -> tuple[bool, object]:
    """Whether a trait's value goes on to parse_traits, and as what: an object or a list is
    set aside and reported (never read: it may be nested deep); a boolean is its JSON
    spelling; anything else as sent, for parse_traits to accept or refuse."""
    if isinstance(value, Mapping | list | tuple):
        warnings.append(FieldError(where, _NOT_STORED.format(kind=_kind_of(value))))
        return False, None
    if isinstance(value, bool):
        return True, "true" if value else "false"
    return True, value


def _address(value: Mapping[object, object], where: str,
             warnings: list[FieldError]) -> Mapping[object, object]:
    """Segment's address object without the fields that are objects or lists (reported);
    one too large to read goes on whole, for parse_traits to refuse."""
    if len(value) > MAX_ADDRESS_FIELDS:
        return value
    kept: dict[object, object] = {}
    for part, inner in value.items():
        keep, inner = _storable(inner, f"{where}.{path_part(part)}", warnings)
        if keep:
            kept[part] = inner
    return kept


def _split_name(value: object) -> tuple[str, str] | None:
    """A full name of exactly two words of letters as (first, last), the spec's order
    (Segment writes `name` as firstName + " " + lastName); None for any other, which an
    initial, a title, a comma or a third word would make a guess."""
    if not isinstance(value, str) or len(value) > MAX_VALUE_LENGTH:
        return None
    words = value.split()
    if len(words) != 2 or not all(_NAME_WORD.fullmatch(word) for word in words):
        return None
    return words[0], words[1]


def _traits(person: Mapping[str, object], path: str, paths: dict[str, str],
            warnings: list[FieldError], user_id: object) -> dict[str, object]:
    """Our traits from Segment's (the module's docstring gives the rules): identifying traits
    left out, names made ours, what cannot be stored set aside and reported in `warnings`.
    A name sent as we spell it is kept over one renamed to it."""
    if len(person) > MAX_TRAITS_PER_EVENT:
        return dict(person)  # refused whole by parse_traits, at `path`, before any is read
    traits: dict[str, object] = {}
    renamed: list[tuple[str, str, object]] = []  # (Segment name, ours, value), in order
    for name, value in person.items():
        if name in IDENTIFYING_TRAITS or value is None:
            continue
        where = f"{path}.{path_part(name)}"
        if name == USER_ID_TRAIT:
            if not (isinstance(value, str) and value == user_id):  # never == on a deep list
                warnings.append(FieldError(where, _ID_SET_ASIDE))
            continue
        if name == ADDRESS and isinstance(value, Mapping):
            traits[name] = _address(value, where, warnings)
            continue
        if name == COMPANY and isinstance(value, Mapping):
            warnings.append(FieldError(where, _COMPANY))
            continue
        keep, value = _storable(value, where, warnings)
        if not keep:
            continue
        ours = TRAIT_NAMES.get(name) or (snake_case(name) if isinstance(name, str) else None)
        if ours is None and isinstance(name, str) and text_problem(name) is None:
            warnings.append(FieldError(where, _BAD_NAME))
        elif ours is None or ours == name:
            traits[name] = value  # ours already, or a hostile name parse_traits refuses
        else:
            renamed.append((name, ours, value))
    for name, ours, value in renamed:
        where, value = f"{path}.{name}", _birthday(value) if ours == "date_of_birth" else value
        if ours in traits:
            kept = paths.get(f"traits.{ours}", f"{path}.{ours}")
            if traits[ours] != value:  # scalars: objects and lists were set aside
                warnings.append(FieldError(where, _SHADOWED.format(kept=kept)))
            continue
        traits[ours], paths[f"traits.{ours}"] = value, where
    room = len(traits) < MAX_TRAITS_PER_EVENT  # a split makes one trait two
    split = None if not room or any(name in traits for name in _SPLIT_NAME) else _split_name(
        traits.get(FULL_NAME))
    if split is not None:
        del traits[FULL_NAME]
        for ours, word in zip(_SPLIT_NAME, split, strict=True):
            traits[ours], paths[f"traits.{ours}"] = word, f"{path}.{FULL_NAME}"
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
    warnings: list[FieldError] = []
    if person is not None:
        event["traits"] = _traits(person, person_path, paths, warnings, raw.get("userId"))
        paths["traits"] = person_path

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

    _consent(context, event, paths, errors, warnings)
    event["identifiers"] = [{"kind": str(kind), "value": value} for kind, value, _ in found]
    for index, (_, _, path) in enumerate(found):
        for part in ("", ".kind", ".value"):  # a Segment field holds the value itself
            paths[f"identifiers[{index}]{part}"] = path
    paths["identifiers"] = found[0][2] if found else "userId"
    if not found:
        errors.append(FieldError("userId", _NO_IDENTIFIER))
    return SegmentEvent(event, paths, tuple(errors), tuple(warnings))


_PREFERENCES = "context.consent.categoryPreferences"


def _consent(context: Mapping[str, object], event: dict[str, object], paths: dict[str, str],
             errors: list[FieldError], warnings: list[FieldError]) -> None:
    """Segment's Consent Management preferences (`context.consent.categoryPreferences`,
    category: true or false) as our `consent`: a category named as one of our purposes
    (any case) or in consent.SEGMENT_CATEGORIES is read as it; any other is set aside with a
    warning. Two categories read as one purpose that disagree: the withdrawal is kept.
    Values go on as sent, for parse_consent to check at their Segment path."""
    consent = _object(context, "consent", "context.consent", errors) or {}
    preferences = _object(consent, "categoryPreferences", _PREFERENCES, errors)
    if not preferences:
        return
    ours: dict[str, object] = {}
    paths["consent"] = _PREFERENCES
    for category, granted in list(preferences.items())[:MAX_TRAITS_PER_EVENT]:
        where = f"{_PREFERENCES}.{path_part(category)}"
        purpose = segment_purpose(category)
        if purpose is None:
            warnings.append(FieldError(where, SET_ASIDE))
            continue
        if purpose in ours and ours[purpose] is not granted and isinstance(granted, bool):
            granted = granted and bool(ours[purpose])  # a withdrawal wins
        ours[purpose] = granted
        paths[f"consent.{purpose}"] = where
    if len(preferences) > MAX_TRAITS_PER_EVENT:
        errors.append(FieldError(_PREFERENCES, f"has more than {MAX_TRAITS_PER_EVENT} "
                                 "categories"))
    if ours:
        event["consent"] = ours


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
