"""Benchmark tools fetched on first use and cached in .devservers/ (gitignored), and the gRPC stubs.

`ghz_binary()` builds ghz, the gRPC load generator, from the Go module proxy with `go install`
at a pinned version, once; later calls reuse the binary. `grpc_stubs()` returns the generated
`identity.v1` modules: the package's own when they exist, else ones generated here from
protos/ with grpcio-tools (into the same cache, keyed by the proto's hash).

    python -m load_tests.tools ghz     # prints the path, building it if needed
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = REPO_ROOT / ".devservers"
PROTO_ROOT = REPO_ROOT / "protos"
IDENTITY_PROTO = PROTO_ROOT / "identity" / "v1" / "identity.proto"

# The newest ghz release (2024-05-30); it builds with Go 1.26.
GHZ_MODULE = "github.com/bojand/ghz/cmd/ghz"
GHZ_VERSION = "v0.120.0"


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


def _proto_hash() -> str:
    return hashlib.sha256(IDENTITY_PROTO.read_bytes()).hexdigest()[:12]


def _generate_stubs(out: Path) -> None:
    from grpc_tools import protoc  # grpcio-tools; only needed while the package has no stubs

    with _locked(out.with_name(f"{out.name}.lock")):
        if (out / "identity" / "v1" / "identity_pb2_grpc.py").is_file():
            return
        partial = out.with_name(f"{out.name}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        well_known = Path(protoc.__file__).parent / "_proto"
        code = protoc.main(["grpc_tools.protoc", f"-I{PROTO_ROOT}", f"-I{well_known}",
                            f"--python_out={partial}", f"--grpc_python_out={partial}",
                            str(IDENTITY_PROTO.relative_to(PROTO_ROOT))])
        if code != 0:
            raise RuntimeError(f"grpc_tools.protoc failed on {IDENTITY_PROTO} ({code})")
        shutil.rmtree(out, ignore_errors=True)
        partial.rename(out)


def grpc_stubs() -> tuple[ModuleType, ModuleType]:
    """(identity_pb2, identity_pb2_grpc) of identity.v1.

    The package's generated stubs when it has them; otherwise stubs generated from protos/
    into .devservers/grpc-stubs/<proto hash>/identity/v1/, mounted as the `identity.v1`
    namespace package, so that the generated imports (`from identity.v1 import ...`) hold."""
    import identity

    if importlib.util.find_spec("identity.v1") is None:
        out = CACHE_DIR / "grpc-stubs" / _proto_hash()
        _generate_stubs(out)
        identity.__path__.append(str(out / "identity"))
        importlib.invalidate_caches()
    pb2 = importlib.import_module("identity.v1.identity_pb2")
    pb2_grpc = importlib.import_module("identity.v1.identity_pb2_grpc")
    return pb2, pb2_grpc


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("tool", choices=["ghz", "stubs"])
    args = parser.parse_args(argv)
    if args.tool == "ghz":
        print(ghz_binary())
    else:
        pb2, _ = grpc_stubs()
        print(pb2.__file__)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
