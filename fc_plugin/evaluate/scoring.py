"""Score prediction files: our datasets (`score_dataset`) or BFCL question/answer files (`score_bfcl`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fc_plugin.evaluate import bfcl, scorer
from fc_plugin.evaluate.inputs import InputProblem, Prediction, load_gold, load_predictions
from fc_plugin.evaluate.report import build_report


def rejected(problems: list[InputProblem]) -> str:
    """`N rejected, first: FILE: record R: REASON` for an error message when nothing is usable."""
    return f"{len(problems)} rejected" + (f", first: {problems[0]}" if problems else "")


def _unmatched(preds: dict[str, Prediction], ids: set[str], pred_path: str | Path) -> list[InputProblem]:
    return [
        InputProblem(str(pred_path), f"id {i}", "no gold sample with this id") for i in preds if i not in ids
    ]


def score_dataset(
    gold_path: str | Path, pred_path: str | Path, template: str | None = None, tools_module: str | None = None
) -> dict[str, Any]:
    """Report for predictions against a gold dataset (ShareGPT or canonical JSONL); with a tools
    module (see `runtime.load_runtime`) calls are also executed and their results compared."""
    gold, problems = load_gold(gold_path)
    if not gold:
        raise ValueError(f"{gold_path}: no usable samples ({rejected(problems)})")
    preds, pred_problems = load_predictions(pred_path, template)
    problems += pred_problems + _unmatched(preds, {g.id for g in gold}, pred_path)
    runtime = None
    if tools_module:
        from fc_plugin.evaluate.runtime import load_runtime

        runtime = load_runtime(tools_module)
    verdicts = scorer.score(gold, preds, runtime)
    inputs = {"gold": str(gold_path), "pred": str(pred_path)}
    if tools_module:
        inputs["tools_module"] = tools_module
    return build_report("dataset", scorer.summarize(verdicts), verdicts, inputs, problems)


def score_bfcl(
    question_paths: list[str | Path],
    answer_paths: list[str | Path],
    pred_path: str | Path,
    template: str | None = None,
) -> dict[str, Any]:
    """Report for predictions against BFCL question + possible-answer files (BFCL's AST rules)."""
    cases, problems = bfcl.load_cases(question_paths, answer_paths)
    if not cases:
        raise ValueError(
            f"{', '.join(map(str, question_paths))}: no BFCL cases to judge ({rejected(problems)})"
        )
    preds, pred_problems = load_predictions(pred_path, template)
    problems += pred_problems + _unmatched(preds, {c.id for c in cases}, pred_path)
    verdicts = bfcl.score_cases(cases, preds)
    inputs = {
        "bfcl_questions": [str(p) for p in question_paths],
        "bfcl_answers": [str(p) for p in answer_paths],
        "pred": str(pred_path),
    }
    return build_report("bfcl", bfcl.summarize(verdicts), verdicts, inputs, problems)


def headline(report: dict[str, Any]) -> str:
    """One line: exact-call and decision accuracy with counts."""
    o = report["overall"]
    return (
        f"exact_call_accuracy {report['exact_call_accuracy']:.3f} ({o['counts']['exact']}/{o['count']}), "
        f"call_decision_accuracy {report['call_decision_accuracy']:.3f}"
    )
