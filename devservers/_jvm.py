"""What the Neo4j and Kafka devservers share: finding java and mvn, running Maven, stopping
the JVM, running one in the foreground."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from types import FrameType
from typing import Protocol, TypeVar

STOP_TIMEOUT_S = 30.0
CLEAN_EXIT_CODES = (0, 143, -signal.SIGTERM)  # 143: the JVM's exit after SIGTERM


def java(server: str) -> str:
    """JAVA_HOME's java, else the one on PATH. Raises RuntimeError naming `server`."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise RuntimeError(f"java not found: the {server} devserver needs Java 17 or newer")
    return found


def run_maven(server: str, pom: Path, goals: list[str], cwd: Path) -> None:
    """`mvn -B -q -f pom GOALS` (MVN overrides which mvn). Raises RuntimeError with the end of
    Maven's output when it fails."""
    mvn = os.environ.get("MVN") or shutil.which("mvn")
    if mvn is None:
        raise RuntimeError(f"mvn not found: building the {server} devserver needs Maven 3.8 "
                           "or newer")
    command = [mvn, "-B", "-q", "-f", str(pom), *goals]
    result = subprocess.run(command, cwd=cwd, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()
        raise RuntimeError(f"building the {server} devserver failed ({' '.join(command)}):\n"
                           + "\n".join(output[-40:]))


def stop(process: subprocess.Popen[bytes], timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM, then SIGKILL if it has not exited within timeout_s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stop_on_sigterm() -> None:
    """A `start` command stops its JVM on SIGTERM as on Ctrl-C: the JVM runs in a session of
    its own, so a launcher ended without its clean-up would leave it running."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


class _Server(Protocol):
    @property
    def process(self) -> subprocess.Popen[bytes]: ...

    @property
    def log_file(self) -> Path: ...


S = TypeVar("S", bound=_Server)


def run_in_foreground(name: str, running: AbstractContextManager[S],
                      ready: Callable[[S], str]) -> int:
    """A `start` command: the server until Ctrl-C or SIGTERM (its JVM stopped either way),
    the `ready` line once it accepts clients; the exit status to return."""
    stop_on_sigterm()
    try:
        with running as server:
            print(ready(server), flush=True)
            code = server.process.wait()
            print(f"{name} exited unexpectedly with code {code}; see {server.log_file}",
                  file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        print(f"{name} stopped.", flush=True)
        return 0
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
