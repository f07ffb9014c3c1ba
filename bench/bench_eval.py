"""Evaluation throughput: batched generation vs one prompt at a time, and the cost of the grammar.

Loads a model once into LLaMA-Factory's chat engine (default: the offline tiny model, built in a
temp folder) and generates for the same prompts three ways, interleaved over --rounds:
batch size 1 (`ChatModel.chat`), batch size --batch (one padded `generate()`), and batch size
--batch with xgrammar-constrained calls. Prints samples/s side by side with the ratios and writes
bench/results/eval.json. On a GPU pass --model (and --template) of a real model.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from _results import save  # bench/ is on sys.path when a benchmark runs as a script

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", help="model path (default: build the tiny model)")
    parser.add_argument("--template", default="fc_json_qwen")
    parser.add_argument("--data", default=str(ROOT / "data" / "fc_demo.json"))
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is steadiest on shared cores)")
    args = parser.parse_args()
    os.environ.update(HF_HUB_OFFLINE="1", DISABLE_VERSION_CHECK="1", TOKENIZERS_PARALLELISM="false")

    import torch

    from fc_plugin.evaluate.generate import ChatEngineGenerator
    from fc_plugin.evaluate.grammar import CallGrammar
    from fc_plugin.evaluate.inputs import load_gold

    torch.set_num_threads(args.threads)
    model = args.model
    scratch = tempfile.TemporaryDirectory(prefix="fc_bench_tiny_")
    if model is None:
        from fc_plugin.tiny_model import build_tiny_model

        model = str(build_tiny_model(scratch.name))
    items, _ = load_gold(args.data)
    items = (items * ((2 * args.batch) // max(1, len(items)) + 1))[: 2 * args.batch]
    generator = ChatEngineGenerator(model, args.template, max_new_tokens=args.max_new_tokens)
    engine_model = generator.engine.model
    grammar = CallGrammar(generator.engine.tokenizer, engine_model.config.vocab_size)

    modes = {
        "batch 1 (ChatModel.chat)": (1, None),
        f"batch {args.batch}": (args.batch, None),
        f"batch {args.batch} + xgrammar": (args.batch, grammar),
    }
    rates: dict[str, list[float]] = {name: [] for name in modes}
    for _ in range(args.rounds):
        for name, (batch, gram) in modes.items():
            began = time.perf_counter()
            list(generator.generate(items, batch, gram, progress=False))
            rates[name].append(len(items) / (time.perf_counter() - began))
    base = statistics.median(rates["batch 1 (ChatModel.chat)"])
    print(f"{len(items)} prompts, {args.max_new_tokens} new tokens max, {args.rounds} rounds, model {model}")
    print(f"{'mode':32} {'samples/s (median)':>20} {'vs batch 1':>12}")
    summary = {}
    for name, values in rates.items():
        median = statistics.median(values)
        summary[name] = {"samples_per_s": round(median, 3), "ratio_vs_batch_1": round(median / base, 3), "runs": values}
        print(f"{name:32} {median:20.3f} {median / base:11.2f}x")
    out = {
        "benchmark": "eval",
        "model": model if args.model else "tiny (fc_plugin.tiny_model)",
        "template": args.template,
        "prompts": len(items),
        "max_new_tokens": args.max_new_tokens,
        "torch_threads": args.threads,
        "device": str(engine_model.device),
        "results": summary,
    }
    save("eval.json", out)
    scratch.cleanup()


if __name__ == "__main__":
    main()
