"""Composition root: builds the store, the service and the ASGI app; start-up and shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from starlette.applications import Starlette

from identity.api.auth.authenticator import DEV_MODE_WARNING, Authenticator
from identity.api.graphql.http import create_app
from identity.api.graphql.query_limits import GraphQLLimits
from identity.api.grpc.server import GrpcServer, address, start_server
from identity.api.kafka.config import KafkaConfig
from identity.api.kafka.runner import run_kafka
from identity.config import Settings
from identity.service import IdentityService
from identity.store import GraphStore, open_store

log = logging.getLogger("identity")


async def build_service(settings: Settings) -> IdentityService:
    """Raises StoreUnavailable with the reason when the store cannot be opened, and
    ValueError when the match model file is not a model or the rules file not rules."""
    matcher = settings.matcher()
    rules = settings.identity_rules()
    return IdentityService(
        await open_store(settings.store_config()),
        rules=settings.normalization_rules(rules),
        graph_rules=rules.graph,
        survivorship=settings.survivorship_rules(),
        matcher=matcher,
        profile_cache=settings.profile_cache,
        cache_staleness=timedelta(milliseconds=settings.cache_staleness_ms),
        strict_ingest=settings.strict_ingest,
        max_clock_skew=timedelta(seconds=settings.max_clock_skew_s),
        erasure_key=settings.erasure_secret(),
    )


@asynccontextmanager
async def opened_store(settings: Settings) -> AsyncIterator[GraphStore]:
    """The configured store, closed on exit: for commands that work on it without a service
    (identity train). Raises StoreUnavailable when it cannot be opened."""
    store = await open_store(settings.store_config())
    try:
        yield store
    finally:
        await store.close()


async def check_store(settings: Settings) -> None:
    """Opens and closes the store, so a bad setting fails before the server starts."""
    service = await build_service(settings)
    await service.store.close()


async def _kafka_part(service: IdentityService, config: KafkaConfig, stop: asyncio.Event,
                      consume: bool) -> None:
    """The consumer and the change relay inside `identity serve`, kept running by the runner
    (a broker away is waited for; `identity_kafka_up` says which part runs): the APIs never
    wait for Kafka, the events wait on the topic and the changes in the log."""
    try:
        await run_kafka(service, config, stop, consume=consume)
    except Exception:  # a bug: said, and the APIs go on
        log.exception("Kafka stopped: no events consumed, no changes relayed until restart")


def build_authenticator(settings: Settings,
                        service: Callable[[], IdentityService]) -> Authenticator:
    """API keys from the store, JWTs when a JWKS is configured; nothing checked in
    development mode, which says so at start (docs/architecture.md, "Security and
    privacy")."""
    if settings.dev_mode:
        log.warning(DEV_MODE_WARNING)
        return Authenticator(development=True, limiter=settings.rate_limiter())
    jwt = settings.jwt_settings()
    return Authenticator(keys=lambda: service().api_keys,
                         tokens=jwt.verifier() if jwt else None,
                         limiter=settings.rate_limiter())


def build_app(settings: Settings, *, console_static: Path | None = None) -> Starlette:
    """The store opens in the lifespan, on the server's own event loop, and the gRPC server
    starts there too, over the same service; `app.state.grpc_port` is its bound port (None
    when gRPC is off). On shutdown gRPC drains before the store closes. `console_static`: the
    console's build, when not the package's own (tests)."""
    holder: list[IdentityService] = []
    authenticator = build_authenticator(settings, lambda: holder[0])

    def service() -> IdentityService:
        return holder[0]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        built = await build_service(settings)
        holder.append(built)
        built.pii_reads.start()  # audits reads of personal data (service/pii_audit.py)
        grpc_server: GrpcServer | None = None
        kafka_stop = asyncio.Event()
        kafka: asyncio.Task[None] | None = None
        try:
            if (kafka_config := settings.kafka_config()) is not None:
                kafka = asyncio.create_task(
                    _kafka_part(built, kafka_config, kafka_stop, settings.kafka_consume),
                    name="kafka")
            if settings.grpc_port is not None:
                grpc_server = await start_server(
                    built, address(settings.host, settings.grpc_port),
                    max_watch_streams=settings.max_watch_streams, authenticator=authenticator,
                    tls=settings.tls(), max_receive_bytes=settings.grpc_max_receive_bytes,
                    max_send_bytes=settings.grpc_max_send_bytes,
                    reflection_on=settings.graphql_introspection)
                log.info("gRPC on %s", address(settings.host, grpc_server.port))
            app.state.grpc_port = grpc_server.port if grpc_server else None
            log.info("identity graph ready: %s store", settings.store)
            if (keys := built.rules.pii_keys) is not None:  # versions only, never a key
                log.info("emails and phones kept as keyed hashes: key %d hashes new values, "
                         "lookups use key %d, %d key(s) listed", keys.current.version,
                         keys.oldest.version, len(keys.keys))
            yield
        finally:
            kafka_stop.set()
            if kafka is not None:  # the batch in hand commits before the store closes
                await kafka
            if grpc_server is not None:
                await grpc_server.stop()
            await built.pii_reads.close()  # the reads audited last, written before it closes
            await built.store.close()

    return create_app(service, lifespan, max_body_bytes=settings.max_body_bytes,
                      max_watch_streams=settings.max_watch_streams,
                      authenticator=authenticator,
                      graphql_limits=GraphQLLimits(settings.graphql_max_cost,
                                                   settings.graphql_introspection),
                      console_static=console_static)
