"""Dataset statistics shared by `convert`, `stats`, `validate` and `synth`: streaming, constant per sample.

Counts by category and by called tool, length percentiles (tokens when a tokenizer measured them,
characters of the row JSON otherwise), reject reasons and duplicates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from fc_plugin.categories import CATEGORIES, categorize
from fc_plugin.sample import Sample

PERCENTILES = (50, 90, 99)


class StatsCollector:
    """Accumulates stats one sample / reject at a time; `to_dict()` and `render()` report them."""

    def __init__(self, length_unit: str = "chars") -> None:
        self.length_unit = length_unit
        self.samples = 0
        self.eval_samples = 0
        self.categories: Counter[str] = Counter({c: 0 for c in CATEGORIES})
        self.tools: Counter[str] = Counter()
        self.turns = 0
        self.calls = 0
        self.lengths: Counter[int] = Counter()  # length -> samples: exact percentiles, bounded memory
        self.rejects: Counter[str] = Counter()
        self.records = 0
        self.skipped = 0  # records that hold no sample by design (e.g. BFCL possible answers)

    def add(self, sample: Sample, length: int | None = None, *, split: str = "train") -> None:
        """Count one valid sample (its length in `length_unit`, if known)."""
        calls = tuple(c.name for m in sample.messages for c in m.tool_calls)
        turns = sum(m.role != "system" for m in sample.messages)
        self.add_summary(categorize(sample), calls, turns, length=length, split=split)

    def add_summary(
        self, category: str, calls: tuple[str, ...], turns: int, *, length: int | None = None, split: str = "train"
    ) -> None:
        """Count one valid sample from its summary: category, called tool names, turns (no system)."""
        self.samples += 1
        if split == "eval":
            self.eval_samples += 1
        self.categories[category] += 1
        self.turns += turns
        self.calls += len(calls)
        self.tools.update(calls)
        if length is not None:
            self.lengths[int(length)] += 1

    def reject(self, code: str) -> None:
        """Count one rejected record or sample by reason code."""
        self.rejects[code] += 1

    def percentiles(self) -> dict[str, int]:
        if not self.lengths:
            return {}
        total = sum(self.lengths.values())
        ranks = {p: min(total - 1, (total * p) // 100) for p in PERCENTILES}  # 0-based rank of each percentile
        out: dict[str, int] = {}
        seen = 0
        for value in sorted(self.lengths):
            seen += self.lengths[value]
            for p, rank in ranks.items():
                if f"p{p}" not in out and rank < seen:
                    out[f"p{p}"] = value
        out["max"] = max(self.lengths)
        out["mean"] = round(sum(v * n for v, n in self.lengths.items()) / total)
        return {k: out[k] for k in [*(f"p{p}" for p in PERCENTILES), "max", "mean"]}

    def to_dict(self, top_tools: int = 20) -> dict[str, Any]:
        """The report as plain JSON-able data."""
        return {
            "records": self.records,
            "samples": self.samples,
            "eval_samples": self.eval_samples,
            "rejected": sum(self.rejects.values()),
            "skipped": self.skipped,
            "categories": dict(self.categories),
            "calls": self.calls,
            "distinct_tools": len(self.tools),
            "tools": dict(self.tools.most_common(top_tools)),
            "length_unit": self.length_unit,
            "length": self.percentiles(),
            "reject_reasons": dict(self.rejects.most_common()),
        }

    def render(self, title: str = "dataset", top_tools: int = 10) -> str:
        """A short human-readable report."""
        d = self.to_dict(top_tools)
        n = max(d["samples"], 1)
        lines = [f"{title}: {d['samples']} sample(s)"
                 + (f" ({d['eval_samples']} eval)" if d["eval_samples"] else "")
                 + (f" from {d['records']} record(s)" if d["records"] else "")
                 + f", {d['rejected']} rejected"
                 + (f", {d['skipped']} context-only record(s) skipped" if d["skipped"] else "")]  # fmt: skip
        cats = ", ".join(f"{c} {k} ({100 * k / n:.0f}%)" for c, k in d["categories"].items())
        lines.append(f"  categories: {cats}")
        if d["tools"]:
            tools = ", ".join(f"{t} {k}" for t, k in d["tools"].items())
            more = f" (+{d['distinct_tools'] - len(d['tools'])} more)" if d["distinct_tools"] > len(d["tools"]) else ""
            lines.append(f"  calls: {d['calls']} to {d['distinct_tools']} tool(s): {tools}{more}")
        if d["length"]:
            pct = ", ".join(f"{k} {v}" for k, v in d["length"].items())
            lines.append(f"  length ({d['length_unit']}): {pct}")
        if d["reject_reasons"]:
            reasons = ", ".join(f"{c} {k}" for c, k in d["reject_reasons"].items())
            lines.append(f"  reject reasons: {reasons}")
        return "\n".join(lines)


def dataset_stats(samples: Iterable[Sample], lengths: Iterable[int] | None = None) -> StatsCollector:
    """Stats of an iterable of valid samples (optionally with their lengths, same order)."""
    stats = StatsCollector("tokens" if lengths is not None else "chars")
    length_iter = iter(lengths) if lengths is not None else None
    for sample in samples:
        stats.add(sample, next(length_iter, None) if length_iter is not None else None)
    return stats


__all__ = ["PERCENTILES", "StatsCollector", "dataset_stats"]
