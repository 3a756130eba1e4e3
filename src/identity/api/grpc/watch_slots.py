"""At most so many WatchChanges streams open at once on one server; beyond, RESOURCE_EXHAUSTED.

Each open stream reads the change log on every commit and every poll interval, so their number
bounds what watching costs the server. A slot is taken when a stream starts and given back when
its call ends, for any reason (finished, failed, cancelled by the client, past its deadline):
grpc.aio runs the call's done callbacks when its task ends, whatever becomes of the generator.
"""

from __future__ import annotations

from typing import Any

import grpc
from prometheus_client import Counter, Gauge

OPEN = Gauge("identity_grpc_watch_streams", "Open gRPC WatchChanges streams")
REFUSED = Counter("identity_grpc_watch_streams_refused_total",
                  "gRPC WatchChanges calls refused because the open-stream limit was reached")


class WatchSlots:
    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"max_watch_streams must be at least 1, got {limit}")
        self.limit = limit
        self.open = 0

    async def take(self, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        """Takes a slot until the call ends, or aborts the call with RESOURCE_EXHAUSTED."""
        if self.open >= self.limit:
            REFUSED.inc()
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"at most {self.limit} watch streams (WatchChanges, health Watch) are open on "
                "this server; retry later")
        self.open += 1
        OPEN.inc()
        # The stubs type the callback as a class of their own; any callable of the context is.
        context.add_done_callback(self._give_back)  # type: ignore[arg-type]

    def _give_back(self, _context: object) -> None:
        self.open -= 1
        OPEN.dec()
