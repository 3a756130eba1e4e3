"""Public profile ids: random, so no id is ever reused, even across stores restored from
backups (docs/architecture.md, invariant 2)."""

from __future__ import annotations

import uuid

from identity.domain.types import ProfileId


def new_profile_id() -> ProfileId:
    return ProfileId(f"prf_{uuid.uuid4().hex}")
