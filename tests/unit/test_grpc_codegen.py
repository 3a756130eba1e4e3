"""The checked-in gRPC stubs are exactly what the proto generates today: none can drift."""

from __future__ import annotations

from pathlib import Path

from identity.api.grpc import codegen

CHECKED_IN = codegen.REPO / "src"


def test_checked_in_stubs_match_a_fresh_generation(tmp_path: Path) -> None:
    fresh = codegen.generate(tmp_path)
    stale = [str(path.relative_to(tmp_path)) for path in fresh
             if path.read_bytes() != (CHECKED_IN / path.relative_to(tmp_path)).read_bytes()]
    assert not stale, (f"stale gRPC stubs {stale}: run `python -m identity.api.grpc.codegen` "
                       "and commit the result")


def test_a_changed_proto_generates_different_stubs(tmp_path: Path) -> None:
    """The comparison above can fail: an edited contract changes the generated code."""
    protos = tmp_path / "protos"
    source = protos / codegen.SOURCES[0]
    source.parent.mkdir(parents=True)
    text = (codegen.PROTOS / codegen.SOURCES[0]).read_text(encoding="utf-8")
    source.write_text(text.replace("bool id_only = 4;", "bool id_only = 4;\n  bool extra = 99;"),
                      encoding="utf-8")
    (generated,) = [p for p in codegen.generate(tmp_path / "out", protos) if p.suffix == ".py"
                    and p.name == "identity_pb2.py"]
    assert generated.read_bytes() != (CHECKED_IN / "identity/v1/identity_pb2.py").read_bytes()
