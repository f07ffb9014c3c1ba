"""`fc-plugin augment`: name masking, distractor tools, shuffled tool lists and irrelevance samples."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fc_plugin.commands.convert import add_length_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    from fc_plugin.augment import DEFAULT_RATES

    p = sub.add_parser(
        "augment",
        help="augment a dataset so a tuned model generalises to tools it never saw (Hammer-style)",
        description="Read any dataset fc-plugin reads (files, folders or dataset_info.json names, any --from "
        "format) and write one augmented sample per distinct valid input: function and parameter names "
        "masked with random names (consistently in tools, calls, results and text; descriptions kept), "
        "distractor tools from the dataset's own tool pool (similar first), shuffled tool lists and "
        "irrelevance samples (the called tool removed, the answer a short no-call reply, only where no "
        "remaining tool could serve the request). Deterministic for --seed; every sample validated; "
        "rejects kept with reasons in NAME.rejects.jsonl; written atomically and registered in dataset_info.json.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="input files, folders or dataset names in --info")
    p.add_argument("--out", required=True, help="output dataset, e.g. data/NAME.json (.jsonl for JSON lines)")
    p.add_argument("--name", help="dataset name in dataset_info.json (default: the --out file's stem)")
    p.add_argument("--from", dest="source_format", default=None, help="source format (default: auto, or the name's)")
    p.add_argument("--info", default="dataset_info.json", help="dataset_info.json to resolve names and merge into")
    p.add_argument("--seed", type=int, default=0, help="random seed: same seed, same dataset (default 0)")
    for kind, what in (("mask", "samples whose function and parameter names are masked"),
                       ("distractors", "samples that get distractor tools from the pool"),
                       ("shuffle", "samples whose tool list is shuffled"),
                       ("irrelevance", "samples turned into irrelevance (no-call) samples, where possible")):  # fmt: skip
        p.add_argument(f"--{kind}", type=float, default=DEFAULT_RATES[kind], metavar="RATE",
                       help=f"share of {what} (default {DEFAULT_RATES[kind]:.2g})")  # fmt: skip
    p.add_argument("--names", choices=("random", "words"), default="random",
                   help="masked names from pseudo-words (random, the default, as in Hammer) or common English words")
    p.add_argument("--max-distractors", type=int, default=3, help="distractor tools per sample, at most (default 3)")
    p.add_argument("--json", action="store_true", help="print the stats and augmentation report as JSON")
    p.add_argument("--no-progress", dest="progress", action="store_const", const=False, default=None)
    add_length_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fc_plugin.augment import KINDS, AugmentConfig, augment_files

    name = args.name or Path(args.out).stem
    config = AugmentConfig(seed=args.seed, rates={k: getattr(args, k) for k in KINDS},
                           max_distractors=args.max_distractors, names=args.names)  # fmt: skip
    result = augment_files(
        args.inputs, args.out, name, config, source_format=args.source_format, info_path=args.info,
        tokenizer=args.tokenizer, cutoff_len=args.cutoff_len, template=args.template, progress=args.progress,
    )  # fmt: skip
    if args.json:
        print(json.dumps({**result.stats.to_dict(), "augment": result.report.to_dict(), "formats": result.formats,
                          "exit_code": result.exit_code}, ensure_ascii=False, indent=2))  # fmt: skip
    else:
        formats = ", ".join(sorted(set(result.formats.values())))
        print(result.stats.render(f"{name} (augmented from {formats}, seed {args.seed})"))
        print(result.report.render())
    if result.committed:
        print(f"wrote {result.out_path} ({result.written} samples); registered {name!r} in {args.info}", file=sys.stderr)
    print(f"rejects: {result.rejects_path} ({result.rejected})", file=sys.stderr)
    if result.exit_code:
        print(f"fc-plugin augment: {result.reason}", file=sys.stderr)
    return result.exit_code
