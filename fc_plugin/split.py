"""Split a dataset by sample category, for progressive (staged) training.

Seed 003 trains in three stages: decide whether to call (no-call vs single-call samples), fill
arguments (single, parallel and slot-filling samples), then everything jointly. This writes one
ShareGPT dataset per category (`NAME_single`, `NAME_parallel`, `NAME_multi_round`, `NAME_no_call`,
`NAME_slot_filling`, from `fc_plugin.categories.categorize`) and registers each in
dataset_info.json, so a stage recipe lists the categories it trains on. Records that fail to
convert or validate go to `NAME_split.rejects.jsonl` with their reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fc_plugin.categories import CATEGORIES, categorize
from fc_plugin.convert import ConvertError
from fc_plugin.convert.pipeline import ConvertOptions, iter_samples, resolve_dataset
from fc_plugin.io import atomic_write_lines, merge_dataset_info
from fc_plugin.sharegpt import dataset_entry, rejects_path, row_json


@dataclass
class SplitResult:
    counts: dict[str, int] = field(default_factory=dict)  # category -> samples written
    paths: dict[str, Path] = field(default_factory=dict)  # category -> file
    rejected: int = 0
    rejects_path: Path | None = None


def category_path(out_dir: str | Path, name: str, category: str) -> Path:
    """Where category `category` of dataset `name` goes: OUT_DIR/NAME_CATEGORY.json."""
    return Path(out_dir) / f"{name}_{category}.json"


def _reject(record: Any, k: int | None, error: Any) -> dict[str, Any]:
    entry = record.ref()
    if k is not None:
        entry["sample"] = k
    if isinstance(error, ConvertError):
        entry.update(code=error.code, message=error.message)
    else:  # a list of validation problems
        entry.update(code=error[0].code, message=error[0].message, problems=[p.to_dict() for p in error])
    entry["raw"] = record.raw()
    return entry


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
    bar = tqdm(desc=f"split {name}", unit=" samples", disable=None if progress is None else not progress)
    try:
        for record, k, sample, row, _length, error in iter_samples([path], options):
            bar.update()
            if error is not None or sample is None or row is None:
                rejects.append(json.dumps(_reject(record, k, error), ensure_ascii=False, default=repr))
                continue
            rows[categorize(sample)].append(row_json(row))
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
