"""Starlette routes: /graphql (with GraphiQL, and its WebSocket for subscriptions), /healthz,
/readyz, /metrics, and the steward console's pages (api/console/)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from pathlib import Path
from typing import cast

from cross_web import (
    AsyncHTTPRequestAdapter,
    HTTPException,  # what strawberry's views turn into a plain HTTP error
)
from graphql import GraphQLError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from starlette.websockets import WebSocketDisconnected as SentAfterClose
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http import GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from identity.api.auth.authenticator import DEV_MODE_WARNING, Authenticator
from identity.api.auth.rate_limit import retry_after_header
from identity.api.console.routes import (
    ASSETS_PREFIX,
    GRAPHIQL_PAGE,
    STATIC,
    console_routes,
    page,
)
from identity.api.graphql.authentication import NOBODY, PRINCIPAL_KEY, Authenticate
from identity.api.graphql.middleware import BodyLimit, CallerTextInLogs, RequestLog
from identity.api.graphql.query_limits import DEFAULT_LIMITS, GraphQLLimits
from identity.api.graphql.schema import schema
from identity.api.graphql.subscriptions import WatchContext
from identity.api.limits import DEFAULT_MAX_BODY_BYTES, MAX_WATCH_STREAMS
from identity.api.watch_slots import WatchSlots
from identity.domain.access import PermissionDenied, Principal, RateLimited, Unauthenticated
from identity.domain.json_text import UnusableJson, read_json
from identity.service import IdentityService, StoreUnavailable

ServiceProvider = Callable[[], IdentityService]
# A client that opens the WebSocket has this long to send connection_init, or it is closed
# (4408): a socket nobody uses is not kept.
CONNECTION_INIT_TIMEOUT = timedelta(seconds=10)
# How often an open WebSocket's credential is verified again: a key revoked (or a token
# expired) closes it within this, plus the key cache's 2 s (service/api_keys.py).
CREDENTIAL_RECHECK_S = 5.0


ACKNOWLEDGED = cast(UnsetType, UNSET)  # connection_ack without a payload


class TransportWS(BaseGraphQLTransportWSHandler[WatchContext, None]):
    """strawberry's, but an operation that answers after the socket closed is the client gone,
    not a bug: a client that breaks the protocol while its subscribe is being refused is
    closed (4400) before the refusal is sent, starlette then raises WebSocketDisconnected,
    which strawberry does not expect, and a traceback reached the log."""

    async def handle_task_exception(self, error: Exception) -> None:
        if not isinstance(error, SentAfterClose):
            await super().handle_task_exception(error)

    _rechecking: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged and self._rechecking is None:
            self._rechecking = asyncio.create_task(self._recheck_credential())

    async def shutdown(self) -> None:
        if self._rechecking is not None:
            self._rechecking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._rechecking
        await super().shutdown()

    async def _recheck_credential(self) -> None:
        """A socket lives as long as its client wants: a key revoked while it is open must
        not keep reading. Its credential is verified again every few seconds, and before each
        operation (handle_subscribe); one refused closes the socket (4403), ending its
        subscriptions."""
        while True:
            await asyncio.sleep(CREDENTIAL_RECHECK_S)
            if not await self._still_valid():
                return

    async def _still_valid(self) -> bool:
        if not isinstance(self.view, IdentityGraphQL):
            return True
        try:
            principal = await self.view.verify(self.context.credential)
        except Unauthenticated as exc:
            with contextlib.suppress(SentAfterClose, RuntimeError):
                await self.websocket.close(code=4403, reason=_close_reason(
                    f"the credential no longer holds: {exc}"))
            return False
        if principal != self.context.principal:  # its scopes changed: what it may see too
            self.context.act_as(principal)
        return True

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        """Each operation sent on the socket is a request: its credential must still hold,
        and it takes a token from its caller's rate (rate_limit.py), or gets an `error`
        saying when to try again, and the socket stays open."""
        if self.connection_acknowledged and isinstance(self.view, IdentityGraphQL):
            if not await self._still_valid():
                return
            try:
                self.view.admit(self.context.principal)
            except RateLimited as exc:
                refusal = GraphQLError(str(exc), extensions={
                    "code": "RATE_LIMITED",
                    "retryAfter": int(retry_after_header(exc.retry_after_s))})
                await self.send_message(
                    {"id": message["id"], "type": "error", "payload": [refusal.formatted]})
                return
        await super().handle_subscribe(message)


class IdentityGraphQL(GraphQL[WatchContext, None]):
    graphql_transport_ws_handler_class = TransportWS

    def __init__(self, service: ServiceProvider, *, authenticator: Authenticator,
                 max_watch_streams: int = MAX_WATCH_STREAMS,
                 connection_init_timeout: timedelta = CONNECTION_INIT_TIMEOUT,
                 limits: GraphQLLimits = DEFAULT_LIMITS, console_static: Path = STATIC
                 ) -> None:
        # Subscriptions over one protocol, graphql-transport-ws, the one the bounds are
        # built and tested for (graphql-ws is deprecated; the HTTP streaming transports stay
        # off). A WebSocket message passes beside BodyLimit: WebSocketLimits bounds it, and
        # an open subscription takes a watch slot (docs/architecture.md, "Hostile input").
        # GraphiQL reads the schema by introspection: with it off, there is no GraphiQL.
        super().__init__(schema, graphql_ide="graphiql" if limits.introspection else None,
                         subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
                         connection_init_wait_timeout=connection_init_timeout)
        self._service = service
        self._watches = WatchSlots(max_watch_streams)
        self._limits = limits
        self._authenticator = authenticator
        self._console_static = console_static

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL as the console builds it (console/graphiql.html), its scripts served from
        /console/assets/: strawberry's page loads React and GraphiQL from a CDN, which a
        server without internet, or a browser that trusts only this origin, cannot use."""
        return page(self._console_static, GRAPHIQL_PAGE, "GraphiQL")

    def admit(self, principal: Principal) -> None:
        """An operation on an open WebSocket: one more request (TransportWS)."""
        self._authenticator.admit(principal)

    async def verify(self, credential: str | None) -> Principal:
        """An open WebSocket's credential, verified again (TransportWS)."""
        return await self._authenticator.verify(credential)

    async def on_ws_connect(self, context: WatchContext) -> UnsetType | dict[str, object] | None:
        """A WebSocket opened without an Authorization header authenticates in its
        connection_init payload ({"Authorization": "Bearer ..."}); one that fails is closed
        with 4403 before any subscription starts (authentication.py)."""
        if context.principal is not NOBODY:
            return ACKNOWLEDGED
        params = context.connection_params or {}
        credential = params.get("Authorization", params.get("authorization"))
        context.credential = credential if isinstance(credential, str) else None
        try:
            context.act_as(await self._authenticator.authenticate(context.credential))
        except (Unauthenticated, RateLimited):
            raise ConnectionRejectionError from None
        return ACKNOWLEDGED

    async def get_context(self, request: Request | WebSocket, response: object
                          ) -> WatchContext:
        service = self._service()
        self._watches.share(service)  # subscriptions count where gRPC's watch streams do
        return WatchContext(service=service, watches=self._watches,
                            principal=request.scope[PRINCIPAL_KEY], limits=self._limits,
                            credential=request.headers.get("authorization"))

    async def execute_single(self, request: Request, request_adapter: AsyncHTTPRequestAdapter,
                             sub_response: Response, context: WatchContext, root_value: None,
                             request_data: GraphQLRequestData) -> ExecutionResult:
        """strawberry's own, but a subscription sent over HTTP is a 400 that says where it is
        served: strawberry runs it as a query, whose field is then null and logged as a bug."""
        # Answers hold a caller's data: no cache on the way (a proxy, the browser's) keeps one.
        sub_response.headers["Cache-Control"] = "no-store"
        allowed = OperationType.from_http(request_adapter.method) - {OperationType.SUBSCRIPTION}
        try:
            result = await self.schema.execute(
                request_data.query, root_value=root_value, variable_values=request_data.variables,
                context_value=context, operation_name=request_data.operation_name,
                allowed_operation_types=allowed, operation_extensions=request_data.extensions)
        except InvalidOperationTypeError as exc:
            if exc.operation_type is OperationType.SUBSCRIPTION:
                raise HTTPException(400, "subscriptions are served on the WebSocket of /graphql "
                                    "(protocol graphql-transport-ws), not over HTTP") from None
            raise HTTPException(400, exc.as_http_error_reason(request_adapter.method)) from None
        except CannotGetOperationTypeError as exc:
            raise HTTPException(400, exc.as_http_error_reason()) from None
        except MissingQueryError:
            raise HTTPException(400, "No GraphQL query found in the request") from None
        if any(isinstance(e.original_error, PermissionDenied) for e in result.errors or ()):
            sub_response.status_code = 403  # a scope the caller lacks (permissions.py)
        return result

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


class WebSocketLimits:
    """A WebSocket message (a subscribe, or a mutation sent over the socket) is held to the
    body limit: one larger closes the connection with 1009 (message too big) and the app sees
    the client leave, its subscriptions ended. `identity serve` also sets uvicorn's
    ws_max_size, which refuses such a frame before reading it whole; this bound holds
    whatever server runs the app. And a close reason is cut to the 123 bytes a close frame
    holds: strawberry closes with a syntax error's text, which quotes the query, and a longer
    one failed the operation with a traceback and dropped the connection unclosed."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        closed = False

        async def bounded_receive() -> Message:
            nonlocal closed
            message = await receive()
            if message["type"] == "websocket.receive" and self._too_big(message):
                closed = True
                await send({"type": "websocket.close", "code": 1009, "reason": (
                    f"a message is at most {self.max_bytes} bytes (max_body_bytes)")})
                return {"type": "websocket.disconnect", "code": 1009}
            return message

        async def bounded_send(message: Message) -> None:
            if closed:  # the app's last words after the close go nowhere
                return
            if message["type"] == "websocket.close" and message.get("reason"):
                message = {**message, "reason": _close_reason(message["reason"])}
            await send(message)

        await self.app(scope, bounded_receive, bounded_send)

    def _too_big(self, message: Message) -> bool:
        text: str | None = message.get("text")
        if text is not None:  # UTF-8 on the wire: at least a byte a character
            return len(text) > self.max_bytes or len(text.encode()) > self.max_bytes
        data: bytes | None = message.get("bytes")
        return data is not None and len(data) > self.max_bytes


MAX_CLOSE_REASON_BYTES = 123  # RFC 6455, 5.5: a control frame's payload, less the code


def _close_reason(reason: str) -> str:
    encoded = reason.encode()
    if len(encoded) <= MAX_CLOSE_REASON_BYTES:
        return reason
    return encoded[:MAX_CLOSE_REASON_BYTES - 3].decode(errors="ignore") + "..."


def create_app(
    service: ServiceProvider,
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]] | None = None,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_watch_streams: int = MAX_WATCH_STREAMS,
    connection_init_timeout: timedelta = CONNECTION_INIT_TIMEOUT,
    authenticator: Authenticator,
    graphql_limits: GraphQLLimits = DEFAULT_LIMITS,
    console_static: Path | None = None,
) -> Starlette:
    """`service` is called per request, so the store can be opened in the lifespan. At most
    `max_watch_streams` subscriptions are open at once, counted with the gRPC watch streams
    over the same service. `console_static` holds the console's build (the package's static/
    unless given: tests give their own); its pages are open, only /graphql is authenticated."""
    static = STATIC if console_static is None else console_static

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            await service().check_ready()
        except StoreUnavailable as exc:
            return JSONResponse({"status": "unavailable", "reason": str(exc)}, status_code=503)
        body = {"status": "ready", "profile_cache": await service().cache_status()}
        if authenticator.development:
            body["warning"] = DEV_MODE_WARNING
        return JSONResponse(body)

    async def metrics(request: Request) -> Response:
        return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    graphql = IdentityGraphQL(service, max_watch_streams=max_watch_streams,
                              connection_init_timeout=connection_init_timeout,
                              limits=graphql_limits, authenticator=authenticator,
                              console_static=static)
    websocket_log = logging.getLogger("strawberry.ws")
    if not any(isinstance(f, CallerTextInLogs) for f in websocket_log.filters):
        websocket_log.addFilter(CallerTextInLogs())
    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        Route("/graphql", graphql),
        WebSocketRoute("/graphql", graphql),  # subscriptions
        *console_routes(static),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(RequestLog, routes=[r.path for r in routes
                                                   if isinstance(r, Route | WebSocketRoute)],
                               prefixes=[ASSETS_PREFIX]),
                    Middleware(BodyLimit, max_bytes=max_body_bytes),
                    Middleware(WebSocketLimits, max_bytes=max_body_bytes),
                    Middleware(Authenticate, authenticator=authenticator)],
        lifespan=lifespan,
    )
