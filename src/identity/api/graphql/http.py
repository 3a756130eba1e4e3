"""Starlette routes: /graphql (with GraphiQL), /healthz, /readyz and /metrics."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from prometheus_client import CONTENT_TYPE_LATEST, Histogram, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.asgi import GraphQL

from identity.api.graphql.context import Context
from identity.api.graphql.schema import schema
from identity.api.json_body import read_json
from identity.service import IdentityService
from identity.store.protocol import StoreUnavailable

REQUEST_SECONDS = Histogram(
    "identity_http_request_seconds", "HTTP request latency by route", ["route", "method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)
ServiceProvider = Callable[[], IdentityService]


class TimingMiddleware:
    """Times every request by route prefix, never by raw path: ids would explode the labels."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = "/" + scope["path"].strip("/").split("/", 1)[0]
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            REQUEST_SECONDS.labels(route, scope["method"]).observe(time.perf_counter() - started)


class IdentityGraphQL(GraphQL[Context, None]):
    def __init__(self, service: ServiceProvider) -> None:
        super().__init__(schema, graphql_ide="graphiql")
        self._service = service

    async def get_context(self, request: object, response: object) -> Context:
        return Context(service=self._service())

    def decode_json(self, data: str | bytes) -> object:
        """A body that is not usable JSON (NaN, nested ten thousand deep) is strawberry's
        400 "Unable to parse request body as JSON", never a 500."""
        return read_json(data)


def create_app(
    service: ServiceProvider,
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]] | None = None,
) -> Starlette:
    """`service` is called per request, so the store can be opened in the lifespan."""

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            await service().check_ready()
        except StoreUnavailable as exc:
            return JSONResponse({"status": "unavailable", "reason": str(exc)}, status_code=503)
        return JSONResponse({"status": "ready"})

    async def metrics(request: Request) -> Response:
        return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    graphql = IdentityGraphQL(service)
    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            Route("/graphql", graphql),
        ],
        middleware=[Middleware(TimingMiddleware)],
        lifespan=lifespan,
    )
