"""End-to-end evaluation of the tiny model through LLaMA-Factory's chat engine.

The random tiny model scores low; these tests check the pipeline (generation, parsing, scoring,
timing, reports, grammar-constrained decoding), not the number.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from fc_plugin.evaluate.inputs import load_gold, prediction_from_text
from fc_plugin.sample import Message, Sample, ToolCall
from fc_plugin.sharegpt import to_sharegpt

pytestmark = pytest.mark.e2e

WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string", "enum": ["Paris", "Tokyo"]}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["city"],
    },
}
STOCK = {
    "name": "get_stock",
    "description": "Stock price",
    "parameters": {"type": "object", "properties": {"symbol": {"type": "string", "enum": ["AAPL"]}}, "required": ["symbol"]},
}


def W(city: str) -> ToolCall:
    return ToolCall("get_weather", {"city": city})


@pytest.fixture(scope="module")
def gold_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tools = [WEATHER, STOCK]
    samples = [
        Sample([Message("user", "Weather in Paris?"), Message("assistant", "", [W("Paris")])], tools, "single"),
        Sample([Message("user", "Paris and Tokyo?"), Message("assistant", "", [W("Paris"), W("Tokyo")])], tools, "par"),
        Sample([Message("user", "Hi!"), Message("assistant", "Hello! How can I help?")], tools, "hello"),
        Sample(
            [
                Message("user", "Weather?"),
                Message("assistant", "Which city?"),
                Message("user", "Tokyo."),
                Message("assistant", "", [W("Tokyo")]),
            ],
            tools,
            "slot",
        ),
    ]
    path = tmp_path_factory.mktemp("gold") / "gold.json"
    path.write_text(json.dumps([to_sharegpt(s) | {"id": s.id} for s in samples]), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tools_module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tools") / "demo_tools.py"
    path.write_text(
        "def get_weather(city: str, unit: str = 'c') -> dict:\n"
        "    return {'city': city, 'temp': 21 if unit == 'c' else 70}\n\n"
        "def get_stock(symbol: str) -> float:\n"
        "    return 123.4\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def single_thread() -> None:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the tiny model is far faster on one thread than on busy shared cores
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def generator(tiny_model: Path, lf_env: dict[str, str], single_thread: None) -> Any:
    import os

    from fc_plugin.evaluate.generate import ChatEngineGenerator

    saved = dict(os.environ)
    os.environ.update({k: v for k, v in lf_env.items() if k != "PATH"})
    try:
        yield ChatEngineGenerator(str(tiny_model), "fc_json_qwen", max_new_tokens=12)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_eval_cli_generates_scores_and_times(
    tiny_model: Path, lf_env: dict[str, str], gold_file: Path, tools_module: Path, tmp_path: Path
) -> None:
    out = tmp_path / "eval"
    cmd = ["fc-plugin", "eval", "--model", str(tiny_model), "--template", "fc_json_qwen", "--data", str(gold_file)]
    cmd += ["--batch-size", "3", "--max-new-tokens", "16", "--out", str(out), "--tools-module", str(tools_module)]
    proc = subprocess.run(cmd, env={**lf_env, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "exact_call_accuracy" in proc.stdout and "latency p50" in proc.stdout
    assert "generating" in proc.stderr  # tqdm progress bar

    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    ids = {"single", "par", "hello", "slot", "slot#ask"}
    assert {s["id"] for s in report["samples"]} == ids
    assert 0.0 <= report["exact_call_accuracy"] <= 1.0 and 0.0 <= report["call_decision_accuracy"] <= 1.0
    gen = report["generation"]
    assert gen["samples"] == 5 and gen["batch_size"] == 3 and gen["backend"] == "huggingface"
    assert 0 < gen["latency_p50_s"] <= gen["latency_p99_s"] and gen["samples_per_s"] > 0 and gen["new_tokens"] > 0
    assert set(report["categories"]) == {"single", "parallel", "no_call", "slot_filling"}
    by_id = {v["id"]: v for v in report["samples"]}  # executed by the tools module, replayed as episodes
    assert by_id["single"]["execution_match"] in (True, False) and "execution_match" not in by_id["hello"]
    assert gen["episodes"] == 3 and by_id["par"]["episode_steps"] >= 1 and "episode_steps" not in by_id["slot#ask"]
    assert 0.0 <= report["overall"]["episode_completion_rate"] <= 1.0
    assert (out / "report.png").stat().st_size > 1000 and "## Generation" in (out / "report.md").read_text()

    # the saved raw outputs re-score to the same verdicts with `fc-plugin score`
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {p["id"] for p in preds} == ids and all(p["template"] == "fc_json_qwen" for p in preds)
    rescored = tmp_path / "rescored.json"
    proc = subprocess.run(
        ["fc-plugin", "score", "--gold", str(gold_file), "--pred", str(out / "predictions.jsonl"), "--out", str(rescored)],
        env=lf_env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    again = json.loads(rescored.read_text(encoding="utf-8"))
    assert [s["reasons"] for s in again["samples"]] == [s["reasons"] for s in report["samples"]]


def test_batched_generation_matches_the_chat_engine(generator: Any, gold_file: Path) -> None:
    items, _ = load_gold(gold_file)
    one_by_one = list(generator.generate(items, batch_size=1, progress=False))  # ChatModel.chat
    batched = list(generator.generate(items, batch_size=len(items), progress=False))  # one padded generate()
    assert [g.id for g in batched] == [i.id for i in items]
    assert [g.prompt_tokens for g in batched] == [g.prompt_tokens for g in one_by_one]
    assert [g.text for g in batched] == [g.text for g in one_by_one]


class _ForceOpener:
    """Test-only logits processor: the first tokens must spell the call opener, so the random
    model starts a call and the rest of the call is up to the grammar (or to chance, without it)."""

    def __init__(self, token_ids: list[int]) -> None:
        self.token_ids = token_ids
        self.start: int | None = None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self.start is None:
            self.start = input_ids.shape[1]
        step = input_ids.shape[1] - self.start
        if step < len(self.token_ids):
            forced = scores.new_full(scores.shape, float("-inf"))
            forced[:, self.token_ids[step]] = 0.0
            return forced
        return scores


def _forcing(grammar: Any, opener_ids: list[int], constrain: bool) -> Any:
    class Forcing:
        failures = 0

        def compiled(self, template: str, tools: list) -> Any:
            return grammar.compiled(template, tools)

        def logits_processor(self, grammars: list) -> Any:
            from transformers import LogitsProcessorList

            chain = [_ForceOpener(opener_ids)] + ([grammar.logits_processor(grammars)] if constrain else [])
            return _Chain(LogitsProcessorList(chain))

    return Forcing()


class _Chain:
    def __init__(self, processors: Any) -> None:
        self.processors = processors

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        return self.processors(input_ids, scores)


def test_grammar_makes_forced_calls_schema_valid(generator: Any, gold_file: Path) -> None:
    from fc_plugin.evaluate.grammar import CallGrammar
    from fc_plugin.evaluate.scorer import schema_problems

    items = [i for i in load_gold(gold_file)[0] if i.expected_calls]
    tokenizer = generator.engine.tokenizer
    opener = tokenizer.encode("<tool_call>\n", add_special_tokens=False)
    grammar = CallGrammar(tokenizer, generator.engine.model.config.vocab_size)
    generator.max_new_tokens = 96

    def validity(constrain: bool) -> tuple[float, list[str]]:
        outputs = list(generator.generate(items, len(items), _forcing(grammar, opener, constrain), progress=False))
        valid = 0
        for g, item in zip(outputs, items, strict=True):
            assert g.text.startswith("<tool_call>")
            pred = prediction_from_text(g.id, g.text, "fc_json_qwen")
            problems = [p for c in pred.calls for ps in schema_problems(c, item.sample.tools).values() for p in ps]
            valid += bool(pred.calls) and not pred.errors and not problems
        return valid / len(items), [g.text for g in outputs]

    try:
        with_grammar, texts = validity(constrain=True)
        without_grammar, _ = validity(constrain=False)
    finally:
        generator.max_new_tokens = 12
    assert grammar.failures == 0
    assert with_grammar == 1.0, texts
    assert without_grammar < with_grammar


def test_eval_cli_with_grammar_reports_validity_with_and_without(
    tiny_model: Path, lf_env: dict[str, str], gold_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    cmd = ["fc-plugin", "eval", "--model", str(tiny_model), "--template", "fc_tags_qwen", "--data", str(gold_file)]
    cmd += ["--batch-size", "5", "--max-new-tokens", "8", "--grammar", "both", "--out", str(out)]
    proc = subprocess.run(cmd, env={**lf_env, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "grammar none: call validity" in proc.stdout and "grammar xgrammar: call validity" in proc.stdout
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    gen = report["generation"]
    assert gen["grammar"] == "both" and gen["grammar_compile_failures"] == 0 and gen["samples"] == 5
    ablation = gen["grammar_ablation"]
    assert set(ablation) == {"none", "xgrammar"}
    # the constrained run is the one scored in the report ...
    assert ablation["xgrammar"]["call_json_validity"] == gen["call_json_validity"]
    assert ablation["xgrammar"]["exact_call_accuracy"] == report["exact_call_accuracy"]
    # ... and the unconstrained run's saved outputs re-score to its numbers
    free = out / "predictions_no_grammar.jsonl"
    rows = [json.loads(line) for line in free.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 5 and all(r["template"] == "fc_tags_qwen" for r in rows)
    attempts = sum(bool(prediction_from_text(r["id"], r["text"], "fc_tags_qwen").attempted_call) for r in rows)
    assert ablation["none"]["call_attempts"] == attempts
    proc = subprocess.run(
        ["fc-plugin", "score", "--gold", str(gold_file), "--pred", str(free), "--out", str(tmp_path / "free.json")],
        env=lf_env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    rescored = json.loads((tmp_path / "free.json").read_text(encoding="utf-8"))
    assert rescored["exact_call_accuracy"] == ablation["none"]["exact_call_accuracy"]
    assert rescored["call_decision_accuracy"] == ablation["none"]["call_decision_accuracy"]
    assert "## Grammar-constrained decoding: with vs without" in (out / "report.md").read_text(encoding="utf-8")


def test_episodes_execute_calls_and_feed_results_back(generator: Any, gold_file: Path, tools_module: Path) -> None:
    from fc_plugin.evaluate.episodes import run_episodes
    from fc_plugin.evaluate.grammar import CallGrammar
    from fc_plugin.evaluate.runtime import load_runtime

    items, _ = load_gold(gold_file)
    runtime = load_runtime(str(tools_module))
    tokenizer = generator.engine.tokenizer
    opener = tokenizer.encode("<tool_call>\n", add_special_tokens=False)
    grammar = CallGrammar(tokenizer, generator.engine.model.config.vocab_size)
    generator.max_new_tokens = 96
    try:  # every turn is forced to be a schema-valid call: 2 turns, 2 executed calls, never a final answer
        forced = run_episodes(generator, items, runtime, "fc_json_qwen", 4, 2, _forcing(grammar, opener, True))
    finally:
        generator.max_new_tokens = 12
    assert set(forced) == {"single", "par", "slot"}
    for v in forced.values():
        assert v["episode_steps"] == 2 and not v["episode_completed"] and v["episode_invalid_calls"] == 0
        assert len(v["episode_calls"]) >= 2 and all(c["ok"] for c in v["episode_calls"])
        assert v["episode_match"] is False  # more calls than the gold made
    # without forcing the random model answers with text at once
    free = run_episodes(generator, items, runtime, "fc_json_qwen", 4, 2)
    assert all(v["episode_steps"] == 1 and v["episode_completed"] for v in free.values())


def test_eval_cli_on_bfcl_files(tiny_model: Path, lf_env: dict[str, str], tmp_path: Path) -> None:
    fn = {
        "name": "math.factorial",
        "description": "Factorial of a number",
        "parameters": {"type": "dict", "properties": {"number": {"type": "integer"}}, "required": ["number"]},
    }
    questions, answers, irrelevance = tmp_path / "q.json", tmp_path / "a.json", tmp_path / "irr.json"
    rows = [{"id": f"simple_python_{i}", "question": [[{"role": "user", "content": f"{i}!?"}]], "function": [fn]} for i in range(2)]
    questions.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    answers.write_text(
        "\n".join(json.dumps({"id": f"simple_python_{i}", "ground_truth": [{"math.factorial": {"number": [i]}}]}) for i in range(2))
        + "\n",
        encoding="utf-8",
    )
    irrelevance.write_text(
        json.dumps({"id": "irrelevance_0", "question": [[{"role": "user", "content": "Hi"}]], "function": [fn]}) + "\n",
        encoding="utf-8",
    )
    cmd = ["fc-plugin", "eval", "--model", str(tiny_model), "--template", "fc_react_qwen", "--bfcl-questions", str(questions)]
    cmd += ["--bfcl-questions", str(irrelevance), "--bfcl-answers", str(answers), "--batch-size", "3"]
    cmd += ["--max-new-tokens", "8", "--out", str(tmp_path / "out")]
    proc = subprocess.run(cmd, env={**lf_env, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["mode"] == "eval-bfcl" and set(report["categories"]) == {"simple_python", "irrelevance"}
    assert [s["id"] for s in report["samples"]] == ["simple_python_0", "simple_python_1", "irrelevance_0"]
    assert all("error_type" in s for s in report["samples"]) and report["generation"]["samples"] == 3
