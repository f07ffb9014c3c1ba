"""`fc-plugin` command line. Each subcommand lives in its own module with `add_parser(subparsers)`.

To add a command: write `fc_plugin/commands/NAME.py` with `add_parser(sub)` that registers a
parser whose `func(args) -> int` runs it, and add the module name to COMMANDS.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = [
    "demo",
    "tiny_model",
    "webui",
    "convert",
    "validate",
    "stats",
    "mix",
    "split",
    "score",
    "eval",
    "compare",
    "synth",
    "chat_template",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fc-plugin", description="Function-calling fine-tuning for LLaMA-Factory.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"fc_plugin.commands.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("fc-plugin: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError) as exc:  # user-facing errors: one clear line, no traceback
        print(f"fc-plugin {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
