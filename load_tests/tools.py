"""Benchmark tools: publishing a report, and tools fetched on first use and cached in
.devservers/ (gitignored).

`ghz_binary()` builds ghz, the gRPC load generator, from the Go module proxy with `go install`
at a pinned version, once; later calls reuse the binary.

    python -m load_tests.tools ghz     # prints the path, building it if needed
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = REPO_ROOT / ".devservers"
PROTO_ROOT = REPO_ROOT / "protos"
IDENTITY_PROTO = PROTO_ROOT / "identity" / "v1" / "identity.proto"

# The newest ghz release (2024-05-30); it builds with Go 1.26.
GHZ_MODULE = "github.com/bojand/ghz/cmd/ghz"
GHZ_VERSION = "v0.120.0"


def publish(text: str, out: Path | None = None) -> None:
    """Prints a benchmark's output and, with `out`, writes it there as well."""
    print(text)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One builder at a time (parallel test runs, two benchmarks)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _go() -> str:
    found = shutil.which("go") or next(
        (p for p in ("/usr/local/go/bin/go", "/usr/lib/go/bin/go") if Path(p).is_file()), None)
    if found is None:
        raise RuntimeError("ghz is built with Go (1.21+): install Go, or put a ghz binary at "
                           f"{ghz_path()}")
    return found


def ghz_path(version: str = GHZ_VERSION) -> Path:
    return CACHE_DIR / "ghz" / version / "ghz"


def ghz_binary(version: str = GHZ_VERSION) -> Path:
    """The ghz binary at `version`, built from the Go module proxy the first time."""
    binary = ghz_path(version)
    if binary.is_file():
        return binary
    with _locked(binary.parent.parent / f"{version}.lock"):
        if binary.is_file():
            return binary
        print(f"building ghz {version} with go install (once) ...", file=sys.stderr)
        partial = binary.parent.with_name(f"{version}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        done = subprocess.run([_go(), "install", f"{GHZ_MODULE}@{version}"],
                              env={**os.environ, "GOBIN": str(partial), "CGO_ENABLED": "0"},
                              capture_output=True, text=True, check=False)
        if done.returncode != 0 or not (partial / "ghz").is_file():
            raise RuntimeError(f"go install {GHZ_MODULE}@{version} failed:\n{done.stderr}")
        shutil.rmtree(binary.parent, ignore_errors=True)
        partial.rename(binary.parent)
    return binary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("tool", choices=["ghz"])
    parser.parse_args(argv)
    print(ghz_binary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
