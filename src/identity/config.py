"""Settings, read once from the environment and flags; nothing else reads os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import phonenumbers

from identity.api.auth.rate_limit import DEFAULT_BURST, DEFAULT_RATE_PER_S, RateLimiter
from identity.api.auth.tokens import JwtSettings
from identity.api.kafka.config import (
    DEFAULT_BATCH,
    DEFAULT_CHANGES_TOPIC,
    DEFAULT_DEAD_LETTER_TOPIC,
    DEFAULT_EVENTS_TOPIC,
    DEFAULT_GROUP,
    MAX_BATCH,
    KafkaConfig,
)
from identity.api.limits import (
    DEFAULT_GRPC_MAX_RECEIVE_BYTES,
    DEFAULT_GRPC_MAX_SEND_BYTES,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_QUERY_COST,
    MAX_WATCH_STREAMS,
)
from identity.api.tls import TlsFiles, load_tls
from identity.domain.events import MAX_CLOCK_SKEW
from identity.domain.identifiers import NormalizationRules, printable
from identity.domain.pii_hashing import PiiKeys, parse_keys
from identity.domain.survivorship import SurvivorshipRules
from identity.service.matching import Matcher
from identity.service.model_file import load_model
from identity.service.rules_file import Rules, read_rules
from identity.store import STORE_KINDS, StoreConfig

__all__ = ["STORE_KINDS", "Settings", "parse_grpc_port", "whole_number"]

ENV_PREFIX = "IDENTITY_"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
# Whole-number settings and their bounds, checked for flags and the environment alike.
WHOLE_NUMBERS: dict[str, tuple[int, int]] = {
    "port": (0, 65_535), "max_block": (2, 1_000_000), "profile_cache": (0, 10_000_000),
    "max_body_bytes": (1, 1 << 30), "max_watch_streams": (1, 100_000),
    "cache_staleness_ms": (1, 60_000), "kafka_batch": (1, MAX_BATCH),
    "metrics_port": (0, 65_535),
    "grpc_max_receive_bytes": (1_024, 1 << 30), "grpc_max_send_bytes": (1_024, 1 << 30),
    "rate_burst": (1, 1_000_000), "graphql_max_cost": (1, 100_000_000),
}
_SWITCHES = {"on": True, "true": True, "1": True, "off": False, "false": False, "0": False}


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    grpc_port: int | None = 50051  # None: no gRPC server; 0: any free port
    store: str = "sqlite"
    database: str = "data/identity.db"
    neo4j_uri: str = "neo4j://127.0.0.1:7687"
    neo4j_user: str = "neo4j"
    neo4j_password: str | None = field(default=None, repr=False)
    neo4j_database: str = "neo4j"
    default_region: str = "US"
    source_priority: tuple[str, ...] = field(default_factory=tuple)
    log_level: str = "info"
    model: str = "data/model.json"  # written by `identity train`; the built-in one until then
    rules: str = "data/rules.toml"  # limits, priorities, hubs, phone regions: built-in until then
    matching: bool = True  # probabilistic links in real time
    max_block: int = 500  # blocking lookups over this many records are skipped and reported
    profile_cache: int = 10_000  # golden profiles kept in memory; 0: none
    # On Neo4j: how late the cache may learn of another replica's write (log_follower.py)
    cache_staleness_ms: int = 100
    strict_ingest: bool = False  # reject events for a malformed identifier or missing amount
    # Hostile-input bounds (docs/architecture.md, "Hostile input"):
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES  # an HTTP request body larger is a 413
    # an event dated further ahead of the server is rejected
    max_clock_skew_s: int = int(MAX_CLOCK_SKEW.total_seconds())
    max_watch_streams: int = MAX_WATCH_STREAMS  # open WatchChanges streams; then exhausted
    # Kafka (api/kafka/): off until a bootstrap address is given
    kafka_bootstrap: str | None = None
    kafka_events_topic: str = DEFAULT_EVENTS_TOPIC
    kafka_dead_letter_topic: str = DEFAULT_DEAD_LETTER_TOPIC
    kafka_changes_topic: str = DEFAULT_CHANGES_TOPIC
    kafka_group: str = DEFAULT_GROUP
    kafka_batch: int = DEFAULT_BATCH
    kafka_consume: bool = True  # off: `identity serve` relays changes but consumes no events
    kafka_security_protocol: str = "PLAINTEXT"  # SASL_SSL for most managed Kafka services
    kafka_sasl_mechanism: str = "PLAIN"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = field(default=None, repr=False)
    kafka_ca_file: str | None = None
    metrics_port: int = 9108  # `identity consume` serves /metrics here (serve: on its port)
    # Emails and phones kept only as keyed hashes (domain/pii_hashing.py): on when a key is
    # given, in the environment or in a file; keys are never shown
    pii_hash_key: str | None = field(default=None, repr=False)
    pii_hash_key_file: str | None = None
    # Erasure tombstones' keyed hashes (service/erasure.py): a secret in the environment or a
    # file; unset, a random key is made and kept in the store at first use. Never shown.
    erasure_key: str | None = field(default=None, repr=False)
    erasure_key_file: str | None = None
    # Authentication (docs/architecture.md, "Security and privacy"): API keys always; JWTs
    # when a JWKS is given; off only in development mode, asked for by name.
    dev_mode: bool = False
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_jwks: str | None = field(default=None, repr=False)  # the JWKS document itself
    jwt_jwks_file: str | None = None
    # TLS (docs/architecture.md, "TLS"): HTTPS and TLS gRPC when a certificate and key are
    # given; with a client CA, gRPC clients must present a certificate it issued (mTLS).
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    tls_client_ca_file: str | None = None
    # gRPC message bounds, each way (api/limits.py says why these defaults)
    grpc_max_receive_bytes: int = DEFAULT_GRPC_MAX_RECEIVE_BYTES
    grpc_max_send_bytes: int = DEFAULT_GRPC_MAX_SEND_BYTES
    # Abuse limits (docs/architecture.md, "Security and privacy"): requests per second per
    # key (None: DEFAULT_RATE_PER_S, or none in development mode; 0: only keys with their own
    # rate), the burst a key may send at once, a GraphQL document's cost, and whether
    # GraphQL introspection (with GraphiQL) and gRPC reflection are served.
    rate_limit: float | None = None
    rate_burst: int = DEFAULT_BURST
    graphql_max_cost: int = DEFAULT_MAX_QUERY_COST
    graphql_introspection: bool = True

    def __post_init__(self) -> None:
        if self.store not in STORE_KINDS:
            raise ValueError(f"{ENV_PREFIX}STORE must be one of {', '.join(STORE_KINDS)}, "
                             f"got {self.store!r}")
        if self.log_level.lower() not in LOG_LEVELS:
            raise ValueError(f"{ENV_PREFIX}LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, "
                             f"got {self.log_level!r}")
        if self.default_region.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{ENV_PREFIX}DEFAULT_REGION must be a region code such as US or "
                             f"GB, got '{printable(self.default_region, 16)}'")
        for name, (lowest, highest) in WHOLE_NUMBERS.items():
            value = getattr(self, name)
            if not lowest <= value <= highest:
                bound = f"at least {lowest}" if value < lowest else f"at most {highest:,}"
                raise ValueError(f"{ENV_PREFIX}{name.upper()} must be {bound}, got {value}")
        if self.rate_limit is not None and not 0 <= self.rate_limit <= MAX_RATE:
            raise ValueError(f"{ENV_PREFIX}RATE_LIMIT must be from 0 (off) to {MAX_RATE:,.0f} "
                             f"requests per second, got {self.rate_limit}")
        self.kafka_config()  # a bad topic or address fails at start, with the setting named
        self.pii_keys()  # a short, repeated or unreadable key too
        self.erasure_secret()
        self.jwt_settings()
        self.tls()  # a missing, unreadable or mismatched file fails at start, named

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in ("host", "store", "database", "neo4j_uri", "neo4j_user", "neo4j_password",
                     "neo4j_database", "default_region", "log_level", "model", "rules",
                     "kafka_bootstrap", "kafka_events_topic", "kafka_dead_letter_topic",
                     "kafka_changes_topic", "kafka_group", "kafka_security_protocol",
                     "kafka_sasl_mechanism", "kafka_sasl_username", "kafka_sasl_password",
                     "kafka_ca_file", "pii_hash_key", "pii_hash_key_file", "erasure_key",
                     "erasure_key_file", "jwt_issuer",
                     "jwt_audience", "jwt_jwks",
                     "jwt_jwks_file", "tls_cert_file", "tls_key_file", "tls_client_ca_file"):
            if (raw := env.get(ENV_PREFIX + name.upper())) is not None:
                values[name] = raw
        for name in WHOLE_NUMBERS:
            if (number := env.get(ENV_PREFIX + name.upper())) is not None:
                values[name] = whole_number(number, ENV_PREFIX + name.upper())
        if (skew := env.get(ENV_PREFIX + "MAX_CLOCK_SKEW")) is not None:
            values["max_clock_skew_s"] = parse_seconds(skew, f"{ENV_PREFIX}MAX_CLOCK_SKEW")
        if (grpc_port := env.get(ENV_PREFIX + "GRPC_PORT")) is not None:
            values["grpc_port"] = parse_grpc_port(grpc_port, f"{ENV_PREFIX}GRPC_PORT")
        if (rate := env.get(ENV_PREFIX + "RATE_LIMIT")) is not None:
            values["rate_limit"] = parse_rate(rate, f"{ENV_PREFIX}RATE_LIMIT")
        if (switch := env.get(ENV_PREFIX + "GRAPHQL_INTROSPECTION")) is not None:
            if switch.strip().lower() not in _SWITCHES:
                raise ValueError(f"{ENV_PREFIX}GRAPHQL_INTROSPECTION must be on or off, "
                                 f"got '{printable(switch, 16)}'")
            values["graphql_introspection"] = _SWITCHES[switch.strip().lower()]
        for name in ("matching", "strict_ingest", "kafka_consume", "dev_mode"):
            if (switch := env.get(ENV_PREFIX + name.upper())) is not None:
                if switch.strip().lower() not in _SWITCHES:
                    raise ValueError(f"{ENV_PREFIX}{name.upper()} must be on or off, "
                                     f"got {switch!r}")
                values[name] = _SWITCHES[switch.strip().lower()]
        if (priority := env.get(ENV_PREFIX + "SOURCE_PRIORITY")) is not None:
            values["source_priority"] = parse_list(priority)
        return cls(**values)

    def with_overrides(self, **overrides: Any) -> Settings:
        """Flags win over the environment; a flag left unset (None) keeps the current value."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def rate_limiter(self) -> RateLimiter | None:
        """Per-key rates (api/auth/rate_limit.py). In development mode every request is the
        one `development` caller, so there is none unless IDENTITY_RATE_LIMIT is set."""
        if self.rate_limit is None and self.dev_mode:
            return None
        rate = DEFAULT_RATE_PER_S if self.rate_limit is None else self.rate_limit
        return RateLimiter(rate, self.rate_burst)

    def store_config(self) -> StoreConfig:
        return StoreConfig(kind=self.store, sqlite_path=self.database, neo4j_uri=self.neo4j_uri,
                           neo4j_user=self.neo4j_user, neo4j_password=self.neo4j_password,
                           neo4j_database=self.neo4j_database)

    def kafka_config(self) -> KafkaConfig | None:
        """None while no bootstrap address is set. Raises ValueError naming the setting."""
        if not self.kafka_bootstrap:
            return None
        return KafkaConfig(self.kafka_bootstrap, self.kafka_events_topic,
                           self.kafka_dead_letter_topic, self.kafka_changes_topic,
                           self.kafka_group, self.kafka_batch,
                           security_protocol=self.kafka_security_protocol.upper(),
                           sasl_mechanism=self.kafka_sasl_mechanism.upper(),
                           sasl_username=self.kafka_sasl_username,
                           sasl_password=self.kafka_sasl_password,
                           ca_file=self.kafka_ca_file)

    def tls(self) -> TlsFiles | None:
        """None while no certificate is configured. Raises ValueError naming the setting
        (api/tls.py)."""
        return load_tls(self.tls_cert_file, self.tls_key_file, self.tls_client_ca_file,
                        prefix=ENV_PREFIX)

    def jwt_settings(self) -> JwtSettings | None:
        """None while no JWKS is given. Raises ValueError naming the setting when the JWKS is
        given without an issuer and an audience, or twice, or its file cannot be read."""
        if self.jwt_jwks is None and self.jwt_jwks_file is None:
            return None
        if self.jwt_jwks is not None and self.jwt_jwks_file is not None:
            raise ValueError(f"{ENV_PREFIX}JWT_JWKS and {ENV_PREFIX}JWT_JWKS_FILE are both set: "
                             "give the key set one way")
        if not self.jwt_issuer or not self.jwt_audience:
            raise ValueError(f"JWTs need {ENV_PREFIX}JWT_ISSUER and {ENV_PREFIX}JWT_AUDIENCE "
                             "beside the JWKS: a token is checked against both")
        text = self.jwt_jwks
        if self.jwt_jwks_file is not None:
            try:
                text = Path(self.jwt_jwks_file).read_text(encoding="utf-8")
            except (OSError, ValueError) as exc:  # ValueError: not UTF-8, a NUL
                raise ValueError(f"{ENV_PREFIX}JWT_JWKS_FILE "
                                 f"'{printable(self.jwt_jwks_file, 200)}' cannot be read: "
                                 f"{type(exc).__name__}") from None
        assert text is not None
        settings = JwtSettings(self.jwt_issuer, self.jwt_audience, text)
        try:
            settings.verifier()  # a JWKS that holds no usable key fails here, at start
        except ValueError as exc:
            where = "JWT_JWKS_FILE" if self.jwt_jwks_file is not None else "JWT_JWKS"
            raise ValueError(f"{ENV_PREFIX}{where}: {exc}") from None
        return settings

    def pii_keys(self) -> PiiKeys | None:
        """The keys emails and phones are hashed with, newest first; None: kept as they are.
        Raises ValueError naming the setting (and the file), never showing a key."""
        if self.pii_hash_key is None and self.pii_hash_key_file is None:
            return None
        if self.pii_hash_key is not None and self.pii_hash_key_file is not None:
            raise ValueError(f"{ENV_PREFIX}PII_HASH_KEY and {ENV_PREFIX}PII_HASH_KEY_FILE are "
                             "both set: give the keys one way")
        if self.pii_hash_key_file is None:
            assert self.pii_hash_key is not None
            return parse_keys(self.pii_hash_key, f"{ENV_PREFIX}PII_HASH_KEY")
        where = f"{ENV_PREFIX}PII_HASH_KEY_FILE '{printable(self.pii_hash_key_file, 200)}'"
        try:
            text = Path(self.pii_hash_key_file).read_text(encoding="utf-8")
        except (OSError, ValueError) as exc:  # ValueError: not UTF-8, a NUL
            raise ValueError(f"{where} cannot be read: {type(exc).__name__}") from None
        return parse_keys(text, where)

    def erasure_secret(self) -> bytes | None:
        """The key of erasure tombstones' hashes; None: the store keeps a random one. Raises
        ValueError naming the setting (and the file), never showing the key."""
        if self.erasure_key is not None and self.erasure_key_file is not None:
            raise ValueError(f"{ENV_PREFIX}ERASURE_KEY and {ENV_PREFIX}ERASURE_KEY_FILE are "
                             "both set: give the key one way")
        where = f"{ENV_PREFIX}ERASURE_KEY"
        text = self.erasure_key
        if self.erasure_key_file is not None:
            where = f"{ENV_PREFIX}ERASURE_KEY_FILE '{printable(self.erasure_key_file, 200)}'"
            try:
                text = Path(self.erasure_key_file).read_text(encoding="utf-8")
            except (OSError, ValueError) as exc:  # ValueError: not UTF-8, a NUL
                raise ValueError(f"{where} cannot be read: {type(exc).__name__}") from None
        if text is None:
            return None
        if len(text.strip()) < 16:
            raise ValueError(f"{where} must hold at least 16 characters")
        try:
            return text.strip().encode()
        except UnicodeEncodeError:  # a non-UTF-8 byte in the environment: a lone surrogate
            raise ValueError(f"{where} is not UTF-8 text") from None

    def identity_rules(self) -> Rules:
        """The rules file's, over the built-in ones. Raises ValueError (RulesFileError)
        naming the file, table and key when it cannot be used."""
        return read_rules(Path(self.rules))

    def normalization_rules(self, rules: Rules) -> NormalizationRules:
        """Normalization as the rules file (read once, by the caller) and settings say."""
        return NormalizationRules(default_region=self.default_region.upper(),
                                  blocklist=rules.blocklist, source_regions=rules.source_regions,
                                  pii_keys=self.pii_keys())

    def survivorship_rules(self) -> SurvivorshipRules:
        return SurvivorshipRules(source_priority=self.source_priority)

    def matcher(self) -> Matcher | None:
        """The saved model when `identity train` has written one, else the built-in one.
        Raises ValueError naming the file when it exists but is not a model."""
        if not self.matching:
            return None
        return Matcher(load_model(Path(self.model)), self.max_block)


def whole_number(raw: str, name: str, max_digits: int = 12) -> int:
    """ASCII digits with an optional minus, at most `max_digits` of them; int() alone would
    take Arabic-Indic digits, underscores and numbers of thousands of digits. Raises
    ValueError naming the setting and showing the text escaped and cut."""
    text = raw.strip()
    digits = text.removeprefix("-")
    if not digits.isascii() or not digits.isdigit() or len(digits) > max_digits:
        raise ValueError(f"{name} must be an integer, got '{printable(raw, 32)}'")
    return int(text)


def parse_grpc_port(raw: str, name: str = "--grpc-port") -> int | None:
    """A port number, 0 for any free port, or `off` for no gRPC server at all."""
    if raw.strip().lower() == "off":
        return None
    try:
        port = whole_number(raw, name)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise ValueError(f"{name} must be a port number (0 for any free port) or off, "
                         f"got '{printable(raw, 32)}'")
    return port


MAX_SECONDS_SETTING = 365 * 86400


MAX_RATE = 1_000_000.0


def parse_rate(raw: str, name: str) -> float:
    """Requests per second: ASCII digits with an optional fraction (0.5), 0 to MAX_RATE."""
    text = raw.strip()
    whole, _, fraction = text.partition(".")
    if not (whole.isascii() and whole.isdigit() and len(whole) <= 7
            and (not fraction or (fraction.isascii() and fraction.isdigit()
                                  and len(fraction) <= 6))) or float(text) > MAX_RATE:
        raise ValueError(f"{name} must be requests per second from 0 (off) to "
                         f"{MAX_RATE:,.0f}, such as 100 or 0.5, got '{printable(raw, 32)}'")
    return float(text)


def parse_seconds(raw: str, name: str) -> int:
    """Whole seconds, or a number with a unit: 90, 90s, 5m, 2h."""
    units = {"s": 1, "m": 60, "h": 3600}
    text = raw.strip().lower()
    scale = units.get(text[-1:])
    number = text[:-1] if scale else text
    if not number.isascii() or not number.isdigit() or len(number) > 9 \
            or int(number) * (scale or 1) > MAX_SECONDS_SETTING:
        raise ValueError(f"{name} must be whole seconds or a number with s, m or h "
                         f"(such as 300 or 5m), at most a year, got '{printable(raw, 32)}'")
    return int(number) * (scale or 1)


def parse_list(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())
