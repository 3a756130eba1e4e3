"""The situations the generator writes on purpose, named once: what the truth marks each person
and identifier with, and what the quality benchmark reports false and missed pairs by."""

from __future__ import annotations

from enum import StrEnum


class Scenario(StrEnum):
    # who the person is
    HOUSEHOLD = "household"  # lives with others: parents and children at one address
    TWIN = "twin"  # one of twins: same surname, birthday and home, another first name
    NAMESAKE = "namesake"  # shares a full name with someone else in the same city
    MOVER = "mover"  # moved house during the period: orders before and after differ
    GUEST = "guest"  # buys without ever opening an account
    ANONYMOUS = "anonymous"  # browses only
    LOYALTY = "loyalty"  # holds a loyalty card (CRM sign-up, point-of-sale orders)
    BOT = "bot"  # a crawler: one cookie, one session, many page views
    # what the person shares with others
    SHARED_DEVICE = "shared_device"  # a family tablet or browser, or a store kiosk
    FAMILY_EMAIL = "family_email"  # a mailbox several members of a household order with
    KIOSK = "kiosk"  # placed an order at a store kiosk
    # how their data reaches the service
    TYPO = "typo"  # typed an email address with a typo (another mailbox)
    NATIONAL_PHONE = "national_phone"  # writes a phone nationally (07416 713197)
    INVALID_PHONE = "invalid_phone"  # typed a phone number that is not valid
    MISSING_AMOUNT = "missing_amount"  # an order of theirs came without its amount
    MALFORMED_IDENTIFIER = "malformed_identifier"  # an event of theirs carried a broken one
    NESTED_ADDRESS = "nested_address"  # a CRM system wrote their address as a nested object
