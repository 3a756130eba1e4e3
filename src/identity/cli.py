"""`identity serve | ingest | generate | resolve`: parse arguments, call app or service, print."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from identity.api.grpc.server import address
from identity.app import build_app, build_service, check_store
from identity.config import Settings, load_model, parse_grpc_port
from identity.domain.matching.model import Record
from identity.service import IdentityService, IngestResult, IngestStatus
from identity.store import STORE_KINDS, open_store
from identity.store.protocol import StoreUnavailable

EXIT_OK, EXIT_REJECTS, EXIT_USAGE = 0, 1, 2
_ANY_INDEX = re.compile(r"\[\d+\]")


def _store_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", choices=STORE_KINDS,
                        help="env IDENTITY_STORE, default sqlite")
    parser.add_argument("--database", help="SQLite file (or sqlite:PATH); env IDENTITY_DATABASE, "
                        "default data/identity.db")
    parser.add_argument("--neo4j-uri", help="env IDENTITY_NEO4J_URI, default "
                        "neo4j://127.0.0.1:7687")
    parser.add_argument("--neo4j-user", help="env IDENTITY_NEO4J_USER, default neo4j")
    parser.add_argument("--neo4j-password", help="env IDENTITY_NEO4J_PASSWORD (prefer the "
                        "variable: a flag shows in the process list)")
    parser.add_argument("--neo4j-database", help="env IDENTITY_NEO4J_DATABASE, default neo4j")
    parser.add_argument("--default-region", help="region for phone numbers written without "
                        "a country code; env IDENTITY_DEFAULT_REGION, default US")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="identity", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the GraphQL API (GraphiQL at /graphql)")
    serve.add_argument("--host", help="env IDENTITY_HOST, default 127.0.0.1")
    serve.add_argument("--port", type=int, help="env IDENTITY_PORT, default 8000")
    serve.add_argument("--grpc-port", metavar="PORT|off",
                       help="gRPC port on the same host, 0 for any free port, off for none; "
                       "env IDENTITY_GRPC_PORT, default 50051")
    serve.add_argument("--log-level", help="env IDENTITY_LOG_LEVEL, default info")
    serve.add_argument("--model", help="the match model `identity train` saved; env "
                       "IDENTITY_MODEL, default data/model.json (the built-in one until then)")
    serve.add_argument("--no-matching", action="store_true",
                       help="no probabilistic links in real time (env IDENTITY_MATCHING=off)")
    serve.add_argument("--strict-ingest", action="store_true",
                       help="reject an event for a malformed identifier or an order without "
                       "an amount, instead of accepting it without them (env "
                       "IDENTITY_STRICT_INGEST=on)")
    serve.add_argument("--profile-cache", type=int, metavar="PROFILES",
                       help="golden profiles kept in memory for fast lookups (embedded store "
                       "only; 0 for none); env IDENTITY_PROFILE_CACHE, default 10000")
    _store_flags(serve)

    ingest = commands.add_parser("ingest", help="ingest a JSONL file of events in bulk")
    ingest.add_argument("file", type=Path, help="one JSON event per line ('-' for stdin)")
    ingest.add_argument("--batch-size", type=int, default=500)
    ingest.add_argument("--rejects", type=Path, help="write every rejected line here as JSONL")
    ingest.add_argument("--fail-on-reject", action="store_true",
                        help="exit with status 1 when any event is rejected")
    ingest.add_argument("--strict", dest="strict_ingest", action="store_true",
                        help="reject an event for a malformed identifier or an order without "
                        "an amount, instead of accepting it without them")
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")
    _store_flags(ingest)

    generate = commands.add_parser(
        "generate", help="write synthetic customer journeys with their ground truth")
    size = generate.add_mutually_exclusive_group()
    size.add_argument("--people", type=int, help="number of people (default 1000)")
    size.add_argument("--events", type=int, help="roughly this many events instead")
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--out", type=Path, default=Path("data/events.jsonl"))
    generate.add_argument("--truth", type=Path, default=Path("data/truth.csv"))

    resolve = commands.add_parser(
        "resolve", help="match the records of a CSV file (dedupe) or two (link), no server")
    resolve.add_argument("files", type=Path, nargs="+", metavar="FILE.csv",
                         help="one file to deduplicate, or two to link")
    resolve.add_argument("--out", type=Path, required=True,
                         help="write source,record_id,cluster_id here")
    resolve.add_argument("--id-column", default="id", help="default id")
    resolve.add_argument("--field", action="append", default=[],
                         metavar="MODEL_FIELD=CSV_COLUMN",
                         help="read a model field from another column (repeatable); by "
                         "default columns named like the model's fields are read")
    resolve.add_argument("--model", type=Path,
                         help="a saved model (JSON); default: the built-in model")
    resolve.add_argument("--no-train", action="store_true",
                         help="use the model's m and u as they are (default: fit them on "
                         "the input)")
    resolve.add_argument("--threshold", type=float,
                         help="link at this match probability (default: the model's)")
    resolve.add_argument("--pairs", type=Path,
                         help="also write every linked pair with its match probability")
    resolve.add_argument("--quiet", action="store_true", help="no progress bar")

    train = commands.add_parser(
        "train", help="fit the match model on the records in the store, or on CSV files, "
        "and save it where the service reads it")
    train.add_argument("--records", type=Path, nargs="+", metavar="FILE.csv",
                       help="train on these files (one, or two to link) instead of the store")
    train.add_argument("--id-column", default="id", help="with --records; default id")
    train.add_argument("--field", action="append", default=[], metavar="MODEL_FIELD=CSV_COLUMN",
                       help="with --records: read a model field from another column")
    train.add_argument("--base", type=Path, help="start from this model's comparisons and "
                       "rules (default: the saved model, else the built-in one)")
    train.add_argument("--out", type=Path, help="where to save it (default: the model the "
                       "service reads, env IDENTITY_MODEL, default data/model.json)")
    train.add_argument("--seed", type=int, default=0, help="for the random pairs u is fit on")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    _store_flags(train)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    if (grpc_port := getattr(args, "grpc_port", None)) is not None:
        settings = replace(settings, grpc_port=parse_grpc_port(grpc_port))  # off is None
    return settings.with_overrides(
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        log_level=getattr(args, "log_level", None),
        model=getattr(args, "model", None),
        matching=False if getattr(args, "no_matching", False) else None,
        profile_cache=getattr(args, "profile_cache", None),
        strict_ingest=True if getattr(args, "strict_ingest", False) else None,
        store=args.store,
        database=args.database,
        neo4j_uri=args.neo4j_uri,
        neo4j_user=args.neo4j_user,
        neo4j_password=args.neo4j_password,
        neo4j_database=args.neo4j_database,
        default_region=args.default_region,
    )


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings(args)
    asyncio.run(check_store(settings))  # fail here, with the reason, not mid-start-up
    where = settings.database if settings.store == "sqlite" else settings.neo4j_uri
    matching = ("off" if not settings.matching else f"model {settings.model}"
                if Path(settings.model).exists() else
                f"the built-in model ({settings.model} not found: identity train writes it)")
    grpc = ("off" if settings.grpc_port is None else
            address(settings.host, settings.grpc_port) if settings.grpc_port else "a free port")
    print(f"identity graph: {settings.store} store at {where}; matching: {matching}; "
          f"GraphiQL at http://{settings.host}:{settings.port}/graphql; gRPC: {grpc}",
          file=sys.stderr)
    uvicorn.run(build_app(settings), host=settings.host, port=settings.port,
                log_level=settings.log_level)
    return EXIT_OK


def _lines(stream: TextIO) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(stream, start=1):
        if line.strip():
            yield number, line


def _batches(stream: TextIO, size: int) -> Iterator[list[tuple[int, str]]]:
    batch: list[tuple[int, str]] = []
    for item in _lines(stream):
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class IngestReport:
    """Counts outcomes and keeps the rejects, so the summary can say what to fix."""

    def __init__(self, rejects: TextIO | None) -> None:
        self.counts: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.examples: list[str] = []
        self.kept_out: Counter[str] = Counter()  # accepted events: what they were accepted without
        self._rejects = rejects

    def reject(self, line: int, event_id: str | None, errors: list[tuple[str, str]]) -> None:
        self.counts[IngestStatus.REJECTED] += 1
        for field, reason in errors:
            # identifiers[2].value and identifiers[4].value are the same mistake in a summary
            self.reasons[f"{_ANY_INDEX.sub('[*]', field)}: {reason}"] += 1
        if len(self.examples) < 5:
            detail = "; ".join(f"{f}: {r}" for f, r in errors)
            self.examples.append(f"line {line} (event {event_id or '?'}): {detail}")
        if self._rejects is not None:
            self._rejects.write(json.dumps({"line": line, "event_id": event_id, "errors": [
                {"field": f, "reason": r} for f, r in errors]}) + "\n")

    def add(self, line: int, result: IngestResult) -> None:
        if result.status is IngestStatus.REJECTED:
            self.reject(line, result.event_id, [(e.field, e.reason) for e in result.errors])
            return
        self.counts[result.status] += 1
        for kept_out in (*((i.field, i.reason) for i in result.ignored),
                         *((w.field, w.reason) for w in result.warnings)):
            self.kept_out[f"{_ANY_INDEX.sub('[*]', kept_out[0])}: {kept_out[1]}"] += 1

    def summary(self, seconds: float) -> str:
        total = sum(self.counts.values())
        lines = [
            f"{total} events in {seconds:.1f}s ({total / max(seconds, 1e-9):,.0f}/s): "
            f"{self.counts[IngestStatus.ACCEPTED]} accepted, "
            f"{self.counts[IngestStatus.DUPLICATE]} duplicates, "
            f"{self.counts[IngestStatus.REJECTED]} rejected"
        ]
        if self.kept_out:
            lines.append("accepted without (placeholders, malformed identifiers, amounts):")
            lines += [f"  {n:>7}  {reason}" for reason, n in self.kept_out.most_common(10)]
        if self.reasons:
            lines.append("rejects by reason:")
            lines += [f"  {n:>7}  {reason}" for reason, n in self.reasons.most_common(10)]
            lines.append("first rejects:")
            lines += [f"  {example}" for example in self.examples]
        return "\n".join(lines)


async def _ingest_stream(settings: Settings, stream: TextIO, batch_size: int,
                         report: IngestReport, advance: Callable[[int], object]) -> None:
    service = await build_service(settings)
    try:
        await _ingest_batches(service, stream, batch_size, report, advance)
    finally:
        await service.store.close()


async def _ingest_batches(service: IdentityService, stream: TextIO, batch_size: int,
                          report: IngestReport, advance: Callable[[int], object]) -> None:
    for batch in _batches(stream, batch_size):
        parsed: list[tuple[int, object]] = []
        for number, line in batch:
            try:
                parsed.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                report.reject(number, None, [("line", f"not valid JSON: {exc.msg} at column "
                                              f"{exc.colno}")])
            except ValueError as exc:  # valid JSON the parser refuses: a 5,000-digit number
                report.reject(number, None, [("line", f"not usable JSON: {exc}")])
        results = await service.ingest([raw for _, raw in parsed])
        for (number, _), result in zip(parsed, results, strict=True):
            report.add(number, result)
        advance(len(batch))


def ingest(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        print("identity ingest: --batch-size must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    if str(args.file) != "-" and not args.file.is_file():
        print(f"identity ingest: {args.file}: no such file", file=sys.stderr)
        return EXIT_USAGE
    settings = _settings(args)
    rejects = args.rejects.open("w", encoding="utf-8") if args.rejects else None
    report = IngestReport(rejects)
    started = time.perf_counter()
    stream = sys.stdin if str(args.file) == "-" else args.file.open(encoding="utf-8")
    with stream, tqdm(unit=" events", disable=args.quiet, file=sys.stderr) as progress:
        asyncio.run(_ingest_stream(settings, stream, args.batch_size, report, progress.update))
    if rejects is not None:
        rejects.close()
    print(report.summary(time.perf_counter() - started))
    rejected = report.counts[IngestStatus.REJECTED]
    return EXIT_REJECTS if rejected and args.fail_on_reject else EXIT_OK


def generate(args: argparse.Namespace) -> int:
    from identity.synthetic import GeneratorConfig, people_for_events, write_dataset
    from identity.synthetic import generate as generate_dataset

    people = args.people if args.people is not None else (
        people_for_events(args.events) if args.events is not None else 1000)
    if people < 1:
        print("identity generate: --people and --events must be positive", file=sys.stderr)
        return EXIT_USAGE
    dataset = generate_dataset(GeneratorConfig(people=people, seed=args.seed))
    write_dataset(dataset, args.out, args.truth)
    print(f"{len(dataset.events)} events from {people} people -> {args.out}; "
          f"truth for {len(dataset.truth)} identifiers -> {args.truth}")
    return EXIT_OK


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


def resolve(args: argparse.Namespace) -> int:
    from identity.domain.matching.engine import MIN_RECORDS_TO_FIT
    from identity.service.file_matching import (
        FileMatchingError,
        read_model,
        resolve_files,
        write_clusters,
        write_pairs,
    )

    for target in (args.out, args.pairs):
        if target is not None and not target.resolve().parent.is_dir():
            print(f"identity resolve: cannot write {target}: no folder {target.parent}",
                  file=sys.stderr)
            return EXIT_USAGE
    started = time.perf_counter()
    with _stages(args.quiet) as (progress, stage):
        try:
            stage("reading")
            resolution = resolve_files(
                args.files, read_model(args.model), id_column=args.id_column,
                fields=args.field, train=not args.no_train, threshold=args.threshold,
                progress=stage)
        except FileMatchingError as exc:
            progress.close()
            print(f"identity resolve: {exc}", file=sys.stderr)
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
    from identity.service.file_matching import FileMatchingError, read_model, resolve_files
    settings = _settings(args)
    out = args.out or Path(settings.model)
    base = read_model(args.base) if args.base else load_model(Path(settings.model))
    started = time.perf_counter()
    with _stages(args.quiet) as (progress, stage):
        stage("reading")
        if args.records:
            try:
                result = resolve_files(args.records, base, id_column=args.id_column,
                                       fields=args.field, seed=args.seed, progress=stage).result
            except FileMatchingError as exc:
                progress.close()
                print(f"identity train: {exc}", file=sys.stderr)
                return EXIT_USAGE
            where = ", ".join(str(path) for path in args.records)
        else:
            records = asyncio.run(_stored_records(settings))
            result = resolve_records(records, base, seed=args.seed, progress=stage)
            where = f"the {settings.store} store"
    if not result.fitted:
        print(f"identity train: {len(result.clusters)} records in {where}; at least "
              f"{MIN_RECORDS_TO_FIT} are needed to fit a model, nothing saved", file=sys.stderr)
        return EXIT_USAGE
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(result.model.compacted().to_json() + "\n", encoding="utf-8")
    print(f"{len(result.clusters)} records from {where}, {result.candidate_pairs} candidate "
          f"pairs, prior {result.model.prior:.3g}, {time.perf_counter() - started:.2f}s "
          f"-> {out} (restart identity serve to use it)")
    return EXIT_OK


async def _stored_records(settings: Settings) -> dict[str, Record]:
    from identity.service.training import records_in_store

    store = await open_store(settings.store_config())
    try:
        return await records_in_store(store)
    finally:
        await store.close()


COMMANDS = {"serve": serve, "ingest": ingest, "generate": generate, "resolve": resolve,
            "train": train}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except StoreUnavailable as exc:
        print(f"identity {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:  # bad settings from the environment
        print(f"identity {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
