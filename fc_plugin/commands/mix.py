"""`fc-plugin mix`: interleave_probs that make a data ratio hold in trained samples."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "mix",
        help="compute interleave_probs so a general-chat : function-call ratio holds in trained samples",
        description="Count the rows LLaMA-Factory loads and keeps for each dataset and print the recipe lines "
        "(dataset, mix_strategy, interleave_probs) that make RATIO hold in the samples trained on.",
    )
    p.add_argument("datasets", help="comma-separated dataset names from dataset_info.json, e.g. general_chat_en,fc_demo")
    p.add_argument("--ratio", required=True, help="wanted ratio of trained samples, one part per dataset, e.g. 2:1")
    p.add_argument("--strategy", default="interleave_under", choices=["interleave_under", "interleave_over"],
                   help="under: stop when a dataset runs out (no repeats); over: repeat the smaller ones")  # fmt: skip
    p.add_argument("--dataset-dir", default=".", help="folder holding dataset_info.json (the recipe's dataset_dir)")
    p.add_argument("--max-samples", type=int, default=None, help="the recipe's max_samples, if it sets one")
    p.add_argument("--size", action="append", default=[], metavar="NAME=ROWS",
                   help="row count of a hub dataset that cannot be counted offline (repeatable)")  # fmt: skip
    p.add_argument("--write", metavar="OUT_YAML", help="write a copy of --base with these keys set")
    p.add_argument("--base", default="recipes/fc_lora.yaml", help="recipe to copy for --write")
    p.set_defaults(func=run)


def _known_sizes(items: list[str]) -> dict[str, int]:
    known = {}
    for item in items:
        name, sep, rows = item.partition("=")
        if not sep or not rows.strip().isdigit() or int(rows) <= 0:
            raise ValueError(f"--size {item!r}: expected NAME=ROWS with a positive row count")
        known[name.strip()] = int(rows)
    return known


def run(args: argparse.Namespace) -> int:
    from fc_plugin.io import atomic_write_text
    from fc_plugin.mix import dataset_sizes, parse_ratio, plan_mix, set_recipe_keys

    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    ratio = parse_ratio(args.ratio, len(names))
    sizes = dataset_sizes(names, args.dataset_dir, max_samples=args.max_samples, known=_known_sizes(args.size))
    plan = plan_mix(sizes, ratio, args.strategy)
    for s in sizes:
        dropped = s.rows - s.valid
        extra = f"; {s.note}" if s.note else ""
        print(f"# {s.name}: {s.rows} rows, {s.valid} kept by LLaMA-Factory ({dropped} dropped){extra}")
    print("# " + plan.report().replace("\n", "\n# "))
    if args.write:
        base = Path(args.base)
        text = base.read_text(encoding="utf-8")
        header = f"# Written by `fc-plugin mix {args.datasets} --ratio {args.ratio}` from {base}.\n"
        atomic_write_text(args.write, header + set_recipe_keys(text, plan.recipe_overrides()))
        print(f"# wrote {args.write}")
    print(plan.yaml_lines(), end="")
    return 0
