"""`identity resolve` and `identity train`: the match model over files or the store."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tqdm import tqdm

from identity.app import opened_store
from identity.cli.arguments import (
    EXIT_OK,
    EXIT_REJECTS,
    EXIT_USAGE,
    outputs_refused,
    settings_of,
)
from identity.config import Settings
from identity.domain.matching.model import MatchModel
from identity.domain.matching.records import MatchRecord
from identity.service.model_file import ModelFileError, load_model, read_model, save_model
from identity.service.training import Judgement


@contextmanager
def _stages(quiet: bool) -> Iterator[tuple[tqdm[Any], Callable[[str], None]]]:
    """A progress bar over the batch pipeline's stages (and reading the input first)."""
    from identity.domain.matching.engine import STAGES

    with tqdm(total=len(STAGES) + 1, unit=" stages", disable=quiet,
              file=sys.stderr) as progress:

        def stage(name: str) -> None:
            progress.set_description_str(name)
            progress.update(1)

        yield progress, stage



def flag_of(error: Exception) -> str:
    """The option that fixes a file-matching error, as this command line names it."""
    setting = getattr(error, "setting", None)
    return f" (--{setting.replace('_', '-')})" if setting else ""

def resolve(args: argparse.Namespace) -> int:
    from identity.domain.matching.engine import MIN_RECORDS_TO_FIT
    from identity.service.file_matching import (
        FileMatchingError,
        resolve_files,
        write_clusters,
        write_pairs,
    )

    if outputs_refused("resolve", [args.out, args.pairs], args.files):
        return EXIT_USAGE
    started = time.perf_counter()
    with _stages(args.quiet) as (progress, stage):
        try:
            stage("reading")
            resolution = resolve_files(
                args.files, read_model(args.model), id_column=args.id_column,
                fields=args.field, train=not args.no_train, threshold=args.threshold,
                progress=stage)
        except (FileMatchingError, ModelFileError) as exc:
            progress.close()
            print(f"identity resolve: {exc}{flag_of(exc)}", file=sys.stderr)
            return EXIT_USAGE
        progress.set_description_str("writing")
    try:
        with args.out.open("w", encoding="utf-8", newline="") as out:
            write_clusters(resolution, out)
        if args.pairs:
            with args.pairs.open("w", encoding="utf-8", newline="") as out:
                write_pairs(resolution, out)
    except OSError as exc:
        print(f"identity resolve: cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    result = resolution.result
    if result.fitted:
        model = "fitted on the input"
    elif args.no_train:
        model = "as given (--no-train)"
    else:
        model = f"as given (fewer than {MIN_RECORDS_TO_FIT} records to fit on)"
    print(f"{len(resolution.records)} records, {result.candidate_pairs} candidate pairs, "
          f"{len(result.links)} links, {result.cluster_count} clusters, "
          f"{len(result.oversized_blocks)} oversized blocks skipped, model {model}, "
          f"{time.perf_counter() - started:.2f}s -> {args.out}")
    return EXIT_OK


def train(args: argparse.Namespace) -> int:
    from identity.domain.matching.engine import MIN_RECORDS_TO_FIT, resolve_records
    from identity.service.file_matching import FileMatchingError, resolve_files
    from identity.service.training import values_of
    settings = settings_of(args)
    out = args.out or Path(settings.model)
    in_force = load_model(Path(settings.model))
    base = read_model(args.base) if args.base else in_force
    started = time.perf_counter()
    stored: list[MatchRecord] | None = None
    with _stages(args.quiet) as (progress, stage):
        stage("reading")
        if args.records:
            try:
                result = resolve_files(args.records, base, id_column=args.id_column,
                                       fields=args.field, seed=args.seed, progress=stage).result
            except (FileMatchingError, ModelFileError) as exc:
                progress.close()
                print(f"identity train: {exc}{flag_of(exc)}", file=sys.stderr)
                return EXIT_USAGE
            where = ", ".join(str(path) for path in args.records)
        else:
            stored = asyncio.run(_stored_records(settings))
            result = resolve_records(values_of(stored), base, seed=args.seed, progress=stage)
            where = f"the {settings.store} store"
    if not result.fitted:
        print(f"identity train: {len(result.clusters)} records in {where}; at least "
              f"{MIN_RECORDS_TO_FIT} are needed to fit a model, nothing saved", file=sys.stderr)
        return EXIT_USAGE
    print(f"{len(result.clusters)} records from {where}, {result.candidate_pairs} candidate "
          f"pairs, prior {result.model.prior:.3g}, {time.perf_counter() - started:.2f}s")
    no_graph = stored is None and settings.store == "sqlite" and not (
        settings.store_config().sqlite_file.exists())
    judgement = None if no_graph else asyncio.run(
        _judge(settings, result.model, in_force, stored))
    if judgement is None or not judgement.has_evidence:
        print("no evidence in the store to compare the models on (no records whose "
              "identifiers events join, nor any holding two accounts)")
    else:
        evidence = judgement.evidence
        print(f"on the store's evidence ({len(evidence.same)} pairs of records events join, "
              f"{len(evidence.apart)} holding different accounts):")
        for name, found in (("fitted", judgement.fitted), ("in force", judgement.in_force)):
            print(f"  {name:>8} model: estimated precision {found.precision:.4f}, recall "
                  f"{found.recall:.4f} ({found.linked_same} linked of {found.same}, "
                  f"{found.linked_apart} linking two accounts)")
    if judgement is not None and not judgement.replaces and not args.force:
        which = settings.model if Path(settings.model).exists() else "the built-in model"
        print(f"identity train: the fitted model is worse than the one in force ({which}); "
              "nothing saved (--force saves it anyway)", file=sys.stderr)
        return EXIT_REJECTS
    model = judgement.model if judgement is not None else result.model
    if model.link_threshold != result.model.link_threshold:
        print(f"link threshold raised to {model.link_threshold:.6g} to be as precise as the "
              "model in force on that evidence")
    save_model(model, out)
    print(f"saved -> {out} (restart identity serve to use it)")
    return EXIT_OK


async def _stored_records(settings: Settings) -> list[MatchRecord]:
    from identity.service.training import records_in_store

    async with opened_store(settings) as store:
        return await records_in_store(store)


async def _judge(settings: Settings, fitted: MatchModel, in_force: MatchModel,
                 records: list[MatchRecord] | None) -> Judgement:
    from identity.service.training import judge

    async with opened_store(settings) as store:
        return await judge(store, fitted, in_force, records)


