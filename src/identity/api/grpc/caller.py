"""The authenticated caller of the gRPC method being served.

The authentication interceptor (auth.py) sets it in the context the method runs in; grpc.aio
runs each call in a task of its own, so it never leaks from one call to another.
"""

from __future__ import annotations

from contextvars import ContextVar

from identity.domain.access import Principal

_CALLER: ContextVar[Principal] = ContextVar("identity_grpc_caller")


def caller() -> Principal:
    """Raises LookupError outside a call the interceptor admitted: a bug, never a default."""
    return _CALLER.get()


def set_caller(principal: Principal) -> None:
    _CALLER.set(principal)
