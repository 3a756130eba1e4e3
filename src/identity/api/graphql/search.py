"""GraphQL's `search` field for data stewards: its types and its resolver, one service call
(docs/architecture.md, "Search"). Profiles load through the request's dataloader, so a page
of hits reads its profiles in one batch."""

from __future__ import annotations

from typing import Annotated

import strawberry

from identity.api.graphql.context import Context
from identity.api.graphql.types import Profile
from identity.domain.consent import Purpose
from identity.service.search import SearchBy, SearchHit, SearchPage

strawberry.enum(SearchBy, name="SearchBy",
                description="What the query is: ANY tries an email, a phone, every built-in "
                "identifier kind and a name; IDENTIFIER needs `kind`.")


@strawberry.type(description="What matched a search, and why.")
class SearchMatch:
    field: str = strawberry.field(description="name, or the identifier kind that matched.")
    value: str = strawberry.field(description="The value as stored (a name as it was sent).")
    how: str = strawberry.field(description="Why it matched: exact, nickname, jaro-winkler "
                                "0.95, sounds alike, first and last name swapped, ...")


@strawberry.type(description="A profile a search found, with its score and what matched.")
class SearchResult:
    profile_id: strawberry.ID
    score: float = strawberry.field(description="0 to 1: 1 for an identifier or a name "
                                    "exactly as typed; results come best first.")
    matches: list[SearchMatch] = strawberry.field(description="Best first, at most 5.")

    @strawberry.field(description="The profile (null only if it was merged away and the "
                      "survivor cannot be read).")
    async def profile(self, info: strawberry.Info[Context, None]) -> Profile | None:
        view = await info.context.profiles.load(str(self.profile_id))
        return Profile.from_domain(view, info.context.disclosure) if view else None

    @classmethod
    def from_domain(cls, hit: SearchHit) -> SearchResult:
        return cls(profile_id=strawberry.ID(hit.profile_id), score=hit.score,
                   matches=[SearchMatch(field=m.field, value=m.value, how=m.how)
                            for m in hit.matches])


@strawberry.type(description="A block of the match index over its cap: never read, so the "
                 "records filed there (a very common name) are not among the results.")
class SkippedBlock:
    key: str
    size: int


@strawberry.type(description="One page of a search, best first (score, then profile id).")
class SearchResults:
    items: list[SearchResult]
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` (with the same query, by and kind) for the next page; "
        "null on the last page.")
    total: int = strawberry.field(description="Profiles found in all, over every page.")
    skipped_blocks: list[SkippedBlock]
    notes: list[str] = strawberry.field(description="What was not searched, and why (name "
                                        "search while matching is off, a name too long for "
                                        "every typo to be tried, ...).")

    @classmethod
    def from_domain(cls, page: SearchPage) -> SearchResults:
        return cls(items=[SearchResult.from_domain(h) for h in page.hits],
                   end_cursor=page.end_cursor, total=page.total,
                   skipped_blocks=[SkippedBlock(key=s.key, size=s.size) for s in page.skipped],
                   notes=list(page.notes))


async def resolve_search(
    info: strawberry.Info[Context, None],
    query: Annotated[str, strawberry.argument(
        description="A name, an email, a phone or an identifier value; at most 256 "
        "characters.")],
    by: Annotated[SearchBy, strawberry.argument(description="What the query is.")
                  ] = SearchBy.ANY,
    kind: Annotated[str | None, strawberry.argument(
        description="The identifier kind (email, customer_id, external:<system>, ...): "
        "searches that kind only.")] = None,
    first: Annotated[int, strawberry.argument(description="At most 100.")] = 20,
    after: Annotated[str | None, strawberry.argument(
        description="The endCursor of the page before.")] = None,
    purpose: Annotated[Purpose | None, strawberry.argument(
        description="Only profiles consented for this purpose; a page may then hold fewer "
        "than `first` (total still counts every profile found).")] = None,
) -> SearchResults:
    """Profiles by name (fuzzy: a typo, a nickname, the name's order), email, phone or
    identifier, best first; at most 100 a page."""
    page = await info.context.service.search(query, by, kind=kind, first=first, after=after,
                                             purpose=purpose)
    return SearchResults.from_domain(info.context.disclosure.search_page(page))
