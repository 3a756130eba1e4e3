"""Run `identity serve` as a separate process, as users do: for benchmarks and e2e tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class RunningServer:
    process: subprocess.Popen[bytes]
    url: str


def sqlite_args(database: Path) -> list[str]:
    return ["--database", str(database)]


@contextmanager
def identity_server(store_args: list[str], env: Mapping[str, str] | None = None,
                    timeout_s: float = 60, *, log: Path | None = None,
                    log_level: str = "warning", dev: bool = True) -> Iterator[RunningServer]:
    """Yields once /readyz answers; stops the server on exit unless the caller already did.
    Secrets such as the Neo4j password go in `env`, never in the arguments. `log`: where
    its stdout and stderr go (nowhere by default). `dev`: development mode, no credentials
    asked (benchmarks and tests of other features); off, callers need keys or tokens."""
    port = free_port()
    output = log.open("wb") if log is not None else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "identity.cli", "serve", *(["--dev"] if dev else []),
         "--port", str(port), "--grpc-port", "0", "--log-level", log_level, *store_args],
        env={**os.environ, **(env or {})},
        stdout=output, stderr=subprocess.STDOUT if log is not None else subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"identity serve did not become ready on {url}")
            time.sleep(0.1)
        yield RunningServer(process, url)
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=30)
        if not isinstance(output, int):
            output.close()
