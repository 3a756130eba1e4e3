"""The synthetic population: people, the households they share a tablet in, their devices.

Everything a person is identified by is chosen here, once, and reserved in the truth ledger, so
two people never end up with the same email, phone or id by chance.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum
from random import Random

import phonenumbers

from identity.domain.types import IdentifierKind
from identity.synthetic.config import GeneratorConfig
from identity.synthetic.locales import LOCALES, WORK_DOMAINS, GivenName, Locale
from identity.synthetic.scenarios import Scenario
from identity.synthetic.spellings import STREET_TYPES, StreetType, ascii_spelling, phone_spellings
from identity.synthetic.truth import TruthLedger

_OLDEST_BIRTH = date(1945, 1, 1)
_YOUNGEST_BIRTH = date(2006, 12, 31)  # every customer is an adult during the period
_BIRTH_SPAN_DAYS = (_YOUNGEST_BIRTH - _OLDEST_BIRTH).days
_YEAR = 365
_DAY_S = 86_400
_GB_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


class Engagement(StrEnum):
    """How far a person lets the shop know them."""

    ACCOUNT = "account"      # signs up and logs in
    GUEST = "guest"          # buys with an email and phone, never logs in
    ANONYMOUS = "anonymous"  # browses only


class Platform(StrEnum):
    WEB = "web"
    IOS = "ios"
    ANDROID = "android"


@dataclass(frozen=True, slots=True)
class Address:
    number: int
    street: str
    street_type: StreetType
    city: str
    postcode: str
    country: str


@dataclass(frozen=True, slots=True)
class Device:
    """A browser (identified by cookies) or an app install (identified by its device id).
    A shared one belongs to a household: its first member is the owner the truth names."""

    platform: Platform
    device_id: str | None
    owner: str
    shared: bool = False


@dataclass(frozen=True, slots=True)
class Household:
    """People under one roof: one address, often one surname, one device they all use (a
    tablet, or a browser on the family computer) and sometimes one family mailbox."""

    household_id: str
    last_name: str
    address: Address
    tablet_id: str | None  # None: the shared device is the family computer's browser
    browser_cookies: tuple[tuple[int, str], ...]  # (from second, cookie): cleared now and then
    family_email: str | None = None

    def cookie_at(self, at: int) -> str:
        return [cookie for start, cookie in self.browser_cookies if start <= at][-1]


@dataclass(frozen=True, slots=True)
class Move:
    """From `at` (seconds after the start) on, the person's forms show the new address."""

    at: int
    address: Address


@dataclass(frozen=True, slots=True)
class Person:
    person_id: str
    engagement: Engagement
    locale: Locale
    given: GivenName
    last_name: str
    date_of_birth: date
    address: Address
    emails: tuple[str, ...]
    phone_spellings: tuple[str, ...]
    customer_id: str | None
    loyalty_id: str | None
    devices: tuple[Device, ...]
    phone: str | None = None  # E.164; `phone_spellings` are the ways it is written
    home: Household | None = None
    national_phone: tuple[str, ...] = ()  # written where the form shows the country
    move: Move | None = None

    @property
    def identified(self) -> bool:
        return self.engagement is not Engagement.ANONYMOUS

    @property
    def household(self) -> str | None:
        return self.home.household_id if self.home else None

    @property
    def full_name(self) -> str:
        return f"{self.given.formal} {self.last_name}"

    def address_at(self, at: int) -> Address:
        return self.move.address if self.move is not None and at >= self.move.at else self.address


def _locale(rng: Random, config: GeneratorConfig) -> Locale:
    countries = [country for country, _ in config.country_weights]
    weights = [weight for _, weight in config.country_weights]
    return LOCALES[rng.choices(countries, weights)[0]]


def _birth_date(rng: Random, earliest: date = _OLDEST_BIRTH, span_days: int = _BIRTH_SPAN_DAYS
                ) -> date:
    return min(earliest + timedelta(days=rng.randrange(max(span_days, 1))), _YOUNGEST_BIRTH)


def _postcode(rng: Random, locale: Locale, prefix: str) -> str:
    if locale.postcode_style == "gb":
        letters = "".join(rng.choices(_GB_INWARD_LETTERS, k=2))
        return f"{prefix} {rng.randrange(1, 10)}{letters}"
    if locale.postcode_style == "fr5" and prefix == "750":
        return f"750{rng.randrange(1, 21):02d}"  # the twenty Paris arrondissements
    return f"{prefix}{rng.randrange(100):02d}"


def _address(rng: Random, locale: Locale, city_name: str | None = None) -> Address:
    city = rng.choice([c for c in locale.cities if city_name in (None, c.name)])
    postcode = _postcode(rng, locale, rng.choice(city.postcode_prefixes))
    return Address(rng.randrange(1, 240), rng.choice(locale.streets), rng.choice(STREET_TYPES),
                   city.name, postcode, locale.country)


def new_uuid(rng: Random) -> str:
    """A version-4 UUID from the run's own random stream, so a seed reproduces it."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _app_device(rng: Random, platform: Platform, owner: str) -> Device:
    if platform is Platform.IOS or rng.random() < 0.5:
        device_id = new_uuid(rng).upper()  # IDFV, or a GAID
    else:
        device_id = f"{rng.getrandbits(64):016x}"  # ANDROID_ID
    return Device(platform, device_id, owner)


def _devices(rng: Random, person_id: str, engagement: Engagement) -> tuple[Device, ...]:
    count = rng.choices((1, 2, 3), (0.5, 0.35, 0.15))[0]
    if engagement is Engagement.ANONYMOUS:
        count = min(count, 2)
    platforms = rng.choices(list(Platform), (0.5, 0.25, 0.25), k=count)
    return tuple(
        Device(p, None, person_id) if p is Platform.WEB else _app_device(rng, p, person_id)
        for p in platforms
    )


def _local_part(rng: Random, given: GivenName, last_name: str) -> str:
    first = ascii_spelling(given.formal).lower()
    last = ascii_spelling(last_name).lower().replace("'", "").replace(" ", "")
    style = rng.choice((f"{first}.{last}", f"{first[0]}{last}", f"{first}{last}",
                        f"{first}_{last}", f"{last}.{first}"))
    return f"{style}{rng.randrange(1, 10 ** rng.randint(1, 4))}" if rng.random() < 0.8 else style


def _email(rng: Random, ledger: TruthLedger, person_id: str, domains: tuple[str, ...],
           given: GivenName, last_name: str) -> str:
    """A personal address nobody else has, the way people pick one: name plus digits."""
    for _ in range(50):
        address = f"{_local_part(rng, given, last_name)}@{rng.choice(domains)}"
        if ledger.reserve(IdentifierKind.EMAIL, address, person_id):
            return address
    raise RuntimeError(f"could not find a free email address for {person_id}")


def _phone(rng: Random, ledger: TruthLedger, person_id: str, locale: Locale) -> str:
    """A mobile number that phonenumbers accepts as valid and nobody else holds."""
    country_code = phonenumbers.country_code_for_region(locale.country)
    for _ in range(200):
        band = rng.choice(locale.phone_ranges)
        national = int(band.prefix + "".join(rng.choices("0123456789", k=band.digits)))
        e164 = f"+{country_code}{national}"
        if ledger.reserve(IdentifierKind.PHONE, e164, person_id):  # checks it is valid too
            return e164
    raise RuntimeError(f"could not find a free valid phone number in {locale.country}")


def _national_spellings(e164: str) -> tuple[str, ...]:
    """How people write their own number at home: the national form, with and without its
    spaces. Only a reader who knows the country gets the number back (07416 713197)."""
    national = str(phonenumbers.format_number(phonenumbers.parse(e164),
                                              phonenumbers.PhoneNumberFormat.NATIONAL))
    return (national, national.replace(" ", ""))


def _family_email(rng: Random, ledger: TruthLedger, owner: str, household: Household,
                  locale: Locale) -> str:
    """A mailbox the household shares, named after it (thesmiths@, smith.family@)."""
    name = ascii_spelling(household.last_name).lower().replace("'", "").replace(" ", "")
    for _ in range(50):
        local = rng.choice((f"the{name}s", f"{name}.family", f"{name}family",
                            f"{name}.home")) + str(rng.randrange(1, 100))
        address = f"{local}@{rng.choice(locale.mail_domains)}"
        if ledger.reserve(IdentifierKind.EMAIL, address, owner, shared=True):
            return address
    raise RuntimeError(f"could not find a free family mailbox for {household.household_id}")


def _unique_id(rng: Random, ledger: TruthLedger, kind: str, person_id: str, pattern: str) -> str:
    while True:
        value = pattern.format(rng.randrange(10**9))
        if ledger.reserve(kind, value, person_id):
            return value


@dataclass(frozen=True, slots=True)
class _Identity:
    """Who a person is before they get their identifiers."""

    locale: Locale
    given: GivenName
    last_name: str
    date_of_birth: date
    address: Address
    household: Household | None
    twin: bool = False


class Population:
    """Builds the people of one run, in a fixed order, from the run's random stream."""

    def __init__(self, config: GeneratorConfig, rng: Random, ledger: TruthLedger) -> None:
        self._config = config
        self._rng = rng
        self._ledger = ledger
        self._people: list[Person] = []
        self._owners: dict[str, str] = {}  # household -> its first member
        self._family_emails: dict[str, str] = {}
        self._horizon = config.days * _DAY_S

    def build(self) -> list[Person]:
        identities = self._identities()
        for index, identity in enumerate(identities):
            self._people.append(self._person(f"P{index + 1:06d}", identity))
        return self._people

    def _identities(self) -> list[_Identity]:
        """Households take random places in the population; everyone else lives alone."""
        rng, config = self._rng, self._config
        slots: list[_Identity | None] = [None] * config.people
        order = list(range(config.people))
        rng.shuffle(order)
        in_households = round(config.people * config.household_share)
        cursor, number = 0, 0
        while in_households - cursor >= 2:
            size = min(rng.randint(2, 4), in_households - cursor)
            number += 1
            members = self._household(f"H{number:05d}", size)
            for member in members:
                slots[order[cursor]] = member
                cursor += 1
        return [slot if slot is not None else self._single() for slot in slots]

    def _household(self, household_id: str, size: int) -> list[_Identity]:
        """Two parents (a couple, often one surname, born within a few years) and their
        grown-up children (born 22 to 38 years after the first parent, mostly with the
        family's surname); two of the children may be twins. A household of two is a
        couple, a parent and a child, or two siblings."""
        rng, config = self._rng, self._config
        locale = _locale(rng, config)
        on_tablet = rng.random() >= config.home_browser_share
        cookies = [(0, new_uuid(rng))]
        for _ in range(rng.choice((0, 1, 1, 2))):  # the family clears its cookies now and then
            cookies.append((rng.randrange(self._horizon), new_uuid(rng)))
        household = Household(household_id, rng.choice(locale.last_names),
                              _address(rng, locale), new_uuid(rng).upper() if on_tablet else None,
                              tuple(sorted(cookies)))
        roles: tuple[str, ...]
        if size == 2:
            roles = rng.choices((("parent", "parent"), ("parent", "child"), ("child", "child")),
                                (0.6, 0.25, 0.15))[0]
        else:
            roles = ("parent", "parent", *(["child"] * (size - 2)))
        children = [i for i, role in enumerate(roles) if role == "child"]
        twins = children[:2] if len(children) >= 2 and rng.random() < config.twin_share else []
        first_parent = _birth_date(rng, date(1950, 1, 1), 35 * _YEAR)
        twin_birth = _birth_date(rng, first_parent + timedelta(days=22 * _YEAR), 16 * _YEAR)
        members: list[_Identity] = []
        for position, role in enumerate(roles):
            if position in twins:
                born = twin_birth
            elif role == "parent" and position == 0:
                born = first_parent
            elif role == "parent":
                born = _birth_date(rng, first_parent - timedelta(days=6 * _YEAR), 12 * _YEAR)
            else:
                born = _birth_date(rng, first_parent + timedelta(days=22 * _YEAR), 16 * _YEAR)
            keeps_name = rng.random() < (0.9 if role == "child" else 0.6)
            last = household.last_name if keeps_name or position in twins or position == 0 \
                else rng.choice(locale.last_names)
            given = rng.choice(locale.given_names)
            while any(given.formal == m.given.formal for m in members):
                given = rng.choice(locale.given_names)  # nobody names two children alike
            members.append(_Identity(locale, given, last, born, household.address, household,
                                     twin=position in twins))
        return members

    def _single(self) -> _Identity:
        rng = self._rng
        locale = _locale(rng, self._config)
        given, last = rng.choice(locale.given_names), rng.choice(locale.last_names)
        return _Identity(locale, given, last, _birth_date(rng), _address(rng, locale), None)

    def _engagement(self, identity: _Identity) -> Engagement:
        if identity.household is not None:
            return Engagement.ACCOUNT  # the shop is one the family uses: each has an account
        roll = self._rng.random()
        if roll < self._config.anonymous_share:
            return Engagement.ANONYMOUS
        if roll < self._config.anonymous_share + self._config.guest_share:
            return Engagement.GUEST
        return Engagement.ACCOUNT

    def _namesake(self, person_id: str, identity: _Identity) -> _Identity:
        """Borrow the full name of someone unrelated in the same city (another street)."""
        if (identity.household is not None or not self._people
                or self._rng.random() >= self._config.namesake_share):
            return identity
        other = self._rng.choice(self._people)
        for person in (person_id, other.person_id):
            self._ledger.tag(person, Scenario.NAMESAKE)
        return _Identity(other.locale, other.given, other.last_name, identity.date_of_birth,
                         _address(self._rng, other.locale, other.address.city), None)

    def _shared_device(self, household: Household, owner: str) -> Device:
        if household.tablet_id is not None:
            return Device(Platform.IOS, household.tablet_id, owner, shared=True)
        return Device(Platform.WEB, None, owner, shared=True)

    def _home(self, household: Household, person_id: str) -> Household:
        """The first member created owns what the household shares; the truth names them."""
        owner = self._owners.setdefault(household.household_id, person_id)
        if household.household_id not in self._family_emails and owner == person_id \
                and self._rng.random() < self._config.family_email_share:
            self._family_emails[household.household_id] = _family_email(
                self._rng, self._ledger, owner, household, LOCALES[household.address.country])
        return replace(household, family_email=self._family_emails.get(household.household_id))

    def _move(self, identity: _Identity) -> Move | None:
        if identity.household is not None or self._rng.random() >= self._config.mover_share:
            return None
        rng = self._rng
        city = identity.address.city if rng.random() < 0.5 else None
        return Move(rng.randrange(self._horizon // 5, self._horizon * 4 // 5),
                    _address(rng, identity.locale, city))

    def _person(self, person_id: str, identity: _Identity) -> Person:
        rng, ledger, config = self._rng, self._ledger, self._config
        identity = self._namesake(person_id, identity)
        engagement = self._engagement(identity)
        devices = _devices(rng, person_id, engagement)
        home = self._home(identity.household, person_id) if identity.household else None
        if home is not None:
            devices = (*devices, self._shared_device(home, self._owners[home.household_id]))
        emails: tuple[str, ...] = ()
        phones: tuple[str, ...] = ()
        national: tuple[str, ...] = ()
        e164: str | None = None
        if engagement is not Engagement.ANONYMOUS:
            emails = (_email(rng, ledger, person_id, identity.locale.mail_domains,
                             identity.given, identity.last_name),)
            if rng.random() < config.second_email_share:
                emails += (_email(rng, ledger, person_id, WORK_DOMAINS, identity.given,
                                  identity.last_name),)
            if rng.random() < 0.85:
                e164 = _phone(rng, ledger, person_id, identity.locale)
                phones = phone_spellings(e164)
                if identity.locale.country != "US" and rng.random() < config.national_phone_rate:
                    national = _national_spellings(e164)
        customer_id = (_unique_id(rng, ledger, IdentifierKind.CUSTOMER_ID, person_id, "C{:09d}")
                       if engagement is Engagement.ACCOUNT else None)
        loyalty_id = (_unique_id(rng, ledger, "external:loyalty", person_id, "LOY-{:09d}")
                      if engagement is not Engagement.ANONYMOUS
                      and rng.random() < config.loyalty_share else None)
        move = self._move(identity)
        person = Person(person_id, engagement, identity.locale, identity.given,
                        identity.last_name, identity.date_of_birth, identity.address, emails,
                        phones, customer_id, loyalty_id, devices, e164, home, national, move)
        self._tag(person, identity)
        return person

    def _tag(self, person: Person, identity: _Identity) -> None:
        """The scenarios known before the person lives a day; journeys add the others."""
        found = {
            Scenario.HOUSEHOLD: person.home is not None,
            Scenario.FAMILY_EMAIL: person.home is not None and person.home.family_email
            is not None,
            Scenario.TWIN: identity.twin,
            Scenario.MOVER: person.move is not None,
            Scenario.GUEST: person.engagement is Engagement.GUEST,
            Scenario.ANONYMOUS: person.engagement is Engagement.ANONYMOUS,
            Scenario.LOYALTY: person.loyalty_id is not None,
            Scenario.NATIONAL_PHONE: bool(person.national_phone),
        }
        for scenario, applies in found.items():
            if applies:
                self._ledger.tag(person.person_id, scenario)
