"""Settings, read once from the environment and flags; nothing else reads os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from identity.domain.identifiers import NormalizationRules
from identity.domain.survivorship import SurvivorshipRules
from identity.store import StoreConfig

ENV_PREFIX = "IDENTITY_"


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    store: str = "sqlite"
    database: str = "data/identity.db"
    neo4j_uri: str = "neo4j://127.0.0.1:7687"
    neo4j_user: str = "neo4j"
    neo4j_password: str | None = field(default=None, repr=False)
    neo4j_database: str = "neo4j"
    default_region: str = "US"
    source_priority: tuple[str, ...] = field(default_factory=tuple)
    log_level: str = "info"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in ("host", "store", "database", "neo4j_uri", "neo4j_user", "neo4j_password",
                     "neo4j_database", "default_region", "log_level"):
            if (raw := env.get(ENV_PREFIX + name.upper())) is not None:
                values[name] = raw
        if (port := env.get(ENV_PREFIX + "PORT")) is not None:
            try:
                values["port"] = int(port)
            except ValueError:
                raise ValueError(f"{ENV_PREFIX}PORT must be an integer, got {port!r}") from None
        if (priority := env.get(ENV_PREFIX + "SOURCE_PRIORITY")) is not None:
            values["source_priority"] = parse_list(priority)
        return cls(**values)

    def with_overrides(self, **overrides: Any) -> Settings:
        """Flags win over the environment; a flag left unset (None) keeps the current value."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def store_config(self) -> StoreConfig:
        return StoreConfig(kind=self.store, sqlite_path=self.database, neo4j_uri=self.neo4j_uri,
                           neo4j_user=self.neo4j_user, neo4j_password=self.neo4j_password,
                           neo4j_database=self.neo4j_database)

    def normalization_rules(self) -> NormalizationRules:
        return NormalizationRules(default_region=self.default_region.upper())

    def survivorship_rules(self) -> SurvivorshipRules:
        return SurvivorshipRules(source_priority=self.source_priority)


def parse_list(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())
