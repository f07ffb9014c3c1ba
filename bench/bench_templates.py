"""Encoding speed of LLaMA-Factory's preprocessing with each fc template (and `fc_native`) vs the stock `qwen` template.

The same N synthetic samples (seed tools, `fc_plugin.synth.Generator` + `fc_plugin.sharegpt.to_sharegpt`,
deterministic) go through LLaMA-Factory's own training path for every side: the `sharegpt` dataset
converter, one example at a time, then `SupervisedDatasetProcessor.preprocess_dataset` in batches of
`preprocessing_batch_size` (1000), on the tiny model's tokenizer. The stock `qwen` template reads the
same rows through LLaMA-Factory's own `qwen` tool format. `fc_native` renders with the tokenizer's own chat
template: the side's tokenizer gets a Qwen2.5-style one (`native_chat_template`). The `datasets.map` / Arrow layer around these
calls is left out: it costs both sides the same and would only pull the ratios towards 1.

Four datasets:
- `synthetic`: the samples as generated (8 distinct system + tool sets, as in most synthetic data);
- `unique`: the same samples with one line added to each system prompt, so no two samples share a
  system turn (the worst case for fc's per-system-turn caches);
- `xlam`, `glaive`: real-data shapes with per-sample tools (as xLAM, glaive, ToolACE and BFCL have):
  the shipped data/raw records scaled up, every copy with its own tool descriptions (some Chinese),
  converted by `fc-plugin convert`'s own steps (`real_rows`).

Synthetic samples carry no `<thought>` (thought_rate=0): the stock `qwen` template cannot read
fc-plugin's `<thought>` prefix in a function_call. Every pass starts with fc-plugin's caches empty.
Samples/s come from process CPU time (the machine is shared; wall time is reported too). The host's
speed drifts by tens of percent within seconds, so each side is timed right next to a pass of `qwen`,
in alternating order, round after round, and its speed is the median of those paired ratios (their
range is kept in the JSON). The Rust tokenizer runs on one thread (`TOKENIZERS_PARALLELISM=false`
unless set otherwise): its thread pool's idle spinning would count as CPU time of whichever side
tokenizes several texts per call, which measures the machine's other jobs, not the template. What the
setup built (torch, transformers, LLaMA-Factory, the datasets) is frozen out of the garbage collector
(`gc.freeze`): a full collection, which any side's allocations trigger now and then, would otherwise
scan it for ~0.3 s CPU, as long as a whole pass of 300 samples, and land on whichever side happens to
run. Prints samples/s side by side and each side's speed relative to `qwen` (target: >= 1.0 on every
dataset), and writes bench/results/templates.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _results import save  # bench/ is on sys.path when a benchmark runs as a script
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "data" / "tools" / "seed_tools.json"
TEMPLATES = ROOT / "data" / "tools" / "seed_templates.json"
RAW = ROOT / "data" / "raw"
STOCK = "qwen"
#: Speed vs stock `qwen` to reach on every dataset, per-sample tool lists (real data's common case) included.
TARGET = 1.0
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # before tokenizers starts its thread pool


def synthetic_rows(n: int, seed: int) -> list[dict[str, Any]]:
    """N deterministic ShareGPT rows from the synthetic generator (en + zh, default mix, no thoughts)."""
    from fc_plugin.sharegpt import to_sharegpt
    from fc_plugin.synth import Generator, SynthConfig, load_templates, load_tools

    tools = load_tools(TOOLS)
    config = SynthConfig(n=n, langs=("en", "zh"), seed=seed, thought_rate=0.0)
    return [to_sharegpt(s) for s in Generator(tools, config, load_templates(TEMPLATES, tools)).generate()]


def with_unique_system(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same rows, each with its own system prompt (one line added), so no system turn repeats."""
    return [{**row, "system": f"{row['system']}\nConversation {i}."} for i, row in enumerate(rows)]


def real_rows(source: str, n: int) -> list[dict[str, Any]]:
    """N ShareGPT rows converted by `fc-plugin convert`'s own steps from records shaped like the real
    `source` data (data/raw/SOURCE.json, xLAM or glaive), scaled up: copy k of a raw record gets every
    description prefixed with `vK` (every third in Chinese), so every sample has its own tool list."""
    from fc_plugin.convert import convert_record, get_format
    from fc_plugin.normalize import normalize_sample
    from fc_plugin.sharegpt import to_sharegpt
    from fc_plugin.validate import validate_sample

    raw = json.loads((RAW / f"{source}.json").read_text(encoding="utf-8"))
    module, rows = get_format(source), []
    for k in range(n):
        prefix = f"v{k} 版本 " if k % 3 == 2 else f"v{k} "
        text = json.dumps(raw[k % len(raw)], ensure_ascii=False)
        text = text.replace('\\"description\\": \\"', '\\"description\\": \\"' + prefix)  # inside a JSON string
        sample = normalize_sample(convert_record(module, json.loads(text))[0])
        if validate_sample(sample):
            raise RuntimeError(f"{source} record {k % len(raw)}: {validate_sample(sample)[0]}")
        rows.append(to_sharegpt(sample))
    return rows


NATIVE = "fc_native"


def native_chat_template() -> str:
    """The chat template the fc_native side's tokenizer carries: the Qwen2.5-style one of
    tests/test_native_template.py (written from the published template's facts: ChatML, tools as
    `tojson` lines in the system turn, `<tool_call>` JSON calls, `<tool_response>` results)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from test_native_template import QWEN25

    return QWEN25


class Side:
    """One template set up exactly as `llamafactory-cli train` sets it up: converter, template, processor."""

    def __init__(self, name: str, model_dir: Path) -> None:
        from llamafactory.data.converter import get_dataset_converter
        from llamafactory.data.parser import DatasetAttr
        from llamafactory.data.processor import SupervisedDatasetProcessor
        from llamafactory.data.template import get_template_and_fix_tokenizer
        from llamafactory.hparams import DataArguments
        from transformers import AutoTokenizer

        from fc_plugin.sharegpt import SHAREGPT_ENTRY

        self.name = name
        self.data_args = DataArguments(template=name, cutoff_len=4096)
        attr = DatasetAttr("file", "bench", formatting="sharegpt")
        for key, value in {**SHAREGPT_ENTRY["columns"], **SHAREGPT_ENTRY["tags"]}.items():
            setattr(attr, key, value)
        self.converter = get_dataset_converter("sharegpt", attr, self.data_args)
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        if name == NATIVE:  # the model's own chat template (the tiny tokenizer has none)
            tokenizer.chat_template = native_chat_template()
        template = get_template_and_fix_tokenizer(tokenizer, self.data_args)
        self.processor = SupervisedDatasetProcessor(
            template=template, tokenizer=tokenizer, processor=None, data_args=self.data_args
        )

    def preprocess(self, rows: list[dict[str, Any]]) -> int:
        """Convert and tokenize `rows` the way LLaMA-Factory's dataset maps do; return the examples kept."""
        kept, batch_size = 0, self.data_args.preprocessing_batch_size
        for start in range(0, len(rows), batch_size):
            examples = [self.converter(row) for row in rows[start : start + batch_size]]
            batch = {key: [e[key] for e in examples] for key in examples[0]}
            kept += len(self.processor.preprocess_dataset(batch)["input_ids"])
        return kept


def cold_caches() -> None:
    """Empty fc-plugin's caches (system turns, their ids, checked tools and schemas), as in a fresh
    training process that sees each sample once: a later round must not find the samples of the
    previous one (which it would whenever N fits the caches)."""
    from fc_plugin.formats import llamafactory
    from fc_plugin.validate import compiled_schema

    for cache in (llamafactory.system_turn, llamafactory._checked_tools, compiled_schema):
        cache.cache_clear()
    llamafactory._head_ids.clear()


def timed_pass(side: Side, rows: list[dict[str, Any]]) -> tuple[float, float]:
    """(CPU, wall) samples/s of one pass of `side` over `rows`, fc-plugin's caches empty."""
    cold_caches()
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    kept = side.preprocess(rows)
    cpu, wall = len(rows) / (time.process_time() - start_cpu), len(rows) / (time.perf_counter() - start_wall)
    if kept != len(rows):
        raise RuntimeError(f"{side.name}: LLaMA-Factory kept {kept} of {len(rows)} samples")
    return cpu, wall


def measure(sides: list[Side], rows: list[dict[str, Any]], rounds: int, label: str) -> dict[str, dict[str, float]]:
    """Every side's speed relative to stock `qwen`: in each round, each side runs right next to a pass of
    `qwen` (before it in even rounds, after it in odd ones), and its speed is the median over rounds of
    its CPU samples/s over that `qwen` pass's; samples/s are medians over rounds."""
    for side in sides:  # warm-up: compile the Jinja, load the tokenizer's caches
        side.preprocess(rows[:50])
    stock_side = next(s for s in sides if s.name == STOCK)
    others = [s for s in sides if s.name != STOCK]
    cpu: dict[str, list[float]] = {s.name: [] for s in sides}
    wall: dict[str, list[float]] = {s.name: [] for s in sides}
    ratios: dict[str, list[float]] = {s.name: [] for s in others}
    with tqdm(total=rounds * len(others), desc=f"{label}: {len(rows)} samples x {len(sides)} templates") as bar:
        for round_index in range(rounds):
            for side in others:
                pair = (stock_side, side) if round_index % 2 == 0 else (side, stock_side)
                speeds = {s.name: timed_pass(s, rows) for s in pair}
                for name, (cpu_speed, wall_speed) in speeds.items():
                    cpu[name].append(cpu_speed)
                    wall[name].append(wall_speed)
                ratios[side.name].append(speeds[side.name][0] / speeds[STOCK][0])
                bar.update()
    return {
        name: {
            "samples_per_s_cpu": round(statistics.median(cpu[name])),
            "samples_per_s_wall": round(statistics.median(wall[name])),
            "speed_vs_qwen": round(statistics.median(ratios[name]), 2) if name in ratios else 1.0,
            "speed_vs_qwen_range": ([round(min(ratios[name]), 2), round(max(ratios[name]), 2)]
                                    if name in ratios else [1.0, 1.0]),
        }
        for name in cpu
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="samples (default 10,000)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--templates", default="all",
                        help=f"comma-separated fc templates (default: all nine and {NATIVE})")
    args = parser.parse_args()

    import fc_plugin
    from fc_plugin import templates
    from fc_plugin.tiny_model import build_tiny_model

    fc_plugin.register()
    names = [*templates.names(), NATIVE] if args.templates == "all" else args.templates.split(",")
    print(f"generating {args.n} samples ...", file=sys.stderr)
    datasets = {"synthetic": synthetic_rows(args.n, args.seed)}
    datasets["unique"] = with_unique_system(datasets["synthetic"])
    datasets["xlam"] = real_rows("xlam", args.n)
    datasets["glaive"] = real_rows("glaive", args.n)
    if len({row["tools"] for row in datasets["xlam"] + datasets["glaive"]}) != 2 * args.n:
        raise RuntimeError("the xlam/glaive rows should each have their own tool list")
    result: dict[str, Any] = {
        "samples": args.n, "rounds": args.rounds, "seed": args.seed, "target_speed_vs_qwen": TARGET,
        "path": "LLaMA-Factory sharegpt converter + SupervisedDatasetProcessor.preprocess_dataset, cutoff_len 4096",
        "tokenizer": "fc_plugin.tiny_model (byte-level BPE, 1024 tokens)",
    }
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build_tiny_model(tmp)
        sides = [Side(name, model_dir) for name in [STOCK, *names]]
        gc.collect()
        gc.freeze()  # see the module docstring: full collections then skip the setup's objects
        for label, rows in datasets.items():
            result[label] = measure(sides, rows, args.rounds, label)
    from fc_plugin.compiled import active_modules

    result["compiled_modules"] = len(active_modules())  # `fc-plugin compile`; 0 with FC_PLUGIN_PURE=1

    print(f"\n{'template':<16}" + "".join(f"{label + ' /s':>16}{'vs qwen':>9}" for label in datasets))
    for name in [STOCK, *names]:
        cells = "".join(f"{result[d][name]['samples_per_s_cpu']:>16}{result[d][name]['speed_vs_qwen']:>9.2f}"
                        for d in datasets)
        print(f"{name:<16}{cells}")
    fc_names = [n for n in names if n != NATIVE]
    for label in datasets:
        parts = []
        if fc_names:
            worst = min(fc_names, key=lambda n: result[label][n]["speed_vs_qwen"])
            parts.append(f"slowest fc template {worst} at {result[label][worst]['speed_vs_qwen']:.2f}x qwen")
        if NATIVE in names:
            parts.append(f"{NATIVE} {result[label][NATIVE]['speed_vs_qwen']:.2f}x")
        print(f"{label}: {'; '.join(parts)} (target >= {TARGET})")
    print(f"fc-plugin modules compiled (`fc-plugin compile`): {result['compiled_modules']}")

    save("templates.json", result)


if __name__ == "__main__":
    main()
