"""parse_calls: round trips (hypothesis), lenient repairs, strict errors, and never raising."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fc_plugin import templates
from fc_plugin.formats import get_format
from fc_plugin.formats.base import ParseResult
from fc_plugin.sample import ToolCall

FORMATS = ["react", "tags", "json"]
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- strategies -----------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.text(max_size=12) | st.floats(
    allow_nan=False, allow_infinity=False
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
arguments = st.dictionaries(st.text(max_size=10), json_values, max_size=4)
any_name = st.text(min_size=1, max_size=20).filter(lambda s: s.strip())  # quotes, newlines, unicode...
react_name = st.from_regex(r"[^\W\d][\w.\-]{0,15}", fullmatch=True)  # one line, no ':' (ReAct is line based)
_MARKUP = re.compile(  # text that is markup in some format (or a special token) cannot round-trip as plain text
    r"</?thought>|</?think>|<tool_call>|<function_call>|<\||</s>|^\s*(Thought|Action|Final Answer|Observation)\s*:", re.M
)
thoughts = st.none() | st.text(max_size=40).filter(lambda t: not _MARKUP.search(t))
contents = st.text(max_size=40).filter(lambda t: not _MARKUP.search(t))


def calls_for(fmt: str) -> st.SearchStrategy[list[ToolCall]]:
    names = react_name if fmt == "react" else any_name
    return st.lists(st.builds(ToolCall, names, arguments), min_size=1, max_size=3)


# --- round trips --------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
@SETTINGS
@given(data=st.data())
def test_round_trip_of_rendered_calls(fmt, data):
    calls = data.draw(calls_for(fmt))
    thought = data.draw(thoughts)
    text = get_format(fmt).format_calls(calls, thought)
    for strict in (True, False):
        result = templates.parse_calls(f"fc_{fmt}", text, strict=strict)
        assert result.calls == calls, text
        assert result.thought == ((thought or "").strip() or None)
        assert result.errors == [] and result.content == ""


@pytest.mark.parametrize("name", templates.names())
@SETTINGS
@given(data=st.data())
def test_round_trip_through_the_chat_template(name, data):
    """Parsing the assistant turn as the full template renders it gives back the rendered calls."""
    fmt = name.split("_")[1]
    calls = data.draw(calls_for(fmt))
    thought = data.draw(thoughts)
    tools = [{"name": n, "parameters": {"type": "object"}} for n in dict.fromkeys(c.name for c in calls)]
    message = {"role": "assistant", "content": "", "thought": thought,
               "tool_calls": [{"type": "function", "function": c.to_dict()} for c in calls]}
    prompt = templates.render(name, [{"role": "user", "content": "go"}], tools, add_generation_prompt=True)
    full = templates.render(name, [{"role": "user", "content": "go"}, message], tools)
    assert full.startswith(prompt)
    result = templates.parse_calls(name, full[len(prompt):], strict=True)
    assert result.calls == calls and result.errors == []
    assert result.thought == ((thought or "").strip() or None)


@pytest.mark.parametrize("fmt", FORMATS)
@SETTINGS
@given(content=contents, thought=thoughts)
def test_round_trip_of_answers(fmt, content, thought):
    text = get_format(fmt).format_answer(content, thought)
    result = templates.parse_calls(fmt, text, strict=True)
    assert result.calls == [] and result.errors == []
    assert result.content == content.strip()
    assert result.thought == ((thought or "").strip() or None)


# --- never raises ---------------------------------------------------------------------------------------

FRAGMENTS = ["<tool_call>", "</tool_call>", "<function_call>", "</function_call>", "<thought>", "</thought>",
             "<think>", "{", "}", "[", "]", '"name"', '"arguments"', ": ", ", ", '"', "'", "```json\n", "```",
             "\n", "Action: ", "Action Input: ", "Thought: ", "Observation: ", "Final Answer: ", "f", "1e999",
             "True", "None", "null", "\\", "<|im_end|>", "<|eot_id|>", '{"name": "f", "arguments": {}}', "{'a': [1,"]
garbage = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=5), max_size=30).map("".join)


@pytest.mark.parametrize("fmt", FORMATS)
@settings(max_examples=300, deadline=None)
@given(text=garbage | st.text())
def test_parser_never_raises(fmt, text):
    for strict in (True, False):
        result = templates.parse_calls(fmt, text, strict=strict)
        assert isinstance(result, ParseResult)
        assert isinstance(result.content, str) and isinstance(result.errors, list)
        assert all(isinstance(c, ToolCall) and isinstance(c.name, str) and isinstance(c.arguments, dict)
                   for c in result.calls)
        assert not any(e.startswith("parser error") for e in result.errors), result.errors
    strict = templates.parse_calls(fmt, text, strict=True)
    if not strict.errors:  # what strict mode accepts, lenient mode reads the same way
        assert templates.parse_calls(fmt, text).calls == strict.calls


def test_parser_survives_deep_nesting_and_non_text():
    deep = "<tool_call>" + "[" * 100000 + "</tool_call>"
    assert templates.parse_calls("fc_json", deep).calls == []
    assert templates.parse_calls("fc_react", "Action: f\nAction Input: " + "{" * 100000).calls == []
    assert templates.parse_calls("fc_tags", None).errors  # type: ignore[arg-type]


# --- lenient repairs vs strict errors -------------------------------------------------------------

CALL = ToolCall("get_weather", {"city": "Beijing", "days": 2})


@pytest.mark.parametrize("text", [
    '<tool_call>\n```json\n{"name": "get_weather", "arguments": {"city": "Beijing", "days": 2}}\n```\n</tool_call>',
    "<tool_call>{'name': 'get_weather', 'arguments': {'city': 'Beijing', 'days': 2}}</tool_call>",
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Beijing", "days": 2}}',  # unclosed, at the end
    '<tool_call>{"name": "get_weather", "arguments": "{\\"city\\": \\"Beijing\\", \\"days\\": 2}"}</tool_call>',
    '<tool_call>{"name": "get_weather", "parameters": {"city": "Beijing", "days": 2}}</tool_call>',
    '<tool_call>{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Beijing", "days": 2}}}</tool_call>',
    '```json\n{"name": "get_weather", "arguments": {"city": "Beijing", "days": 2}}\n```',
    '{"name": "get_weather", "arguments": {"city": "Beijing", "days": 2}}<|im_end|>',
    "<tool_call>{'name': 'get_weather', 'arguments': {'city': 'Beijing', 'days': 2}}</tool_call>",
    '<tool_call>{"name": "get_weather", "arguments": {"city": "Beijing", "days": 2}}</tool_call>\nI will tell you soon.',
])
def test_json_format_lenient_repairs_that_strict_reports(text):
    lenient = templates.parse_calls("fc_json_qwen", text)
    assert lenient.calls == [CALL], lenient
    strict = templates.parse_calls("fc_json_qwen", text, strict=True)
    assert strict.errors, f"strict mode should report {text!r}"
    assert strict.calls in ([], [CALL])


@pytest.mark.parametrize("literal, value", [
    ("(1, 'a')", [1, "a"]),  # a tuple reads as a list
    ("{''}", None),  # a set: what a tiny model wrote for an object (bench_augment, unseen domains)
    ("{1, 2}", None),
    ("b'x'", None),
    ("1j", None),
    ("{1: 2}", None),  # a non-string key
])  # fmt: skip
def test_lenient_python_literals_give_json_values_or_no_call(literal, value):
    """A Python literal is read only when it holds JSON values: a set in a generated call used to reach
    report.json and crash `fc-plugin eval` after the whole generation had run."""
    text = "<tool_call>{'name': 'get_weather', 'arguments': {'city': " + literal + "}}</tool_call>"
    result = templates.parse_calls("fc_json_qwen", text)
    if value is None:
        assert result.calls == [] and result.content == text and "cannot decode" in result.errors[0]
    else:
        assert result.calls == [ToolCall("get_weather", {"city": value})] and result.errors == []
    json.dumps([c.to_dict() for c in result.calls])


def test_lenient_keeps_surrounding_text_and_thought():
    text = ('<think>plan</think>Let me check. <tool_call>{"name": "get_weather", "arguments": '
            '{"city": "Beijing", "days": 2}}</tool_call> done')
    result = templates.parse_calls("fc_json", text)
    assert result.calls == [CALL] and result.thought == "plan"
    assert result.content == "Let me check.\ndone"


def test_strict_accepts_content_before_calls_and_returns_provable_calls():
    text = ('Checking both.\n<tool_call>\n{"name": "a", "arguments": {}}\n</tool_call>\n'
            '<tool_call>\n{"name": "b", "arguments": {"x": </tool_call>')
    result = templates.parse_calls("fc_json", text, strict=True)
    assert result.calls == [ToolCall("a", {})]
    assert result.content.startswith("Checking both.") and '"b"' in result.content
    assert any("invalid JSON" in e for e in result.errors)


def test_tags_format_seed_001_example():
    """Seed 001 writes the arguments as a JSON string; lenient mode reads it, strict mode flags it."""
    text = ('<thought>用户想查询苹果股价，我需要调用 search_stock 工具，参数是 AAPL。</thought>\n'
            '<function_call>{"name": "search_stock", "arguments": "{\\"symbol\\": \\"AAPL\\"}"}</function_call>')
    lenient = templates.parse_calls("fc_tags_phi4", text)
    assert lenient.calls == [ToolCall("search_stock", {"symbol": "AAPL"})]
    assert lenient.thought.startswith("用户想查询")
    strict = templates.parse_calls("fc_tags_phi4", text, strict=True)
    assert strict.calls == [] and "must be a JSON object" in strict.errors[0]


def test_react_cuts_a_made_up_observation():
    text = ('Thought: need weather\nAction: get_weather\nAction Input: {"city": "Beijing", "days": 2}\n'
            'Observation: {"temperature": 30}\nThought: I know\nFinal Answer: It is 30 degrees.')
    lenient = templates.parse_calls("fc_react_qwen", text)
    assert lenient.calls == [CALL] and lenient.content == "" and lenient.thought == "need weather"
    assert lenient.errors == []
    strict = templates.parse_calls("fc_react_qwen", text, strict=True)
    assert strict.calls == [CALL] and "made-up Observation" in strict.errors[0]


def test_react_parallel_multiline_and_loose_inputs():
    text = ('Thought: two\nAction: get_weather\nAction Input: {\n  "city": "Beijing",\n  "days": 2\n}\n'
            "Action: `get_weather`\nAction Input: ```json\n{'city': 'Shanghai', 'days': 1}\n```")
    result = templates.parse_calls("fc_react", text)
    assert result.calls == [CALL, ToolCall("get_weather", {"city": "Shanghai", "days": 1})]
    strict = templates.parse_calls("fc_react", text, strict=True)
    assert strict.calls == [CALL] and strict.errors


def test_react_errors_are_reported_not_raised():
    result = templates.parse_calls("fc_react", "Action: get_weather\nThought: hmm\nAction Input: {oops", strict=True)
    assert result.calls == [] and len(result.errors) >= 1
    only_answer = templates.parse_calls("fc_react", "Final Answer: Hello!")
    assert only_answer.content == "Hello!" and only_answer.calls == [] and only_answer.ok
    plain = templates.parse_calls("fc_react", "Hello there")
    assert plain.content == "Hello there" and plain.calls == []


@pytest.mark.parametrize("name", templates.names())
def test_llamafactory_extract_tool_uses_our_parser(name):
    import llamafactory.data.template as lf_template

    template = lf_template.TEMPLATES[name]
    text = get_format(name).format_calls([CALL], "because") + templates.STOP_WORDS[name.split("_")[2]][0]
    calls = template.extract_tool(text)
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [("get_weather", {"city": "Beijing", "days": 2})]
    answer = template.extract_tool(get_format(name).format_answer("Hi!", "greet"))
    assert answer == "<thought>greet</thought>\nHi!"


@pytest.mark.parametrize("name", ["fc_react_qwen", "fc_react_llama3", "fc_react_phi4"])
def test_llamafactory_extract_tool_drops_a_made_up_observation(name):
    """LLaMA-Factory's HF engine ignores stop strings (`api`/`chat`): a ReAct model that runs on into an
    invented Observation still yields only the calls it wrote, never the invented result or answer."""
    import llamafactory.data.template as lf_template

    text = ('Thought: need weather\nAction: get_weather\nAction Input: {"city": "Beijing", "days": 2}\n'
            'Observation: {"temperature": 99}\nThought: and Paris\nAction: get_weather\n'
            'Action Input: {"city": "Paris"}\nObservation: {"temperature": 5}\nFinal Answer: 99 and 5 degrees.')
    calls = lf_template.TEMPLATES[name].extract_tool(text)
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [("get_weather", {"city": "Beijing", "days": 2})]
    assert "\nObservation:" in templates.stop_strings(name)
