"""The application layer: the only caller of a store; every entry point calls this."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from identity.domain.access import Principal
from identity.domain.consent import Purpose, consented
from identity.domain.events import MAX_CLOCK_SKEW
from identity.domain.guards import GraphRules
from identity.domain.identifiers import NormalizationRules
from identity.domain.links import Link
from identity.domain.survivorship import SurvivorshipRules
from identity.domain.types import Identifier, ProfileId
from identity.service.api_keys import ApiKeys
from identity.service.change_feed import ChangeFeed, PositionedChange
from identity.service.change_sinks import ChangeSink, MetricsChangeSink
from identity.service.consent import ConsentResult, ConsentSteward
from identity.service.disclosure import Disclosure
from identity.service.erasure import Eraser, Erasure, ErasureKey, Lifted, Suppression
from identity.service.explain import Explainer, Explanation, ProfileHistory, ReviewPage
from identity.service.export import Exporter, audit_export
from identity.service.history import History, VersionPage
from identity.service.ingest import Clock, Ingestor, IngestResult, IngestStatus, utc_now
from identity.service.log_follower import DEFAULT_STALENESS_BOUND, LogFollower
from identity.service.matching import GraphSize, Matcher
from identity.service.pii_audit import PiiReadAudit
from identity.service.profile_cache import DEFAULT_CAPACITY, ProfileCache
from identity.service.queries import IdentifierView, Member, ProfileView, Queries
from identity.service.resolve import RawIdentifier, Resolution, Resolver, normalize_all
from identity.service.search import SearchBy, Searcher, SearchPage
from identity.service.steward import ActionResult, AuditPage, SplitPreview, Steward
from identity.store.errors import StoreConflict, StoreUnavailable
from identity.store.protocol import AuditCursor, AuditFilter, GraphStore

T = TypeVar("T")

__all__ = ["IdentifierView", "IdentityService", "IngestResult", "IngestStatus", "Member",
           "ProfileView",
           "Resolution", "StoreConflict", "StoreUnavailable"]


class IdentityService:
    """One object per process, built in app.py; entry points hold it and nothing else."""

    def __init__(
        self,
        store: GraphStore,
        *,
        rules: NormalizationRules | None = None,
        survivorship: SurvivorshipRules | None = None,
        sink: ChangeSink | None = None,
        clock: Clock = utc_now,
        graph_rules: GraphRules | None = None,
        matcher: Matcher | None = None,
        profile_cache: int = DEFAULT_CAPACITY,
        cache_staleness: timedelta = DEFAULT_STALENESS_BOUND,
        strict_ingest: bool = False,
        max_clock_skew: timedelta = MAX_CLOCK_SKEW,
        erasure_key: bytes | None = None,
    ) -> None:
        """`profile_cache`: how many profiles to keep in memory (0: none; profile_cache.py
        says how they are kept fresh); `cache_staleness`: on a store other replicas write
        (Neo4j), how late the cache may learn of their writes (log_follower.py).
        `strict_ingest`: reject an event for a malformed identifier or a missing order
        amount instead of accepting it without."""
        self.store = store
        self.rules = rules or NormalizationRules()
        self.matcher = matcher
        follower = (LogFollower(store, cache_staleness)
                    if profile_cache and store.commits_elsewhere() is None else None)
        self._cache = ProfileCache(profile_cache, store, follower)
        size = GraphSize()  # the match model's prior follows it: ingest and explain alike
        # Erasure's secret (None: one kept in the store) and the suppression list it leaves
        # (service/erasure.py), checked by every ingest.
        key = ErasureKey(store, erasure_key)
        self._ingestor = Ingestor(store, self.rules, sink or MetricsChangeSink(), clock,
                                  graph_rules, matcher, cache=self._cache,
                                  strict=strict_ingest, size=size,
                                  max_clock_skew=max_clock_skew,
                                  suppression=Suppression(key))
        self._queries = Queries(store, self.rules, survivorship or SurvivorshipRules(),
                                self._cache)
        self._explainer = Explainer(store, matcher.model if matcher else None,
                                    (graph_rules or GraphRules()).limits, size)
        self._feed = ChangeFeed(store, self._ingestor.committed)
        self._steward = Steward(store, (graph_rules or GraphRules()).limits, clock,
                               self._ingestor.announce)
        self._history = History(store, survivorship or SurvivorshipRules())
        self._resolver = Resolver(self._queries, partial(self.ingest, strict=True), clock)
        self._search = Searcher(store, self.normalize, matcher)
        self._clock = clock
        self._eraser = Eraser(store, key, clock, self._ingestor.announce, matcher)
        self._exporter = Exporter(store)
        self._consent = ConsentSteward(store, clock, self._ingestor.announce)
        self.api_keys = ApiKeys(store)
        # Reads of personal data in the clear, audited off the request path (pii_audit.py):
        # app.py's lifespan starts its flushing and closes it before the store.
        self.pii_reads = PiiReadAudit(store, clock)

    async def ingest(self, raw_events: Sequence[object], *, strict: bool = False
                     ) -> list[IngestResult]:
        """`strict`: this call rejects what the service would otherwise accept without (a
        malformed identifier, a missing order amount), whatever the service's default."""
        return await self._ingestor.ingest(raw_events, strict=strict)

    def normalize(self, kind: str, value: str) -> Identifier:
        return self._queries.normalize(kind, value)

    def normalize_every_key(self, kind: str, value: str) -> tuple[Identifier, ...]:
        """Every form ingest links the value under: what lifting a suppression must name,
        while a PII hashing key is rotated (docs/architecture.md, "Security and privacy")."""
        return self._queries.normalize_every_key(kind, value)

    def normalize_all(self, identifiers: Sequence[RawIdentifier],
                      paths: Sequence[str] | None = None) -> list[Identifier]:
        return normalize_all(self._queries, identifiers, paths)

    async def resolve(self, identifiers: Sequence[RawIdentifier], create: bool, source: str,
                      *, with_profile: bool = True, purpose: Purpose | None = None
                      ) -> Resolution:
        """`purpose`: the profile is left out (its id kept) unless consented for it."""
        found = await self._resolver.resolve(identifiers, create, source,
                                             with_profile=with_profile or purpose is not None)
        if purpose is not None and found.profile is not None and (
                not with_profile or not consented(found.profile.consent, purpose)):
            found = replace(found, profile=None)
        return found

    async def profiles(self, profile_ids: Sequence[str], *, purpose: Purpose | None = None
                       ) -> list[ProfileView | None]:
        """`purpose`: a profile not consented for it answers None, as an unknown one."""
        return _consented(await self._queries.profiles(profile_ids), purpose)

    async def profiles_by_identifier(
        self, identifiers: Sequence[Identifier], *, purpose: Purpose | None = None
    ) -> list[ProfileView | None]:
        return _consented(await self._queries.profiles_by_identifier(identifiers), purpose)

    async def set_consent(self, profile_id: str, purpose: Purpose, granted: bool, actor: str,
                          reason: str) -> ConsentResult:
        """A steward's consent decision for a profile (service/consent.py), audited."""
        return await self._consent.set_consent(profile_id, purpose, granted, actor, reason)

    def disclosure(self, principal: Principal) -> Disclosure:
        """What `principal` may see of each result (disclosure.py): one per request."""
        return Disclosure(principal, self.pii_reads, self._cache.rendering)

    def rendering(self, view: ProfileView, kind: str, render: Callable[[ProfileView], T]) -> T:
        """`render(view)`, done once while the view stays cached: an entry point's encoding
        of a profile (gRPC's message) costs as much as reading it."""
        return self._cache.rendering(view, kind, render)

    async def profile_ids(self, identifiers: Sequence[Identifier]) -> list[ProfileId | None]:
        return await self._queries.profile_ids(identifiers)

    async def identifier(self, identifier: Identifier) -> IdentifierView | None:
        return await self._queries.identifier(identifier)

    async def links(self, identifiers: Sequence[Identifier]) -> list[list[Link]]:
        return await self._queries.links(identifiers)

    async def search(self, query: str, by: SearchBy = SearchBy.ANY, *, kind: str | None = None,
                     first: int = 20, after: str | None = None,
                     purpose: Purpose | None = None) -> SearchPage:
        """Profiles for a steward, by name (fuzzy), email, phone or identifier, best first,
        paged (service/search.py); raises ValidationError naming the argument at fault.
        `purpose`: hits not consented for it are left out of the page (`total` still
        counts every profile found, so a page may hold fewer than `first`)."""
        page = await self._search.search(query, by, kind=kind, first=first, after=after)
        if purpose is None or not page.hits:
            return page
        views = await self.profiles([hit.profile_id for hit in page.hits], purpose=purpose)
        return replace(page, hits=tuple(hit for hit, view in zip(page.hits, views, strict=True)
                                        if view is not None))

    async def explain(self, a: Identifier, b: Identifier) -> Explanation:
        return await self._explainer.explain(a, b)

    async def profile_history(self, profile_id: str) -> ProfileHistory | None:
        return await self._explainer.profile_history(profile_id)

    async def review_queue(self, first: int, after: str | None = None, *,
                           min_score: float = 0.0, max_score: float = 1.0,
                           source: str | None = None) -> ReviewPage:
        return await self._explainer.review_queue(first, after, min_score=min_score,
                                                  max_score=max_score, source=source)

    async def merge(self, profile_ids: Sequence[str], actor: str, reason: str, *,
                    override_limits: bool = False) -> ActionResult:
        return await self._steward.merge(profile_ids, actor, reason,
                                        override_limits=override_limits)

    async def preview_split(self, profile_id: str, sides: Sequence[Sequence[Identifier]]
                            ) -> SplitPreview:
        return await self._steward.preview_split(profile_id, sides)

    async def split(self, profile_id: str, sides: Sequence[Sequence[Identifier]], actor: str,
                    reason: str) -> ActionResult:
        return await self._steward.split(profile_id, sides, actor, reason)

    async def unlink(self, a: Identifier, b: Identifier, actor: str, reason: str
                     ) -> ActionResult:
        return await self._steward.unlink(a, b, actor, reason)

    async def decide_review(self, a: Identifier, b: Identifier, accept: bool, actor: str,
                            reason: str, *, override_limits: bool = False) -> ActionResult:
        return await self._steward.decide_review(a, b, accept, actor, reason,
                                                override_limits=override_limits)

    async def undo(self, action_id: str, actor: str, reason: str) -> ActionResult:
        return await self._steward.undo(action_id, actor, reason)

    async def erase_profile(self, profile_id: str, actor: str, reason: str) -> Erasure:
        """Erases the profile (GDPR Art. 17) and suppresses its identifiers; raises
        ValidationError for an unknown id or a missing actor or reason (service/erasure.py)."""
        return await self._eraser.erase(profile_id, actor, reason)

    async def export_profile(self, profile_id: str, actor: str) -> dict[str, Any]:
        """Everything held about the profile's person (GDPR Art. 15), audited; raises
        ValidationError for an unknown id (service/export.py)."""
        views = await self._queries.profiles([profile_id])
        document = await self._exporter.export(profile_id, views[0] if views else None)
        await audit_export(self.store, document, actor, self._clock())
        return document

    async def lift_suppressions(self, identifiers: Sequence[Identifier], actor: str,
                                reason: str) -> Lifted:
        """Events naming these identifiers are taken in again (service/erasure.py)."""
        return await self._eraser.lift(identifiers, actor, reason)

    async def audit_log(self, where: AuditFilter, first: int, after: AuditCursor | None
                        ) -> AuditPage:
        return await self._steward.audit_log(where, first, after)

    async def profile_versions(self, profile_id: str, first: int, after: int = 0
                               ) -> VersionPage | None:
        return await self._history.versions(profile_id, first, after)

    async def profile_as_of(self, profile_id: str, at: datetime) -> ProfileView | None:
        return await self._history.as_of(profile_id, at)

    async def watch_changes(self, after: str | None, profile_ids: Sequence[str]
                            ) -> AsyncGenerator[PositionedChange, None]:
        """Never ends on its own; raises InvalidInput for a bad or pruned `after`."""
        async with aclosing(self._feed.watch(after, profile_ids)) as changes:
            async for change in changes:
                yield change

    async def latest_change_position(self) -> str:
        """Pass it as `after` to watch_changes for the changes from now on."""
        return await self._feed.latest()

    async def watch_change_pages(self, after: str | None, *, poll_interval_s: float
                                 ) -> AsyncGenerator[list[PositionedChange], None]:
        """Every change after `after`, a page of the log at a time (change_feed.py)."""
        async with aclosing(self._feed.pages(after, [],
                                             poll_interval_s=poll_interval_s)) as pages:
            async for page in pages:
                yield page

    async def check_ready(self) -> None:
        """Raises StoreUnavailable when the store cannot answer."""
        await self.store.ping()

    async def cache_status(self) -> dict[str, object]:
        """What /readyz shows of the profile cache: how it is kept right and, when it
        follows the change log, the bound and how far behind it is now."""
        return await self._cache.status()


def _consented(views: list[ProfileView | None], purpose: Purpose | None
               ) -> list[ProfileView | None]:
    """Each view consented for `purpose` (every one when None), else None: no decision
    recorded is no consent (docs/architecture.md, "Consent")."""
    if purpose is None:
        return views
    return [view if view is not None and consented(view.consent, purpose) else None
            for view in views]
