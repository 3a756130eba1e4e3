"""ASGI middleware in front of every HTTP route: the request body's bound, and one line of
metrics and access log per request that names its route, never its raw path or query string
(docs/architecture.md, "Hostile input")."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable

from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from identity.api.limits import DEFAULT_MAX_BODY_BYTES
from identity.domain.identifiers import printable

REQUEST_SECONDS = Histogram(
    "identity_http_request_seconds", "HTTP request latency by route", ["route", "method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)
UNMATCHED = "(unmatched)"  # every path no route serves: one label, however many are tried
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

access_log = logging.getLogger("identity.access")


class BodyLimit:
    """Reads at most `max_bytes` of a request body, then answers 413 without reading on: a
    100 MB body costs 1 MB of memory, and one declaring its size is refused before any of it
    is read. The app below sees the body it would have seen."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([body], receive), send)

    async def _refuse(self, send: Send) -> None:
        payload = json.dumps({"errors": [{"message": (
            f"the request body is larger than {self.max_bytes} bytes (the max_body_bytes "
            "setting); send fewer events per request")}]}).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": payload})


def _replay(messages: list[Message], receive: Receive) -> Receive:
    async def replayed() -> Message:
        return messages.pop(0) if messages else await receive()
    return replayed


class RequestLog:
    """Times every request under its route (`/graphql`, or UNMATCHED), and writes one access
    line per request: method, route, status, milliseconds. Never the path a client chose (ids
    and random paths would grow the metrics without bound) nor the query string (a GET
    query holds the emails it looks up). A path under one of `prefixes` (the console's
    assets, one file each) is counted under the prefix."""

    def __init__(self, app: ASGIApp, routes: Iterable[str], prefixes: Iterable[str] = ()
                 ) -> None:
        self.app = app
        self.routes = frozenset(routes)
        self.prefixes = tuple(prefixes)

    def route(self, path: str) -> str:
        if (trimmed := path.rstrip("/") or "/") in self.routes:
            return trimmed
        prefix = next((p for p in self.prefixes if path.startswith(p)), None)
        return prefix.rstrip("/") if prefix is not None else UNMATCHED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = self.route(scope["path"])
        method = scope["method"] if scope["method"] in _METHODS else "OTHER"  # a client's word
        status = 500  # unless a response starts

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, sent)
        finally:
            elapsed = time.perf_counter() - started
            REQUEST_SECONDS.labels(route, method).observe(elapsed)
            access_log.info("%s %s %d %.1f ms", method, route, status, elapsed * 1000)


class CallerTextInLogs(logging.Filter):
    """A library's log line that quotes a caller's text (strawberry names a refused WebSocket's
    Origin and Host headers) shows it escaped and cut, as every caller value that reaches a log
    (docs/architecture.md, "Hostile input")."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(printable(arg, 100) if isinstance(arg, str) else arg
                                for arg in record.args)
        return True
