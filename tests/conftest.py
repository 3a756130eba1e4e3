from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from identity.service import IdentityService
from identity.service.changes import ListChangeSink
from identity.store.sqlite import SqliteGraphStore


@pytest.fixture(autouse=True)
def no_saved_model(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
                   ) -> None:
    """A model trained in the working copy (data/model.json) must not change what tests see:
    the service scores with the built-in model unless a test says otherwise."""
    monkeypatch.setenv("IDENTITY_MODEL", str(tmp_path_factory.mktemp("model") / "model.json"))


@pytest.fixture
def sink() -> ListChangeSink:
    return ListChangeSink()


@pytest.fixture
async def service(sink: ListChangeSink) -> AsyncIterator[IdentityService]:
    store = SqliteGraphStore(":memory:")
    yield IdentityService(store, sink=sink)
    await store.close()


pytest_plugins = ["tests.neo4j_fixtures"]
