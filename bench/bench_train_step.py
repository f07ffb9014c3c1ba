"""Training-step time on the demo's base and data: every logit vs the labelled positions only (FC_PLUGIN_LABELLED_LOGITS).

N synthetic samples (seed tools, `make demo`'s synth settings) are encoded by
LLaMA-Factory's own training path with the demo's template (bench_templates.Side: sharegpt converter +
SupervisedDatasetProcessor), then each side runs forward, backward and an AdamW step on the shipped
base (models/fc_tiny_base), one sample per step as each demo worker does, one BLAS thread. The sides
differ only in the model's forward: transformers' own, or `fc_plugin.labelled_logits.wrap_forward` of it.
Both start from the same weights and optimizer state each round; rounds are interleaved so machine noise
hits both alike; time is process CPU time. Prints ms per step side by side and the ratio, checks that
both sides' losses agree, and writes bench/results/train_step.json.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from typing import Any

from _results import save  # bench/ is on sys.path when a benchmark runs as a script
from bench_templates import TEMPLATES, TOOLS, Side
from tqdm import tqdm


def encoded_samples(n: int, seed: int) -> list[dict[str, Any]]:
    """`n` samples made as `make demo` makes them (English, one tool, no thoughts, half the near-miss no-calls
    for an unlisted tool), encoded as LLaMA-Factory encodes them for training (input_ids, labels)."""
    from fc_plugin.base_model import SHIPPED
    from fc_plugin.demo import TEMPLATE, UNAVAILABLE_RATE
    from fc_plugin.sharegpt import to_sharegpt
    from fc_plugin.synth import Generator, SynthConfig, load_templates, load_tools

    tools = load_tools(TOOLS)
    config = SynthConfig(n=n, seed=seed, thought_rate=0.0, max_tools=1, unavailable_rate=UNAVAILABLE_RATE)
    rows = [to_sharegpt(s) for s in Generator(tools, config, load_templates(TEMPLATES, tools)).generate()]
    side = Side(TEMPLATE, SHIPPED)
    examples = [side.converter(row) for row in rows]
    batch = side.processor.preprocess_dataset({key: [e[key] for e in examples] for key in examples[0]})
    return [
        {"input_ids": ids, "labels": labels}
        for ids, labels in zip(batch["input_ids"], batch["labels"], strict=True)
    ]


def run_side(model: Any, forward: Any, samples: list[dict[str, Any]]) -> tuple[float, float]:
    """(CPU seconds, mean loss) of one step per sample: forward, backward, AdamW."""
    import torch

    model = copy.deepcopy(model)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    losses = []
    start = time.process_time()
    for sample in samples:
        ids = torch.tensor([sample["input_ids"]])
        out = forward(
            model, input_ids=ids, attention_mask=torch.ones_like(ids), labels=torch.tensor([sample["labels"]])
        )
        out.loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(out.loss.item())
    return time.process_time() - start, statistics.fmean(losses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=64, help="samples (steps) per side and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForCausalLM

    from fc_plugin.base_model import SHIPPED
    from fc_plugin.labelled_logits import wrap_forward

    torch.set_num_threads(1)
    samples = encoded_samples(args.n, args.seed)
    model = AutoModelForCausalLM.from_pretrained(SHIPPED)
    plain = type(model).forward
    sides = {"every logit": plain, "labelled logits": wrap_forward(plain)}
    tokens = statistics.fmean(len(s["input_ids"]) for s in samples)
    labelled = statistics.fmean(sum(label != -100 for label in s["labels"]) for s in samples)
    run_side(model, plain, samples[:4])  # warm-up
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    loss: dict[str, float] = {}
    with tqdm(total=args.rounds * len(sides), desc=f"{args.n} steps x {len(sides)} sides") as bar:
        for _ in range(args.rounds):
            for name, forward in sides.items():
                seconds, loss[name] = run_side(model, forward, samples)
                cpu[name].append(seconds / len(samples) * 1000)
                bar.update()
    if abs(loss["every logit"] - loss["labelled logits"]) > 1e-3 * abs(loss["every logit"]):
        raise RuntimeError(f"the sides' losses differ: {loss}")
    ms = {name: statistics.median(values) for name, values in cpu.items()}
    print(
        f"\n{args.n} samples: mean {tokens:.0f} tokens, {labelled:.0f} labelled; median of {args.rounds} rounds, CPU ms per step"
    )
    for name in sides:
        print(
            f"  {name:16} {ms[name]:7.1f} ms  x{ms['every logit'] / ms[name]:.2f} speed  (mean loss {loss[name]:.4f})"
        )
    save("train_step.json", {
        "samples": args.n, "rounds": args.rounds, "mean_tokens": round(tokens), "mean_labelled": round(labelled),
        "ms_per_step": {name: round(value, 1) for name, value in ms.items()},
        "speed_vs_every_logit": round(ms["every logit"] / ms["labelled logits"], 2),
    })  # fmt: skip


if __name__ == "__main__":
    main()
