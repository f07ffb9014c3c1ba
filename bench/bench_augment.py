"""Augmentation: the same tiny base, data and CPU budget trained with and without `fc-plugin augment`,
scored on held-out samples of the seen tools and of tools that never appear in training.

Runs the `make demo` data and training steps (fc_plugin.demo) twice from the shipped base
(models/fc_tiny_base) with the same recipe (recipes/demo_full.yaml: same epochs, batch, seed):
once on the demo's datasets as they are, once on `fc-plugin augment` of the same datasets (one
augmented sample per input, so the same number of samples and steps). Both models are scored by
`fc-plugin eval` on
- seen: the demo's held-out split (fc_demo_synth_eval: the seeds' seven tools);
- unseen: `fc-plugin synth` samples for data/tools/heldout_tools.json (six tools with other names,
  parameters and schemas, phrased by data/tools/heldout_templates.json; same categories and options
  as the demo's data);
and the exact call accuracy, function-name accuracy and argument F1 of both are printed side by side
and written to bench/results/augment.json. Goal (issue 16): augmentation at least doubles exact calls
on unseen tools and costs at most 2 points on seen ones. `--names random,words` (the default) trains
one augmented model per style of masked names (pseudo-words as in Hammer, or common English words)
next to the plain one. Slow: three full demo trainings.

    python bench/bench_augment.py                    # the full run (three trainings, six evaluations)
    python bench/bench_augment.py --names random     # plain vs the default augmentation only
    python bench/bench_augment.py --max-steps 30 --eval-samples 40 --out outputs/bench_augment_dev
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _results import save  # bench/ is on sys.path when a benchmark runs as a script

from fc_plugin.demo import (
    MAX_NEW_TOKENS,
    TEMPLATE,
    TRAIN_SETS,
    base_model,
    demo_env,
    prepare_data,
    run_step,
    run_steps_together,
    train,
)

HELDOUT_TOOLS = "data/tools/heldout_tools.json"
HELDOUT_PHRASES = "data/tools/heldout_templates.json"
METRICS = ("exact_call_accuracy", "function_name_accuracy", "argument_f1", "call_decision_accuracy")
SHOWN = (*METRICS, "call_case_exact")  # the last: exact on the cases whose expected turn is a call


def eval_cmd(model: Path, data: Path, out: Path, max_samples: int | None) -> list[str]:
    """`fc-plugin eval` of `model` on the gold file `data`."""
    return [
        "fc-plugin", "eval", "--model", str(model), "--template", TEMPLATE, "--data", str(data), "--out", str(out),
        "--batch-size", "16", "--max-new-tokens", str(MAX_NEW_TOKENS),
        *(["--max-samples", str(max_samples)] if max_samples else []),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2400, help="synthetic samples for the seen tools (10%% held out)")
    parser.add_argument("--unseen", type=int, default=300, help="held-out samples for the unseen tools")
    parser.add_argument("--seed", type=int, default=0, help="data, augmentation and training seed")
    parser.add_argument("--max-steps", type=int, help="cap training steps (development runs)")
    parser.add_argument("--eval-samples", type=int, help="score only the first N cases of each set (development runs)")
    parser.add_argument("--out", default="outputs/bench_augment")
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results/augment.json")
    parser.add_argument("--names", default="random,words",
                        help="masked-name styles to train one augmented model each (fc-plugin augment --names)")
    args = parser.parse_args()
    styles = [style.strip() for style in args.names.split(",") if style.strip()]
    variants = ["plain", *(f"augmented_{style}" for style in styles)]

    out = Path(args.out)
    env = demo_env()
    data = out / "data"
    info = data / "dataset_info.json"
    started = time.perf_counter()
    prepare_data(data, env, n=args.n, seed=args.seed)
    run_step(
        "held-out samples for tools that never appear in training (other names and schemas)",
        ["fc-plugin", "synth", "--tools", HELDOUT_TOOLS, "--templates", HELDOUT_PHRASES, "--n", str(args.unseen),
         "--lang", "en", "--seed", str(args.seed + 1), "--max-tools", "1", "--thought-rate", "0",
         "--out", str(data / "fc_unseen_tools.json"), "--info", str(info), "--no-progress"],
        env,
    )  # fmt: skip
    augment_s = {}
    for style in styles:
        augment_s[style] = run_step(
            f"the same training data, augmented (masked names from {style} words, distractors, shuffled tools, irrelevance)",
            ["fc-plugin", "augment", *TRAIN_SETS, "--info", str(info), "--names", style,
             "--out", str(data / f"fc_demo_aug_{style}.json"), "--name", f"fc_demo_aug_{style}",
             "--seed", str(args.seed), "--no-progress"],
            env,
        )  # fmt: skip
    seen_names = {t["name"] for t in json.loads(Path("data/tools/seed_tools.json").read_text())}
    unseen_names = {t["name"] for t in json.loads(Path(HELDOUT_TOOLS).read_text())}
    if seen_names & unseen_names:
        raise SystemExit(f"held-out tools overlap the training tools: {sorted(seen_names & unseen_names)}")

    base = base_model()
    short = [f"max_steps={args.max_steps}"] if args.max_steps else []
    datasets = {"plain": [], **{f"augmented_{style}": [f"dataset=fc_demo_aug_{style}"] for style in styles}}
    train_s = {}
    for variant in variants:
        train_s[variant] = train(base, data, out / variant / "model", env, TEMPLATE, f"seed={args.seed}",
                                 *datasets[variant], *short)  # fmt: skip
    sets = {"seen": data / "fc_demo_synth_eval.json", "unseen": data / "fc_unseen_tools.json"}
    for variant in variants:  # one process per core: both sets of one model at once
        steps = []
        for k, (which, gold) in enumerate(sets.items()):
            folder = out / variant / f"eval_{which}"
            folder.mkdir(parents=True, exist_ok=True)
            cmd = eval_cmd(out / variant / "model", gold, folder, args.eval_samples)
            steps.append((f"evaluation of the {variant} model on {which} tools", cmd, folder / "eval.log" if k else None))
        run_steps_together(steps, env)

    rows = []
    for variant in variants:
        row: dict = {"variant": variant, "train_seconds": round(train_s[variant], 1)}
        for which in sets:
            report = json.loads((out / variant / f"eval_{which}" / "report.json").read_text())
            overall = report["overall"]
            row[which] = {m: overall.get(m) for m in METRICS}
            calls = [s for s in report.get("samples", []) if s.get("expected_call")]
            row[which]["call_case_exact"] = round(sum(bool(s["exact_match"]) for s in calls) / len(calls), 6) if calls else None
            row[which]["cases"], row[which]["call_cases"] = overall["count"], len(calls)
        rows.append(row)
    plain = rows[0]
    head = f"{'exact':>7} {'name':>7} {'arg F1':>7} {'decide':>7} {'calls':>7}"
    print(f"\n{'':<18} {'seen tools':^39} | {'unseen tools':^39}")
    print(f"{'variant':<18} {head}  | {head}  {'train s':>8}")
    for r in rows:
        cells = [f"{r[w][m] if r[w][m] is not None else float('nan'):>7.3f}" for w in sets for m in SHOWN]
        print(f"{r['variant']:<18} {' '.join(cells[:5])}  | {' '.join(cells[5:])}  {r['train_seconds']:>8.0f}")
    print("(exact: exact call accuracy over all cases, no-call cases included; name: function-name accuracy;\n"
          " arg F1: argument F1; decide: call/no-call decision accuracy; calls: exact on the cases that expect a call)")
    goals = {}
    for aug in rows[1:]:
        before, after = plain["unseen"]["exact_call_accuracy"], aug["unseen"]["exact_call_accuracy"]
        ratio = after / before if before else None
        cost = round(100 * (plain["seen"]["exact_call_accuracy"] - aug["seen"]["exact_call_accuracy"]), 1)
        doubled = after > 0 and after >= 2 * before
        goals[aug["variant"]] = {"unseen_exact_ratio": None if ratio is None else round(ratio, 3),
                                 "seen_exact_cost_points": cost, "goal_met": bool(doubled and cost <= 2)}  # fmt: skip
        print(f"\n{aug['variant']}: unseen exact calls {'-' if ratio is None else f'{ratio:.2f}x'} "
              f"({before:.3f} -> {after:.3f}; goal >= 2x: {'met' if doubled else 'not met'}); "
              f"seen {-cost:+.1f} points (goal: at most -2: {'met' if cost <= 2 else 'not met'})")  # fmt: skip
    result = {
        "synthetic_samples": args.n,
        "unseen_samples": args.unseen,
        "seed": args.seed,
        "max_steps": args.max_steps or "recipe (recipes/demo_full.yaml)",
        "eval_samples": args.eval_samples or "all",
        "template": TEMPLATE,
        "base_model": str(base),
        "augment": "fc-plugin augment defaults (mask 2/3, distractors 1/2 up to 3, shuffle 1, irrelevance 0.1), "
                   "one model per --names style",
        "augment_seconds": {style: round(seconds, 1) for style, seconds in augment_s.items()},
        "rows": rows,
        "goals": goals,
        "total_minutes": round((time.perf_counter() - started) / 60, 1),
    }
    if not args.no_save:
        save("augment.json", result)


if __name__ == "__main__":
    main()
