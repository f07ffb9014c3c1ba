"""`fc-plugin demo`: the main job behind `make demo` (run from the project root)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="end-to-end demo on CPU: tiny model -> train -> adapter + loss plot")
    p.add_argument("--out", default="outputs/demo", help="output folder (default: outputs/demo)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fc_plugin.demo import run_demo

    return run_demo(args.out)
