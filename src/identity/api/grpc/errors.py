"""Errors to gRPC status codes, in one place (Google's API design guide, AIP-193).

Input the caller must fix is INVALID_ARGUMENT with a google.rpc.BadRequest naming each field;
an unknown resource is NOT_FOUND; a store that cannot answer is UNAVAILABLE (retry with
back-off); a lost race that survived the service's own retries is ABORTED (retry the call).
Anything else is a bug: it is logged here and the caller sees INTERNAL with a generic message,
never a traceback. Cancellation (a deadline, a client gone) is not an Exception, so it passes
through untouched and grpc.aio ends the call; so does a request message that does not decode
(decoding.py answers it, once the messages before it are answered).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import Any, NoReturn, TypeVar

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from identity.api.grpc.decoding import UndecodableRequest
from identity.domain.access import PermissionDenied
from identity.domain.errors import ActionRefused, FieldError, InvalidInput, ValidationError
from identity.domain.identifiers import printable
from identity.service import StoreConflict, StoreUnavailable

log = logging.getLogger("identity.grpc")

UNEXPECTED = "Unexpected error."
MAX_VIOLATIONS_LISTED = 10  # in the BadRequest details
MAX_VIOLATIONS_IN_MESSAGE = 3  # in the status message
# Where the service's words for a field differ from the request message's.
PROTO_FIELDS = {"after": "after_position"}

S = TypeVar("S")
Req = TypeVar("Req")
Resp = TypeVar("Resp")
Ctx = TypeVar("Ctx", bound="grpc.aio.ServicerContext[Any, Any]")


class NotFound(LookupError):
    """What the request names does not exist."""


def field_violations(exc: InvalidInput) -> list[FieldError]:
    """A ValidationError names its fields; any other input error is about the request."""
    errors = exc.errors if isinstance(exc, ValidationError) else [FieldError("", str(exc))]
    return [FieldError(_proto_field(e.field), e.reason) for e in errors]


_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def _proto_field(path: str) -> str:
    """The service names a field as GraphQL does (profileIds[0]); gRPC's is snake case."""
    head, dot, rest = path.partition(".")
    name, bracket, index = head.partition("[")
    name = PROTO_FIELDS.get(name, _CAMEL.sub(r"_\1", name).lower())
    return name + bracket + index + dot + rest


def to_status(exc: Exception) -> grpc.Status:
    if isinstance(exc, ActionRefused):
        return _status(code_pb2.FAILED_PRECONDITION, printable(str(exc), 2000))
    if isinstance(exc, InvalidInput):
        every = field_violations(exc)
        # Status and details travel as headers, which clients cap (16 KiB by default): a
        # request with 100 bad items gets the first ones, and how many more there are.
        listed = [FieldError(printable(v.field, 100), printable(v.reason, 240))
                  for v in every[:MAX_VIOLATIONS_LISTED]]
        details = error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.reason)
            for v in listed])
        message = "; ".join(str(v) if v.field else v.reason
                            for v in listed[:MAX_VIOLATIONS_IN_MESSAGE])
        if len(every) > MAX_VIOLATIONS_IN_MESSAGE:
            message += (f"; and {len(every) - MAX_VIOLATIONS_IN_MESSAGE} more "
                        f"({len(every)} in all; the details list the first {len(listed)})")
        return _status(code_pb2.INVALID_ARGUMENT, message, details)
    if isinstance(exc, NotFound):
        return _status(code_pb2.NOT_FOUND, str(exc))
    if isinstance(exc, PermissionDenied):
        return _status(code_pb2.PERMISSION_DENIED, str(exc))
    if isinstance(exc, StoreUnavailable):
        return _status(code_pb2.UNAVAILABLE, str(exc))
    if isinstance(exc, StoreConflict):
        return _status(code_pb2.ABORTED, f"{exc}; retry the call")
    return _status(code_pb2.INTERNAL, UNEXPECTED)


def _status(code: int, message: str, detail: Any = None) -> grpc.Status:
    status = status_pb2.Status(code=code, message=message)
    if detail is not None:
        packed = any_pb2.Any()
        packed.Pack(detail)
        status.details.append(packed)
    return rpc_status.to_status(status)


async def _abort(context: grpc.aio.ServicerContext[Any, Any], exc: Exception,
                 method: str) -> NoReturn:
    status = to_status(exc)
    if status.code is grpc.StatusCode.INTERNAL:
        log.error("gRPC %s failed", method, exc_info=exc)
    await context.abort(status.code, status.details, status.trailing_metadata)


def unary(method: Callable[[S, Req, Ctx], Awaitable[Resp]]
          ) -> Callable[[S, Req, Ctx], Awaitable[Resp]]:
    """For a method that returns one response."""

    @functools.wraps(method)
    async def handle(self: S, request: Req, context: Ctx) -> Resp:
        try:
            return await method(self, request, context)
        except grpc.aio.AbortError:
            raise  # the method aborted with its own status (a unary request is decoded first)
        except Exception as exc:
            await _abort(context, exc, method.__name__)

    return handle


def stream(method: Callable[[S, Req, Ctx], AsyncGenerator[Resp, None]]
           ) -> Callable[[S, Req, Ctx], AsyncGenerator[Resp, None]]:
    """For a method that streams its responses: what it sent before failing stays sent."""

    @functools.wraps(method)
    async def handle(self: S, request: Req, context: Ctx) -> AsyncGenerator[Resp, None]:
        try:
            # aclosing: a call cancelled while its response is being written still runs the
            # method's own clean-up (its finally blocks) at once, not whenever it is collected.
            async with aclosing(method(self, request, context)) as responses:
                async for response in responses:
                    yield response
        except (grpc.aio.AbortError, UndecodableRequest):
            raise
        except Exception as exc:
            await _abort(context, exc, method.__name__)

    return handle
