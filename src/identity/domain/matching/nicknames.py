"""Given names people are also called by; each maps to one canonical form."""

from __future__ import annotations

_GROUPS: tuple[tuple[str, ...], ...] = (
    ("robert", "bob", "rob", "bobby", "robbie", "bert"),
    ("william", "bill", "will", "billy", "willie", "liam"),
    ("richard", "dick", "rick", "rich", "ricky"),
    ("james", "jim", "jimmy", "jamie"),
    ("john", "jack", "johnny", "jon"),
    ("margaret", "maggie", "meg", "peggy", "marge", "greta"),
    ("elizabeth", "liz", "beth", "betty", "eliza", "lizzie", "libby", "elisabeth"),
    ("katherine", "kate", "kathy", "katie", "catherine", "kat", "kathryn"),
    ("michael", "mike", "mikey", "mick"),
    ("thomas", "tom", "tommy"),
    ("joseph", "joe", "joey"),
    ("charles", "charlie", "chuck", "chas"),
    ("christopher", "chris", "kit"),
    ("daniel", "dan", "danny"),
    ("matthew", "matt"),
    ("anthony", "tony"),
    ("edward", "ed", "eddie", "ted", "ned"),
    ("alexander", "alex", "sandy", "xander"),
    ("alexandra", "alex", "sandra", "lexi"),
    ("benjamin", "ben", "benny"),
    ("samuel", "sam", "sammy"),
    ("samantha", "sam", "sammie"),
    ("jennifer", "jen", "jenny"),
    ("patricia", "pat", "patty", "trish"),
    ("patrick", "pat", "paddy"),
    ("susan", "sue", "susie"),
    ("deborah", "deb", "debbie"),
    ("rebecca", "becky", "becca"),
    ("victoria", "vicky", "tori"),
    ("nicholas", "nick", "nicky"),
    ("steven", "steve", "stephen"),
    ("andrew", "andy", "drew"),
    ("jonathan", "jon", "jonny"),
    ("timothy", "tim", "timmy"),
    ("gregory", "greg"),
    ("peter", "pete"),
    ("francis", "frank", "fran"),
    ("frederick", "fred", "freddie"),
    ("henry", "harry", "hank"),
    ("lawrence", "larry"),
    ("josephine", "jo", "josie"),
    ("abigail", "abby", "gail"),
    ("dorothy", "dot", "dottie"),
    ("johann", "hans"),
    ("wolfgang", "wolf"),
)

CANONICAL: dict[str, str] = {}
for group in _GROUPS:
    for name in group:
        CANONICAL.setdefault(name, group[0])  # a name in two groups keeps its first


def canonical_name(name: str) -> str:
    folded = name.strip().casefold()
    return CANONICAL.get(folded, folded)
