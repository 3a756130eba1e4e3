"""What a caller may see of personal data: every result an entry point returns passes through
one Disclosure, made per request from the caller's Principal (docs/architecture.md, "Security
and privacy", "PII by scope").

A caller with `profile:read_pii` gets results unchanged, and each one that shows personal
data is recorded in the audit log (pii_audit.py). Any other caller gets them with emails,
phones, names, addresses, dates of birth and custom traits not known harmless masked, and the
emails and phones in a steward's free-text reason (domain/redaction.py), wherever they sit:
a profile's identifiers and golden record, a link's ends and its reason, a match score's
compared values, a version's field changes, an audit entry's identifiers, a search match.
Change events hold profile ids only, and so need nothing here.

The profile cache keeps one rendering per cached view and kind (profile_cache.py); masked
renderings are kept under a kind of their own, so a masked reader never gets a clear one,
nor the reverse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType
from typing import TypeVar

from identity.domain.access import Principal
from identity.domain.changes import ProfileChange
from identity.domain.links import Link
from identity.domain.matching.scoring import FieldScore, PairScore, encode_score
from identity.domain.redaction import (
    is_pii_field,
    is_pii_kind,
    mask_audit_json,
    mask_field,
    mask_identifier,
    mask_names,
    mask_reason,
    mask_text,
)
from identity.domain.steward import StewardNote
from identity.domain.survivorship import GoldenField
from identity.domain.types import Identifier, ProfileId
from identity.service.explain import Explanation, LinkStep, ProfileHistory, ReviewItem, ReviewPage
from identity.service.history import FieldChange, VersionPage, VersionView
from identity.service.pii_audit import PiiReadAudit
from identity.service.queries import IdentifierView, Member, ProfileView
from identity.service.resolve import Resolution
from identity.service.search import SearchHit, SearchMatch, SearchPage, SkippedBlock
from identity.service.steward import ActionResult, AuditPage, PlannedPart, SplitPreview
from identity.store.protocol import AuditEntry

T = TypeVar("T")

MASKED = "masked"  # the rendering kind of a masked view, and the suffix of masked renderings
PII_FIELDS = "pii-fields"  # the rendering kind of the personal data a view shows


class Disclosure:
    """Per request: `clear` when the caller may read personal data."""

    def __init__(self, principal: Principal, audit: PiiReadAudit,
                 rendering: Callable[[ProfileView, str, Callable[[ProfileView], object]],
                                     object]) -> None:
        self.principal = principal
        self.clear = principal.sees_pii
        self._audit = audit
        self._rendering = rendering
        self._audited: set[tuple[ProfileId, str]] = set()

    # Profiles -----------------------------------------------------------------------------

    def profile(self, view: ProfileView) -> ProfileView:
        if self.clear:
            self._shown([view.profile_id], self._profile_fields(view))
            return view
        masked = self._rendering(view, MASKED, masked_profile)
        assert isinstance(masked, ProfileView)
        return masked

    def profiles(self, views: Sequence[ProfileView | None]) -> list[ProfileView | None]:
        return [self.profile(v) if v is not None else None for v in views]

    def rendering(self, view: ProfileView, kind: str, render: Callable[[ProfileView], T]) -> T:
        """`render` of the view as this caller may see it, made once per cached view and
        kind; clear and masked renderings are kept apart."""
        if self.clear:
            self._shown([view.profile_id], self._profile_fields(view))
            found = self._rendering(view, kind, render)
        else:
            found = self._rendering(view, f"{kind}/{MASKED}",
                                    lambda v: render(self.profile(v)))
        return found  # type: ignore[return-value]  # what `render` made for this kind

    def resolution(self, found: Resolution) -> Resolution:
        """The profile as this caller may see it; `conflicting` echoes the caller's own
        identifiers, as sent (normalized)."""
        if found.profile is None:
            return found
        return replace(found, profile=self.profile(found.profile))

    # Identifiers and links ----------------------------------------------------------------

    def identifier_view(self, found: IdentifierView) -> IdentifierView:
        if self.clear:
            self._shown_links([found.profile_id], found.links, [found.node.identifier])
            return found
        return IdentifierView(_member(found.node), found.profile_id,
                              tuple(masked_link(k) for k in found.links))

    def identifier(self, identifier: Identifier) -> Identifier:
        return identifier if self.clear else mask_identifier(identifier)

    def links(self, profile_id: ProfileId | None, links: Sequence[Link]) -> list[Link]:
        if self.clear:
            self._shown_links([profile_id], links)
            return list(links)
        return [masked_link(k) for k in links]

    def steps(self, profile_ids: Iterable[ProfileId | None], steps: Sequence[LinkStep]
              ) -> list[LinkStep]:
        if self.clear:
            self._shown_steps(profile_ids, steps)
            return list(steps)
        return [masked_step(s) for s in steps]

    def explanation(self, found: Explanation) -> Explanation:
        if self.clear:
            self._shown_steps([found.profile_a, found.profile_b], found.path,
                              [found.a, found.b], found.comparison)
            return found
        return replace(found, a=mask_identifier(found.a), b=mask_identifier(found.b),
                       path=tuple(masked_step(s) for s in found.path),
                       comparison=masked_score(found.comparison))

    def profile_history(self, found: ProfileHistory) -> ProfileHistory:
        if self.clear:
            self._shown_steps([found.profile_id], (*found.steps, *found.blocked))
            return found
        return replace(found, steps=tuple(masked_step(s) for s in found.steps),
                       blocked=tuple(masked_step(s) for s in found.blocked))

    def review_page(self, page: ReviewPage) -> ReviewPage:
        if self.clear:
            for item in page.items:
                self._shown_steps([item.profile_a, item.profile_b], [item.link])
            return page
        return replace(page, items=tuple(
            ReviewItem(masked_step(i.link), i.profile_a, i.profile_b) for i in page.items))

    # Search, versions, steward results, the audit log ------------------------------------

    def search_page(self, page: SearchPage) -> SearchPage:
        if self.clear:
            for hit in page.hits:
                self._shown([hit.profile_id], [m.field for m in hit.matches
                                               if m.field == "name" or is_pii_kind(m.field)])
            return page
        return replace(page, hits=tuple(
            SearchHit(h.profile_id, h.score, tuple(_search_match(m) for m in h.matches))
            for h in page.hits), skipped=tuple(
            SkippedBlock(masked_block_key(s.key), s.size) for s in page.skipped))

    def versions(self, page: VersionPage) -> VersionPage:
        if self.clear:
            fields = {f.name for v in page.versions for f in v.fields
                      if any(is_pii_field(f.name, x) for x in (f.before, f.after)
                             if x is not None)}
            kinds = {n.kind for v in page.versions for n in (*v.row.added, *v.row.removed)
                     if is_pii_kind(n.kind)}
            self._shown([page.profile_id], fields | kinds)
            return page
        return replace(page, versions=tuple(_version(v) for v in page.versions))

    def action(self, result: ActionResult) -> ActionResult:
        """A steward action's result: its changes carry identifiers for the history (never
        shown), its split the cut links and the parts' identifiers."""
        if self.clear:
            if result.split is not None:
                self._shown_links(result.profile_ids, result.split.cut,
                                  [n for p in result.split.parts for n in p.identifiers])
            return result
        return replace(result, changes=tuple(_change(c) for c in result.changes),
                       split=self.split_preview(result.split) if result.split else None)

    def split_preview(self, preview: SplitPreview) -> SplitPreview:
        if self.clear:
            self._shown_links([preview.profile_id], preview.cut,
                              [n for p in preview.parts for n in p.identifiers])
            return preview
        return SplitPreview(preview.profile_id, tuple(masked_link(k) for k in preview.cut),
                            tuple(PlannedPart(p.profile_id, tuple(
                                mask_identifier(n) for n in p.identifiers))
                                  for p in preview.parts))

    def audit_page(self, page: AuditPage) -> AuditPage:
        """Entries name identifiers in their before/after JSON (which profile each was in,
        the links an action wrote); those are masked. A clear read of them is not itself
        audited: the entries say what stewards did, not who the people are. A reason is
        free text: the emails and phone-like runs of digits in it are masked too."""
        if self.clear:
            return page
        return replace(page, entries=tuple(_entry(e) for e in page.entries))

    # The audit of clear reads -------------------------------------------------------------

    def _profile_fields(self, view: ProfileView) -> frozenset[str]:
        """What a clear read of the view audits, worked out once per cached view."""
        fields = self._rendering(view, PII_FIELDS, _profile_fields)
        assert isinstance(fields, frozenset)
        return fields

    def _shown(self, profile_ids: Iterable[ProfileId | None], fields: Iterable[str]) -> None:
        """Records (once per request, profile and field) that personal data was shown."""
        ids = [p for p in profile_ids if p is not None]
        new = {(p, f) for p in ids for f in fields} - self._audited
        if not new:
            return
        self._audited |= new
        self._audit.record(self.principal.subject, sorted({p for p, _ in new}),
                           sorted({f for _, f in new}))

    def _shown_links(self, profile_ids: Iterable[ProfileId | None], links: Iterable[Link],
                     also: Iterable[Identifier] = ()) -> None:
        self._shown_steps(profile_ids, [LinkStep(k, None) for k in links], also)

    def _shown_steps(self, profile_ids: Iterable[ProfileId | None], steps: Iterable[LinkStep],
                     also: Iterable[Identifier] = (), comparison: PairScore | None = None
                     ) -> None:
        fields: set[str] = {i.kind for i in also if is_pii_kind(i.kind)}
        for step in steps:
            fields |= {n.kind for n in (step.link.a, step.link.b) if is_pii_kind(n.kind)}
            fields |= _score_fields(step.comparison)
        fields |= _score_fields(comparison)
        if fields:
            self._shown(profile_ids, fields)


def _profile_fields(view: ProfileView) -> frozenset[str]:
    """The personal data a profile shows: identifier kinds and golden-record fields."""
    return frozenset(
        {n.identifier.kind for n in view.identifiers if is_pii_kind(n.identifier.kind)}
        | {name for name, g in view.golden.items() if is_pii_field(name, g.value)})


def _score_fields(score: PairScore | None) -> set[str]:
    if score is None:
        return set()
    return {f.field for f in score.fields
            if any(is_pii_field(f.field, x) for x in (f.left, f.right) if x is not None)}


def masked_profile(view: ProfileView) -> ProfileView:
    golden: Mapping[str, GoldenField] = MappingProxyType({
        name: replace(g, value=mask_field(name, g.value)) if is_pii_field(name, g.value)
        else g
        for name, g in view.golden.items()})
    return replace(view, identifiers=tuple(_member(n) for n in view.identifiers),
                   golden=golden)


def _member(node: Member) -> Member:
    return replace(node, identifier=mask_identifier(node.identifier),
                   hub_reason=mask_reason(node.hub_reason))


def masked_link(link: Link) -> Link:
    """Its ends, its reason and the comparison or note its evidence keeps, masked."""
    return masked_step(LinkStep.of(link)).link


def _note(note: StewardNote | None) -> StewardNote | None:
    """Who and which action as they are (a key's name, an id); why, masked: a steward
    writes it freely, and may quote a caller's email or phone."""
    return None if note is None else replace(note, reason=mask_reason(note.reason) or "")


def masked_step(step: LinkStep) -> LinkStep:
    """The step's comparison and note (LinkStep.of read them from the link's details, by its
    rule) masked once, and the link's details written again from them: details no rule
    explains are not passed on."""
    comparison, note = masked_score(step.comparison), _note(step.note)
    link, details = step.link, step.link.evidence.details
    if details:
        details = (encode_score(comparison) if comparison is not None
                   else note.to_json() if note is not None else None)
    return LinkStep(replace(link, a=mask_identifier(link.a), b=mask_identifier(link.b),
                            inactive_reason=mask_reason(link.inactive_reason),
                            evidence=replace(link.evidence, details=details)),
                    comparison, note)


def masked_score(score: PairScore | None) -> PairScore | None:
    if score is None:
        return None
    return replace(score, fields=tuple(_field_score(f) for f in score.fields))


def _field_score(f: FieldScore) -> FieldScore:
    return replace(f, left=None if f.left is None else mask_field(f.field, f.left),
                   right=None if f.right is None else mask_field(f.field, f.right))


def _search_match(match: SearchMatch) -> SearchMatch:
    if match.field == "name":
        return replace(match, value=mask_names(match.value))
    return replace(match, value=mask_identifier(Identifier(match.field, match.value)).value)


def masked_block_key(key: str) -> str:
    """A skipped block as search shows it, `first_name + last_name: anna / baker`
    (service/search.py `_key_shown`), with each value masked by its field."""
    terms, sep, values = key.partition(": ")
    if not sep:
        return key
    fields = [t.rpartition(":")[2].strip() for t in terms.split(" + ")]
    parts = values.split(" / ")
    shown = [mask_field(fields[i] if i < len(fields) else "name", v)
             for i, v in enumerate(parts)]
    return f"{terms}: {' / '.join(shown)}"


def _version(v: VersionView) -> VersionView:
    row = replace(v.row, added=tuple(mask_identifier(n) for n in v.row.added),
                  removed=tuple(mask_identifier(n) for n in v.row.removed))
    return VersionView(row, tuple(_field_change(f) for f in v.fields))


def _field_change(f: FieldChange) -> FieldChange:
    return FieldChange(f.name, None if f.before is None else mask_field(f.name, f.before),
                       None if f.after is None else mask_field(f.name, f.after))


def _change(change: ProfileChange) -> ProfileChange:
    return replace(change, added=tuple(mask_identifier(n) for n in change.added),
                   removed=tuple(mask_identifier(n) for n in change.removed),
                   pieces=tuple(tuple(mask_identifier(n) for n in p) for p in change.pieces))


def _entry(entry: AuditEntry) -> AuditEntry:
    """Its identifiers masked, and its reason: a steward writes that freely, and may quote
    a caller's email or phone."""
    return replace(entry, reason=mask_text(entry.reason), before=mask_audit_json(entry.before),
                   after=mask_audit_json(entry.after))
