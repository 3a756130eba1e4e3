"""The mutation score: equivalents leave the count, gaps stay in it, the unexplained fail."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from load_tests.mutation_score import main

MODULE = "identity.domain.guards"


def write_verdicts(folder: Path, codes: Mapping[str, int | None]) -> Path:
    meta = folder / "mutants" / "src" / "identity" / "domain" / "guards.py.meta"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"exit_code_by_key": codes}), encoding="utf-8")
    return folder / "mutants"


def write_document(folder: Path, equivalent: list[str], gaps: list[str]) -> Path:
    lines = [
        "# Mutation testing",
        "",
        "`identity.domain.guards.x_f__mutmut_9` is named in prose.",
        "",
    ]
    lines += ["## Equivalent mutants", ""] + [
        f"- `{name}`: no input tells it apart" for name in equivalent
    ]
    lines += ["", "## Known gaps", ""] + [f"- `{name}`: not pinned yet" for name in gaps]
    document = folder / "mutation.md"
    document.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return document


def run(
    capsys: pytest.CaptureFixture[str], mutants: Path, document: Path
) -> tuple[int, dict[str, object]]:
    status = main(["--mutants", str(mutants), "--equivalents", str(document)])
    report: dict[str, object] = json.loads(capsys.readouterr().out)
    return status, report


def name(number: int) -> str:
    return f"{MODULE}.x_f__mutmut_{number}"


def test_equivalents_leave_the_count_and_gaps_count_as_missed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 40 detected (killed, timeout, crash), one equivalent survivor, one known gap.
    codes: dict[str, int | None] = {name(n): 1 for n in range(1, 38)}
    codes |= {name(38): 36, name(39): -11, name(40): 3, name(41): 0, name(42): 0}
    status, report = run(
        capsys, write_verdicts(tmp_path, codes), write_document(tmp_path, [name(41)], [name(42)])
    )
    assert report["detected"] == 40
    assert report["equivalent_listed"] == 1
    assert report["known_gaps"] == 1
    assert report["score_over_non_equivalent"] == round(40 / 41, 4)
    assert report["unexplained_survivors"] == []
    assert report["by_module"] == {MODULE: {"mutants": 42, "missed": 1}}
    assert status == 0


def test_an_unexplained_survivor_or_an_untested_mutant_fails_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    codes: dict[str, int | None] = {name(n): 1 for n in range(1, 100)}
    codes |= {name(100): 0, name(101): 33}
    status, report = run(capsys, write_verdicts(tmp_path, codes), write_document(tmp_path, [], []))
    assert report["unexplained_survivors"] == [name(100), name(101)]
    assert report["score_over_non_equivalent"] == round(99 / 101, 4)
    assert status == 1


def test_a_score_under_the_bar_fails_even_when_every_survivor_is_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    codes = {name(n): 1 for n in range(1, 10)} | {name(10): 0}
    status, report = run(
        capsys, write_verdicts(tmp_path, codes), write_document(tmp_path, [], [name(10)])
    )
    assert report["score_over_non_equivalent"] == 0.9
    assert status == 1


def test_a_mutant_not_run_fails_the_run_and_stale_names_are_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    codes: dict[str, int | None] = {name(n): 1 for n in range(1, 30)} | {name(30): None}
    # name(9) is named in the prose above the sections, which lists nothing.
    status, report = run(
        capsys, write_verdicts(tmp_path, codes), write_document(tmp_path, [name(5)], [])
    )
    assert report["not_run"] == 1
    assert report["equivalent_listed"] == 0
    assert report["listed_but_not_surviving"] == [name(5)]
    assert status == 1


def test_no_verdicts_is_an_error_not_a_perfect_score(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = write_document(tmp_path, [], [])
    with pytest.raises(SystemExit) as stopped:
        main(["--mutants", str(tmp_path / "mutants"), "--equivalents", str(document)])
    assert stopped.value.code == 2
    assert "no mutmut verdicts under" in capsys.readouterr().err
