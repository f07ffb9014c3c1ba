"""Data mixing: `interleave_probs` that make a general-chat : function-call ratio hold in samples.

How LLaMA-Factory mixes (`mix_strategy: interleave_under|interleave_over` + `interleave_probs`):
each training row is drawn from dataset i with probability p_i, taking that dataset's rows in
order; `interleave_under` stops when the first dataset runs out, `interleave_over` when the last
one does (the others start over, i.e. are repeated). So p is the ratio of rows *drawn*, and it
is applied before LLaMA-Factory drops the rows it cannot use (bad role order, odd turn count,
no response: "Skipping this abnormal example" / "Dropped invalid example"). If 20% of the
function-call rows are dropped, p = 2:1 trains on 2:0.8 = 2.5:1.

`plan_mix` counts, with LLaMA-Factory's own dataset registry and converters, how many rows of
each dataset LLaMA-Factory will load and how many it will keep, and sets p_i proportional to
ratio_i / kept_fraction_i, so the ratio holds in the samples that are trained on. Because
drawing is random the counts scatter around that ratio by about 1/sqrt(samples), e.g. ~1% at
10k samples. `interleave_once` needs a newer `datasets` than LLaMA-Factory 0.9.5 pins and
ignores the probabilities for the counts (every row once), so it is refused.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STRATEGIES = ("interleave_under", "interleave_over")
PROB_DECIMALS = 6


@dataclass
class SourceSize:
    """One dataset as LLaMA-Factory will see it: rows loaded and rows it keeps (valid)."""

    name: str
    rows: int
    valid: int
    note: str = ""

    @property
    def valid_fraction(self) -> float:
        return self.valid / self.rows if self.rows else 0.0


@dataclass
class SourcePlan:
    """Expected outcome of mixing for one dataset."""

    name: str
    share: float  # wanted share of the trained samples
    prob: float  # interleave probability
    drawn: float  # expected rows drawn (before LLaMA-Factory drops invalid ones)
    trained: float  # expected samples kept for training
    passes: float  # how many times its rows are gone through (>1: repeated by interleave_over)


@dataclass
class MixPlan:
    datasets: list[str]
    strategy: str
    probs: list[float]
    sources: list[SourcePlan] = field(default_factory=list)

    @property
    def total_trained(self) -> float:
        return sum(s.trained for s in self.sources)

    def recipe_overrides(self) -> dict[str, str]:
        """The recipe keys to set: dataset, mix_strategy, interleave_probs."""
        return {
            "dataset": ",".join(self.datasets),
            "mix_strategy": self.strategy,
            "interleave_probs": ",".join(f"{p:.{PROB_DECIMALS}f}".rstrip("0").rstrip(".") for p in self.probs),
        }

    def yaml_lines(self) -> str:
        """The lines to paste into a recipe."""
        return "".join(f"{k}: {v}\n" for k, v in self.recipe_overrides().items())

    def report(self) -> str:
        """A table of what to expect per dataset."""
        head = f"{'dataset':<24} {'share':>7} {'prob':>9} {'rows drawn':>11} {'trained':>9} {'passes':>7}"
        lines = [head, "-" * len(head)]
        for s in self.sources:
            lines.append(
                f"{s.name:<24} {s.share:>7.1%} {s.prob:>9.6f} {s.drawn:>11.0f} {s.trained:>9.0f} {s.passes:>7.2f}"
            )
        lines.append(f"{'total':<24} {'':>7} {'':>9} {sum(s.drawn for s in self.sources):>11.0f} "
                     f"{self.total_trained:>9.0f}")  # fmt: skip
        return "\n".join(lines)


def parse_ratio(text: str, count: int | None = None) -> list[float]:
    """`"2:1"` -> [2.0, 1.0]; every part must be a positive number."""
    parts = [p.strip() for p in re.split(r"[:,]", text)]
    try:
        ratio = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"ratio {text!r}: expected numbers separated by ':' like 2:1") from None
    if any(not math.isfinite(r) or r <= 0 for r in ratio):
        raise ValueError(f"ratio {text!r}: every part must be a positive number")
    if count is not None and len(ratio) != count:
        raise ValueError(f"ratio {text!r} has {len(ratio)} parts but {count} datasets were given")
    return ratio


def _load_rows(files: list[str]) -> Any:
    from datasets import load_dataset
    from datasets.utils.logging import disable_progress_bar
    from llamafactory.extras.constants import FILEEXT2TYPE

    disable_progress_bar()
    ext = Path(files[0]).suffix.lstrip(".")

    kind = FILEEXT2TYPE.get(ext)
    if kind is None:
        raise ValueError(f"{files[0]}: LLaMA-Factory cannot load .{ext} files")
    return load_dataset(kind, data_files=files, split="train")


def _dataset_files(dataset_dir: str | Path, file_name: str) -> list[str]:
    path = os.path.join(dataset_dir, file_name)
    if os.path.isdir(path):
        return sorted(os.path.join(path, f) for f in os.listdir(path))
    if os.path.isfile(path):
        return [path]
    raise ValueError(f"dataset file {path} not found")


def count_valid(rows: Any, dataset_attr: Any) -> int:
    """How many rows LLaMA-Factory keeps: its own converter, then its processor's validity rule."""
    from llamafactory.data.converter import get_dataset_converter
    from llamafactory.hparams import DataArguments

    converter = get_dataset_converter(dataset_attr.formatting, dataset_attr, DataArguments())
    lf_logger = logging.getLogger("llamafactory.data.converter")  # one warning per bad row: muted here
    level = lf_logger.level
    lf_logger.setLevel(logging.ERROR)
    kept = 0
    try:
        for row in rows:
            try:
                out = converter(row)
            except (KeyError, TypeError, AttributeError, ValueError):
                continue  # a row LLaMA-Factory's converter cannot read at all
            kept += len(out["_prompt"]) % 2 == 1 and len(out["_response"]) == 1
    finally:
        lf_logger.setLevel(level)
    return kept


def dataset_sizes(
    names: Sequence[str],
    dataset_dir: str | Path = ".",
    *,
    max_samples: int | None = None,
    known: dict[str, int] | None = None,
) -> list[SourceSize]:
    """Rows LLaMA-Factory loads and keeps for each named dataset of `dataset_dir/dataset_info.json`.

    Local files are read and run through LLaMA-Factory's converter (honouring `num_samples` in the
    entry and `max_samples`). Hub datasets cannot be counted offline: give their row count in
    `known` ({name: rows}); they are assumed fully valid.
    """
    from llamafactory.data.parser import get_dataset_list

    info = Path(dataset_dir) / "dataset_info.json"
    try:
        attrs = get_dataset_list(list(names), str(dataset_dir))
    except (ValueError, OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{info}: {exc}") from None
    known = known or {}
    sizes = []
    for name, attr in zip(names, attrs, strict=True):
        if name in known:
            rows = known[name]
            sizes.append(SourceSize(name, rows, rows, "size given, assumed all valid"))
            continue
        if attr.load_from != "file":
            raise ValueError(
                f"{info}: dataset {name!r} is loaded from {attr.load_from} ({attr.dataset_name}) and cannot be "
                f"counted offline; give its size with --size {name}=ROWS"
            )
        data = _load_rows(_dataset_files(dataset_dir, attr.dataset_name))
        total, note = len(data), ""
        if attr.num_samples is None:
            if max_samples is not None and max_samples < total:  # LLaMA-Factory keeps the first rows
                data = data.select(range(max_samples))
                note = f"first {max_samples} of {total} rows (max_samples)"
            rows, valid = len(data), count_valid(data, attr)
        else:  # LLaMA-Factory draws num_samples rows at random (with replacement past the file's size)
            rows = min(attr.num_samples, max_samples or attr.num_samples)
            valid = round(count_valid(data, attr) * rows / total) if total else 0
            note = f"num_samples={attr.num_samples} in dataset_info.json"
        if rows == 0 or valid == 0:
            raise ValueError(f"{info}: dataset {name!r} has no sample LLaMA-Factory would keep ({rows} rows)")
        sizes.append(SourceSize(name, rows, valid, note))
    return sizes


def plan_mix(sizes: Sequence[SourceSize], ratio: Sequence[float], strategy: str = "interleave_under") -> MixPlan:
    """The interleave probabilities (summing to 1) that make the trained samples follow `ratio`."""
    if strategy not in STRATEGIES:
        raise ValueError(f"mix strategy {strategy!r}: use one of {', '.join(STRATEGIES)} "
                         "(interleave_once fails with datasets 4.0 and ignores the probabilities)")  # fmt: skip
    if len(sizes) < 2:
        raise ValueError("mixing needs at least two datasets")
    if len(ratio) != len(sizes):
        raise ValueError(f"{len(ratio)} ratio parts for {len(sizes)} datasets")
    weights = [r / s.valid_fraction for r, s in zip(ratio, sizes, strict=True)]
    probs = [round(w / sum(weights), PROB_DECIMALS) for w in weights]
    probs[-1] = round(1.0 - sum(probs[:-1]), PROB_DECIMALS)  # numpy wants them to sum to 1 exactly
    if min(probs) <= 0:
        raise ValueError(f"ratio {list(ratio)} gives a zero probability at {PROB_DECIMALS} decimals")
    exhaust = [s.rows / p for s, p in zip(sizes, probs, strict=True)]  # draws until each dataset has been gone through
    draws = min(exhaust) if strategy == "interleave_under" else max(exhaust)
    shares = [r / sum(ratio) for r in ratio]
    sources = [
        SourcePlan(s.name, share, p, p * draws, p * draws * s.valid_fraction, p * draws / s.rows)
        for s, share, p in zip(sizes, shares, probs, strict=True)
    ]
    return MixPlan([s.name for s in sizes], strategy, probs, sources)


def set_recipe_keys(text: str, values: dict[str, str]) -> str:
    """Set top-level `key: value` lines of a recipe's YAML text, keeping its comments and order."""
    lines = text.splitlines()
    anchor = next((i for i, line in enumerate(lines) if line.startswith("dataset:")), len(lines) - 1)
    for key, value in values.items():
        pattern = re.compile(rf"^{re.escape(key)}\s*:")
        hits = [i for i, line in enumerate(lines) if pattern.match(line)]
        if hits:
            lines[hits[0]] = f"{key}: {value}"
            for i in reversed(hits[1:]):
                del lines[i]
        else:  # new keys go below `dataset:` (or the previous new key), in the given order
            anchor += 1
            lines.insert(anchor, f"{key}: {value}")
    return "\n".join(lines) + "\n"


__all__ = [
    "STRATEGIES",
    "MixPlan",
    "SourcePlan",
    "SourceSize",
    "count_valid",
    "dataset_sizes",
    "parse_ratio",
    "plan_mix",
    "set_recipe_keys",
]
