"""The knobs of the synthetic population, as data: one frozen value per generation run."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime


@dataclass(frozen=True)
class GeneratorConfig:
    """Shares are fractions in [0, 1]; the defaults give about ten events per person."""

    people: int
    seed: int = 0
    start: datetime = datetime(2024, 1, 1, tzinfo=UTC)
    days: int = 90
    # who the people are
    household_share: float = 0.2       # people living in a 2-4 person household (parents, children)
    twin_share: float = 0.3            # households with two or more children that include twins
    home_browser_share: float = 0.5    # households whose shared device is a browser, not a tablet
    home_login_rate: float = 0.5       # every member logs in on the shared device once; their
    #                                    other visits there log in at this rate, else browse,
    #                                    read newsletters or order as a guest
    family_email_share: float = 0.3    # households with a family mailbox their members order with
    namesake_share: float = 0.03       # people who carry the full name of someone in their city
    mover_share: float = 0.08          # people who move house during the period
    anonymous_share: float = 0.12      # visitors who never identify themselves
    guest_share: float = 0.2           # people who buy as guests and never open an account
    second_email_share: float = 0.25   # people who also use a second mailbox
    loyalty_share: float = 0.2         # people with a loyalty card (crm and pos events)
    country_weights: tuple[tuple[str, float], ...] = (
        ("US", 0.55), ("GB", 0.2), ("DE", 0.15), ("FR", 0.1))
    # how they behave
    mean_visits: float = 3.0
    mean_pages_per_visit: float = 2.2
    login_rate: float = 0.5            # visits of account holders that include a login
    order_rate: float = 0.22           # visits that end in an order
    email_typo_rate: float = 0.12      # emails typed into a form with a real typo
    national_phone_rate: float = 0.5   # people outside the US who write their phone nationally
    #                                    (07416 713197) where the form shows their country
    phone_typo_rate: float = 0.03      # phones typed into a form with a digit missing: invalid
    kiosks: int = 6                    # store kiosks shared by every customer who uses them
    kiosk_rate: float = 0.4            # point-of-sale orders placed at a kiosk
    # noise
    bot_event_share: float = 0.03      # events from bot sessions with only a cookie and session
    placeholder_rate: float = 0.03     # identified events that also carry a placeholder value
    duplicate_share: float = 0.01      # events delivered twice with the same event_id
    invalid_event_share: float = 0.005  # events a producer got wrong; the parser must reject
    messy_identifier_share: float = 0.004  # good events with one unusable identifier riding along
    missing_amount_share: float = 0.005  # orders a producer sends without their amount
    nested_address_rate: float = 0.5   # CRM events writing the address as Segment's nested object

    def __post_init__(self) -> None:
        if self.people < 0:
            raise ValueError(f"people must not be negative (got {self.people})")
        if self.days < 1:
            raise ValueError(f"days must be at least 1 (got {self.days})")
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware so timestamps carry a real instant")
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name.endswith(("_share", "_rate")) and not 0.0 <= value <= 1.0:
                raise ValueError(f"{field.name} is a fraction in [0, 1] (got {value})")
        if self.bot_event_share >= 1.0:
            raise ValueError("bot_event_share must be below 1: some events come from people")
        if self.mean_visits < 1 or self.mean_pages_per_visit < 1:
            raise ValueError("mean_visits and mean_pages_per_visit are at least 1")
        if not self.country_weights or any(w < 0 for _, w in self.country_weights):
            raise ValueError("country_weights needs at least one country and no negative weight")
