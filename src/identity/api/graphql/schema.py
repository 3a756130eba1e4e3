"""The root types and the Schema; each resolver makes one service call."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, QueryDepthLimiter
from strawberry.types import ExecutionContext

from identity.api.graphql.consent import PURPOSE_ARGUMENT, ConsentMutations
from identity.api.graphql.context import Context
from identity.api.graphql.execution import PlainFieldExecutor
from identity.api.graphql.inputs import EventInput, IdentifierInput
from identity.api.graphql.permissions import RequireScopes
from identity.api.graphql.privacy import PrivacyMutations, PrivacyQueries
from identity.api.graphql.query_limits import QueryLimits
from identity.api.graphql.search import resolve_search
from identity.api.graphql.steward import StewardMutations, StewardQueries, as_of_time
from identity.api.graphql.subscriptions import Subscription
from identity.api.graphql.types import (
    Explanation,
    IdentifierNode,
    IngestEventsPayload,
    Profile,
    ProfileHistory,
    ReviewQueue,
)
from identity.api.graphql.viewer import Viewer, resolve_viewer
from identity.api.limits import check_batch, check_profile_ids
from identity.domain.access import PermissionDenied
from identity.domain.consent import Purpose, consented
from identity.domain.errors import InvalidIdentifier, InvalidInput
from identity.domain.identifiers import printable
from identity.domain.types import Identifier
from identity.service import StoreUnavailable

MAX_QUERY_DEPTH = 6
MAX_ALIASES = 30

Info = strawberry.Info[Context, None]


def _identifier(info: Info, kind: str, value: str) -> Identifier:
    try:
        return info.context.service.normalize(kind, value)
    except InvalidIdentifier as exc:
        raise InvalidIdentifier(f"{printable(kind, 32)} '{printable(value, 32)}': {exc}"
                                ) from None


@strawberry.type
class Query(StewardQueries, PrivacyQueries):
    @strawberry.field(description="A profile by id; a merged id answers with its survivor. "
                      "asOf: the profile the id named then, with the identifiers and golden "
                      "record it had (from the versions recorded).")
    async def profile(self, info: Info, id: strawberry.ID,
                      as_of: datetime | None = None,
                      purpose: Annotated[Purpose | None, strawberry.argument(
                          description=PURPOSE_ARGUMENT + " With asOf: consented now.")
                      ] = None) -> Profile | None:
        check_profile_ids([("id", str(id))])
        if as_of is not None:
            view = await info.context.service.profile_as_of(str(id), as_of_time(as_of))
        else:
            view = await info.context.profiles.load(str(id))
        if view is not None and purpose is not None:
            # Consented now (docs/architecture.md, "Consent"): the view read above, or with
            # asOf the current one, through the request's loader.
            now = view if as_of is None else await info.context.profiles.load(str(id))
            if now is None or not consented(now.consent, purpose):
                view = None
        return Profile.from_domain(view, info.context.disclosure) if view else None

    @strawberry.field(description="The profile an identifier belongs to, normalized as ingest.")
    async def profile_by_identifier(
        self, info: Info, kind: str, value: str,
        purpose: Annotated[Purpose | None, strawberry.argument(description=PURPOSE_ARGUMENT)
                           ] = None,
    ) -> Profile | None:
        identifier = _identifier(info, kind, value)
        (view,) = await info.context.service.profiles_by_identifier([identifier],
                                                                    purpose=purpose)
        return Profile.from_domain(view, info.context.disclosure) if view else None

    @strawberry.field(description="One identifier node with its links and their evidence.")
    async def identifier(self, info: Info, kind: str, value: str) -> IdentifierNode | None:
        found = await info.context.service.identifier(_identifier(info, kind, value))
        if found is None:
            return None
        shown = info.context.disclosure.identifier_view(found)
        return IdentifierNode.from_domain(shown.node, shown.profile_id, found.node.identifier)

    @strawberry.field(description="Why two identifiers are one person (the path of links "
                      "joining them, each with its evidence) or are not (how their records "
                      "compare under the match model).")
    async def explain(self, info: Info, a: IdentifierInput, b: IdentifierInput) -> Explanation:
        found = await info.context.service.explain(_identifier(info, a.kind, a.value),
                                                   _identifier(info, b.kind, b.value))
        return Explanation.from_domain(info.context.disclosure.explanation(found))

    @strawberry.field(description="The links that built a profile, oldest first.")
    async def explain_profile(self, info: Info, id: strawberry.ID) -> ProfileHistory | None:
        check_profile_ids([("id", str(id))])
        history = await info.context.service.profile_history(str(id))
        return (ProfileHistory.from_domain(info.context.disclosure.profile_history(history))
                if history else None)

    search = strawberry.field(resolver=resolve_search, description="Profiles for a steward "
                              "by name (fuzzy), email, phone or identifier, best first, paged.")

    viewer: Viewer = strawberry.field(resolver=resolve_viewer, description="Who is calling, "
                                      "with the scopes this caller holds: what it may do.")

    @strawberry.field(description="The change feed's newest position: pass it as `after` to "
                      "profileChanges to receive the changes made from now on (without it, "
                      "every change still kept is sent first).")
    async def latest_change_position(self, info: Info) -> str:
        return await info.context.service.latest_change_position()

    @strawberry.field(description="Possible matches awaiting a steward, highest score first "
                      "(then by pair), with a match probability between minScore and maxScore "
                      "(0 to 1) and, given a source, queued from events of that source. A "
                      "pair found joined since it was queued is not shown, and leaves the "
                      "queue; a page may hold fewer than `first` items and still go on.")
    async def review_queue(self, info: Info, first: int = 20, after: str | None = None,
                           min_score: float = 0.0, max_score: float = 1.0,
                           source: str | None = None) -> ReviewQueue:
        return ReviewQueue.from_domain(info.context.disclosure.review_page(
            await info.context.service.review_queue(first, after, min_score=min_score,
                                                    max_score=max_score, source=source)))


@strawberry.type
class Mutation(ConsentMutations, StewardMutations, PrivacyMutations):
    @strawberry.mutation(description="Ingests a batch; each event is accepted, a duplicate, "
                         "or rejected with its field errors, without affecting the others. A "
                         "malformed identifier costs only itself: the event is accepted "
                         "without it (see ignoredIdentifiers) unless strict is true.")
    async def ingest_events(self, info: Info, events: list[EventInput],
                            strict: bool = False) -> IngestEventsPayload:
        check_batch(len(events), sum(len(e.identifiers) for e in events))
        results = await info.context.service.ingest([e.to_raw() for e in events], strict=strict)
        return IngestEventsPayload.from_domain(results)


_EXPECTED = (InvalidInput, StoreUnavailable, PermissionDenied)


def _should_mask(error: GraphQLError) -> bool:
    """Query validation, input and availability errors reach the caller; an exception raised
    anywhere else is a bug, and is masked."""
    if error.original_error is None or isinstance(error.original_error, GraphQLError):
        return False  # the query or its variables did not validate: the caller must know why
    return not isinstance(error.original_error, _EXPECTED)


_log = logging.getLogger("identity.graphql")


class IdentitySchema(strawberry.Schema):
    """Logs what the operator needs and nothing a caller wrote. Strawberry's default logs each
    error with the query text around it, so a query holding terminal escapes or personal data
    would reach the log: a caller's mistake is the caller's (it is in the response), and a
    bug is logged by its exception type and traceback, with the operation's name."""

    def process_errors(self, errors: list[GraphQLError],
                       execution_context: ExecutionContext | None = None) -> None:
        operation = execution_context.operation_name if execution_context else None
        for error in errors:
            if _should_mask(error):
                _log.error("unexpected %s in operation %s at %s",
                           type(error.original_error).__name__, _printable(operation),
                           _printable(".".join(str(p) for p in error.path or ())),
                           exc_info=error.original_error)


def _printable(text: str | None) -> str:
    return printable(text, 100) if text else "-"


schema = IdentitySchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    # Plain scalar attributes are read without a resolver call each: most of a profile
    # read's values (execution.py).
    execution_context_class=PlainFieldExecutor,
    extensions=[
        # Bounded parsing, a field budget, and caches for the short queries clients repeat.
        QueryLimits,
        # The scope of each root field, checked against the caller before anything runs.
        RequireScopes,
        # profile -> identifiers -> profile -> ... multiplies the response by the profile's
        # size at each hop: bound the depth and the number of aliases.
        lambda: QueryDepthLimiter(max_depth=MAX_QUERY_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaskErrors(should_mask_error=_should_mask),
    ],
)
