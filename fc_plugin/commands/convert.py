"""`fc-plugin convert`: raw function-calling data (any supported format) -> LLaMA-Factory ShareGPT dataset."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_length_args(p: argparse.ArgumentParser) -> None:
    """--tokenizer / --cutoff-len / --template, shared by convert, validate and stats."""
    p.add_argument("--tokenizer", help="local tokenizer folder: lengths in tokens instead of characters")
    p.add_argument("--cutoff-len", type=int, help="reject samples longer than this many tokens (needs --tokenizer)")
    p.add_argument("--template", help="LLaMA-Factory template name: measure lengths on its exact rendering")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "convert",
        help="convert function-calling data into a LLaMA-Factory ShareGPT dataset",
        description="Convert raw records (JSONL, JSON array or object; folders are expanded) into a "
        "validated, de-duplicated ShareGPT dataset, merge its entry into dataset_info.json and keep "
        "every rejected record with its reason in NAME.rejects.jsonl.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="input files or folders")
    p.add_argument("--from", dest="source_format", default="auto", help="source format, or 'auto' (default)")
    p.add_argument("--out", required=True, help="output dataset, e.g. data/NAME.json (.jsonl for JSON lines)")
    p.add_argument("--name", help="dataset name in dataset_info.json (default: the --out file's stem)")
    p.add_argument("--info", default="dataset_info.json", help="dataset_info.json to merge into")
    p.add_argument("--strict", action="store_true", help="fail (exit 1, dataset untouched) if any record is rejected")
    p.add_argument("--split-eval", type=float, default=0.0, metavar="FRACTION", help="eval share, e.g. 0.1")
    p.add_argument("--seed", type=int, default=0, help="seed of the train/eval split hash")
    p.add_argument("--context", action="append", default=[], metavar="FILE",
                   help="extra file a format needs, e.g. a BFCL possible-answer file (repeatable)")  # fmt: skip
    p.add_argument("--no-dedup", dest="dedup", action="store_false", help="keep duplicate samples")
    p.add_argument("--workers", type=int, default=0, help="worker processes (default: auto, by input size and cores)")
    p.add_argument("--json", action="store_true", help="print the stats as JSON")
    p.add_argument("--no-progress", dest="progress", action="store_const", const=False, default=None)
    add_length_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fc_plugin.convert.pipeline import ConvertOptions, convert_files

    name = args.name or Path(args.out).stem
    options = ConvertOptions(
        source_format=args.source_format,
        strict=args.strict,
        eval_fraction=args.split_eval,
        seed=args.seed,
        cutoff_len=args.cutoff_len,
        tokenizer=args.tokenizer,
        template=args.template,
        dedup=args.dedup,
        context_paths=args.context,
        progress=args.progress,
        workers=args.workers,
    )
    result = convert_files(args.inputs, args.out, name, options, info_path=args.info)
    if args.json:
        print(json.dumps({**result.stats.to_dict(), "formats": result.formats, "exit_code": result.exit_code},
                         ensure_ascii=False, indent=2))  # fmt: skip
    else:
        formats = ", ".join(sorted(set(result.formats.values())))
        print(result.stats.render(f"{name} ({formats})"))
    if result.committed:
        where = f"{result.out_path} ({result.written - (result.stats.eval_samples)} train)"
        if result.eval_path:
            where += f", {result.eval_path} ({result.stats.eval_samples} eval)"
        print(f"wrote {where}; registered {name!r} in {args.info}", file=sys.stderr)
    print(f"rejects: {result.rejects_path} ({result.rejected})", file=sys.stderr)
    if result.exit_code:
        print(f"fc-plugin convert: {result.reason}", file=sys.stderr)
    return result.exit_code
