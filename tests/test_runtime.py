"""Tool runtime: validated execution, fallback messages, execution-based scoring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fc_plugin.cli import main
from fc_plugin.evaluate.runtime import ToolRuntime, execution_match, load_runtime, schema_from_signature
from fc_plugin.sample import Message, Sample, ToolCall
from fc_plugin.sharegpt import to_sharegpt

WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["city"],
    },
}


def make_runtime() -> ToolRuntime:
    runtime = ToolRuntime()

    @runtime.register(schema=WEATHER)
    def get_weather(city: str, unit: str = "c") -> dict:
        return {"city": city.title(), "temp": 21 if unit == "c" else 70}

    @runtime.register
    def divide(a: int, b: int) -> float:
        """Divide a by b."""
        return a / b

    return runtime


def test_valid_call_runs_and_returns_json_text() -> None:
    result = make_runtime().execute(ToolCall("get_weather", {"city": "paris"}))
    assert result.ok and result.output == {"city": "Paris", "temp": 21}
    assert json.loads(result.message) == {"city": "Paris", "temp": 21}


def test_invalid_arguments_get_a_fallback_instead_of_running() -> None:
    runtime = make_runtime()
    for args, needle in (
        ({}, "'city' is a required property"),
        ({"city": "Paris", "unit": "kelvin"}, "'kelvin' is not one of"),
        ({"city": 42}, "42 is not of type 'string'"),
        ({"city": "Paris", "planet": "Mars"}, "unknown argument 'planet'"),
    ):
        result = runtime.execute(ToolCall("get_weather", args))
        assert not result.ok and result.error == "invalid_arguments"
        fallback = json.loads(result.message)
        assert fallback["error"] == "invalid_arguments" and needle in fallback["message"] and fallback["hint"]


def test_unknown_function_and_tool_exception_are_fallbacks() -> None:
    runtime = make_runtime()
    unknown = runtime.execute(ToolCall("get_exchange_rate", {}))
    assert unknown.error == "unknown_function" and "divide, get_weather" in json.loads(unknown.message)["hint"]
    crash = runtime.execute(ToolCall("divide", {"a": 1, "b": 0}))
    assert crash.error == "tool_error" and "ZeroDivisionError" in json.loads(crash.message)["message"]


def test_schema_from_signature_and_sample_tools_override() -> None:
    runtime = make_runtime()
    assert schema_from_signature(make_runtime)["parameters"]["required"] == []
    divide = runtime.schema("divide")
    assert divide["description"] == "Divide a by b."
    assert divide["parameters"]["properties"] == {"a": {"type": "integer"}, "b": {"type": "integer"}}
    assert runtime.execute(ToolCall("divide", {"a": "1", "b": 2})).error == "invalid_arguments"
    loose = [{"name": "divide", "parameters": {"type": "object", "properties": {"a": {}, "b": {}}}}]
    assert runtime.execute(ToolCall("divide", {"a": 4.0, "b": 2}), loose).output == 2.0


def test_execution_match_compares_results_order_free() -> None:
    runtime = make_runtime()
    expected = [ToolCall("get_weather", {"city": "Paris"}), ToolCall("get_weather", {"city": "Tokyo", "unit": "f"})]
    # "paris" differs from "Paris" as text but the tool returns the same result
    same = [ToolCall("get_weather", {"city": "tokyo", "unit": "f"}), ToolCall("get_weather", {"city": "paris"})]
    assert execution_match(runtime, expected, same, [WEATHER])["execution_match"] is True
    wrong = [ToolCall("get_weather", {"city": "Paris"}), ToolCall("get_weather", {"city": "Tokyo"})]
    assert execution_match(runtime, expected, wrong, [WEATHER])["execution_match"] is False
    invalid = execution_match(runtime, expected[:1], [ToolCall("get_weather", {})], [WEATHER])
    assert invalid["execution_match"] is False and invalid["executed"][0]["error"] == "invalid_arguments"


TOOLS_PY = '''
def get_weather(city: str, unit: str = "c") -> dict:
    return {"city": city.lower(), "unit": unit}

def _helper():
    pass
'''


def test_load_runtime_from_file_and_score_by_execution(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tools_py = tmp_path / "my_tools.py"
    tools_py.write_text(TOOLS_PY, encoding="utf-8")
    assert load_runtime(str(tools_py)).names == ["get_weather"]
    with pytest.raises(ValueError, match="no_such_module_xyz"):
        load_runtime("no_such_module_xyz")

    call = ToolCall("get_weather", {"city": "Paris"})
    sample = Sample([Message("user", "Weather in Paris?"), Message("assistant", "", [call])], [WEATHER], "s1")
    gold = tmp_path / "gold.json"
    gold.write_text(json.dumps([to_sharegpt(sample) | {"id": "s1"}]), encoding="utf-8")
    pred = tmp_path / "pred.jsonl"
    pred.write_text(json.dumps({"id": "s1", "calls": [{"name": "get_weather", "arguments": {"city": "PARIS"}}]}) + "\n")
    out = tmp_path / "r.json"
    argv = ["score", "--gold", str(gold), "--pred", str(pred), "--out", str(out), "--tools-module", str(tools_py)]
    assert main(argv) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["exact_call_accuracy"] == 0.0  # "PARIS" != "Paris" by AST ...
    assert report["overall"]["execution_match_rate"] == 1.0  # ... but the tool does the same thing
    assert "exec match" in out.with_suffix(".md").read_text(encoding="utf-8")
