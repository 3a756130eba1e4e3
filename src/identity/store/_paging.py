"""How both adapters start a page: shared, so the two stores page the same way."""

from __future__ import annotations

from typing import Literal

from identity.store.protocol import AuditFilter, ReviewCursor


def review_page_start(after: ReviewCursor | None, min_score: float, max_score: float
                      ) -> ReviewCursor | None:
    """Where a page of the review queue starts: after the cursor, or at the top of the score
    range (every pair's keys are above ("", "")); None when the cursor is below the range."""
    start = after if after is not None and after[0] <= max_score else (max_score, "", "")
    return start if start[0] >= min_score else None


def audit_index(where: AuditFilter) -> Literal["profile", "actor", "action", "time"]:
    """The index a page of the audit log walks: the most selective filter given leads; the
    others are checked on the rows read."""
    if where.profile_id is not None:
        return "profile"
    if where.actor is not None:
        return "actor"
    if where.action is not None:
        return "action"
    return "time"
