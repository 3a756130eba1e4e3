"""Signed JWTs from an identity provider: signature, issuer, audience, expiry, then scopes.

The keys come from a JWKS document (a file, or the text itself in the environment); each
key's own algorithm is the only one accepted for it, so a token cannot pick `none` or sign
with HS256 using a public key as the secret. Scopes are read from `scope` (space-separated,
RFC 8693) or `scp` (a list); scopes this service does not know are ignored, as a provider
issues tokens for many audiences. The subject becomes `jwt:<sub>` in audit entries.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import jwt

from identity.domain.access import Principal, Scope, Unauthenticated
from identity.domain.identifiers import printable

LEEWAY_S = 30  # clock skew allowed on exp, nbf and iat
MAX_TOKEN_CHARS = 16_384
MAX_SUBJECT_CHARS = 255
MAX_REMEMBERED = 10_000  # verified tokens kept until they expire
_FAR_FUTURE = 2**53  # an exp beyond any float (10**400 passes PyJWT) is remembered this long
_NOT_A_JWT = "the bearer token is neither an API key nor a JWT"
_ALGORITHMS = {"RSA": "RS256", "EC": "ES256", "OKP": "EdDSA", "oct": "HS256"}


@dataclass(frozen=True, slots=True)
class JwtSettings:
    issuer: str
    audience: str
    jwks: str  # the JWKS document's text

    def verifier(self) -> TokenVerifier:
        return TokenVerifier(self.issuer, self.audience, self.jwks)


class TokenVerifier:
    def __init__(self, issuer: str, audience: str, jwks_text: str) -> None:
        """Raises ValueError when the JWKS is not a key set this service can use."""
        try:
            document = json.loads(jwks_text)
            key_set = jwt.PyJWKSet.from_dict(document)
        except (ValueError, jwt.PyJWTError, TypeError, AttributeError,
                RecursionError) as exc:  # a JWKS nested too deep
            raise ValueError(f"the JWKS is not a usable key set: {type(exc).__name__}"
                             ) from None
        self._issuer = issuer
        self._audience = audience
        self._verified: OrderedDict[bytes, tuple[Principal, float]] = OrderedDict()
        self._keys: dict[str | None, tuple[Any, str]] = {}
        for key in key_set.keys:
            algorithm = key.algorithm_name if key.algorithm_name in _ALGORITHMS.values() \
                else _ALGORITHMS.get(key.key_type or "", "")
            if algorithm:
                self._keys[key.key_id] = (key.key, algorithm)
        if not self._keys:
            raise ValueError("the JWKS holds no RSA, EC, OKP or oct key")

    def verify(self, token: str) -> Principal:
        """Raises Unauthenticated saying what failed, never quoting the token. A token that
        verified is remembered (by its SHA-256, at most MAX_REMEMBERED) until its expiry: an
        RSA signature check costs about a quarter of a millisecond, and clients send the
        same token until it expires."""
        if len(token) > MAX_TOKEN_CHARS:
            raise Unauthenticated(f"the token is longer than {MAX_TOKEN_CHARS} characters")
        if not token.isascii():  # a JWT is base64url; this also refuses lone surrogates
            raise Unauthenticated(_NOT_A_JWT)
        digest = hashlib.sha256(token.encode()).digest()
        remembered = self._verified.get(digest)
        if remembered is not None:
            principal, expires = remembered
            if time.time() < expires:
                self._verified.move_to_end(digest)
                return principal
            del self._verified[digest]
        principal, expires = self._verify(token)
        self._verified[digest] = (principal, expires)
        if len(self._verified) > MAX_REMEMBERED:
            self._verified.popitem(last=False)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated(_NOT_A_JWT) from None
        kid = header.get("kid")
        found = self._keys.get(kid) if isinstance(kid, str) else None
        if found is None and len(self._keys) == 1 and kid is None:
            found = next(iter(self._keys.values()))
        if found is None:
            raise Unauthenticated("the token's signing key (kid) is not in the JWKS")
        key, algorithm = found
        try:
            claims = jwt.decode(token, key, algorithms=[algorithm], audience=self._audience,
                                issuer=self._issuer, leeway=LEEWAY_S,
                                options={"require": ["exp", "iss", "aud", "sub"]})
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("the token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("the token is from another issuer") from None
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthenticated(f"the token has no {exc.claim} claim") from None
        except jwt.PyJWTError:
            raise Unauthenticated("the token's signature does not verify") from None
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise Unauthenticated("the token's sub claim is not a string")
        if len(subject) > MAX_SUBJECT_CHARS:  # never cut: two subjects would be one caller
            raise Unauthenticated(f"the token's sub claim is longer than {MAX_SUBJECT_CHARS} "
                                  "characters")
        # Escaped whole (control characters as \x..), so the audit log and the rate limiter
        # tell every subject apart.
        return (Principal(f"jwt:{printable(subject, len(subject))}", _scopes(claims), "jwt"),
                float(min(claims["exp"], _FAR_FUTURE)) + LEEWAY_S)


def _scopes(claims: dict[str, Any]) -> frozenset[Scope]:
    raw = claims.get("scope", claims.get("scp", ""))
    parts = raw.split() if isinstance(raw, str) else raw if isinstance(raw, list) else []
    return frozenset(Scope(p) for p in parts
                     if isinstance(p, str) and p in Scope._value2member_map_)
