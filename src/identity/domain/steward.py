"""What a steward's decision carries: who, why, which audited action, and for a merge over the
limits what it was allowed (docs/architecture.md, "Steward operations"). Pure: no I/O.

A steward's link (`manual`, `never_link`, `unlinked`) keeps its note as its evidence's details,
so `explain` shows who made a link and why as it shows a scored link's comparison.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from identity.domain.errors import FieldError, ValidationError
from identity.domain.identifiers import printable, text_problem

MAX_ACTOR_LENGTH = 200
MAX_REASON_LENGTH = 2000


@dataclass(frozen=True, slots=True)
class StewardNote:
    actor: str
    reason: str
    action_id: str
    allowed: tuple[tuple[str, int], ...] = ()  # a merge over the limits: counts it may hold

    def to_json(self) -> str:
        return json.dumps({"actor": self.actor, "reason": self.reason,
                           "action": self.action_id, "allowed": dict(self.allowed)},
                          sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> StewardNote | None:
        """None for details that are not a steward's (a scored comparison)."""
        if not text:
            return None
        try:
            found = json.loads(text)
        except ValueError:
            return None
        if not isinstance(found, Mapping) or "action" not in found:
            return None
        allowed = found.get("allowed") or {}
        return cls(str(found.get("actor", "")), str(found.get("reason", "")),
                   str(found["action"]),
                   tuple(sorted((str(k), int(v)) for k, v in allowed.items())))


def check_note(actor: str, reason: str) -> tuple[str, str]:
    """Both trimmed; every problem at once. An audit line must say who and why, in text a
    log or a console can show as it is."""
    errors: list[FieldError] = []
    actor, reason = actor.strip(), reason.strip()
    for field, value, limit in (("actor", actor, MAX_ACTOR_LENGTH),
                                ("reason", reason, MAX_REASON_LENGTH)):
        if not value:
            errors.append(FieldError(field, "is required: the audit log says who and why"))
        elif len(value) > limit:
            errors.append(FieldError(field, f"at most {limit} characters, got {len(value)}"))
        elif (problem := text_problem(value)) is not None:
            errors.append(FieldError(field, f"'{printable(value, 32)}' {problem}"))
    if errors:
        raise ValidationError(errors)
    return actor, reason
