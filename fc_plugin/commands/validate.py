"""`fc-plugin validate FILE...`: check a dataset (any supported format) sample by sample, write nothing."""

from __future__ import annotations

import argparse
import sys

from fc_plugin.commands.convert import add_length_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="validate a dataset file (or a dataset name in dataset_info.json) without writing anything",
        description="Exit 0 when every record is valid, 1 when any record is invalid or nothing is valid.",
    )
    p.add_argument("inputs", nargs="+", metavar="FILE", help="dataset files, folders, or names in dataset_info.json")
    p.add_argument("--from", dest="source_format", default=None, help="source format (default: auto)")
    p.add_argument("--info", default="dataset_info.json", help="dataset_info.json used to resolve names")
    p.add_argument("--show", type=int, default=20, help="print at most this many problems (default 20)")
    add_length_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fc_plugin.commands.stats import collect

    shown = 0

    def report(outcome) -> None:  # noqa: ANN001
        nonlocal shown
        shown += 1
        if shown <= args.show:
            ref = outcome.ref
            where = f"{ref['file']}:{ref['index']}" + (f" (line {ref['line']})" if ref.get("line") else "")
            where += f" sample {outcome.sample}" if outcome.sample else ""
            for code, message in outcome.problems:
                print(f"{where}: {code}: {message}")

    stats = collect(args, on_problem=report)
    if shown > args.show:
        print(f"... {shown - args.show} more invalid record(s) not shown (--show N)")
    print(stats.render("validate"), file=sys.stderr)
    bad = sum(n for code, n in stats.rejects.items() if code != "duplicate")
    if stats.samples == 0:
        print("fc-plugin validate: no valid sample", file=sys.stderr)
        return 1
    return 1 if bad else 0
