"""Settings, read once from the environment and flags; nothing else reads os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from identity.domain.identifiers import NormalizationRules
from identity.domain.survivorship import SurvivorshipRules

ENV_PREFIX = "IDENTITY_"


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    database: str = "data/identity.db"
    default_region: str = "US"
    source_priority: tuple[str, ...] = field(default_factory=tuple)
    log_level: str = "info"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in ("host", "database", "default_region", "log_level"):
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

    def normalization_rules(self) -> NormalizationRules:
        return NormalizationRules(default_region=self.default_region.upper())

    def survivorship_rules(self) -> SurvivorshipRules:
        return SurvivorshipRules(source_priority=self.source_priority)


def parse_list(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())
