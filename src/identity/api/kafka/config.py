"""Where the service meets Kafka: the broker, the topics, the consumer group."""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from identity.domain.identifiers import printable

# Kafka's own rule for topic and group names (and a transactional id is held to it too).
_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")
_HOST_PORT = re.compile(r"[A-Za-z0-9.\-\[\]:]{1,253}:[0-9]{1,5}")

DEFAULT_EVENTS_TOPIC = "identity.events"
DEFAULT_DEAD_LETTER_TOPIC = "identity.events.dead-letter"
DEFAULT_CHANGES_TOPIC = "identity.profile-changes"
DEFAULT_GROUP = "identity-graph"
DEFAULT_BATCH = 500
MAX_BATCH = 10_000
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True)
class KafkaConfig:
    bootstrap: str  # host:port[,host:port...]
    events_topic: str = DEFAULT_EVENTS_TOPIC
    dead_letter_topic: str = DEFAULT_DEAD_LETTER_TOPIC
    changes_topic: str = DEFAULT_CHANGES_TOPIC
    group: str = DEFAULT_GROUP
    batch: int = DEFAULT_BATCH  # events read and ingested together, at most
    # How clients prove who they are (managed Kafka: SASL_SSL with a user and password).
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "PLAIN"
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ca_file: str | None = None  # the broker's CA, for SSL; the system's CAs when None

    def __post_init__(self) -> None:
        if not all(_HOST_PORT.fullmatch(part.strip()) for part in self.bootstrap.split(",")):
            raise ValueError("IDENTITY_KAFKA_BOOTSTRAP must be host:port, or several "
                             f"separated by commas, got '{printable(self.bootstrap, 80)}'")
        for name in ("events_topic", "dead_letter_topic", "changes_topic", "group"):
            value = getattr(self, name)
            if not _NAME.fullmatch(value) or value in (".", ".."):
                raise ValueError(f"IDENTITY_KAFKA_{name.upper()} must be 1 to 249 letters, "
                                 f"digits, '.', '_' or '-', got '{printable(value, 80)}'")
        if len({self.events_topic, self.dead_letter_topic, self.changes_topic,
                self.position_topic}) < 4:
            raise ValueError("the events, dead-letter and changes topics must be three "
                             "different topics")
        if not 1 <= self.batch <= MAX_BATCH:
            raise ValueError(f"IDENTITY_KAFKA_BATCH must be 1 to {MAX_BATCH:,}, got {self.batch}")
        self._check_security()
        if len(self.position_topic) > 249:
            raise ValueError("IDENTITY_KAFKA_CHANGES_TOPIC must be at most 240 characters "
                             f"(the relay's topic adds '.position'), got {len(self.changes_topic)}")

    def _check_security(self) -> None:
        if self.security_protocol not in SECURITY_PROTOCOLS:
            raise ValueError("IDENTITY_KAFKA_SECURITY_PROTOCOL must be one of "
                             f"{', '.join(SECURITY_PROTOCOLS)}, got "
                             f"'{printable(self.security_protocol, 40)}'")
        if self.security_protocol.startswith("SASL_"):
            if self.sasl_mechanism not in SASL_MECHANISMS:
                raise ValueError("IDENTITY_KAFKA_SASL_MECHANISM must be one of "
                                 f"{', '.join(SASL_MECHANISMS)}, got "
                                 f"'{printable(self.sasl_mechanism, 40)}'")
            if not self.sasl_username or not self.sasl_password:
                raise ValueError(f"{self.security_protocol} needs IDENTITY_KAFKA_SASL_USERNAME "
                                 "and IDENTITY_KAFKA_SASL_PASSWORD")
        if self.ca_file is not None and not Path(self.ca_file).is_file():
            raise ValueError(f"IDENTITY_KAFKA_CA_FILE: no file '{printable(self.ca_file, 200)}'")

    def client_options(self) -> dict[str, Any]:
        """What every client of the service's (consumer, producer, admin) is built with."""
        options: dict[str, Any] = {"bootstrap_servers": self.bootstrap_servers,
                                   "security_protocol": self.security_protocol}
        if self.security_protocol.endswith("SSL"):
            options["ssl_context"] = ssl.create_default_context(cafile=self.ca_file)
        if self.security_protocol.startswith("SASL_"):
            options.update(sasl_mechanism=self.sasl_mechanism,
                           sasl_plain_username=self.sasl_username,
                           sasl_plain_password=self.sasl_password)
        return options

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

