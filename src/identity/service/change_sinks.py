"""ChangeSink: the only way change events leave the service."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from prometheus_client import Counter

from identity.domain.changes import ProfileChange

PROFILE_CHANGES = Counter(
    "identity_profile_changes_total", "Profile change events published, by kind", ["kind"]
)


class ChangeSink(Protocol):
    async def publish(self, changes: Sequence[ProfileChange]) -> None:
        """Called after the transaction that made the changes has committed."""
        ...


class MetricsChangeSink:
    """Counts changes for /metrics. (Kafka takes them from the change log, not from a sink:
    api/kafka/relay.py, so none is lost between a commit and its publication.)"""

    async def publish(self, changes: Sequence[ProfileChange]) -> None:
        for change in changes:
            PROFILE_CHANGES.labels(kind=change.kind.value).inc()


class ListChangeSink:
    """Keeps every change in memory: for tests and for embedding the service in a script."""

    def __init__(self) -> None:
        self.changes: list[ProfileChange] = []

    async def publish(self, changes: Sequence[ProfileChange]) -> None:
        self.changes.extend(changes)
