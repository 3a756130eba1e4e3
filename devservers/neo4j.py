"""A real Neo4j 5 (community, 5.26 LTS) for tests and development, with no Docker engine.

Needs Java 17+ and Maven 3.8+ (and Maven Central, the first time). `build()` compiles the small
launcher in devservers/neo4j/ once; its jar, its classpath and an AppCDS archive are cached in
.devservers/neo4j/ at the repository root (gitignored; the jars stay in ~/.m2). The launcher runs
Neo4j as an embedded DBMS with Bolt on 127.0.0.1 and authentication on (user `neo4j`).

    python -m devservers.neo4j build
    NEO4J_PASSWORD=... python -m devservers.neo4j start [--data DIR] [--port 7687]

From Python (tests):

    with running_neo4j(tmp_path / "neo4j", password=secrets.token_urlsafe()) as server:
        driver = neo4j.GraphDatabase.driver(server.uri, auth=(server.user, server.password))
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import neo4j
from neo4j.exceptions import AuthError, ServiceUnavailable, SessionExpired

from devservers._jvm import CLEAN_EXIT_CODES, run_in_foreground, run_maven, stop
from devservers._jvm import java as jvm_java

REPO_ROOT = Path(__file__).resolve().parent.parent
PROJECT_DIR = REPO_ROOT / "devservers" / "neo4j"
POM = PROJECT_DIR / "pom.xml"
SOURCES = PROJECT_DIR / "src"
CACHE_DIR = REPO_ROOT / ".devservers" / "neo4j"
JAR = CACHE_DIR / "target" / "neo4j-devserver.jar"  # <directory> and <finalName> in pom.xml
CLASSPATH_FILE = CACHE_DIR / "classpath.txt"
BUILD_STAMP = CACHE_DIR / "build.stamp"
DEFAULT_DATA_DIR = CACHE_DIR / "data"
MAIN_CLASS = "identity.devservers.Neo4jLauncher"
# Tests start many short-lived servers: quick to start (the C1 compiler only, a small heap).
JVM_FLAGS = ("-Xmx512m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
# Benchmarks measure what production runs: the memory docker-compose.yml gives Neo4j (a fixed
# 1 GiB heap, a 512 MiB page cache) and the JVM's defaults otherwise (both JIT compilers, G1).
SERVER_GRADE_JVM_FLAGS = ("-Xms1g", "-Xmx1g")
SERVER_GRADE_SETTINGS = "server.memory.pagecache.size=512m\n"
# The dynamic CDS archive prints about 1,300 harmless "Skipping ...: Signed JAR" warnings.
CDS_QUIET = ("-Xlog:cds=off", "-Xlog:cds+dynamic=off")
READY_PREFIX = "NEO4J READY "
USER = "neo4j"
LOG_NAME = "devserver.log"


@dataclass(frozen=True)
class Neo4jServer:
    uri: str
    user: str
    password: str = field(repr=False)
    process: subprocess.Popen[bytes]
    startup_seconds: float
    log_file: Path


def _newest_input_mtime() -> float:
    inputs = [POM, *(path for path in SOURCES.rglob("*") if path.is_file())]
    return max(path.stat().st_mtime for path in inputs)


def _classpath() -> list[str]:
    return [entry for entry in CLASSPATH_FILE.read_text().strip().split(os.pathsep) if entry]


def _is_built() -> bool:
    try:
        if BUILD_STAMP.stat().st_mtime <= _newest_input_mtime() or not JAR.is_file():
            return False
        # The classpath points into ~/.m2: a wiped local repository needs a new download.
        return all(Path(entry).exists() for entry in _classpath())
    except FileNotFoundError:
        return False


def _cds_archive(java: str) -> Path | None:
    """The AppCDS archive for this JDK, None if disabled (NEO4J_DEVSERVER_CDS=0)."""
    if os.environ.get("NEO4J_DEVSERVER_CDS", "1") == "0":
        return None
    real = Path(java).resolve()
    key = hashlib.sha256(f"{real}:{real.stat().st_mtime_ns}".encode()).hexdigest()[:12]
    return CACHE_DIR / f"neo4j-devserver-{key}.jsa"


def build(*, server_grade: bool = False) -> list[str]:
    """Builds the launcher unless the cache is up to date; returns the java command prefix.

    The prefix ends with the main class; append `--home DIR --port N` and put the password in
    the environment variable NEO4J_PASSWORD. `server_grade`: production's JVM settings instead
    of the quick-start ones tests use (and no class-data archive, recorded with those).
    """
    java = jvm_java("Neo4j")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CACHE_DIR / "build.lock", "w") as lock:  # parallel test workers build once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _is_built():
            _run_maven()
    command = [java, *(SERVER_GRADE_JVM_FLAGS if server_grade else JVM_FLAGS)]
    archive = None if server_grade else _cds_archive(java)
    if archive is not None and archive.is_file():
        command += [f"-XX:SharedArchiveFile={archive}", *CDS_QUIET]
    classpath = os.pathsep.join([str(JAR), *_classpath()])
    return [*command, "-cp", classpath, MAIN_CLASS]


def _run_maven() -> None:
    BUILD_STAMP.unlink(missing_ok=True)
    for stale in CACHE_DIR.glob("*.jsa"):  # a CDS archive is only valid for the old classpath
        stale.unlink()
    run_maven("Neo4j", POM, ["package", "dependency:build-classpath",
                             f"-Dmdep.outputFile={CLASSPATH_FILE}"], REPO_ROOT)
    BUILD_STAMP.touch()


def _log_tail(log_file: Path, offset: int, lines: int = 30) -> str:
    try:
        with open(log_file, "rb") as log:
            log.seek(offset)
            text = log.read().decode(errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def _wait_ready(process: subprocess.Popen[bytes], log_file: Path, offset: int, password: str,
                deadline: float) -> str:
    """Waits for the launcher's ready line, then for an auto-commit `RETURN 1`; returns the URI."""

    def fail(reason: str) -> RuntimeError:
        tail = _log_tail(log_file, offset)
        # The launcher's last words name the cause ("Lock file has been locked", "Address
        # already in use", ...): lift them above the stack trace.
        said = [line for line in tail.splitlines() if line.startswith("neo4j devserver: ")]
        summary = f": {said[-1].removeprefix('neo4j devserver: ')}" if said else ""
        return RuntimeError(f"Neo4j devserver {reason}{summary}\nlog {log_file}:\n{tail}")

    uri = None
    with open(log_file, "rb") as log:
        log.seek(offset)
        pending = b""
        while uri is None:
            pending += log.read()
            *lines, pending = pending.split(b"\n")
            for line in lines:
                text = line.decode(errors="replace").strip()
                if text.startswith(READY_PREFIX):
                    uri = text.removeprefix(READY_PREFIX)
            if uri is not None:
                break
            if process.poll() is not None:
                raise fail(f"exited with code {process.returncode} before it was ready")
            if time.monotonic() > deadline:
                raise fail("did not become ready in time")
            time.sleep(0.05)
    # The launcher sets the password before it prints the ready line, so an AuthError here is
    # final; polling until Bolt answers is then almost always a single round trip.
    with neo4j.GraphDatabase.driver(uri, auth=(USER, password), connection_timeout=5,
                                    max_connection_pool_size=1) as driver:
        while True:
            try:
                with driver.session(database="neo4j") as session:
                    session.run("RETURN 1").consume()
                return uri
            except AuthError as error:
                raise fail(f"refused the password ({error.code})") from error
            except (ServiceUnavailable, SessionExpired, OSError) as error:
                if process.poll() is not None:
                    raise fail(f"exited with code {process.returncode}") from error
                if time.monotonic() > deadline:
                    raise fail(f"did not answer on {uri} in time: {error}") from error
                time.sleep(0.1)


@contextmanager
def running_neo4j(data_dir: Path, *, port: int | None = None, password: str,
                  timeout_s: float = 120, server_grade: bool = False) -> Iterator[Neo4jServer]:
    """Starts Neo4j on data_dir (its home: data/, logs/), yields once Bolt answers, then stops it.

    With no port, a free one is chosen. The launcher's output goes to data_dir/devserver.log.
    Raises RuntimeError, with the end of that log, if Neo4j exits or is not ready within
    timeout_s (the build, if one is needed, comes before and is not counted). A second instance
    on the same data_dir fails fast: Neo4j's store lock makes it exit. `server_grade` (for
    benchmarks): the JVM and memory settings of production (docker-compose.yml), written to
    data_dir/neo4j.conf, rather than the quick-start ones tests use.
    """
    command = build(server_grade=server_grade)
    archive = None if server_grade else _cds_archive(command[0])
    dump_to: Path | None = None
    if archive is not None and not archive.is_file():
        _remove_abandoned_dumps()
        # First run with this JDK and classpath: record the loaded classes at exit.
        dump_to = archive.with_name(f"{archive.stem}.{uuid.uuid4().hex}.tmp")
        command = [command[0], f"-XX:ArchiveClassesAtExit={dump_to}", *CDS_QUIET, *command[1:]]
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    if server_grade:
        (data_dir / "neo4j.conf").write_text(SERVER_GRADE_SETTINGS)
    log_file = data_dir / LOG_NAME
    env = {**os.environ, "NEO4J_PASSWORD": password}  # never on the command line: ps shows it
    ready = False
    with open(log_file, "ab") as log:
        offset = log.tell()
        start = time.monotonic()
        process = subprocess.Popen(
            # Port 0: Neo4j binds a free port (no race) and its ready line says which.
            [*command, "--home", str(data_dir), "--port", str(0 if port is None else port)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
            cwd=data_dir, start_new_session=True)
    try:
        uri = _wait_ready(process, log_file, offset, password, start + timeout_s)
        ready = True
        yield Neo4jServer(uri=uri, user=USER, password=password, process=process,
                          startup_seconds=time.monotonic() - start, log_file=log_file)
    finally:
        stop(process)
        if dump_to is not None:
            _keep_archive(dump_to, archive, ready and process.returncode in CLEAN_EXIT_CODES)


def _remove_abandoned_dumps(min_age_s: float = 3600) -> None:
    # A dump left behind by a killed test run (about 115 MB each).
    for dump in CACHE_DIR.glob("*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            if time.time() - dump.stat().st_mtime > min_age_s:
                dump.unlink()


def _keep_archive(dumped: Path, archive: Path | None, complete: bool) -> None:
    # Only a run that got as far as serving queries records the classes worth sharing.
    if complete and archive is not None and dumped.is_file():
        os.replace(dumped, archive)
    else:
        dumped.unlink(missing_ok=True)


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devservers.neo4j", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="build the launcher (download Neo4j) if needed")
    start = commands.add_parser(
        "start", help="run Neo4j in the foreground until Ctrl-C; password from NEO4J_PASSWORD")
    start.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR,
                       help=f"Neo4j home: data, logs (default {DEFAULT_DATA_DIR})")
    start.add_argument("--port", type=int, default=7687, help="Bolt port (0: any free port)")
    start.add_argument("--timeout", type=float, default=120, help="seconds to wait for Bolt")
    args = parser.parse_args(argv)

    if args.command == "build":
        began = time.monotonic()
        prefix = build()
        print(f"Neo4j devserver built in {time.monotonic() - began:.1f} s: {JAR}")
        print(f"java command: {' '.join(prefix[:-3])} -cp <{CLASSPATH_FILE}> {prefix[-1]}")
        return 0

    password = os.environ.get("NEO4J_PASSWORD")
    if not password:
        print("error: set NEO4J_PASSWORD to the password for the user neo4j "
              "(Neo4j requires at least 8 characters)", file=sys.stderr)
        return 2

    return run_in_foreground(
        "Neo4j", running_neo4j(args.data, port=None if args.port == 0 else args.port,
                               password=password, timeout_s=args.timeout),
        lambda server: f"Neo4j ready at {server.uri} (user {server.user}) in "
        f"{server.startup_seconds:.1f} s; data in {args.data}, log in {server.log_file}. "
        "Ctrl-C stops it.")

if __name__ == "__main__":
    sys.exit(_main())
