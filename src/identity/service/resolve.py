"""Resolve: identifiers in, one profile out; the hot path of back-end callers (gRPC).

A lookup writes nothing. A create is an `identify` event like any other, ingested through the
one ingest path, so it is validated, guarded (hubs, limits, placeholders), matched, audited and
published exactly as if a producer had sent it: there is no second way to write the graph.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from identity.domain.errors import FieldError, InvalidIdentifier, ValidationError
from identity.domain.events import MAX_IDENTIFIERS_PER_EVENT, EventType, raw_event
from identity.domain.identifiers import validate_kind
from identity.domain.types import Identifier, ProfileId
from identity.service.ingest import Clock, IngestResult, IngestStatus
from identity.service.queries import ProfileView, Queries

# (kind, value) as a caller sent it, before normalization.
RawIdentifier = tuple[str, str]
Ingest = Callable[[Sequence[object]], Awaitable[list[IngestResult]]]  # strictly validated


@dataclass(frozen=True, slots=True)
class Resolution:
    profile_id: ProfileId | None  # None: a lookup found no identifier
    profile: ProfileView | None  # None without `with_profile`, or when nothing was found
    created: bool = False  # create: this call made the profile
    merged_ids: tuple[ProfileId, ...] = ()  # create: profiles this call merged into profile_id
    conflicting: tuple[Identifier, ...] = ()  # lookup: identifiers of other profiles

    @property
    def is_plain_lookup(self) -> bool:
        """Found, made nothing, merged nothing, and no identifier disagreed."""
        return (self.profile_id is not None and not self.created and not self.merged_ids
                and not self.conflicting)


def normalize_all(queries: Queries, identifiers: Sequence[RawIdentifier],
                  paths: Sequence[str] | None = None) -> list[Identifier]:
    """Normalized as on ingest, in input order. Raises ValidationError naming every bad one by
    its path (`identifiers[2].value`, or the caller's `paths`, such as `a`), all at once."""
    errors: list[FieldError] = []
    normalized: list[Identifier] = []
    for i, (kind, value) in enumerate(identifiers):
        path = paths[i] if paths is not None else f"identifiers[{i}]"
        try:
            validate_kind(kind)
        except InvalidIdentifier as exc:
            errors.append(FieldError(f"{path}.kind", str(exc)))
            continue
        try:
            normalized.append(queries.normalize(kind, value))
        except InvalidIdentifier as exc:
            errors.append(FieldError(f"{path}.value", str(exc)))
    if errors:
        raise ValidationError(errors)
    return normalized


class Resolver:
    def __init__(self, queries: Queries, ingest: Ingest, clock: Clock) -> None:
        self._queries = queries
        self._ingest = ingest
        self._clock = clock

    async def resolve(self, identifiers: Sequence[RawIdentifier], create: bool, source: str,
                      *, with_profile: bool = True) -> Resolution:
        """Raises ValidationError (every bad field, by path) for invalid input."""
        if not identifiers or len(identifiers) > MAX_IDENTIFIERS_PER_EVENT:
            raise ValidationError([FieldError(
                "identifiers", f"must hold 1 to {MAX_IDENTIFIERS_PER_EVENT} identifiers, "
                f"got {len(identifiers)}")])
        if create:
            return await self._create(identifiers, source, with_profile)
        return await self._lookup(normalize_all(self._queries, identifiers), with_profile)

    async def _lookup(self, identifiers: list[Identifier], with_profile: bool) -> Resolution:
        """The first identifier that is known decides: callers list their strongest first."""
        views: list[ProfileView | None] = []
        if with_profile:
            views = await self._queries.profiles_by_identifier(identifiers)
            found = [view.profile_id if view else None for view in views]
        else:
            found = await self._queries.profile_ids(identifiers)
        first = next((i for i, pid in enumerate(found) if pid is not None), None)
        if first is None:
            return Resolution(None, None)
        profile_id = found[first]
        conflicting = tuple(identifier for identifier, pid in zip(identifiers, found, strict=True)
                            if pid is not None and pid != profile_id)
        return Resolution(profile_id, views[first] if views else None, conflicting=conflicting)

    async def _create(self, identifiers: Sequence[RawIdentifier], source: str,
                      with_profile: bool) -> Resolution:
        # Validated by the ingest path itself, strictly, so the errors (and the placeholders
        # it ignores) are the ones every entry point gives, and a caller whose login carries a
        # malformed identifier hears of it rather than getting a profile without it.
        (result,) = await self._ingest([raw_event(
            f"resolve-{uuid.uuid4()}", EventType.IDENTIFY.value, self._clock().isoformat(),
            source, identifiers)])
        if result.status is IngestStatus.REJECTED or result.profile_id is None:
            raise ValidationError(list(result.errors) or [
                FieldError("identifiers", "the event was not applied")])
        profile = await self._profile(result.profile_id) if with_profile else None
        return Resolution(result.profile_id, profile, result.created, result.merged_ids)

    async def _profile(self, profile_id: ProfileId) -> ProfileView | None:
        (view,) = await self._queries.profiles([profile_id])
        return view
