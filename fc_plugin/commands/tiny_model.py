"""`fc-plugin tiny-model OUT_DIR`: build the offline tiny random model the tests use."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tiny-model", help="build a tiny random Qwen2-shaped model + BPE tokenizer (offline)")
    p.add_argument("out_dir")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vocab-size", type=int, default=1024)
    p.add_argument("--hidden-size", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--intermediate-size", type=int, default=128)
    p.add_argument("--corpus", action="append", default=[], help="extra text/JSON file(s) to train the BPE on")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fc_plugin.tiny_model import build_tiny_model

    extra: list[str] = []
    for path in args.corpus:
        with open(path, encoding="utf-8") as f:
            extra.extend(f.read().splitlines())
    out = build_tiny_model(
        args.out_dir,
        seed=args.seed,
        vocab_size=args.vocab_size,
        hidden_size=args.hidden_size,
        num_layers=args.layers,
        num_heads=args.heads,
        intermediate_size=args.intermediate_size,
        corpus=extra,
    )
    info = json.loads((out / "fc_plugin_tiny.json").read_text())
    print(f"tiny model: {out} ({info['parameters']:,} parameters, seed {info['seed']})")
    return 0
