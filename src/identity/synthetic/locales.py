"""Where the synthetic people live: names, streets, cities, mail providers and phone ranges.

Small pools on purpose: common names recur, so namesakes and near-duplicates occur as they do in
real customer data, while emails, phones and ids stay unique per person.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GivenName:
    """A first name and the short form people also write on forms (Robert, Bob)."""

    formal: str
    nickname: str | None
    gender: str


@dataclass(frozen=True, slots=True)
class City:
    name: str
    postcode_prefixes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MobileRange:
    """National significant numbers `prefix` + `digits` random digits; validity is checked."""

    prefix: str
    digits: int


@dataclass(frozen=True, slots=True)
class Locale:
    country: str
    currency: str
    phone_ranges: tuple[MobileRange, ...]
    given_names: tuple[GivenName, ...]
    last_names: tuple[str, ...]
    streets: tuple[str, ...]
    cities: tuple[City, ...]
    mail_domains: tuple[str, ...]
    postcode_style: str    # "us5", "gb", "de5", "fr5"
    address_style: str     # "number_first" (12 Main Street) or "street_first" (Hauptstraße 12)


def _names(spec: str, gender: str) -> tuple[GivenName, ...]:
    """`Robert/Bob Emily` → GivenName entries; the slash gives the nickname."""
    entries = []
    for word in spec.split():
        formal, _, nickname = word.partition("/")
        entries.append(GivenName(formal, nickname or None, gender))
    return tuple(entries)


_ENGLISH_GIVEN = _names(
    "Robert/Bob William/Bill James/Jim Richard/Rick Michael/Mike Thomas/Tom Christopher/Chris "
    "Daniel/Dan Matthew/Matt Joseph/Joe Anthony/Tony Nicholas/Nick Jonathan/Jon Benjamin/Ben "
    "Alexander/Alex Samuel/Sam Edward/Ed Andrew/Andy David/Dave Steven/Steve Noah Liam Ethan "
    "Oliver Lucas Henry Owen", "male",
) + _names(
    "Elizabeth/Liz Katherine/Kate Margaret/Maggie Jennifer/Jenny Patricia/Pat Rebecca/Becky "
    "Victoria/Vicky Susan/Sue Deborah/Debbie Samantha/Sam Jessica/Jess Abigail/Abby "
    "Christine/Chris Alexandra/Alex Olivia Emma Sophia Mia Charlotte Amelia Grace Chloe Emily "
    "Hannah", "female",
)
_ENGLISH_LAST = tuple(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Wilson Taylor Anderson Thomas Moore "
    "Martin Jackson White Harris Clark Lewis Walker Hall Young King Wright Scott Green Baker "
    "Adams Nelson Hill Campbell Mitchell Roberts Carter Phillips Evans Turner Parker Collins "
    "Edwards Stewart Morris Murphy Cook Rogers Morgan Cooper Peterson Bailey Reed Kelly Howard "
    "Ward Cox Richardson Wood Watson Brooks Bennett Gray Hughes Price Sanders Patel Foster "
    "O'Brien McDonald".split()
)
_GERMAN_GIVEN = _names(
    "Johannes/Hans Wolfgang/Wolf Stefan Jürgen Matthias/Matze Andreas/Andi Thomas/Tom "
    "Maximilian/Max Lukas Felix Jonas Florian/Flo", "male",
) + _names(
    "Katharina/Kathi Sabine Susanne/Susi Stefanie/Steffi Franziska/Franzi Johanna/Hanna Anna "
    "Lea Laura Julia Sophie Marie", "female",
)
_GERMAN_LAST = tuple(
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch "
    "Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann "
    "Lange Schmitt Werner Krause Meier Lehmann".split()
)
_FRENCH_GIVEN = _names(
    "Jean Pierre Guillaume/Guy Nicolas/Nico Alexandre/Alex Mathieu/Mat Frédéric/Fred "
    "Christophe/Chris Julien Antoine Louis Hugo", "male",
) + _names(
    "Marie Camille Élodie Isabelle/Isa Catherine/Cathy Stéphanie/Steph Nathalie Julie "
    "Manon Chloé Léa Inès", "female",
)
_FRENCH_LAST = tuple(
    "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent "
    "Lefèvre Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard André Mercier "
    "Dupont Lambert Bonnet François Martinez Legrand".split()
)

LOCALES: dict[str, Locale] = {
    "US": Locale(
        country="US", currency="USD",
        phone_ranges=tuple(MobileRange(code, 7) for code in (
            "201", "212", "213", "305", "312", "404", "415", "512", "617", "646", "702", "718",
            "773", "808", "917", "303", "206", "503", "615", "919")),
        given_names=_ENGLISH_GIVEN, last_names=_ENGLISH_LAST,
        streets=("Main", "Oak", "Maple", "Cedar", "Park", "Elm", "Lake", "Hill", "Pine",
                 "Washington", "Lincoln", "Sunset", "Highland", "Walnut", "Church"),
        cities=(City("San Francisco", ("941",)), City("New York", ("100", "101")),
                City("Chicago", ("606",)), City("Austin", ("787",)), City("Seattle", ("981",)),
                City("Boston", ("021",)), City("Denver", ("802",)), City("Miami", ("331",))),
        mail_domains=("gmail.com", "gmail.com", "gmail.com", "yahoo.com", "outlook.com",
                      "hotmail.com", "icloud.com", "aol.com", "comcast.net"),
        postcode_style="us5", address_style="number_first",
    ),
    "GB": Locale(
        country="GB", currency="GBP",
        phone_ranges=(MobileRange("74", 8), MobileRange("75", 8), MobileRange("77", 8),
                      MobileRange("78", 8), MobileRange("79", 8)),
        given_names=_ENGLISH_GIVEN, last_names=_ENGLISH_LAST,
        streets=("High", "Station", "Church", "Victoria", "Mill", "Park", "Queens", "Kings",
                 "London", "Green", "Manor", "York", "Albert", "Windsor"),
        cities=(City("London", ("SW1A", "N1", "E2", "SE15", "NW3")),
                City("Manchester", ("M1", "M14")), City("Bristol", ("BS1", "BS6")),
                City("Leeds", ("LS1", "LS6")), City("Edinburgh", ("EH1", "EH3"))),
        mail_domains=("gmail.com", "gmail.com", "outlook.com", "hotmail.co.uk", "yahoo.co.uk",
                      "btinternet.com", "icloud.com"),
        postcode_style="gb", address_style="number_first",
    ),
    "DE": Locale(
        country="DE", currency="EUR",
        phone_ranges=(MobileRange("151", 8), MobileRange("160", 7), MobileRange("170", 7),
                      MobileRange("171", 7), MobileRange("176", 8), MobileRange("172", 7)),
        given_names=_GERMAN_GIVEN, last_names=_GERMAN_LAST,
        streets=("Haupt", "Bahnhof", "Schiller", "Goethe", "Garten", "Kirch", "Linden",
                 "Berliner", "Wald", "Ring", "Schul", "Mozart"),
        cities=(City("Berlin", ("101", "104", "120")), City("München", ("803", "806")),
                City("Hamburg", ("201", "221")), City("Köln", ("506", "509")),
                City("Frankfurt am Main", ("603", "605"))),
        mail_domains=("gmx.de", "web.de", "gmail.com", "t-online.de", "outlook.de"),
        postcode_style="de5", address_style="street_first",
    ),
    "FR": Locale(
        country="FR", currency="EUR",
        phone_ranges=(MobileRange("6", 8), MobileRange("7", 8)),
        given_names=_FRENCH_GIVEN, last_names=_FRENCH_LAST,
        streets=("de la Paix", "Victor Hugo", "des Lilas", "du Moulin", "de la République",
                 "Jean Jaurès", "Pasteur", "de l'Église", "des Écoles", "du Château"),
        cities=(City("Paris", ("750",)), City("Lyon", ("690",)), City("Marseille", ("130",)),
                City("Toulouse", ("310",)), City("Bordeaux", ("330",))),
        mail_domains=("gmail.com", "orange.fr", "free.fr", "laposte.net", "hotmail.fr",
                      "yahoo.fr"),
        postcode_style="fr5", address_style="street_first",
    ),
}

# Typed by hand into a checkout form: each is a different mailbox, so a different identifier.
DOMAIN_TYPOS: dict[str, tuple[str, ...]] = {
    "gmail.com": ("gmial.com", "gmai.com", "gnail.com", "gmail.co"),
    "yahoo.com": ("yaho.com", "yahooo.com"),
    "hotmail.com": ("hotmial.com", "hotmal.com"),
    "outlook.com": ("outlok.com", "outllook.com"),
    "icloud.com": ("iclod.com",),
    "gmx.de": ("gmx.dee",),
    "web.de": ("wep.de",),
    "orange.fr": ("ornage.fr",),
}

WORK_DOMAINS = ("acme.io", "globex.com", "initech.co", "umbrella-corp.com", "hooli.xyz",
                "stark-industries.net", "wayne.co.uk", "cyberdyne.de")

# Written names of non-ASCII letters in forms and email addresses (Müller, Mueller).
TRANSLITERATION = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae",
                                 "Ö": "Oe", "Ü": "Ue", "é": "e", "è": "e", "ê": "e", "É": "E",
                                 "ç": "c", "à": "a", "î": "i", "ô": "o", "ï": "i"})
