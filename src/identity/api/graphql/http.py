"""Starlette routes: /graphql (with GraphiQL), /healthz, /readyz and /metrics."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from cross_web import HTTPException  # what strawberry's views turn into a plain HTTP error
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

from identity.api.graphql.context import Context
from identity.api.graphql.middleware import BodyLimit, RequestLog
from identity.api.graphql.schema import schema
from identity.api.limits import DEFAULT_MAX_BODY_BYTES
from identity.domain.json_text import UnusableJson, read_json
from identity.service import IdentityService, StoreUnavailable

ServiceProvider = Callable[[], IdentityService]


class IdentityGraphQL(GraphQL[Context, None]):
    def __init__(self, service: ServiceProvider) -> None:
        # No subscriptions in the schema yet: no WebSocket either, so no message of any
        # size arrives beside the body limit.
        super().__init__(schema, graphql_ide="graphiql", subscription_protocols=())
        self._service = service

    async def get_context(self, request: object, response: object) -> Context:
        return Context(service=self._service())

    def decode_json(self, data: str | bytes) -> object:
        return read_json(data)

    def parse_json(self, data: str | bytes) -> object:
        """A body (or GET variables) that is not usable JSON (NaN, nested ten thousand deep)
        is a 400 that says why, never a 500; the reason quotes none of the caller's text."""
        try:
            value = self.decode_json(data)
        except json.JSONDecodeError as exc:
            raise HTTPException(400, f"Unable to parse request body as JSON: {exc.msg}"
                                f"{'' if isinstance(exc, UnusableJson) else f' at {exc.pos}'}"
                                ) from None
        if not isinstance(value, dict | list):  # a list is a batch: strawberry refuses it
            raise HTTPException(400, "Unable to parse request body as JSON: it must be an "
                                f"object such as {{\"query\": ...}}, not a {_json_type(value)}")
        return value


def _json_type(value: object) -> str:
    return {str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


def create_app(
    service: ServiceProvider,
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]] | None = None,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
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
    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        Route("/graphql", graphql),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(RequestLog, routes=[r.path for r in routes]),
                    Middleware(BodyLimit, max_bytes=max_body_bytes)],
        lifespan=lifespan,
    )
