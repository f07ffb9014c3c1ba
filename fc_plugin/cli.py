"""`fc-plugin` command line. Each subcommand lives in its own module with `add_parser(subparsers)`.

To add a command: write `fc_plugin/commands/NAME.py` with `add_parser(sub)` that registers a
parser whose `func(args) -> int` runs it, and add the module name to COMMANDS.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

COMMANDS = [
    "demo",
    "tiny_model",
    "base_model",
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
    "augment",
    "chat_template",
    "compile",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fc-plugin", description="Function-calling fine-tuning for LLaMA-Factory.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"fc_plugin.commands.{name}").add_parser(sub)
    return parser


class _CurrentStderr:
    """Writes to whatever `sys.stderr` is at the time (it may be swapped, e.g. by pytest's capture)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _llamafactory_logs_to_stderr() -> None:
    """LLaMA-Factory logs to stdout; in this CLI stdout carries results (`--json` reports), so
    its log lines go to stderr instead, from the moment its logging module is imported."""

    def redirect() -> None:  # runs inside LF's import: must never raise
        try:
            from llamafactory.extras import logging as lf_logging

            lf_logging._configure_library_root_logger()
            if isinstance(lf_logging._default_handler, logging.StreamHandler):
                lf_logging._default_handler.setStream(_CurrentStderr())
        except Exception:  # noqa: BLE001 - LF internals changed: keep its default (stdout)
            pass

    try:
        import _fc_plugin_hook
    except ImportError:  # plugin files not installed at the site-packages root: keep LF's default
        return
    _fc_plugin_hook.after_import("llamafactory.extras.logging", redirect)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _llamafactory_logs_to_stderr()
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
