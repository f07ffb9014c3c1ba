"""`fc-plugin chat-template NAME [-o FILE]`: print or write an fc template's Jinja (e.g. for vLLM --chat-template)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("chat-template", help="print or write the Jinja chat template of an fc_* template")
    p.add_argument("name", nargs="?", help="template name, e.g. fc_json_qwen (omit with --list)")
    p.add_argument("-o", "--output", help="write the template to this file (atomically) instead of stdout")
    p.add_argument("--default-system", default="", help="system prompt used when a conversation has none")
    p.add_argument("--list", action="store_true", help="list the template names and their stop strings")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fc_plugin import templates

    if args.list:
        for name in templates.names():
            print(f"{name}\tstop: {' '.join(repr(s) for s in templates.stop_strings(name))}")
        return 0
    if not args.name:
        raise ValueError("give a template name (see --list)")
    source = templates.chat_template(args.name, default_system=args.default_system)
    if args.output:
        from fc_plugin.io import atomic_write_text

        atomic_write_text(args.output, source)
        print(f"chat template {args.name} -> {args.output} (stop strings: {templates.stop_strings(args.name)})")
    else:
        print(source, end="")
    return 0
