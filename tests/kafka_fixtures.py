"""A real Kafka broker for the tests that need one, started once per session from
devservers/ (a new data directory each time), or the one IDENTITY_TEST_KAFKA names."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory,
                    pytestconfig: pytest.Config) -> Iterator[str]:
    if bootstrap := os.environ.get("IDENTITY_TEST_KAFKA"):
        yield bootstrap
        return
    from devservers.kafka import running_kafka

    with running_kafka(tmp_path_factory.mktemp("kafka")) as server:
        capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
        if capture is not None:  # shown even though output is captured: CI logs keep it
            with capture.global_and_fixture_disabled():
                print(f"\nKafka devserver ready in {server.startup_seconds:.1f}s at "
                      f"{server.bootstrap}")
        yield server.bootstrap
