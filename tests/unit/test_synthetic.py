"""The synthetic journeys: reproducible, valid for the parser, and true to their ground truth."""

from __future__ import annotations

import csv
import difflib
import json
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import phonenumbers
import pytest

from identity.domain.errors import ValidationError
from identity.domain.events import Event, parse_event
from identity.domain.identifiers import NormalizationRules, normalize_identifier
from identity.domain.types import Identifier
from identity.synthetic import (
    Dataset,
    GeneratorConfig,
    TruthRow,
    generate,
    people_for_events,
    write_dataset,
)
from identity.synthetic.locales import DOMAIN_TYPOS
from identity.synthetic.spellings import phone_spellings

RULES = NormalizationRules()
CONFIG = GeneratorConfig(people=400, seed=11)


@dataclass(frozen=True)
class Parsed:
    """The generated dataset as the service will read it."""

    dataset: Dataset
    events: list[tuple[dict[str, object], Event]]
    truth: dict[Identifier, TruthRow]

    def owners(self, event: Event) -> set[str]:
        """The people an event's identifiers belong to, leaving out shared devices."""
        rows = (self.truth[i] for i in event.identifiers)
        return {row.person_id for row in rows if not row.is_shared}

    def by_person(self) -> dict[str, list[Event]]:
        people: dict[str, list[Event]] = defaultdict(list)
        for _, event in self.events:
            for person in self.owners(event):
                people[person].append(event)
        return people


@pytest.fixture(scope="module")
def parsed() -> Parsed:
    dataset = generate(CONFIG)
    events = []
    for raw in dataset.events:
        if raw["event_id"] not in dataset.invalid_event_ids:
            events.append((raw, parse_event(raw, RULES)))
    truth = {Identifier(row.kind, row.value): row for row in dataset.truth}
    return Parsed(dataset, events, truth)


def _fingerprint(dataset: Dataset) -> str:
    return json.dumps([dataset.events, [list(vars(r).values()) for r in dataset.truth],
                       sorted(dataset.invalid_event_ids)])


def test_same_seed_gives_the_same_dataset() -> None:
    config = GeneratorConfig(people=120, seed=5)
    assert _fingerprint(generate(config)) == _fingerprint(generate(config))


def test_another_seed_gives_another_dataset() -> None:
    first = generate(GeneratorConfig(people=120, seed=5))
    second = generate(GeneratorConfig(people=120, seed=6))
    assert first.events != second.events
    assert first.truth != second.truth


def test_dataset_does_not_depend_on_the_interpreter_hash_seed() -> None:
    script = ("import hashlib, json; from identity.synthetic import generate, GeneratorConfig; "
              "d = generate(GeneratorConfig(people=80, seed=3)); "
              "print(hashlib.sha256(json.dumps([d.events, [list(vars(r).values()) for r in "
              "d.truth], sorted(d.invalid_event_ids)]).encode()).hexdigest())")
    digests = {
        subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                       text=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2")
    }
    assert len(digests) == 1


def test_only_the_deliberately_bad_events_are_rejected(parsed: Parsed) -> None:
    invalid = parsed.dataset.invalid_event_ids
    assert invalid, "the default config writes a few bad events"
    assert len(invalid) < 0.02 * len(parsed.dataset.events)
    bad = [raw for raw in parsed.dataset.events if raw["event_id"] in invalid]
    for raw in bad:
        with pytest.raises(ValidationError):
            parse_event(raw, RULES)
    assert len(parsed.events) + len(bad) == len(parsed.dataset.events)


def test_no_bad_events_unless_asked_for() -> None:
    dataset = generate(GeneratorConfig(people=60, seed=2, invalid_event_share=0.0))
    assert dataset.invalid_event_ids == frozenset()
    for raw in dataset.events:
        parse_event(raw, RULES)


def test_every_linked_identifier_is_in_the_truth(parsed: Parsed) -> None:
    for _, event in parsed.events:
        missing = [i for i in event.identifiers if i not in parsed.truth]
        assert not missing, event


def test_truth_holds_normalized_values_once_each(parsed: Parsed) -> None:
    rows = parsed.dataset.truth
    assert len({(r.kind, r.value) for r in rows}) == len(rows)
    for row in rows:
        assert normalize_identifier(row.kind, row.value, RULES).value == row.value


def test_an_event_never_mixes_two_people_except_on_shared_devices(parsed: Parsed) -> None:
    for _, event in parsed.events:
        assert len(parsed.owners(event)) == 1, event


def test_shared_devices_are_logged_in_on_by_several_people(parsed: Parsed) -> None:
    shared = {i for i, row in parsed.truth.items() if row.is_shared}
    assert shared and all(i.kind == "device_id" for i in shared)
    users: dict[Identifier, set[str]] = defaultdict(set)
    for _, event in parsed.events:
        for device in shared.intersection(event.identifiers):
            users[device] |= parsed.owners(event)
    assert set(users) == shared
    used_by_many = [device for device, people in users.items() if len(people) >= 2]
    assert len(used_by_many) >= 0.8 * len(shared)


def test_redelivered_events_are_exact_copies(parsed: Parsed) -> None:
    copies: dict[object, list[dict[str, object]]] = defaultdict(list)
    for raw in parsed.dataset.events:
        copies[raw["event_id"]].append(raw)
    repeated = [group for group in copies.values() if len(group) > 1]
    assert 0 < len(repeated) <= 0.02 * len(parsed.dataset.events)
    for group in repeated:
        assert all(copy == group[0] for copy in group)


def _raw_values(parsed: Parsed, kind: str) -> dict[str, set[str]]:
    """Normalized value → the raw spellings events used for it."""
    spellings: dict[str, set[str]] = defaultdict(set)
    for raw, _ in parsed.events:
        items = raw["identifiers"]
        assert isinstance(items, list)
        for item in items:
            value = str(item["value"])
            if item["kind"] == kind and Identifier(kind, _normal(kind, value)) in parsed.truth:
                spellings[_normal(kind, value)].add(value)
    return spellings


def _normal(kind: str, raw: str) -> str:
    try:
        return normalize_identifier(kind, raw, RULES).value
    except ValueError:
        return ""


def test_mailbox_spellings_are_one_identifier(parsed: Parsed) -> None:
    spellings = _raw_values(parsed, "email")
    variants = [raws for raws in spellings.values() if len(raws) > 1]
    assert variants
    flat = {raw for raws in variants for raw in raws}
    assert any("+" in raw for raw in flat), "a +tag spelling"
    assert any(raw.endswith("@gmail.com") and "." not in raw.split("@")[0] for raw in flat)


def test_email_typos_are_other_identifiers_of_the_same_person(parsed: Parsed) -> None:
    emails: dict[str, list[str]] = defaultdict(list)
    for row in parsed.dataset.truth:
        if row.kind == "email":
            emails[row.person_id].append(row.value)
    typo_domains = {d for typos in DOMAIN_TYPOS.values() for d in typos}
    assert any(value.split("@")[1] in typo_domains for values in emails.values()
               for value in values)
    near_misses = [values for values in emails.values() if _has_near_miss(values)]
    assert len(near_misses) >= 5
    assert any(len(values) >= 2 for values in emails.values()), "second mailboxes"


def _has_near_miss(values: Iterable[str]) -> bool:
    ordered = sorted(values)
    return any(difflib.SequenceMatcher(None, a, b).ratio() > 0.85
               for i, a in enumerate(ordered) for b in ordered[i + 1:])


def test_phone_formats_are_one_number(parsed: Parsed) -> None:
    phones = [i.value for i in parsed.truth if i.kind == "phone"]
    for e164 in phones:
        assert {_normal("phone", spelling) for spelling in phone_spellings(e164)} == {e164}
    assert any(len(raws) >= 2 for raws in _raw_values(parsed, "phone").values())


def test_phones_are_valid_numbers_from_several_countries(parsed: Parsed) -> None:
    phones = [phonenumbers.parse(i.value) for i in parsed.truth if i.kind == "phone"]
    assert all(phonenumbers.is_valid_number(number) for number in phones)
    assert {number.country_code for number in phones} >= {1, 44, 49, 33}


def test_device_ids_arrive_in_several_spellings(parsed: Parsed) -> None:
    raws = {raw for spellings in _raw_values(parsed, "device_id").values() for raw in spellings}
    assert any(raw.startswith("{") for raw in raws)
    assert any(raw != raw.lower() for raw in raws) and any(raw == raw.lower() for raw in raws)


def test_timestamps_stay_in_the_window(parsed: Parsed) -> None:
    end = CONFIG.start + timedelta(days=CONFIG.days)
    assert all(CONFIG.start <= event.timestamp < end for _, event in parsed.events)


def test_anonymous_browsing_is_later_tied_to_a_login(parsed: Parsed) -> None:
    first_seen: dict[Identifier, Event] = {}
    tied = 0
    for _, event in sorted(parsed.events, key=lambda pair: pair[1].timestamp):
        kinds = {i.kind for i in event.identifiers}
        for cookie in (i for i in event.identifiers if i.kind == "anonymous_id"):
            first = first_seen.setdefault(cookie, event)
            anonymous_start = {i.kind for i in first.identifiers} == {"anonymous_id",
                                                                       "session_id"}
            if (event.type == "identify" and anonymous_start and first is not event
                    and {"customer_id", "email"} <= kinds):
                tied += 1
    assert tied >= 20


def test_orders_carry_money_and_contacts_some_as_guests(parsed: Parsed) -> None:
    orders = [event for _, event in parsed.events if event.type == "order"]
    assert orders and all(event.order is not None for event in orders)
    kinds = [{i.kind for i in event.identifiers} for event in orders]
    assert all("order_id" in k for k in kinds)
    guests = [k for k in kinds if "customer_id" not in k and "email" in k]
    assert len(guests) >= 20
    assert {event.order.currency for event in orders if event.order} >= {"USD", "EUR", "GBP"}


def test_loyalty_cards_come_from_crm_and_pos(parsed: Parsed) -> None:
    sources = {event.source for _, event in parsed.events
               if any(i.kind == "external:loyalty" for i in event.identifiers)}
    assert sources == {"crm", "pos"}


def test_placeholders_ride_along_real_identifiers(parsed: Parsed) -> None:
    with_placeholders = [event for _, event in parsed.events if event.ignored]
    assert len(with_placeholders) >= 10
    assert all(event.identifiers for event in with_placeholders)
    truth_values = {(i.kind, i.value) for i in parsed.truth}
    assert not truth_values & {("email", "test@test.com"), ("anonymous_id", "unknown")}


def test_bots_browse_with_a_cookie_and_a_session_only(parsed: Parsed) -> None:
    bots = {k: v for k, v in parsed.by_person().items() if k.startswith("BOT")}
    assert bots
    for events in bots.values():
        assert len(events) >= 8
        assert all({i.kind for i in e.identifiers} == {"anonymous_id", "session_id"}
                   for e in events)


def _trait_values(events: Iterable[Event], name: str) -> set[str]:
    return {value for event in events for trait, value in event.traits if trait == name}


def test_a_person_writes_names_and_addresses_in_several_ways(parsed: Parsed) -> None:
    people = parsed.by_person().values()
    assert any(len({v.casefold() for v in _trait_values(events, "first_name")}) >= 2
               for events in people), "a nickname next to the formal name"
    assert any(len(_trait_values(events, "address_line1")) >= 2 for events in people)


def test_twins_and_namesakes_are_different_people(parsed: Parsed) -> None:
    births: dict[tuple[str, str], set[str]] = defaultdict(set)
    names: dict[str, set[str]] = defaultdict(set)
    for person, events in parsed.by_person().items():
        for born in _trait_values(events, "date_of_birth"):
            for last in _trait_values(events, "last_name"):
                births[(last.casefold(), born)].add(person)
        names[_full_name(events)].add(person)
    assert any(len(people) >= 2 for people in births.values()), "twins: same surname and birth"
    assert any(len(people) >= 2 for name, people in names.items() if name), "namesakes"


def _full_name(events: list[Event]) -> str:
    for event in events:
        traits = dict(event.traits)
        if "first_name" in traits and "last_name" in traits:
            return f"{traits['first_name']} {traits['last_name']}".casefold()
    return ""


def test_about_ten_events_per_person() -> None:
    people = 600
    events = len(generate(GeneratorConfig(people=people, seed=1)).events)
    assert 8 <= events / people <= 12
    target = 5_000
    sized = len(generate(GeneratorConfig(people=people_for_events(target), seed=2)).events)
    assert 0.85 * target <= sized <= 1.15 * target


def test_no_people_no_events() -> None:
    dataset = generate(GeneratorConfig(people=0))
    assert dataset.events == [] and dataset.truth == []


def test_written_files_read_back(tmp_path: Path) -> None:
    dataset = generate(GeneratorConfig(people=40, seed=9))
    events_path, truth_path = tmp_path / "out" / "events.jsonl", tmp_path / "truth.csv"
    write_dataset(dataset, events_path, truth_path)
    lines = events_path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == dataset.events
    with truth_path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["kind", "value", "person_id", "is_shared"]
    assert rows[1:] == [[r.kind, r.value, r.person_id, str(r.is_shared).lower()]
                        for r in dataset.truth]


@pytest.mark.parametrize("knobs", [{"people": -1}, {"email_typo_rate": 1.5},
                                   {"household_share": -0.1}, {"days": 0}])
def test_config_refuses_impossible_knobs(knobs: dict[str, int | float]) -> None:
    with pytest.raises(ValueError):
        GeneratorConfig(**{"people": 10, **knobs})  # type: ignore[arg-type]


def test_unknown_country_is_refused() -> None:
    with pytest.raises(ValueError, match="no locale"):
        generate(GeneratorConfig(people=5, country_weights=(("XX", 1.0),)))
