"""Request messages that do not decode are INVALID_ARGUMENT, with a fixed text.

grpc.aio decodes a request before any of our code runs, and a message that does not parse
escapes as an exception of its own: UNKNOWN for a unary request, with the exception's class and
text in the status details and a traceback logged at ERROR for each such call; INTERNAL, through
errors.py, for a message in a request stream. grpc has no hook for a deserializer's failure, so
the interceptor here hands our methods the raw bytes (no deserializer) and decodes them itself
with the method's own deserializer: a unary request that does not decode is refused before the
method runs; in a request stream, the bad message ends the stream once the method has finished
with the messages before it (IngestStream acknowledges those first). The status text names the
message type, never the bytes or the parser's words, and nothing is logged above DEBUG.

A streamed response is written through the context rather than yielded to grpc, so a call that
ends while a response is being written (cancelled, past its deadline) still closes the method's
generator, and runs its clean-up, at once rather than when it is collected.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, NoReturn, TypeAlias

import grpc

log = logging.getLogger("identity.grpc")

if TYPE_CHECKING:  # generic only in the type stubs
    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]
    Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]


class UndecodableRequest(Exception):
    """A request message that is not a valid message of its type; its text is safe to send."""


def message_name(deserializer: Callable[[bytes], Any]) -> str:
    """The full protobuf name of what `deserializer` (a message class's FromString) reads."""
    owner = getattr(deserializer, "__self__", None)
    descriptor = getattr(owner, "DESCRIPTOR", None)
    return str(getattr(descriptor, "full_name", "request"))


class _Decoder:
    def __init__(self, deserializer: Callable[[bytes], Any]) -> None:
        self._deserializer = deserializer
        self.name = message_name(deserializer)

    def one(self, raw: bytes) -> Any:
        try:
            return self._deserializer(raw)
        except Exception:  # DecodeError, or whatever else the parser raises: not our business
            raise UndecodableRequest(f"the request is not a valid {self.name} message") from None

    async def each(self, raws: AsyncIterator[bytes]) -> AsyncIterator[Any]:
        index = 0
        async for raw in raws:
            try:
                message = self._deserializer(raw)
            except Exception:
                raise UndecodableRequest(
                    f"message {index} of the request stream (the first is 0) is not a valid "
                    f"{self.name} message") from None
            yield message
            index += 1


def _is_async_behavior(behavior: object) -> bool:
    return inspect.iscoroutinefunction(behavior) or inspect.isasyncgenfunction(behavior)


async def _refuse(context: Context, exc: UndecodableRequest, method: str) -> NoReturn:
    log.debug("gRPC %s: %s", method, exc)
    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))


async def respond(behavior: Callable[..., Any], request: Any, context: Context) -> None:
    """Runs a response-streaming `behavior`, writing what it yields (or letting it write)."""
    if inspect.isasyncgenfunction(behavior):
        async with aclosing(behavior(request, context)) as responses:
            async for response in responses:
                await context.write(response)
    else:
        await behavior(request, context)


def is_async(handler: Handler) -> bool:
    """grpc runs a handler that is not async on its thread pool: nothing here wraps one."""
    return any(map(_is_async_behavior, [handler.unary_unary, handler.unary_stream,
                                        handler.stream_unary, handler.stream_stream]))


def decoding(handler: Handler, method: str) -> Handler:
    """`handler` taking raw bytes and decoding them itself; unchanged if it has nothing to
    decode, or if its method is not async (grpc runs those on its thread pool)."""
    if handler.request_deserializer is None or not is_async(handler):
        return handler
    decoder = _Decoder(handler.request_deserializer)
    serializer = handler.response_serializer

    if not handler.request_streaming:
        behavior: Any = handler.unary_stream or handler.unary_unary

        async def unary_request(raw: bytes, context: Context) -> Any:
            try:
                request = decoder.one(raw)
            except UndecodableRequest as exc:
                await _refuse(context, exc, method)
            if handler.response_streaming:
                await respond(behavior, request, context)
                return None
            return await behavior(request, context)

        if handler.response_streaming:
            return grpc.unary_stream_rpc_method_handler(
                unary_request, response_serializer=serializer)
        return grpc.unary_unary_rpc_method_handler(unary_request, response_serializer=serializer)

    streaming: Any = handler.stream_stream or handler.stream_unary

    async def stream_request(raws: AsyncIterator[bytes], context: Context) -> Any:
        # The method gets the decoded stream; a bad message raises UndecodableRequest out of
        # its reading, and errors.py lets that through to here, after what came before it.
        try:
            if handler.response_streaming:
                await respond(streaming, decoder.each(raws), context)
                return None
            return await streaming(decoder.each(raws), context)
        except UndecodableRequest as exc:
            await _refuse(context, exc, method)

    if handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(
            stream_request, response_serializer=serializer)
    return grpc.stream_unary_rpc_method_handler(stream_request, response_serializer=serializer)


class WrappingInterceptor(grpc.aio.ServerInterceptor):
    """An interceptor that wraps a method's handler once, on its first call, and keeps the
    wrapper while grpc hands out the same handler. `wrap` returns None to leave a method
    as it is."""

    def __init__(self) -> None:
        self._wrapped: dict[str, tuple[Handler, Handler]] = {}

    def wrap(self, handler: Handler, method: str) -> Handler | None:
        raise NotImplementedError

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self.wrap(handler, method) or handler
        self._wrapped[method] = (handler, wrapped)
        return wrapped


class DecodeRequests(WrappingInterceptor):
    """Applies `decoding` to the methods of the services named."""

    def __init__(self, services: list[str]) -> None:
        super().__init__()
        self._prefixes = tuple(f"/{service}/" for service in services)

    def wrap(self, handler: Handler, method: str) -> Handler | None:
        return decoding(handler, method) if method.startswith(self._prefixes) else None
