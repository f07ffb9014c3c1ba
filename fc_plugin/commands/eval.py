"""`fc-plugin eval`: run a (fine-tuned) model through LLaMA-Factory's chat engine and score its calls."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="generate with a model via LLaMA-Factory's chat engine, parse the calls, score and time them",
    )
    p.add_argument("--model", required=True, help="base model path (or hub id where the hub is reachable)")
    p.add_argument("--adapter", help="LoRA adapter folder (LLaMA-Factory output_dir)")
    p.add_argument("--template", required=True, help="chat template, e.g. fc_json_qwen")
    p.add_argument("--data", help="gold dataset file, or a dataset name in dataset_info.json")
    p.add_argument(
        "--bfcl-questions",
        action="append",
        default=[],
        metavar="Q.json",
        help="BFCL question file instead of --data (repeatable)",
    )
    p.add_argument(
        "--bfcl-answers",
        action="append",
        default=[],
        metavar="A.json",
        help="BFCL possible-answer file (repeatable)",
    )
    p.add_argument(
        "--train-data",
        action="append",
        default=[],
        metavar="FILE",
        help="training dataset file or name (repeatable): report unseen_value_exact_call_accuracy, exact calls "
        "on samples with an argument value that appears in no training file",
    )
    p.add_argument("--max-samples", type=int, help="evaluate only the first N cases")
    p.add_argument("--batch-size", type=int, default=8, help="prompts generated together (default 8)")
    p.add_argument("--backend", choices=["huggingface", "vllm"], default="huggingface")
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument(
        "--grammar",
        choices=["none", "xgrammar", "both"],
        default="none",
        help="constrain generated calls to the tool schemas (huggingface backend); "
        "both = generate without and with it and report call validity of each",
    )
    p.add_argument(
        "--tools-module", help="Python module or .py file with the tools: also score calls by executing them"
    )
    p.add_argument(
        "--max-steps",
        type=int,
        default=4,
        help="with --tools-module: replay samples as multi-turn episodes of up to N model turns (0 = off)",
    )
    p.add_argument("--out", default="outputs/eval", help="output folder (default outputs/eval)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fc_plugin.evaluate.evaluation import evaluate_model
    from fc_plugin.evaluate.scoring import headline

    if bool(args.data) == bool(args.bfcl_questions):
        raise ValueError("give either --data or --bfcl-questions (with --bfcl-answers)")
    if args.batch_size < 1:
        raise ValueError("--batch-size must be at least 1")
    report, paths = evaluate_model(
        args.model,
        args.template,
        args.data,
        args.out,
        adapter=args.adapter,
        max_samples=args.max_samples,
        batch_size=args.batch_size,
        backend=args.backend,
        max_new_tokens=args.max_new_tokens,
        grammar=args.grammar,
        tools_module=args.tools_module,
        max_steps=args.max_steps,
        bfcl_questions=args.bfcl_questions,
        bfcl_answers=args.bfcl_answers,
        train_data=args.train_data,
    )
    gen = report["generation"]
    validity = gen["call_json_validity"]
    print(headline(report))
    if report.get("unseen_value_samples"):
        print(
            f"unseen_value_exact_call_accuracy {report['unseen_value_exact_call_accuracy']:.3f} "
            f"over {report['unseen_value_samples']} samples with a value never seen in training"
        )
    print(
        f"throughput {gen['samples_per_s']:.2f} samples/s, {gen['tokens_per_s']:.1f} tokens/s; "
        f"latency p50 {gen['latency_p50_s']:.3f} s, p99 {gen['latency_p99_s']:.3f} s; "
        f"call validity {'-' if validity is None else f'{validity:.3f}'} (grammar {gen['grammar']})"
    )
    for side, run in (gen.get("grammar_ablation") or {}).items():
        v = run["call_json_validity"]
        print(
            f"grammar {side}: call validity {'-' if v is None else f'{v:.3f}'} "
            f"({run['call_attempts']} call attempts), exact_call_accuracy {run['exact_call_accuracy']:.3f}, "
            f"{run['samples_per_s']:.2f} samples/s"
        )
    print("wrote: " + ", ".join(str(p) for p in paths))
    return 0
