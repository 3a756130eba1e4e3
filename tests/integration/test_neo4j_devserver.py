"""The Neo4j devserver (devservers/neo4j.py): a real Neo4j 5 over Bolt, no Docker engine."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import neo4j
import pytest
from neo4j.exceptions import AuthError

from devservers.neo4j import Neo4jServer, running_neo4j

# No skip when Java or Maven is missing: the suite must fail loudly, in CI above all.
pytestmark = pytest.mark.neo4j


def driver_for(server: Neo4jServer, password: str | None = None) -> neo4j.Driver:
    return neo4j.GraphDatabase.driver(
        server.uri, auth=(server.user, server.password if password is None else password))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Neo4jServer]:
    data = tmp_path_factory.mktemp("neo4j-shared")
    with running_neo4j(data, password=secrets.token_urlsafe(16)) as running:
        yield running


def test_restart_on_the_same_directory_keeps_the_data(tmp_path: Path) -> None:
    data, password, key = tmp_path / "neo4j", secrets.token_urlsafe(16), secrets.token_hex(8)
    with running_neo4j(data, password=password) as first:
        assert first.uri.startswith("bolt://127.0.0.1:")
        with driver_for(first) as driver, driver.session() as session:
            session.run("CREATE (:DevserverProbe {key: $key})", key=key).consume()
    assert first.process.returncode in (0, 143)  # stopped by SIGTERM, cleanly

    with running_neo4j(data, password=password) as second, driver_for(second) as driver:
        with driver.session() as session:
            record = session.run("MATCH (p:DevserverProbe) RETURN collect(p.key) AS keys").single()
        assert record is not None
        assert record["keys"] == [key]


def test_only_the_given_password_is_accepted(server: Neo4jServer) -> None:
    for wrong in ("not-" + server.password, "neo4j"):  # "neo4j" is Neo4j's default password
        with driver_for(server, wrong) as driver, pytest.raises(AuthError):
            driver.verify_connectivity()
    with driver_for(server) as driver, driver.session() as session:
        assert session.run("RETURN 1 AS one").single(strict=True)["one"] == 1


def test_a_second_instance_on_the_same_directory_fails_fast(server: Neo4jServer) -> None:
    data = server.log_file.parent
    began = time.monotonic()
    with (pytest.raises(RuntimeError, match="exited with code 1"),
          running_neo4j(data, password=server.password, timeout_s=60)):
        pass
    assert time.monotonic() - began < 30
    assert server.process.poll() is None  # the first one still serves
    with driver_for(server) as driver:
        driver.verify_connectivity()
