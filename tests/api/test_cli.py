"""The CLI as users run it, through main(argv)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import pytest

from identity.cli import main
from identity.domain.types import Identifier
from identity.service import IdentityService
from identity.store.sqlite import SqliteGraphStore


def profile_ids(database: Path, identifiers: list[Identifier]) -> list[str | None]:
    async def read() -> list[str | None]:
        store = SqliteGraphStore(str(database))
        try:
            return list(await IdentityService(store).profile_ids(identifiers))
        finally:
            await store.close()

    return asyncio.run(read())


def test_generate_then_ingest_builds_profiles_that_match_the_truth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events, truth, database = tmp_path / "e.jsonl", tmp_path / "t.csv", tmp_path / "g.db"
    assert main(["generate", "--people", "40", "--seed", "3", "--out", str(events),
                 "--truth", str(truth)]) == 0
    assert "events from 40 people" in capsys.readouterr().out

    assert main(["ingest", str(events), "--database", str(database), "--quiet"]) == 0
    summary = capsys.readouterr().out
    lines = sum(1 for line in events.read_text().splitlines() if line.strip())
    assert summary.startswith(f"{lines} events in ")
    assert " accepted, " in summary

    with truth.open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["is_shared"] == "False"]
    person_of = {Identifier(r["kind"], r["value"]): r["person_id"] for r in rows}
    found = profile_ids(database, list(person_of))
    assert all(found), "every identifier in the truth was ingested"
    # Deterministic links never put two people in one profile on this data.
    people_per_profile: dict[str, set[str]] = {}
    for identifier, profile in zip(person_of, found, strict=True):
        people_per_profile.setdefault(profile or "", set()).add(person_of[identifier])
    assert all(len(people) == 1 for people in people_per_profile.values())


def test_ingest_summarizes_rejects_and_writes_them_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = {"event_id": "g1", "type": "identify", "timestamp": "2024-01-01T00:00:00Z",
            "source": "crm", "identifiers": [{"kind": "customer_id", "value": "C-1"}]}
    bad = {**good, "event_id": "b1", "timestamp": "last week"}
    source = tmp_path / "events.jsonl"
    source.write_text("\n".join([json.dumps(good), "{not json", json.dumps(bad),
                                 json.dumps(good), ""]))
    rejects = tmp_path / "rejects.jsonl"

    code = main(["ingest", str(source), "--database", str(tmp_path / "g.db"), "--quiet",
                 "--rejects", str(rejects), "--fail-on-reject"])

    out = capsys.readouterr().out
    assert code == 1
    assert "4 events in" in out and "1 accepted, 1 duplicates, 2 rejected" in out
    assert "line 2 (event ?): line: not valid JSON" in out
    assert "line 3 (event b1): timestamp: 'last week' is not an ISO 8601 timestamp" in out
    written = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(r["line"], r["event_id"]) for r in written] == [(2, None), (3, "b1")]
    assert written[1]["errors"] == [{"field": "timestamp",
                                     "reason": "'last week' is not an ISO 8601 timestamp"}]


def test_ingest_never_writes_its_rejects_over_its_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Opening the rejects file first emptied a 100 KB input, which then ingested 0 events."""
    source = tmp_path / "events.jsonl"
    source.write_text('{"event_id": "g1"}\n')
    code = main(["ingest", str(source), "--database", str(tmp_path / "g.db"), "--quiet",
                 "--rejects", str(tmp_path / "." / "events.jsonl")])
    assert code == 2
    assert "events.jsonl is an input file; write it elsewhere" in capsys.readouterr().err
    assert source.read_text() == '{"event_id": "g1"}\n'
    code = main(["ingest", str(source), "--database", str(tmp_path / "g.db"), "--quiet",
                 "--rejects", str(tmp_path / "no-such-folder" / "rejects.jsonl")])
    assert code == 2 and "no folder" in capsys.readouterr().err


def test_ingest_says_what_events_were_accepted_without_and_strict_rejects_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    order = {"event_id": "o1", "type": "order", "timestamp": "2024-01-01T00:00:00Z",
             "source": "checkout", "identifiers": [{"kind": "email", "value": "a@shop.com"},
                                                  {"kind": "phone", "value": "12"}]}
    source = tmp_path / "events.jsonl"
    source.write_text(json.dumps(order) + "\n")

    assert main(["ingest", str(source), "--database", str(tmp_path / "strict.db"), "--quiet",
                 "--strict", "--fail-on-reject"]) == 1
    strict = capsys.readouterr().out
    assert "0 accepted, 0 duplicates, 1 rejected" in strict
    assert "identifiers[*].value: not a valid phone number" in strict

    assert main(["ingest", str(source), "--database", str(tmp_path / "lenient.db"), "--quiet",
                 "--fail-on-reject"]) == 0
    lenient = capsys.readouterr().out
    assert "1 accepted, 0 duplicates, 0 rejected" in lenient
    assert "accepted without" in lenient
    assert "1  identifiers[*].value: not a valid phone number" in lenient
    assert "1  amount: missing on an order: recorded as an order of unknown value" in lenient


def test_ingest_without_fail_on_reject_exits_zero(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    source.write_text("{}\n")
    assert main(["ingest", str(source), "--database", str(tmp_path / "g.db"), "--quiet"]) == 0


def test_ingest_of_a_missing_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", str(tmp_path / "nope.jsonl"), "--database",
                 str(tmp_path / "g.db")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_a_bad_port_in_the_environment_is_reported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IDENTITY_PORT", "eighty")
    assert main(["serve", "--database", str(tmp_path / "g.db")]) == 2
    assert "IDENTITY_PORT must be an integer" in capsys.readouterr().err


@pytest.mark.parametrize(("trait", "reason"), [
    ("7" * 5000, "an integer of 5000 digits is too long"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("NaN", "NaN is not a JSON number"),
    ("1e400", "out of the range of a number"),
])
def test_a_line_python_cannot_use_is_rejected_with_the_reason_and_the_rest_lands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], trait: str, reason: str,
) -> None:
    good = {"event_id": "g1", "type": "identify", "timestamp": "2024-01-01T00:00:00Z",
            "source": "crm", "identifiers": [{"kind": "customer_id", "value": "C-9"}]}
    bad = '{"event_id": "h1", "traits": {"n": ' + trait + "}}"
    source = tmp_path / "events.jsonl"
    source.write_text(bad + "\n" + json.dumps(good) + "\n")
    assert main(["ingest", str(source), "--database", str(tmp_path / "g.db"), "--quiet",
                 "--batch-size", "1"]) == 0
    out = capsys.readouterr().out
    assert "1 accepted, 0 duplicates, 1 rejected" in out
    assert "line 1 (event ?): line: not usable JSON: " in out and reason in out


@pytest.mark.parametrize("asked", [["--people", "0"], ["--people", "-1"], ["--events", "0"],
                                   ["--events", "-5"], ["--people", str(10**12)],
                                   ["--events", str(10**21)]])
def test_generate_refuses_a_count_it_cannot_make_with_the_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], asked: list[str],
) -> None:
    out = tmp_path / "e.jsonl"
    assert main(["generate", *asked, "--out", str(out), "--truth", str(tmp_path / "t.csv")]) == 2
    assert f"{asked[0]} must be from 1 to " in capsys.readouterr().err
    assert not out.exists()


def good_line(event_id: str) -> bytes:
    return json.dumps({"event_id": event_id, "type": "identify",
                       "timestamp": "2024-01-01T00:00:00Z", "source": "crm",
                       "identifiers": [{"kind": "customer_id", "value": event_id}]}).encode()


@pytest.mark.parametrize(("bad", "reason"), [
    (b'{"event_id": "x\xff\xfe"}', "line: not UTF-8 text: byte 0xff at column 16"),
    (b'{"event_id": "' + b"B" * (1 << 21) + b'"}', "line: longer than 1,048,576 characters"),
    (b'{"event_id": "a\x00b"}', "line: not valid JSON: Invalid control character at column 16"),
    (b'{"event_id": "t1", "timestamp": "2024-01-01T00:00:00Z", "source": "crm",'
     b' "identifiers": [{"kind": "customer_id", "value": "C-1"}]}', "type: is required: one of"),
])
def test_a_line_that_is_no_event_is_rejected_alone_and_the_file_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: bytes, reason: str,
) -> None:
    source = tmp_path / "events.jsonl"
    # A byte order mark, as some editors write, before the first line: not part of it.
    source.write_bytes(b"\xef\xbb\xbf" + good_line("g1") + b"\r\n" + bad + b"\n"
                       + good_line("g2") + b"\n")

    assert main(["ingest", str(source), "--database", str(tmp_path / "g.db"), "--quiet",
                 "--batch-size", "2"]) == 0

    out = capsys.readouterr().out
    assert "2 accepted, 0 duplicates, 1 rejected" in out
    assert f"line 2 (event ?): {reason}" in out or f"line 2 (event t1): {reason}" in out


def test_events_read_from_stdin_are_read_as_a_file_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines = good_line("s1") + b"\n\xff\n" + good_line("s2") + b"\n"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(lines)))
    assert main(["ingest", "-", "--database", str(tmp_path / "g.db"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "2 accepted, 0 duplicates, 1 rejected" in out
    assert "line 2 (event ?): line: not UTF-8 text: byte 0xff at column 1" in out


def test_a_rules_file_reads_a_uk_national_phone_from_a_gb_till(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[phone_regions]\n"pos-gb" = "GB"\n', encoding="utf-8")
    till = {"event_id": "t1", "type": "identify", "timestamp": "2024-01-01T00:00:00Z",
            "source": "pos-gb", "identifiers": [{"kind": "external:loyalty", "value": "L-1"},
                                                {"kind": "phone", "value": "07416 713197"}]}
    source = tmp_path / "events.jsonl"
    source.write_text(json.dumps(till) + "\n")
    database = str(tmp_path / "g.db")

    assert main(["ingest", str(source), "--database", database, "--quiet", "--rules",
                 str(rules), "--fail-on-reject"]) == 0
    assert "accepted without" not in capsys.readouterr().out

    async def phone_profile() -> str | None:
        store = SqliteGraphStore(database)
        try:
            (found,) = await IdentityService(store).profile_ids(
                [Identifier("phone", "+447416713197")])
            return found
        finally:
            await store.close()

    assert asyncio.run(phone_profile()) is not None


def test_identity_rules_prints_the_rules_in_force_and_refuses_a_broken_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rules"]) == 0
    printed = capsys.readouterr().out
    assert "[limits]" in printed and "customer_id = 1" in printed
    broken = tmp_path / "rules.toml"
    broken.write_text("[limits]\nemial = 2\n", encoding="utf-8")
    assert main(["rules", "--rules", str(broken)]) == 2
    assert "unknown identifier kind 'emial'" in capsys.readouterr().err
    assert main(["serve", "--database", str(tmp_path / "g.db"), "--rules", str(broken)]) == 2
    assert "rules.toml: [limits]" in capsys.readouterr().err
    typo = tmp_path / "rulez.toml"
    assert main(["rules", "--rules", str(typo)]) == 0
    assert capsys.readouterr().out.startswith(
        f"# {typo} does not exist: these are the built-in rules.\n")


def test_every_command_and_option_says_what_it_is_for_and_its_default() -> None:
    import argparse

    from identity.cli.arguments import parser

    commands = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert set(commands.choices) == {"serve", "consume", "ingest", "generate", "resolve",
                                     "rules", "train", "reindex", "keys", "erase", "export",
                                     "suppressions"}
    for name, command in commands.choices.items():
        assert command.description, name
        for option in command._actions:
            if isinstance(option, argparse._HelpAction):
                continue
            assert option.help, (name, option.dest)
            if option.default is not None and option.default is not False \
                    and option.default != []:
                assert "default" in option.help, (name, option.dest, option.help)


@pytest.mark.parametrize("command", [["train"], ["generate"]])
def test_a_seed_numpy_cannot_take_is_refused_at_its_flag(
        command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """--seed -1 reached numpy, and its error was reported as a bad environment setting."""
    with pytest.raises(SystemExit) as exited:
        main([*command, "--seed", "-1"])
    assert exited.value.code == 2
    assert "argument --seed: '-1' is not a whole number from 0 to 4294967295" in \
        capsys.readouterr().err


@pytest.mark.parametrize(
    ("flag", "value", "shown"),
    [
        (["serve", "--port"], "9" * 5000, "'" + "9" * 16 + "...' is not an integer"),
        (["generate", "--people"], "\u0663", "'\u0663' is not an integer"),
        (["ingest", "--batch-size"], "1_000", "'1_000' is not an integer"),
        (["generate", "--seed"], "9" * 5000,
         "'" + "9" * 16 + "...' is not a whole number from 0 to 4294967295"),
    ],
)
def test_an_integer_flag_takes_ascii_digits_only_and_shows_a_bad_value_cut(
        flag: list[str], value: str, shown: str, capsys: pytest.CaptureFixture[str]) -> None:
    """int() alone took Arabic-Indic digits and underscores, and echoed 5,000 digits back."""
    with pytest.raises(SystemExit) as exited:
        main([*flag, value, *(["-"] if flag[0] == "ingest" else [])])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag[1]}: {shown}" in err
    # the error line, below the usage (which grows with every flag), holds the value cut
    assert len(err.splitlines()[-1]) < 200
