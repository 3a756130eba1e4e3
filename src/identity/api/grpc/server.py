"""The grpc.aio server: the identity service, standard health checking and reflection.

It runs on the event loop of whoever starts it (`identity serve` starts it in the ASGI
lifespan, beside GraphQL, over the same IdentityService). Health follows the store the way
/readyz does: SERVING while the store answers, NOT_SERVING while it does not, and NOT_SERVING
from the moment a drain begins, so load balancers stop sending before the port closes.
A request that does not decode is INVALID_ARGUMENT (decoding.py), and at most
`max_watch_streams` long-lived streams (WatchChanges, health Watch) are open at once
(watch_slots.py).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from identity.api.auth.authenticator import Authenticator
from identity.api.grpc.auth import AuthenticateCalls
from identity.api.grpc.decoding import DecodeRequests
from identity.api.grpc.servicer import IdentityServicer
from identity.api.grpc.watch_slots import WatchSlots
from identity.api.limits import (
    DEFAULT_GRPC_MAX_RECEIVE_BYTES,
    DEFAULT_GRPC_MAX_SEND_BYTES,
    MAX_WATCH_STREAMS,
)
from identity.api.tls import TlsFiles
from identity.service import IdentityService, StoreUnavailable
from identity.v1 import identity_pb2, identity_pb2_grpc

log = logging.getLogger("identity.grpc")

SERVICE_NAME = identity_pb2.DESCRIPTOR.services_by_name["IdentityService"].full_name
GRACE_S = 5.0  # on shutdown, in-flight calls get this long to finish before they are cancelled
READINESS_INTERVAL_S = 2.0
# Calls that have arrived but that grpc.aio has not yet taken up (it takes them one at a time,
# on the event loop) wait in grpc-core, which drops new ones at random once more than the soft
# limit wait, and every one past the hard limit, as CANCELLED before any of our code runs. With
# its defaults (1,000 and 3,000) a burst of 2,000 WatchChanges calls lost 130 to 180 of them
# that way, whatever max_watch_streams; with these, a burst of up to 5,000 reaches the servicer,
# which refuses those past max_watch_streams with RESOURCE_EXHAUSTED. (Measured: a burst of
# 5,000 took the server from 89 to 174 MB resident; to 143 MB with grpc's defaults, which
# dropped 1,937 of them.)
PENDING_CALLS = 5_000
PENDING_CALLS_HARD_LIMIT = 10_000
SERVED = [SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME]
_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@dataclass
class GrpcServer:
    server: grpc.aio.Server
    port: int  # the bound port: the one asked for, or the one the OS picked for port 0
    health: health.aio.HealthServicer
    readiness: asyncio.Task[None]

    async def stop(self, grace_s: float = GRACE_S) -> None:
        """Drains: health says NOT_SERVING, new calls are refused, and calls in flight get
        `grace_s` seconds to finish before they are cancelled."""
        await self.health.enter_graceful_shutdown()
        self.readiness.cancel()
        await asyncio.wait([self.readiness])
        await self.server.stop(grace_s)


class BoundedHealth(health.aio.HealthServicer):
    """Health checking whose Watch streams take the same slots as WatchChanges: 2,000 of
    them stayed open while WatchChanges was bounded."""

    def __init__(self, slots: WatchSlots) -> None:
        super().__init__()
        self._slots = slots

    async def Watch(self, request: health_pb2.HealthCheckRequest,
                    context: grpc.aio.ServicerContext[Any, Any]) -> None:
        await self._slots.take(context)
        await super().Watch(request, context)


async def _follow_readiness(service: IdentityService, health_servicer: health.aio.HealthServicer,
                            interval_s: float) -> None:
    was_ready: bool | None = None
    while True:
        try:
            await service.check_ready()
            ready = True
        except StoreUnavailable as exc:
            ready = False
            if was_ready is not False:
                log.warning("gRPC health NOT_SERVING: %s", exc)
        if ready != was_ready:
            for name in ("", SERVICE_NAME):  # "" is the whole server, by the protocol
                await health_servicer.set(name, _SERVING if ready else _NOT_SERVING)
            was_ready = ready
        await asyncio.sleep(interval_s)


def server_credentials(tls: TlsFiles) -> grpc.ServerCredentials:
    """TLS only on the port; with a client CA a client must present a certificate it
    issued, or the handshake fails (docs/architecture.md, "TLS")."""
    return grpc.ssl_server_credentials(
        [(tls.private_key, tls.certificate_chain)], root_certificates=tls.client_ca,
        require_client_auth=tls.mutual)


def address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def start_server(service: IdentityService, bind: str, *, authenticator: Authenticator,
                       readiness_interval_s: float = READINESS_INTERVAL_S,
                       max_watch_streams: int = MAX_WATCH_STREAMS,
                       tls: TlsFiles | None = None,
                       max_receive_bytes: int = DEFAULT_GRPC_MAX_RECEIVE_BYTES,
                       max_send_bytes: int = DEFAULT_GRPC_MAX_SEND_BYTES,
                       reflection_on: bool = True) -> GrpcServer:
    """Binds `bind` (host:port; port 0 picks a free one) and starts serving, with at most
    `max_watch_streams` WatchChanges streams open at once. With `tls` the port speaks TLS
    only (mutual when it holds a client CA); a larger message than `max_receive_bytes` in,
    or `max_send_bytes` out, fails its call with RESOURCE_EXHAUSTED. Reflection follows
    GraphQL introspection's switch (`reflection_on`). Raises OSError when the address
    cannot be bound."""
    served = SERVED if reflection_on else [n for n in SERVED if n != reflection.SERVICE_NAME]
    server = grpc.aio.server(
        # The first is outermost: a call is authenticated before its request is decoded.
        interceptors=[AuthenticateCalls(authenticator), DecodeRequests(served)],
        options=[
            # Without so_reuseport=0 a second server could bind the port and share its calls.
            ("grpc.so_reuseport", 0),
            ("grpc.server.max_pending_requests", PENDING_CALLS),
            ("grpc.server.max_pending_requests_hard_limit", PENDING_CALLS_HARD_LIMIT),
            # grpc-core refuses a larger message before any of our code reads it
            # (docs/architecture.md, "Hostile input").
            ("grpc.max_receive_message_length", max_receive_bytes),
            ("grpc.max_send_message_length", max_send_bytes),
        ])
    slots = WatchSlots(max_watch_streams)  # every stream that stays open draws on them
    identity_pb2_grpc.add_IdentityServiceServicer_to_server(
        IdentityServicer(service, watch_slots=slots), server)
    health_servicer = BoundedHealth(slots)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if reflection_on:
        reflection.enable_server_reflection(served, server)
    try:
        port = (server.add_insecure_port(bind) if tls is None else
                server.add_secure_port(bind, server_credentials(tls)))
    except RuntimeError as exc:
        raise OSError(f"gRPC cannot listen on {bind}: {exc}") from exc
    await server.start()
    readiness = asyncio.create_task(
        _follow_readiness(service, health_servicer, readiness_interval_s),
        name="grpc-health-readiness")
    return GrpcServer(server, port, health_servicer, readiness)
