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
from typing import cast

import phonenumbers
import pytest

from identity.domain.errors import ValidationError
from identity.domain.events import Event, parse_event
from identity.domain.identifiers import NormalizationRules, normalize_identifier
from identity.domain.types import Identifier
from identity.synthetic import (
    SOURCE_REGIONS,
    Dataset,
    GeneratorConfig,
    TruthRow,
    generate,
    people_for_events,
    write_dataset,
)
from identity.synthetic.locales import DOMAIN_TYPOS
from identity.synthetic.scenarios import Scenario
from identity.synthetic.spellings import phone_spellings

RULES = NormalizationRules(source_regions=SOURCE_REGIONS)
CONFIG = GeneratorConfig(people=400, seed=11)


@dataclass(frozen=True)
class Parsed:
    """The generated dataset as the service will read it."""

    dataset: Dataset
    events: list[tuple[dict[str, object], Event]]
    truth: dict[Identifier, TruthRow]

    def owners(self, event: Event) -> set[str]:
        """The people an event's identifiers belong to, leaving out shared ones."""
        rows = (self.truth[i] for i in event.identifiers)
        return {row.person_id for row in rows if not row.is_shared}

    def rows(self, event: Event) -> list[TruthRow]:
        return [self.truth[i] for i in event.identifiers]

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


def test_an_event_never_mixes_two_people_except_on_shared_identifiers(parsed: Parsed) -> None:
    for _, event in parsed.events:
        owners = parsed.owners(event)
        assert len(owners) <= 1, event
        if not owners:  # a newsletter of the family mailbox, read on a family tablet
            assert all(row.is_shared for row in parsed.rows(event)), event


def test_shared_identifiers_are_family_devices_browsers_mailboxes_and_kiosks(
    parsed: Parsed,
) -> None:
    shared = {i for i, row in parsed.truth.items() if row.is_shared}
    assert {i.kind for i in shared} == {"device_id", "anonymous_id", "email"}
    users: dict[Identifier, set[str]] = defaultdict(set)
    for _, event in parsed.events:
        for identifier in shared.intersection(event.identifiers):
            users[identifier] |= parsed.owners(event)
    assert set(users) == shared
    used_by_many = [i for i, people in users.items() if len(people) >= 2]
    assert len(used_by_many) >= 0.4 * len(shared)


def test_a_family_device_meets_one_members_account_and_another_members_email(
    parsed: Parsed,
) -> None:
    """What makes households hard: no single link is wrong, and the device is no hub (one
    account, one other mailbox), yet it bridges two people."""
    accounts: dict[Identifier, set[str]] = defaultdict(set)
    mailboxes: dict[Identifier, set[str]] = defaultdict(set)
    for _, event in parsed.events:
        rows = parsed.rows(event)
        for device in (r for r in rows if r.is_shared and r.kind != "email"):
            key = Identifier(device.kind, device.value)
            accounts[key] |= {r.person_id for r in rows if r.kind == "customer_id"}
            mailboxes[key] |= {r.person_id for r in rows if r.kind == "email" and not r.is_shared}
    bridges = [d for d in accounts if len(accounts[d]) == 1 and mailboxes[d] - accounts[d]]
    assert len(bridges) >= 3


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
    unknown = [event for event in orders if event.order and event.order.amount is None]
    assert 0 < len(unknown) < 0.02 * len(orders), "a few orders come without their amount"
    assert all(event.warnings for event in unknown)
    kinds = [{i.kind for i in event.identifiers} for event in orders]
    assert all("order_id" in k for k in kinds)
    guests = [k for k in kinds if "customer_id" not in k and "email" in k]
    assert len(guests) >= 20
    assert {event.order.currency for event in orders if event.order} >= {"USD", "EUR", "GBP"}


def test_loyalty_cards_come_from_crm_and_the_tills_of_each_country(parsed: Parsed) -> None:
    sources = {event.source for _, event in parsed.events
               if any(i.kind == "external:loyalty" for i in event.identifiers)}
    assert sources == {"crm", "pos-us", "pos-gb", "pos-de", "pos-fr"}


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
    assert rows[0] == ["kind", "value", "person_id", "is_shared", "scenarios"]
    assert rows[1:] == [[r.kind, r.value, r.person_id, str(r.is_shared).lower(),
                         ";".join(r.scenarios)] for r in dataset.truth]


@pytest.mark.parametrize(("knobs", "reason"), [
    ({"people": -1}, r"people must not be negative \(got -1\)"),
    ({"email_typo_rate": 1.5}, r"email_typo_rate is a fraction in \[0, 1\] \(got 1.5\)"),
    ({"household_share": -0.1}, r"household_share is a fraction in \[0, 1\] \(got -0.1\)"),
    ({"days": 0}, r"days must be at least 1 \(got 0\)"),
])
def test_config_refuses_impossible_knobs(knobs: dict[str, int | float], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        GeneratorConfig(**{"people": 10, **knobs})  # type: ignore[arg-type]


def test_unknown_country_is_refused() -> None:
    with pytest.raises(ValueError, match="no locale"):
        generate(GeneratorConfig(people=5, country_weights=(("XX", 1.0),)))


# --- The scenarios the quality benchmark reports by -------------------------------------------


def _people_with(parsed: Parsed, scenario: str) -> set[str]:
    return {row.person_id for row in parsed.dataset.truth if scenario in row.scenarios}


def test_truth_marks_every_scenario_the_generator_writes(parsed: Parsed) -> None:
    marked = {tag for row in parsed.dataset.truth for tag in row.scenarios}
    assert marked == {s.value for s in Scenario}


def test_households_are_parents_and_grown_up_children_and_twins_share_a_birthday(
    parsed: Parsed,
) -> None:
    homes: dict[str, list[str]] = defaultdict(list)
    for person, facts in parsed.dataset.people.items():
        if facts.household is not None:
            homes[facts.household].append(person)
    assert homes and all(2 <= len(members) <= 4 for members in homes.values())
    births = {person: _trait_values(events, "date_of_birth")
              for person, events in parsed.by_person().items()}
    twins = [p for p in _people_with(parsed, "twin")]
    assert twins and len(twins) % 2 == 0
    by_home: dict[str | None, set[str]] = defaultdict(set)
    for twin in twins:
        by_home[parsed.dataset.people[twin].household].add(twin)
    for pair in by_home.values():
        assert len(pair) == 2
        first, second = sorted(pair)
        assert births[first] == births[second] and births[first]
        assert (parsed.dataset.people[first].full_name.split()[0]
                != parsed.dataset.people[second].full_name.split()[0])


def test_namesakes_share_a_full_name_and_a_city(parsed: Parsed) -> None:
    namesakes = _people_with(parsed, "namesake")
    by_name: dict[str, set[str]] = defaultdict(set)
    for person in namesakes:
        by_name[parsed.dataset.people[person].full_name].add(person)
    groups = [people for people in by_name.values() if len(people) >= 2]
    assert groups
    cities = parsed.by_person()
    for people in groups:
        seen = [_trait_values(cities.get(p, []), "city") for p in people]
        known = [{c.casefold() for c in s} for s in seen if s]
        if len(known) >= 2:
            assert set.intersection(*known), people


def test_movers_order_from_two_addresses(parsed: Parsed) -> None:
    movers = _people_with(parsed, "mover")
    by_person = parsed.by_person()
    moved = [p for p in movers
             if len({v.replace(" ", "").casefold()
                     for v in _trait_values(by_person.get(p, []), "postcode")}) >= 2]
    assert movers and moved


def test_national_phones_are_read_in_the_country_the_event_shows(parsed: Parsed) -> None:
    """A phone written nationally (07416 713197) only makes sense with a country: the
    event's address, or the till system's region."""
    read_nationally = 0
    for raw, event in parsed.events:
        dropped = {i.field.split(".")[0] for i in event.ignored}
        for index, item in enumerate(cast(list[dict[str, object]], raw["identifiers"])):
            if item["kind"] == "phone" and str(item["value"]).startswith("0") and \
                    f"identifiers[{index}]" not in dropped:  # not a mistyped one
                read_nationally += 1
                phones = [i for i in event.identifiers if i.kind == "phone"]
                assert phones and all(parsed.truth[p].person_id in parsed.owners(event)
                                      for p in phones)
    assert read_nationally >= 20


def test_mistyped_phones_and_broken_identifiers_cost_only_themselves(parsed: Parsed) -> None:
    dropped = [(raw, event) for raw, event in parsed.events
               if any(i.reason.endswith("accepted without it") for i in event.ignored)]
    assert len(dropped) >= 10
    for _, event in dropped:
        assert event.identifiers and all(i in parsed.truth for i in event.identifiers)
    kinds = {i.kind for _, event in dropped for i in event.ignored}
    assert {"phone", "email"} <= kinds


def test_crm_systems_write_the_address_as_a_nested_object(parsed: Parsed) -> None:
    nested = [(raw, event) for raw, event in parsed.events
              if isinstance(traits := raw.get("traits"), dict) and "address" in traits]
    assert nested
    for _, event in nested:
        traits = dict(event.traits)
        assert {"address_line1", "city", "postcode", "country"} <= set(traits)


def test_reachable_parts_hold_one_person_each_and_join_what_events_show(parsed: Parsed) -> None:
    reachable = parsed.dataset.reachable
    people_of: dict[str, set[str]] = defaultdict(set)
    for identifier, label in reachable.items():
        people_of[label].add(parsed.truth[identifier].person_id)
    assert all(len(people) == 1 for people in people_of.values())
    for _, event in parsed.events:
        owned = [i for i in event.identifiers if not parsed.truth[i].is_shared]
        assert len({reachable[i] for i in owned}) <= 1, event
