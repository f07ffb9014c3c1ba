"""`fc-plugin eval`: generate with a model, parse with the template's parser, score, report."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from fc_plugin.evaluate import bfcl, scorer
from fc_plugin.evaluate.inputs import GoldItem, InputProblem, Prediction, load_gold, prediction_from_text
from fc_plugin.evaluate.report import build_report
from fc_plugin.io import atomic_write_lines
from fc_plugin.sample import Message


def resolve_dataset(data: str, info_path: str | Path = "dataset_info.json") -> Path:
    """A dataset file path, or the file of a dataset name registered in dataset_info.json."""
    path = Path(data)
    if path.exists():
        return path
    info_path = Path(info_path)
    if info_path.exists():
        info = json.loads(info_path.read_text(encoding="utf-8") or "{}")
        entry = info.get(data)
        if isinstance(entry, dict) and entry.get("file_name"):
            return info_path.parent / entry["file_name"]
    raise OSError(f"{data}: no such file, and no dataset of that name in {info_path}")


def call_validity(items: list[GoldItem], preds: dict[str, Prediction]) -> float | None:
    """Share of outputs attempting a call whose calls all parse and fit the offered tool schemas."""
    attempted = [(i, preds[i.id]) for i in items if i.id in preds and preds[i.id].attempted_call]
    if not attempted:
        return None
    valid = 0
    for item, pred in attempted:
        problems = [
            p for c in pred.calls for ps in scorer.schema_problems(c, item.sample.tools).values() for p in ps
        ]
        valid += not pred.errors and not problems
    return round(valid / len(attempted), 6)


def bfcl_items(
    question_paths: list[str], answer_paths: list[str]
) -> tuple[list[Any], list[GoldItem], list[Any]]:
    """BFCL cases plus GoldItems to prompt with (first turn; Gorilla types turned into JSON Schema)."""
    from fc_plugin.normalize import normalize_tools

    cases, problems = bfcl.load_cases(question_paths, answer_paths)
    items = []
    for case in cases:
        sample = case.to_sample()
        try:
            sample.tools = normalize_tools(case.functions)
        except ValueError as exc:
            problems.append(InputProblem(str(question_paths[0]), case.id, f"tools: {exc}"))
            continue
        items.append(
            GoldItem(case.id, sample, list(sample.messages), Message("assistant", ""), case.category)
        )
    kept = {i.id for i in items}
    return [c for c in cases if c.id in kept], items, problems


def evaluate_model(
    model: str,
    template: str,
    data: str | None,
    out_dir: str | Path,
    adapter: str | None = None,
    max_samples: int | None = None,
    batch_size: int = 1,
    backend: str = "huggingface",
    max_new_tokens: int = 256,
    grammar: str | None = None,
    tools_module: str | None = None,
    max_steps: int = 4,
    bfcl_questions: list[str] | None = None,
    bfcl_answers: list[str] | None = None,
    progress: bool = True,
    train_data: list[str] | None = None,
) -> tuple[dict[str, Any], list[Path]]:
    """Run the whole evaluation; writes predictions.jsonl + report.json/.md/.png into `out_dir`.

    With `tools_module`, calls are also executed (`execution_match`) and, when `max_steps` > 0,
    each sample with gold calls is replayed as a multi-turn episode (see `episodes`). With
    `bfcl_questions` (+ `bfcl_answers`) instead of `data`, BFCL cases are generated and judged by BFCL's rules.
    `grammar="both"` generates twice, without and with xgrammar (predictions_no_grammar.jsonl, then
    predictions.jsonl, which is scored), and reports call validity, accuracy and speed of each run
    side by side (`generation.grammar_ablation`). With `train_data` (files or dataset names), each
    sample lists the expected argument values that occur in no training file (`unseen_values`) and
    the report adds `unseen_value_exact_call_accuracy` over the samples that have any.
    """
    from fc_plugin.evaluate.generate import ChatEngineGenerator, timing_summary
    from fc_plugin.evaluate.report import write_report

    cases: list[Any] = []
    if bfcl_questions:
        cases, gold, problems = bfcl_items(bfcl_questions, bfcl_answers or [])
        source = ", ".join(bfcl_questions)
    elif data:
        source = str(resolve_dataset(data))
        gold, problems = load_gold(source)
    else:
        raise ValueError("give --data or --bfcl-questions")
    if max_samples is not None:
        gold = gold[:max_samples]
        cases = [c for c in cases if c.id in {g.id for g in gold}]
    if not gold:
        from fc_plugin.evaluate.scoring import rejected

        raise ValueError(f"{source}: no usable samples ({rejected(problems)})")
    runtime = None
    if tools_module:
        from fc_plugin.evaluate.runtime import load_runtime

        runtime = load_runtime(tools_module)

    if grammar not in (None, "none", "xgrammar", "both"):
        raise ValueError(f"unknown --grammar {grammar!r} (choose none, xgrammar or both)")
    if grammar in ("xgrammar", "both") and backend != "huggingface":
        raise ValueError(f"--grammar {grammar} needs --backend huggingface (got {backend})")
    generator = ChatEngineGenerator(model, template, adapter, backend, max_new_tokens)
    call_grammar = None
    if grammar in ("xgrammar", "both"):
        from fc_plugin.evaluate.grammar import CallGrammar

        engine_model = getattr(generator.engine, "model", None)
        vocab = getattr(getattr(engine_model, "config", None), "vocab_size", None)
        call_grammar = CallGrammar(generator.engine.tokenizer, vocab)

    out_dir = Path(out_dir)
    outputs: list[Path] = []
    ablation: dict[str, Any] = {}
    if grammar == "both":  # the same prompts unconstrained first: validity with and without the grammar
        free = _generate(generator, gold, batch_size, None, progress, template, out_dir / "predictions_no_grammar.jsonl")
        ablation["none"] = _run_summary(free, cases, gold)
        outputs.append(out_dir / "predictions_no_grammar.jsonl")

    pred_path = out_dir / "predictions.jsonl"
    run = _generate(generator, gold, batch_size, call_grammar, progress, template, pred_path)
    generations, preds, wall = run
    if cases:
        verdicts = bfcl.score_cases(cases, preds)
    else:
        verdicts = scorer.score(gold, preds, runtime)
    timing = timing_summary(generations, wall)
    if ablation:
        ablation["xgrammar"] = _run_summary(run, cases, gold)
    if runtime is not None and max_steps > 0 and not cases:
        from fc_plugin.evaluate.episodes import run_episodes

        episodes = run_episodes(generator, gold, runtime, template, batch_size, max_steps, call_grammar)
        for v in verdicts:
            v.update(episodes.get(v["id"], {}))
        timing["episodes"] = len(episodes)
    summary = bfcl.summarize(verdicts) if cases else scorer.summarize(verdicts)
    if train_data and not cases:
        from fc_plugin.evaluate.novelty import training_text, unseen_summary, unseen_values

        haystack = training_text([resolve_dataset(d) for d in train_data])
        expected = {item.id: item.expected_calls for item in gold}
        for v in verdicts:
            v["unseen_values"] = unseen_values(expected.get(v["id"], []), haystack)
        summary = {**summary, **unseen_summary(verdicts)}
        inputs_train = [str(resolve_dataset(d)) for d in train_data]
    else:
        inputs_train = None
    timing.update(
        backend=backend,
        batch_size=batch_size,
        max_new_tokens=max_new_tokens,
        grammar=grammar or "none",
        call_json_validity=call_validity(gold, preds),
    )
    if call_grammar is not None:
        timing["grammar_compile_failures"] = call_grammar.failures
    if ablation:
        timing["grammar_ablation"] = ablation
    inputs = {
        "model": model,
        "adapter": adapter,
        "template": template,
        "data": source,
        "pred": str(pred_path),
        "train_data": inputs_train,
    }
    if tools_module:
        inputs["tools_module"] = tools_module
    inputs = {k: v for k, v in inputs.items() if v is not None}
    mode = "eval-bfcl" if cases else "eval"
    report = build_report(mode, summary, verdicts, inputs, problems, timing)
    paths = write_report(report, out_dir)
    return report, [*outputs, pred_path, *paths]


def _generate(
    generator: Any,
    gold: list[GoldItem],
    batch_size: int,
    grammar: Any,
    progress: bool,
    template: str,
    pred_path: Path,
) -> tuple[list[Any], dict[str, Prediction], float]:
    """Generate for every item, save the raw outputs (JSONL, atomically) and parse them:
    (generations, predictions by id, wall seconds)."""
    began = time.perf_counter()
    generations = list(generator.generate(gold, batch_size, grammar, progress))
    wall = time.perf_counter() - began
    atomic_write_lines(
        pred_path,
        (json.dumps({**g.to_dict(), "template": template}, ensure_ascii=False) + "\n" for g in generations),
    )
    return generations, {g.id: prediction_from_text(g.id, g.text, template) for g in generations}, wall


def _run_summary(
    run: tuple[list[Any], dict[str, Prediction], float], cases: list[Any], gold: list[GoldItem]
) -> dict[str, Any]:
    """Validity, accuracy and speed of one generation run (one side of the grammar comparison)."""
    from fc_plugin.evaluate.generate import timing_summary

    generations, preds, wall = run
    verdicts = bfcl.score_cases(cases, preds) if cases else scorer.score(gold, preds)
    summary = bfcl.summarize(verdicts) if cases else scorer.summarize(verdicts)
    timing = timing_summary(generations, wall)
    return {
        "call_json_validity": call_validity(gold, preds),
        "call_attempts": sum(p.attempted_call for p in preds.values()),
        "exact_call_accuracy": summary["exact_call_accuracy"],
        "call_decision_accuracy": summary["call_decision_accuracy"],
        "samples_per_s": timing["samples_per_s"],
        "latency_p50_s": timing["latency_p50_s"],
    }
