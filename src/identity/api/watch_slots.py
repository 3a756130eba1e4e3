"""At most so many watches open at once on one service, whichever entry point serves them: gRPC
WatchChanges and health Watch streams, GraphQL profileChanges subscriptions
(docs/architecture.md, "Hostile input").

Each open watch of the change feed reads the change log on every commit and every poll
interval, so their number bounds what watching costs the server. The count is the service's:
every entry point over one IdentityService draws on it, each refusing beyond its own limit (the
composition root gives them all `max_watch_streams`), so watchers cannot get twice the bound by
opening half on each API. An entry point takes a slot when a watch starts and gives it back
when the watch ends, for any reason.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from identity.service import IdentityService


class _Count:
    def __init__(self) -> None:
        self.open = 0


# Weak: a service that is gone takes its count with it (tests build hundreds of services).
_COUNTS: WeakKeyDictionary[IdentityService, _Count] = WeakKeyDictionary()


def _count_of(service: IdentityService) -> _Count:
    count = _COUNTS.get(service)
    if count is None:
        count = _COUNTS[service] = _Count()
    return count


class WatchSlots:
    """`limit` watches at most; counted on their own until `share` puts them on a service's
    count."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"max_watch_streams must be at least 1, got {limit}")
        self.limit = limit
        self._count = _Count()

    @property
    def open(self) -> int:
        """Watches open on the count these slots draw on, from every entry point sharing it."""
        return self._count.open

    def share(self, service: IdentityService) -> None:
        """Counts on `service`'s count from now on (again for the same service: nothing). Done
        before serving: slots taken on the old count could not be given back to it."""
        count = _count_of(service)
        if count is self._count:
            return
        if self._count.open:
            raise RuntimeError("watch slots are shared before any watch is open on them")
        self._count = count

    def try_take(self) -> bool:
        """Takes a slot, or says that all `limit` are taken. The caller gives it back once."""
        if self._count.open >= self.limit:
            return False
        self._count.open += 1
        return True

    def give_back(self) -> None:
        self._count.open -= 1
