"""Augmentation: the same tiny base, data and CPU budget trained with and without `fc-plugin augment`,
scored on held-out samples of the seen tools and of tools that never appear in training.

Runs the `make demo` data and training steps (fc_plugin.demo) from the shipped base
(models/fc_tiny_base) with the same recipe (recipes/demo_full.yaml: same epochs, batch, seed):
once on the demo's datasets as they are, once per variant on `fc-plugin augment` of the same
datasets (one augmented sample per input, so the same number of samples and steps). Every model is
scored by `fc-plugin eval` on
- seen: the demo's held-out split (fc_demo_synth_eval: the seeds' seven tools);
- unseen names: `fc-plugin synth` samples for data/tools/renamed_tools.json: the seen tools' jobs under
  other function and parameter names and descriptions (phrased by data/tools/renamed_templates.json, the
  seen requests with the new placeholders): does the model read the tool list or recall names?
- unseen domains: `fc-plugin synth` samples for data/tools/heldout_tools.json (six tools with other
  jobs, names, parameters and schemas, phrased by data/tools/heldout_templates.json in words the
  training data never uses);
both with the same categories and options as the demo's data. The exact call accuracy,
function-name accuracy and argument F1 of every model on every set are printed side by side and
written to bench/results/augment.json, with exact calls on the cases that expect a call (the
unseen sets' no-call cases name no unseen tool: a model that never calls gets them right). Goal
(issue 16): augmentation at least doubles exact calls on unseen tools and costs at most 2 points on
seen ones. Each `--variant NAME=OPTIONS` trains one augmented model on `fc-plugin augment OPTIONS` of
the training data next to the plain one (default: `random=` (augment's defaults) and
`words=--names words`). Slow: three full demo trainings.

    python bench/bench_augment.py                    # the full run (three trainings, six evaluations)
    python bench/bench_augment.py --variant random=   # plain vs the default augmentation only
    python bench/bench_augment.py --variant random= --variant mask033="--mask 0.33"
    python bench/bench_augment.py --max-steps 30 --eval-samples 40 --out outputs/bench_augment_dev
    python bench/bench_augment.py --reuse --variant new="--mask 0.4"   # train only what --out lacks
    python bench/bench_augment.py --plain-last 1 --variant random=   # 2 augmented epochs, then 1 plain
    python bench/bench_augment.py --augmented-epochs 4.5 --variant mask033="--mask 0.33"   # a 1.5x budget
    python bench/bench_augment.py --epochs 4.5 --variant mask033="--mask 0.33"   # both on a 1.5x budget

`--reuse` keeps a model that an earlier run in the same --out trained with the same options and code (each model
folder records them in bench_training.json once its training has finished) and trains only the others;
every model is evaluated again.
"""

from __future__ import annotations

import argparse
import json
import shlex
import time
from pathlib import Path

import yaml
from _results import save  # bench/ is on sys.path when a benchmark runs as a script

from fc_plugin.demo import (
    MAX_NEW_TOKENS,
    RECIPES,
    TEMPLATE,
    TRAIN_SETS,
    base_model,
    demo_env,
    prepare_data,
    run_step,
    run_steps_together,
    train,
)

UNSEEN = {  # set -> (tools, phrases, synth seed offset): tools that never appear in training
    "unseen_names": ("data/tools/renamed_tools.json", "data/tools/renamed_templates.json", 2),
    "unseen_domains": ("data/tools/heldout_tools.json", "data/tools/heldout_templates.json", 1),
}
METRICS = ("exact_call_accuracy", "function_name_accuracy", "argument_f1", "call_decision_accuracy")
SHOWN = (*METRICS, "call_case_exact")  # the last: exact on the cases whose expected turn is a call


def eval_cmd(model: Path, data: Path, out: Path, max_samples: int | None) -> list[str]:
    """`fc-plugin eval` of `model` on the gold file `data`."""
    return [
        "fc-plugin", "eval", "--model", str(model), "--template", TEMPLATE, "--data", str(data), "--out", str(out),
        "--batch-size", "16", "--max-new-tokens", str(MAX_NEW_TOKENS),
        *(["--max-samples", str(max_samples)] if max_samples else []),
    ]  # fmt: skip


def training_tools(data: Path, info: Path) -> set[str]:
    """Names of every tool listed in the demo's training sets (as registered in `info`)."""
    entries = json.loads(info.read_text())
    names = set()
    for name in TRAIN_SETS:
        for row in json.loads((data / entries[name]["file_name"]).read_text()):
            names.update(t["name"] for t in json.loads(row.get("tools") or "[]"))
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2400, help="synthetic samples for the seen tools (10%% held out)")
    parser.add_argument("--unseen", type=int, default=300, help="held-out samples for the unseen tools")
    parser.add_argument("--seed", type=int, default=0, help="data, augmentation and training seed")
    parser.add_argument("--max-steps", type=int, help="cap training steps (development runs)")
    parser.add_argument("--eval-samples", type=int, help="score only the first N cases of each set (development runs)")
    parser.add_argument("--out", default="outputs/bench_augment")
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results/augment.json")
    parser.add_argument("--reuse", action="store_true",
                        help="keep models an earlier run in --out trained with the same options (see above)")
    parser.add_argument("--plain-last", type=float, default=0.0, metavar="EPOCHS",
                        help="augmented models train their last EPOCHS epochs on the data as it is, "
                             "from the weights the augmented epochs left (a two-stage curriculum, the same steps)")
    parser.add_argument("--epochs", type=float, metavar="EPOCHS",
                        help="every model, plain included, trains EPOCHS epochs instead of the recipe's (the same "
                             "budget for both, at another size)")
    parser.add_argument("--augmented-epochs", type=float, metavar="EPOCHS",
                        help="augmented models train EPOCHS epochs instead of the recipe's (a larger budget: e.g. 4.5 "
                             "at --mask 0.33 gives them as many unmasked epochs as the plain model's 3)")
    parser.add_argument("--variant", action="append", metavar="NAME=OPTIONS",
                        help="an augmented model trained on `fc-plugin augment OPTIONS` of the data (repeatable; "
                             "default: random= words='--names words')")
    args = parser.parse_args()
    recipe_epochs = float(yaml.safe_load(Path(RECIPES["full"]).read_text())["num_train_epochs"])
    plain_epochs = args.epochs or recipe_epochs
    epochs = args.augmented_epochs or plain_epochs
    same_budget = epochs == plain_epochs  # the goal compares models trained on the same budget
    if not 0 <= args.plain_last < epochs:
        raise SystemExit(f"--plain-last must be in [0, {epochs:g}) (the augmented models' epochs), got {args.plain_last:g}")
    options = dict(v.partition("=")[::2] for v in args.variant or ["random=", "words=--names words"])
    if any(not name.isidentifier() for name in options):
        raise SystemExit(f"--variant NAME=OPTIONS: NAME must be an identifier, got {sorted(options)}")
    variants = ["plain", *(f"augmented_{name}" for name in options)]

    out = Path(args.out)
    env = demo_env()
    data = out / "data"
    info = data / "dataset_info.json"
    started = time.perf_counter()
    prepare_data(data, env, n=args.n, seed=args.seed)
    sets = {"seen": data / "fc_demo_synth_eval.json"}
    for which, (tools, phrases, offset) in UNSEEN.items():
        sets[which] = data / f"fc_{which}.json"
        run_step(
            f"held-out samples for tools that never appear in training ({which.replace('_', ' ')})",
            ["fc-plugin", "synth", "--tools", tools, "--templates", phrases, "--n", str(args.unseen), "--lang", "en",
             "--seed", str(args.seed + offset), "--max-tools", "1", "--thought-rate", "0",
             "--out", str(sets[which]), "--info", str(info), "--no-progress"],
            env,
        )  # fmt: skip
    augment_s = {}
    for name, extra in options.items():
        augment_s[name] = run_step(
            f"the same training data, augmented ({extra or 'the defaults'}: masked names, distractors, shuffled tools, irrelevance)",
            ["fc-plugin", "augment", *TRAIN_SETS, "--info", str(info), *shlex.split(extra),
             "--out", str(data / f"fc_demo_aug_{name}.json"), "--name", f"fc_demo_aug_{name}",
             "--seed", str(args.seed), "--no-progress"],
            env,
        )  # fmt: skip
    trained = training_tools(data, info)
    for which, (tools, _, _) in UNSEEN.items():
        overlap = {t["name"] for t in json.loads(Path(tools).read_text())} & trained
        if overlap:
            raise SystemExit(f"{which}: tools that appear in training: {sorted(overlap)}")

    base = base_model()
    short = [f"max_steps={args.max_steps}"] if args.max_steps else []
    datasets = {"plain": [], **{f"augmented_{name}": [f"dataset=fc_demo_aug_{name}"] for name in options}}
    train_s = {}
    for variant in variants:
        record = out / variant / "bench_training.json"
        what = {"seed": args.seed, "n": args.n, "max_steps": args.max_steps, "base": str(base),
                "augment": options.get(variant.removeprefix("augmented_")) if variant != "plain" else None,
                "plain_last_epochs": args.plain_last if variant != "plain" else 0,
                "epochs": epochs if variant != "plain" else args.epochs}
        done = json.loads(record.read_text()) if args.reuse and record.exists() else {}
        if done.get("training") == what:
            print(f"\n==> {variant}: reusing the model trained by an earlier run ({record})")
            train_s[variant] = done["seconds"]
            continue
        record.unlink(missing_ok=True)
        model, seed = out / variant / "model", f"seed={args.seed}"
        if variant != "plain" and args.plain_last:  # a curriculum: augmented epochs, then the data as it is
            first = out / variant / "stage1"
            train_s[variant] = train(base, data, first, env, TEMPLATE, seed, *datasets[variant],
                                     f"num_train_epochs={epochs - args.plain_last}", *short)  # fmt: skip
            train_s[variant] += train(first, data, model, env, TEMPLATE, seed, f"num_train_epochs={args.plain_last}", *short)
        else:
            wanted = epochs if variant != "plain" else plain_epochs
            more = [f"num_train_epochs={wanted:g}"] if wanted != recipe_epochs else []
            train_s[variant] = train(base, data, model, env, TEMPLATE, seed, *datasets[variant], *more, *short)
        record.write_text(json.dumps({"training": what, "seconds": round(train_s[variant], 1)}, indent=2) + "\n")
    for variant in variants:  # one process per core
        steps = []
        for k, (which, gold) in enumerate(sets.items()):
            folder = out / variant / f"eval_{which}"
            folder.mkdir(parents=True, exist_ok=True)
            cmd = eval_cmd(out / variant / "model", gold, folder, args.eval_samples)
            steps.append((f"evaluation of the {variant} model on {which} tools", cmd, folder / "eval.log" if k else None))
        run_steps_together(steps[:2], env)
        run_steps_together(steps[2:], env)

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
    print(f"\n{'variant':<18} {'tools':<15} {'exact':>7} {'name':>7} {'arg F1':>7} {'decide':>7} {'calls':>7}  {'train s':>8}")
    for r in rows:
        for which in sets:
            cells = " ".join(f"{r[which][m] if r[which][m] is not None else float('nan'):>7.3f}" for m in SHOWN)
            print(f"{r['variant']:<18} {which:<15} {cells}  {r['train_seconds']:>8.0f}")
    print("(exact: exact call accuracy over all cases, no-call cases included; name: function-name accuracy;\n"
          " arg F1: argument F1; decide: call/no-call decision accuracy; calls: exact on the cases that expect a call)")
    goals = {}
    for aug in rows[1:]:
        cost = round(100 * (plain["seen"]["exact_call_accuracy"] - aug["seen"]["exact_call_accuracy"]), 1)
        goal: dict = {"seen_exact_cost_points": cost, "same_budget": same_budget}
        verdict = ("met" if cost <= 2 else "not met") if same_budget else f"does not apply: {epochs:g} epochs, not {plain_epochs:g}"
        print(f"\n{aug['variant']}: seen tools {0.0 - cost:+.1f} points of exact calls (goal: at most -2 on the same budget: {verdict})")
        for which in UNSEEN:
            for metric, label in (("exact_call_accuracy", "exact calls"), ("call_case_exact", "exact on call cases")):
                before, after = plain[which][metric], aug[which][metric]
                ratio = after / before if before else None
                doubled = after > 0 and after >= 2 * before
                goal[f"{which}_{metric}_ratio"] = None if ratio is None else round(ratio, 3)
                goal[f"{which}_{metric}_doubled"] = bool(doubled)
                shown = "from 0" if ratio is None else f"{ratio:.2f}x"
                print(f"  {which}: {label} {before:.3f} -> {after:.3f} ({shown}; doubled: {'yes' if doubled else 'no'})")
        goal["goal_met"] = bool(same_budget and cost <= 2 and all(goal[f"{w}_exact_call_accuracy_doubled"] for w in UNSEEN))
        goals[aug["variant"]] = goal
    result = {
        "synthetic_samples": args.n,
        "unseen_samples": args.unseen,
        "unseen_sets": {which: tools for which, (tools, _, _) in UNSEEN.items()},
        "seed": args.seed,
        "max_steps": args.max_steps or "recipe (recipes/demo_full.yaml)",
        "eval_samples": args.eval_samples or "all",
        "template": TEMPLATE,
        "base_model": str(base),
        "augment": "fc-plugin augment OPTIONS per variant; defaults: mask 2/3, distractors 1/2 up to 3, shuffle 1, "
                   "irrelevance 0.1, --names random",
        "variants": {f"augmented_{name}": extra for name, extra in options.items()},
        "plain_last_epochs": args.plain_last,
        "plain_epochs": plain_epochs,
        "augmented_epochs": epochs,
        "augment_seconds": {name: round(seconds, 1) for name, seconds in augment_s.items()},
        "rows": rows,
        "goals": goals,
        "total_minutes": round((time.perf_counter() - started) / 60, 1),
    }
    if not args.no_save:
        save("augment.json", result)


if __name__ == "__main__":
    main()
