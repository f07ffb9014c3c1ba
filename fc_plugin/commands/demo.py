"""`fc-plugin demo`: the main job behind `make demo` (run from the project root)."""

from __future__ import annotations

import argparse

from fc_plugin.demo import N_SYNTH


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="end-to-end demo on CPU: data -> tiny pretrained base -> train -> eval report")
    p.add_argument("--out", default="outputs/demo", help="output folder (default: outputs/demo)")
    p.add_argument("--samples", type=int, default=N_SYNTH, help=f"synthetic samples, 10%% held out (default {N_SYNTH})")
    p.add_argument("--max-steps", type=int, default=None, help="stop training early (smoke runs)")
    p.add_argument("--seed", type=int, default=0, help="data and training seed (default 0)")
    p.add_argument("--finetuning", choices=["full", "lora"], default="full",
                   help="full: recipes/demo_full.yaml (default); lora: recipes/demo_lora.yaml")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fc_plugin.demo import run_demo

    return run_demo(args.out, samples=args.samples, max_steps=args.max_steps, seed=args.seed, finetuning=args.finetuning)
