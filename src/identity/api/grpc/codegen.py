"""Regenerates the checked-in gRPC stubs from protos/: `python -m identity.api.grpc.codegen`.

The stubs are committed (src/identity/v1/identity_pb2*.py and .pyi), so installing the service
needs no code generator; tests/unit/test_grpc_codegen.py regenerates them into a temporary folder
and fails when the committed ones are stale. grpcio-tools (the dev extra, pinned: its version is
written into the generated code) is imported only here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]
PROTOS = REPO / "protos"
SOURCES = ("identity/v1/identity.proto",)
OUTPUTS = ("identity/v1/identity_pb2.py", "identity/v1/identity_pb2.pyi",
           "identity/v1/identity_pb2_grpc.py")


def generate(out: Path, protos: Path = PROTOS) -> list[Path]:
    """Writes the stubs under `out` (a source root: `out/identity/v1/...`); returns them.
    Raises RuntimeError with protoc's exit status when generation fails."""
    from grpc_tools import protoc

    # google/protobuf/timestamp.proto and the other well-known types ship with grpcio-tools.
    well_known = resources.files("grpc_tools") / "_proto"
    out.mkdir(parents=True, exist_ok=True)
    status = protoc.main([
        "grpc_tools.protoc", f"-I{protos}", f"-I{well_known}",
        f"--python_out={out}", f"--grpc_python_out={out}", f"--pyi_out={out}", *SOURCES,
    ])
    if status != 0:
        raise RuntimeError(f"protoc failed with status {status}")
    return [out / name for name in OUTPUTS]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m identity.api.grpc.codegen",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "src",
                        help="source root to write identity/v1/ under (default: src/)")
    args = parser.parse_args(argv)
    for path in generate(args.out):
        print(path, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
