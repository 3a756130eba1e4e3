"""A real Apache Kafka 4 broker (KRaft) for tests and development, with no Docker engine.

Needs Java 17+ and Maven 3.8+ (and Maven Central, the first time: 45 jars, about 45 MB, kept in
~/.m2 and copied into .devservers/kafka/ at the repository root, gitignored). One JVM is both
broker and controller, listening on loopback only; every internal topic has one replica.

    python -m devservers.kafka build
    python -m devservers.kafka start [--data DIR] [--port 9092]
    python -m devservers.kafka send --bootstrap 127.0.0.1:9092 --topic T < events.jsonl
    python -m devservers.kafka read --bootstrap 127.0.0.1:9092 --topic T [--follow]

From Python (tests):

    with running_kafka(tmp_path / "kafka") as server:
        producer = aiokafka.AIOKafkaProducer(bootstrap_servers=server.bootstrap)
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import fcntl
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from devservers._jvm import java, run_in_foreground, run_maven, stop

REPO_ROOT = Path(__file__).resolve().parent.parent
POM = REPO_ROOT / "devservers" / "kafka" / "pom.xml"
CACHE_DIR = REPO_ROOT / ".devservers" / "kafka"
LIBS = CACHE_DIR / "libs"
BUILD_STAMP = CACHE_DIR / "build.stamp"
DEFAULT_DATA_DIR = CACHE_DIR / "data"
# Quick to start on 2 cores; a broker for tests needs little heap.
JVM_FLAGS = ("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
             "-Dlog4j2.shutdownHookEnabled=false")
LOG_NAME = "devserver.log"  # the JVM's own output: warnings and errors
SERVER_LOG_NAME = "server.log"  # the broker's INFO log
READY_LINE = "Kafka Server started"


@dataclass(frozen=True)
class KafkaServer:
    bootstrap: str  # host:port of the PLAINTEXT listener
    process: subprocess.Popen[bytes]
    startup_seconds: float
    log_file: Path
    # A second listener that asks clients for a password (SASL PLAIN), as managed Kafka does:
    sasl_bootstrap: str = ""
    sasl_user: str = "identity"
    sasl_password: str = field(default="", repr=False)


def _is_built() -> bool:
    try:
        return (BUILD_STAMP.stat().st_mtime > POM.stat().st_mtime
                and any(LIBS.glob("kafka_2.13-*.jar")))
    except FileNotFoundError:
        return False


def build() -> list[str]:
    """Copies the broker's jars into the cache unless they are there; returns the java
    command prefix (append a main class and its arguments)."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CACHE_DIR / "build.lock", "w") as lock:  # parallel test workers build once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _is_built():
            _run_maven()
    return [java("Kafka"), *JVM_FLAGS, "-cp", str(LIBS / "*")]


def _run_maven() -> None:
    BUILD_STAMP.unlink(missing_ok=True)
    shutil.rmtree(LIBS, ignore_errors=True)
    run_maven("Kafka", POM, ["dependency:copy-dependencies", f"-DoutputDirectory={LIBS}"],
              REPO_ROOT)
    BUILD_STAMP.touch()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _settings(data_dir: Path, port: int, controller_port: int, sasl_port: int,
              sasl_user: str, sasl_password: str) -> str:
    """One node, both roles, loopback only; internal topics with one replica; consumer groups
    that form at once (tests join and leave groups often). Clients connect without a password
    on `port`, and with one (SASL PLAIN, one user) on `sasl_port`."""
    return "\n".join([
        "process.roles=broker,controller",
        "node.id=1",
        f"listeners=PLAINTEXT://127.0.0.1:{port},SASL_PLAINTEXT://127.0.0.1:{sasl_port},"
        f"CONTROLLER://127.0.0.1:{controller_port}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port},"
        f"SASL_PLAINTEXT://127.0.0.1:{sasl_port}",
        "inter.broker.listener.name=PLAINTEXT",
        "controller.listener.names=CONTROLLER",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,"
        "CONTROLLER:PLAINTEXT",
        "sasl.enabled.mechanisms=PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security"
        f'.plain.PlainLoginModule required user_{sasl_user}="{sasl_password}";',
        f"controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}",
        f"log.dirs={data_dir / 'logs'}",
        "num.partitions=1",
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=1",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        "group.min.session.timeout.ms=1000",
        "auto.create.topics.enable=false",
        "",
    ])


def _log_settings(data_dir: Path) -> str:
    """INFO to a file, warnings and errors to the console (INFO there floods CI logs)."""
    return "\n".join([
        "rootLogger.level=INFO",
        "rootLogger.appenderRef.file.ref=file",
        "rootLogger.appenderRef.console.ref=console",
        "rootLogger.appenderRef.console.level=WARN",
        "appender.file.type=File",
        "appender.file.name=file",
        f"appender.file.fileName={data_dir / SERVER_LOG_NAME}",
        "appender.file.layout.type=PatternLayout",
        "appender.file.layout.pattern=[%d] %p %m (%c)%n",
        "appender.console.type=Console",
        "appender.console.name=console",
        "appender.console.layout.type=PatternLayout",
        "appender.console.layout.pattern=[%d] %p %m (%c)%n",
        "",
    ])


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def _wait_ready(process: subprocess.Popen[bytes], data_dir: Path, port: int,
                deadline: float) -> None:
    server_log = data_dir / SERVER_LOG_NAME
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"Kafka devserver exited with code {process.returncode} before "
                               f"it was ready\n{_tail(data_dir / LOG_NAME)}\n{_tail(server_log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"Kafka devserver did not become ready in time\n"
                               f"{_tail(server_log)}")
        with contextlib.suppress(FileNotFoundError):
            if READY_LINE in server_log.read_text(errors="replace"):
                with contextlib.suppress(OSError), socket.create_connection(
                        ("127.0.0.1", port), timeout=1):
                    return
        time.sleep(0.1)


@contextmanager
def running_kafka(data_dir: Path, *, timeout_s: float = 120, port: int = 0
                  ) -> Iterator[KafkaServer]:
    """Formats data_dir (when new) and starts a broker on loopback (on `port`, or a free one
    when 0; the controller always on a free one); yields once
    it accepts clients, then stops it (SIGTERM). Raises RuntimeError with the end of its log
    if it exits or is not ready within timeout_s (fetching the jars, if needed, comes first
    and is not counted). Use a new data_dir per test session."""
    prefix = build()
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    port, controller_port, sasl_port = port or _free_port(), _free_port(), _free_port()
    sasl_password = secrets.token_urlsafe(16)
    settings = data_dir / "server.properties"
    settings.write_text(_settings(data_dir, port, controller_port, sasl_port, "identity",
                                  sasl_password))
    settings.chmod(0o600)  # it holds the password
    log_settings = data_dir / "log4j2.properties"
    log_settings.write_text(_log_settings(data_dir))
    logging_flag = f"-Dlog4j2.configurationFile={log_settings}"
    start = time.monotonic()
    if not (data_dir / "logs" / "meta.properties").is_file():
        # A cluster id is base64url of 16 random bytes, without padding.
        cluster_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        formatted = subprocess.run(
            # "=": an id may begin with "-", which would read as an option
            [*prefix[:1], logging_flag, *prefix[1:], "kafka.tools.StorageTool", "format",
             f"--cluster-id={cluster_id}", "-c", str(settings), "--standalone"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
        if formatted.returncode != 0:
            raise RuntimeError(f"formatting the Kafka devserver's storage failed:\n"
                               f"{formatted.stdout}{formatted.stderr}")
    log_file = data_dir / LOG_NAME
    with open(log_file, "ab") as log:
        # Its own session: a broker started from a non-interactive shell ignores SIGINT, and
        # Ctrl-C in a terminal must not reach it before the test's own clean-up does.
        process = subprocess.Popen(
            [*prefix[:1], logging_flag, *prefix[1:], "kafka.Kafka", str(settings)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=data_dir,
            start_new_session=True)
    try:
        _wait_ready(process, data_dir, port, start + timeout_s)
        yield KafkaServer(bootstrap=f"127.0.0.1:{port}", process=process,
                          sasl_bootstrap=f"127.0.0.1:{sasl_port}", sasl_password=sasl_password,
                          startup_seconds=time.monotonic() - start, log_file=log_file)
    finally:
        stop(process)


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devservers.kafka", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="fetch the broker's jars (Maven Central) if needed")
    start = commands.add_parser("start", help="run a broker in the foreground until Ctrl-C")
    start.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR,
                       help=f"its data and logs (default {DEFAULT_DATA_DIR})")
    start.add_argument("--timeout", type=float, default=120, help="seconds to wait for it")
    start.add_argument("--port", type=int, default=0, help="its port (default: a free one)")
    send = commands.add_parser("send", help="each line of stdin as one message to a topic")
    read = commands.add_parser("read", help="print a topic's messages (committed ones), "
                               "from the oldest, one per line: key, then value")
    for command in (send, read):
        command.add_argument("--bootstrap", required=True, help="host:port of the broker")
        command.add_argument("--topic", required=True)
    read.add_argument("--follow", action="store_true", help="wait for more until Ctrl-C")
    args = parser.parse_args(argv)
    if args.command in ("send", "read"):
        from devservers import kafka_client  # aiokafka: not needed to run the broker

        run = kafka_client.send_lines if args.command == "send" else kafka_client.print_topic
        try:
            return asyncio.run(run(args))
        except KeyboardInterrupt:
            return 0
        except BrokenPipeError:  # `read ... | head`: the reader went away, as it may
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    if args.command == "build":
        began = time.monotonic()
        build()
        print(f"Kafka devserver fetched in {time.monotonic() - began:.1f} s: {LIBS}")
        return 0
    return run_in_foreground(
        "Kafka", running_kafka(args.data, timeout_s=args.timeout, port=args.port),
        lambda server: f"Kafka ready at {server.bootstrap} in {server.startup_seconds:.1f} s; "
        f"data in {args.data}, log in {server.log_file}; with a password (SASL PLAIN, user "
        f"{server.sasl_user}, password in {args.data}/server.properties) at "
        f"{server.sasl_bootstrap}. Ctrl-C stops it.")

if __name__ == "__main__":
    sys.exit(_main())
