"""Validation: one broken sample per reason code, each caught with that code; valid samples pass."""

from __future__ import annotations

import pytest

from fc_plugin.normalize import normalize_sample, normalize_tool, parse_arguments, to_json_schema
from fc_plugin.sample import Message, Sample, ToolCall
from fc_plugin.validate import CODES, LengthChecker, Problem, validate_sample

WEATHER = {
    "name": "get_weather",
    "description": "Weather of a city",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1},
        },
        "required": ["city"],
    },
}


def user(text: str = "Weather in Beijing?") -> Message:
    return Message("user", text)


def call(name: str = "get_weather", **args) -> Message:
    return Message("assistant", "", [ToolCall(name, args or {"city": "Beijing"})])


def sample(*messages: Message, tools: list | None = None) -> Sample:
    return Sample(list(messages), [WEATHER] if tools is None else tools)


GOOD = sample(user(), call(), Message("tool", '{"temp": 21}', name="get_weather"), Message("assistant", "21 degrees."))

# (reason code, a sample that must be rejected with it)
BROKEN: list[tuple[str, Sample]] = [
    ("wrong_type", sample(Message("user", 42), Message("assistant", "hi"))),  # type: ignore[arg-type]
    ("wrong_type", sample(user(), Message("assistant", "", "not a list"))),  # type: ignore[arg-type]
    ("unknown_role", sample(user(), Message("bot", "hi"))),  # type: ignore[arg-type]
    ("empty_conversation", sample()),
    ("empty_conversation", sample(user())),
    ("empty_message", sample(user(""), Message("assistant", "hi"))),
    ("bad_role_order", sample(Message("assistant", "hi"), user(), Message("assistant", "x"))),
    ("bad_role_order", sample(user(), Message("assistant", "a"), Message("assistant", "b"))),
    ("bad_role_order", sample(user(), Message("assistant", "a"), user("more?"))),
    ("bad_role_order", sample(user(), Message("system", "late"), Message("assistant", "a"))),
    ("orphan_tool_result", sample(user(), Message("assistant", "ok"), Message("tool", "x"), Message("assistant", "y"))),
    ("missing_tool_result", sample(user(), call(), user("and?"), Message("assistant", "y"))),
    ("empty_tools", sample(user(), call(), tools=[])),
    ("invalid_tool_schema", sample(user(), Message("assistant", "x"), tools=[{"description": "no name"}])),
    ("invalid_tool_schema", sample(user(), Message("assistant", "x"),
                                   tools=[{"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "str"}}}}])),
    ("invalid_tool_schema", sample(user(), Message("assistant", "x"), tools=[{"name": "f", "parameters": {"type": "string"}}])),
    ("invalid_tool_schema", sample(user(), Message("assistant", "x"), tools=["get_weather"])),
    ("duplicate_tool", sample(user(), call(), tools=[WEATHER, {**WEATHER, "description": "other"}])),
    ("hallucinated_function", sample(user(), call("get_wether"))),
    ("unknown_argument", sample(user(), call(city="Beijing", town="x"))),
    ("missing_required", sample(user(), call(unit="celsius"))),
    ("type_mismatch", sample(user(), call(city=["Beijing"]))),
    ("type_mismatch", sample(user(), call(city="Beijing", days="3"))),
    ("invalid_enum", sample(user(), call(city="Beijing", unit="kelvin"))),
    ("schema_violation", sample(user(), call(city="Beijing", days=0))),
    ("invalid_json", sample(user(), Message("assistant", "", [ToolCall("get_weather", '{"city": "B"')]))),  # type: ignore[arg-type]
]  # fmt: skip


def test_good_sample_is_valid() -> None:
    assert validate_sample(GOOD) == []


@pytest.mark.parametrize(("code", "bad"), BROKEN, ids=[f"{c}-{i}" for i, (c, _) in enumerate(BROKEN)])
def test_broken_sample_gets_its_reason_code(code: str, bad: Sample) -> None:
    problems = validate_sample(bad)
    assert problems, f"expected {code}, got a valid sample"
    assert all(isinstance(p, Problem) and p.code in CODES and p.message for p in problems)
    assert code in [p.code for p in problems], problems


def test_not_a_sample_is_reported_not_raised() -> None:
    assert [p.code for p in validate_sample({"messages": []})] == ["wrong_type"]  # type: ignore[arg-type]


def test_free_form_parameters_allow_any_argument() -> None:
    free = {"name": "log", "parameters": {"type": "object"}}
    s = sample(user(), Message("assistant", "", [ToolCall("log", {"anything": 1})]), tools=[free])
    assert validate_sample(s) == []
    extra = {"name": "log", "parameters": {"type": "object", "properties": {}, "additionalProperties": True}}
    s = sample(user(), Message("assistant", "", [ToolCall("log", {"x": 1})]), tools=[extra])
    assert validate_sample(s) == []


def test_nested_schema_errors_are_located() -> None:
    tool = {"name": "f", "parameters": {"type": "object", "properties": {
        "items": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}}}}}  # fmt: skip
    s = sample(user(), Message("assistant", "", [ToolCall("f", {"items": [{"n": 1}, {"n": "two"}, {}]})]), tools=[tool])
    problems = validate_sample(s)
    codes = sorted(p.code for p in problems)
    assert codes == ["missing_required", "type_mismatch"]
    assert any("items.1.n" in p.message for p in problems)


def test_normalize_merges_same_turn_calls_and_names_results() -> None:
    s = sample(
        Message("system", "a"), Message("system", "b"), user(),
        Message("assistant", "Let me check.", [ToolCall("get_weather", {"city": "Beijing"})]),
        Message("assistant", "", [ToolCall("get_weather", {"city": "Shanghai"})]),
        Message("tool", "21"), Message("tool", "18"), Message("assistant", "Done."),
        tools=[WEATHER, WEATHER],
    )  # fmt: skip
    n = normalize_sample(s)
    assert [m.role for m in n.messages] == ["system", "user", "assistant", "tool", "tool", "assistant"]
    assert n.messages[0].content == "a\nb"
    assert [c.arguments["city"] for c in n.messages[2].tool_calls] == ["Beijing", "Shanghai"]
    assert n.messages[2].thought == "Let me check." and n.messages[2].content == ""
    assert [m.name for m in n.messages[3:5]] == ["get_weather", "get_weather"]
    assert n.tools == [WEATHER]
    assert validate_sample(n) == []
    assert validate_sample(s) != []  # before normalisation: two assistant turns in a row


def test_schema_dialects_become_json_schema() -> None:
    xlam = {"nums": {"type": "List[int]", "description": "n"}, "k": {"type": "int, optional", "default": 3},
            "type": {"type": "str", "description": "an argument called type"}}  # fmt: skip
    assert to_json_schema(xlam) == {
        "type": "object",
        "properties": {"nums": {"type": "array", "items": {"type": "integer"}, "description": "n"},
                       "k": {"type": "integer", "default": 3},
                       "type": {"type": "string", "description": "an argument called type"}},
        "required": ["nums", "type"],
    }  # fmt: skip
    gorilla = {"type": "dict", "properties": {"x": {"type": "float"}, "t": {"type": "tuple", "items": {"type": "String"}},
                                               "a": {"type": "any"}}, "required": ["x"]}  # fmt: skip
    assert to_json_schema(gorilla) == {
        "type": "object",
        "properties": {"x": {"type": "number"}, "t": {"type": "array", "items": {"type": "string"}}, "a": {}},
        "required": ["x"],
    }
    assert to_json_schema({"properties": {"q": {"type": "STRING", "required": True}}}) == {
        "type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}  # fmt: skip
    assert to_json_schema(None) == {"type": "object", "properties": {}}
    wrapped = normalize_tool({"type": "function", "function": {"name": "f", "parameters": xlam}})
    assert wrapped["name"] == "f" and wrapped["parameters"]["type"] == "object"
    for schema in (to_json_schema(xlam), to_json_schema(gorilla)):
        assert validate_sample(sample(user(), Message("assistant", "x"), tools=[{"name": "f", "parameters": schema}])) == []


def test_parse_arguments_dialects() -> None:
    assert parse_arguments('{"a": 1}') == {"a": 1}
    assert parse_arguments('"{\\"a\\": 1}"') == {"a": 1}  # double-encoded
    assert parse_arguments("{'a': (1, 2), 'b': True, 'c': None}") == {"a": [1, 2], "b": True, "c": None}
    assert parse_arguments(None) == {} and parse_arguments("") == {}
    from fc_plugin.convert import ConvertError

    for bad in ('{"a": ', "[1, 2]", "not json"):
        with pytest.raises(ConvertError) as info:
            parse_arguments(bad)
        assert info.value.code == "invalid_json"


def _long_call_sample(n_args: int) -> Sample:
    props = {f"arg_{i}": {"type": "string"} for i in range(n_args)}
    tool = {"name": "send_email", "description": "Send", "parameters": {"type": "object", "properties": props}}
    args = {f"arg_{i}": f"value number {i} for the email body" for i in range(n_args)}
    return sample(user("Send it."), Message("assistant", "", [ToolCall("send_email", args)]), tools=[tool])


def test_length_checker_flags_calls_cut_mid_json(tiny_model) -> None:
    checker = LengthChecker(str(tiny_model), cutoff_len=None)
    from fc_plugin.sharegpt import to_sharegpt

    row = to_sharegpt(_long_call_sample(30))
    total, problems = checker.measure(row)
    assert total > 300 and problems == []
    # the call is the only response turn: any cutoff that keeps the prompt but not the whole call cuts it mid-JSON
    problems = validate_sample(_long_call_sample(30), tokenizer=str(tiny_model), cutoff_len=total - 20)
    assert [p.code for p in problems] == ["truncated_call"]
    short = sample(user(), Message("assistant", "A reply " * 200))
    problems = validate_sample(short, tokenizer=str(tiny_model), cutoff_len=100)
    assert [p.code for p in problems] == ["too_long"]
    assert validate_sample(GOOD, tokenizer=str(tiny_model), cutoff_len=4096) == []


def test_length_with_a_template_and_template_errors(tiny_model) -> None:
    thought = sample(user(), Message("assistant", "", [ToolCall("get_weather", {"city": "B"})], thought="Need the weather."))
    # a thought is stored in LLaMA-Factory's own convention (<think>...</think>): a stock template trains it
    assert validate_sample(thought, tokenizer=str(tiny_model), cutoff_len=4096, template="qwen") == []
    from fc_plugin.sharegpt import to_sharegpt

    # the older <thought>...</thought> form is what stock templates cannot parse: reported, not a crash
    old = to_sharegpt(thought)
    old["conversations"][1]["value"] = '<thought>Need the weather.</thought>{"name": "get_weather", "arguments": {}}'
    stock = LengthChecker(str(tiny_model), cutoff_len=4096, template="qwen")
    assert [p.code for p in stock.measure(old)[1]] == ["template_error"]
    checker = LengthChecker(str(tiny_model), cutoff_len=4096, template="fc_json_qwen")

    total, problems = checker.measure(to_sharegpt(thought))
    assert problems == [] and total > 10
    _, problems = checker.measure(to_sharegpt(_long_call_sample(40)))
    assert problems == []
    tight = LengthChecker(checker.tokenizer, cutoff_len=checker.measure(to_sharegpt(_long_call_sample(40)))[0] - 30,
                          template="fc_json_qwen")  # fmt: skip
    assert [p.code for p in tight.measure(to_sharegpt(_long_call_sample(40)))[1]] == ["truncated_call"]


def test_a_required_name_no_call_could_give_is_an_invalid_schema() -> None:
    """`required: ["cty"]` beside `properties: {"city"}` (a misspelling) makes every call wrong: the tool is
    reported, naming the name, even in a sample without calls; names that other keywords allow are fine."""
    params = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["cty"]}
    typo = {"name": "w", "parameters": params}
    problems = validate_sample(sample(user(), Message("assistant", "Hello."), tools=[typo]))
    assert [p.code for p in problems] == ["invalid_tool_schema"] and "'cty'" in problems[0].message
    for allowed in ({**params, "additionalProperties": True}, {**params, "patternProperties": {"^c": {}}}):
        tool = {"name": "w", "parameters": allowed}
        assert validate_sample(sample(user(), call("w", city="B", cty="x"), Message("tool", "ok", name="w"),
                                      Message("assistant", "ok"), tools=[tool])) == []  # fmt: skip


def test_argument_patterns_are_checked_per_call_with_prepared_checks() -> None:
    """The per-tool checks are prepared once per tool list (cached): names a pattern allows pass, others
    fail, on every sample that shares the list; a pattern that is no regex makes the tool invalid."""
    params = {"type": "object", "properties": {"city": {"type": "string"}}, "patternProperties": {"^x_": {}}}
    tool = {"name": "w", "parameters": params}
    for _ in range(2):  # the second pass uses the cached checks
        ok = validate_sample(sample(user(), call("w", city="B", x_unit="c"), Message("tool", "ok", name="w"),
                                    Message("assistant", "ok"), tools=[tool]))  # fmt: skip
        bad = validate_sample(sample(user(), call("w", city="B", unit="c"), Message("tool", "ok", name="w"),
                                     Message("assistant", "ok"), tools=[tool]))  # fmt: skip
        assert ok == [] and [p.code for p in bad] == ["unknown_argument"] and "'unit'" in bad[0].message
    broken = {"name": "w", "parameters": {**params, "patternProperties": {"(": {}}}}
    problems = validate_sample(sample(user(), Message("assistant", "Hello."), tools=[broken]))
    assert [p.code for p in problems] == ["invalid_tool_schema"] and "regex" in problems[0].message
