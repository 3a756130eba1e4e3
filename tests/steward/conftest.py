"""A service over each store, with matching on and a clock that moves a second per reading,
so versions and audit entries of successive actions have distinct times."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.service import IdentityService
from identity.service.change_sinks import ListChangeSink
from identity.service.matching import Matcher
from identity.store.protocol import GraphStore

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def ticking_clock() -> Callable[[], datetime]:
    seconds = count()
    return lambda: START + timedelta(seconds=next(seconds))


@pytest.fixture
def sink() -> ListChangeSink:
    return ListChangeSink()


@pytest.fixture
def service(store: GraphStore, sink: ListChangeSink) -> IdentityService:
    return IdentityService(store, sink=sink, clock=ticking_clock(),
                           matcher=Matcher(DEFAULT_MODEL), profile_cache=0)
