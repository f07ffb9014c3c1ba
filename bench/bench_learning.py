"""Learning: the same tiny base, data and CPU budget trained with each template; held-out accuracy.

Runs the `make demo` pipeline (fc_plugin.demo) once per template — our fc_* templates and
LLaMA-Factory's stock `qwen` template (which renders tools and calls in the same <tool_call> JSON
convention as fc_json_qwen) — with the same synthetic data, the same shipped base model
(models/fc_tiny_base, pretrained on generic ChatML tasks only), the same recipe (demo_full.yaml), seed and
number of epochs (the recipe's unless --epochs), then prints held-out exact-call, call-decision and unseen-value accuracy side by
side and writes bench/results/learning.json. Slow: each template is one full demo training run.

    python bench/bench_learning.py                       # fc_{json,tags,react}_qwen vs qwen
    python bench/bench_learning.py --templates all --epochs 1
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _results import save  # bench/ is on sys.path when a benchmark runs as a script

from fc_plugin.demo import base_model, demo_env, evaluate, prepare_data, train
from fc_plugin.templates import names

DEFAULT = ["fc_json_qwen", "fc_tags_qwen", "fc_react_qwen", "qwen"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--templates", default=",".join(DEFAULT), help="comma list, or 'all' (9 fc_* + qwen)")
    parser.add_argument("--epochs", type=float, help="training epochs per template (default: the recipe's)")
    parser.add_argument("--n", type=int, default=2400, help="synthetic samples (10%% held out)")
    parser.add_argument("--out", default="outputs/bench_learning")
    args = parser.parse_args()
    templates = [*names(), "qwen"] if args.templates == "all" else args.templates.split(",")

    out = Path(args.out)
    env = demo_env()
    data = out / "data"
    prepare_data(data, env, n=args.n)
    base = base_model()
    rows = []
    for template in templates:
        start = time.perf_counter()
        model = out / template / "model"
        epochs = [f"num_train_epochs={args.epochs}"] if args.epochs else []
        train_s = train(base, data, model, env, template, *epochs)
        report = evaluate(model, data, out / template / "eval", env, template)
        rows.append(
            {
                "template": template,
                "exact_call_accuracy": report["exact_call_accuracy"],
                "call_decision_accuracy": report["call_decision_accuracy"],
                "unseen_value_exact_call_accuracy": report.get("unseen_value_exact_call_accuracy"),
                "train_seconds": round(train_s, 1),
                "total_seconds": round(time.perf_counter() - start, 1),
            }
        )
    stock = next((r for r in rows if r["template"] == "qwen"), None)
    print(f"\n{'template':<16} {'exact call':>10} {'decision':>9} {'unseen':>7} {'vs qwen':>8} {'train s':>8}")
    for r in rows:
        ratio = r["exact_call_accuracy"] / stock["exact_call_accuracy"] if stock and stock["exact_call_accuracy"] else None
        r["exact_vs_qwen"] = round(ratio, 3) if ratio is not None else None
        ratio_text = f"{ratio:.2f}x" if ratio is not None else "-"
        print(
            f"{r['template']:<16} {r['exact_call_accuracy']:>10.3f} {r['call_decision_accuracy']:>9.3f} "
            f"{r['unseen_value_exact_call_accuracy'] or 0:>7.3f} {ratio_text:>8} {r['train_seconds']:>8.0f}"
        )
    result = {
        "epochs": args.epochs or "recipe (recipes/demo_full.yaml)",
        "synthetic_samples": args.n,
        "base_model": str(base),
        "rows": rows,
    }
    save("learning.json", result)


if __name__ == "__main__":
    main()
