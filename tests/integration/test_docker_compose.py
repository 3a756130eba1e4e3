"""The production-like stack as written: docker-compose.yml, the Dockerfile and .dockerignore.

There is no Docker engine here, so nothing is built or started. Debian's docker-compose 1.29
resolves and validates the compose file without one (`docker-compose config`); the Dockerfile is
parsed; and both HTTP healthcheck commands are run against a real `identity serve`, so a quoting
slip shows up here rather than as a container that never turns healthy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from identity.config import Settings
from load_tests.server import identity_server, sqlite_args

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

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
    docker_compose: str, env_file: Path, password: str | None
) -> subprocess.CompletedProcess[str]:
    """Only PATH and the password reach docker-compose: a NEO4J_PASSWORD exported in the
    caller's shell, or a .env file beside the compose file, must not hide a missing one."""
    env = {"PATH": os.environ.get("PATH", "")}
    if password is not None:
        env["NEO4J_PASSWORD"] = password
    return subprocess.run(
        [docker_compose, "--env-file", str(env_file), "--project-directory", str(ROOT),
         "-f", str(COMPOSE_FILE), "config"],
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


def healthcheck_command(resolved: dict[str, Any], name: str) -> list[str]:
    test = service(resolved, name)["healthcheck"]["test"]
    return [test] if isinstance(test, str) else list(test)


def test_compose_file_is_valid_when_the_password_is_set(
    docker_compose: str, empty_env_file: Path
) -> None:
    finished = compose_config(docker_compose, empty_env_file, PASSWORD)
    assert finished.returncode == 0, finished.stderr


def test_stack_is_neo4j_and_the_identity_service_built_from_this_repository(
    resolved: dict[str, Any],
) -> None:
    assert set(resolved["services"]) == {"neo4j", "identity"}
    assert service(resolved, "neo4j")["image"] == "neo4j:5.26-community"
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


def test_identity_starts_only_once_neo4j_is_healthy(resolved: dict[str, Any]) -> None:
    depends_on = service(resolved, "identity")["depends_on"]
    assert depends_on["neo4j"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", ["neo4j", "identity"])
def test_every_service_has_a_healthcheck_and_a_restart_policy(
    resolved: dict[str, Any], name: str
) -> None:
    healthcheck = service(resolved, name)["healthcheck"]
    assert healthcheck_command(resolved, name)[0] in {"CMD", "CMD-SHELL"}
    assert {"interval", "timeout", "retries"} <= set(healthcheck)
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


@pytest.mark.parametrize("password", [None, ""], ids=["unset", "empty"])
def test_config_fails_naming_the_password_when_it_is_missing(
    docker_compose: str, empty_env_file: Path, password: str | None
) -> None:
    finished = compose_config(docker_compose, empty_env_file, password)
    assert finished.returncode != 0
    assert "set NEO4J_PASSWORD" in finished.stderr, finished.stderr


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
    assert arguments_of("FROM")[0] == "python:3.11-slim"


def test_image_runs_as_a_non_root_user_created_in_the_build() -> None:
    keywords = [keyword for keyword, _ in dockerfile_instructions()]
    user = arguments_of("USER")[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert keywords.index("USER") < keywords.index("CMD")
    assert any("useradd" in run and user in run for run in arguments_of("RUN"))


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
    sources = []
    for arguments in arguments_of("COPY"):
        assert not arguments.startswith("--from"), "a multi-stage COPY needs its own check"
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


@pytest.mark.parametrize("path", [
    ".venv/bin/python", ".git/HEAD", "data/identity.db", ".devservers/neo4j/bin/neo4j",
    "load_tests/results/ingest.json", ".pytest_cache/v/cache", ".mypy_cache/3.11/x.json",
    "src/identity/__pycache__/cli.cpython-311.pyc", "src/identity_graph.egg-info/PKG-INFO",
    ".env", "tests/conftest.py",
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


def test_the_trained_match_model_outlives_the_container(resolved: dict[str, Any]) -> None:
    assert ("identity-model", "/app/data") in mounts(resolved, "identity") or any(
        target == "/app/data" and source.endswith("identity-graph-model")
        for source, target in mounts(resolved, "identity"))
    assert environment(resolved, "identity")["IDENTITY_MODEL"] == "/app/data/model.json"
