"""Signed JWTs: the provider's keys from a JWKS, issuer, audience, expiry and scopes checked;
every way a token can be wrong is a 401 that says which, never quoting the token."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from identity.api.auth.tokens import TokenVerifier
from identity.config import Settings
from identity.domain.access import Scope, Unauthenticated
from tests.api.conftest import ServerThread
from tests.auth_fixtures import bearer

ISSUER = "https://login.northwind.org/"
AUDIENCE = "identity-graph"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def jwks(*keys: tuple[str, Any]) -> str:
    entries = []
    for kid, key in keys:
        algorithm = jwt.algorithms.RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) \
            else jwt.algorithms.ECAlgorithm
        entry = json.loads(algorithm.to_jwk(key.public_key()))
        entries.append({**entry, "kid": kid, "use": "sig"})
    return json.dumps({"keys": entries})


def token(key: Any = RSA_KEY, kid: str | None = "k1", algorithm: str = "RS256",
          **claims: Any) -> str:
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "steward-7", "exp": time.time() + 300,
            "scope": "profile:read openid", **claims}
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, key, algorithm=algorithm, headers={"kid": kid} if kid else None)


VERIFIER = TokenVerifier(ISSUER, AUDIENCE, jwks(("k1", RSA_KEY), ("k2", EC_KEY)))


def test_a_good_token_gives_its_subject_and_known_scopes() -> None:
    principal = VERIFIER.verify(token(scope="profile:read steward openid email"))
    assert principal.subject == "jwt:steward-7" and principal.via == "jwt"
    assert principal.scopes == {Scope.PROFILE_READ, Scope.STEWARD}
    listed = VERIFIER.verify(token(scope=None, scp=["ingest", "admin"]))
    assert listed.scopes == {Scope.INGEST, Scope.ADMIN}
    assert VERIFIER.verify(token(EC_KEY, "k2", "ES256")).scopes == {Scope.PROFILE_READ}


def test_subjects_are_never_cut_so_long_ones_stay_apart() -> None:
    first, second = ("x" * 200) + "alice", ("x" * 200) + "bob"
    assert VERIFIER.verify(token(sub=first)).subject == f"jwt:{first}"
    assert VERIFIER.verify(token(sub=first)) != VERIFIER.verify(token(sub=second))
    assert VERIFIER.verify(token(sub="ann\x1b[31m")).subject == "jwt:ann\\x1b[31m"


def _public_pem() -> bytes:
    return RSA_KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize(("bad", "reason"), [
    (lambda: token(exp=time.time() - 3600), "expired"),
    (lambda: token(aud="another-service"), "another audience"),
    (lambda: token(iss="https://evil.example.net/"), "another issuer"),
    (lambda: token(OTHER_KEY), "signature does not verify"),
    (lambda: token(kid="k9"), "kid"),
    (lambda: token(exp=None), "no exp claim"),
    (lambda: token(sub=None), "no sub claim"),
    (lambda: token(key=None, algorithm="none"), "signature does not verify"),
    # The RSA public key used as an HMAC secret: the key's own algorithm is the only one.
    (lambda: jwt.api_jws.PyJWS().encode(
        json.dumps({"iss": ISSUER, "aud": AUDIENCE, "sub": "x",
                    "exp": time.time() + 60}).encode(), b"k" * 32, algorithm="HS256",
        headers={"kid": "k1"}), "signature does not verify"),
    (lambda: "not.a.token", "neither an API key nor a JWT"),
    (lambda: token(sub="s" * 256), "longer than 255 characters"),
    (lambda: "a" * 20_000, "longer than"),
    # Reachable from a WebSocket's connection_init JSON, which carries any code point.
    (lambda: "eyJ\ud800.x.y", "neither an API key nor a JWT"),
    (lambda: "eyJé.x.y", "neither an API key nor a JWT"),
])
def test_every_bad_token_is_refused_saying_why(bad: Any, reason: str) -> None:
    text = bad()
    with pytest.raises(Unauthenticated) as refused:
        VERIFIER.verify(text)
    assert reason in str(refused.value)
    assert text not in str(refused.value)


def test_a_jwks_without_usable_keys_fails_at_start_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="IDENTITY_JWT_JWKS: the JWKS"):
        Settings(jwt_issuer=ISSUER, jwt_audience=AUDIENCE, jwt_jwks='{"keys": 3}')
    with pytest.raises(ValueError, match="IDENTITY_JWT_ISSUER and IDENTITY_JWT_AUDIENCE"):
        Settings(jwt_jwks=jwks(("k1", RSA_KEY)))
    with pytest.raises(ValueError, match=r"IDENTITY_JWT_JWKS_FILE .* cannot be read"):
        Settings(jwt_issuer=ISSUER, jwt_audience=AUDIENCE,
                 jwt_jwks_file=str(tmp_path / "missing.json"))
    with pytest.raises(ValueError, match=r"IDENTITY_JWT_JWKS_FILE .* cannot be read"):
        Settings(jwt_issuer=ISSUER, jwt_audience=AUDIENCE, jwt_jwks_file="jwks\x00.json")
    with pytest.raises(ValueError, match="IDENTITY_JWT_JWKS: the JWKS"):  # not RecursionError
        Settings(jwt_issuer=ISSUER, jwt_audience=AUDIENCE, jwt_jwks="[" * 100_000)
    assert "jwt_jwks=" not in repr(Settings(jwt_issuer=ISSUER, jwt_audience=AUDIENCE,
                                            jwt_jwks=jwks(("k1", RSA_KEY))))


@pytest.fixture
def jwt_server(tmp_path: Path) -> Iterator[str]:
    keys = tmp_path / "jwks.json"
    keys.write_text(jwks(("k1", RSA_KEY)))
    settings = Settings(database=str(tmp_path / "g.db"), model=str(tmp_path / "m.json"),
                        grpc_port=None, jwt_issuer=ISSUER, jwt_audience=AUDIENCE,
                        jwt_jwks_file=str(keys))
    with ServerThread(settings) as url:
        yield url


def test_the_server_takes_tokens_from_the_configured_provider(jwt_server: str) -> None:
    query = {"query": "{ profile(id: \"prf_0\") { id } }"}
    ok = httpx.post(f"{jwt_server}/graphql", json=query, headers=bearer(token()))
    assert ok.status_code == 200 and ok.json() == {"data": {"profile": None}}
    no_scope = httpx.post(f"{jwt_server}/graphql", json=query,
                          headers=bearer(token(scope="ingest")))
    assert no_scope.status_code == 403
    expired = httpx.post(f"{jwt_server}/graphql", json=query,
                         headers=bearer(token(exp=time.time() - 3600)))
    assert expired.status_code == 401
    assert expired.json()["errors"][0]["message"] == "the token has expired"


def test_a_remembered_token_is_refused_once_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = TokenVerifier(ISSUER, AUDIENCE, jwks(("k1", RSA_KEY)))
    now = time.time()
    short = token(exp=now + 60)
    assert verifier.verify(short).subject == "jwt:steward-7"
    assert verifier.verify(short).subject == "jwt:steward-7"  # remembered, not re-verified
    monkeypatch.setattr("identity.api.auth.tokens.time.time", lambda: now + 60 + 31)
    monkeypatch.setattr("jwt.api_jwt.datetime", _FrozenDatetime(now + 60 + 31))
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(short)


class _FrozenDatetime:
    """jwt.api_jwt's clock, moved to `at` (its exp check reads datetime.now)."""

    def __init__(self, at: float) -> None:
        self._at = at

    def now(self, tz: Any = None) -> Any:
        import datetime as real
        return real.datetime.fromtimestamp(self._at, tz=tz)

    def __getattr__(self, name: str) -> Any:
        import datetime as real
        return getattr(real.datetime, name)


def test_hostile_claims_give_a_principal_or_a_refusal_never_a_crash() -> None:
    far = VERIFIER.verify(token(exp=10**400))  # an int no float holds: accepted, not a crash
    assert far.subject == "jwt:steward-7"
    nested = VERIFIER.verify(token(scope=None, scp=[["admin"], {"admin": 1}, "steward"]))
    assert nested.scopes == {Scope.STEWARD}
    assert VERIFIER.verify(token(scope={"admin": 1})).scopes == frozenset()
