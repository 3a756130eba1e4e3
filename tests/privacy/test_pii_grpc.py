"""Every gRPC method, called over a real channel with API keys: a key without
`profile:read_pii` is given no personal data, on both stores; one with it sees the data and
its reads are audited (docs/architecture.md, "Security and privacy")."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

import grpc
import pytest
from google.protobuf import text_format
from google.protobuf.message import Message

from identity.api.auth.authenticator import Authenticator
from identity.api.grpc.server import start_server
from identity.api.kafka.messages import change_message
from identity.domain.access import Scope
from identity.service.pii_audit import READ_PII
from identity.store.protocol import AuditFilter
from identity.v1 import identity_pb2 as pb
from identity.v1 import identity_pb2_grpc
from tests.auth_fixtures import grpc_metadata, issue_into
from tests.privacy.conftest import (
    ANNA_CUSTOM,
    ANNA_EMAIL,
    ANNA_PHONE,
    ANNA_WORK,
    BERTIL_EMAIL,
    People,
    leaked,
)

Call = Callable[[identity_pb2_grpc.IdentityServiceStub, People], Awaitable[Message]]


def email(value: str) -> pb.Identifier:
    return pb.Identifier(kind="email", value=value)


def cookie(value: str) -> pb.Identifier:
    return pb.Identifier(kind="anonymous_id", value=value)


READS: dict[str, Call] = {
    "Resolve by customer id": lambda stub, p: stub.Resolve(pb.ResolveRequest(
        identifiers=[pb.Identifier(kind="customer_id", value="cust-a1")],
        mode=pb.ResolveRequest.MODE_LOOKUP)),
    "Resolve, conflicting": lambda stub, p: stub.Resolve(pb.ResolveRequest(
        identifiers=[pb.Identifier(kind="customer_id", value="cust-a1"),
                     pb.Identifier(kind="customer_id", value="cust-b1")],
        mode=pb.ResolveRequest.MODE_LOOKUP)),
    "GetProfile": lambda stub, p: stub.GetProfile(pb.GetProfileRequest(profile_id=p.anna)),
    "BatchGetProfiles": lambda stub, p: stub.BatchGetProfiles(pb.BatchGetProfilesRequest(
        profile_ids=[p.anna, p.bertil],
        identifiers=[pb.Identifier(kind="customer_id", value="cust-b1")])),
    "Explain joined": lambda stub, p: stub.Explain(pb.ExplainRequest(
        a=email(ANNA_EMAIL), b=email(ANNA_WORK))),
    "Explain apart": lambda stub, p: stub.Explain(pb.ExplainRequest(
        a=email(ANNA_EMAIL), b=email(BERTIL_EMAIL))),
    "Split preview": lambda stub, p: stub.Split(pb.SplitRequest(
        profile_id=p.anna, preview=True,
        sides=[pb.IdentifierGroup(identifiers=[email(ANNA_EMAIL)]),
               pb.IdentifierGroup(identifiers=[email(ANNA_WORK)])])),
}


async def _steward_session(stub: identity_pb2_grpc.IdentityServiceStub, people: People,
                           metadata: tuple[tuple[str, str], ...]) -> dict[str, Message]:
    merged = await stub.Merge(pb.MergeRequest(
        profile_ids=[people.anna, people.bertil], actor="sam", reason="one person",
        override_limits=True), metadata=metadata)
    shown: dict[str, Message] = {"Merge": merged}
    shown["Undo"] = await stub.Undo(pb.UndoRequest(
        action_id=merged.action.action_id, actor="sam", reason="wrong call"),
        metadata=metadata)
    shown["Split"] = await stub.Split(pb.SplitRequest(
        profile_id=people.anna, actor="sam", reason="two addresses",
        sides=[pb.IdentifierGroup(identifiers=[email(ANNA_EMAIL)]),
               pb.IdentifierGroup(identifiers=[email(ANNA_WORK)])]), metadata=metadata)
    shown["Unlink"] = await stub.Unlink(pb.UnlinkRequest(
        a=email(ANNA_EMAIL), b=cookie("cookie-a"), actor="sam", reason="shared"),
        metadata=metadata)
    shown["DecideReview"] = await stub.DecideReview(pb.DecideReviewRequest(
        a=cookie("rv-1"), b=cookie("rv-2"), decision=pb.DecideReviewRequest.DECISION_ACCEPT,
        actor="sam", reason="same name"), metadata=metadata)
    return shown


def shown_text(message: Message) -> str:
    return text_format.MessageToString(message, as_utf8=True)


@pytest.fixture
async def stub(people: People) -> AsyncIterator[identity_pb2_grpc.IdentityServiceStub]:
    server = await start_server(
        people.service, "127.0.0.1:0", readiness_interval_s=0.02,
        authenticator=Authenticator(keys=lambda: people.service.api_keys))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield identity_pb2_grpc.IdentityServiceStub(channel)
    await server.stop(0)


async def _watch(stub: identity_pb2_grpc.IdentityServiceStub, key: str, last: str
                 ) -> list[pb.ProfileChange]:
    received: list[pb.ProfileChange] = []
    call = stub.WatchChanges(pb.WatchChangesRequest(), metadata=grpc_metadata(key))
    async with asyncio.timeout(10):
        async for change in call:
            received.append(change)
            if list(change.absorbed_ids) == [last]:
                break
    call.cancel()
    return received


async def test_no_grpc_method_gives_personal_data_to_a_key_without_read_pii(
        people: People, stub: identity_pb2_grpc.IdentityServiceStub) -> None:
    key = await issue_into(people.store, Scope.PROFILE_READ, Scope.STEWARD)
    metadata = grpc_metadata(key)
    shown: dict[str, str] = {}
    for name, call in READS.items():
        shown[name] = shown_text(await _with(call, stub, people, metadata))
    for name, message in (await _steward_session(stub, people, metadata)).items():
        shown[name] = shown_text(message)
    changes = await _watch(stub, key, people.bertil)
    shown["WatchChanges"] = "\n".join(shown_text(c) for c in changes)
    leaks = {name: leaked(text) for name, text in shown.items() if leaked(text)}
    assert leaks == {}, {name: shown[name][:600] for name in leaks}
    assert 'value: "a•••@n•••.org"' in shown["GetProfile"]
    assert "+•• ••• •••• •56" in shown["GetProfile"]
    assert 'value: "A•••"' in shown["GetProfile"] and 'value: "gold"' in shown["GetProfile"]
    assert 'value: "a•••@g•••.com"' in shown["GetProfile"]  # a custom trait, by its value
    assert 'value: "platinum"' in shown["GetProfile"]  # a harmless one
    assert 'left: "Q•••"' in shown["Explain joined"] or 'left: "Q•••"' in shown["Explain apart"]
    assert "cust-b1" in shown["Resolve, conflicting"]  # the caller's own ids, as sent
    # The change events are the same ids in every API, Kafka's included.
    assert {f.name for f in pb.ProfileChange.DESCRIPTOR.fields} == {
        "position", "change_id", "kind", "profile_id", "absorbed_ids", "split_ids",
        "cause_event_id", "at"}
    feed = [c async for c in _feed(people)]
    assert feed and not leaked("\n".join(v.decode() for _, v in feed))
    assert people.service.pii_reads.waiting == 0


async def _with(call: Call, stub: identity_pb2_grpc.IdentityServiceStub, people: People,
                metadata: tuple[tuple[str, str], ...]) -> Message:
    """`call` with the key's metadata: the stub's methods take it as a keyword."""
    class Keyed:
        def __getattr__(self, name: str) -> Any:
            method = getattr(stub, name)
            return lambda request: method(request, metadata=metadata)
    return await call(Keyed(), people)  # type: ignore[arg-type]  # the stub's methods, keyed


async def _feed(people: People) -> AsyncIterator[tuple[bytes, bytes]]:
    """Kafka's change messages (key, value) for every change the log holds."""
    async with aclosing(people.service.watch_change_pages(None, poll_interval_s=0.01)) as pages:
        async for page in pages:
            for positioned in page:
                yield change_message(positioned)
            if page:
                return


async def test_a_key_with_read_pii_sees_it_over_grpc_and_is_audited(
        people: People, stub: identity_pb2_grpc.IdentityServiceStub) -> None:
    key = await issue_into(people.store, Scope.PROFILE_READ, Scope.PROFILE_READ_PII)
    metadata = grpc_metadata(key)
    profile = await stub.GetProfile(pb.GetProfileRequest(profile_id=people.anna),
                                    metadata=metadata)
    assert ANNA_EMAIL in shown_text(profile) and ANNA_PHONE in shown_text(profile)
    # The same cached view, masked for another key right after: renderings kept apart.
    masked_key = await issue_into(people.store, Scope.PROFILE_READ)
    masked = await stub.GetProfile(pb.GetProfileRequest(profile_id=people.anna),
                                   metadata=grpc_metadata(masked_key))
    assert not leaked(shown_text(masked))
    again = await stub.GetProfile(pb.GetProfileRequest(profile_id=people.anna),
                                  metadata=metadata)
    assert again == profile
    await people.service.pii_reads.flush()
    entries = (await people.service.audit_log(AuditFilter(action=READ_PII), 10, None)).entries
    # Two reads by one key of one profile before a flush: one entry that counts them.
    (entry,) = entries
    assert entry.profile_ids == (people.anna,) and entry.actor.startswith("key:")
    assert json.loads(entry.after)["reads"] == 2
    # Custom traits holding personal data: shown clear to this key, and their reads audited.
    assert all(value in shown_text(profile) for value in ANNA_CUSTOM.values())
    fields = set(json.loads(entry.after)["fields"])
    assert {"contact", "favourite", "secret_note"} <= fields and "loyalty_tier" not in fields


async def test_explain_answers_over_a_steward_merge_link(
        people: People, stub: identity_pb2_grpc.IdentityServiceStub) -> None:
    """The merge's manual link keeps a steward's note, not a score: Explain's path over it
    answers, masked and clear."""
    steward = grpc_metadata(await issue_into(people.store, Scope.STEWARD))
    await stub.Merge(pb.MergeRequest(profile_ids=[people.anna, people.bertil], actor="sam",
                                     reason="one person", override_limits=True),
                     metadata=steward)
    await stub.Unlink(pb.UnlinkRequest(a=email(ANNA_EMAIL), b=cookie("cookie-a"), actor="sam",
                                       reason="shared"), metadata=steward)
    for scopes in ((Scope.PROFILE_READ,), (Scope.PROFILE_READ, Scope.PROFILE_READ_PII)):
        key = await issue_into(people.store, *scopes)
        found = await stub.Explain(pb.ExplainRequest(a=email(ANNA_EMAIL), b=email(BERTIL_EMAIL)),
                                   metadata=grpc_metadata(key))
        assert found.same_profile and "manual" in [step.rule for step in found.path], scopes
        assert all(not step.HasField("comparison") for step in found.path
                   if step.rule == "manual")
        if Scope.PROFILE_READ_PII not in scopes:
            assert not leaked(shown_text(found))
