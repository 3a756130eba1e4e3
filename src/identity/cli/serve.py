"""`identity serve`: the GraphQL and gRPC APIs over one store, until stopped."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from identity.api.auth.authenticator import DEV_MODE_WARNING
from identity.api.console.routes import CONSOLE_PAGE, STATIC
from identity.api.grpc.server import address
from identity.api.tls import TlsFiles, expired
from identity.app import build_app, check_store
from identity.cli.arguments import EXIT_OK, settings_of
from identity.config import Settings


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = settings_of(args)
    asyncio.run(check_store(settings))  # fail here, with the reason, not mid-start-up
    where = settings.database if settings.store == "sqlite" else settings.neo4j_uri
    matching = ("off" if not settings.matching else f"model {settings.model}"
                if Path(settings.model).exists() else
                f"the built-in model ({settings.model} not found: identity train writes it)")
    rules = (settings.rules if Path(settings.rules).exists() else
             f"the built-in rules ({settings.rules} not found: identity rules writes one)")
    tls = settings.tls()
    grpc = ("off" if settings.grpc_port is None else
            address(settings.host, settings.grpc_port) if settings.grpc_port else "a free port")
    if settings.grpc_port is not None:
        grpc += (" (plaintext)" if tls is None else " (mutual TLS: client certificates from "
                 f"{tls.client_ca_file})" if tls.mutual else " (TLS)")
    kafka = settings.kafka_config()
    consuming = f"consuming {kafka.events_topic} and " if kafka and settings.kafka_consume else ""
    streams = (f"{consuming}relaying changes to {kafka.changes_topic} at {kafka.bootstrap}"
               if kafka else "off")
    base = f"{'http' if tls is None else 'https'}://{settings.host}:{settings.port}"
    print(f"identity graph: {settings.store} store at {where}; matching: {matching}; "
          f"rules: {rules}; {'GraphiQL' if settings.graphql_introspection else 'GraphQL'} at "
          f"{base}/graphql; {console_line(base)}; "
          f"gRPC: {grpc}; Kafka: {streams}{tls_line(tls)}", file=sys.stderr)
    print(f"authentication: {auth_line(settings)}", file=sys.stderr)
    print(f"limits: {limits_line(settings)}", file=sys.stderr)
    configure_logging(settings.log_level)
    # access_log off: uvicorn's line holds the query string (a GET query's emails); the
    # app writes its own, by route (identity.access). ws_max_size: a WebSocket message is
    # held to the body limit, refused before it is read whole (docs/architecture.md,
    # "Hostile input").
    uvicorn.run(build_app(settings), host=settings.host, port=settings.port,
                log_level=settings.log_level, access_log=False,
                ws_max_size=settings.max_body_bytes,
                **(tls.uvicorn_options() if tls is not None else {}))
    return EXIT_OK


def console_line(base: str, static: Path = STATIC) -> str:
    """Where the steward console is, or that it is not built: an installed package without
    the build serves a page saying so, and the operator should hear it at start too."""
    if (static / CONSOLE_PAGE).is_file():
        return f"console at {base}/console/"
    return "console: not built (make console, or npm ci && npm run build in console/)"


def limits_line(settings: Settings) -> str:
    """The abuse limits in force (docs/architecture.md, "Security and privacy")."""
    limiter = settings.rate_limiter()
    rate = ("none (development mode; IDENTITY_RATE_LIMIT sets one)" if limiter is None else
            "only keys with a rate of their own" if limiter.rate_per_s == 0 else
            f"{limiter.rate_per_s:g} requests/s per key (bursts of {limiter.burst}) unless "
            "the key has its own")
    introspection = ("on (GraphiQL, gRPC reflection)" if settings.graphql_introspection else
                     "off (no GraphiQL, no gRPC reflection)")
    return (f"rate {rate}; a GraphQL query costs at most {settings.graphql_max_cost:,}; "
            f"introspection {introspection}")


def auth_line(settings: Settings) -> str:
    if settings.dev_mode:
        return f"OFF. {DEV_MODE_WARNING}"
    jwt = settings.jwt_settings()
    tokens = f" and JWTs from {jwt.issuer} for {jwt.audience}" if jwt else ""
    return f"API keys (identity keys create){tokens}"


def tls_line(tls: TlsFiles | None) -> str:
    """The banner's word on TLS: which certificate, until when; loud when it has expired
    (every client would refuse it)."""
    if tls is None:
        return ""
    until = tls.expires.strftime("%Y-%m-%d %H:%M UTC")
    if expired(tls):
        return (f"; TLS: WARNING: the certificate in {tls.cert_file} EXPIRED on {until}: "
                "clients will refuse every connection")
    return f"; TLS: certificate {tls.cert_file}, valid until {until}"


def configure_logging(level: str) -> None:
    """The service's own loggers (identity.*) to stderr at the level asked for, beside
    uvicorn's."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)-9s %(name)s: %(message)s"))
    logger = logging.getLogger("identity")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if level.lower() == "trace" else level.upper())
    logger.propagate = False
    # aiokafka's DEBUG lines quote the messages it sends: never below INFO, whatever is asked.
    logging.getLogger("aiokafka").setLevel(max(logging.INFO, logger.level))
    # websockets, under uvicorn's logger, quotes at DEBUG every frame (queries, variables) and
    # the upgrade's headers (an API key in Authorization): never written.
    uvicorn_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, WebSocketFrames) for f in uvicorn_log.filters):
        uvicorn_log.addFilter(WebSocketFrames())


class WebSocketFrames(logging.Filter):
    """Drops the DEBUG lines the websockets library writes (frames and handshake headers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG or _WEBSOCKETS not in record.pathname


_WEBSOCKETS = f"{os.sep}websockets{os.sep}"


