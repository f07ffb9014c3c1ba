"""`fc-plugin compile`: build the compiled (Cython) modules of `fc_plugin.compiled.MODULES`, or list their state (`--status`)."""

from __future__ import annotations

import argparse
import os


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compile", help="compile the convert path and template encoding with Cython (make install runs it; same outputs, faster)")
    p.add_argument("--jobs", type=int, default=min(8, os.cpu_count() or 1), help="parallel compile jobs")
    p.add_argument("--force", action="store_true", help="compile every module again, changed or not")
    p.add_argument("--status", action="store_true", help="list each module as compiled, stale or missing; build nothing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fc_plugin.compiled import MODULES, PURE_ENV, build, module_state, pure, read_manifest

    if not args.status:
        build(args.jobs, args.force)
        return 0
    manifest = read_manifest()
    for module in MODULES:
        print(f"{module_state(module, manifest):<13}{module}")
    if pure():
        print(f"{PURE_ENV} is set: every module runs as Python")
    return 0
