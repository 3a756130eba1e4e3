"""`identity reindex` as users run it: after the model's blocking rules change, records are
found under the new keys only once re-filed; an interrupted run resumes after its last page;
a checkpoint made for another model or store is refused (docs/architecture.md, Matching)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from identity.cli import main
from identity.cli.arguments import parser
from identity.cli.reindex import store_name
from identity.config import Settings
from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.domain.matching.records import MatchRecord
from identity.domain.types import EventId, Identifier
from identity.service.reindex import (
    Checkpoint,
    Progress,
    ReindexReport,
    blocking_digest,
    read_checkpoint,
    write_checkpoint,
)
from identity.service.reindex import (
    reindex as service_reindex,
)
from identity.store import GraphStore
from identity.store.sqlite import SqliteGraphStore
from tests.neo4j_fixtures import Neo4jAccess, connect, wiped

PEOPLE = [("Ann", "Smith", "Paris"), ("Bob", "Jones", "Lyon"), ("Cleo", "Brown", "Nice"),
          ("Dan", "Smith", "Paris"), ("Eve", "Green", "Lille")]
# The built-in model's first rule is (first_name, last_name); these events give no other.
OLD_KEYS = {first: f"0:{first.lower()}\x1f{last.lower()}" for first, last, _ in PEOPLE}
# The new model files by city, and by surname within a city.
NEW_MODEL = replace(DEFAULT_MODEL, blocking=(("city",), ("last_name", "city")))
# The command's module: `identity.cli.reindex` as an attribute is the command's function.
CLI = sys.modules["identity.cli.reindex"]
NEW_KEYS = {first: (f"0:{city.lower()}", f"1:{last.lower()}\x1f{city.lower()}")
            for first, last, city in PEOPLE}


def events_file(folder: Path) -> Path:
    path = folder / "events.jsonl"
    path.write_text("".join(json.dumps({
        "event_id": f"e-{first}", "type": "identify", "timestamp": "2024-01-01T00:00:00Z",
        "source": "crm", "identifiers": [{"kind": "customer_id", "value": f"C-{first}"}],
        "traits": {"first_name": first, "last_name": last, "city": city}}) + "\n"
        for first, last, city in PEOPLE))
    return path


@pytest.fixture
def model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the model in force is saved: absent (the built-in model) while ingesting."""
    path = tmp_path / "model.json"
    monkeypatch.setenv("IDENTITY_MODEL", str(path))
    return path


@pytest.fixture
def database(tmp_path: Path, model: Path) -> Path:
    """The five people's records, filed under the built-in model's keys; then `identity
    train` (as it were) saves a model with other blocking rules."""
    path = tmp_path / "g.db"
    assert main(["ingest", str(events_file(tmp_path)), "--database", str(path), "--quiet"]) == 0
    model.write_text(NEW_MODEL.to_json())
    return path


def read_store(store: Callable[[], Any], keys: list[str]) -> tuple[dict[str, str], list[str]]:
    """(first name of each record's person by record id, first names found under `keys`)."""

    async def read() -> tuple[dict[str, str], list[str]]:
        opened: GraphStore = await store()
        try:
            async with opened.transaction(read_only=True) as tx:
                records = await tx.matches.scan_records("", 100)
                lookup = await tx.matches.find_records(keys, 500)
        finally:
            await opened.close()
        return ({r.record_id: dict(r.fields)["first_name"] for r in records},
                sorted(dict(r.fields)["first_name"] for r in lookup.records))

    return asyncio.run(read())


def sqlite(database: Path) -> Callable[[], Any]:
    async def opened() -> GraphStore:
        return SqliteGraphStore(str(database))

    return opened


def found(database: Path, *keys: str) -> list[str]:
    return read_store(sqlite(database), list(keys))[1]


def record_ids(database: Path) -> list[str]:
    """Record ids in id order, the order reindex pages in."""
    return sorted(read_store(sqlite(database), [])[0])


def people_in_order(database: Path) -> list[str]:
    by_id = read_store(sqlite(database), [])[0]
    return [by_id[record_id] for record_id in sorted(by_id)]


def all_new_keys() -> list[str]:
    return [key for keys in NEW_KEYS.values() for key in keys]


def summary(out: str) -> dict[str, Any]:
    (line,) = out.strip().splitlines()
    parsed: dict[str, Any] = json.loads(line)
    return parsed


def test_records_are_found_under_the_new_models_keys_only_after_reindex(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint = tmp_path / "reindex.json"
    assert found(database, *all_new_keys()) == []  # the new rules find nothing yet
    assert found(database, *OLD_KEYS.values()) == ["Ann", "Bob", "Cleo", "Dan", "Eve"]
    capsys.readouterr()

    assert main(["reindex", "--database", str(database), "--checkpoint", str(checkpoint),
                 "--quiet"]) == 0

    done = summary(capsys.readouterr().out)
    assert {k: done[k] for k in ("records", "refiled", "pages", "resumed_after")} == {
        "records": 5, "refiled": 5, "pages": 1, "resumed_after": None}
    assert isinstance(done["seconds"], float)
    assert found(database, *OLD_KEYS.values()) == []
    assert found(database, "0:paris") == ["Ann", "Dan"]
    assert found(database, "1:smith\x1fparis") == ["Ann", "Dan"]
    assert found(database, "1:jones\x1flyon") == ["Bob"]
    assert found(database, *all_new_keys()) == ["Ann", "Bob", "Cleo", "Dan", "Eve"]
    assert not checkpoint.exists()  # the run ended: the next one starts from the start

    # Run again: every record is already where the model files it.
    assert main(["reindex", "--database", str(database), "--checkpoint", str(checkpoint),
                 "--quiet", "--page-size", "2"]) == 0
    again = summary(capsys.readouterr().out)
    assert (again["records"], again["refiled"], again["pages"]) == (5, 0, 3)


def test_an_interrupted_run_goes_on_after_its_last_page(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C after the first page of two records: the checkpoint holds its last id; the
    next run re-files the three records after it, in two pages, and none before it."""
    checkpoint = tmp_path / "reindex.json"
    command = ["reindex", "--database", str(database), "--checkpoint", str(checkpoint),
               "--page-size", "2", "--quiet"]
    real = service_reindex  # what the command calls
    assert CLI.reindex_store is real
    heard: list[Progress] = []

    async def interrupted(*args: Any, progress: Callable[[Progress], object],
                          **kwargs: Any) -> ReindexReport:
        def hook(done: Progress) -> None:
            heard.append(done)
            progress(done)
            if done.pages:
                raise KeyboardInterrupt

        report: ReindexReport = await real(*args, progress=hook, **kwargs)
        return report

    monkeypatch.setattr(CLI, "reindex_store", interrupted)
    capsys.readouterr()
    assert main(command) == 130
    assert "interrupted" in capsys.readouterr().err
    assert [(p.scanned, p.pages, p.total) for p in heard] == [(0, 0, 5), (2, 1, 5)]
    ids, people = record_ids(database), people_in_order(database)
    saved = read_checkpoint(checkpoint)
    assert saved is not None
    assert (saved.after, saved.scanned, saved.refiled, saved.pages) == (ids[1], 2, 2, 1)
    assert saved.blocking == blocking_digest(NEW_MODEL)
    assert found(database, *OLD_KEYS.values()) == sorted(people[2:])  # not re-filed yet

    monkeypatch.setattr(CLI, "reindex_store", real)
    assert main(command) == 0
    resumed = summary(capsys.readouterr().out)
    assert {k: resumed[k] for k in ("records", "refiled", "pages", "resumed_after")} == {
        "records": 3, "refiled": 3, "pages": 2, "resumed_after": ids[1]}
    assert found(database, *OLD_KEYS.values()) == []
    assert found(database, *all_new_keys()) == ["Ann", "Bob", "Cleo", "Dan", "Eve"]
    assert not checkpoint.exists()


def checkpoint_at(database: Path, after: str, *, blocking: str, store: str | None = None
                  ) -> Checkpoint:
    named = store or store_name(Settings(database=str(database)))
    return Checkpoint(blocking, named, after, 2, 2, 1)


def test_a_run_resumed_from_a_checkpoint_never_refiles_the_records_before_it(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint = tmp_path / "reindex.json"
    ids, people = record_ids(database), people_in_order(database)
    write_checkpoint(checkpoint, checkpoint_at(database, ids[1],
                                               blocking=blocking_digest(NEW_MODEL)))
    capsys.readouterr()

    assert main(["reindex", "--database", str(database), "--checkpoint", str(checkpoint),
                 "--quiet"]) == 0

    done = summary(capsys.readouterr().out)
    assert (done["records"], done["refiled"], done["resumed_after"]) == (3, 3, ids[1])
    # The checkpoint said the first two were done: they were not touched.
    assert found(database, *OLD_KEYS.values()) == sorted(people[:2])
    assert found(database, *all_new_keys()) == sorted(people[2:])


def test_a_checkpoint_made_for_another_model_is_refused_until_restart(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run under the built-in model's rules stopped after two records; the model in force
    now has other rules: going on would leave those two under the old keys."""
    checkpoint = tmp_path / "reindex.json"
    ids = record_ids(database)
    write_checkpoint(checkpoint, checkpoint_at(database, ids[1],
                                               blocking=blocking_digest(DEFAULT_MODEL)))
    command = ["reindex", "--database", str(database), "--checkpoint", str(checkpoint),
               "--quiet"]
    capsys.readouterr()

    assert main(command) == 2
    said = capsys.readouterr()
    assert said.out == ""
    assert f"{checkpoint} was made for a model with other blocking rules" in said.err
    assert "--restart" in said.err
    assert found(database, *all_new_keys()) == []  # nothing re-filed
    assert read_checkpoint(checkpoint) is not None  # left as it was

    assert main([*command, "--restart"]) == 0
    done = summary(capsys.readouterr().out)
    assert (done["records"], done["refiled"], done["resumed_after"]) == (5, 5, None)
    assert found(database, *all_new_keys()) == ["Ann", "Bob", "Cleo", "Dan", "Eve"]
    assert not checkpoint.exists()


def test_a_checkpoint_of_another_store_or_not_a_checkpoint_is_refused(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint = tmp_path / "reindex.json"
    command = ["reindex", "--database", str(database), "--checkpoint", str(checkpoint),
               "--quiet"]
    write_checkpoint(checkpoint, checkpoint_at(database, "rec_", store="sqlite:/elsewhere.db",
                                               blocking=blocking_digest(NEW_MODEL)))
    capsys.readouterr()
    assert main(command) == 2
    assert "was made for another store (sqlite:/elsewhere.db" in capsys.readouterr().err

    checkpoint.write_text('{"version": 1, "after": 3}')
    assert main(command) == 2
    assert "not a reindex checkpoint" in capsys.readouterr().err
    assert found(database, *all_new_keys()) == []


def test_reindex_refuses_a_bad_page_size_and_a_missing_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "none.db"
    assert main(["reindex", "--database", str(missing), "--page-size", "0"]) == 2
    assert "--page-size must be from 1 to 100,000" in capsys.readouterr().err
    assert main(["reindex", "--database", str(missing), "--quiet"]) == 2
    assert "none.db: no such database" in capsys.readouterr().err
    assert not missing.exists()


def test_reindex_help_says_what_each_option_is_for_and_its_default(
    capsys: pytest.CaptureFixture[str]
) -> None:
    commands = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    command = commands.choices["reindex"]
    assert command.description
    for option in command._actions:
        assert option.help, option.dest
        if option.default not in (None, False, argparse.SUPPRESS):
            assert "default" in option.help, (option.dest, option.help)
    with pytest.raises(SystemExit):
        main(["reindex", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "(default data/reindex-checkpoint.json)" in shown
    assert "(default 1000)" in shown
    assert "env IDENTITY_MODEL, default data/model.json" in shown


@pytest.fixture
def neo4j_env(neo4j_access: Neo4jAccess, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    wiped(neo4j_access)
    monkeypatch.setenv("IDENTITY_STORE", "neo4j")
    monkeypatch.setenv("IDENTITY_NEO4J_URI", neo4j_access.uri)
    monkeypatch.setenv("IDENTITY_NEO4J_USER", neo4j_access.user)
    monkeypatch.setenv("IDENTITY_NEO4J_PASSWORD", neo4j_access.password)
    yield
    wiped(neo4j_access)


def filed_under_the_built_in_model() -> list[MatchRecord]:
    """The five people's records as ingest files them under the built-in model."""
    at = datetime(2024, 1, 1, tzinfo=UTC)
    return [MatchRecord(f"rec_{first.lower()}", Identifier("customer_id", f"C-{first}"),
                        (("city", city), ("first_name", first), ("last_name", last)),
                        (OLD_KEYS[first],), EventId(f"e-{first}"), "crm", at)
            for first, last, city in PEOPLE]


@pytest.mark.neo4j
@pytest.mark.usefixtures("neo4j_env")
def test_reindex_on_neo4j_resumes_and_refiles_under_the_new_keys(
    neo4j_access: Neo4jAccess, model: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Ann's record (the first id) is done by the checkpoint; the four others are re-filed
    in two pages."""

    async def store() -> GraphStore:
        return await connect(neo4j_access)

    async def seed() -> None:
        opened = await store()
        try:
            async with opened.transaction() as tx:
                await tx.matches.index_records(filed_under_the_built_in_model(), 500)
        finally:
            await opened.close()

    asyncio.run(seed())
    model.write_text(NEW_MODEL.to_json())
    checkpoint = tmp_path / "reindex.json"
    write_checkpoint(checkpoint, Checkpoint(blocking_digest(NEW_MODEL),
                                            store_name(Settings.from_env()), "rec_ann",
                                            1, 1, 1))
    capsys.readouterr()

    assert main(["reindex", "--checkpoint", str(checkpoint), "--page-size", "2",
                 "--quiet"]) == 0

    done = summary(capsys.readouterr().out)
    assert (done["records"], done["refiled"], done["pages"]) == (4, 4, 2)
    assert read_store(store, list(OLD_KEYS.values()))[1] == ["Ann"]
    assert read_store(store, all_new_keys())[1] == ["Bob", "Cleo", "Dan", "Eve"]
    assert read_store(store, ["0:paris", "1:smith\x1fparis"])[1] == ["Dan"]
    assert not checkpoint.exists()
