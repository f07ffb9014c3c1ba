"""Fuzzed model outputs never crash the scorer (hypothesis)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fc_plugin.evaluate import bfcl, scorer
from fc_plugin.evaluate.inputs import GoldItem, Prediction, calls_from_json, prediction_from_record
from fc_plugin.sample import Message, Sample, ToolCall

TOOLS = [
    {
        "name": "get_weather",
        "description": "Weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}, "tags": {"type": "array"}},
            "required": ["city"],
        },
    }
]
CALL = ToolCall("get_weather", {"city": "Paris", "days": 2})
GOLDS = [
    GoldItem("a", Sample([], TOOLS), [Message("user", "q")], Message("assistant", "", [CALL]), "single"),
    GoldItem("b", Sample([], TOOLS), [Message("user", "q")], Message("assistant", "", [CALL, CALL]), "parallel"),
    GoldItem("c", Sample([], TOOLS), [Message("user", "q")], Message("assistant", "Hello"), "no_call"),
    GoldItem("d", Sample([], TOOLS), [Message("user", "q")], Message("assistant", "Which city?"), "slot_filling"),
]
TEMPLATES = ["fc_json_qwen", "fc_tags_llama3", "fc_react_phi4"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
fragments = st.sampled_from(
    [
        "<tool_call>", "</tool_call>", "<function_call>", "</function_call>", "<thought>", "</thought>",
        "Action: ", "Action Input: ", "Thought: ", "Final Answer: ", "Observation:", "\n", "{", "}", "[", "]",
        '"name"', '"arguments"', ": ", ", ", '"get_weather"', '"city"', '"Paris"', "2", "null", "```json", "```",
        "get_weather", "'", '"', "\\", "\u00e9", "\x00",
    ]
)  # fmt: skip
python_literals = st.sampled_from(["{''}", "{1, 2}", "(1, 'a')", "b'x'", "1j", "{1: 2}", "True", "None", "[]", "{}"])
calls_with_literals = python_literals.map(  # single-quoted calls: lenient mode reads them as Python literals
    lambda v: "<tool_call>{'name': 'get_weather', 'arguments': {'city': 'Paris', 'days': " + v + "}}</tool_call>"
)
model_text = st.one_of(st.text(max_size=200), st.lists(fragments, max_size=40).map("".join), calls_with_literals)
settings_ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_verdict(v: dict) -> None:
    json.dumps(v)  # the report must serialise
    for key in ("argument_precision", "argument_recall", "argument_f1"):
        assert 0.0 <= v[key] <= 1.0
    assert not v["exact_match"] or v["decision_correct"]


@settings_
@given(text=model_text, template=st.sampled_from(TEMPLATES))
def test_random_model_text_never_crashes_the_scorer(text: str, template: str) -> None:
    pred = prediction_from_record({"id": "x", "text": text, "template": template})
    verdicts = [scorer.score_sample(g, pred) for g in GOLDS]
    for v in verdicts:
        check_verdict(v)
    scorer.summarize(verdicts)


@settings_
@given(raw=json_values)
def test_random_call_json_never_crashes_the_scorer(raw: object) -> None:
    try:
        calls, errors = calls_from_json(raw)
    except ValueError:
        return  # not a list of calls at all: the record is rejected with a reason
    pred = Prediction("x", calls, errors=errors)
    for g in GOLDS:
        check_verdict(scorer.score_sample(g, pred))


@settings_
@given(args=st.dictionaries(st.sampled_from(["city", "days", "tags", "x"]), json_values, max_size=4), n=st.integers(0, 3))
def test_random_arguments_never_crash_the_bfcl_checker(args: dict, n: int) -> None:
    doc = {
        "name": "get_weather",
        "parameters": {
            "type": "dict",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer"},
                "tags": {"type": "array", "items": {"type": "dict"}},
                "x": {"type": "dict"},
            },
            "required": ["city"],
        },
    }
    answer = {"get_weather": {"city": ["Paris"], "days": [2, ""], "tags": [[{"k": ["v"]}], ""], "x": [{"a": [1]}, ""]}}
    for category in ("simple_python", "parallel", "multiple", "irrelevance"):
        case = bfcl.BfclCase("c_0", category, [doc], [[]], None if category == "irrelevance" else [answer] * max(1, n))
        result = bfcl.check(case, Prediction("x", [ToolCall("get_weather", args)] * n))
        assert isinstance(result.valid, bool)
