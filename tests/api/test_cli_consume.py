"""`identity consume` refuses to start without what it needs, saying what is missing."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from identity.cli import main


@pytest.fixture(autouse=True)
def loggers_as_they_were() -> Iterator[None]:
    """`identity consume` configures logging for its process; a test's run must not leave
    the service's loggers unpropagated (later tests read them through caplog)."""
    kept = {name: (logging.getLogger(name).level, logging.getLogger(name).propagate,
                   list(logging.getLogger(name).handlers)) for name in ("identity", "aiokafka")}
    yield
    for name, (level, propagate, handlers) in kept.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.propagate = propagate
        logger.handlers[:] = handlers


def test_consume_without_a_broker_says_how_to_give_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("IDENTITY_KAFKA_BOOTSTRAP", raising=False)
    assert main(["consume", "--database", str(tmp_path / "g.db")]) == 2
    assert "--kafka-bootstrap HOST:PORT" in capsys.readouterr().err


def test_consume_with_an_unreachable_broker_fails_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["consume", "--kafka-bootstrap", "127.0.0.1:1", "--metrics-port", "0",
                 "--database", str(tmp_path / "g.db")]) == 2
    err = capsys.readouterr().err
    assert "Kafka at 127.0.0.1:1 refused or did not answer" in err
    assert "/metrics: off" in err


@pytest.mark.parametrize(("flag", "value", "said"), [
    ("--events-topic", "no spaces allowed", "IDENTITY_KAFKA_EVENTS_TOPIC"),
    ("--kafka-bootstrap", "nohostport", "IDENTITY_KAFKA_BOOTSTRAP must be host:port"),
    ("--batch", "0", "IDENTITY_KAFKA_BATCH must be at least 1"),
    ("--changes-topic", "identity.events", "three different topics"),
])
def test_consume_refuses_a_bad_setting_naming_it(
    flag: str, value: str, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["consume", "--kafka-bootstrap", "127.0.0.1:9092", "--database",
            str(tmp_path / "g.db"), flag, value]
    assert main(args) == 2
    assert said in capsys.readouterr().err


def test_kafka_clients_never_log_below_info_for_they_quote_the_messages() -> None:
    from identity.cli.serve import configure_logging

    configure_logging("trace")
    assert logging.getLogger("aiokafka").level == logging.INFO
    configure_logging("warning")
    assert logging.getLogger("aiokafka").level == logging.WARNING


@pytest.mark.parametrize(("host", "said"), [("no.such.host.invalid", "cannot listen on"),
                                            ("bad\x00host", "cannot listen on bad")])
def test_consume_says_when_its_metrics_cannot_listen(
    host: str, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["consume", "--kafka-bootstrap", "127.0.0.1:9", "--host", host,
                 "--metrics-port", "9", "--database", str(tmp_path / "g.db")]) == 2
    err = capsys.readouterr().err
    assert said in err and "\x00" not in err and "Traceback" not in err
