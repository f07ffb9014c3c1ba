"""`fc-plugin split INPUT --by category`: one dataset per sample category, for staged training."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "split",
        help="split a dataset into one dataset per sample category (for the stage recipes)",
        description="Write OUT_DIR/NAME_{single,parallel,multi_round,no_call,slot_filling}.json and register "
        "them in dataset_info.json; recipes/stages/ train on these.",
    )
    p.add_argument("input", help="dataset file, or a dataset name in dataset_info.json")
    p.add_argument("--by", default="category", choices=["category"], help="what to split by")
    p.add_argument("--out-dir", default="data", help="folder for the split datasets")
    p.add_argument("--name", help="dataset name prefix (default: the input's name)")
    p.add_argument("--info", default="dataset_info.json", help="dataset_info.json to register them in")
    p.add_argument("--from", dest="source_format", default=None, help="source format (default: auto)")
    p.add_argument("--no-progress", dest="progress", action="store_const", const=False, default=None)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fc_plugin.split import split_by_category

    result = split_by_category(
        args.input, args.out_dir, args.name, info_path=args.info, source_format=args.source_format,
        progress=args.progress,
    )  # fmt: skip
    for category, count in result.counts.items():
        print(f"{count:>8}  {category:<13} {result.paths[category]}")
    print(f"{result.rejected:>8}  rejected      {result.rejects_path}")
    if result.rejected:
        print(f"fc-plugin split: {result.rejected} record(s) rejected, see {result.rejects_path}", file=sys.stderr)
    return 0
