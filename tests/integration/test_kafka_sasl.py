"""A broker that asks for a password, as managed Kafka does: the service's clients sign in
with the configured user, and a wrong password stops `identity consume` with the reason."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest

from devservers.kafka_client import produce
from identity.api.kafka.config import KafkaConfig
from identity.api.kafka.consumer import EventConsumer
from identity.api.kafka.topics import ensure_topics
from identity.cli import main
from identity.service import IdentityService
from identity.store.sqlite import SqliteGraphStore
from tests.builders import event, ident
from tests.kafka_fixtures import SaslAccess, committed, kafka_config

pytestmark = pytest.mark.kafka


def _signed_in(access: SaslAccess, password: str | None = None) -> KafkaConfig:
    plain = kafka_config(access.bootstrap)
    return KafkaConfig(access.bootstrap, plain.events_topic, plain.dead_letter_topic,
                       plain.changes_topic, plain.group, security_protocol="SASL_PLAINTEXT",
                       sasl_username=access.user, sasl_password=password or access.password)


async def test_the_consumer_signs_in_and_ingests(kafka_sasl: SaslAccess,
                                                 kafka_bootstrap: str) -> None:
    config = _signed_in(kafka_sasl)
    await ensure_topics(config)
    await produce(kafka_bootstrap, config.events_topic,
                  [(None, json.dumps(event(ident("email", "sasl@northwind.org"))).encode())],
                  partition=lambda index: 0)
    store = SqliteGraphStore(":memory:")
    try:
        service = IdentityService(store)
        stop = asyncio.Event()
        worker = asyncio.create_task(EventConsumer(service, config).run(stop))
        plain = replace(config, bootstrap=kafka_bootstrap, security_protocol="PLAINTEXT")
        async with asyncio.timeout(30):
            while True:  # the group's offset moves once the event is durable
                if (await committed(plain)).get(0) == 1:
                    break
                await asyncio.sleep(0.2)
        stop.set()
        await asyncio.wait_for(worker, 30)
        (found,) = await service.profiles_by_identifier(
            [service.normalize("email", "sasl@northwind.org")])
        assert found is not None
    finally:
        await store.close()


def test_a_wrong_password_stops_consume_with_the_reason(
    kafka_sasl: SaslAccess, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IDENTITY_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("IDENTITY_KAFKA_SASL_USERNAME", kafka_sasl.user)
    monkeypatch.setenv("IDENTITY_KAFKA_SASL_PASSWORD", "not-the-password")
    assert main(["consume", "--kafka-bootstrap", kafka_sasl.bootstrap, "--metrics-port", "0",
                 "--database", str(tmp_path / "g.db")]) == 2
    err = capsys.readouterr().err
    assert "refused or did not answer" in err and "not-the-password" not in err


def test_sasl_without_a_user_is_refused_before_any_connection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IDENTITY_KAFKA_SECURITY_PROTOCOL", "sasl_ssl")
    monkeypatch.delenv("IDENTITY_KAFKA_SASL_USERNAME", raising=False)
    assert main(["consume", "--kafka-bootstrap", "127.0.0.1:9", "--database",
                 str(tmp_path / "g.db")]) == 2
    assert "SASL_SSL needs IDENTITY_KAFKA_SASL_USERNAME" in capsys.readouterr().err
