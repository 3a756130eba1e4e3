"""Where the service meets Kafka: the broker, the topics, the consumer group."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Kafka's own rule for topic and group names (and a transactional id is held to it too).
_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")
_HOST_PORT = re.compile(r"[A-Za-z0-9.\-\[\]:]{1,253}:[0-9]{1,5}")

DEFAULT_EVENTS_TOPIC = "identity.events"
DEFAULT_DEAD_LETTER_TOPIC = "identity.events.dead-letter"
DEFAULT_CHANGES_TOPIC = "identity.profile-changes"
DEFAULT_GROUP = "identity-graph"
DEFAULT_BATCH = 500


@dataclass(frozen=True)
class KafkaConfig:
    bootstrap: str  # host:port[,host:port...]
    events_topic: str = DEFAULT_EVENTS_TOPIC
    dead_letter_topic: str = DEFAULT_DEAD_LETTER_TOPIC
    changes_topic: str = DEFAULT_CHANGES_TOPIC
    group: str = DEFAULT_GROUP
    batch: int = DEFAULT_BATCH  # events read and ingested together, at most

    def __post_init__(self) -> None:
        if not all(_HOST_PORT.fullmatch(part.strip()) for part in self.bootstrap.split(",")):
            raise ValueError("IDENTITY_KAFKA_BOOTSTRAP must be host:port, or several "
                             f"separated by commas, got {self.bootstrap[:80]!r}")
        for name in ("events_topic", "dead_letter_topic", "changes_topic", "group"):
            value = getattr(self, name)
            if not _NAME.fullmatch(value) or value in (".", ".."):
                raise ValueError(f"IDENTITY_KAFKA_{name.upper()} must be 1 to 249 letters, "
                                 f"digits, '.', '_' or '-', got {value[:80]!r}")
        if len({self.events_topic, self.dead_letter_topic, self.changes_topic,
                self.position_topic}) < 4:
            raise ValueError("the events, dead-letter and changes topics must be three "
                             "different topics")
        if not 1 <= self.batch <= 10_000:
            raise ValueError(f"IDENTITY_KAFKA_BATCH must be 1 to 10,000, got {self.batch}")
        if len(self.position_topic) > 249:
            raise ValueError("IDENTITY_KAFKA_CHANGES_TOPIC must be at most 240 characters "
                             f"(the relay's topic adds '.position'), got {len(self.changes_topic)}")

    @property
    def bootstrap_servers(self) -> list[str]:
        return [part.strip() for part in self.bootstrap.split(",")]

    @property
    def position_topic(self) -> str:
        """The relay's position in the change log, written in each transaction that
        publishes changes (compacted: only the latest matters)."""
        return f"{self.changes_topic}.position"

    @property
    def relay_id(self) -> str:
        """The relay's transactional id and group: one relay publishes at a time, and a
        new one fences the old (relay.py)."""
        return f"{self.changes_topic}.relay"

