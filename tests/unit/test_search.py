"""Steward search (service/search.py): name readings, typo keys, ranking, grouping, cursors and
pages, and the refusals, pinned with their exact outcome; then the service on SQLite with and
without a match model."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from identity.domain.errors import ValidationError
from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.domain.matching.records import MatchRecord
from identity.domain.types import EventId, Identifier, ProfileId
from identity.service import IdentityService
from identity.service.matching import Matcher
from identity.service.search import (
    MAX_KEYS,
    MIN_NAME_SCORE,
    Reading,
    SearchBy,
    SearchHit,
    SearchMatch,
    checked_query,
    decode_cursor,
    encode_cursor,
    fingerprint,
    group_hits,
    name_keys,
    name_score,
    name_words,
    nicknames,
    page_of,
    part_similarity,
    rank_records,
    readings,
    typos,
)
from identity.store.sqlite import SqliteGraphStore
from tests.builders import event, ident

RULES = DEFAULT_MODEL.blocking
KEY = "0:{}\x1f{}"  # the default model's first rule: first_name + last_name


def record(record_id: str, first: str | None, last: str | None) -> MatchRecord:
    """Ids name the values: a record's folded values are cached by its id (records.py)."""
    record_id = f"{record_id}-{first}-{last}"
    fields = tuple(sorted((k, v) for k, v in (("first_name", first), ("last_name", last)) if v))
    return MatchRecord(record_id, Identifier("email", f"{record_id}@mail.org"), fields, (),
                       EventId(f"e-{record_id}"), "web", datetime(2024, 5, 1, tzinfo=UTC))


def hit(profile: str, score: float) -> SearchHit:
    return SearchHit(ProfileId(profile), score, (SearchMatch("name", profile, "exact"),))


def reason(excinfo: pytest.ExceptionInfo[ValidationError]) -> tuple[str, str]:
    (error,) = excinfo.value.errors
    return error.field, error.reason


# --- what a caller may send ---------------------------------------------------------------

@pytest.mark.parametrize(("query", "expected"), [
    ("x" * 257, ("query", "at most 256 characters, got 257")),
    ("x" * 1_000_000, ("query", "at most 256 characters, got 1000000")),
    ("Anna\x00Baker", ("query", "contains control characters")),
    ("Anna\nBaker", ("query", "contains control characters")),
    ("Anna\ud800", ("query", "contains a lone UTF-16 surrogate, which is not text")),
    ("Anna\u202eBaker", ("query", "contains invisible formatting characters (bidi controls, "
                                  "zero-width space, BOM)")),
    ("   ", ("query", "must not be empty")),
])
def test_a_query_that_cannot_be_searched_is_refused_with_its_reason(
        query: str, expected: tuple[str, str]) -> None:
    with pytest.raises(ValidationError) as refused:
        checked_query(query)
    assert reason(refused) == expected


def test_a_query_is_trimmed_and_kept_as_typed() -> None:
    assert checked_query("  Anna Baker  ") == "Anna Baker"
    assert checked_query("x" * 256) == "x" * 256


def test_name_words_fold_and_bound() -> None:
    assert name_words("  BAKER,  Anna ") == ["baker", "anna"]
    with pytest.raises(ValidationError) as refused:
        name_words("a b c d e f g")
    assert reason(refused) == ("query", "a name of at most 6 words, got 7")
    with pytest.raises(ValidationError) as refused:
        name_words("12 34")
    assert reason(refused) == ("query", "a name needs at least one letter")


# --- candidates: readings, nicknames, typos, keys ----------------------------------------

def test_readings_split_the_words_both_ways_written_order_first() -> None:
    assert readings(["anna", "baker"]) == [Reading("anna", "baker"),
                                           Reading("baker", "anna", swapped=True)]
    assert readings(["mary", "ann", "lee"]) == [
        Reading("mary", "ann lee"), Reading("mary ann", "lee"),
        Reading("ann lee", "mary", swapped=True), Reading("lee", "mary ann", swapped=True)]
    assert readings(["anna"]) == [Reading("anna", None), Reading(None, "anna", swapped=True)]


def test_nicknames_give_the_whole_group() -> None:
    assert nicknames("bob") == ("robert", "bob", "rob", "bobby", "robbie", "bert")
    assert nicknames("zebulon") == ("zebulon",)


def test_typos_are_every_spelling_one_edit_away() -> None:
    found = set(typos("bakr", "ae"))
    assert {"akr", "bkr", "bar", "bak"} <= found  # a letter dropped
    assert {"abkr", "bkar", "bark"} <= found  # two neighbours swapped
    assert {"bakr", "eakr", "bekr"} <= found  # a letter replaced (itself too)
    assert {"baker", "bakre", "abakr"} <= found  # a letter added
    assert "bahr" not in found  # h is not in the alphabet given
    # n deletions, n-1 swaps, n*a replacements, (n+1)*a insertions
    assert len(list(typos("bakr", "ae"))) == 4 + 3 + 4 * 2 + 5 * 2


def test_name_keys_cover_the_name_swapped_nicknamed_and_one_typo_away() -> None:
    keys, cut = name_keys(RULES, readings(["bob", "bakr"]))
    assert not cut
    assert keys[:2] == [KEY.format("bob", "bakr"), KEY.format("bakr", "bob")]  # as typed first
    assert KEY.format("robert", "bakr") in keys  # a nickname
    assert KEY.format("bob", "baker") in keys  # a typo in the last name
    assert KEY.format("bob", "bahr") in keys
    assert KEY.format("bobb", "bakr") in keys  # a typo in the first name
    assert KEY.format("robert", "baker") not in keys  # two changes at once: not tried
    assert all(key.startswith("0:") for key in keys)  # only the rule on names alone


def test_name_keys_stop_at_their_budget_and_say_so() -> None:
    keys, cut = name_keys(RULES, readings(["anna", "baker"]), budget=50)
    assert cut and len(keys) == 50
    assert keys[:2] == [KEY.format("anna", "baker"), KEY.format("baker", "anna")]
    long_name = readings(name_words("Maximiliana Wolfeschlegelsteinhausen Bergerdorff"))
    keys, cut = name_keys(RULES, long_name)
    assert cut and len(keys) == MAX_KEYS


def test_a_name_alone_makes_no_key_under_a_rule_that_needs_more() -> None:
    assert name_keys(RULES, readings(["anna"])) == ([], False)


# --- ranking --------------------------------------------------------------------------------

def test_part_similarity_ranks_exact_then_nickname_then_close_spellings() -> None:
    assert part_similarity("baker", "baker") == (1.0, "exact")
    assert part_similarity("bob", "robert") == (0.95, "nickname")
    baker, how_baker = part_similarity("bakr", "baker")
    bahr, how_bahr = part_similarity("bakr", "bahr")
    assert (round(baker, 4), how_baker) == (0.908, "jaro-winkler 0.95, sounds alike")
    assert (round(bahr, 4), how_bahr) == (0.78, "jaro-winkler 0.87")


def test_a_misspelled_name_ranks_the_person_over_a_namesake_with_another_surname() -> None:
    found = rank_records(readings(["anna", "bakr"]), [
        record("r", "Anna", "Bahr"), record("r", "Anna", "Baker"),
        record("r", "Anna", "Zuckerman")])
    assert [(score, r.record_id, how) for score, r, how in found] == [
        (0.954, "r-Anna-Baker", "first name exact; last name jaro-winkler 0.95, sounds alike"),
        (0.89, "r-Anna-Bahr", "first name exact; last name jaro-winkler 0.87"),
    ]  # Zuckerman is below MIN_NAME_SCORE
    assert MIN_NAME_SCORE == 0.8


def test_the_name_read_swapped_finds_the_person_just_below_the_written_order() -> None:
    (swapped,) = rank_records(readings(["baker", "anna"]), [record("r", "Anna", "Baker")])
    (written,) = rank_records(readings(["anna", "baker"]), [record("r", "Anna", "Baker")])
    assert (swapped[0], swapped[2]) == (0.98, "first name exact; last name exact; first and "
                                              "last name swapped")
    assert (written[0], written[2]) == (1.0, "first name exact; last name exact")


def test_a_record_without_one_part_counts_it_as_nothing() -> None:
    assert name_score(Reading("anna", "baker"), record("r", None, "Baker")) == (
        0.5, "first name missing; last name exact")
    assert rank_records(readings(["anna", "baker"]), [record("r", None, "Baker")]) == []


def test_equal_scores_keep_the_record_id_order() -> None:
    found = rank_records(readings(["anna", "baker"]), [record("r2", "Anna", "Baker"),
                                                       record("r1", "Anna", "Baker")])
    assert [r.record_id for _, r, _ in found] == ["r1-Anna-Baker", "r2-Anna-Baker"]


def test_hits_are_grouped_by_profile_best_match_first_then_by_profile_id() -> None:
    name = SearchMatch("name", "Anna Baker", "first name exact; last name exact")
    typo = SearchMatch("name", "Ana Baker", "first name jaro-winkler 0.93; last name exact")
    email = SearchMatch("email", "anna@mail.org", "exact")
    hits = group_hits([(0.92, ProfileId("prf_b"), typo), (1.0, ProfileId("prf_b"), email),
                       (1.0, ProfileId("prf_b"), name), (1.0, ProfileId("prf_a"), name),
                       (0.95, ProfileId("prf_c"), name), (0.92, ProfileId("prf_b"), typo)])
    assert hits == [SearchHit(ProfileId("prf_a"), 1.0, (name,)),
                    SearchHit(ProfileId("prf_b"), 1.0, (email, name, typo)),
                    SearchHit(ProfileId("prf_c"), 0.95, (name,))]


# --- cursors and pages ----------------------------------------------------------------------

def test_a_cursor_round_trips_and_belongs_to_its_search() -> None:
    mine = fingerprint("anna baker", SearchBy.NAME, None)
    cursor = encode_cursor(mine, hit("prf_1", 0.954))
    assert decode_cursor(cursor, mine) == (0.954, "prf_1")
    assert "prf_1" not in cursor and "anna" not in base64.urlsafe_b64decode(cursor).decode()
    with pytest.raises(ValidationError) as refused:
        decode_cursor(cursor, fingerprint("anna baker", SearchBy.ANY, None))
    assert reason(refused) == ("after", "a cursor of another search: pass the same query, by "
                               "and kind as the search that returned it")


@pytest.mark.parametrize("cursor", [
    "???", "", "x" * 201, "Zm9v",  # not base64, empty, too long, one line
    base64.urlsafe_b64encode(b"s1\nfp\nnan\nprf_1").decode(),
    base64.urlsafe_b64encode(b"s1\nfp\n2.5\nprf_1").decode(),
    base64.urlsafe_b64encode(b"s0\nfp\n0.5\nprf_1").decode(),
    "\ud800abc",
])
def test_a_cursor_this_api_did_not_return_is_refused(cursor: str) -> None:
    with pytest.raises(ValidationError) as refused:
        decode_cursor(cursor, "fp")
    field, why = reason(refused)
    assert field == "after" and why.endswith("is not a cursor this API returned")
    assert "\ud800" not in why


def test_pages_return_every_hit_once_in_order_ties_included() -> None:
    hits = sorted([hit("prf_c", 0.9), hit("prf_a", 0.9), hit("prf_b", 1.0), hit("prf_d", 0.8),
                   hit("prf_e", 0.9)], key=lambda h: (-h.score, h.profile_id))
    seen: list[str] = []
    position = None
    for _ in range(10):
        shown, cursor = page_of(hits, 2, position, "fp")
        seen += [h.profile_id for h in shown]
        if cursor is None:
            break
        position = decode_cursor(cursor, "fp")
    assert seen == ["prf_b", "prf_a", "prf_c", "prf_e", "prf_d"]
    assert page_of(hits, 5, None, "fp")[1] is None  # exactly one page: no cursor
    assert page_of([], 5, None, "fp") == ((), None)


# --- the service on SQLite ------------------------------------------------------------------

def person(email: str, first: str, last: str, **more: Any) -> dict[str, Any]:
    return event(ident("email", email), traits={"first_name": first, "last_name": last},
                 **more)


@pytest.fixture
async def matching() -> AsyncIterator[IdentityService]:
    store = SqliteGraphStore(":memory:")
    yield IdentityService(store, matcher=Matcher(DEFAULT_MODEL, max_block=2))
    await store.close()


async def test_the_service_finds_by_name_email_and_phone(matching: IdentityService) -> None:
    (baker, bahr) = await matching.ingest([
        person("Anna.Baker@Mail.org", "Anna", "Baker",
               identifiers=[ident("email", "Anna.Baker@Mail.org"),
                            ident("phone", "+1 415 555 0100")]),
        person("anna.bahr@mail.org", "Anna", "Bahr")])
    found = await matching.search("Anna Bakr", SearchBy.NAME)
    assert [h.profile_id for h in found.hits] == [baker.profile_id, bahr.profile_id]
    assert (found.total, found.end_cursor, found.skipped, found.notes) == (2, None, (), ())

    (by_email,) = (await matching.search(" ANNA.BAKER@mail.ORG ")).hits
    assert (by_email.profile_id, by_email.score, by_email.matches) == (
        baker.profile_id, 1.0,
        (SearchMatch("email", "anna.baker@mail.org", "the query read as email"),))
    (by_phone,) = (await matching.search("415.555.0100", SearchBy.PHONE)).hits
    assert by_phone.matches == (SearchMatch("phone", "+14155550100",
                                            "exact, normalized as ingest normalizes it"),)
    assert by_phone.profile_id == baker.profile_id


async def test_a_block_over_the_cap_is_reported_never_read(matching: IdentityService) -> None:
    await matching.ingest([person(f"ann{i}@mail.org", "Ann", "Lee") for i in range(3)])
    found = await matching.search("Ann Lee", SearchBy.NAME)
    assert found.hits == ()
    assert [(s.key, s.size) for s in found.skipped] == [("first_name + last_name: ann / lee", 3)]


@pytest.mark.parametrize(("by", "kind", "first", "expected"), [
    (SearchBy.IDENTIFIER, None, 20, ("kind", "required with by IDENTIFIER: email, phone, "
                                             "customer_id, ... or external:<system>")),
    (SearchBy.NAME, "email", 20, ("kind", "only with by IDENTIFIER, not NAME")),
    (SearchBy.IDENTIFIER, "fax", 20, ("kind", "unknown identifier kind 'fax'; expected one of "
                                             "customer_id, email, phone, anonymous_id, "
                                             "device_id, session_id, order_id or "
                                             "external:<system>")),
    (SearchBy.EMAIL, None, 20, ("query", "cannot be read as email: not a valid email address: "
                                         "An email address must have an @-sign.")),
    (SearchBy.ANY, None, 0, ("first", "must be between 1 and 100, got 0")),
    (SearchBy.ANY, None, 101, ("first", "must be between 1 and 100, got 101")),
])
async def test_the_service_refuses_a_search_it_cannot_make(
        matching: IdentityService, by: SearchBy, kind: str | None, first: int,
        expected: tuple[str, str]) -> None:
    with pytest.raises(ValidationError) as refused:
        await matching.search("Anna Baker", by, kind=kind, first=first)
    assert reason(refused) == expected


async def test_without_a_match_model_a_name_search_says_it_needs_the_match_index() -> None:
    store = SqliteGraphStore(":memory:")
    try:
        service = IdentityService(store)  # matching off
        (ann,) = await service.ingest([person("ann@mail.org", "Ann", "Lee")])
        with pytest.raises(ValidationError) as refused:
            await service.search("Ann Lee", SearchBy.NAME)
        assert reason(refused) == (
            "by", "name search needs the match index, which is filed only while matching is on "
            "(IDENTITY_MATCHING); search by email, phone or identifier instead")
        found = await service.search("Ann Lee")  # ANY: searched as identifiers, and says why
        assert (found.hits, found.notes) == ((), (
            "not searched as a name: name search needs the match index, which is filed only "
            "while matching is on (IDENTITY_MATCHING); search by email, phone or identifier "
            "instead",))
        (by_email,) = (await service.search("ANN@mail.org")).hits
        assert by_email.profile_id == ann.profile_id
    finally:
        await store.close()
