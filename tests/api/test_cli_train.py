"""`identity train` as users run it: on the store's records or on files, saved where the
service reads it."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import pytest

from identity.cli import main
from identity.config import Settings
from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.domain.matching.model import MatchModel


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    """A store holding the records of 300 generated people's journeys."""
    events, database = tmp_path / "e.jsonl", tmp_path / "g.db"
    assert main(["generate", "--people", "300", "--seed", "5", "--out", str(events),
                 "--truth", str(tmp_path / "t.csv")]) == 0
    assert main(["ingest", str(events), "--database", str(database), "--quiet"]) == 0
    return database


def test_train_on_the_store_saves_a_fitted_model_the_service_then_uses(
    stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model.json"
    capsys.readouterr()
    assert main(["train", "--database", str(stored), "--out", str(out), "--quiet"]) == 0
    summary = capsys.readouterr().out
    assert "records from the sqlite store" in summary and str(out) in summary

    model = MatchModel.from_json(out.read_text())
    assert json.loads(out.read_text())["comparisons"][0]["field"] == "first_name"  # readable
    assert model.comparisons != DEFAULT_MODEL.comparisons  # m and u were fitted
    assert model.term_frequencies["last_name"]  # common and rare surnames weigh differently
    assert model.prior != DEFAULT_MODEL.prior  # estimated from the prior rules
    matcher = Settings(model=str(out)).matcher()
    assert matcher is not None and matcher.model == model


def test_a_fit_worse_than_the_model_in_force_is_saved_only_when_forced(
    stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fitted from a base that links almost nothing, the fit recalls less of what the events
    join than the built-in model: refused, the file in force untouched, unless --force."""
    in_force, timid = tmp_path / "model.json", tmp_path / "timid.json"
    timid.write_text(replace(DEFAULT_MODEL, link_threshold=1 - 1e-12).to_json())
    monkeypatch.setenv("IDENTITY_MODEL", str(in_force))
    train = ["train", "--database", str(stored), "--base", str(timid), "--quiet"]
    capsys.readouterr()

    assert main(train) == 1
    said = capsys.readouterr()
    assert "fitted model: estimated precision" in said.out
    assert "in force model: estimated precision" in said.out
    assert ("the fitted model is worse than the one in force (the built-in model); nothing "
            "saved (--force saves it anyway)") in said.err
    assert not in_force.exists()

    assert main([*train, "--force"]) == 0
    assert MatchModel.from_json(in_force.read_text()).link_threshold == 1 - 1e-12
    in_force_before = in_force.read_text()
    assert main(train) == 0  # the same fit against itself: no worse, saved
    assert f"worse than the one in force ({in_force})" not in capsys.readouterr().err
    assert MatchModel.from_json(in_force.read_text()).link_threshold == \
        MatchModel.from_json(in_force_before).link_threshold


def test_train_on_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = tmp_path / "people.csv"
    with rows.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "given", "last_name", "date_of_birth", "postcode"])
        for i in range(150):
            given = "Ann" if i < 100 else "Bob" if i < 148 else f"Zed{i}"
            writer.writerow([f"r{i}", given, f"Name{i % 50}",
                             f"19{50 + i % 40}-0{1 + i % 9}-1{i % 10}", f"LS{i % 7} 1AA"])
    out = tmp_path / "trained.json"
    assert main(["train", "--records", str(rows), "--field", "first_name=given",
                 "--out", str(out), "--quiet"]) == 0
    assert f"150 records from {rows}" in capsys.readouterr().out
    # Common names are kept with their share; the names of one person only are not written
    # out, and count as the rarest ("").
    assert MatchModel.from_json(out.read_text()).term_frequencies["first_name"] == {
        "ann": pytest.approx(100 / 150), "bob": pytest.approx(48 / 150),
        "": pytest.approx(1 / 150)}


def test_too_few_records_save_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = tmp_path / "few.csv"
    rows.write_text("id,first_name,last_name\nr1,Ann,Okafor\nr2,Anne,Okafor\n")
    out = tmp_path / "model.json"
    assert main(["train", "--records", str(rows), "--out", str(out), "--quiet"]) == 2
    assert "at least 100 are needed to fit a model, nothing saved" in capsys.readouterr().err
    assert not out.exists()


def test_a_model_file_that_is_not_a_model_stops_the_service_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "model.json"
    broken.write_text('{"comparisons": "none"}')
    assert main(["serve", "--database", str(tmp_path / "g.db"), "--model", str(broken)]) == 2
    assert f"{broken}: not a match model" in capsys.readouterr().err
