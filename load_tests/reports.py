"""What a benchmark run of the peers reports: one result per peer and task, as JSON and as
the markdown tables the README shows."""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any

INGEST_TARGET = 1_000  # records per second the real-time peer is held to


@dataclass
class PeerResult:
    """One peer on one task: quality, cost and how it was configured."""

    name: str
    task: str
    metrics: dict[str, Any]
    wall_seconds: float
    peak_rss_mb: float
    notes: str
    clustered_metrics: dict[str, Any] = field(default_factory=dict)
    baseline_rss_mb: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    """Peer-specific figures: for ``identity-realtime`` its train and ingest seconds, its
    ingest rate, the raw-SQLite reference rate of the same run and their ratio."""

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self)


def versions() -> dict[str, str]:
    """Versions of everything that shapes the figures, read without importing the packages."""
    out = {"python": platform.python_version(), "cpus": str(os.cpu_count())}
    for package in ("splink", "duckdb", "recordlinkage", "pandas", "numpy", "scikit-learn"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[package] = metadata.version(package)
    return out


def markdown_table(results: Sequence[PeerResult]) -> str:
    """The comparison table for the issue's closing note, then the real-time ingest figures
    (rate, same-run raw-SQLite reference, ratio) of the peers that report them."""
    lines = [
        "| task | peer | precision | recall | F1 | false pairs | missed pairs | "
        "F1 clustered | wall s | peak RSS MB | Δ RSS MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        m, c = r.metrics, r.clustered_metrics
        lines.append(
            f"| {r.task} | {r.name} | {m['precision']:.4f} | {m['recall']:.4f} | "
            f"{m['f1']:.4f} | {m['false_pairs']} | {m['missed_pairs']} | "
            f"{c.get('f1', float('nan')):.4f} | {r.wall_seconds:.2f} | {r.peak_rss_mb:.0f} | "
            f"{r.peak_rss_mb - r.baseline_rss_mb:.0f} |"
        )
    ingest = [r for r in results if "records_per_second" in r.extra]
    if ingest:
        lines += [
            "",
            "| task | peer | ingested | train s | ingest s | per s | raw SQLite per s "
            f"(same run) | ratio | ≥ {INGEST_TARGET:,} per s | per s, concurrent producers |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|---|",
        ]
        for r in ingest:
            x = r.extra
            ingested = f"{x['ingested']:,} {x['ingested_unit']}"
            if "events_with_traits" in x:
                ingested += f" ({x['events_with_traits']:,} with person traits)"
            met = x["records_per_second"] >= x["target_records_per_second"]
            lines.append(
                f"| {r.task} | {r.name} | {ingested} | "
                f"{x['train_seconds']:.2f} | {x['ingest_seconds']:.2f} | "
                f"{x['records_per_second']:,.0f} | {x['ceiling_records_per_second']:,.0f} | "
                f"{x['ratio_to_ceiling']:.3f} | "
                + ("n/a: counts events, not records" if x["ingested_unit"] != "records"
                   else "yes" if met else "no") + " | "
                + (f"{x['concurrent_records_per_second']:,.0f} ({x['concurrent_producers']}, "
                   f"{'same' if x['concurrent_same_pairs'] else 'other'} pairs)"
                   if "concurrent_producers" in x else "") + " |"
            )
    return "\n".join(lines)
