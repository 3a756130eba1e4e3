"""Customer journeys over a few months, as events, with the ground truth of who is who.

A journey is a person's visits on their devices: anonymous browsing first, a sign-up and logins
that tie the cookies and device ids to a customer id and email, orders (some as a guest, with
typos), email clicks, loyalty-card activity in store, and a tablet shared at home.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from random import Random

from identity.domain.identifiers import NormalizationRules
from identity.domain.types import Identifier, IdentifierKind
from identity.synthetic import noise
from identity.synthetic.config import GeneratorConfig
from identity.synthetic.eventlog import EventLog, Purchase
from identity.synthetic.locales import LOCALES
from identity.synthetic.people import Engagement, Person, Platform, Population, new_uuid
from identity.synthetic.scenarios import Scenario
from identity.synthetic.spellings import (
    city_spelling,
    device_spelling,
    email_typo,
    first_name_spelling,
    french_street_line,
    gender_spelling,
    german_street_line,
    invalid_phone_spelling,
    last_name_spelling,
    mailbox_spelling,
    number_first_line,
    postcode_spelling,
    uuid_spelling,
)
from identity.synthetic.truth import Mention, TruthLedger, TruthRow

__all__ = ["SOURCE_REGIONS", "Dataset", "GeneratorConfig", "PersonFacts", "TruthRow",
           "generate", "people_for_events", "write_dataset"]

# Tills send events from one system per country, without the customer's address: the region
# their phones are written in is configuration (NormalizationRules.source_regions).
SOURCE_REGIONS: tuple[tuple[str, str], ...] = tuple(
    (f"pos-{country.lower()}", country) for country in sorted(LOCALES))

_TILL_OF = {region: source for source, region in SOURCE_REGIONS}

# Measured with the default GeneratorConfig (bots, duplicates and bad events included).
EVENTS_PER_PERSON = 10.9
_DAY = 86_400


@dataclass(frozen=True, slots=True)
class PersonFacts:
    """What the quality benchmark needs to know of a person to say why a pair went wrong."""

    household: str | None
    full_name: str
    scenarios: frozenset[str]


@dataclass(frozen=True)
class Dataset:
    """Events in delivery order, and the truth; `invalid_event_ids` are the ones to reject.
    `reachable` labels each identifier events show unshared: identifiers with one label are
    what a perfect resolver could link from the events alone (seen together, or in records
    of the same person's traits)."""

    events: list[dict[str, object]]
    truth: list[TruthRow]
    invalid_event_ids: frozenset[str] = frozenset()
    people: dict[str, PersonFacts] = field(default_factory=dict)
    reachable: dict[Identifier, str] = field(default_factory=dict)


def _poisson(rng: Random, mean: float) -> int:
    """Knuth's method: exact and cheap for the small means of visits and page views."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


class Journey:
    """One person's events, written in the order they lived them."""

    def __init__(self, person: Person, log: EventLog, config: GeneratorConfig,
                 kiosks: tuple[str, ...]) -> None:
        self.person, self.log, self.config, self.kiosks = person, log, config, kiosks
        self.rng = log.rng
        self.ledger = log.ledger
        self.cookies: dict[int, Mention] = {}
        self.signed_up = False
        self.horizon = config.days * _DAY
        self.own_devices = [i for i, d in enumerate(person.devices) if not d.shared]
        self.home_device = next((i for i, d in enumerate(person.devices) if d.shared), -1)

    def mention(self, kind: str, raw: str, scenario: Scenario | None = None) -> Mention:
        return Mention(kind, raw, self.person.person_id, scenario=scenario)

    def tag(self, scenario: Scenario) -> None:
        self.ledger.tag(self.person.person_id, scenario)

    def emit(self, type_: str, at: int, source: str, mentions: Sequence[Mention],
             traits: dict[str, object] | None = None, purchase: Purchase | None = None) -> None:
        self.log.emit(type_, at, source, mentions, traits, purchase, self.person.person_id)

    def live(self) -> None:
        """Visits on the person's own devices; a household member also uses the family's
        device: logs in there once with their own account, and on other visits there logs in
        or not (browsing, a guest order with their own or the family's mailbox)."""
        rng, person = self.rng, self.person
        count = 1 + _poisson(rng, self.config.mean_visits - 1)
        times = sorted(rng.randrange(self.horizon - _DAY) for _ in range(count))
        sign_up = rng.randrange(count) if person.customer_id else -1
        home_visits: set[int] = set()
        home_login = -1
        if self.home_device >= 0:
            home_visits = set(rng.sample(range(count), min(count, rng.choice((1, 1, 2, 3)))))
            home_login = rng.choice(sorted(home_visits))
        must_order = rng.randrange(count) if person.engagement is Engagement.GUEST else -1
        for index, at in enumerate(times):
            at_home = index in home_visits
            device = self.home_device if at_home else rng.choice(self.own_devices)
            logs_in = self.config.home_login_rate if at_home else self.config.login_rate
            login = index in (sign_up, home_login) or (
                self.signed_up and rng.random() < logs_in)
            order = index == must_order or (person.identified
                                            and rng.random() < self.config.order_rate)
            self.visit(at, device, login and person.customer_id is not None, order)
        if person.identified:
            self.email_clicks()
        if person.loyalty_id:
            self.loyalty(person.loyalty_id)

    def presence(self, device_index: int, at: int) -> Mention:
        """A browser shows its cookie, which people clear now and then; an app its device id.
        The family computer's browser shows the household's cookie of the day."""
        device = self.person.devices[device_index]
        if device.device_id is not None:
            scenario = Scenario.SHARED_DEVICE if device.shared else None
            return Mention(IdentifierKind.DEVICE_ID, device_spelling(self.rng, device.device_id),
                           device.owner, device.shared, scenario=scenario)
        if device.shared and self.person.home is not None:
            return Mention(IdentifierKind.ANONYMOUS_ID, self.person.home.cookie_at(at),
                           device.owner, True, scenario=Scenario.SHARED_DEVICE)
        if device_index not in self.cookies or self.rng.random() < 0.1:
            self.cookies[device_index] = self.mention(IdentifierKind.ANONYMOUS_ID,
                                                      new_uuid(self.rng))
        return self.cookies[device_index]

    def visit(self, at: int, device_index: int, login: bool, order: bool) -> None:
        rng = self.rng
        device = self.person.devices[device_index]
        source = device.platform.value
        page = "page" if device.platform is Platform.WEB else "screen"
        session = self.mention(IdentifierKind.SESSION_ID, f"s_{rng.getrandbits(64):016x}")
        seen: list[Mention] = [self.presence(device_index, at), session]
        for _ in range(1 + _poisson(rng, self.config.mean_pages_per_visit - 1)):
            self.emit(page if rng.random() < 0.7 else "track", at, source, seen)
            at += rng.randint(5, 180)
        if login and self.person.customer_id:
            seen.append(self.mention(IdentifierKind.CUSTOMER_ID, self.person.customer_id))
            self.log_in(at, source, seen)
            at += rng.randint(5, 60)
        if order:
            self.order(at + rng.randint(30, 600), source, seen, logged_in=login)

    def log_in(self, at: int, source: str, seen: list[Mention]) -> None:
        rng, person = self.rng, self.person
        email = self.mention(IdentifierKind.EMAIL, mailbox_spelling(rng, person.emails[0]))
        traits: dict[str, object] | None = None
        if not self.signed_up:
            self.signed_up = True
            self.emit("alias", at, source, seen)
            traits = self.traits(at, birth=True, address=False)
        else:
            traits = self.traits(at, birth=False, address=False) if rng.random() < 0.3 else None
        self.emit("identify", at + 1, source, [*seen, email, *self.placeholder()], traits)

    def order(self, at: int, source: str, seen: list[Mention], logged_in: bool) -> None:
        rng, person = self.rng, self.person
        if not person.emails:
            return
        order_id = self.mention(IdentifierKind.ORDER_ID, f"O-{new_uuid(rng)[:13].upper()}")
        contact = [self.typed_email(typos=not logged_in)]
        if person.phone and rng.random() < 0.6:
            phone = self.typed_phone(shows_country=True)
            contact = [phone] if rng.random() < 0.15 else [*contact, phone]
        where = "checkout" if source == "web" else source
        self.emit("order", at, where, [order_id, *seen, *contact, *self.placeholder()],
                  self.traits(at, birth=False, address=True), self.purchase())

    def typed_email(self, typos: bool) -> Mention:
        """An address typed into a form: usually right, sometimes a different mailbox, and
        at home sometimes the family's mailbox."""
        rng, person = self.rng, self.person
        if (family := self.family_mailbox(0.3)) is not None:
            return family
        address = rng.choice(person.emails)
        if typos and rng.random() < self.config.email_typo_rate:
            typo = email_typo(rng, address)
            if typo is not None and self.ledger.reserve(
                    IdentifierKind.EMAIL, typo, person.person_id):
                self.tag(Scenario.TYPO)
                return self.mention(IdentifierKind.EMAIL, typo, Scenario.TYPO)
        return self.mention(IdentifierKind.EMAIL, mailbox_spelling(rng, address))

    def family_mailbox(self, rate: float) -> Mention | None:
        """The household's shared mailbox, at `rate` when the person has one."""
        home = self.person.home
        if home is None or home.family_email is None or self.rng.random() >= rate:
            return None
        return Mention(IdentifierKind.EMAIL, mailbox_spelling(self.rng, home.family_email),
                       self.ledger.owner_of(IdentifierKind.EMAIL, home.family_email), True,
                       scenario=Scenario.FAMILY_EMAIL)

    def typed_phone(self, shows_country: bool) -> Mention:
        """The person's number as they write it: nationally where the form shows their
        country (if that is their habit), else in an international form; now and then with
        a digit missing, which makes it no number at all."""
        rng, person = self.rng, self.person
        assert person.phone is not None
        if person.national_phone and shows_country and rng.random() < 0.7:
            written = rng.choice(person.national_phone)
        else:
            written = rng.choice(person.phone_spellings)
        if rng.random() < self.config.phone_typo_rate:
            typo = invalid_phone_spelling(rng, written, person.locale.country)
            if typo is not None:
                self.tag(Scenario.INVALID_PHONE)
                return Mention(IdentifierKind.PHONE, typo, None)
        return self.mention(IdentifierKind.PHONE, written) if written in person.phone_spellings \
            else Mention(IdentifierKind.PHONE, written, person.person_id, canonical=person.phone,
                         scenario=Scenario.NATIONAL_PHONE)

    def email_clicks(self) -> None:
        """A click in a newsletter opens a browser: the email meets that browser's cookie. At
        home that is the family computer's browser, and the family's newsletter too."""
        rng, person = self.rng, self.person
        browsers = [i for i, d in enumerate(person.devices) if d.platform is Platform.WEB]
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            at = rng.randrange(self.horizon)
            email = self.mention(IdentifierKind.EMAIL,
                                 mailbox_spelling(rng, rng.choice(person.emails)))
            email = self.family_mailbox(0.25) or email
            seen = [self.presence(rng.choice(browsers), at)] if browsers else []
            self.emit("track", at, "email", [email, *seen])

    def loyalty(self, loyalty_id: str) -> None:
        """A card signed up for at the till (keyed in by staff), then used in store, where the
        till's system says which country's store it is."""
        rng, person = self.rng, self.person
        card = self.mention("external:loyalty", loyalty_id)
        known = [self.typed_email(typos=True)]
        if person.customer_id and rng.random() < 0.7:
            known.append(self.mention(IdentifierKind.CUSTOMER_ID, person.customer_id))
        if person.phone:
            known.append(self.typed_phone(shows_country=True))
        at = rng.randrange(self.horizon - _DAY)
        traits = self.traits(at, birth=True, address=True, gender=True)
        if rng.random() < self.config.nested_address_rate:
            traits = nested_address(traits)
            self.tag(Scenario.NESTED_ADDRESS)
        self.emit("identify", at, "crm", [card, *known], traits)
        till_source = _TILL_OF[person.locale.country]
        for _ in range(rng.randint(0, 3)):
            at = rng.randrange(self.horizon - _DAY)
            till: list[Mention] = [card, self.mention(IdentifierKind.ORDER_ID,
                                                       f"POS-{rng.getrandbits(40):010x}")]
            if self.kiosks and rng.random() < self.config.kiosk_rate:
                kiosk = uuid_spelling(rng, rng.choice(self.kiosks))
                till.append(Mention(IdentifierKind.DEVICE_ID, kiosk, person.person_id, True,
                                    scenario=Scenario.SHARED_DEVICE))
                self.tag(Scenario.KIOSK)
            if person.phone and rng.random() < 0.3:
                till.append(self.typed_phone(shows_country=True))
            self.emit("order", at, till_source, till, self.traits(at, birth=False, address=False),
                      self.purchase())

    def placeholder(self) -> list[Mention]:
        return [noise.placeholder(self.rng)] if self.rng.random() < self.config.placeholder_rate \
            else []

    def purchase(self) -> Purchase | None:
        """None: the producer lost the amount on the way (the order still happened)."""
        if self.rng.random() < self.config.missing_amount_share:
            self.tag(Scenario.MISSING_AMOUNT)
            return None
        cents = self.rng.randrange(499, 40_000)
        return Purchase(f"{cents // 100}.{cents % 100:02d}", self.person.locale.currency)

    def traits(self, at: int, birth: bool, address: bool, gender: bool = False
               ) -> dict[str, object]:
        """What this form asked for, spelled the way the person typed it this time."""
        rng, person = self.rng, self.person
        traits: dict[str, object] = {
            "first_name": first_name_spelling(rng, person.given),
            "last_name": last_name_spelling(rng, person.last_name),
        }
        if birth:
            traits["date_of_birth"] = person.date_of_birth.isoformat()
        if gender:
            traits["gender"] = gender_spelling(rng, person.given.gender)
        if address:
            traits.update(self.address_traits(at))
        return traits

    def address_traits(self, at: int) -> dict[str, object]:
        rng, locale = self.rng, self.person.locale
        home = self.person.address_at(at)
        if locale.country == "DE":
            line = german_street_line(rng, home.number, home.street)
        elif locale.country == "FR":
            line = french_street_line(rng, home.number, home.street)
        else:
            line = number_first_line(rng, home.number, home.street, home.street_type)
        return {"address_line1": line, "city": city_spelling(rng, home.city),
                "postcode": postcode_spelling(rng, home.postcode, locale.postcode_style),
                "country": home.country}


def nested_address(traits: dict[str, object]) -> dict[str, object]:
    """The address as Segment's spec writes it: one `address` object (street, city,
    postal_code, country) instead of flat traits."""
    flat = {"address_line1": "street", "city": "city", "postcode": "postal_code",
            "country": "country"}
    nested = {name: traits[key] for key, name in flat.items() if key in traits}
    kept = {key: value for key, value in traits.items() if key not in flat}
    return {**kept, "address": nested} if nested else traits


def generate(config: GeneratorConfig) -> Dataset:
    """Deterministic for a seed: one random stream, no wall clock, no global state."""
    unknown = [c for c, _ in config.country_weights if c not in LOCALES]
    if unknown:
        raise ValueError(f"no locale for {unknown}; known: {sorted(LOCALES)}")
    rng = Random(config.seed)
    ledger = TruthLedger(NormalizationRules())
    log = EventLog(rng, ledger, config.start)
    kiosks = tuple(new_uuid(rng).upper() for _ in range(config.kiosks))
    people = Population(config, rng, ledger).build()
    for person in people:
        Journey(person, log, config, kiosks).live()
    human = len(log.deliveries)
    bots = round(human * config.bot_event_share / (1 - config.bot_event_share))
    noise.bot_sessions(log, bots, config.days * _DAY - _DAY)
    noise.messy_identifiers(log, config.messy_identifier_share)  # before copies are made
    noise.redeliver(log, config.duplicate_share)
    invalid = noise.corrupt(log, config.invalid_event_share)
    facts = {p.person_id: PersonFacts(p.household, p.full_name, ledger.tags(p.person_id))
             for p in people}
    return Dataset(log.in_delivery_order(), ledger.rows(), invalid, facts, ledger.reachable())


def people_for_events(target_events: int) -> int:
    """How many people to ask for to get about `target_events` with the default knobs."""
    return max(1, round(target_events / EVENTS_PER_PERSON))


def write_dataset(dataset: Dataset, events_path: Path, truth_path: Path) -> None:
    """Events as JSON lines, truth as CSV: the formats `identity ingest` and pandas read."""
    for path in (events_path, truth_path):
        path.parent.mkdir(parents=True, exist_ok=True)
    with events_path.open("w", encoding="utf-8") as out:
        for event in dataset.events:
            out.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")
    with truth_path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(("kind", "value", "person_id", "is_shared", "scenarios"))
        for row in dataset.truth:
            writer.writerow((row.kind, row.value, row.person_id, _csv_bool(row.is_shared),
                             ";".join(row.scenarios)))


def _csv_bool(value: bool) -> str:
    return "true" if value else "false"

