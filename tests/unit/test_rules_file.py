"""The identity rules file: what a deployment changes, over the built-in rules."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from identity.domain.guards import DEFAULT_PROFILE_LIMITS
from identity.service.rules_file import (
    Rules,
    RulesFileError,
    parse_rules,
    read_rules,
    render_rules,
)

EXAMPLE = """
[limits]
email = 3
"external:*" = 1

[priority]
kinds = ["customer_id", "external:*", "email", "phone", "device_id", "order_id",
         "anonymous_id", "session_id"]

[hubs]
email = 4

[phone_regions]
"pos-gb" = "gb"

[placeholders]
values = ["Guest@Shop.com"]
patterns = ['^guest-[0-9]+$']
"""


def test_a_file_changes_what_it_says_and_keeps_the_rest_built_in(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(EXAMPLE, encoding="utf-8")

    rules = read_rules(path)

    limits = rules.graph.limits
    assert limits.limit("email") == 3 and limits.limit("external:loyalty") == 1
    assert limits.limit("customer_id") == DEFAULT_PROFILE_LIMITS["customer_id"]
    assert limits.rank("external:crm") < limits.rank("email")
    assert rules.graph.hubs.limit("email") == 4 and rules.graph.hubs.limit("phone") == 3
    assert rules.source_regions == (("pos-gb", "GB"),)
    assert rules.blocklist.blocks("guest@shop.com") and rules.blocklist.blocks("guest-42")
    assert rules.blocklist.blocks("test@test.com"), "the built-in placeholders still hold"


def test_no_file_means_the_built_in_rules(tmp_path: Path) -> None:
    assert read_rules(tmp_path / "missing.toml") == Rules()


def test_the_rules_in_force_print_as_a_file_that_reads_back_to_them() -> None:
    rules = parse_rules(tomllib.loads(EXAMPLE))
    assert parse_rules(tomllib.loads(render_rules(rules))) == rules
    assert parse_rules(tomllib.loads(render_rules(Rules()))) == Rules()


def test_names_and_values_needing_escapes_read_back_too() -> None:
    awkward = parse_rules({
        "phone_regions": {'we"b': "GB", "new\nline": "DE", "it's": "FR"},
        "placeholders": {"values": ["a\u0001b", "del\x7f", "o'neil"],
                         "patterns": ["x\ny'", "^it's$", r"^\d+\\$"]},
    })
    assert parse_rules(tomllib.loads(render_rules(awkward))) == awkward


def test_a_pattern_that_would_backtrack_without_end_matches_in_linear_time() -> None:
    """`^(a+)+$` takes seconds on 26 characters with Python's re; RE2 does not backtrack."""
    rules = parse_rules({"placeholders": {"patterns": ["^(a+)+$"]}})
    assert not rules.blocklist.blocks("a" * 10_000 + "!")
    assert rules.blocklist.blocks("a" * 10_000)


def test_a_file_nested_too_deeply_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("[placeholders]\nvalues = " + "[" * 100_000 + "]" * 100_000)
    with pytest.raises(RulesFileError, match=r"deep\.toml: not a readable TOML file"):
        read_rules(path)


@pytest.mark.parametrize(("text", "message"), [
    ("[limit]\nemail = 1", "unknown table [limit]"),
    ("[limits]\nemial = 1", "unknown identifier kind 'emial'"),
    ("[limits]\nemail = 0", "email must be a whole number from 1 to 1,000,000, got 0"),
    ("[limits]\nemail = 99999999999999999999", "email must be a whole number from 1 to"),
    ("[limits]\nEMAIL = 2\nemail = 3", "[limits] names email twice"),
    ("[placeholders]\npatterns = ['(a)\\1']", "not an RE2 regular expression"),
    ("[limits]\nemail = 'five'", "email must be a whole number"),
    ("[priority]\nkinds = []", "[priority] holds kinds"),
    ("[priority]\nkinds = ['email', 'email']", "names a kind twice"),
    ("[phone_regions]\npos = 'Britain'", "is not a region code"),
    ("[placeholders]\npatterns = ['(']", "pattern '('"),
    ("limits = 3", "[limits] must be a table"),
])
def test_a_mistake_names_the_table_and_the_key(text: str, message: str) -> None:
    with pytest.raises(RulesFileError, match="rules") as caught:
        parse_rules(tomllib.loads(text))
    assert message in str(caught.value)


def test_a_file_that_is_not_toml_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("[limits\n", encoding="utf-8")
    with pytest.raises(RulesFileError, match=r"rules\.toml: not a readable TOML file"):
        read_rules(path)


@pytest.mark.parametrize("text", ['[limits]\n"e\\u001b[2Jmail" = 0',
                                  '[phone_regions]\n"p\\u001b[2Jos" = "ZZ"'])
def test_a_key_holding_terminal_escapes_is_shown_escaped(text: str) -> None:
    with pytest.raises(RulesFileError) as caught:
        parse_rules(tomllib.loads(text))
    assert "\x1b" not in str(caught.value) and "\\x1b[2J" in str(caught.value)


def test_an_integer_of_thousands_of_digits_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("[limits]\nemail = " + "9" * 5000 + "\n")
    with pytest.raises(RulesFileError, match=r"rules\.toml: not a readable TOML file"):
        read_rules(path)
