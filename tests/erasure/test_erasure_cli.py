"""identity erase | export | suppressions lift, as operators run them (main(argv))."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from identity.cli import main
from identity.domain.types import Identifier
from tests.api.test_cli import profile_ids
from tests.builders import event, ident

EMAIL = "ines.duarte@northwind.org"


def ingest(tmp_path: Path, database: Path, name: str) -> int:
    source = tmp_path / f"{name}.jsonl"
    source.write_text(json.dumps(event(ident("email", EMAIL), ident("customer_id", "c-ines"),
                                       event_id="cli-1", traits={"first_name": "Ines"})) + "\n")
    return main(["ingest", str(source), "--database", str(database), "--quiet",
                 "--fail-on-reject"])


def ingested(tmp_path: Path) -> tuple[Path, str]:
    """A store with Ines ingested through the CLI, and her profile's id."""
    database = tmp_path / "g.db"
    assert ingest(tmp_path, database, "first") == 0
    (profile_id,) = profile_ids(database, [Identifier("email", EMAIL)])
    assert profile_id is not None
    return database, profile_id


def test_export_then_erase_then_a_replay_is_refused_until_lifted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database, profile_id = ingested(tmp_path)
    capsys.readouterr()

    out = tmp_path / "export.json"
    assert main(["export", profile_id, "--database", str(database), "--output", str(out),
                 "--actor", "dpo@northwind.org"]) == 0
    assert EMAIL in out.read_text() and json.loads(out.read_text())["profile_id"] == profile_id
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert main(["export", profile_id, "--database", str(database), "--output",
                 str(out)]) == 2  # never over a file
    assert "exists" in capsys.readouterr().err

    assert main(["erase", profile_id, "--reason", "request 5", "--database",
                 str(database)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["profile_id"] == profile_id and printed["identifiers"] == 2
    assert EMAIL not in json.dumps(printed)
    assert profile_ids(database, [Identifier("email", EMAIL)]) == [None]

    assert ingest(tmp_path, database, "replay") != 0  # rejected: erased
    assert "erased" in capsys.readouterr().out  # the summary of rejects
    assert main(["erase", profile_id, "--reason", "again", "--database", str(database)]) == 2
    assert "no profile" in capsys.readouterr().err

    assert main(["suppressions", "lift", "email", EMAIL.upper(), "--reason", "came back",
                 "--database", str(database)]) == 0
    assert main(["suppressions", "lift", "email", EMAIL, "--reason", "came back",
                 "--database", str(database)]) == 2  # lifted already
    assert ingest(tmp_path, database, "back") == 0
    assert profile_ids(database, [Identifier("email", EMAIL)]) != [None]


def test_export_refuses_an_unwritable_path_or_an_unshowable_actor_before_auditing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database, profile_id = ingested(tmp_path)
    capsys.readouterr()
    missing = tmp_path / "no-such-folder" / "export.json"
    assert main(["export", profile_id, "--database", str(database), "--output",
                 str(missing)]) == 2
    assert "cannot write" in capsys.readouterr().err
    out = tmp_path / "export.json"
    for actor, said in (("dpo\x1b[2J", "control characters"), ("dpo\ud800", "surrogate"),
                        ("d" * 100_000, "at most 200")):
        assert main(["export", profile_id, "--database", str(database), "--output", str(out),
                     "--actor", actor]) == 2
        assert said in capsys.readouterr().err
        assert not out.exists()  # nothing exported: no file left behind
    assert main(["export", profile_id, "--database", str(database), "--output",
                 str(out)]) == 0
    audit = json.loads(out.read_text())["audit"]
    assert audit == []  # the refused ones were not audited (this one's entry follows it)


@pytest.mark.parametrize("profile_id", ["prf_\udcff", "prf_\x1b[2J", "p" * 100_000, ""])
@pytest.mark.parametrize("command", ["erase", "export"])
def test_a_profile_id_that_cannot_be_one_is_refused_before_the_store_opens(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, profile_id: str
        ) -> None:
    database = tmp_path / "g.db"
    argv = [command, profile_id, "--database", str(database)]
    assert main([*argv, "--reason", "asked"] if command == "erase" else argv) == 2
    err = capsys.readouterr().err
    assert "is not a profile id" in err and "codec" not in err and "\x1b" not in err
    assert len(err) < 400 and not database.exists()  # as GraphQL and gRPC refuse it
