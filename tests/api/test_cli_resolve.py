"""`identity resolve` as users run it, through main(argv), on CSV files in a temporary folder."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from identity.cli import main
from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.domain.matching.engine import MIN_RECORDS_TO_FIT
from tests.unit.test_matching_engine import population

HEADER = ["id", "first_name", "last_name", "date_of_birth", "address_line1", "city", "postcode"]
ANN = ["Ann", "Okafor", "1985-04-12", "12 Main Street", "Leeds", "LS1 4AP"]
ANN_AGAIN = ["Anne", "Okafor", "1985-04-12", "12 Main St", "Leeds", "LS1 4AP"]
BOB = ["Bob", "Jones", "1971-01-30", "3 High Road", "York", "YO1 7HH"]
ROBERT = ["Robert", "Jones", "1971-01-30", "3 High Road", "York", "YO1 7HH"]
CHIDI = ["Chidi", "Eze", "1990-06-01", "8 Canal Street", "Manchester", "M1 2AB"]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows([header, *rows])
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def clusters_of(path: Path) -> dict[tuple[str, str], str]:
    return {(row["source"], row["record_id"]): row["cluster_id"] for row in read_csv(path)}


def resolve(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main(["resolve", *map(str, argv), "--quiet"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_one_file_is_deduplicated_into_numbered_clusters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = write_csv(tmp_path / "people.csv", [["1", *ANN], ["2", *BOB], ["3", *ANN_AGAIN],
                                                 ["4", *ROBERT], ["5", *CHIDI]])
    out = tmp_path / "clusters.csv"
    code, summary, _ = resolve(capsys, people, "--out", out)
    assert code == 0
    assert read_csv(out) == [
        {"source": "people.csv", "record_id": "1", "cluster_id": "1"},
        {"source": "people.csv", "record_id": "2", "cluster_id": "2"},
        {"source": "people.csv", "record_id": "3", "cluster_id": "1"},
        {"source": "people.csv", "record_id": "4", "cluster_id": "2"},
        {"source": "people.csv", "record_id": "5", "cluster_id": "3"},
    ]
    assert summary.startswith("5 records, 2 candidate pairs, 2 links, 3 clusters, "
                              "0 oversized blocks skipped, model as given (fewer than ")
    assert summary.count("\n") == 1


def test_two_files_are_linked_and_pairs_within_a_file_do_not_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    crm = write_csv(tmp_path / "crm.csv", [["c1", *ANN], ["c2", *ANN_AGAIN], ["c3", *CHIDI]])
    shop = write_csv(tmp_path / "shop.csv", [["c1", *BOB], ["s2", *ROBERT], ["s3", *ANN]])
    out, pairs = tmp_path / "clusters.csv", tmp_path / "pairs.csv"
    code, summary, _ = resolve(capsys, crm, shop, "--out", out, "--pairs", pairs)
    assert code == 0
    clusters = clusters_of(out)
    # the same id in both files is two records; c1 and c2 meet only through s3
    assert clusters[("crm.csv", "c1")] == clusters[("crm.csv", "c2")] == clusters[
        ("shop.csv", "s3")]
    assert clusters[("shop.csv", "c1")] != clusters[("shop.csv", "s2")]  # both in shop.csv
    assert len(set(clusters.values())) == 4
    linked = [(r["left_source"], r["left_id"], r["right_source"], r["right_id"])
              for r in read_csv(pairs)]
    assert linked == [("crm.csv", "c1", "shop.csv", "s3"), ("crm.csv", "c2", "shop.csv", "s3")]
    assert all(0.95 <= float(r["probability"]) <= 1 for r in read_csv(pairs))
    assert summary.startswith("6 records, 2 candidate pairs, 2 links, 4 clusters")


def test_columns_map_onto_model_fields_and_the_id_column_can_be_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = ["ref", "given", "surname", "dob", "address_line1", "city", "zip"]
    people = write_csv(tmp_path / "p.csv", [["a", *ANN], ["b", *ANN_AGAIN]], header)
    out = tmp_path / "c.csv"
    code, _, _ = resolve(capsys, people, "--out", out, "--id-column", "ref", "--field",
                         "first_name=given", "--field", "last_name=surname", "--field",
                         "date_of_birth=dob", "--field", "postcode=zip")
    assert code == 0 and set(clusters_of(out).values()) == {"1"}
    # without the mapping only address and city are read: no blocking key, no pair
    code, summary, _ = resolve(capsys, people, "--out", out, "--id-column", "ref")
    assert code == 0 and set(clusters_of(out).values()) == {"1", "2"}
    assert "0 candidate pairs" in summary


def test_threshold_and_a_saved_model_decide_what_links(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = write_csv(tmp_path / "p.csv", [["1", *ANN], ["2", *ANN_AGAIN]])
    out, pairs = tmp_path / "c.csv", tmp_path / "pairs.csv"
    assert resolve(capsys, people, "--out", out, "--pairs", pairs)[0] == 0
    (pair,) = read_csv(pairs)
    probability = float(pair["probability"])
    above = f"{min(probability + (1 - probability) / 2, 0.999999):.6f}"
    code, summary, _ = resolve(capsys, people, "--out", out, "--threshold", above)
    assert code == 0 and " 0 links, 2 clusters" in summary
    strict = tmp_path / "strict.json"
    strict.write_text(replace(DEFAULT_MODEL, link_threshold=float(above)).to_json())
    code, summary, _ = resolve(capsys, people, "--out", out, "--model", strict)
    assert code == 0 and " 0 links, 2 clusters" in summary


def test_the_model_is_fitted_on_the_input_unless_told_not_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records, _ = population(120, seed=5)
    assert len(records) >= MIN_RECORDS_TO_FIT
    fields = ["first_name", "last_name", "date_of_birth", "postcode", "city"]
    people = write_csv(tmp_path / "many.csv", [
        [record_id, *(record.get(name) or "" for name in fields)]
        for record_id, record in records.items()], ["id", *fields])
    out = tmp_path / "c.csv"
    code, summary, _ = resolve(capsys, people, "--out", out)
    assert code == 0 and "model fitted on the input" in summary
    clusters = clusters_of(out)
    together = sum(clusters[("many.csv", f"{p}a")] == clusters[("many.csv", f"{p}b")]
                   for p in range(0, 120, 3))
    assert together >= 36
    code, summary, _ = resolve(capsys, people, "--out", out, "--no-train")
    assert code == 0 and "model as given (--no-train)" in summary


def test_progress_goes_to_stderr_unless_quiet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = write_csv(tmp_path / "p.csv", [["1", *ANN], ["2", *ANN_AGAIN]])
    assert main(["resolve", str(people), "--out", str(tmp_path / "c.csv")]) == 0
    captured = capsys.readouterr()
    assert "clustering" in captured.err and "stages" in captured.err
    assert "clustering" not in captured.out


@pytest.mark.parametrize(
    ("setup", "argv", "message"),
    [
        pytest.param(lambda d: None, ["missing.csv"], "missing.csv: no such file",
                     id="missing-file"),
        pytest.param(lambda d: write_csv(d / "p.csv", [["Ann"]], ["name"]), ["p.csv"],
                     "p.csv: no id column 'id' (columns: name); say which column holds the ids "
                     "(--id-column)",
                     id="missing-id-column"),
        pytest.param(lambda d: write_csv(d / "p.csv", [["7", *ANN], ["8", *BOB], ["7", *BOB]]),
                     ["p.csv"], "p.csv: duplicate id '7' (rows 2 and 4)", id="duplicate-ids"),
        pytest.param(lambda d: write_csv(d / "p.csv", [["1", *ANN]]),
                     ["p.csv", "--field", "nickname=first_name"],
                     "field mapping 'nickname=first_name': the model has no field 'nickname'",
                     id="unknown-field-target"),
        pytest.param(lambda d: write_csv(d / "p.csv", [["1", *ANN]]),
                     ["p.csv", "--field", "first_name=given"],
                     "p.csv: no column 'given' for the field mapping first_name=given (--field)",
                     id="missing-mapped-column"),
        pytest.param(lambda d: (write_csv(d / "p.csv", [["1", *ANN]]),
                                (d / "m.json").write_text(json.dumps({"prior": 0.1}))),
                     ["p.csv", "--model", "m.json"], "m.json: not a match model: ",
                     id="model-missing-comparisons"),
        pytest.param(lambda d: (write_csv(d / "p.csv", [["1", *ANN]]),
                                (d / "m.json").write_text("id,first_name\n")),
                     ["p.csv", "--model", "m.json"], "m.json: not a match model: not JSON",
                     id="model-not-json"),
        pytest.param(lambda d: write_csv(d / "p.csv", [["1", *ANN]]),
                     ["p.csv", "--threshold", "1.5"],
                     "threshold 1.5: must be between 0 and 1 (--threshold)",
                     id="threshold-out-of-range"),
        pytest.param(lambda d: write_csv(d / "p.csv", [["1", "Ann"]],
                                         header=["\x1b]0;pwned\x07id", "first_name"]),
                     ["p.csv"], "p.csv: no id column 'id' (columns: \\x1b]0;pwned\\x07id, "
                     "first_name)", id="header-with-terminal-escapes"),
        pytest.param(lambda d: [write_csv(d / n, [["1", *ANN]]) for n in ("a", "b", "c")],
                     ["a", "b", "c"], "give one file to deduplicate or two to link",
                     id="three-files"),
    ],
)
def test_bad_input_exits_2_and_says_what_to_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    setup: Callable[[Path], object], argv: list[str], message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    setup(tmp_path)
    out = tmp_path / "clusters.csv"
    code, stdout, stderr = resolve(capsys, *argv, "--out", out)
    assert code == 2
    assert stderr.startswith(f"identity resolve: {message}") and stdout == ""
    assert not out.exists()


def test_the_result_is_never_written_over_an_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = write_csv(tmp_path / "p.csv", [["1", *ANN]])
    before = people.read_text()
    code, _, stderr = resolve(capsys, people, "--out", people)
    assert code == 2 and "p.csv is an input file; write it elsewhere" in stderr
    assert people.read_text() == before


@pytest.mark.parametrize(("document", "reason"), [
    ("[" * 200_000 + "]" * 200_000, "not JSON (nested too deeply"),
    ('{"prior": NaN}', "not JSON (NaN is not a JSON number"),
    ("[]", "not a match model: not a JSON object"),
])
def test_a_model_file_that_is_not_usable_json_is_refused_with_the_reason(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], document: str, reason: str) -> None:
    model = tmp_path / "model.json"
    model.write_text(document)
    write_csv(tmp_path / "p.csv", [["1", *ANN]])
    code, _, err = resolve(capsys, tmp_path / "p.csv", "--out", tmp_path / "out.csv",
                           "--model", model)
    assert code == 2
    assert reason in err and "Traceback" not in err
