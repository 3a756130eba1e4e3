"""identity.v1.IdentityService: protobuf in, one service call, protobuf out.

Nothing here decides anything GraphQL does not: validation, normalization, resolution and
their errors live in the service layer; errors.py maps those errors to status codes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing

import grpc

from identity.api.grpc import convert, errors
from identity.api.grpc.caller import caller
from identity.api.grpc.ingest_stream import ingest_in_order
from identity.api.grpc.watch_slots import WatchSlots
from identity.api.limits import MAX_WATCH_STREAMS, check_batch, check_profile_ids, indexed
from identity.domain.access import Scope, acting
from identity.domain.errors import ValidationError
from identity.service import IdentityService
from identity.service.change_feed import MAX_WATCHED_IDS
from identity.service.disclosure import Disclosure
from identity.service.steward import check_sides
from identity.v1 import identity_pb2 as pb
from identity.v1 import identity_pb2_grpc

DEFAULT_SOURCE = "grpc"
MAX_PER_BATCH_GET = 100  # ids, and identifiers, per BatchGetProfiles (identity.proto says so)
STREAM_WINDOW = 256  # IngestStream: events read ahead of the one being ingested, at most

Context = grpc.aio.ServicerContext


def _at_most(limit: int, field: str, count: int) -> None:
    if count > limit:
        raise ValidationError.of(field, f"at most {limit} per request, got {count}")


class IdentityServicer(identity_pb2_grpc.IdentityServiceServicer):
    def __init__(self, service: IdentityService, *, stream_window: int = STREAM_WINDOW,
                 watch_slots: WatchSlots | None = None) -> None:
        """`watch_slots`: the open streams this server allows, shared with its other
        long-lived streams (health Watch); MAX_WATCH_STREAMS of its own when not given. They
        count on `service`'s watches, so GraphQL subscriptions over it draw on them too."""
        self._service = service
        self._window = stream_window
        self._watch_slots = watch_slots or WatchSlots(MAX_WATCH_STREAMS)
        self._watch_slots.share(service)

    def _disclosure(self) -> Disclosure:
        """What this call's caller may see of personal data (service/disclosure.py)."""
        return self._service.disclosure(caller())

    @staticmethod
    def _message(disclosure: Disclosure) -> convert.ProfileMessage:
        """A view's message as the caller may see it, built once per cached view (the caller
        must not modify it); masked and clear ones are kept apart."""
        return lambda view: disclosure.rendering(view, "grpc", convert.profile)

    @errors.unary
    async def Resolve(self, request: pb.ResolveRequest,
                      context: Context[pb.ResolveRequest, pb.ResolveResponse]
                      ) -> pb.ResolveResponse:
        if request.mode not in pb.ResolveRequest.Mode.values():
            raise ValidationError.of("mode", f"{request.mode} is not a mode: MODE_LOOKUP (1) or "
                                     "MODE_CREATE (2)")
        if request.mode == pb.ResolveRequest.MODE_CREATE:
            caller().require(Scope.INGEST, "Resolve with MODE_CREATE")
        resolution = await self._service.resolve(
            convert.raw_identifiers(request.identifiers),
            create=request.mode == pb.ResolveRequest.MODE_CREATE,
            source=request.source or DEFAULT_SOURCE,
            with_profile=not request.id_only,
            purpose=convert.purpose(request.purpose))
        disclosure = self._disclosure()
        message = self._message(disclosure)
        if resolution.profile and resolution.is_plain_lookup:
            # The hot path: a plain lookup's response depends on its profile alone.
            return disclosure.rendering(
                resolution.profile, "grpc.ResolveResponse",
                lambda _: convert.resolve_response(resolution, message))
        return convert.resolve_response(resolution, message)

    @errors.unary
    async def GetProfile(self, request: pb.GetProfileRequest,
                         context: Context[pb.GetProfileRequest, pb.Profile]) -> pb.Profile:
        if not request.profile_id:
            raise ValidationError.of("profile_id", "is required")
        check_profile_ids([("profile_id", request.profile_id)])
        purpose = convert.purpose(request.purpose)
        (view,) = await self._service.profiles([request.profile_id], purpose=purpose)
        if view is None:
            raise errors.NotFound(f"profile {request.profile_id!r} does not exist" + (
                f" or is not consented for {purpose}" if purpose else ""))
        return self._message(self._disclosure())(view)

    @errors.unary
    async def BatchGetProfiles(
        self, request: pb.BatchGetProfilesRequest,
        context: Context[pb.BatchGetProfilesRequest, pb.BatchGetProfilesResponse],
    ) -> pb.BatchGetProfilesResponse:
        _at_most(MAX_PER_BATCH_GET, "profile_ids", len(request.profile_ids))
        _at_most(MAX_PER_BATCH_GET, "identifiers", len(request.identifiers))
        ids = list(request.profile_ids)
        check_profile_ids(indexed("profile_ids", ids))
        identifiers = self._service.normalize_all(convert.raw_identifiers(request.identifiers))
        purpose = convert.purpose(request.purpose)
        by_id = await self._service.profiles(ids, purpose=purpose) if ids else []
        by_identifier = (await self._service.profiles_by_identifier(identifiers,
                                                                    purpose=purpose)
                         if identifiers else [])
        message = self._message(self._disclosure())
        return pb.BatchGetProfilesResponse(lookups=[
            *(convert.lookup(key, view, message)
              for key, view in zip(ids, by_id, strict=True)),
            *(convert.lookup(convert.identifier(key), view, message)
              for key, view in zip(identifiers, by_identifier, strict=True)),
        ])

    @errors.unary
    async def IngestEvents(
        self, request: pb.IngestEventsRequest,
        context: Context[pb.IngestEventsRequest, pb.IngestEventsResponse],
    ) -> pb.IngestEventsResponse:
        check_batch(len(request.events), sum(len(e.identifiers) for e in request.events))
        results = await self._service.ingest([convert.raw_event(e) for e in request.events],
                                             strict=request.strict)
        return pb.IngestEventsResponse(results=convert.event_results(results))

    @errors.stream
    async def IngestStream(
        self, request_iterator: AsyncIterator[pb.IngestStreamRequest],
        context: Context[pb.IngestStreamRequest, pb.IngestStreamResponse],
    ) -> AsyncGenerator[pb.IngestStreamResponse, None]:
        events = (convert.raw_event(request.event) async for request in request_iterator)
        # aclosing: a call closed at a yield (cancelled, deadline) stops its reader now.
        async with aclosing(ingest_in_order(events, self._service.ingest,
                                            self._window)) as acknowledged:
            async for offset, results in acknowledged:
                for result in results:
                    yield pb.IngestStreamResponse(result=convert.event_result(result, offset))

    @errors.stream
    async def WatchChanges(
        self, request: pb.WatchChangesRequest,
        context: Context[pb.WatchChangesRequest, pb.ProfileChange],
    ) -> AsyncGenerator[pb.ProfileChange, None]:
        await self._watch_slots.take(context)  # RESOURCE_EXHAUSTED when all are taken
        _at_most(MAX_WATCHED_IDS, "profile_ids", len(request.profile_ids))  # before each
        check_profile_ids(indexed("profile_ids", request.profile_ids))
        # aclosing: a watcher that leaves (cancelled, deadline) lets go now, not when collected.
        async with aclosing(self._service.watch_changes(request.after_position or None,
                                                        list(request.profile_ids))) as changes:
            async for positioned in changes:
                yield convert.change(positioned.change, positioned.position)

    @errors.unary
    async def Explain(self, request: pb.ExplainRequest,
                      context: Context[pb.ExplainRequest, pb.Explanation]) -> pb.Explanation:
        a, b = self._service.normalize_all(
            convert.raw_identifiers([request.a, request.b]), paths=["a", "b"])
        return convert.explanation(self._disclosure().explanation(
            await self._service.explain(a, b)))

    @errors.unary
    async def Merge(self, request: pb.MergeRequest,
                    context: Context[pb.MergeRequest, pb.MergeResponse]) -> pb.MergeResponse:
        ids = list(request.profile_ids)
        check_profile_ids(indexed("profile_ids", ids))
        done = await self._service.merge(ids, acting(caller(), request.actor), request.reason,
                                         override_limits=request.override_limits)
        return pb.MergeResponse(action=convert.steward_action(self._disclosure().action(done)))

    @errors.unary
    async def Split(self, request: pb.SplitRequest,
                    context: Context[pb.SplitRequest, pb.SplitResponse]) -> pb.SplitResponse:
        check_profile_ids([("profile_id", request.profile_id)])
        check_sides(len(request.sides), sum(len(side.identifiers) for side in request.sides))
        sides = [self._service.normalize_all(
            convert.raw_identifiers(side.identifiers),
            paths=[f"sides[{i}].identifiers[{j}]" for j in range(len(side.identifiers))])
            for i, side in enumerate(request.sides)]
        if request.preview:
            preview = await self._service.preview_split(request.profile_id, sides)
            return convert.split_response(self._disclosure().split_preview(preview), None)
        done = self._disclosure().action(await self._service.split(
            request.profile_id, sides, acting(caller(), request.actor), request.reason))
        assert done.split is not None, "a split says how it cut"
        return convert.split_response(done.split, done)

    @errors.unary
    async def Unlink(self, request: pb.UnlinkRequest,
                     context: Context[pb.UnlinkRequest, pb.UnlinkResponse]
                     ) -> pb.UnlinkResponse:
        a, b = self._service.normalize_all(
            convert.raw_identifiers([request.a, request.b]), paths=["a", "b"])
        done = await self._service.unlink(a, b, acting(caller(), request.actor), request.reason)
        return pb.UnlinkResponse(action=convert.steward_action(self._disclosure().action(done)))

    @errors.unary
    async def Undo(self, request: pb.UndoRequest,
                   context: Context[pb.UndoRequest, pb.UndoResponse]) -> pb.UndoResponse:
        if not request.action_id:
            raise ValidationError.of("action_id", "is required")
        done = await self._service.undo(request.action_id, acting(caller(), request.actor),
                                        request.reason)
        return pb.UndoResponse(action=convert.steward_action(self._disclosure().action(done)))

    @errors.unary
    async def SetConsent(self, request: pb.SetConsentRequest,
                         context: Context[pb.SetConsentRequest, pb.SetConsentResponse]
                         ) -> pb.SetConsentResponse:
        """A steward's consent decision, audited under the caller (service/consent.py)."""
        purpose = convert.purpose(request.purpose)
        if purpose is None:
            raise ValidationError.of("purpose", "is required: " + convert.PURPOSES)
        if not request.profile_id:
            raise ValidationError.of("profile_id", "is required")
        check_profile_ids([("profile_id", request.profile_id)])
        done = await self._service.set_consent(request.profile_id, purpose, request.granted,
                                               caller().subject, request.reason)
        return convert.set_consent_response(done)

    @errors.unary
    async def DecideReview(self, request: pb.DecideReviewRequest,
                           context: Context[pb.DecideReviewRequest, pb.DecideReviewResponse]
                           ) -> pb.DecideReviewResponse:
        decisions = {pb.DecideReviewRequest.DECISION_ACCEPT: True,
                     pb.DecideReviewRequest.DECISION_REJECT: False}
        if request.decision not in decisions:
            raise ValidationError.of("decision", "DECISION_ACCEPT (1) or DECISION_REJECT (2)")
        a, b = self._service.normalize_all(
            convert.raw_identifiers([request.a, request.b]), paths=["a", "b"])
        done = await self._service.decide_review(a, b, decisions[request.decision],
                                                 acting(caller(), request.actor), request.reason,
                                                 override_limits=request.override_limits)
        return pb.DecideReviewResponse(
            action=convert.steward_action(self._disclosure().action(done)))

    @errors.unary
    async def EraseProfile(self, request: pb.EraseProfileRequest,
                           context: Context[pb.EraseProfileRequest, pb.EraseProfileResponse]
                           ) -> pb.EraseProfileResponse:
        subject = _admin("EraseProfile")
        check_profile_ids([("profile_id", request.profile_id)])
        done = await self._service.erase_profile(request.profile_id, subject, request.reason)
        return convert.erasure(done)

    @errors.unary
    async def ExportProfile(self, request: pb.ExportProfileRequest,
                            context: Context[pb.ExportProfileRequest, pb.ExportProfileResponse]
                            ) -> pb.ExportProfileResponse:
        subject = _admin("ExportProfile")
        check_profile_ids([("profile_id", request.profile_id)])
        document = await self._service.export_profile(request.profile_id, subject)
        return pb.ExportProfileResponse(document=json.dumps(document, ensure_ascii=False))


def _admin(method: str) -> str:
    """The caller's subject, for the audit log; PermissionDenied without `admin` (auth.py's
    METHOD_SCOPES checks it before the call too; checked here again, as GraphQL does)."""
    return caller().require(Scope.ADMIN, method)
