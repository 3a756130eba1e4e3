"""`identity ingest`: a JSONL file of events in bulk, with a summary of what to fix."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TextIO

from tqdm import tqdm

from identity.api.json_body import UnusableJson, read_json
from identity.app import build_service
from identity.cli.arguments import EXIT_OK, EXIT_REJECTS, EXIT_USAGE, settings_of
from identity.config import Settings
from identity.service import IdentityService, IngestResult, IngestStatus

_ANY_INDEX = re.compile(r"\[\d+\]")


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
                parsed.append((number, read_json(line)))
            except UnusableJson as exc:
                report.reject(number, None, [("line", f"not usable JSON: {exc.msg}")])
            except json.JSONDecodeError as exc:
                report.reject(number, None, [("line", f"not valid JSON: {exc.msg} at column "
                                              f"{exc.colno}")])
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
    settings = settings_of(args)
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


