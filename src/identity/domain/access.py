"""Who is calling and what they may do (docs/architecture.md, "Security and privacy"). Pure.

A caller is a Principal: an API key or a signed token's subject, with the scopes it was
given. `admin` holds every scope; the others are independent, so a steward key without
`profile:read_pii` acts on profiles whose personal data it only sees masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Scope(StrEnum):
    PROFILE_READ = "profile:read"  # profiles, identifiers, explanations, changes: PII masked
    PROFILE_READ_PII = "profile:read_pii"  # the same, personal data in the clear (audited)
    INGEST = "ingest"  # events in, over any API
    STEWARD = "steward"  # merge, split, unlink, undo, review decisions, the audit log
    ADMIN = "admin"  # everything, and erasure, export, keys


ALL_SCOPES = frozenset(Scope)


def parse_scopes(text: str | list[str] | tuple[str, ...]) -> frozenset[Scope]:
    """Scopes from a space- or comma-separated text (a JWT `scope` claim, a CLI flag) or a
    list (a `scp` claim). Raises ValueError naming the first unknown one."""
    parts = text.replace(",", " ").split() if isinstance(text, str) else list(text)
    scopes: set[Scope] = set()
    for part in parts:
        if not isinstance(part, str) or part not in Scope._value2member_map_:
            shown = repr(part)[:40]
            raise ValueError(f"{shown} is not a scope: one of {', '.join(Scope)}")
        scopes.add(Scope(part))
    return frozenset(scopes)


@dataclass(frozen=True, slots=True)
class Principal:
    """`subject` names the caller in audit entries: `key:<id>` for an API key, the token's
    `sub` for a JWT, `development` when authentication is off."""

    subject: str
    scopes: frozenset[Scope]
    via: str  # api_key, jwt, development
    rate_per_s: float | None = None  # this caller's own request rate; None: the default

    def allows(self, scope: Scope) -> bool:
        return scope in self.scopes or Scope.ADMIN in self.scopes

    def require(self, scope: Scope, what: str) -> str:
        """This caller's subject (for the audit log); PermissionDenied naming `what` and the
        scope when it lacks it: the one refusal every entry point makes."""
        if not self.allows(scope):
            raise PermissionDenied(scope, what)
        return self.subject

    @property
    def sees_pii(self) -> bool:
        return self.allows(Scope.PROFILE_READ_PII)


def acting(principal: Principal, given: str) -> str:
    """The actor an audit entry records: the authenticated caller, followed by the name it
    gives (a person at a console that holds one key); the name alone in development mode,
    where nobody is authenticated."""
    if principal.via == "development" or given == principal.subject:
        return given
    return f"{principal.subject} for {given}" if given else principal.subject


# Every request when the service runs with authentication off (`identity serve --dev`).
DEVELOPMENT = Principal("development", ALL_SCOPES, "development")


class Unauthenticated(Exception):
    """No credentials, or ones that do not verify: 401 / UNAUTHENTICATED. The text says which
    and never quotes the credential."""


class PermissionDenied(Exception):
    """Authenticated, without the scope asked for: 403 / PERMISSION_DENIED."""

    def __init__(self, scope: Scope, what: str) -> None:
        super().__init__(f"{what} needs the {scope} scope")
        self.scope = scope


class RateLimited(Exception):
    """Over the caller's request rate: 429 with Retry-After / RESOURCE_EXHAUSTED."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"too many requests for this key: try again in {retry_after_s:.1f} s")
        self.retry_after_s = retry_after_s
