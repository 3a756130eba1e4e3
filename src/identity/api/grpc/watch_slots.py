"""At most so many WatchChanges and health Watch streams open at once; beyond, RESOURCE_EXHAUSTED.

The slots are those of identity.api.watch_slots: once the servicer shares them with its
service, GraphQL subscriptions over the same service draw on them too. A slot is taken when a
stream starts and given back when its call ends, for any reason (finished, failed, cancelled by
the client, past its deadline): grpc.aio runs the call's done callbacks when its task ends,
whatever becomes of the generator.
"""

from __future__ import annotations

from typing import Any

import grpc
from prometheus_client import Counter, Gauge

from identity.api import watch_slots

OPEN = Gauge("identity_grpc_watch_streams", "Open gRPC WatchChanges streams")
REFUSED = Counter("identity_grpc_watch_streams_refused_total",
                  "gRPC WatchChanges calls refused because the open-stream limit was reached")


class WatchSlots(watch_slots.WatchSlots):
    async def take(self, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        """Takes a slot until the call ends, or aborts the call with RESOURCE_EXHAUSTED."""
        if not self.try_take():
            REFUSED.inc()
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"at most {self.limit} watch streams (WatchChanges, health Watch) are open on "
                "this server; retry later")
        OPEN.inc()
        # The stubs type the callback as a class of their own; any callable of the context is.
        context.add_done_callback(self._give_back)  # type: ignore[arg-type]

    def _give_back(self, _context: object) -> None:
        self.give_back()
        OPEN.dec()
