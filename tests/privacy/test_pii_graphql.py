"""Through every GraphQL query, mutation and the subscription, a caller without
`profile:read_pii` is given no personal data, on both stores; a caller with it sees the data,
and its reads land in the audit log (docs/architecture.md, "Security and privacy")."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from typing import Any

from strawberry.types import ExecutionResult

from identity.api.graphql.context import Context
from identity.api.graphql.schema import schema
from identity.api.graphql.subscriptions import WatchContext
from identity.api.watch_slots import WatchSlots
from identity.domain.access import DEVELOPMENT, Principal
from identity.domain.redaction import HIDDEN
from identity.service.pii_audit import READ_PII
from identity.store.protocol import AuditFilter
from tests.privacy.conftest import (
    ANNA_CUSTOM,
    ANNA_EMAIL,
    ANNA_PHONE,
    ANNA_WORK,
    BERTIL_EMAIL,
    CLEAR,
    MASKED,
    People,
    leaked,
)

LINK = """fragment L on Link { a { kind value } b { kind value } rule isActive inactiveReason
  score sources eventIds eventCount comparison { fields { field left right level weight
  bucket } weight probability decision vetoedBy } }"""
PROFILE = """fragment P on Profile { id requestedId mergedIds version golden { name value
  source eventId support } identifiers { kind identifiers { kind value hubReason profileId
  links { ...L } } } }"""

QUERIES: dict[str, str] = {
    "profile": "query($id: ID!) { profile(id: $id) { ...P } }",
    "profile asOf": """query($id: ID!) { profile(id: $id, asOf: "2030-01-01T00:00:00Z") {
        ...P } }""",
    "profileByIdentifier": """query { profileByIdentifier(kind: "customer_id",
        value: "cust-a1") { ...P } }""",
    "identifier": f"""query {{ identifier(kind: "email", value: "{ANNA_EMAIL}") {{ kind value
        hubReason profileId links {{ ...L }} profile {{ golden {{ name value }} }} }} }}""",
    "explain joined": f"""query {{ explain(a: {{kind: "email", value: "{ANNA_EMAIL}"}},
        b: {{kind: "email", value: "{ANNA_WORK}"}}) {{ a {{ value }} b {{ value }}
        path {{ ...L }} comparison {{ fields {{ field left right }} }} }} }}""",
    "explain apart": f"""query {{ explain(a: {{kind: "email", value: "{ANNA_EMAIL}"}},
        b: {{kind: "email", value: "{BERTIL_EMAIL}"}}) {{ a {{ value }} b {{ value }}
        path {{ ...L }} comparison {{ fields {{ field left right }} }} }} }}""",
    "explainProfile": "query($id: ID!) { explainProfile(id: $id) { steps { ...L } "
                      "blocked { ...L } } }",
    "search by name": """query { search(query: "Bertil Okonkwo-Vance") { items { profileId
        matches { field value how } profile { golden { name value } } } skippedBlocks { key }
        notes } }""",
    "search by email": f"""query {{ search(query: "{BERTIL_EMAIL}", by: EMAIL) {{ items {{
        matches {{ field value how }} }} notes }} }}""",
    "search by phone": f"""query {{ search(query: "{ANNA_PHONE}", by: PHONE) {{ items {{
        matches {{ field value how }} }} }} }}""",
    "reviewQueue": "query { reviewQueue { items { link { ...L } profileA profileB } } }",
    "profileHistory": """query($id: ID!) { profileHistory(id: $id) { versions { kind cause
        added { kind value } removed { kind value } fieldChanges { name before after } } } }""",
    "splitPreview": f"""query($id: ID!) {{ splitPreview(profileId: $id, sides: [
        [{{kind: "email", value: "{ANNA_EMAIL}"}}], [{{kind: "email", value: "{ANNA_WORK}"}}]])
        {{ cut {{ ...L }} parts {{ identifiers {{ kind value }} }} }} }}""",
}
ACTION = """{ actionId profileIds changes { kind profileId absorbedIds splitIds }
    profiles { id golden { name value } identifiers { identifiers { kind value } } } }"""
MUTATIONS: dict[str, str] = {
    "merge": f"""mutation($a: ID!, $b: ID!) {{ merge(profileIds: [$a, $b], actor: "sam",
        reason: "one person", overrideLimits: true) {ACTION} }}""",
    "split": f"""mutation($a: ID!) {{ split(profileId: $a, sides: [
        [{{kind: "email", value: "{ANNA_EMAIL}"}}], [{{kind: "email", value: "{BERTIL_EMAIL}"}}]],
        actor: "sam", reason: "two people") {ACTION} }}""",
    "unlink": f"""mutation {{ unlink(a: {{kind: "email", value: "{ANNA_EMAIL}"}},
        b: {{kind: "anonymous_id", value: "cookie-a"}}, actor: "sam",
        reason: "a shared cookie") {ACTION} }}""",
    "decideReview": """mutation { decideReview(a: {kind: "anonymous_id", value: "rv-1"},
        b: {kind: "anonymous_id", value: "rv-2"}, accept: true, actor: "sam",
        reason: "same name") """ + ACTION + " }",
    "auditLog": """query { auditLog(first: 100) { entries { action actor reason profileIds
        before after } } }""",
}


async def run(people: People, principal: Principal, query: str, **variables: Any
              ) -> dict[str, Any]:
    fragments = [text for text, used in ((PROFILE, "...P" in query),
                                         (LINK, "...L" in query or "...P" in query)) if used]
    document = "\n".join([query, *fragments])
    result = await schema.execute(document, variable_values=variables,
                                  context_value=Context(people.service, principal))
    assert isinstance(result, ExecutionResult)
    assert result.errors is None, (query, result.errors)
    assert result.data is not None
    return result.data


def dumped(data: object) -> str:
    return json.dumps(data, ensure_ascii=False)


async def test_no_query_gives_personal_data_to_a_caller_without_read_pii(
        people: People) -> None:
    shown: dict[str, str] = {}
    for name, query in QUERIES.items():
        variables = {"id": people.anna} if "$id" in query else {}
        shown[name] = dumped(await run(people, MASKED, query, **variables))
    leaks = {name: leaked(text) for name, text in shown.items() if leaked(text)}
    assert leaks == {}, {name: shown[name][:600] for name in leaks}
    # Masked, not emptied: the shapes are there.
    assert "a•••@n•••.org" in shown["profile"] and "+•• ••• •••• •56" in shown["profile"]
    assert '"A•••"' in shown["profile"] and '"••••-••-••"' in shown["profile"]
    assert '"gold"' in shown["profile"] and '"GB"' in shown["profile"]  # not personal data
    # Custom traits: masked by what they hold, whatever their name; harmless ones shown.
    golden = {g["name"]: g["value"] for g in json.loads(shown["profile"])["profile"]["golden"]}
    assert (golden["contact"], golden["favourite"], golden["secret_note"],
            golden["loyalty_tier"]) == ("a•••@g•••.com", "a•••@n•••.org", HIDDEN, "platinum")
    assert "cust-a1" in shown["profile"]  # ids stay: they name a person only elsewhere
    assert '"probabilistic"' in shown["explainProfile"] and "Q•••" in shown["explainProfile"]
    assert '"left": "B•••"' in shown["reviewQueue"]
    assert "B••• O•••" in shown["search by name"]
    assert HIDDEN in shown["profileHistory"]
    # Nothing of this was a read of personal data in the clear: nothing to audit.
    assert people.service.pii_reads.waiting == 0


async def test_no_steward_action_nor_the_audit_log_gives_personal_data(people: People) -> None:
    shown: dict[str, str] = {}
    merged = await run(people, MASKED, MUTATIONS["merge"], a=people.anna, b=people.bertil)
    shown["merge"] = dumped(merged)
    shown["split"] = dumped(await run(people, MASKED, MUTATIONS["split"], a=people.anna))
    shown["unlink"] = dumped(await run(people, MASKED, MUTATIONS["unlink"]))
    shown["decideReview"] = dumped(await run(people, MASKED, MUTATIONS["decideReview"]))
    shown["auditLog"] = dumped(await run(people, MASKED, MUTATIONS["auditLog"]))
    leaks = {name: leaked(text) for name, text in shown.items() if leaked(text)}
    assert leaks == {}, {name: shown[name][:600] for name in leaks}
    assert "email|b•••@f•••.com" in shown["auditLog"]  # the identifiers are there, masked
    assert people.service.pii_reads.waiting == 0


async def test_a_caller_with_read_pii_sees_it_and_its_reads_are_audited(
        people: People) -> None:
    shown = {name: dumped(await run(people, CLEAR, query,
                                    **({"id": people.anna} if "$id" in query else {})))
             for name, query in QUERIES.items()}
    for name in ("profile", "profile asOf", "profileByIdentifier", "identifier",
                 "explain joined", "explainProfile", "reviewQueue", "search by name",
                 "profileHistory", "splitPreview"):
        assert leaked(shown[name]), name
    assert ANNA_EMAIL in shown["profile"] and "Annelise" in shown["profile"]
    assert all(value in shown["profile"] for value in ANNA_CUSTOM.values())
    assert people.service.pii_reads.waiting > 0
    await people.service.pii_reads.flush()
    audit = await people.service.audit_log(AuditFilter(action=READ_PII), 100, None)
    assert {e.actor for e in audit.entries} == {CLEAR.subject}
    reads = [json.loads(e.after)["fields"] for e in audit.entries
             if e.profile_ids == (people.anna,)]
    assert ["address_line1", "city", "contact", "date_of_birth", "email", "favourite",
            "first_name", "last_name", "mobile_phone", "phone", "postcode", "region",
            "secret_note"] in reads
    # One entry per profile and field per request: the profile read once, once recorded.
    assert sum(1 for e in audit.entries if e.profile_ids == (people.bertil,)) >= 1
    # Stewards read them where they read their actions: the auditLog query, by action.
    listed = await run(people, CLEAR, """query { auditLog(filter: {action: "read_pii"},
        first: 100) { entries { action actor profileIds after } } }""")
    entries = listed["auditLog"]["entries"]
    assert len(entries) == len(audit.entries)
    assert all(e["action"] == READ_PII and e["actor"] == CLEAR.subject for e in entries)
    assert not leaked(dumped(entries))  # the entries name fields, never values


async def test_development_mode_reads_are_audited_as_development(people: People) -> None:
    await run(people, DEVELOPMENT, QUERIES["profile"], id=people.anna)
    assert await people.service.pii_reads.flush() == 1
    (entry,) = (await people.service.audit_log(AuditFilter(action=READ_PII), 10, None)).entries
    assert (entry.actor, entry.profile_ids) == ("development", (people.anna,))


async def _changes(people: People, principal: Principal, last: str) -> list[dict[str, Any]]:
    """The feed from its start up to the change `last` absorbed."""
    context = WatchContext(people.service, principal, watches=WatchSlots(4))
    stream = await schema.subscribe(
        "subscription { profileChanges { position changeId kind profileId absorbedIds "
        "splitIds causeEventId at } }", context_value=context)
    assert isinstance(stream, AsyncGenerator)
    received: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(10):
            async for item in stream:
                assert item.errors is None and item.data is not None, item.errors
                received.append(item.data["profileChanges"])
                if received[-1]["absorbedIds"] == [last]:
                    break
    finally:
        await stream.aclose()
    return received


async def test_the_change_feed_holds_profile_ids_only(people: People) -> None:
    merged = await run(people, CLEAR, MUTATIONS["merge"], a=people.anna, b=people.bertil)
    assert merged["merge"]["profileIds"] == [people.anna]
    changes = await _changes(people, MASKED, people.bertil)
    assert changes[-1]["kind"] == "MERGED" and changes[-1]["profileId"] == people.anna
    assert len(changes) > 5
    assert {key for change in changes for key in change} == {
        "position", "changeId", "kind", "profileId", "absorbedIds", "splitIds",
        "causeEventId", "at"}
    assert not leaked(dumped(changes))
    assert people.service.pii_reads.waiting == 1  # the merge's profiles: CLEAR's, once


async def test_links_and_histories_answer_after_a_steward_merge_and_unlink(
        people: People) -> None:
    """A steward's link keeps a note (who, why, which action) where a scored link keeps its
    comparison: every read of links shows it without taking the note for a score."""
    await run(people, CLEAR, MUTATIONS["merge"], a=people.anna, b=people.bertil)
    await run(people, CLEAR, MUTATIONS["unlink"])
    joined = f"""query {{ explain(a: {{kind: "email", value: "{ANNA_EMAIL}"}},
        b: {{kind: "email", value: "{BERTIL_EMAIL}"}}) {{ sameProfile path {{ ...L }} }} }}"""
    for principal in (MASKED, CLEAR):
        shown = {name: dumped(await run(people, principal, query, id=people.anna))
                 for name, query in (("profile", QUERIES["profile"]),
                                     ("identifier", QUERIES["identifier"]),
                                     ("explainProfile", QUERIES["explainProfile"]))}
        shown["explain"] = dumped(await run(people, principal, joined))
        assert '"rule": "manual"' in shown["explainProfile"], principal.subject
        assert '"rule": "manual"' in shown["explain"], principal.subject
        assert '"sameProfile": true' in shown["explain"]
        for name in ("profile", "identifier", "explainProfile"):
            assert '"rule": "unlinked"' in shown[name], (principal.subject, name)
        if principal is MASKED:
            leaks = {name: leaked(text) for name, text in shown.items() if leaked(text)}
            assert leaks == {}, leaks


async def test_a_stewards_reason_is_masked_in_the_audit_log_and_the_link_it_holds(
        people: People) -> None:
    """A reason is free text: the emails and phone-like runs of digits a steward writes in it
    are masked for a caller without profile:read_pii, in the audit log and in the reason of
    the unlinked link it explains."""
    reason = "caller anna.private@gmail.com +1 415 555 0100 said cookie-a is her brother's"
    await run(people, CLEAR, f"""mutation {{ unlink(a: {{kind: "email", value: "{ANNA_EMAIL}"}},
        b: {{kind: "anonymous_id", value: "cookie-a"}}, actor: "sam", reason: "{reason}")
        {{ actionId }} }}""")
    read = """query { auditLog(first: 1) { entries { action reason } }
        identifier(kind: "anonymous_id", value: "cookie-a") { links { rule inactiveReason
        } } }"""
    masked = dumped(await run(people, MASKED, read))
    clear = dumped(await run(people, CLEAR, read))
    shown = "caller a•••@g•••.com +•• ••• •••• •00 said cookie-a is her brother's"
    # The entry's reason, and the link's (the unlinked link, and the link it holds apart).
    assert masked.count(shown) >= 2 and masked.count(shown) == clear.count(reason)
    assert not leaked(masked) and "555 0100" not in masked
