"""Split a dataset by sample category, for progressive (staged) training.

Seed 003 trains in three stages: decide whether to call (no-call vs single-call samples), fill
arguments (single, parallel and slot-filling samples), then everything jointly. This writes one
ShareGPT dataset per category (`NAME_single`, `NAME_parallel`, `NAME_multi_round`, `NAME_no_call`,
`NAME_slot_filling`, from `fc_plugin.categories.categorize`) and registers each in
dataset_info.json, so a stage recipe lists the categories it trains on. Records go through the
convert pipeline (any supported format; normalised, validated, de-duplicated); the ones that fail
go to `NAME_split.rejects.jsonl` with their reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from fc_plugin.categories import CATEGORIES
from fc_plugin.convert.pipeline import ConvertOptions, iter_outcomes, resolve_dataset
from fc_plugin.io import atomic_write_lines, merge_dataset_info
from fc_plugin.sharegpt import dataset_entry, rejects_path


@dataclass
class SplitResult:
    counts: dict[str, int] = field(default_factory=dict)  # category -> samples written
    paths: dict[str, Path] = field(default_factory=dict)  # category -> file
    rejected: int = 0
    rejects_path: Path | None = None


def category_path(out_dir: str | Path, name: str, category: str) -> Path:
    """Where category `category` of dataset `name` goes: OUT_DIR/NAME_CATEGORY.json."""
    return Path(out_dir) / f"{name}_{category}.json"


def split_by_category(
    source: str | Path,
    out_dir: str | Path = "data",
    name: str | None = None,
    *,
    info_path: str | Path | None = "dataset_info.json",
    source_format: str | None = None,
    progress: bool | None = None,
) -> SplitResult:
    """Write one dataset per category of `source` (a file, or a dataset name in `info_path`).

    Every category with at least one sample is written (atomically) and registered as
    NAME_CATEGORY; empty categories are skipped. Raises ValueError if nothing valid is found.
    """
    from tqdm import tqdm

    path, fmt = resolve_dataset(str(source), info_path or "dataset_info.json")
    name = name or Path(source).stem
    options = ConvertOptions(source_format=source_format or fmt or "auto")
    rows: dict[str, list[str]] = {c: [] for c in CATEGORIES}
    rejects: list[str] = []
    seen: set[bytes] = set()
    bar = tqdm(desc=f"split {name}", unit=" samples", disable=None if progress is None else not progress)
    try:
        for outcomes in iter_outcomes([path], options):
            for o in outcomes:
                bar.update()
                if o.skipped:
                    continue
                if o.problems or o.summary is None or o.line is None:
                    rejects.append(o.reject or json.dumps({**o.ref, "code": o.code or "unknown"}))
                elif o.digest in seen:
                    message = "same conversations, system and tools as an earlier sample"
                    rejects.append(json.dumps({**o.ref, "sample": o.sample, "code": "duplicate", "message": message}))
                else:
                    seen.add(o.digest or b"")
                    rows[o.summary[0]].append(o.line)  # summary = (categorize(sample), calls, turns)
    finally:
        bar.close()
    result = SplitResult(rejected=len(rejects))
    result.rejects_path = rejects_path(Path(out_dir) / f"{name}.json", f"{name}_split")
    atomic_write_lines(result.rejects_path, (line + "\n" for line in rejects))
    if not any(rows.values()):
        raise ValueError(f"{path}: no valid sample to split ({len(rejects)} rejected, see {result.rejects_path})")
    entries = {}
    for category, lines in rows.items():
        if not lines:
            continue
        out = category_path(out_dir, name, category)
        atomic_write_lines(out, ["[\n", ",\n".join(lines), "\n]\n"])
        result.counts[category], result.paths[category] = len(lines), out
        if info_path is not None:
            entries[f"{name}_{category}"] = dataset_entry(out, info_path)
    if entries and info_path is not None:
        merge_dataset_info(info_path, entries)
    return result


__all__ = ["SplitResult", "category_path", "split_by_category"]
