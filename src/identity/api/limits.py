"""Request limits every entry point enforces alike, so one API never accepts what another
refuses."""

from __future__ import annotations

import re
from collections.abc import Sequence

from identity.domain.errors import FieldError, ValidationError
from identity.domain.identifiers import printable

MAX_EVENTS_PER_REQUEST = 1000
DEFAULT_MAX_BODY_BYTES = 1_048_576  # an HTTP body larger is a 413 (Settings.max_body_bytes)
# gRPC messages (Settings.grpc_max_receive_bytes, grpc_max_send_bytes). A request is held to
# the HTTP body limit: protobuf is smaller than JSON, so what GraphQL takes fits. An answer
# may be as large as gRPC clients take by default (4 MiB): a larger one would fail there
# anyway, after the server had built and sent it; here it is RESOURCE_EXHAUSTED at once.
DEFAULT_GRPC_MAX_RECEIVE_BYTES = DEFAULT_MAX_BODY_BYTES
DEFAULT_GRPC_MAX_SEND_BYTES = 4 * 1_048_576
MAX_WATCH_STREAMS = 500  # open WatchChanges streams, unless told (Settings.max_watch_streams)
# A GraphQL document's cost (api/graphql/query_limits.py), unless told
# (Settings.graphql_max_cost): a page of 100 profiles with 50 fields each passes; 30 aliases
# of such a page do not.
DEFAULT_MAX_QUERY_COST = 5_000
# Identifiers across a request's events: what a request costs to resolve grows with them (an
# event may hold 50), so a request of 1,000 events of 50 each would hold the store for
# seconds. Typical events hold two to five.
MAX_IDENTIFIERS_PER_REQUEST = 5000

# Profile ids are the service's own (prf_ and hex); anything else cannot name a profile, and is
# refused before it is looked up, echoed or put in an error message whole.
_PROFILE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # whole: fullmatch, no trailing newline


def check_batch(events: int, identifiers: int) -> None:
    """Raises ValidationError at `events` when a request holds too many events or too many
    identifiers across them."""
    if events > MAX_EVENTS_PER_REQUEST:
        raise ValidationError.of(
            "events", f"at most {MAX_EVENTS_PER_REQUEST} per request, got {events}")
    if identifiers > MAX_IDENTIFIERS_PER_REQUEST:
        raise ValidationError.of(
            "events", f"at most {MAX_IDENTIFIERS_PER_REQUEST} identifiers across a request's "
            f"events, got {identifiers}; send fewer events per request")


def check_profile_ids(ids: Sequence[tuple[str, str]]) -> None:
    """Raises ValidationError naming each (field path, id) whose id cannot be a profile id.
    Callers bound how many ids a request holds before they check them."""
    bad = [FieldError(path, f"'{printable(value, 32)}' is not a profile id (at most 64 "
                      "letters, digits, '_' or '-')")
           for path, value in ids if not _PROFILE_ID.fullmatch(value)]
    if bad:
        raise ValidationError(bad)


def indexed(field: str, values: Sequence[str]) -> list[tuple[str, str]]:
    """(field[i], value) for each value: the paths of a list's items."""
    return [(f"{field}[{i}]", value) for i, value in enumerate(values)]
