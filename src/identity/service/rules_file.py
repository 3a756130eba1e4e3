"""The identity graph's rules in one TOML file: limits per profile, priorities, hubs, the
phone region of each source, placeholder values.

Every table is optional, and what a table leaves out keeps its built-in value, so a file says
only what a deployment changes; `identity rules` prints the rules in force as such a file. A
mistake names the file, the table and the key, and stops the service at start-up.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import phonenumbers

from identity.domain.errors import InvalidIdentifier
from identity.domain.guards import (
    DEFAULT_HUB_LIMITS,
    DEFAULT_PROFILE_LIMITS,
    EVERY_EXTERNAL,
    GraphRules,
    HubRules,
    ProfileLimits,
)
from identity.domain.identifiers import (
    DEFAULT_PLACEHOLDER_PATTERNS,
    DEFAULT_PLACEHOLDER_VALUES,
    Blocklist,
    PatternError,
    compile_pattern,
    printable,
    validate_kind,
)
from identity.domain.types import EXTERNAL_PREFIX, KIND_PRIORITY

TABLES = ("limits", "priority", "hubs", "phone_regions", "placeholders")
MAX_COUNT = 1_000_000  # a limit above any real profile's size is a typo, not a wish


class RulesFileError(ValueError):
    """The rules file cannot be used: which file, which table, which key, and why."""


@dataclass(frozen=True)
class Rules:
    graph: GraphRules = field(default_factory=GraphRules)
    source_regions: tuple[tuple[str, str], ...] = ()
    blocklist: Blocklist = field(default_factory=Blocklist)


def read_rules(path: Path) -> Rules:
    """The rules in `path`, over the built-in ones; the built-in ones while it does not
    exist."""
    if not path.exists():
        return Rules()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RulesFileError(f"{path}: not a readable TOML file: {exc}") from None
    except RecursionError:
        raise RulesFileError(f"{path}: not a readable TOML file: nested too deeply") from None
    except ValueError as exc:  # tomllib's own for an integer of thousands of digits
        raise RulesFileError(f"{path}: not a readable TOML file: {exc}") from None
    return parse_rules(raw, str(path))


def parse_rules(raw: Mapping[str, Any], where: str = "rules") -> Rules:
    unknown = sorted(set(raw) - set(TABLES))
    if unknown:
        raise RulesFileError(f"{where}: unknown table [{unknown[0]}]; the tables are "
                             f"{', '.join(TABLES)}")
    limits = {**DEFAULT_PROFILE_LIMITS, **_counts(raw, "limits", where)}
    hubs = {**DEFAULT_HUB_LIMITS, **_counts(raw, "hubs", where)}
    priority = _priority(raw.get("priority", {}), where)
    return Rules(GraphRules(HubRules(hubs), ProfileLimits(limits, priority)),
                 _regions(raw.get("phone_regions", {}), where),
                 _blocklist(raw.get("placeholders", {}), where))


def _table(raw: object, name: str, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise RulesFileError(f"{where}: [{name}] must be a table")
    return raw


def _kind(kind: str, where: str) -> str:
    if kind == EVERY_EXTERNAL:
        return kind
    try:
        return validate_kind(kind)
    except InvalidIdentifier as exc:
        raise RulesFileError(f"{where}: {exc}") from None


def _counts(raw: Mapping[str, Any], name: str, where: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for kind, count in _table(raw.get(name, {}), name, where).items():
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
            raise RulesFileError(f"{where}: [{name}] {printable(kind, 64)} must be a whole "
                                 f"number from 1 to {MAX_COUNT:,}, got "
                                 f"{printable(str(count), 32)}")
        checked = _kind(kind, f"{where}: [{name}]")
        if checked in found:
            raise RulesFileError(f"{where}: [{name}] names {checked} twice")
        found[checked] = count
    return found


def _priority(raw: object, where: str) -> tuple[str, ...]:
    table = _table(raw, "priority", where)
    kinds = table.get("kinds", list(KIND_PRIORITY))
    if set(table) - {"kinds"} or not isinstance(kinds, list) or not kinds or not all(
            isinstance(k, str) for k in kinds):
        raise RulesFileError(f"{where}: [priority] holds kinds = [...], the identifier kinds "
                             "strongest first")
    found = tuple(EXTERNAL_PREFIX if k in (EXTERNAL_PREFIX, EVERY_EXTERNAL)
                  else _kind(k, f"{where}: [priority]") for k in kinds)
    if len(set(found)) != len(found):
        raise RulesFileError(f"{where}: [priority] names a kind twice")
    return found


def _regions(raw: object, where: str) -> tuple[tuple[str, str], ...]:
    found = []
    for source, region in sorted(_table(raw, "phone_regions", where).items()):
        if not isinstance(region, str) or region.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise RulesFileError(f"{where}: [phone_regions] {printable(source, 64)} = "
                                 f"'{printable(str(region), 32)}' is not a region code such "
                                 "as GB or DE")
        found.append((source, region.upper()))
    return tuple(found)


def _blocklist(raw: object, where: str) -> Blocklist:
    table = _table(raw, "placeholders", where)
    values, patterns = table.get("values", []), table.get("patterns", [])
    if set(table) - {"values", "patterns"} or not isinstance(values, list) or not isinstance(
            patterns, list) or not all(isinstance(v, str) for v in [*values, *patterns]):
        raise RulesFileError(f"{where}: [placeholders] holds values = [...] and patterns = "
                             "[...], lists of strings")
    for pattern in patterns:
        try:
            compile_pattern(pattern)
        except PatternError as exc:
            raise RulesFileError(f"{where}: [placeholders] pattern {pattern!r}: {exc}") from None
    return Blocklist(DEFAULT_PLACEHOLDER_VALUES | {v.strip().lower() for v in values},
                     (*DEFAULT_PLACEHOLDER_PATTERNS, *patterns))


def render_rules(rules: Rules) -> str:
    """The rules as a file that reads back to them (placeholders beyond the built-in ones)."""
    def kinds(table: Mapping[str, int]) -> list[str]:
        return [f'"{kind}" = {count}' if ":" in kind else f"{kind} = {count}"
                for kind, count in table.items()]

    limits, hubs = rules.graph.limits, rules.graph.hubs
    priority = ", ".join(f'"{EVERY_EXTERNAL if k == EXTERNAL_PREFIX else k}"'
                         for k in limits.priority)
    extra_values = sorted(rules.blocklist.values - DEFAULT_PLACEHOLDER_VALUES)
    extra_patterns = [p for p in rules.blocklist.patterns
                      if p not in DEFAULT_PLACEHOLDER_PATTERNS]
    lines = [
        "# Identity graph rules. Every table is optional; what it leaves out keeps its",
        "# built-in value.", "",
        "[limits]  # at most this many identifiers of a kind in one profile",
        *kinds(limits.limits), "",
        "[priority]  # strongest first: at a limit, the link through the weakest kind yields",
        f"kinds = [{priority}]", "",
        "[hubs]  # seen with more distinct identifiers of a kind than this, an identifier "
        "stops bridging",
        *kinds(hubs.limits), "",
        "[phone_regions]  # where a source's phones are written when its events show no "
        "country",
        *(f'{toml_string(source)} = "{region}"' for source, region in rules.source_regions),
        "",
        "[placeholders]  # never used to link, beside the built-in values and patterns",
        f"values = [{', '.join(toml_string(v) for v in extra_values)}]",
        f"patterns = [{', '.join(toml_string(p) for p in extra_patterns)}]",
    ]
    return "\n".join(lines) + "\n"


def toml_string(text: str) -> str:
    """A TOML literal string when the text allows one (a regular expression reads best
    without escapes), else a basic string with every character TOML refuses escaped."""
    if not any(c in text for c in "'\n\r") and all(c.isprintable() for c in text):
        return f"'{text}'"
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")
