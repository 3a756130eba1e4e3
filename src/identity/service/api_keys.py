"""API keys: issued once, kept as salted hashes, verified from a short-lived cache.

A key reads `idk_<key id>_<secret>`. The id finds the stored row; the secret is checked
against SHA-256(salt + secret) in constant time. The secret is 32 random bytes, so a fast
hash is enough: there is nothing to guess, only a database to leak, and a leaked row does not
give the key. Rows are cached for KEY_CACHE_S, so a revocation reaches every replica within
that time (docs/architecture.md, "Security and privacy").
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

from identity.domain.access import Principal, Scope, Unauthenticated
from identity.store import GraphStore
from identity.store.protocol import ApiKeyRow

PREFIX = "idk_"
KEY_CACHE_S = 2.0
MAX_CACHED_KEYS = 10_000
MAX_NAME = 100
MIN_RATE, MAX_RATE = 0.000_001, 1_000_000.0  # what IDENTITY_RATE_LIMIT takes, above 0
_KEY_ID = r"[a-z0-9]{12}"
_KEY = re.compile(rf"idk_({_KEY_ID})_([A-Za-z0-9_-]{{43}})")


@dataclass(frozen=True, slots=True)
class IssuedKey:
    row: ApiKeyRow
    secret: str  # the whole key, shown once


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode()).hexdigest()


def looks_like_key(token: str) -> bool:
    return token.startswith(PREFIX)


def principal_of(row: ApiKeyRow) -> Principal:
    return Principal(f"key:{row.key_id}", frozenset(Scope(s) for s in row.scopes
                                                    if s in Scope._value2member_map_),
                     "api_key", row.rate_per_s)


class ApiKeys:
    """Issues, lists, revokes and verifies the keys kept in `store`."""

    def __init__(self, store: GraphStore, *, cache_s: float = KEY_CACHE_S) -> None:
        self._store = store
        self._cache_s = cache_s
        self._cache: OrderedDict[str, tuple[float, ApiKeyRow | None]] = OrderedDict()

    async def issue(self, name: str, scopes: frozenset[Scope],
                    rate_per_s: float | None = None) -> IssuedKey:
        """Raises ValueError for an empty or overlong name, no scopes, or a rate not > 0."""
        name = name.strip()
        if not name or len(name) > MAX_NAME or not name.isprintable():
            raise ValueError(f"a key's name is 1 to {MAX_NAME} printable characters")
        if not scopes:
            raise ValueError(f"a key needs at least one scope: {', '.join(Scope)}")
        if rate_per_s is not None and not MIN_RATE <= rate_per_s <= MAX_RATE:
            # Not just above 0: at 5e-324 the wait for a token overflows to infinity.
            raise ValueError(f"a key's rate is requests per second, above 0: from {MIN_RATE:f} "
                             f"to {MAX_RATE:,.0f}")
        key_id = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789")
                         for _ in range(12))
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_hex(16)
        row = ApiKeyRow(key_id, name, tuple(sorted(scopes)), salt, _digest(salt, secret),
                        datetime.now(UTC), None, rate_per_s)
        async with self._store.transaction() as tx:
            await tx.keys.add_key(row)
        return IssuedKey(row, f"{PREFIX}{key_id}_{secret}")

    async def list(self) -> list[ApiKeyRow]:
        async with self._store.transaction(read_only=True) as tx:
            return await tx.keys.list_keys()

    async def revoke(self, key_id: str) -> bool:
        """False when no key has this id; one that cannot be an id (control characters, a
        lone surrogate from a non-UTF-8 argument) is not looked up."""
        if re.fullmatch(_KEY_ID, key_id) is None:
            return False
        async with self._store.transaction() as tx:
            revoked = await tx.keys.revoke_key(key_id, datetime.now(UTC))
        self._cache.pop(key_id, None)
        return revoked

    async def verify(self, token: str) -> tuple[Principal, ApiKeyRow]:
        """Raises Unauthenticated saying why, never quoting the token."""
        match = _KEY.fullmatch(token)
        if match is None:
            raise Unauthenticated("the API key is malformed (expected idk_<id>_<secret>)")
        key_id, secret = match.groups()
        row = await self._row(key_id)
        if row is None or not hmac.compare_digest(_digest(row.salt, secret), row.digest):
            raise Unauthenticated("the API key is not valid")
        if row.revoked_at is not None:
            raise Unauthenticated(f"the API key {key_id} is revoked")
        return principal_of(row), row

    async def _row(self, key_id: str) -> ApiKeyRow | None:
        now = time.monotonic()
        cached = self._cache.get(key_id)
        if cached is not None and now - cached[0] < self._cache_s:
            return cached[1]
        async with self._store.transaction(read_only=True) as tx:
            row = await tx.keys.read_key(key_id)
        self._cache[key_id] = (now, row)  # unknown ids too: guessing costs no store reads
        self._cache.move_to_end(key_id)
        while len(self._cache) > MAX_CACHED_KEYS:
            self._cache.popitem(last=False)
        return row
