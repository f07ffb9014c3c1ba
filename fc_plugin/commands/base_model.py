"""`fc-plugin base-model OUT_DIR`: build the demo's tiny pretrained base (generic tasks only, deterministic)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    from fc_plugin.base_model import DEFAULTS

    p = sub.add_parser(
        "base-model",
        help="build the tiny base model: generic tokenizer + copy/JSON/chat pretraining (CPU, deterministic)",
    )
    p.add_argument("out_dir")
    for key, value in DEFAULTS.items():
        p.add_argument(f"--{key.replace('_', '-')}", type=type(value), default=None, help=f"default {value}")
    p.add_argument("--stop-after", type=int, help="stop after N steps of the same schedule (reproducibility check)")
    p.add_argument("--checkpoint-every", type=int, default=0, help="also save the model every N steps")
    p.add_argument("--resume-from", metavar="DIR", help="a build of stages 1-2 (--extra-steps 0): run stage 3 only")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fc_plugin.base_model import DEFAULTS, build_base_model

    overrides = {k: getattr(args, k) for k in DEFAULTS if getattr(args, k) is not None}
    info = build_base_model(
        args.out_dir, stop_after=args.stop_after, progress=args.progress,
        checkpoint_every=args.checkpoint_every, resume_from=args.resume_from, **overrides,
    )  # fmt: skip
    print(f"base model: {args.out_dir} ({info['parameters']:,} parameters, {info['steps']} steps, "
          f"final loss {info['final_loss']})")  # fmt: skip
    for task, rate in info.get("held_out", {}).items():
        print(f"  {task:15s} exact {rate:.0%}")
    return 0
