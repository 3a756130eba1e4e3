"""`identity ingest`: a JSONL file of events in bulk, with a summary of what to fix."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, TextIO

from tqdm import tqdm

from identity.app import build_service
from identity.cli.arguments import (
    EXIT_OK,
    EXIT_REJECTS,
    EXIT_USAGE,
    outputs_refused,
    settings_of,
)
from identity.config import Settings
from identity.domain.json_text import UnusableJson, read_json
from identity.service import IdentityService, IngestResult, IngestStatus

_ANY_INDEX = re.compile(r"\[\d+\]")


# An event is at most 50 identifiers and 100 traits of 256 characters: far below this. A
# longer line is rejected without holding more than this much of it in memory.
MAX_LINE_CHARS = 1 << 20
_UNDECODABLE = re.compile(r"[\udc80-\udcff]")  # where surrogateescape kept a byte not UTF-8


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A line that is no text to parse, and why."""

    reason: str


def open_lines(binary: BinaryIO) -> TextIO:
    """The events as text: a byte order mark at the start skipped, any line ending, and a
    byte that is not UTF-8 kept (escaped) to be rejected with its line, not the file."""
    return io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape")


def _lines(stream: TextIO) -> Iterator[tuple[int, str | Unreadable]]:
    number = 0
    while line := stream.readline(MAX_LINE_CHARS + 1):
        number += 1
        if len(line) > MAX_LINE_CHARS and not line.endswith("\n"):
            while (rest := stream.readline(MAX_LINE_CHARS)) and not rest.endswith("\n"):
                pass  # the rest of the line, read in bounded pieces and dropped
            yield number, Unreadable(f"longer than {MAX_LINE_CHARS:,} characters")
        elif (bad := _UNDECODABLE.search(line)) is not None:
            yield number, Unreadable(f"not UTF-8 text: byte 0x{ord(bad.group()) - 0xDC00:02x} "
                                     f"at column {bad.start() + 1}")
        elif line.strip():
            yield number, line


def _batches(stream: TextIO, size: int) -> Iterator[list[tuple[int, str | Unreadable]]]:
    batch: list[tuple[int, str | Unreadable]] = []
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
            if isinstance(line, Unreadable):
                report.reject(number, None, [("line", line.reason)])
                continue
            try:
                parsed.append((number, read_json(line)))
            except UnusableJson as exc:
                report.reject(number, None, [("line", f"not usable JSON: {exc.msg}")])
            except json.JSONDecodeError as exc:
                report.reject(number, None, [("line", f"not valid JSON: "
                                              f"{exc.msg.removesuffix(' at')} at column "
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
    if outputs_refused("ingest", [args.rejects], [] if str(args.file) == "-" else [args.file]):
        return EXIT_USAGE
    settings = settings_of(args)
    rejects = args.rejects.open("w", encoding="utf-8") if args.rejects else None
    report = IngestReport(rejects)
    started = time.perf_counter()
    stream = open_lines(sys.stdin.buffer if str(args.file) == "-" else args.file.open("rb"))
    with stream, tqdm(unit=" events", disable=args.quiet, file=sys.stderr) as progress:
        asyncio.run(_ingest_stream(settings, stream, args.batch_size, report, progress.update))
    if rejects is not None:
        rejects.close()
    print(report.summary(time.perf_counter() - started))
    rejected = report.counts[IngestStatus.REJECTED]
    return EXIT_REJECTS if rejected and args.fail_on_reject else EXIT_OK


