"""Re-filing every match record under the blocking keys of the model in force
(docs/architecture.md, Matching: "Re-indexing").

A record is filed under the keys the model of its day gave it; a model with other blocking
rules looks under other keys and never finds it. `reindex` pages through the records in id
order, computes each one's keys as ingest does (`blocking_keys` over the record's values, the
call `record_of` makes), and re-files a page per write transaction. After each committed page
the last id done is saved in a checkpoint file, so an interrupted run goes on where it
stopped; a page redone after a crash between its commit and its checkpoint changes nothing
(re-filing is idempotent).

A checkpoint names the blocking rules it was made for (a digest: keys depend on nothing else,
so a model refit with the same rules resumes) and the store. One made for other rules or
another store is refused (`CheckpointError`), never silently reused: the records before it
were filed under other keys, or are not this store's. `restart` ignores it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from functools import partial
from pathlib import Path

from identity.domain.json_text import read_json
from identity.domain.matching.blocking import blocking_keys
from identity.domain.matching.model import MatchModel
from identity.domain.matching.records import MatchRecord
from identity.service.retry import retry_on_conflict
from identity.store.protocol import GraphStore

__all__ = ["PAGE_SIZE", "Checkpoint", "CheckpointError", "Progress", "ReindexReport",
           "blocking_digest", "read_checkpoint", "reindex", "write_checkpoint"]

PAGE_SIZE = 1_000
CHECKPOINT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be used for this run; says which file and why."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """How far a run got: every record with an id up to `after` is filed under the keys of
    the blocking rules `blocking` names, in the store `store` names."""

    blocking: str  # blocking_digest of the model the run filed under
    store: str  # which store (kind and where), as the caller names it
    after: str  # the last record id done
    scanned: int  # records read so far, the interrupted runs' included
    refiled: int  # of which re-filed (their keys changed)
    pages: int


@dataclass(frozen=True, slots=True)
class Progress:
    scanned: int  # records read so far, the interrupted runs' included
    refiled: int
    pages: int
    total: int  # records in the store when this run started


@dataclass(frozen=True, slots=True)
class ReindexReport:
    """What this run did (a resumed run counts only its own pages)."""

    scanned: int
    refiled: int
    pages: int
    resumed_after: str | None  # the checkpoint's last id done, when the run resumed


def blocking_digest(model: MatchModel) -> str:
    """Names a model by its blocking rules, the only part of it a record's keys depend on."""
    rules = json.dumps([list(rule) for rule in model.blocking])
    return hashlib.sha256(rules.encode()).hexdigest()[:16]


def read_checkpoint(path: Path) -> Checkpoint | None:
    """The checkpoint saved at `path`, None when there is none. Raises CheckpointError when
    the file is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: cannot read the checkpoint: {exc}") from None
    try:
        raw = read_json(text)
        if not isinstance(raw, dict) or raw.get("version") != CHECKPOINT_VERSION:
            raise ValueError(f"not a version {CHECKPOINT_VERSION} checkpoint")
        found = Checkpoint(**{f.name: raw[f.name] for f in fields(Checkpoint)})
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: not a reindex checkpoint ({exc}); remove it or run "
                              "with --restart") from None
    counts = (found.scanned, found.refiled, found.pages)
    texts = (found.blocking, found.store, found.after)
    if not all(isinstance(t, str) for t in texts) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts):
        raise CheckpointError(f"{path}: not a reindex checkpoint (a field of the wrong type); "
                              "remove it or run with --restart")
    return found


def write_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    """Written whole then renamed over the old one: an interruption mid-write leaves the
    previous checkpoint, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps({"version": CHECKPOINT_VERSION, **asdict(checkpoint)}) + "\n",
                       encoding="utf-8")
    os.replace(partial, path)


def _resumed(path: Path, blocking: str, store: str, restart: bool) -> Checkpoint | None:
    if restart:
        return None
    found = read_checkpoint(path)
    if found is None:
        return None
    if found.blocking != blocking:
        raise CheckpointError(
            f"{path} was made for a model with other blocking rules than the model in force "
            f"(digest {found.blocking}, in force {blocking}): the records before it were "
            "filed under that model's keys. Run with --restart to re-file every record "
            "under the model in force")
    if found.store != store:
        raise CheckpointError(f"{path} was made for another store ({found.store}, not "
                              f"{store}). Run with --restart, or give this store its own "
                              "--checkpoint")
    return found


def _under(model: MatchModel, record: MatchRecord) -> MatchRecord:
    """The record with the keys ingest would give its values under `model`."""
    return replace(record, keys=tuple(blocking_keys(model.blocking, record.values)))


async def reindex(store: GraphStore, model: MatchModel, *, max_block: int, checkpoint: Path,
                  store_name: str, restart: bool = False, page_size: int = PAGE_SIZE,
                  progress: Callable[[Progress], object] = lambda _: None) -> ReindexReport:
    """Re-files every record under `model`'s blocking keys, `page_size` records per write
    transaction, from the checkpoint on (unless `restart`). `progress` hears once before the
    first page and after each page whose checkpoint is saved (an exception it raises stops
    the run there, resumable). The checkpoint is removed when the run ends: a run after it
    starts from the first record again. Raises CheckpointError for a checkpoint of another
    model or store."""
    if page_size < 1:
        raise ValueError(f"a page holds at least one record, got {page_size}")
    blocking = blocking_digest(model)
    resumed = await asyncio.to_thread(_resumed, checkpoint, blocking, store_name, restart)
    done = resumed or Checkpoint(blocking, store_name, "", 0, 0, 0)
    async with store.transaction(read_only=True) as tx:
        total = await tx.matches.count_records()
    progress(Progress(done.scanned, done.refiled, done.pages, total))

    async def page(after: str) -> tuple[list[MatchRecord], list[str]]:
        """Reads and re-files one page in one transaction: a record changed in between by
        another writer is re-filed as it is now."""
        async with store.transaction() as tx:
            records = await tx.matches.scan_records(after, page_size)
            moved = [new for record in records
                     if (new := _under(model, record)).keys != record.keys]
            return records, await tx.matches.refile_records(moved, max_block)

    scanned = refiled = pages = 0
    while True:
        records, moved = await retry_on_conflict(partial(page, done.after))
        if not records:
            break
        scanned, refiled, pages = scanned + len(records), refiled + len(moved), pages + 1
        done = Checkpoint(blocking, store_name, records[-1].record_id,
                          done.scanned + len(records), done.refiled + len(moved),
                          done.pages + 1)
        await asyncio.to_thread(write_checkpoint, checkpoint, done)
        progress(Progress(done.scanned, done.refiled, done.pages, total))
        if len(records) < page_size:
            break
    await asyncio.to_thread(checkpoint.unlink, missing_ok=True)
    return ReindexReport(scanned, refiled, pages, resumed.after if resumed else None)
