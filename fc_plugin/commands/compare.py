"""`fc-plugin compare REPORT_A REPORT_B`: A/B table of two evaluation reports with deltas."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="A/B table of two evaluation reports (report.json or their folders)")
    p.add_argument("report_a")
    p.add_argument("report_b")
    p.add_argument("--out", help="also write the table to this Markdown file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fc_plugin.evaluate.report import compare, load_report
    from fc_plugin.io import atomic_write_text

    a, b = load_report(args.report_a), load_report(args.report_b)
    table = compare(a, b, _label(args.report_a, "A"), _label(args.report_b, "B"))
    print(table, end="")
    if args.out:
        atomic_write_text(args.out, table)
    return 0


def _label(path: str, fallback: str) -> str:
    p = Path(path)
    if p.name == "report.json":
        p = p.parent
    return p.stem or fallback
