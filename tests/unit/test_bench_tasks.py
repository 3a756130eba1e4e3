"""The benchmark's `generated` task (load_tests): records, truth and pairs agree; the raw
SQLite reference writes what it counts. Small and fast; no Splink, no recordlinkage."""

from __future__ import annotations

import sqlite3
from collections import Counter
from contextlib import closing
from pathlib import Path

import pytest

from identity.domain.types import Identifier
from identity.synthetic import GeneratorConfig, generate
from load_tests.febrl_realtime import as_event, ceiling_records_per_second, grouped_pairs
from load_tests.generated_task import COLUMNS, GeneratedData, batch_pairs, build
from load_tests.peers import RL_PERSON_RECIPES
from load_tests.tasks import FebrlTask, implied_pairs, pairwise_metrics

PEOPLE, SEED = 80, 11


@pytest.fixture(scope="module")
def data() -> GeneratedData:
    return build(PEOPLE, SEED)


def test_every_record_belongs_to_the_owner_of_its_anchor(data: GeneratedData) -> None:
    truth = {Identifier(r.kind, r.value): r for r in generate(
        GeneratorConfig(people=PEOPLE, seed=SEED)).truth}
    assert len(data.records) >= 50
    assert set(data.records) == set(data.anchors) == set(data.persons)
    for record_id, anchor in data.anchors.items():
        assert record_id.startswith("rec_")
        assert not truth[anchor].is_shared
        assert truth[anchor].person_id == data.persons[record_id]
    assert data.unowned_records == 0
    assert len(data.records) <= data.trait_events < len(data.events)
    assert data.invalid_events >= 1  # the generator writes some bad events; they make no record


def test_true_pairs_are_every_pair_of_one_persons_records(data: GeneratedData) -> None:
    sizes = Counter(data.persons.values())
    assert len(data.true_pairs) == sum(n * (n - 1) // 2 for n in sizes.values()) > 0
    for a, b in data.true_pairs:
        assert a < b
        assert data.persons[a] == data.persons[b]
    # the truth is closed already: clustering it asserts nothing more
    task = FebrlTask("generated", "dedupe", (), data.true_pairs, schema="person")
    assert implied_pairs(data.true_pairs, task) == set(data.true_pairs)
    assert pairwise_metrics(data.true_pairs, data.true_pairs)["f1"] == 1.0


def test_grouped_pairs_pair_the_ids_of_one_group() -> None:
    assert grouped_pairs({"a": "p1", "b": "p1", "c": "p2", "d": None, "e": "p1"}) == {
        ("a", "b"), ("a", "e"), ("b", "e")}
    assert grouped_pairs({"b": "x", "a": "x", "c": "y"}) == {("a", "b")}


def test_a_febrl_event_leaves_out_a_birth_date_the_service_refuses() -> None:
    def born(text: str) -> object:
        return as_event("r1", {"date_of_birth": text}, "file0")["traits"].get("date_of_birth")

    assert born("1970-02-28") == "1970-02-28"
    assert born("1970-02-30") is None and born("1899-12-31") is None  # no date; too early
    assert born("2999-01-01") is None  # in the future


def test_the_rows_hold_the_columns_of_the_records(data: GeneratedData) -> None:
    rows = data.rows()
    assert all(list(row) == ["rec_id", *COLUMNS] for row in rows)
    ids = [row["rec_id"] for row in rows]
    assert len(ids) == len(set(ids)) and set(ids) == set(data.records)
    for row in rows:
        record = data.records[str(row["rec_id"])]
        assert {c: row[c] for c in COLUMNS} == {c: record.get(c) for c in COLUMNS}
    assert "customer_id" not in COLUMNS  # an account number, not a person trait


def test_recordlinkage_recipes_use_only_the_generated_columns() -> None:
    for recipe in RL_PERSON_RECIPES.values():
        used = {*recipe.blocks, *recipe.exact, *(column for column, _, _ in recipe.strings)}
        assert used <= set(COLUMNS)
        assert recipe.source.startswith("ours, modelled on their FEBRL settings")


def test_batch_pairs_are_pairs_of_known_records(data: GeneratedData) -> None:
    pairs = batch_pairs(data)
    assert pairs and all(a < b and a in data.records and b in data.records for a, b in pairs)
    assert pairwise_metrics(pairs, data.true_pairs)["precision"] >= 0.9


def test_the_ceiling_writes_one_row_per_payload(tmp_path: Path) -> None:
    path = tmp_path / "ceiling.db"
    rate = ceiling_records_per_second([f'{{"n": {n}}}' for n in range(20)], path)
    assert rate > 0
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (20,)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
