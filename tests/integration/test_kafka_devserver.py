"""The Kafka devserver: a broker a client can use at once, whose committed offsets hold."""

from __future__ import annotations

import asyncio
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from devservers.kafka import running_kafka
from devservers.kafka_client import create_topic

pytestmark = pytest.mark.kafka


async def test_messages_go_round_and_a_committed_offset_is_where_the_group_resumes(
    kafka_bootstrap: str,
) -> None:
    topic = f"devserver-{secrets.token_hex(4)}"
    await create_topic(kafka_bootstrap, topic, 2)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all",
                                enable_idempotence=True)
    try:
        await producer.start()
        for n in range(10):
            await producer.send_and_wait(topic, f"m{n}".encode(), key=b"same-key")
    finally:
        await producer.stop()

    async def read(count: int) -> list[bytes]:
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=kafka_bootstrap, group_id=topic,
                                    enable_auto_commit=False, auto_offset_reset="earliest")
        try:
            await consumer.start()
            taken: list[bytes] = []
            while len(taken) < count:
                batch = await consumer.getmany(timeout_ms=5000, max_records=count - len(taken))
                assert batch, "no messages within 5 s"
                for messages in batch.values():
                    taken += [m.value for m in messages if m.value is not None]
            await consumer.commit()
            return taken
        finally:
            await consumer.stop()

    assert await read(4) == [b"m0", b"m1", b"m2", b"m3"]  # one key: one partition, in order
    assert await read(6) == [f"m{n}".encode() for n in range(4, 10)]  # resumed at the commit


def test_the_devserver_stops_cleanly_and_reports_a_broken_start(tmp_path: Path) -> None:
    with running_kafka(tmp_path / "kafka") as server:
        assert server.bootstrap.startswith("127.0.0.1:")
    assert server.process.returncode in (0, 143, -signal.SIGTERM)
    (tmp_path / "kafka" / "logs" / "meta.properties").write_text("not a kafka metadata file")
    with pytest.raises(RuntimeError, match="exited with code"), \
            running_kafka(tmp_path / "kafka", timeout_s=60):
        pass


def test_a_cluster_id_beginning_with_a_dash_is_not_read_as_an_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # base64url of a first byte 0xF8 begins with "-": one id in 64 did, at random.
    monkeypatch.setattr("devservers.kafka.secrets.token_bytes",
                        lambda n: b"\xf8" + bytes(n - 1))
    with running_kafka(tmp_path / "kafka") as server:
        assert server.bootstrap.startswith("127.0.0.1:")


def test_send_and_read_put_lines_on_a_topic_and_print_them_back(kafka_bootstrap: str) -> None:
    topic = f"lines-{secrets.token_hex(4)}"
    command = [sys.executable, "-m", "devservers.kafka"]
    where = ["--bootstrap", kafka_bootstrap, "--topic", topic]
    absent = subprocess.run([*command, "read", *where], capture_output=True, text=True,
                            timeout=60, check=False)
    assert absent.returncode == 1 and f"no topic {topic}" in absent.stderr
    asyncio.run(create_topic(kafka_bootstrap, topic, 1))
    sent = subprocess.run([*command, "send", *where], input="one\n\ntwo\r\n",
                          capture_output=True, text=True, timeout=60, check=False)
    assert sent.returncode == 0 and "2 messages sent" in sent.stderr
    read = subprocess.run([*command, "read", *where], capture_output=True, text=True,
                          timeout=60, check=False)
    assert read.returncode == 0 and read.stdout == "\tone\n\ttwo\n"
