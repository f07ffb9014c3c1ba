"""BFCL AST rules, one case each (agreement with bfcl-eval itself: test_bfcl_agreement.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fc_plugin.cli import main
from fc_plugin.evaluate import bfcl
from fc_plugin.evaluate.inputs import Prediction
from fc_plugin.sample import ToolCall

AREA = {
    "name": "geometry.area",
    "description": "Area of a shape",
    "parameters": {
        "type": "dict",
        "properties": {
            "shape": {"type": "string"},
            "base": {"type": "integer"},
            "height": {"type": "float"},
            "unit": {"type": "string"},
            "exact": {"type": "boolean"},
            "sides": {"type": "array", "items": {"type": "integer"}},
            "options": {"type": "dict"},
        },
        "required": ["shape", "base"],
    },
}
ANSWER = {
    "geometry.area": {
        "shape": ["Triangle"],
        "base": [10],
        "height": [5.0],
        "unit": ["square meters", "m2", ""],
        "exact": ["", True],
        "sides": [[3, 4, 5], ""],
        "options": [{"precision": [2], "round": ["", "half up"]}, ""],
    }
}


def case(category: str = "simple_python", answers: list | None = None, functions: list | None = None) -> bfcl.BfclCase:
    return bfcl.BfclCase(f"{category}_0", category, functions or [AREA], [[]], [ANSWER] if answers is None else answers)


def verdict(args: dict, category: str = "simple_python", name: str = "geometry.area") -> bfcl.CheckResult:
    return bfcl.check(case(category), Prediction("x", [ToolCall(name, args)]))


BASE = {"shape": "Triangle", "base": 10, "height": 5.0}


def test_minimal_correct_call_omits_optional_parameters() -> None:
    assert verdict(BASE).valid


def test_category_from_id() -> None:
    assert bfcl.category_of("simple_python_12") == "simple_python"
    assert bfcl.category_of("live_parallel_multiple_3-2-1") == "live_parallel_multiple"
    assert bfcl.category_of("irrelevance_7") == "irrelevance"


def test_string_normalisation() -> None:
    assert bfcl.normalize_string("Square-Meters, 'x'") == 'squaremeters"x"'
    assert verdict({**BASE, "shape": "TRIANGLE", "unit": "Square_Meters."}).valid
    assert not verdict({**BASE, "unit": "square feet"}).valid


def test_parameter_without_empty_string_must_be_given() -> None:
    answers = [{"geometry.area": {**ANSWER["geometry.area"], "unit": ["m2"]}}]
    result = bfcl.check(case(answers=answers), Prediction("x", [ToolCall("geometry.area", BASE)]))
    assert not result.valid and result.error_type == "simple_function_checker:missing_optional"


def test_int_accepted_for_float_but_not_float_for_int() -> None:
    assert verdict({**BASE, "height": 5}).valid
    result = verdict({**BASE, "base": 10.0})
    assert not result.valid and result.error_type == "type_error:simple"


def test_bool_is_not_an_integer() -> None:
    assert verdict({**BASE, "exact": True}).valid
    assert not verdict({**BASE, "base": True}).valid


def test_allowed_values_list() -> None:
    assert verdict({**BASE, "unit": "m2"}).valid
    assert not verdict({**BASE, "base": 11}).valid


def test_required_unexpected_and_wrong_name() -> None:
    assert verdict({"shape": "Triangle", "height": 5.0}).error_type == "simple_function_checker:missing_required"
    assert verdict({**BASE, "color": "red"}).error_type == "simple_function_checker:unexpected_param"
    assert verdict(BASE, name="geometry_area").error_type == "simple_function_checker:wrong_func_name"


def test_lists_compare_element_wise_in_order() -> None:
    assert verdict({**BASE, "sides": [3, 4, 5]}).valid
    assert not verdict({**BASE, "sides": [5, 4, 3]}).valid
    assert not verdict({**BASE, "sides": ["3", "4", "5"]}).valid
    # element types are checked against list-valued allowed answers ("" alone skips the check, as in BFCL)
    answers = [{"geometry.area": {**ANSWER["geometry.area"], "sides": [[3, 4, 5]]}}]
    wrong = bfcl.check(case(answers=answers), Prediction("x", [ToolCall("geometry.area", {**BASE, "sides": ["3"]})]))
    assert wrong.error_type == "type_error:nested"


def test_dicts_compare_key_by_key_with_optional_keys() -> None:
    assert verdict({**BASE, "options": {"precision": 2}}).valid
    assert verdict({**BASE, "options": {"precision": 2, "round": "Half-Up"}}).valid
    assert not verdict({**BASE, "options": {"precision": 3}}).valid
    assert not verdict({**BASE, "options": {"round": "half up"}}).valid  # missing required key
    assert not verdict({**BASE, "options": {"precision": 2, "extra": 1}}).valid


def test_a_value_of_the_answers_type_is_accepted_as_a_variable() -> None:
    answers = [{"geometry.area": {**ANSWER["geometry.area"], "base": ["b"]}}]
    good = bfcl.check(case(answers=answers), Prediction("x", [ToolCall("geometry.area", {**BASE, "base": "b"})]))
    bad = bfcl.check(case(answers=answers), Prediction("x", [ToolCall("geometry.area", {**BASE, "base": "B"})]))
    assert good.valid and not bad.valid  # variables compare exactly, without normalisation


SUM = {"name": "sum", "parameters": {"type": "dict", "properties": {"a": {"type": "integer"}}, "required": ["a"]}}


def test_parallel_is_order_free_and_counts() -> None:
    c = case("parallel", [{"sum": {"a": [1]}}, {"sum": {"a": [2]}}], [SUM])
    assert bfcl.check(c, Prediction("x", [ToolCall("sum", {"a": 2}), ToolCall("sum", {"a": 1})])).valid
    short = bfcl.check(c, Prediction("x", [ToolCall("sum", {"a": 1})]))
    assert short.error_type == "parallel_function_checker_no_order:wrong_count"
    dup = bfcl.check(c, Prediction("x", [ToolCall("sum", {"a": 1}), ToolCall("sum", {"a": 1})]))
    assert dup.error_type == "parallel_function_checker_no_order:cannot_find_match"


def test_parallel_matching_is_greedy_like_bfcl() -> None:
    # answer 0 accepts either call and takes the first; answer 1 then finds no match (BFCL does the same)
    c = case("parallel", [{"sum": {"a": [1, 2]}}, {"sum": {"a": [1]}}], [SUM])
    assert not bfcl.check(c, Prediction("x", [ToolCall("sum", {"a": 1}), ToolCall("sum", {"a": 2})])).valid
    assert bfcl.check(c, Prediction("x", [ToolCall("sum", {"a": 2}), ToolCall("sum", {"a": 1})])).valid


def test_multiple_checks_the_expected_function_among_several() -> None:
    c = case("multiple", [{"sum": {"a": [1]}}], [AREA, SUM])
    assert bfcl.check(c, Prediction("x", [ToolCall("sum", {"a": 1})])).valid
    assert not bfcl.check(c, Prediction("x", [ToolCall("geometry.area", BASE)])).valid
    assert not bfcl.check(c, Prediction("x", [ToolCall("sum", {"a": 1})] * 2)).valid


def test_irrelevance_and_relevance() -> None:
    irrelevant = bfcl.BfclCase("irrelevance_0", "irrelevance", [SUM], [[]], None)
    assert bfcl.check(irrelevant, Prediction("x", [])).valid
    assert bfcl.check(irrelevant, Prediction("x", [], errors=["no call found"])).valid  # failed decode = no call
    assert not bfcl.check(irrelevant, Prediction("x", [ToolCall("sum", {"a": 1})])).valid
    relevant = bfcl.BfclCase("live_relevance_0-0-0", "live_relevance", [SUM], [[]], None)
    assert bfcl.check(relevant, Prediction("x", [ToolCall("sum", {"a": 9})])).valid
    assert not bfcl.check(relevant, Prediction("x", [])).valid


def test_decode_failure_and_missing_prediction_are_invalid() -> None:
    assert bfcl.check(case(), Prediction("x", [], errors=["bad"])).error_type == "ast_decoder:decoder_failed"
    assert not bfcl.check(case(), None).valid


def test_score_command_reads_bfcl_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    questions = tmp_path / "BFCL_v4_simple_python.json"
    answers = tmp_path / "possible_answer.json"
    irrelevance = tmp_path / "BFCL_v4_irrelevance.json"
    java = tmp_path / "BFCL_v4_simple_java.json"
    rows = [{"id": f"simple_python_{i}", "question": [[{"role": "user", "content": "q"}]], "function": [AREA]} for i in range(3)]
    questions.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    answers.write_text(
        "\n".join(json.dumps({"id": f"simple_python_{i}", "ground_truth": [ANSWER]}) for i in range(3)) + "\n",
        encoding="utf-8",
    )
    irrelevance.write_text(json.dumps({"id": "irrelevance_0", "question": [[]], "function": [SUM]}) + "\n", encoding="utf-8")
    java.write_text(json.dumps({"id": "simple_java_0", "question": [[]], "function": [SUM]}) + "\n", encoding="utf-8")
    pred = tmp_path / "pred.jsonl"
    pred.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"id": "simple_python_0", "calls": [{"name": "geometry.area", "arguments": BASE}]},
                {"id": "simple_python_1", "calls": [{"name": "geometry.area", "arguments": {**BASE, "base": 3}}]},
                {"id": "irrelevance_0", "calls": []},
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "bfcl_report"
    argv = ["score", "--bfcl-questions", str(questions), "--bfcl-questions", str(irrelevance)]
    argv += ["--bfcl-questions", str(java), "--bfcl-answers", str(answers), "--pred", str(pred), "--out", str(out)]
    assert main(argv) == 0
    assert "exact_call_accuracy 0.500 (2/4)" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["mode"] == "bfcl" and report["categories"]["irrelevance"]["exact_call_accuracy"] == 1.0
    reasons = report["categories"]["simple_python"]["reasons"]
    assert reasons == {"value_error:others": 1, "ast_decoder:decoder_failed": 1}  # wrong value, missing prediction
    assert report["confusion"]["call"] == {"call": 2, "no_call": 1}
    assert any("simple_java" in p["reason"] for p in report["input_problems"])


def test_parallel_multiple_matches_different_functions_in_any_order() -> None:
    c = case("parallel_multiple", [{"sum": {"a": [1]}}, {"geometry.area": {k: v for k, v in ANSWER["geometry.area"].items()}}], [AREA, SUM])
    area, total = ToolCall("geometry.area", BASE), ToolCall("sum", {"a": 1})
    assert bfcl.check(c, Prediction("x", [area, total])).valid and bfcl.check(c, Prediction("x", [total, area])).valid
    wrong = bfcl.check(c, Prediction("x", [area, ToolCall("sum", {"a": 2})]))
    assert wrong.error_type == "parallel_function_checker_no_order:cannot_find_match"
    assert bfcl.check(c, Prediction("x", [area])).error_type == "parallel_function_checker_no_order:wrong_count"


def test_malformed_bfcl_files_are_reported_not_crashed_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fn = {"name": "f", "parameters": {"type": "dict", "properties": {"xs": {"type": "array"}}, "required": ["xs"]}}
    good = {"name": "g", "parameters": {"type": "dict", "properties": {"n": {"type": "integer"}}, "required": ["n"]}}
    questions, answers, pred = tmp_path / "q.json", tmp_path / "a.json", tmp_path / "p.jsonl"
    rows = [
        {"id": "simple_python_0", "question": [], "function": [fn]},  # array without items.type
        {"id": "simple_python_1", "question": [], "function": [good]},  # its answer is malformed
        {"id": "simple_python_2", "question": [], "function": ["not a doc"]},
        {"id": "simple_python_3", "question": [], "function": [good]},
    ]
    questions.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    truths = [{"f": {"xs": [[1]]}}, "g", {"g": {"n": [1]}}, {"g": {"n": [3]}}]
    answers.write_text(
        "\n".join(json.dumps({"id": f"simple_python_{i}", "ground_truth": [t]}) for i, t in enumerate(truths)) + "\n",
        encoding="utf-8",
    )
    pred.write_text(
        "\n".join(json.dumps({"id": f"simple_python_{i}", "calls": [{"name": "g", "arguments": {"n": 3}}]}) for i in range(4)),
        encoding="utf-8",
    )
    cases, problems = bfcl.load_cases([questions], [answers])
    assert [c.id for c in cases] == ["simple_python_3"]
    found = {(p.file, p.record): p.reason for p in problems}
    assert found == {
        (str(answers), "line 2"): "simple_python_1: possible answer 0: expected {function: {parameter: [allowed values]}}",
        (str(questions), "line 1"): "simple_python_0: f.xs: an array parameter needs 'items': {'type': ...}",
        (str(questions), "line 3"): "simple_python_2: function 0: expected an object with a 'name'",
    }
    out = tmp_path / "r"
    argv = ["score", "--bfcl-questions", str(questions), "--bfcl-answers", str(answers), "--pred", str(pred), "--out", str(out)]
    assert main(argv) == 0 and "exact_call_accuracy 1.000 (1/1)" in capsys.readouterr().out
    # nothing usable: one error line that names the first rejected record and why
    questions.write_text(json.dumps(rows[0]) + "\n", encoding="utf-8")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"no BFCL cases to judge (2 rejected, first: {answers}: record line 2: simple_python_1: possible answer 0" in err
