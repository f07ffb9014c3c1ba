"""`fc-plugin stats FILE...`: categories, tools, length percentiles and reject reasons of a dataset."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from fc_plugin.commands.convert import add_length_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stats", help="statistics of a dataset file (or a dataset name in dataset_info.json)")
    p.add_argument("inputs", nargs="+", metavar="FILE", help="dataset files, folders, or names in dataset_info.json")
    p.add_argument("--from", dest="source_format", default=None, help="source format (default: auto)")
    p.add_argument("--info", default="dataset_info.json", help="dataset_info.json used to resolve names")
    p.add_argument("--top", type=int, default=10, help="how many tools to list")
    p.add_argument("--json", action="store_true", help="print the stats as JSON")
    add_length_args(p)
    p.set_defaults(func=run)


def collect(args: argparse.Namespace, on_problem: Callable[..., None] | None = None) -> Any:
    """Stream the inputs of `args` through convert + validate into a StatsCollector (writes nothing).

    `on_problem(outcome)` is called for every rejected record / sample.
    """
    from fc_plugin.convert.pipeline import ConvertOptions, iter_outcomes, resolve_dataset
    from fc_plugin.sharegpt import DigestSet
    from fc_plugin.stats import StatsCollector

    stats = StatsCollector("tokens" if args.tokenizer else "chars")
    seen = DigestSet()
    for item in args.inputs:
        path, fmt = resolve_dataset(item, args.info)
        options = ConvertOptions(
            source_format=args.source_format or fmt or "auto",
            cutoff_len=args.cutoff_len,
            tokenizer=args.tokenizer,
            template=args.template,
        )
        for outcomes in iter_outcomes([path], options):
            stats.records += 1
            for o in outcomes:
                if o.skipped:
                    stats.skipped += 1
                elif o.problems:
                    stats.reject(o.code or "unknown")
                    if on_problem:
                        on_problem(o)
                elif not seen.add(o.digest or b""):
                    stats.reject("duplicate")
                else:
                    if o.summary is not None:
                        stats.add_summary(*o.summary, length=o.length)
    return stats


def run(args: argparse.Namespace) -> int:
    stats = collect(args)
    if args.json:
        print(json.dumps(stats.to_dict(args.top), ensure_ascii=False, indent=2))
    else:
        print(stats.render(", ".join(args.inputs), top_tools=args.top))
    return 0 if stats.samples else 1
