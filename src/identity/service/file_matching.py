"""Batch resolution of CSV files, with no store: one file is deduplicated, two are linked.

Reads the files, maps their columns onto the model's fields, runs the one batch pipeline
(`resolve_records`, which the FEBRL benchmark runs too) and writes clusters and linked pairs
as CSV. Every problem with the input is a `FileMatchingError` whose message says what to fix.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from identity.domain.identifiers import printable
from identity.domain.matching.engine import BatchResult, Progress, resolve_records
from identity.domain.matching.model import FieldValues, MatchModel


class FileMatchingError(ValueError):
    """Bad input (a missing file or column, duplicate ids). `setting`: the name of the input
    to fix (`id_column`, `field`, `threshold`), for an entry point to name its own way."""

    def __init__(self, message: str, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


@dataclass(frozen=True, slots=True)
class SourceRecord:
    source: str  # the file's name, as the output writes it
    record_id: str


@dataclass(frozen=True, slots=True)
class FileResolution:
    records: dict[str, SourceRecord]  # pipeline key -> where the record came from, input order
    result: BatchResult

    def cluster_numbers(self) -> dict[str, int]:
        """Clusters numbered from 1 in input order: the same input, the same numbers."""
        numbers: dict[str, int] = {}
        return {key: numbers.setdefault(self.result.clusters[key], len(numbers) + 1)
                for key in self.records}


def field_mapping(model: MatchModel, specs: Sequence[str]) -> dict[str, str]:
    """Model field -> CSV column: same-named columns, except where `FIELD=COLUMN` says."""
    known = list(model.fields)
    mapping = {name: name for name in known}
    for spec in specs:
        target, sep, column = spec.partition("=")
        target, column = target.strip(), column.strip()
        if not sep or not target or not column:
            raise FileMatchingError(f"field mapping {spec!r}: expected MODEL_FIELD=CSV_COLUMN",
                                    "field")
        if target not in mapping:
            raise FileMatchingError(f"field mapping {spec!r}: the model has no field {target!r} "
                                    f"(its fields: {', '.join(known)})", "field")
        mapping[target] = column
    return mapping


def read_records(path: Path, id_column: str, mapping: Mapping[str, str],
                 explicit: Sequence[str] = ()) -> dict[str, FieldValues]:
    """Record id -> the model's fields, in file order; blank cells are missing values.
    `explicit` names the model fields mapped with --field: their columns must exist."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            reader = csv.DictReader(stream)
            columns = list(reader.fieldnames or [])
            _check_columns(path, columns, id_column, mapping, explicit)
            used = {name: column for name, column in mapping.items() if column in columns}
            records: dict[str, FieldValues] = {}
            first_row: dict[str, int] = {}
            for row_number, row in enumerate(reader, start=2):  # row 1 is the header
                record_id = (row.get(id_column) or "").strip()
                if not record_id:
                    raise FileMatchingError(f"{path}: row {row_number} has no {id_column!r}")
                if record_id in records:
                    raise FileMatchingError(
                        f"{path}: duplicate id {record_id!r} (rows {first_row[record_id]} "
                        f"and {row_number})")
                first_row[record_id] = row_number
                records[record_id] = {name: (row.get(column) or "").strip() or None
                                      for name, column in used.items()}
            return records
    except FileNotFoundError:
        raise FileMatchingError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FileMatchingError(f"{path}: is a directory, not a CSV file") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise FileMatchingError(f"{path}: not a readable CSV file: {exc}") from None


def _check_columns(path: Path, columns: Sequence[str], id_column: str,
                   mapping: Mapping[str, str], explicit: Sequence[str]) -> None:
    if id_column not in columns:
        shown = ", ".join(printable(column, 40) for column in columns[:20])
        more = f" and {len(columns) - 20} more" if len(columns) > 20 else ""
        raise FileMatchingError(f"{path}: no id column {id_column!r} (columns: "
                                f"{shown or 'none'}{more}); say which column holds the ids",
                                "id_column")
    for name in explicit:
        if mapping[name] not in columns:
            raise FileMatchingError(f"{path}: no column {mapping[name]!r} for the field "
                                    f"mapping {name}={mapping[name]}", "field")
    if not any(column in columns for column in mapping.values()):
        raise FileMatchingError(
            f"{path}: no column holds a model field ({', '.join(mapping)}); map columns to "
            f"fields (MODEL_FIELD=CSV_COLUMN)", "field")


def source_names(paths: Sequence[Path]) -> list[str]:
    """File names, or the paths as given when two files share a name."""
    names = [path.name for path in paths]
    return names if len(set(names)) == len(names) else [str(path) for path in paths]


def resolve_files(paths: Sequence[Path], model: MatchModel, *, id_column: str = "id",
                  fields: Sequence[str] = (), train: bool = True,
                  threshold: float | None = None, seed: int = 0,
                  progress: Progress | None = None) -> FileResolution:
    """Dedupe one file, or link two (only pairs across the files count)."""
    if not 1 <= len(paths) <= 2:
        raise FileMatchingError("give one file to deduplicate or two to link")
    if threshold is not None:
        if not 0 < threshold < 1:
            raise FileMatchingError(f"threshold {threshold}: must be between 0 and 1",
                                    "threshold")
        model = replace(model, link_threshold=threshold,
                        review_threshold=min(model.review_threshold, threshold))
    mapping = field_mapping(model, fields)
    explicit = [spec.partition("=")[0].strip() for spec in fields]
    records: dict[str, FieldValues] = {}
    origins: dict[str, SourceRecord] = {}
    for index, (path, source) in enumerate(zip(paths, source_names(paths), strict=True)):
        for record_id, record in read_records(path, id_column, mapping, explicit).items():
            key = f"{index}:{record_id}"
            records[key] = record
            origins[key] = SourceRecord(source, record_id)
    sources = {key: key.partition(":")[0] for key in records} if len(paths) == 2 else None
    result = resolve_records(records, model, sources=sources, train=train, seed=seed,
                             progress=progress)
    return FileResolution(origins, result)


def write_clusters(resolution: FileResolution, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["source", "record_id", "cluster_id"])
    for key, number in resolution.cluster_numbers().items():
        origin = resolution.records[key]
        writer.writerow([origin.source, origin.record_id, number])


def write_pairs(resolution: FileResolution, out: TextIO) -> None:
    """Every linked pair with its match probability."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["left_source", "left_id", "right_source", "right_id", "probability"])
    for pair in resolution.result.links:
        left, right = resolution.records[pair.left], resolution.records[pair.right]
        writer.writerow([left.source, left.record_id, right.source, right.record_id,
                         f"{pair.probability:.6f}"])
