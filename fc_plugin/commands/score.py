"""`fc-plugin score`: score predictions against a gold dataset or BFCL files, offline."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "score",
        help="score predicted tool calls against a gold dataset or BFCL question/answer files",
        description="Writes REPORT as .json + .md + .png (an --out ending in .json names the JSON file, "
        "anything else is a folder holding report.json/.md/.png).",
    )
    p.add_argument("--gold", help="gold dataset: our ShareGPT .json/.jsonl or canonical JSONL")
    p.add_argument(
        "--bfcl-questions",
        action="append",
        default=[],
        metavar="Q.json",
        help="BFCL question file (repeatable)",
    )
    p.add_argument(
        "--bfcl-answers",
        action="append",
        default=[],
        metavar="A.json",
        help="BFCL possible-answer file (repeatable)",
    )
    p.add_argument(
        "--pred", required=True, help='JSONL: {"id", "calls": [...]} or {"id", "text", "template"}'
    )
    p.add_argument(
        "--template", help="template whose parser reads 'text' predictions without their own 'template'"
    )
    p.add_argument(
        "--tools-module", help="Python module or .py file with the tools: also score calls by executing them"
    )
    p.add_argument("--out", required=True, help="report path (REPORT.json) or folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fc_plugin.evaluate.report import write_report
    from fc_plugin.evaluate.scoring import headline, score_bfcl, score_dataset

    if bool(args.gold) == bool(args.bfcl_questions):
        raise ValueError("give either --gold or --bfcl-questions (with --bfcl-answers)")
    if args.gold:
        report = score_dataset(args.gold, args.pred, args.template, args.tools_module)
    else:
        report = score_bfcl(args.bfcl_questions, args.bfcl_answers, args.pred, args.template)
    paths = write_report(report, args.out)
    if report["input_problems"]:
        print(
            f"warning: {len(report['input_problems'])} input record(s) rejected, listed in {paths[1]}",
            file=sys.stderr,
        )
    print(headline(report))
    print("report: " + ", ".join(str(p) for p in paths))
    return 0
