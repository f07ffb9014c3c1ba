"""Reports: report.json for machines, report.md for people, report.png (bars per category), A/B compare."""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

from fc_plugin.io import atomic_write_json, atomic_write_text

REPORT_KIND = "fc-plugin-eval-report"

# (key, column title) of the per-category table, in order; a metric absent from a report is skipped
TABLE_METRICS = [
    ("count", "n"),
    ("exact_call_accuracy", "exact"),
    ("call_decision_accuracy", "call/no-call"),
    ("function_name_accuracy", "name"),
    ("argument_precision", "arg P"),
    ("argument_recall", "arg R"),
    ("argument_f1", "arg F1"),
    ("hallucinated_function_rate", "halluc. fn"),
    ("hallucinated_argument_rate", "halluc. arg"),
    ("missing_required_rate", "missing req."),
    ("type_error_rate", "type err."),
    ("unparsable_rate", "unparsable"),
    ("asked_for_missing_rate", "asked (slot)"),
    ("execution_match_rate", "exec match"),
    ("episode_match_rate", "episode match"),
    ("episode_completion_rate", "episode done"),
]
CHART_METRICS = [
    ("exact_call_accuracy", "exact call"),
    ("call_decision_accuracy", "call/no-call"),
    ("argument_f1", "argument F1"),
]
# metrics where lower is better (the compare table marks improvements either way)
LOWER_IS_BETTER = {
    "hallucinated_function_rate",
    "hallucinated_argument_rate",
    "missing_required_rate",
    "type_error_rate",
    "unparsable_rate",
    "latency_p50_s",
    "latency_p99_s",
}


def build_report(
    mode: str,
    summary: dict[str, Any],
    verdicts: list[dict[str, Any]],
    inputs: dict[str, Any],
    problems: list[Any] = (),
    generation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble the report dict (top level: `exact_call_accuracy`, `call_decision_accuracy`, ...)."""
    report: dict[str, Any] = {
        "kind": REPORT_KIND,
        "version": 1,
        "mode": mode,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "inputs": inputs,
        **summary,
    }
    if generation is not None:
        report["generation"] = generation
    report["input_problems"] = [p.to_dict() if hasattr(p, "to_dict") else p for p in problems]
    report["samples"] = verdicts
    return report


def report_paths(out: str | Path) -> tuple[Path, Path, Path]:
    """(json, md, png) paths: `out` ending in .json names the JSON file, anything else is a folder."""
    out = Path(out)
    base = out.with_suffix("") if out.suffix == ".json" else out / "report"
    return base.with_suffix(".json"), base.with_suffix(".md"), base.with_suffix(".png")


def write_report(report: dict[str, Any], out: str | Path) -> tuple[Path, Path, Path]:
    """Write report.json, report.md and report.png atomically; returns their paths."""
    json_path, md_path, png_path = report_paths(out)
    atomic_write_json(json_path, report)
    atomic_write_text(md_path, to_markdown(report))
    write_chart(report, png_path)
    return json_path, md_path, png_path


def load_report(path: str | Path) -> dict[str, Any]:
    """Read a report.json (or a folder holding one); ValueError if it is not an fc-plugin report."""
    path = Path(path)
    if path.is_dir():
        path = path / "report.json"
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(report, dict) or report.get("kind") != REPORT_KIND:
        raise ValueError(f"{path}: not an fc-plugin report (no kind={REPORT_KIND!r})")
    return report


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def to_markdown(report: dict[str, Any]) -> str:
    """A human-readable summary: headline numbers, per-category table, confusion, top reasons."""
    inputs = report.get("inputs", {})
    lines = [f"# Function-calling evaluation ({report.get('mode', '?')})", ""]
    for key, value in inputs.items():
        lines.append(f"- {key}: `{value}`")
    lines += [
        "",
        f"**exact call accuracy {report['exact_call_accuracy']:.3f}**, "
        f"call/no-call decision accuracy {report['call_decision_accuracy']:.3f} "
        f"over {report['overall']['count']} samples.",
        "",
    ]
    if report.get("unseen_value_samples"):
        lines += [
            f"Exact call accuracy on the {report['unseen_value_samples']} samples with an argument value that "
            f"appears in no training file (copied, not remembered): "
            f"**{report['unseen_value_exact_call_accuracy']:.3f}**.",
            "",
        ]
    lines += [
        "## Per category",
        "",
    ]
    blocks = {**report["categories"], "overall": report["overall"]}
    metrics = [(k, t) for k, t in TABLE_METRICS if any(k in b for b in blocks.values())]
    rows = [[name] + [_fmt(b.get(k)) for k, _ in metrics] for name, b in blocks.items()]
    lines += [_table(["category"] + [t for _, t in metrics], rows), ""]
    c = report["confusion"]
    lines += [
        "## Call vs no call (rows: expected, columns: predicted)",
        "",
        _table(
            ["expected \\ predicted", "call", "no call"],
            [
                ["call", str(c["call"]["call"]), str(c["call"]["no_call"])],
                ["no call", str(c["no_call"]["call"]), str(c["no_call"]["no_call"])],
            ],
        ),
        "",
    ]
    reasons = report["overall"].get("reasons") or {}
    if reasons:
        lines += [
            "## Why samples failed",
            "",
            _table(["reason", "samples"], [[k, str(v)] for k, v in reasons.items()]),
            "",
        ]
    gen = report.get("generation")
    if gen:
        lines += [
            "## Generation",
            "",
            _table(
                ["metric", "value"], [[k, _fmt(v)] for k, v in gen.items() if not isinstance(v, (dict, list))]
            ),
            "",
        ]
        ablation = gen.get("grammar_ablation") or {}
        if ablation:
            keys = ["call_json_validity", "call_attempts", "exact_call_accuracy", "call_decision_accuracy"]
            keys += ["samples_per_s", "latency_p50_s"]
            lines += [
                "## Grammar-constrained decoding: with vs without",
                "",
                _table(["grammar", *keys], [[side, *(_fmt(run.get(k)) for k in keys)] for side, run in ablation.items()]),
                "",
            ]
    if report.get("input_problems"):
        lines += [f"## Rejected input records ({len(report['input_problems'])})", ""]
        lines += [f"- {p['file']}: {p['record']}: {p['reason']}" for p in report["input_problems"][:50]]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def write_chart(report: dict[str, Any], path: str | Path) -> Path:
    """A grouped bar chart (per category and overall) of exact-call, decision and argument-F1 rates."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    blocks = {**report["categories"], "overall": report["overall"]}
    metrics = [(k, t) for k, t in CHART_METRICS if any(k in b for b in blocks.values())]
    names = list(blocks)
    width = 0.8 / max(len(metrics), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(names) + 2), 4.2), dpi=110)
    for i, (key, title) in enumerate(metrics):
        xs = [j + (i - (len(metrics) - 1) / 2) * width for j in range(len(names))]
        values = [float(blocks[n].get(key) or 0.0) for n in names]
        bars = ax.bar(xs, values, width, label=title)
        ax.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=6, padding=1)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([f"{n}\n(n={blocks[n].get('count', 0)})" for n in names], fontsize=8)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("rate")
    ax.set_title(f"Function calling by category ({report.get('mode', '')})")
    ax.legend(fontsize=8, loc="upper left", ncols=len(metrics))
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)
    return path


def compare(a: dict[str, Any], b: dict[str, Any], name_a: str = "A", name_b: str = "B") -> str:
    """Markdown A/B table: overall metrics, per-category exact/decision accuracy, generation, deltas."""
    rows: list[list[str]] = []

    def add(label: str, key: str, va: Any, vb: Any) -> None:
        if not isinstance(va, (int, float)) and not isinstance(vb, (int, float)):
            return
        delta = ""
        if isinstance(va, (int, float)) and isinstance(vb, (int, float)) and not isinstance(va, bool):
            d = vb - va
            better = (d < 0) if key in LOWER_IS_BETTER else (d > 0)
            mark = "" if d == 0 or key == "count" else (" ▲" if better else " ▼")
            delta = f"{d:+.3f}{mark}" if isinstance(d, float) else f"{d:+d}"
        rows.append([label, _fmt(va) if va is not None else "-", _fmt(vb) if vb is not None else "-", delta])

    for key, title in TABLE_METRICS:
        add(f"overall {title}", key, a["overall"].get(key), b["overall"].get(key))
    key = "unseen_value_exact_call_accuracy"
    add("unseen-value exact", key, a.get(key), b.get(key))
    for cat in sorted(set(a["categories"]) | set(b["categories"])):
        ca, cb = a["categories"].get(cat, {}), b["categories"].get(cat, {})
        for key, title in (
            ("count", "n"),
            ("exact_call_accuracy", "exact"),
            ("call_decision_accuracy", "call/no-call"),
        ):
            add(f"{cat} {title}", key, ca.get(key), cb.get(key))
    ga, gb = a.get("generation") or {}, b.get("generation") or {}
    for key in ("samples_per_s", "tokens_per_s", "latency_p50_s", "latency_p99_s", "call_json_validity"):
        add(f"generation {key}", key, ga.get(key), gb.get(key))
    header = ["metric", name_a, name_b, "delta (B - A)"]
    return _table(header, rows) + "\n"
