"""Incremental connected components: what one event does to the profiles it touches.

Pure: no I/O. Union by size (DESIGN §2): the members of the smaller groups move into the
largest, so total relabelling stays O(n log n); the public id that survives is the oldest,
whichever group held it, so ids already handed out keep resolving (DESIGN §2.2).
"""

from __future__ import annotations

from dataclasses import dataclass

from identity.domain.types import ProfileId


@dataclass(frozen=True, slots=True)
class GroupState:
    group_id: int
    profile_id: ProfileId
    profile_seq: int  # creation order of the public id: lower is older
    size: int


@dataclass(frozen=True, slots=True)
class MergePlan:
    container: int
    absorbed_groups: tuple[int, ...]
    survivor: ProfileId
    absorbed_profiles: tuple[ProfileId, ...]


def plan_merge(groups: list[GroupState]) -> MergePlan:
    if not groups:
        raise ValueError("a merge needs at least one group")
    container = max(groups, key=lambda g: (g.size, -g.profile_seq))
    oldest = min(groups, key=lambda g: g.profile_seq)
    return MergePlan(
        container=container.group_id,
        absorbed_groups=tuple(sorted(g.group_id for g in groups if g is not container)),
        survivor=oldest.profile_id,
        absorbed_profiles=tuple(
            sorted(g.profile_id for g in groups if g.profile_id != oldest.profile_id)
        ),
    )
