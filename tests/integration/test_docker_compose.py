"""The production-like stack as written: docker-compose.yml, the Dockerfile and .dockerignore.

There is no Docker engine here, so nothing is built or started. Debian's docker-compose 1.29
resolves and validates the compose file without one (`docker-compose config`); the Dockerfile is
parsed; and both HTTP healthcheck commands are run against a real `identity serve`, so a quoting
slip shows up here rather than as a container that never turns healthy. Kafka's settings are
checked against each other (listeners, controller quorum, the address the service is given) and
the topics service's script is parsed, as a broker would only find a mismatch at start.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from identity.api.kafka.config import KafkaConfig
from identity.config import Settings
from load_tests.server import free_port, identity_server, sqlite_args
from tests.kafka_fixtures import kafka_config
from tests.tls_fixtures import make_pki, serve_over_tls

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
TLS_COMPOSE_FILE = ROOT / "docker-compose.tls.yml"  # the TLS overlay
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
KAFKA_DEVSERVER_POM = ROOT / "devservers" / "kafka" / "pom.xml"

# The service's default topic names (IDENTITY_KAFKA_*_TOPIC unset; the relay's position topic is
# the changes topic's name plus ".position"): the topics service must create exactly these.
EVENTS_TOPIC = "identity.events"
DEAD_LETTER_TOPIC = "identity.events.dead-letter"
CHANGES_TOPIC = "identity.profile-changes"
POSITION_TOPIC = "identity.profile-changes.position"

# A sentinel, not a secret: it can reach the resolved config only through interpolation.
PASSWORD = "sentinel-from-env-7f3a9c"

INSTALL_HINT = (
    "docker-compose is not on PATH, so docker-compose.yml cannot be validated. Install it with "
    "`apt-get update && apt-get install -y docker-compose` (Debian's 1.29 runs `config` without "
    "a Docker engine; add --no-install-recommends to leave the engine out)."
)


# --- docker-compose.yml --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def docker_compose() -> str:
    path = shutil.which("docker-compose")
    if path is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    return path


@pytest.fixture(scope="module")
def empty_env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("compose") / "empty.env"
    path.write_text("")
    return path


def compose_config(
    docker_compose: str, env_file: Path, password: str | None,
    extra_env: dict[str, str] | None = None, files: tuple[Path, ...] = (COMPOSE_FILE,),
) -> subprocess.CompletedProcess[str]:
    """Only PATH, the password and `extra_env` reach docker-compose: a NEO4J_PASSWORD exported
    in the caller's shell, or a .env file beside the compose file, must not hide a missing
    one."""
    env = {"PATH": os.environ.get("PATH", ""), **(extra_env or {})}
    if password is not None:
        env["NEO4J_PASSWORD"] = password
    return subprocess.run(
        [docker_compose, "--env-file", str(env_file), "--project-directory", str(ROOT),
         *(part for file in files for part in ("-f", str(file))), "config"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )


def load_yaml(text: str) -> Any:
    try:
        import yaml
    except ImportError:
        pytest.fail("PyYAML is missing: it belongs in the dev extra (`pip install -e '.[dev]'`)",
                    pytrace=False)
    return yaml.safe_load(text)


@pytest.fixture(scope="module")
def resolved(docker_compose: str, empty_env_file: Path) -> dict[str, Any]:
    finished = compose_config(docker_compose, empty_env_file, PASSWORD)
    assert finished.returncode == 0, f"docker-compose config failed:\n{finished.stderr}"
    config: dict[str, Any] = load_yaml(finished.stdout)
    return config


def service(resolved: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = resolved["services"][name]
    return found


def environment(resolved: dict[str, Any], name: str) -> dict[str, str]:
    return {key: str(value) for key, value in service(resolved, name)["environment"].items()}


def mounts(resolved: dict[str, Any], name: str) -> set[tuple[str, str]]:
    """(source, target) pairs; compose 1.29 prints short strings, v2 prints mappings."""
    pairs = set()
    for volume in service(resolved, name).get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume["source"], volume["target"]
        pairs.add((source, target))
    return pairs


def published_ports(resolved: dict[str, Any], name: str) -> set[tuple[int, int]]:
    """(published, target) pairs, from either the short or the long port syntax."""
    pairs = set()
    for port in service(resolved, name).get("ports", []):
        if isinstance(port, str):
            published, target = port.split("/")[0].split(":")[-2:]
        else:
            published, target = port["published"], port["target"]
        pairs.add((int(published), int(target)))
    return pairs


def port_bindings(resolved: dict[str, Any], name: str) -> set[tuple[str, int, int]]:
    """(host address or "" for all, published, target), from either port syntax."""
    bindings = set()
    for port in service(resolved, name).get("ports", []):
        if isinstance(port, str):
            *host, published, target = port.split("/")[0].split(":")
            bindings.add((":".join(host), int(published), int(target)))
        else:
            bindings.add((port.get("host_ip", ""), int(port["published"]), int(port["target"])))
    return bindings


def volume_mounts(resolved: dict[str, Any], name: str) -> dict[str, tuple[str, bool]]:
    """target -> (source, read_only); compose 1.29 prints short strings, v2 prints mappings."""
    found = {}
    for volume in service(resolved, name).get("volumes", []):
        if isinstance(volume, str):
            source, target, *mode = volume.split(":")
            found[target] = (source, "ro" in ",".join(mode).split(","))
        else:
            found[volume["target"]] = (volume["source"], bool(volume.get("read_only", False)))
    return found


def healthcheck_command(resolved: dict[str, Any], name: str) -> list[str]:
    test = service(resolved, name)["healthcheck"]["test"]
    return [test] if isinstance(test, str) else list(test)


def test_compose_file_is_valid_when_the_password_is_set(
    docker_compose: str, empty_env_file: Path
) -> None:
    finished = compose_config(docker_compose, empty_env_file, PASSWORD)
    assert finished.returncode == 0, finished.stderr


def test_stack_is_neo4j_kafka_and_the_service_built_from_this_repository(
    resolved: dict[str, Any],
) -> None:
    assert set(resolved["services"]) == {"neo4j", "kafka", "kafka-topics", "identity", "worker"}
    assert service(resolved, "neo4j")["image"] == "neo4j:5.26-community"
    assert service(resolved, "kafka")["image"].startswith("apache/kafka:4.")
    build = service(resolved, "identity")["build"]
    assert Path(build["context"]).resolve() == ROOT
    assert build.get("dockerfile", "Dockerfile") == "Dockerfile"


def test_identity_service_uses_neo4j_inside_the_compose_network(
    resolved: dict[str, Any],
) -> None:
    env = environment(resolved, "identity")
    assert env["IDENTITY_STORE"] == "neo4j"
    assert env["IDENTITY_NEO4J_URI"] == "neo4j://neo4j:7687"
    assert env["IDENTITY_NEO4J_USER"] == "neo4j"
    assert env["IDENTITY_NEO4J_DATABASE"] == "neo4j"
    assert (8000, 8000) in published_ports(resolved, "identity")


def test_back_end_services_reach_grpc_on_its_default_port(resolved: dict[str, Any]) -> None:
    assert environment(resolved, "identity")["IDENTITY_GRPC_PORT"] == "50051"
    assert Settings.from_env({"IDENTITY_GRPC_PORT": "50051"}).grpc_port == 50051
    assert (50051, 50051) in published_ports(resolved, "identity")


@pytest.mark.parametrize("name", ["identity", "worker"])
def test_the_service_and_workers_start_once_neo4j_is_healthy_and_the_topics_exist(
    resolved: dict[str, Any], name: str
) -> None:
    depends_on = service(resolved, name)["depends_on"]
    assert depends_on["neo4j"]["condition"] == "service_healthy"
    assert depends_on["kafka-topics"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("name", ["neo4j", "kafka", "identity"])
def test_every_long_running_server_has_a_healthcheck(resolved: dict[str, Any], name: str) -> None:
    healthcheck = service(resolved, name)["healthcheck"]
    assert healthcheck_command(resolved, name)[0] in {"CMD", "CMD-SHELL"}
    assert {"interval", "timeout", "retries"} <= set(healthcheck)


@pytest.mark.parametrize("name", ["neo4j", "kafka", "identity", "worker"])
def test_every_long_running_service_restarts(resolved: dict[str, Any], name: str) -> None:
    assert service(resolved, name)["restart"] in {"always", "unless-stopped", "on-failure"}


def test_neo4j_is_healthy_only_when_a_query_with_the_password_succeeds(
    resolved: dict[str, Any],
) -> None:
    command = " ".join(healthcheck_command(resolved, "neo4j"))
    assert "cypher-shell" in command
    assert "NEO4J_AUTH" in command  # the container's own password, expanded by its shell


def test_identity_is_healthy_only_when_ready(resolved: dict[str, Any]) -> None:
    assert "/readyz" in " ".join(healthcheck_command(resolved, "identity"))


def test_password_is_interpolated_from_the_environment(resolved: dict[str, Any]) -> None:
    assert environment(resolved, "neo4j")["NEO4J_AUTH"] == f"neo4j/{PASSWORD}"
    assert environment(resolved, "identity")["IDENTITY_NEO4J_PASSWORD"] == PASSWORD
    assert environment(resolved, "worker")["IDENTITY_NEO4J_PASSWORD"] == PASSWORD
    for name in ("neo4j", "identity"):
        assert PASSWORD not in " ".join(healthcheck_command(resolved, name))


def test_compose_file_holds_no_password_of_its_own() -> None:
    source = COMPOSE_FILE.read_text()
    values = re.findall(r"(?:NEO4J_AUTH|IDENTITY_NEO4J_PASSWORD):\s*\"?([^\"\n]*)", source)
    assert len(values) == 2
    for value in values:
        assert value.removeprefix("neo4j/").startswith("${NEO4J_PASSWORD:?"), value


def test_neo4j_data_lives_in_a_named_volume(resolved: dict[str, Any]) -> None:
    assert ("neo4j-data", "/data") in mounts(resolved, "neo4j")
    assert "neo4j-data" in resolved["volumes"]


def test_volumes_have_fixed_names_and_are_all_declared(resolved: dict[str, Any]) -> None:
    """Named after the project, not the folder the stack was started from."""
    names = {key: volume["name"] for key, volume in resolved["volumes"].items()}
    assert names == {
        "neo4j-data": "identity-graph-neo4j-data",
        "neo4j-logs": "identity-graph-neo4j-logs",
        "identity-model": "identity-graph-model",
        "kafka-data": "identity-graph-kafka-data",
    }
    used = {source for name in resolved["services"] for source, _ in mounts(resolved, name)}
    assert used == set(names)  # no bind mount, no anonymous volume, none declared for nothing


@pytest.mark.parametrize("password", [None, ""], ids=["unset", "empty"])
def test_config_fails_naming_the_password_when_it_is_missing(
    docker_compose: str, empty_env_file: Path, password: str | None
) -> None:
    finished = compose_config(docker_compose, empty_env_file, password)
    assert finished.returncode != 0
    assert "set NEO4J_PASSWORD" in finished.stderr, finished.stderr


# --- secrets: from the environment only ----------------------------------------------------------

# Settings that hold a secret (or name a file that does), by name.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|JWKS|_AUTH$|(?<!CLUSTER)_KEY(_FILE)?$")
# The secrets the service and the workers take from the shell that runs compose.
PASSED_THROUGH = ("IDENTITY_PII_HASH_KEY", "IDENTITY_ERASURE_KEY", "IDENTITY_JWT_ISSUER",
                  "IDENTITY_JWT_AUDIENCE", "IDENTITY_JWT_JWKS")


def raw_environments(path: Path) -> dict[str, dict[str, Any]]:
    """Each service's environment as written (before interpolation), and the shared block."""
    written = load_yaml(path.read_text())
    found = {name: dict(spec.get("environment") or {})
             for name, spec in written["services"].items()}
    if "x-identity-env" in written:
        found["x-identity-env"] = dict(written["x-identity-env"])
    return found


@pytest.mark.parametrize("path", [COMPOSE_FILE, TLS_COMPOSE_FILE], ids=lambda p: p.name)
def test_no_secret_is_written_in_the_compose_files(path: Path) -> None:
    """A secret is either required from the environment (${NAME:?why}), passed through from
    it (no value: unset in the container when unset in the shell), or a file mounted under
    /run/secrets/ from a path in the environment; never a value or a ${NAME:-default}."""
    checked = 0
    for where, environment in raw_environments(path).items():
        for name, value in environment.items():
            if not SECRET_NAME.search(name):
                continue
            checked += 1
            required = isinstance(value, str) and re.fullmatch(
                r"(neo4j/)?\$\{[A-Z0-9_]+:\?[^}]+\}", value)
            mounted = isinstance(value, str) and value.startswith("/run/secrets/")
            assert value is None or required or mounted, f"{path.name}: {where}.{name}"
    assert checked >= (1 if path == TLS_COMPOSE_FILE else 7), "the pattern found no secret"
    for secret in (load_yaml(path.read_text()).get("secrets") or {}).values():
        assert re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]+\}", secret["file"]), secret


def test_secrets_reach_the_service_and_the_workers_only_when_set_in_the_shell(
    docker_compose: str, empty_env_file: Path, resolved: dict[str, Any],
) -> None:
    for name in ("identity", "worker"):  # unset in the shell: unset in the containers
        written = service(resolved, name)["environment"]
        assert all(written[key] is None for key in PASSED_THROUGH), name
    values = {key: f"sentinel-{i}-{PASSWORD}" for i, key in enumerate(PASSED_THROUGH)}
    finished = compose_config(docker_compose, empty_env_file, PASSWORD, values)
    assert finished.returncode == 0, finished.stderr
    config = load_yaml(finished.stdout)
    for name in ("identity", "worker"):
        env = environment(config, name)
        assert {key: env[key] for key in PASSED_THROUGH} == values, name


def test_the_settings_the_compose_file_passes_are_the_services(resolved: dict[str, Any]) -> None:
    """A typo in a variable's name would pass nothing, silently."""
    defaults = Settings()
    for key in environment(resolved, "identity"):
        assert key.startswith("IDENTITY_"), key
        assert hasattr(defaults, key.removeprefix("IDENTITY_").lower()), key


TLS_FILES = {"IDENTITY_TLS_CERT": "/etc/identity/server.pem",
             "IDENTITY_TLS_KEY": "/etc/identity/server.key",
             "IDENTITY_TLS_CLIENT_CA": "/etc/identity/clients-ca.pem"}


def test_the_tls_overlay_mounts_the_files_as_secrets_for_the_service_only(
    docker_compose: str, empty_env_file: Path,
) -> None:
    finished = compose_config(docker_compose, empty_env_file, PASSWORD, TLS_FILES,
                              files=(COMPOSE_FILE, TLS_COMPOSE_FILE))
    assert finished.returncode == 0, finished.stderr
    config = load_yaml(finished.stdout)
    files = {name: secret["file"] for name, secret in config["secrets"].items()}
    assert sorted(files.values()) == sorted(TLS_FILES.values())
    identity = service(config, "identity")
    mounted = {entry if isinstance(entry, str) else entry["source"]
               for entry in identity["secrets"]}
    assert mounted == set(files)
    env = environment(config, "identity")
    assert env["IDENTITY_TLS_CERT_FILE"] == "/run/secrets/identity-tls-cert"
    assert env["IDENTITY_TLS_KEY_FILE"] == "/run/secrets/identity-tls-key"
    assert env["IDENTITY_TLS_CLIENT_CA_FILE"] == "/run/secrets/identity-tls-client-ca"
    assert files["identity-tls-key"] == TLS_FILES["IDENTITY_TLS_KEY"]
    for path in ("IDENTITY_TLS_CERT_FILE", "IDENTITY_TLS_KEY_FILE",
                 "IDENTITY_TLS_CLIENT_CA_FILE"):
        assert env[path].removeprefix("/run/secrets/") in mounted
    worker = service(config, "worker")
    assert "secrets" not in worker
    assert not any(key.startswith("IDENTITY_TLS") for key in environment(config, "worker"))


@pytest.mark.parametrize("missing", sorted(TLS_FILES))
def test_the_tls_overlay_names_a_file_left_unset(
    docker_compose: str, empty_env_file: Path, missing: str,
) -> None:
    given = {key: value for key, value in TLS_FILES.items() if key != missing}
    finished = compose_config(docker_compose, empty_env_file, PASSWORD, given,
                              files=(COMPOSE_FILE, TLS_COMPOSE_FILE))
    assert finished.returncode != 0
    assert f"set {missing} to" in finished.stderr, finished.stderr


# --- Kafka: the broker, its topics, the workers ---------------------------------------------------


def listeners(value: str) -> dict[str, tuple[str, int]]:
    """KAFKA_LISTENERS / KAFKA_ADVERTISED_LISTENERS: name -> (host, port); "" binds all."""
    found: dict[str, tuple[str, int]] = {}
    for entry in value.split(","):
        name, separator, address = entry.strip().partition("://")
        assert separator, f"not NAME://host:port: {entry!r}"
        host, _, port = address.rpartition(":")
        assert name not in found, f"listener {name} named twice"
        found[name] = (host, int(port))
    return found


def protocol_map(value: str) -> dict[str, str]:
    return dict(entry.strip().split(":") for entry in value.split(","))


def kafka_env(resolved: dict[str, Any]) -> dict[str, str]:
    return environment(resolved, "kafka")


def internal_listener(resolved: dict[str, Any]) -> tuple[str, int]:
    """The advertised address of the listener the brokers talk on, which the containers use."""
    env = kafka_env(resolved)
    return listeners(env["KAFKA_ADVERTISED_LISTENERS"])[env["KAFKA_INTER_BROKER_LISTENER_NAME"]]


def test_kafka_image_is_the_release_the_devserver_tests_run() -> None:
    """Tests run the broker from devservers/; the stack runs the same release."""
    properties = ElementTree.parse(KAFKA_DEVSERVER_POM).getroot().find(
        "{http://maven.apache.org/POM/4.0.0}properties")
    assert properties is not None
    version = properties.findtext("{http://maven.apache.org/POM/4.0.0}kafka.version")
    assert version and re.fullmatch(r"4\.\d+\.\d+", version), version
    compose = load_yaml(COMPOSE_FILE.read_text())["services"]
    assert compose["kafka"]["image"] == f"apache/kafka:{version}"
    assert compose["kafka-topics"]["image"] == f"apache/kafka:{version}"


def test_kafka_is_one_kraft_node_that_is_broker_and_controller(resolved: dict[str, Any]) -> None:
    env = kafka_env(resolved)
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    bound = listeners(env["KAFKA_LISTENERS"])
    advertised = listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    controller_names = env["KAFKA_CONTROLLER_LISTENER_NAMES"].split(",")
    (voter,) = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")  # a quorum of one: this node
    node_id, _, address = voter.partition("@")
    host, _, port = address.rpartition(":")
    assert node_id == env["KAFKA_NODE_ID"]
    assert host == "kafka" and "kafka" in resolved["services"]
    assert int(port) in {bound[name][1] for name in controller_names if name in bound}
    for name in controller_names:
        assert name in bound, f"controller listener {name} is not in KAFKA_LISTENERS"
        assert name not in advertised, f"controller listener {name} is advertised to clients"
    # The image formats the data volume with this id on first start; one id for every start.
    assert len(base64.urlsafe_b64decode(env["CLUSTER_ID"] + "==")) == 16


def test_every_kafka_listener_name_has_a_security_protocol(resolved: dict[str, Any]) -> None:
    env = kafka_env(resolved)
    protocols = protocol_map(env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"])
    bound = listeners(env["KAFKA_LISTENERS"])
    advertised = listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    names = (set(bound) | set(advertised) | set(env["KAFKA_CONTROLLER_LISTENER_NAMES"].split(","))
             | {env["KAFKA_INTER_BROKER_LISTENER_NAME"]})
    missing = names - set(protocols)
    assert not missing, f"no protocol for {sorted(missing)}"
    for name, (_, port) in advertised.items():  # clients are sent to ports the broker listens on
        assert name in bound and bound[name][1] == port, name


def test_containers_bootstrap_from_the_address_kafka_advertises_inside_the_network(
    resolved: dict[str, Any],
) -> None:
    host, port = internal_listener(resolved)
    assert host == "kafka"  # the service's name on the compose network
    for name in ("identity", "worker"):
        assert environment(resolved, name)["IDENTITY_KAFKA_BOOTSTRAP"] == f"{host}:{port}", name
    for topic, created in created_topics(resolved).items():
        assert created.bootstrap == f"{host}:{port}", topic


def test_kafka_is_reachable_from_this_machine_only_on_loopback(resolved: dict[str, Any]) -> None:
    env = kafka_env(resolved)
    internal = env["KAFKA_INTER_BROKER_LISTENER_NAME"]
    host_listeners = {name: address for name, address
                      in listeners(env["KAFKA_ADVERTISED_LISTENERS"]).items() if name != internal}
    assert host_listeners, "no listener advertised for clients on the host"
    bindings = port_bindings(resolved, "kafka")
    for name, (host, port) in host_listeners.items():
        assert host == "127.0.0.1", name  # not "localhost", which may be ::1, left unpublished
        assert ("127.0.0.1", port, port) in bindings, name
    assert {address for address, _, _ in bindings} == {"127.0.0.1"}


def test_kafka_internal_topics_fit_one_broker(resolved: dict[str, Any]) -> None:
    """The defaults (three replicas, two in sync) would leave the offsets and transaction
    topics uncreatable on one broker: no consumer group, no transactional relay."""
    env = kafka_env(resolved)
    for key in ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
                "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
                "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
                "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR",
                "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR"):
        assert env[key] == "1", key
    assert int(env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"]) <= 500
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"  # topics only from kafka-topics


def test_kafka_data_lives_in_a_named_volume(resolved: dict[str, Any]) -> None:
    """The image's default log directory is under /tmp, in the container, not the volume."""
    log_dirs = kafka_env(resolved)["KAFKA_LOG_DIRS"].split(",")
    for log_dir in log_dirs:
        assert ("kafka-data", log_dir) in mounts(resolved, "kafka"), log_dir


def test_kafka_is_healthy_once_the_broker_answers_a_client(resolved: dict[str, Any]) -> None:
    command = " ".join(healthcheck_command(resolved, "kafka"))
    assert "kafka-broker-api-versions.sh" in command
    bound = listeners(kafka_env(resolved)["KAFKA_LISTENERS"])
    internal = bound[kafka_env(resolved)["KAFKA_INTER_BROKER_LISTENER_NAME"]]
    assert f"--bootstrap-server localhost:{internal[1]}" in command


@dataclass
class CreatedTopic:
    bootstrap: str = ""
    partitions: int = 0
    replication_factor: int = 0
    config: dict[str, str] = field(default_factory=dict)
    if_not_exists: bool = False


def topics_script(resolved: dict[str, Any]) -> list[list[str]]:
    """The topics service's shell script, one argv per line."""
    command = service(resolved, "kafka-topics")["command"]
    assert isinstance(command, list) and len(command) == 3, command
    shell, flags, script = command
    assert shell in {"/bin/bash", "/bin/sh", "bash", "sh"}, shell
    # -e: a create that fails fails the service, so nothing that needs the topics starts.
    assert flags.startswith("-") and "e" in flags and flags.endswith("c"), flags
    return [shlex.split(line) for line in script.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def created_topics(resolved: dict[str, Any]) -> dict[str, CreatedTopic]:
    topics: dict[str, CreatedTopic] = {}
    for argv in topics_script(resolved):
        assert argv[0].endswith("/kafka-topics.sh"), argv
        if "--create" not in argv:
            continue
        created, name = CreatedTopic(), ""
        words = iter(argv[1:])
        for word in words:
            if word == "--create":
                continue
            if word == "--if-not-exists":
                created.if_not_exists = True
            elif word == "--bootstrap-server":
                created.bootstrap = next(words)
            elif word == "--topic":
                name = next(words)
            elif word == "--partitions":
                created.partitions = int(next(words))
            elif word == "--replication-factor":
                created.replication_factor = int(next(words))
            elif word == "--config":
                key, _, value = next(words).partition("=")
                created.config[key] = value
            else:
                raise AssertionError(f"unexpected {word!r} in {argv}")
        assert name and name not in topics, f"topic {name!r} missing or created twice"
        topics[name] = created
    return topics


def test_topics_service_creates_exactly_the_default_topics(resolved: dict[str, Any]) -> None:
    topics = created_topics(resolved)
    assert set(topics) == {EVENTS_TOPIC, DEAD_LETTER_TOPIC, CHANGES_TOPIC, POSITION_TOPIC}
    for name, created in topics.items():
        assert created.if_not_exists, f"{name}: a second `up` would fail on the existing topic"
        assert created.replication_factor == 1, name  # one broker
        assert created.partitions >= 1, name


def test_topics_are_partitioned_for_workers_and_the_position_is_compacted(
    resolved: dict[str, Any],
) -> None:
    topics = created_topics(resolved)
    # Several consumers share the events; a profile's changes stay in order on one partition.
    assert topics[EVENTS_TOPIC].partitions == 6
    assert topics[CHANGES_TOPIC].partitions == 6
    assert topics[CHANGES_TOPIC].config.get("cleanup.policy", "delete") == "delete"
    # The relay reads back only its latest position: one partition, compacted.
    assert topics[POSITION_TOPIC].partitions == 1
    assert topics[POSITION_TOPIC].config["cleanup.policy"] == "compact"


def test_topic_names_are_the_services_defaults() -> None:
    defaults = KafkaConfig(bootstrap="kafka:9092")
    assert defaults.events_topic == EVENTS_TOPIC
    assert defaults.dead_letter_topic == DEAD_LETTER_TOPIC
    assert defaults.changes_topic == CHANGES_TOPIC
    assert defaults.position_topic == POSITION_TOPIC


def test_topics_are_created_once_kafka_is_healthy_and_only_once_per_up(
    resolved: dict[str, Any],
) -> None:
    topics_service = service(resolved, "kafka-topics")
    assert topics_service["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert topics_service["restart"] == "no"  # a one-shot job: done once it has exited 0
    assert topics_service["image"] == service(resolved, "kafka")["image"]


def test_worker_runs_identity_consume_in_the_image_identity_builds(
    resolved: dict[str, Any],
) -> None:
    worker = service(resolved, "worker")
    command = worker["command"]
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    assert argv[:2] == ["identity", "consume"]
    assert argv[2:] == ["--host", "0.0.0.0"]  # /metrics reachable on the compose network
    assert arguments_of("ENTRYPOINT") == []  # so `command` is the whole command line
    assert worker["image"] == service(resolved, "identity")["image"]
    assert "build" not in worker  # one build; a failed pull of an image built here is ignored


def test_worker_serves_nothing_and_can_be_scaled(resolved: dict[str, Any]) -> None:
    worker = service(resolved, "worker")
    assert not worker.get("ports"), "a fixed host port would stop `--scale worker=N`"
    assert "container_name" not in worker  # one name cannot be given to several containers
    replicas = worker.get("deploy", {}).get("replicas", 1)
    assert replicas >= 2, "one worker beside the service: nothing shows the load shared"


def test_worker_healthcheck_reads_its_metrics_not_the_images_healthz(
    resolved: dict[str, Any],
) -> None:
    """The image's HEALTHCHECK asks /healthz, which `identity consume` does not serve."""
    command = " ".join(healthcheck_command(resolved, "worker"))
    assert "/metrics" in command and "/healthz" not in command
    assert 'identity_kafka_up{part=\"consumer\"} 1.0' in command


@pytest.mark.e2e
@pytest.mark.kafka
def test_worker_healthcheck_passes_while_its_consumer_runs_and_fails_after(
    resolved: dict[str, Any], kafka_bootstrap: str, tmp_path: Path,
) -> None:
    """Run as the container runs it, against a real `identity consume`."""
    program, *args = healthcheck_command(resolved, "worker")[1:]
    assert program == "python"
    port = free_port()
    env = {**os.environ, "IDENTITY_METRICS_PORT": str(port)}

    def healthy() -> bool:
        return subprocess.run([sys.executable, *args], env=env, capture_output=True,
                              timeout=30, check=False).returncode == 0

    config = kafka_config(kafka_bootstrap)
    worker = subprocess.Popen(
        [sys.executable, "-m", "identity.cli", "consume", "--kafka-bootstrap", kafka_bootstrap,
         "--events-topic", config.events_topic, "--group", config.group,
         "--dead-letter-topic", config.dead_letter_topic, "--changes-topic",
         config.changes_topic, "--database", str(tmp_path / "g.db")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not healthy():
            assert worker.poll() is None and time.monotonic() < deadline, "never healthy"
            time.sleep(0.5)
    finally:
        worker.terminate()
        assert worker.wait(timeout=60) == 0
    assert not healthy()


def test_worker_ingests_like_the_service(resolved: dict[str, Any]) -> None:
    """Same graph, broker, model and rules: an event matches the same through Kafka as through
    the API, whichever consumer reads it."""
    service_env = environment(resolved, "identity")
    worker_env = environment(resolved, "worker")
    http_only = {"IDENTITY_PORT", "IDENTITY_GRPC_PORT"}
    assert worker_env == {key: value for key, value in service_env.items() if key not in http_only}
    model_volume = volume_mounts(resolved, "identity")["/app/data"][0]
    assert volume_mounts(resolved, "worker")["/app/data"] == (model_volume, True)


# --- Dockerfile and .dockerignore ----------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        pending += stripped
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        keyword, _, arguments = pending.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def arguments_of(keyword: str) -> list[str]:
    return [arguments for found, arguments in dockerfile_instructions() if found == keyword]


def healthcheck_exec_form() -> list[str]:
    (healthcheck,) = arguments_of("HEALTHCHECK")
    _options, separator, command = healthcheck.partition(" CMD ")
    assert separator, f"HEALTHCHECK without CMD: {healthcheck}"
    argv: list[str] = json.loads(command)
    return argv


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_image_builds_on_python_311_slim() -> None:
    """The image is the last stage; the first builds the console with Node and is left."""
    assert arguments_of("FROM") == ["node:20-slim AS console", "python:3.11-slim"]


def test_image_runs_as_a_non_root_user_created_in_the_build() -> None:
    keywords = [keyword for keyword, _ in dockerfile_instructions()]
    user = arguments_of("USER")[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert keywords.index("USER") < keywords.index("CMD")
    assert any("useradd" in run and user in run for run in arguments_of("RUN"))


def test_image_user_is_a_fixed_uid_that_owns_the_data_folder_and_nothing_else() -> None:
    """By number, so Kubernetes' runAsNonRoot can check it; the installed code stays root's,
    so the service cannot rewrite it; the data folder (SQLite, the model) is its own."""
    user, _, group = arguments_of("USER")[-1].partition(":")
    assert user.isdigit() and int(user) != 0 and group.isdigit() and int(group) != 0
    (useradd,) = [run for run in arguments_of("RUN") if "useradd" in run]
    assert f"--uid {user}" in useradd and f"--gid {group}" in useradd  # groupadd, same RUN
    keywords = [keyword for keyword, _ in dockerfile_instructions()]
    (chown,) = [run for run in arguments_of("RUN") if "chown" in run]
    assert re.search(r"mkdir -p /app/data && chown identity:identity /app/data(\s|$)", chown)
    assert "pip install" not in chown  # the package is installed by root, owned by root
    assert max(i for i, keyword in enumerate(keywords) if keyword == "RUN") \
        < keywords.index("USER")  # nothing runs as root after the switch


def test_image_installs_the_package_without_a_pip_cache() -> None:
    runs = arguments_of("RUN")
    assert any(re.search(r"pip install --no-cache-dir \.(\s|$)", run) for run in runs), runs


def test_image_serves_on_all_interfaces_with_the_console_script() -> None:
    (cmd,) = arguments_of("CMD")
    assert json.loads(cmd) == ["identity", "serve", "--host", "0.0.0.0"]
    assert "identity" in pyproject()["project"]["scripts"]
    assert arguments_of("EXPOSE") == ["8000 50051"]  # GraphQL, gRPC (their default ports)
    assert Settings().port == 8000 and Settings().grpc_port == 50051


def test_image_healthcheck_asks_healthz_with_the_standard_library() -> None:
    argv = healthcheck_exec_form()
    assert argv[:2] == ["python", "-c"]
    assert "urllib.request" in argv[2] and "/healthz" in argv[2]


def test_healthchecks_default_to_the_exposed_port() -> None:
    """The e2e test below sets IDENTITY_PORT; in the container it is unset unless overridden."""
    (ports,) = arguments_of("EXPOSE")
    http_port = ports.split()[0]
    assert f"'IDENTITY_PORT', '{http_port}'" in healthcheck_exec_form()[2]


def dockerignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    """(is_exclusion, regex) in file order; the last pattern that matches a path decides."""
    patterns = []
    for line in DOCKERIGNORE.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        is_exclusion = not line.startswith("!")
        glob = line.lstrip("!").strip("/")
        regex = ""
        for token in re.split(r"(\*\*/|\*\*|\*|\?|\[[^]]*\])", glob):
            if token == "**/":
                regex += "(?:.*/)?"
            elif token == "**":
                regex += ".*"
            elif token == "*":
                regex += "[^/]*"
            elif token == "?":
                regex += "[^/]"
            elif token.startswith("["):
                regex += token
            else:
                regex += re.escape(token)
        patterns.append((is_exclusion, re.compile(regex)))
    return patterns


def is_in_build_context(path: str) -> bool:
    """Docker's rule: a pattern matching a folder matches everything inside it."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for is_exclusion, regex in dockerignore_patterns():
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            excluded = is_exclusion
    return not excluded


def copied_sources() -> list[str]:
    """What the stages copy from the build context (a copy from a stage is checked below)."""
    sources = []
    for arguments in arguments_of("COPY"):
        if arguments.startswith("--from=console "):
            continue
        assert not arguments.startswith("--"), "a COPY with options needs its own check"
        *paths, _destination = arguments.split()
        sources += [path.removeprefix("./").rstrip("/") or "." for path in paths]
    return sources


def test_everything_the_image_copies_exists_and_reaches_the_build_context() -> None:
    for source in copied_sources():
        assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
        assert is_in_build_context(source), f"COPY {source}: excluded by .dockerignore"


def test_image_copies_everything_pip_install_reads() -> None:
    """pyproject.toml names the readme and the package folders; a missing one fails the build
    (or ships a package without its Cypher schema)."""
    project = pyproject()
    setuptools = project["tool"]["setuptools"]["packages"]["find"]
    needed = {"pyproject.toml", project["project"]["readme"]}
    for pattern in setuptools["include"]:
        for where in setuptools["where"]:
            folder = (ROOT / where / pattern.rstrip("*")).resolve()
            if (folder / "__init__.py").exists():
                needed.add(folder.relative_to(ROOT).as_posix())
    copied = copied_sources()
    for path in sorted(needed):
        assert any(path == c or path.startswith(f"{c}/") for c in copied), f"not copied: {path}"
        assert is_in_build_context(path)


def test_the_image_installs_the_console_built_in_its_first_stage() -> None:
    """The console stage's build (vite.config.ts writes ../src/identity/api/console/static
    from console/) lands in the package folder before `pip install .`, which takes it as
    package data; a build left in the working copy never reaches the context."""
    static = "src/identity/api/console/static"
    config = (ROOT / "console" / "vite.config.ts").read_text()
    assert f'"../{static}"' in config
    (workdir,) = [w for w in arguments_of("WORKDIR") if w.endswith("/console")]
    (copy,) = [c for c in arguments_of("COPY") if c.startswith("--from=console ")]
    assert copy.split()[1:] == [f"{workdir.removesuffix('/console')}/{static}", f"./{static}"]
    instructions = dockerfile_instructions()
    build = instructions.index(("RUN", "npm run build"))
    python = instructions.index(("FROM", "python:3.11-slim"))
    copied = instructions.index(("COPY", copy))
    installed = next(i for i, (keyword, arguments) in enumerate(instructions)
                     if keyword == "RUN" and "pip install" in arguments)
    assert build < python < copied < installed
    assert "static/**/*" in pyproject()["tool"]["setuptools"]["package-data"][
        "identity.api.console"]
    assert is_in_build_context("console/package-lock.json")
    assert is_in_build_context("console/src/main.tsx")


@pytest.mark.parametrize("path", [
    ".venv/bin/python", ".git/HEAD", "data/identity.db", ".devservers/neo4j/bin/neo4j",
    "load_tests/results/ingest.json", ".pytest_cache/v/cache", ".mypy_cache/3.11/x.json",
    "src/identity/__pycache__/cli.cpython-311.pyc", "src/identity_graph.egg-info/PKG-INFO",
    ".env", "tests/conftest.py", "server.key", "src/identity/tls/server.pem",
    "graph_schema/client.key", "console/node_modules/vite/package.json",
    "src/identity/api/console/static/index.html",
    "src/identity/api/console/static/assets/console-Ab12Cd.js",
])
def test_dockerignore_keeps_local_state_and_secrets_out_of_the_image(path: str) -> None:
    assert not is_in_build_context(path)


# --- the healthcheck commands, run for real ------------------------------------------------------


@pytest.mark.e2e
def test_healthchecks_pass_against_a_running_server_and_fail_without_one(
    resolved: dict[str, Any], tmp_path: Path
) -> None:
    """Each command runs as the container would run it, with `python` being this interpreter."""
    commands = {
        "Dockerfile HEALTHCHECK": healthcheck_exec_form(),
        "compose identity healthcheck": healthcheck_command(resolved, "identity")[1:],
    }
    with identity_server(sqlite_args(tmp_path / "graph.db")) as server:
        env = {**os.environ, "IDENTITY_PORT": server.url.rsplit(":", 1)[1]}
        for what, (program, *args) in commands.items():
            assert program == "python", what
            finished = subprocess.run([sys.executable, *args], env=env, capture_output=True,
                                      text=True, timeout=30, check=False)
            assert finished.returncode == 0, f"{what} failed:\n{finished.stderr}"
    for what, (_, *args) in commands.items():  # the server has stopped: nothing listens
        finished = subprocess.run([sys.executable, *args], env=env, capture_output=True,
                                  text=True, timeout=30, check=False)
        assert finished.returncode == 1, what


@pytest.mark.e2e
def test_healthchecks_ask_over_https_when_tls_is_on(
    resolved: dict[str, Any], tmp_path: Path
) -> None:
    """With IDENTITY_TLS_CERT_FILE set (docker-compose.tls.yml), as in the container, the
    same commands ask over https; over http they would fail, as plaintext is refused."""
    commands = {
        "Dockerfile HEALTHCHECK": healthcheck_exec_form(),
        "compose identity healthcheck": healthcheck_command(resolved, "identity")[1:],
    }

    def status(args: list[str], env: dict[str, str]) -> int:
        return subprocess.run([sys.executable, *args], env=env, capture_output=True,
                              timeout=30, check=False).returncode

    pki = make_pki(tmp_path)
    with serve_over_tls(pki, tmp_path, mutual=True, by_environment=True) as server:
        plaintext = {key: value for key, value in server.env.items()
                     if not key.startswith("IDENTITY_TLS_")}
        for what, (program, *args) in commands.items():
            assert program == "python", what
            assert status(args, server.env) == 0, what
            assert status(args, plaintext) == 1, what
    for what, (_, *args) in commands.items():  # the server has stopped: nothing listens
        assert status(args, server.env) == 1, what


def test_the_trained_match_model_outlives_the_container(resolved: dict[str, Any]) -> None:
    assert ("identity-model", "/app/data") in mounts(resolved, "identity") or any(
        target == "/app/data" and source.endswith("identity-graph-model")
        for source, target in mounts(resolved, "identity"))
    assert environment(resolved, "identity")["IDENTITY_MODEL"] == "/app/data/model.json"
