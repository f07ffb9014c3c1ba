"""Templates: registration, parity with apply_chat_template, loss mask, EOS, clear errors.

Every case goes through LLaMA-Factory's real ShareGPT converter and SupervisedDatasetProcessor with
the real tiny tokenizer, and is compared with `tokenizer.apply_chat_template` on the shipped Jinja.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from fc_plugin import templates
from fc_plugin.formats import get_format
from fc_plugin.formats.lf_messages import RESULT_SEPARATOR

IGNORE = -100
WEATHER = {
    "name": "get_weather",
    "description": "Weather of a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["city"],
    },
}
BOOK = {
    "name": "book_meeting_room",
    "description": "Book a room",
    "parameters": {
        "type": "object",
        "properties": {
            "room": {"type": "string"},
            "slot": {"type": "object", "properties": {"start": {"type": "string"}, "end": {"type": "string"}}},
            "attendees": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["room", "slot"],
    },
}
TOOLS = [WEATHER, BOOK]


# --- conversations, written once as a terse spec and turned into both representations -----------

def _row_and_messages(turns: list[tuple], system: str = "", tools: list[dict] | None = TOOLS
                      ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(ShareGPT row as LLaMA-Factory reads it, OpenAI-shaped messages for apply_chat_template)."""
    conv: list[dict[str, str]] = []
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for kind, *rest in turns:
        if kind == "user":
            conv.append({"from": "human", "value": rest[0]})
            messages.append({"role": "user", "content": rest[0]})
        elif kind == "answer":
            thought, text = rest
            conv.append({"from": "gpt", "value": (f"<thought>{thought}</thought>" if thought else "") + text})
            messages.append({"role": "assistant", "content": text, **({"thought": thought} if thought else {})})
        elif kind == "calls":
            thought, calls = rest
            payload = [{"name": n, "arguments": a} for n, a in calls]
            value = json.dumps(payload[0] if len(payload) == 1 else payload, ensure_ascii=False)
            conv.append({"from": "function_call", "value": (f"<thought>{thought}</thought>" if thought else "") + value})
            messages.append({
                "role": "assistant",
                "content": "",
                "tool_calls": [{"type": "function", "function": p} for p in payload],
                **({"thought": thought} if thought else {}),
            })
        elif kind == "results":
            conv.append({"from": "observation", "value": RESULT_SEPARATOR.join(rest[0])})
            messages += [{"role": "tool", "content": r} for r in rest[0]]
    row = {"conversations": conv, "system": system, "tools": json.dumps(tools, ensure_ascii=False) if tools else ""}
    return row, messages


def _sample(turns: list[tuple], system: str = "", tools: list[dict] | None = TOOLS) -> Any:
    """The same conversation as a canonical Sample (tool results named after their calls)."""
    from fc_plugin.sample import Message, Sample, ToolCall

    messages = [Message("system", system)] if system else []
    last: list[str] = []
    for kind, *rest in turns:
        if kind == "user":
            messages.append(Message("user", rest[0]))
        elif kind == "answer":
            messages.append(Message("assistant", rest[1], thought=rest[0]))
        elif kind == "calls":
            last = [n for n, _ in rest[1]]
            messages.append(Message("assistant", "", [ToolCall(n, a) for n, a in rest[1]], thought=rest[0]))
        elif kind == "results":
            messages += [Message("tool", r, name=n) for r, n in zip(rest[0], last, strict=True)]
    return Sample(messages, list(tools or []), id="case")


CASES: dict[str, tuple[list[tuple], str]] = {
    "single": ([("user", "Weather in Beijing?"), ("calls", None, [("get_weather", {"city": "Beijing"})])], ""),
    "parallel": (
        [("user", "Weather in Beijing and Shanghai?"),
         ("calls", None, [("get_weather", {"city": "Beijing"}), ("get_weather", {"city": "Shanghai", "unit": "c"})]),
         ("results", ['{"temperature": 21}', '{"temperature": 18}']),
         ("answer", None, "Beijing 21, Shanghai 18.")],
        "You are a helpful assistant.",
    ),
    "multi_round": (
        [("user", "Weather in Beijing?"),
         ("calls", None, [("get_weather", {"city": "Beijing"})]),
         ("results", ['{"temperature": 21, "condition": "sunny"}']),
         ("answer", None, "It is sunny, 21 degrees."),
         ("user", "And Shanghai?"),
         ("calls", None, [("get_weather", {"city": "Shanghai"})]),
         ("results", ['{"temperature": 18, "condition": "cloudy"}']),
         ("answer", None, "Cloudy, 18 degrees.")],
        "Be brief.",
    ),
    "no_call": ([("user", "Hello! Who are you?"), ("answer", None, "I am an assistant. How can I help?")], ""),
    "slot_filling": (
        [("user", "Book a meeting room for me."),
         ("answer", None, "Which room, and from when to when?"),
         ("user", "Room A, 14:00 to 15:00."),
         ("calls", None, [("book_meeting_room", {"room": "A", "slot": {"start": "14:00", "end": "15:00"}})])],
        "",
    ),
    "thought": (
        [("user", "Weather in Beijing?"),
         ("calls", "The user wants the weather; call get_weather with Beijing.", [("get_weather", {"city": "Beijing"})]),
         ("results", ["sunny"]),
         ("answer", "I have the result.", "Sunny in Beijing.")],
        "",
    ),
    "unicode_nested": (
        [("user", "帮我订明天下午的会议室，参会人：张三、\"李四\""),
         ("calls", "需要订会议室", [("book_meeting_room", {
             "room": "会议室 A\n(3楼)", "slot": {"start": "2026-11-21 14:00", "end": "2026-11-21 15:00"},
             "attendees": ["张三", "\"李四\"", "O'Brien"], "priority": 1.5, "remote": True, "note": None})]),
         ("results", ['{"ok": true, "id": "会议-42"}']),
         ("answer", None, "已为您预订会议室 A 😀")],
        "你是一个助手。",
    ),
}


# --- LLaMA-Factory's real pipeline ------------------------------------------------------------------

def _tokenizer(tiny_model: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_model))


def lf_encode(tiny_model: Path, name: str, row: dict[str, Any], **data: Any) -> tuple[list[int], list[int], Any]:
    """input_ids and labels exactly as `llamafactory-cli train` builds them (converter + processor)."""
    from llamafactory.data.converter import get_dataset_converter
    from llamafactory.data.parser import DatasetAttr
    from llamafactory.data.processor import SupervisedDatasetProcessor
    from llamafactory.data.template import get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments

    tokenizer = _tokenizer(tiny_model)
    data_args = DataArguments(template=name, cutoff_len=data.pop("cutoff_len", 4096), **data)
    attr = DatasetAttr("file", "case", formatting="sharegpt")
    attr.system, attr.tools = "system", "tools"
    example = get_dataset_converter("sharegpt", attr, data_args)(row)
    assert example["_prompt"], "LLaMA-Factory dropped the example"
    with _restored_template(name):  # LLaMA-Factory writes tool_format / default_system into the shared template
        template = get_template_and_fix_tokenizer(tokenizer, data_args)
        processor = SupervisedDatasetProcessor(template=template, tokenizer=tokenizer, processor=None, data_args=data_args)
        out = processor.preprocess_dataset({k: [v] for k, v in example.items()})
    return out["input_ids"][0], out["labels"][0], tokenizer


@contextmanager
def _restored_template(name: str) -> Iterator[None]:
    """Undo what `get_template_and_fix_tokenizer` changes on the registered template object."""
    from llamafactory.data.template import TEMPLATES

    template = TEMPLATES[name]
    saved = (template.format_function, template.format_tools, template.default_system)
    try:
        yield
    finally:
        template.format_function, template.format_tools, template.default_system = saved


def hf_render(tiny_model: Path, name: str, messages: list[dict], tools: list[dict] | None) -> tuple[str, list[int]]:
    tokenizer = _tokenizer(tiny_model)
    tokenizer.chat_template = templates.chat_template(name)
    text = tokenizer.apply_chat_template(messages, tools=tools, tokenize=False)
    ids = tokenizer.apply_chat_template(messages, tools=tools, tokenize=True)
    ids = ids["input_ids"] if not isinstance(ids, list) else ids
    return text, list(ids)


# --- registration and public API ---------------------------------------------------------------------

def test_names_and_registration():
    from llamafactory.data.template import TEMPLATES
    from llamafactory.data.tool_utils import TOOLS

    from fc_plugin.formats.llamafactory import FcTemplate, FcToolUtils

    names = templates.names()
    assert len(names) == 9 and len(set(names)) == 9
    assert {n.split("_")[1] for n in names} == {"react", "tags", "json"}
    assert {n.split("_")[2] for n in names} == {"qwen", "llama3", "phi4"}
    assert templates.register_templates() == names
    assert templates.register_templates() == names  # idempotent
    for name in names:
        assert isinstance(TEMPLATES[name], FcTemplate) and TEMPLATES[name].thought_words == ("<thought>", "</thought>")
    for tool_format in ("fc_react", "fc_tags", "fc_json"):
        assert isinstance(TOOLS[tool_format], FcToolUtils)


def test_unknown_template_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown fc-plugin template or tool format 'fc_xml_qwen'.*fc_json_qwen"):
        templates.chat_template("fc_xml_qwen")
    with pytest.raises(ValueError, match="tool format, not a template"):
        templates.chat_template("fc_json")
    with pytest.raises(ValueError, match="unknown"):
        templates.parse_calls("no_such_template", "hi")


def test_chat_template_is_self_contained_and_tool_aware():
    for name in templates.names():
        source = templates.chat_template(name)
        assert "{% include" not in source and "{% import" not in source
        text = templates.render(name, [{"role": "user", "content": "hi"}], [WEATHER], add_generation_prompt=True)
        assert '"get_weather"' in text and "hi" in text
        assert text.endswith({"qwen": "<|im_start|>assistant\n", "llama3": "<|end_header_id|>\n\n", "phi4": "<|assistant|>"}[name.split("_")[2]])


def _labelled_runs(input_ids: list[int], labels: list[int]) -> list[list[int]]:
    """The maximal runs of labelled tokens (each label must equal its token)."""
    runs: list[list[int]] = []
    current: list[int] = []
    for token, label in zip(input_ids, labels, strict=True):
        if label != IGNORE:
            assert label == token
            current.append(token)
        elif current:
            runs.append(current)
            current = []
    return [*runs, current] if current else runs


def assert_only_assistant_turns_labelled(name: str, turns: list[tuple], input_ids: list[int], labels: list[int],
                                         tokenizer: Any) -> None:
    """Token level: the labelled tokens are exactly each call / answer turn followed directly by the
    labelled end-of-turn EOS; everything else (system, tools, user turns, results, headers) is masked."""
    eos = tokenizer.eos_token_id
    assert tokenizer.convert_ids_to_tokens(eos) == templates.STOP_WORDS[name.split("_")[2]][0]
    fmt = get_format(name)
    expected = []
    for kind, *rest in turns:
        if kind == "calls":
            expected.append(fmt.format_calls([{"name": n, "arguments": a} for n, a in rest[1]], rest[0]))
        elif kind == "answer":
            expected.append(fmt.format_answer(rest[1], rest[0]))
    runs = _labelled_runs(input_ids, labels)
    assert len(runs) == len(expected)
    for run, body in zip(runs, expected, strict=True):
        body_ids = tokenizer.encode(body, add_special_tokens=False)
        assert run[: len(body_ids)] == body_ids, (tokenizer.decode(run), body)
        # the end-of-turn token comes directly after the call / answer, and carries a label
        assert run[len(body_ids)] == eos
        assert tokenizer.decode(run[len(body_ids) + 1 :]).strip() == ""  # at most the family's "\n"


@pytest.mark.parametrize("name", templates.names())
@pytest.mark.parametrize("case", sorted(CASES))
def test_parity_with_apply_chat_template(tiny_model, name, case):
    """Text and token ids LLaMA-Factory trains on == apply_chat_template with the shipped Jinja; labels
    only on the assistant turns, each ending in the labelled EOS."""
    from llamafactory.data.template import TEMPLATES

    turns, system = CASES[case]
    row, messages = _row_and_messages(turns, system)
    input_ids, labels, tokenizer = lf_encode(tiny_model, name, row)
    text, ids = hf_render(tiny_model, name, messages, TOOLS)
    assert "".join(TEMPLATES[name].render_segments(_lf_messages(row), system, row["tools"])) == text  # text, not decoded ids
    assert tokenizer.decode(input_ids, skip_special_tokens=False) == text
    assert input_ids == ids
    assert_only_assistant_turns_labelled(name, turns, input_ids, labels, tokenizer)


def _lf_messages(row: dict[str, Any]) -> list[dict[str, str]]:
    role = {"human": "user", "gpt": "assistant", "function_call": "function", "observation": "observation"}
    return [{"role": role[t["from"]], "content": t["value"]} for t in row["conversations"]]


@pytest.mark.parametrize("name", ["fc_react_qwen", "fc_tags_llama3", "fc_json_phi4"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_parity_through_the_data_pipeline(tiny_model, name, case):
    """Canonical Sample -> fc_plugin.sharegpt.to_sharegpt -> LLaMA-Factory == apply_chat_template(chat_messages())."""
    from fc_plugin.sharegpt import to_sharegpt

    sample = _sample(*CASES[case])
    input_ids, _, tokenizer = lf_encode(tiny_model, name, to_sharegpt(sample))
    text, ids = hf_render(tiny_model, name, sample.chat_messages(), sample.tools)
    assert tokenizer.decode(input_ids, skip_special_tokens=False) == text
    assert input_ids == ids


@pytest.mark.parametrize("name", templates.names())
def test_loss_mask_and_eos_after_every_call_and_answer(tiny_model, name):
    turns, system = CASES["multi_round"]
    row, messages = _row_and_messages(turns, system)
    input_ids, labels, tokenizer = lf_encode(tiny_model, name, row)
    assert_only_assistant_turns_labelled(name, turns, input_ids, labels, tokenizer)
    assert len(_labelled_runs(input_ids, labels)) == 4

    # nothing of the system prompt, tool schemas, user turns or tool results is labelled
    labelled_text = tokenizer.decode([t for t, lab in zip(input_ids, labels, strict=True) if lab != IGNORE])
    for masked in ('"description"', "Weather in Beijing?", "And Shanghai?", "condition", "Be brief."):
        assert masked not in labelled_text
    for masked in ("Weather in Beijing?", "condition", '"description"'):
        assert masked in tokenizer.decode(input_ids)


@pytest.mark.parametrize("stock", ["qwen", "llama3"])
@pytest.mark.parametrize("tool_format", templates.TOOL_FORMATS)
def test_stock_template_with_fc_tool_format(tiny_model, stock, tool_format):
    """`template: qwen` + `tool_format: fc_X`: our tool prompt and call text, the call labelled and
    followed by the labelled EOS, and the stock template's extractor reading calls with our parser."""
    from llamafactory.data.formatter import ToolFormatter

    fmt = get_format(tool_format)
    turns = CASES["parallel"][0][:2]
    row, _ = _row_and_messages(turns)
    input_ids, labels, tokenizer = lf_encode(tiny_model, stock, row, tool_format=tool_format)
    text = tokenizer.decode(input_ids)
    assert fmt.format_tools(TOOLS) in text
    body = fmt.format_calls([{"name": n, "arguments": a} for n, a in turns[1][2]])
    [run] = _labelled_runs(input_ids, labels)
    assert tokenizer.decode(run) == body + tokenizer.eos_token
    assert run[-1] == tokenizer.eos_token_id
    calls = ToolFormatter(tool_format=tool_format).extract(body + tokenizer.eos_token)
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [(n, a) for n, a in turns[1][2]]


def test_tool_format_override_on_fc_template_is_refused(tiny_model):
    row, _ = _row_and_messages(CASES["single"][0])
    with pytest.raises(ValueError, match="fc_json_qwen has its own tool format fc_json"):
        lf_encode(tiny_model, "fc_json_qwen", row, tool_format="qwen")


def test_default_system_reaches_training_and_exported_template(tiny_model):
    row, messages = _row_and_messages(CASES["no_call"][0])
    input_ids, _, tokenizer = lf_encode(tiny_model, "fc_json_llama3", row, default_system="Answer like a 'pirate'.")
    assert "Answer like a 'pirate'." in tokenizer.decode(input_ids)
    assert tokenizer.apply_chat_template(messages, tools=TOOLS, tokenize=False) == tokenizer.decode(input_ids)


# --- clear errors -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["fc_json_qwen", "fc_react_phi4"])
def test_call_to_undefined_function_names_template_and_sample(tiny_model, name):
    row, _ = _row_and_messages([("user", "Send a mail to Bob"), ("calls", None, [("send_email", {"to": "Bob"})])])
    with pytest.raises(ValueError, match=rf"template {name}: sample starting 'Send a mail to Bob'.*"
                                         r"'send_email', which the sample's tools do not define \(tools: get_weather"):
        lf_encode(tiny_model, name, row)


def test_invalid_tool_schema_names_template_sample_and_tool(tiny_model):
    bad = {"name": "broken", "parameters": {"type": "object", "properties": {"x": {"type": "strng"}}}}
    row, _ = _row_and_messages([("user", "hi there"), ("answer", None, "hello")], tools=[bad])
    with pytest.raises(ValueError, match=r"template fc_tags_qwen: sample starting 'hi there': tool 'broken': "
                                         r"parameters are not valid JSON Schema: 'strng' is not valid"):
        lf_encode(tiny_model, "fc_tags_qwen", row)
    not_object = {"name": "f", "parameters": {"type": "string"}}
    with pytest.raises(ValueError, match="template fc_json_qwen: sample s-7: tool 'f': parameters must be a "
                                         "JSON Schema of type object, got 'string'"):
        templates.render("fc_json_qwen", [{"role": "user", "content": "x"}], [not_object], sample_id="s-7")
    with pytest.raises(ValueError, match="tool 'g': parameters must be a JSON Schema object, got list"):
        templates.render("fc_json_qwen", [{"role": "user", "content": "x"}], [{"name": "g", "parameters": []}])
    with pytest.raises(ValueError, match="template fc_json_qwen: sample s-7: tool #0 has no function name"):
        templates.render("fc_json_qwen", [{"role": "user", "content": "x"}], [{"description": "d"}], sample_id="s-7")


def test_templates_and_validate_reject_the_same_schemas_for_the_same_reason():
    """One place for schema validation: a template's error carries fc_plugin.validate's reason."""
    from fc_plugin.sample import Message, Sample, ToolCall
    from fc_plugin.validate import validate_sample

    for parameters in ({"type": "object", "properties": {"x": {"type": "strng"}}}, {"type": "array"},
                       {"type": "object", "required": "x"}):
        tool = {"name": "f", "parameters": parameters}
        sample = Sample([Message("user", "x"), Message("assistant", "", [ToolCall("f", {})])], [tool], id="s")
        [problem] = [p for p in validate_sample(sample) if p.code == "invalid_tool_schema"]
        with pytest.raises(ValueError) as error:
            templates.render("fc_tags_llama3", sample.chat_messages(), [tool], sample_id="s")
        assert str(error.value) == f"template fc_tags_llama3: sample s: tool 'f': {problem.message.split(': ', 1)[1]}"


def test_invalid_function_call_json_is_a_clear_error(tiny_model):
    row, _ = _row_and_messages([("user", "weather?"), ("answer", None, "x")])
    row["conversations"][1] = {"from": "function_call", "value": '{"name": "get_weather", "arguments": {"city": '}
    with pytest.raises(ValueError, match=r"template fc_json_phi4: sample starting 'weather\?', message 1: "
                                         r"function_call is not valid JSON"):
        lf_encode(tiny_model, "fc_json_phi4", row)


def test_render_checks_calls_against_tools():
    messages = [{"role": "user", "content": "x"},
                {"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "nope", "arguments": {}}}]}]
    with pytest.raises(ValueError, match=r"template fc_react_qwen: sample abc, message 1: call to function 'nope'"):
        templates.render("fc_react_qwen", messages, [WEATHER], sample_id="abc")


def test_stop_strings():
    assert templates.stop_strings("fc_json_qwen") == ["<|im_end|>"]
    assert templates.stop_strings("fc_react_llama3") == ["<|eot_id|>", "<|eom_id|>", "\nObservation:"]
    assert templates.stop_strings("fc_tags_phi4") == ["<|end|>"]


def test_chat_template_cli(tmp_path, capsys):
    from fc_plugin.cli import main

    out = tmp_path / "fc_json_qwen.jinja"
    assert main(["chat-template", "fc_json_qwen", "-o", str(out)]) == 0
    assert out.read_text() == templates.chat_template("fc_json_qwen")
    assert main(["chat-template", "--list"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in templates.names()) and "'\\nObservation:'" in listing
    assert main(["chat-template", "fc_nope_qwen"]) == 2
    assert "unknown fc-plugin template" in capsys.readouterr().err


@pytest.mark.parametrize("name", templates.names())
def test_windowed_split_equals_exact_prefix_split(name):
    """The fast per-message split (windows checked against one full rendering) == the exact definition."""
    from fc_plugin.formats.lf_messages import to_chat_messages
    from fc_plugin.formats.llamafactory import prefix_segments, split_rendering

    source = templates.chat_template(name)
    for turns, system in CASES.values():
        row, _ = _row_and_messages(turns, system)
        lf_messages = _lf_messages(row)
        chat, ends = to_chat_messages(lf_messages, system, [t["name"] for t in TOOLS], "test")
        fast = split_rendering(source, chat, TOOLS, ends, "test")
        assert fast == prefix_segments(source, chat, TOOLS, ends, "test")
        assert len(fast) == len(lf_messages) and all(fast)


# --- property: arbitrary conversations tokenize identically on both paths -----------------------------

@pytest.fixture(scope="module")
def tiny_tokenizer(tiny_model):
    return _tokenizer(tiny_model)


def _conversations():
    from hypothesis import strategies as st

    text = st.text(max_size=30)
    args = st.dictionaries(st.text(max_size=6), st.none() | st.booleans() | st.integers() | text, max_size=3)
    calls = st.lists(st.tuples(st.sampled_from(["get_weather", "book_meeting_room"]), args), min_size=1, max_size=2)
    thought = st.none() | text.filter(lambda t: "</thought>" not in t and t.strip())
    answer = st.tuples(st.just("answer"), thought, text)
    call_round = st.tuples(calls, thought, st.lists(text, min_size=2, max_size=2))
    turn = st.one_of(
        answer.map(lambda a: [a]),
        call_round.map(lambda r: [("calls", r[1], r[0]), ("results", r[2][: len(r[0])]), ("answer", None, "ok")]),
    )
    return st.tuples(st.lists(st.tuples(text, turn), min_size=1, max_size=3), text)


@pytest.mark.parametrize("name", ["fc_react_qwen", "fc_tags_llama3", "fc_json_phi4", "fc_json_qwen"])
def test_property_parity_of_token_ids(tiny_tokenizer, name):
    """Arbitrary text (unicode, whitespace, quotes, markup) in every field: FcTemplate._encode, as
    LLaMA-Factory's processor calls it, gives the ids of apply_chat_template on the shipped Jinja."""
    import llamafactory.data.template as lf_template
    from hypothesis import HealthCheck, given, settings

    template = lf_template.TEMPLATES[name]
    tokenizer = tiny_tokenizer
    tokenizer.chat_template = templates.chat_template(name)

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_conversations())
    def check(conversation):
        rounds, system = conversation
        turns = []
        for user, replies in rounds:
            turns += [("user", user), *replies]
        row, messages = _row_and_messages(turns, system)
        lf_messages = _lf_messages(row)
        encoded = template._encode(tokenizer, lf_messages, row["system"], row["tools"])
        ids = tokenizer.apply_chat_template(messages, tools=TOOLS, tokenize=True)
        ids = ids["input_ids"] if not isinstance(ids, list) else ids
        assert [i for segment in encoded for i in segment] == list(ids)

    check()
