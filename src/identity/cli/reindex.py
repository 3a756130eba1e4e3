"""`identity reindex`: every match record re-filed under the blocking keys of the model in
force (docs/architecture.md, Matching), with a progress bar and a one-line JSON summary."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from identity.app import opened_store
from identity.cli.arguments import EXIT_OK, EXIT_USAGE, MAX_REINDEX_PAGE_SIZE, settings_of
from identity.config import Settings
from identity.domain.matching.model import MatchModel
from identity.service.model_file import load_model
from identity.service.reindex import CheckpointError, Progress, ReindexReport
from identity.service.reindex import reindex as reindex_store

EXIT_INTERRUPTED = 130  # as a shell reports a command Ctrl-C stopped


def store_name(settings: Settings) -> str:
    """Names the store a checkpoint belongs to, so another store's is refused."""
    config = settings.store_config()
    if config.kind == "sqlite":
        return f"sqlite:{config.sqlite_file.resolve()}"
    return f"{config.kind}:{config.neo4j_uri} database {config.neo4j_database}"


def reindex(args: argparse.Namespace) -> int:
    if not 1 <= args.page_size <= MAX_REINDEX_PAGE_SIZE:
        print(f"identity reindex: --page-size must be from 1 to {MAX_REINDEX_PAGE_SIZE:,}",
              file=sys.stderr)
        return EXIT_USAGE
    settings = settings_of(args)
    database = settings.store_config().sqlite_file
    if settings.store == "sqlite" and not database.exists():
        # Opening it would create an empty database: nothing to re-file, and a wrong path.
        print(f"identity reindex: {database}: no such database (--database)", file=sys.stderr)
        return EXIT_USAGE
    model = load_model(Path(settings.model))
    started = time.perf_counter()
    with tqdm(unit=" records", disable=args.quiet, file=sys.stderr) as bar:

        def progress(done: Progress) -> None:
            bar.total = done.total
            bar.n = done.scanned
            bar.set_postfix(refiled=done.refiled, refresh=False)
            bar.refresh()

        try:
            report = asyncio.run(_run(settings, model, args, progress))
        except CheckpointError as exc:
            bar.close()
            print(f"identity reindex: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt:
            bar.close()
            print(f"identity reindex: interrupted; the pages done are saved in "
                  f"{args.checkpoint}: run it again to go on from there", file=sys.stderr)
            return EXIT_INTERRUPTED
    summary: dict[str, Any] = {
        "records": report.scanned, "refiled": report.refiled, "pages": report.pages,
        "seconds": round(time.perf_counter() - started, 3),
        "resumed_after": report.resumed_after}
    print(json.dumps(summary))
    return EXIT_OK


async def _run(settings: Settings, model: MatchModel, args: argparse.Namespace,
               progress: Callable[[Progress], object]) -> ReindexReport:
    async with opened_store(settings) as store:
        return await reindex_store(
            store, model, max_block=settings.max_block,
            checkpoint=args.checkpoint, store_name=store_name(settings),
            restart=args.restart, page_size=args.page_size, progress=progress)
