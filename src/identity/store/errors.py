"""What a store raises that its callers handle: the service retries a conflict, and entry
points answer an unavailable store with 503 / UNAVAILABLE. Every adapter raises these, never
its driver's own exceptions."""

from __future__ import annotations

__all__ = ["StoreConflict", "StoreUnavailable"]


class StoreUnavailable(RuntimeError):
    """The database cannot be reached or used; entry points map it to 503 / UNAVAILABLE."""


class StoreConflict(RuntimeError):
    """A concurrent transaction won (a deadlock, a lost race on a unique key). Nothing was
    written; running the same work again is safe and is expected to succeed."""
