"""Authentication and scopes for every gRPC method, in one interceptor.

The `authorization` metadata (`Bearer <API key or JWT>`) is authenticated before the method
runs, and the method's scope (METHOD_SCOPES) checked: UNAUTHENTICATED or PERMISSION_DENIED,
with a text that says why, and the method never runs. The caller is then set for the method
(caller.py). Health checking stays open, as load balancers probe it without credentials.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

import grpc

from identity.api.auth.authenticator import Authenticator, one_credential
from identity.api.auth.rate_limit import retry_after_header
from identity.api.grpc.caller import set_caller
from identity.api.grpc.decoding import WrappingInterceptor, is_async, respond
from identity.domain.access import (
    PermissionDenied,
    Principal,
    RateLimited,
    Scope,
    Unauthenticated,
)

if TYPE_CHECKING:
    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]
    Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]

_SERVICE = "/identity.v1.IdentityService/"
# The scope each method needs; a method of the service missing here is refused to everyone
# but admin, so a new method is closed until it is given its scope.
METHOD_SCOPES: dict[str, Scope] = {
    "Resolve": Scope.PROFILE_READ,  # MODE_CREATE also needs ingest: checked by the servicer
    "GetProfile": Scope.PROFILE_READ,
    "BatchGetProfiles": Scope.PROFILE_READ,
    "WatchChanges": Scope.PROFILE_READ,
    "Explain": Scope.PROFILE_READ,
    "IngestEvents": Scope.INGEST,
    "IngestStream": Scope.INGEST,
    "Merge": Scope.STEWARD,
    "Split": Scope.STEWARD,
    "Unlink": Scope.STEWARD,
    "Undo": Scope.STEWARD,
    "DecideReview": Scope.STEWARD,
    "SetConsent": Scope.STEWARD,
    "EraseProfile": Scope.ADMIN,
    "ExportProfile": Scope.ADMIN,
}


def required_scope(method: str) -> Scope | None:
    """None: open to every caller (health checking)."""
    if method.startswith("/grpc.health."):
        return None
    if method.startswith(_SERVICE):
        return METHOD_SCOPES.get(method.removeprefix(_SERVICE), Scope.ADMIN)
    return Scope.PROFILE_READ  # reflection: the schema, to whoever may read


def _authorization(context: Context) -> str | None:
    """Raises Unauthenticated for a call carrying several."""
    return one_credential([value if isinstance(value, str) else value.decode("latin-1")
                           for key, value in context.invocation_metadata() or ()
                           if key == "authorization"])


class AuthenticateCalls(WrappingInterceptor):
    def __init__(self, authenticator: Authenticator) -> None:
        super().__init__()
        self._authenticator = authenticator

    async def _admit(self, context: Context, method: str, scope: Scope) -> Principal:
        try:
            principal = await self._authenticator.authenticate(_authorization(context))
        except Unauthenticated as exc:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, str(exc))
        except RateLimited as exc:  # whole seconds, as HTTP's Retry-After
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc), trailing_metadata=(
                ("retry-after", retry_after_header(exc.retry_after_s)),))
        try:
            principal.require(scope, method.rsplit("/", 1)[-1])
        except PermissionDenied as denied:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, str(denied))
        set_caller(principal)
        return principal

    def _wrap(self, handler: Handler, method: str, scope: Scope) -> Handler:
        behavior: Any = (handler.unary_unary or handler.unary_stream or handler.stream_unary
                         or handler.stream_stream)

        async def body(request: Any, context: Context) -> Any:
            await self._admit(context, method, scope)
            if handler.response_streaming:  # written through the context (decoding.py)
                await respond(behavior, request, context)
                return None
            return await behavior(request, context)

        factory = {
            (False, False): grpc.unary_unary_rpc_method_handler,
            (False, True): grpc.unary_stream_rpc_method_handler,
            (True, False): grpc.stream_unary_rpc_method_handler,
            (True, True): grpc.stream_stream_rpc_method_handler,
        }[(handler.request_streaming, handler.response_streaming)]
        return factory(body, request_deserializer=handler.request_deserializer,
                       response_serializer=handler.response_serializer)

    def wrap(self, handler: Handler, method: str) -> Handler | None:
        scope = required_scope(method)
        if scope is None or not is_async(handler):
            return None
        return self._wrap(handler, method, scope)
