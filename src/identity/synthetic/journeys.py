"""Customer journeys over a few months, as events, with the ground truth of who is who.

A journey is a person's visits on their devices: anonymous browsing first, a sign-up and logins
that tie the cookies and device ids to a customer id and email, orders (some as a guest, with
typos), email clicks, loyalty-card activity in store, and a tablet shared at home.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from random import Random

from identity.domain.identifiers import NormalizationRules
from identity.domain.types import IdentifierKind
from identity.synthetic import noise
from identity.synthetic.config import GeneratorConfig
from identity.synthetic.eventlog import EventLog, Purchase
from identity.synthetic.locales import LOCALES
from identity.synthetic.people import Engagement, Person, Platform, Population, new_uuid
from identity.synthetic.spellings import (
    city_spelling,
    device_spelling,
    email_typo,
    first_name_spelling,
    french_street_line,
    gender_spelling,
    german_street_line,
    last_name_spelling,
    mailbox_spelling,
    number_first_line,
    postcode_spelling,
    uuid_spelling,
)
from identity.synthetic.truth import Mention, TruthLedger, TruthRow

__all__ = ["Dataset", "GeneratorConfig", "TruthRow", "generate", "people_for_events",
           "write_dataset"]

# Measured with the default GeneratorConfig (bots, duplicates and bad events included).
EVENTS_PER_PERSON = 10.9
_DAY = 86_400


@dataclass(frozen=True)
class Dataset:
    """Events in delivery order, and the truth; `invalid_event_ids` are the ones to reject."""

    events: list[dict[str, object]]
    truth: list[TruthRow]
    invalid_event_ids: frozenset[str] = frozenset()


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
        self.cookies: dict[int, Mention] = {}
        self.signed_up = False
        self.horizon = config.days * _DAY

    def mention(self, kind: str, raw: str) -> Mention:
        return Mention(kind, raw, self.person.person_id)

    def live(self) -> None:
        rng, person = self.rng, self.person
        count = 1 + _poisson(rng, self.config.mean_visits - 1)
        times = sorted(rng.randrange(self.horizon - _DAY) for _ in range(count))
        sign_up = rng.randrange(count) if person.customer_id else -1
        on_tablet = rng.randrange(sign_up, count) if person.household else -1
        must_order = rng.randrange(count) if person.engagement is Engagement.GUEST else -1
        tablet = next(i for i, d in enumerate(person.devices) if d.shared) if person.household \
            else -1
        for index, at in enumerate(times):
            device = tablet if index == on_tablet else rng.randrange(len(person.devices))
            login = index in (sign_up, on_tablet) or (
                self.signed_up and rng.random() < self.config.login_rate)
            order = index == must_order or (person.identified
                                            and rng.random() < self.config.order_rate)
            self.visit(at, device, login, order)
        if person.identified:
            self.email_clicks()
        if person.loyalty_id:
            self.loyalty(person.loyalty_id)

    def presence(self, device_index: int) -> Mention:
        """A browser shows its cookie, which people clear now and then; an app its device id."""
        device = self.person.devices[device_index]
        if device.device_id is not None:
            return Mention(IdentifierKind.DEVICE_ID, device_spelling(self.rng, device.device_id),
                           device.owner, device.shared)
        if device_index not in self.cookies or self.rng.random() < 0.1:
            self.cookies[device_index] = self.mention(IdentifierKind.ANONYMOUS_ID,
                                                      new_uuid(self.rng))
        return self.cookies[device_index]

    def visit(self, at: int, device_index: int, login: bool, order: bool) -> None:
        rng, log = self.rng, self.log
        device = self.person.devices[device_index]
        source = device.platform.value
        page = "page" if device.platform is Platform.WEB else "screen"
        session = self.mention(IdentifierKind.SESSION_ID, f"s_{rng.getrandbits(64):016x}")
        seen: list[Mention] = [self.presence(device_index), session]
        for _ in range(1 + _poisson(rng, self.config.mean_pages_per_visit - 1)):
            log.emit(page if rng.random() < 0.7 else "track", at, source, seen)
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
            self.log.emit("alias", at, source, seen)
            traits = self.traits(birth=True, address=False)
        else:
            traits = self.traits(birth=False, address=False) if rng.random() < 0.3 else None
        self.log.emit("identify", at + 1, source, [*seen, email, *self.placeholder()], traits)

    def order(self, at: int, source: str, seen: list[Mention], logged_in: bool) -> None:
        rng, person = self.rng, self.person
        if not person.emails:
            return
        order_id = self.mention(IdentifierKind.ORDER_ID, f"O-{new_uuid(rng)[:13].upper()}")
        contact = [self.typed_email(typos=not logged_in)]
        if person.phone_spellings and rng.random() < 0.6:
            phone = self.mention(IdentifierKind.PHONE, rng.choice(person.phone_spellings))
            contact = [phone] if rng.random() < 0.15 else [*contact, phone]
        where = "checkout" if source == "web" else source
        self.log.emit("order", at, where, [order_id, *seen, *contact, *self.placeholder()],
                      self.traits(birth=False, address=True), self.purchase())

    def typed_email(self, typos: bool) -> Mention:
        """An address typed into a form: usually right, sometimes a different mailbox."""
        rng, person = self.rng, self.person
        address = rng.choice(person.emails)
        if typos and rng.random() < self.config.email_typo_rate:
            typo = email_typo(rng, address)
            if typo is not None and self.log.ledger.reserve(
                    IdentifierKind.EMAIL, typo, person.person_id):
                return self.mention(IdentifierKind.EMAIL, typo)
        return self.mention(IdentifierKind.EMAIL, mailbox_spelling(rng, address))

    def email_clicks(self) -> None:
        """A click in a newsletter opens a browser: the email meets that browser's cookie."""
        browsers = [i for i, d in enumerate(self.person.devices) if d.platform is Platform.WEB]
        for _ in range(self.rng.choice((0, 0, 1, 1, 2))):
            email = self.mention(IdentifierKind.EMAIL,
                                 mailbox_spelling(self.rng, self.rng.choice(self.person.emails)))
            seen = [self.presence(self.rng.choice(browsers))] if browsers else []
            self.log.emit("track", self.rng.randrange(self.horizon), "email", [email, *seen])

    def loyalty(self, loyalty_id: str) -> None:
        """A card signed up for at the till (keyed in by staff), then used in store."""
        rng, person = self.rng, self.person
        card = self.mention("external:loyalty", loyalty_id)
        known = [self.typed_email(typos=True)]
        if person.customer_id and rng.random() < 0.7:
            known.append(self.mention(IdentifierKind.CUSTOMER_ID, person.customer_id))
        if person.phone_spellings:
            known.append(self.mention(IdentifierKind.PHONE, rng.choice(person.phone_spellings)))
        at = rng.randrange(self.horizon - _DAY)
        self.log.emit("identify", at, "crm", [card, *known],
                      self.traits(birth=True, address=True, gender=True))
        for _ in range(rng.randint(0, 3)):
            at = rng.randrange(self.horizon - _DAY)
            till: list[Mention] = [card, self.mention(IdentifierKind.ORDER_ID,
                                                       f"POS-{rng.getrandbits(40):010x}")]
            if self.kiosks and rng.random() < self.config.kiosk_rate:
                kiosk = uuid_spelling(rng, rng.choice(self.kiosks))
                till.append(Mention(IdentifierKind.DEVICE_ID, kiosk, person.person_id, True))
            if person.phone_spellings and rng.random() < 0.3:
                till.append(self.mention(IdentifierKind.PHONE, person.phone_spellings[0]))
            self.log.emit("order", at, "pos", till, self.traits(birth=False, address=False),
                          self.purchase())

    def placeholder(self) -> list[Mention]:
        return [noise.placeholder(self.rng)] if self.rng.random() < self.config.placeholder_rate \
            else []

    def purchase(self) -> Purchase:
        cents = self.rng.randrange(499, 40_000)
        return Purchase(f"{cents // 100}.{cents % 100:02d}", self.person.locale.currency)

    def traits(self, birth: bool, address: bool, gender: bool = False) -> dict[str, object]:
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
            traits.update(self.address_traits())
        return traits

    def address_traits(self) -> dict[str, object]:
        rng, home, locale = self.rng, self.person.address, self.person.locale
        if locale.country == "DE":
            line = german_street_line(rng, home.number, home.street)
        elif locale.country == "FR":
            line = french_street_line(rng, home.number, home.street)
        else:
            line = number_first_line(rng, home.number, home.street, home.street_type)
        return {"address_line1": line, "city": city_spelling(rng, home.city),
                "postcode": postcode_spelling(rng, home.postcode, locale.postcode_style),
                "country": home.country}


def generate(config: GeneratorConfig) -> Dataset:
    """Deterministic for a seed: one random stream, no wall clock, no global state."""
    unknown = [c for c, _ in config.country_weights if c not in LOCALES]
    if unknown:
        raise ValueError(f"no locale for {unknown}; known: {sorted(LOCALES)}")
    rng = Random(config.seed)
    ledger = TruthLedger(NormalizationRules())
    log = EventLog(rng, ledger, config.start)
    kiosks = tuple(new_uuid(rng).upper() for _ in range(config.kiosks))
    for person in Population(config, rng, ledger).build():
        Journey(person, log, config, kiosks).live()
    human = len(log.deliveries)
    bots = round(human * config.bot_event_share / (1 - config.bot_event_share))
    noise.bot_sessions(log, bots, config.days * _DAY - _DAY)
    noise.redeliver(log, config.duplicate_share)
    invalid = noise.corrupt(log, config.invalid_event_share)
    return Dataset(log.in_delivery_order(), ledger.rows(), invalid)


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
        writer.writerow(("kind", "value", "person_id", "is_shared"))
        for row in dataset.truth:
            writer.writerow((row.kind, row.value, row.person_id, _csv_bool(row.is_shared)))


def _csv_bool(value: bool) -> str:
    return "true" if value else "false"

