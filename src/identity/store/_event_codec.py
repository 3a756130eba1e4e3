"""How traits, orders, match records and changes are written as plain values, in every store."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import lru_cache

from identity.domain.events import Order
from identity.domain.types import ProfileId

Traits = tuple[tuple[str, str], ...]


def encode_traits(traits: Traits) -> str | None:
    return json.dumps(dict(traits)) if traits else None


@lru_cache(maxsize=65_536)
def decode_traits(text: str | None) -> Traits:
    """Cached: a match record is read back each time a newer record shares one of its
    blocks, and the same text always decodes to the same (immutable) tuple."""
    return tuple(sorted(json.loads(text).items())) if text else ()


def encoded_needle(text: str) -> str:
    """`text` lowercased as encode_traits writes it (non-ASCII as JSON escapes), to find in
    stored traits or record fields lowercased."""
    return json.dumps(text.lower())[1:-1]


def encode_keys(keys: tuple[str, ...]) -> str:
    return json.dumps(list(keys))


@lru_cache(maxsize=65_536)
def decode_keys(text: str) -> tuple[str, ...]:
    return tuple(json.loads(text))


def encode_amount(order: Order | None) -> str | None:
    """A string, never a float: amounts stay exact to the cent. An order of unknown value is
    the empty string, so it still counts as an order."""
    if order is None:
        return None
    return "" if order.amount is None else str(order.amount)


def decode_order(amount: str | None, currency: str | None) -> Order | None:
    if amount is None:
        return None
    return Order(Decimal(amount) if amount else None, currency or None)


def encode_ids(ids: tuple[str, ...]) -> str | None:
    return json.dumps(list(ids)) if ids else None


def decode_ids(text: str | None) -> tuple[ProfileId, ...]:
    return tuple(ProfileId(i) for i in json.loads(text)) if text else ()
