"""Scorer rules, one case each, plus the `score` / `compare` commands on real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fc_plugin.cli import main
from fc_plugin.evaluate import scorer
from fc_plugin.evaluate.inputs import GoldItem, Prediction, calls_from_json, load_gold, prediction_from_text
from fc_plugin.sample import Message, Sample, ToolCall
from fc_plugin.sharegpt import to_sharegpt

WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer"},
            "unit": {"type": "string", "enum": ["c", "f"]},
        },
        "required": ["city"],
    },
}
STOCK = {
    "name": "get_stock",
    "description": "Stock price",
    "parameters": {"type": "object", "properties": {"symbol": {"type": "string"}}, "required": ["symbol"]},
}
TOOLS = [WEATHER, STOCK]


def gold(calls: list[ToolCall] | None = None, text: str = "", category: str = "single", id: str = "g") -> GoldItem:
    prompt = [Message("user", "question")]
    expected = Message("assistant", text, list(calls or []))
    return GoldItem(id, Sample(prompt + [expected], TOOLS, id), prompt, expected, category)


def pred(*calls: ToolCall, content: str = "", errors: list[str] | None = None) -> Prediction:
    return Prediction("g", list(calls), content, None, list(errors or []))


def W(**args) -> ToolCall:
    return ToolCall("get_weather", args)


def test_exact_single_call() -> None:
    v = scorer.score_sample(gold([W(city="Paris", days=3)]), pred(W(days=3, city="Paris")))
    assert v["exact_match"] and v["decision_correct"] and v["names_correct"]
    assert v["argument_f1"] == 1.0 and v["reasons"] == []


def test_numbers_compare_by_value_but_bool_is_not_int() -> None:
    assert scorer.score_sample(gold([W(city="Paris", days=3)]), pred(W(city="Paris", days=3.0)))["exact_match"]
    v = scorer.score_sample(gold([W(city="Paris", days=1)]), pred(W(city="Paris", days=True)))
    assert not v["exact_match"] and v["type_errors"] == ["get_weather.days: True is not of type 'integer'"]


def test_wrong_argument_value_gives_partial_f1() -> None:
    v = scorer.score_sample(gold([W(city="Paris", days=3)]), pred(W(city="Mars", days=3)))
    assert not v["exact_match"] and v["names_correct"]
    assert v["argument_precision"] == 0.5 and v["argument_recall"] == 0.5 and v["argument_f1"] == 0.5
    assert v["reasons"] == ["wrong_arguments"]


def test_extra_and_missing_arguments_move_precision_and_recall() -> None:
    extra = scorer.score_sample(gold([W(city="Paris")]), pred(W(city="Paris", unit="c")))
    assert not extra["exact_match"] and extra["argument_precision"] == 0.5 and extra["argument_recall"] == 1.0
    missing = scorer.score_sample(gold([W(city="Paris", unit="c")]), pred(W(city="Paris")))
    assert missing["argument_precision"] == 1.0 and missing["argument_recall"] == 0.5


def test_wrong_function_name() -> None:
    v = scorer.score_sample(gold([W(city="Paris")]), pred(ToolCall("get_stock", {"symbol": "Paris"})))
    assert v["decision_correct"] and not v["names_correct"] and not v["exact_match"]
    assert "wrong_function" in v["reasons"] and v["argument_f1"] == 0.0


def test_hallucinated_function_and_argument() -> None:
    v = scorer.score_sample(gold([W(city="Paris")]), pred(ToolCall("get_exchange_rate", {"pair": "USD/CNY"})))
    assert v["hallucinated_functions"] == ["get_exchange_rate"] and "hallucinated_function" in v["reasons"]
    v = scorer.score_sample(gold([W(city="Paris")]), pred(W(city="Paris", planet="Mars")))
    assert v["hallucinated_arguments"] == ["get_weather.planet"] and "hallucinated_argument" in v["reasons"]


def test_missing_required_and_enum_type_error() -> None:
    v = scorer.score_sample(gold([W(city="Paris")]), pred(W(days=2)))
    assert v["missing_required"] == ["get_weather.city"]
    v = scorer.score_sample(gold([W(city="Paris", unit="c")]), pred(W(city="Paris", unit="kelvin")))
    assert v["type_errors"] and "kelvin" in v["type_errors"][0]


def test_parallel_calls_match_in_any_order() -> None:
    expected = [W(city="Paris"), W(city="Tokyo"), ToolCall("get_stock", {"symbol": "AAPL"})]
    shuffled = [ToolCall("get_stock", {"symbol": "AAPL"}), W(city="Tokyo"), W(city="Paris")]
    v = scorer.score_sample(gold(expected, category="parallel"), pred(*shuffled))
    assert v["exact_match"] and v["matched_calls"] == 3 and v["argument_f1"] == 1.0


def test_parallel_partial_and_count_mismatch() -> None:
    expected = [W(city="Paris"), W(city="Tokyo")]
    v = scorer.score_sample(gold(expected, category="parallel"), pred(W(city="Tokyo")))
    assert not v["exact_match"] and v["exact_calls"] == 1 and v["argument_recall"] == 0.5
    assert v["argument_precision"] == 1.0 and "wrong_function" in v["reasons"]  # name multiset differs
    v = scorer.score_sample(gold(expected), pred(W(city="Tokyo"), W(city="Paris"), W(city="Paris")))
    assert not v["exact_match"] and v["exact_calls"] == 2


def test_matching_prefers_the_assignment_with_most_matching_arguments() -> None:
    expected = [W(city="Paris", days=1), W(city="Tokyo", days=2)]
    predicted = [W(city="Tokyo", days=1), W(city="Tokyo", days=2)]
    v = scorer.score_sample(gold(expected), pred(*predicted))
    assert v["argument_pairs"]["matched"] == 3  # (Tokyo,2)->Tokyo/2, (Tokyo,1)->Paris/1 shares days


def test_no_call_decision() -> None:
    right = scorer.score_sample(gold(text="Hello!", category="no_call"), pred(content="Hi there"))
    assert right["exact_match"] and right["decision_correct"] and not right["predicted_call"]
    wrong = scorer.score_sample(gold(text="Hello!", category="no_call"), pred(W(city="Paris")))
    assert not wrong["exact_match"] and not wrong["decision_correct"] and wrong["reasons"] == ["unwanted_call"]
    missed = scorer.score_sample(gold([W(city="Paris")]), pred(content="It is sunny."))
    assert not missed["decision_correct"] and missed["reasons"] == ["missed_call"]


def test_unparsable_output_counts_as_a_failed_call_attempt() -> None:
    v = scorer.score_sample(gold(text="Hi", category="no_call"), pred(errors=["invalid JSON in <tool_call>"]))
    assert v["unparsable"] and v["predicted_call"] and not v["exact_match"] and "unparsable" in v["reasons"]
    v = scorer.score_sample(gold([W(city="Paris")]), pred(W(city="Paris"), errors=["second call broken"]))
    assert not v["exact_match"] and v["unparsable"]


def test_slot_filling_question_versus_invented_argument() -> None:
    asked = scorer.score_sample(gold(text="Which city?", category="slot_filling"), pred(content="Which city, please?"))
    assert asked["asked_for_missing"] and asked["exact_match"]
    invented = scorer.score_sample(gold(text="Which city?", category="slot_filling"), pred(W(city="Mars")))
    assert invented["asked_for_missing"] is False and invented["reasons"] == ["invented_argument"]
    # a text answer that asks nothing (here: an invented weather report) is not a slot-filling question
    told = scorer.score_sample(gold(text="Which city?", category="slot_filling"), pred(content="It is sunny."))
    assert told["asked_for_missing"] is False and told["reasons"] == ["did_not_ask"]
    zh = scorer.score_sample(gold(text="哪个城市？", category="slot_filling"), pred(content="请问是哪个城市？"))
    assert zh["asked_for_missing"] is True and zh["reasons"] == []


def test_missing_prediction() -> None:
    v = scorer.score_sample(gold([W(city="Paris")]), None)
    assert v["missing_prediction"] and not v["exact_match"] and "missing_prediction" in v["reasons"]


def test_aggregates_and_confusion() -> None:
    items = [
        (gold([W(city="Paris")], id="a"), pred(W(city="Paris"))),
        (gold([W(city="Paris")], id="b"), pred(content="no idea")),
        (gold(text="hi", category="no_call", id="c"), pred(content="hello")),
        (gold(text="hi", category="no_call", id="d"), pred(ToolCall("nope", {}))),
    ]
    verdicts = [scorer.score_sample(g, p) for g, p in items]
    summary = scorer.summarize(verdicts)
    assert summary["exact_call_accuracy"] == 0.5 and summary["call_decision_accuracy"] == 0.5
    assert summary["confusion"] == {"call": {"call": 1, "no_call": 1}, "no_call": {"call": 1, "no_call": 1}}
    assert summary["categories"]["single"]["count"] == 2 and summary["categories"]["single"]["exact_call_accuracy"] == 0.5
    assert summary["overall"]["hallucinated_function_rate"] == 0.5  # 1 of the 2 samples that called
    assert summary["categories"]["no_call"]["function_name_accuracy"] is None


def test_calls_from_json_accepts_openai_shape_and_keeps_bad_calls_as_errors() -> None:
    calls, errors = calls_from_json(
        [
            {"type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
            {"name": "get_stock", "arguments": "{not json"},
            {"arguments": {}},
        ]
    )
    assert calls == [W(city="Paris")]
    assert len(errors) == 2 and "not valid JSON" in errors[0] and "'name'" in errors[1]


def test_text_predictions_are_parsed_with_the_template_parser() -> None:
    text = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
    p = prediction_from_text("g", text, "fc_json_qwen")
    assert p.calls == [W(city="Paris")] and not p.errors
    assert scorer.score_sample(gold([W(city="Paris")]), p)["exact_match"]
    broken = prediction_from_text("g", '<tool_call>\n{"name": "get_weather", "arguments": {"city": \n</tool_call>', "fc_json_qwen")
    assert broken.errors and scorer.score_sample(gold([W(city="Paris")]), broken)["unparsable"]


def _write_gold(path: Path) -> None:
    samples = [
        Sample([Message("user", "Weather in Paris?"), Message("assistant", "", [W(city="Paris")])], TOOLS, "s1"),
        Sample(
            [
                Message("user", "Paris and Tokyo?"),
                Message("assistant", "", [W(city="Paris"), W(city="Tokyo")]),
            ],
            TOOLS,
            "p1",
        ),
        Sample([Message("user", "Hi!"), Message("assistant", "Hello! How can I help?")], TOOLS, "n1"),
        Sample(
            [
                Message("user", "What's the weather?"),
                Message("assistant", "Which city?"),
                Message("user", "Shanghai."),
                Message("assistant", "", [W(city="Shanghai")]),
            ],
            TOOLS,
            "f1",
        ),
    ]
    rows = [to_sharegpt(s) | {"id": s.id} for s in samples]
    rows.append({"conversations": "not a list"})
    path.write_text(json.dumps(rows), encoding="utf-8")


def test_gold_reader_adds_slot_filling_questions_and_keeps_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "gold.json"
    _write_gold(path)
    items, problems = load_gold(path)
    by_id = {i.id: i for i in items}
    assert set(by_id) == {"s1", "p1", "n1", "f1", "f1#ask"}
    assert by_id["f1#ask"].expected.content == "Which city?" and by_id["f1#ask"].category == "slot_filling"
    assert [m.role for m in by_id["f1#ask"].prompt] == ["user"]
    assert by_id["p1"].category == "parallel" and by_id["n1"].category == "no_call"
    assert len(problems) == 1 and problems[0].record == "#4" and "conversations" in problems[0].reason


def test_score_command_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gold_path, pred_path, out = tmp_path / "gold.json", tmp_path / "pred.jsonl", tmp_path / "rep" / "a.json"
    _write_gold(gold_path)
    lines = [
        {"id": "s1", "calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]},
        {"id": "p1", "text": '<function_call>{"name": "get_weather", "arguments": {"city": "Tokyo"}}</function_call>',
         "template": "fc_tags_qwen"},  # fmt: skip
        {"id": "n1", "calls": [], "content": "Hello!"},
        {"id": "f1#ask", "calls": [{"name": "get_weather", "arguments": {"city": "Beijing"}}]},
        {"id": "unknown", "calls": []},
    ]
    pred_path.write_text("\n".join(json.dumps(x) for x in lines) + "\n{broken\n", encoding="utf-8")
    assert main(["score", "--gold", str(gold_path), "--pred", str(pred_path), "--out", str(out)]) == 0
    stdout, stderr = capsys.readouterr()
    assert "exact_call_accuracy 0.400 (2/5)" in stdout and "3 input record(s) rejected" in stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["exact_call_accuracy"] == 0.4 and report["call_decision_accuracy"] == 0.6
    assert report["categories"]["slot_filling"]["asked_for_missing_rate"] == 0.0
    assert {p["reason"] for p in report["input_problems"]} >= {"no gold sample with this id"}
    assert any("invalid JSON" in p["reason"] and p["record"] == "line 6" for p in report["input_problems"])
    md = out.with_suffix(".md").read_text(encoding="utf-8")
    assert "| parallel | 1 | 0.000 |" in md and "## Call vs no call" in md
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    better = tmp_path / "pred_b.jsonl"
    better.write_text(
        json.dumps({"id": "p1", "calls": [W(city="Paris").to_dict(), W(city="Tokyo").to_dict()]}) + "\n",
        encoding="utf-8",
    )
    out_b = tmp_path / "rep_b"
    assert main(["score", "--gold", str(gold_path), "--pred", str(better), "--out", str(out_b)]) == 0
    capsys.readouterr()
    assert main(["compare", str(out), str(out_b / "report.json"), "--out", str(tmp_path / "ab.md")]) == 0
    table = capsys.readouterr().out
    assert "| metric | a | rep_b | delta (B - A) |" in table
    assert "| parallel exact | 0.000 | 1.000 | +1.000 ▲ |" in table
    assert (tmp_path / "ab.md").read_text(encoding="utf-8") == table


def test_score_command_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "--gold", str(tmp_path / "missing.json"), "--pred", "x", "--out", str(tmp_path)]) == 2
    assert "No such file" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('[{"conversations": 1}]', encoding="utf-8")
    assert main(["score", "--gold", str(bad), "--pred", str(bad), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no usable samples" in err
    assert main(["compare", str(bad), str(bad)]) == 2
    assert "not an fc-plugin report" in capsys.readouterr().err


def test_eval_rejects_grammar_without_the_huggingface_backend_before_loading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gold_path = tmp_path / "gold.json"
    _write_gold(gold_path)
    argv = ["eval", "--model", str(tmp_path / "no_model"), "--template", "fc_json_qwen", "--data", str(gold_path)]
    assert main(argv + ["--backend", "vllm", "--grammar", "both", "--out", str(tmp_path / "o")]) == 2
    assert "--grammar both needs --backend huggingface (got vllm)" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
