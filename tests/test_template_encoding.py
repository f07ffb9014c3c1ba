"""The fast encoding path of FcTemplate (fc_plugin.formats.llamafactory): segments cut from one marked
rendering without tools, system turns and their token ids cached, ids from the tokenizer's backend -
always equal to the exact definition and to `apply_chat_template`, token id for token id, and never
fooled by its caches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fc_plugin import templates
from fc_plugin.formats.lf_messages import to_chat_messages
from fc_plugin.formats.llamafactory import prefix_segments, split_head

ROLES = {"human": "user", "gpt": "assistant", "function_call": "function", "observation": "observation"}
WEATHER = {"name": "get_weather", "description": "Weather of a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


@pytest.fixture(scope="module")
def tokenizer_path(tiny_model: Path) -> str:
    return str(tiny_model)


def _tokenizer(path: str) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path)


@pytest.fixture(scope="module")
def synthetic() -> list[Any]:
    """Synthetic samples of every category, with thoughts, English and Chinese."""
    from fc_plugin.synth import Generator, SynthConfig, load_tools

    root = Path(__file__).resolve().parents[1]
    tools = load_tools(root / "data" / "tools" / "seed_tools.json")
    return Generator(tools, SynthConfig(n=30, langs=("en", "zh"), seed=3, thought_rate=0.5)).generate()


def _long_sample() -> Any:
    """A long conversation (33 messages)."""
    from fc_plugin.sample import Message, Sample, ToolCall

    messages = [Message("system", "Be brief.")]
    for i in range(8):
        messages += [
            Message("user", f"Weather in city {i}?"),
            Message("assistant", "", tool_calls=[ToolCall("get_weather", {"city": f"c{i}"})]),
            Message("tool", json.dumps({"temperature": i}), name="get_weather"),
            Message("assistant", f"It is {i} degrees."),
        ]
    return Sample(messages=messages, tools=[WEATHER], id="long")


def _lf_messages(row: dict[str, Any]) -> list[dict[str, str]]:
    return [{"role": ROLES[turn["from"]], "content": turn["value"]} for turn in row["conversations"]]


def _reference_ids(tokenizer: Any, name: str, sample: Any) -> list[int]:
    tokenizer.chat_template = templates.chat_template(name)
    ids = tokenizer.apply_chat_template(sample.chat_messages(), tools=sample.tools, tokenize=True)
    return list(ids["input_ids"] if not isinstance(ids, list) else ids)


@pytest.mark.parametrize("name", templates.names())
def test_fast_path_is_exact_on_every_category(tokenizer_path, synthetic, name):
    """Segments == the exact prefix definition (and the fast path is taken); ids == apply_chat_template."""
    import llamafactory.data.template as lf_template

    from fc_plugin.sharegpt import to_sharegpt

    template, source = lf_template.TEMPLATES[name], templates.chat_template(name)
    tokenizer = _tokenizer(tokenizer_path)
    for sample in [*synthetic, _long_sample()]:
        row = to_sharegpt(sample)
        messages = _lf_messages(row)
        tools = json.loads(row["tools"])
        chat, ends = to_chat_messages(messages, row["system"], [t["name"] for t in tools], "test")
        head, segments = split_head(source, chat, tools, ends, "test", row["tools"])
        assert head, f"{sample.id}: fell back to the exact method"
        assert [head + segments[0], *segments[1:]] == prefix_segments(source, chat, tools, ends, "test")
        encoded = template._encode(tokenizer, messages, row["system"], row["tools"])
        assert len(encoded) == len(messages)
        assert [i for ids in encoded for i in ids] == _reference_ids(tokenizer, name, sample), sample.id


@pytest.mark.parametrize("name", templates.names())
def test_chat_template_renders_tools_only_in_the_system_turn(name):
    """`split_head` builds the full rendering from the system turn with tools plus renderings without
    them; that is exact because the only top-level use of `tools` (outside macros that take it as an
    argument) is the `if` that renders the system turn (unlike Llama 3.1's own template, which puts
    tools in the first user turn)."""
    from jinja2 import nodes

    from fc_plugin.formats import jinja

    tree = jinja._environment().parse(templates.chat_template(name))
    users = []
    for node in tree.body:
        if isinstance(node, nodes.Macro) and "tools" in [arg.name for arg in node.args]:
            continue  # its `tools` is its own argument
        if any(n.name == "tools" for n in node.find_all(nodes.Name)):
            users.append(node)
    assert len(users) == 1 and isinstance(users[0], nodes.If)
    calls = [c.node.name for c in users[0].find_all(nodes.Call) if isinstance(c.node, nodes.Name)]
    assert calls[0] == "fc_system" and set(calls) <= {"fc_system", "fc_tools"}
    assert all(n.name != "tools" for n in users[0].else_ for n in n.find_all(nodes.Name))
    assert not users[0].elif_


def test_cached_system_turn_ids_belong_to_their_tokenizer(tokenizer_path):
    """The same system turn tokenizes differently with another vocabulary: each tokenizer gets its own
    ids, before and after the other one filled the cache; other systems get their own system turn."""
    import llamafactory.data.template as lf_template

    from fc_plugin.sample import Message, Sample, ToolCall
    from fc_plugin.sharegpt import to_sharegpt

    name = "fc_json_qwen"
    template = lf_template.TEMPLATES[name]
    plain, extended = _tokenizer(tokenizer_path), _tokenizer(tokenizer_path)
    extended.add_tokens(["get_weather", "Weather of a city"])
    samples = [
        Sample(messages=[*([Message("system", system)] if system else []), Message("user", "Weather in Oslo?"),
                         Message("assistant", "", tool_calls=[ToolCall("get_weather", {"city": "Oslo"})])],
               tools=[WEATHER], id=f"system {system!r}")
        for system in ("Be brief.", "Be verbose.", "")
    ]
    results = {}
    for tokenizer in (plain, extended, plain, extended):
        for sample in samples:
            row = to_sharegpt(sample)
            encoded = template._encode(tokenizer, _lf_messages(row), row["system"], row["tools"])
            ids = [i for segment in encoded for i in segment]
            assert ids == _reference_ids(tokenizer, name, sample), (sample.id, tokenizer is plain)
            results[(tokenizer is plain, sample.id)] = ids
    assert results[(True, samples[0].id)] != results[(False, samples[0].id)]  # the vocabularies differ
    assert len({tuple(results[(True, s.id)]) for s in samples}) == 3


def test_tool_errors_name_their_sample_even_after_the_tools_were_cached():
    import llamafactory.data.template as lf_template

    template = lf_template.TEMPLATES["fc_tags_qwen"]
    messages = [{"role": "user", "content": "first sample"}, {"role": "assistant", "content": "ok"}]
    assert template.render_segments(messages, "", json.dumps([WEATHER]))  # valid tools, now cached
    broken = json.dumps([{**WEATHER, "parameters": {"type": "array"}}])
    for text in ("first bad sample", "second bad sample"):
        bad = [{"role": "user", "content": text}, {"role": "assistant", "content": "ok"}]
        with pytest.raises(ValueError, match=rf"template fc_tags_qwen: sample starting '{text}'.*get_weather"):
            template.render_segments(bad, "", broken)


def _per_sample_tool_samples() -> list[Any]:
    """Samples that each have their own tools, as in real data: the shipped xLAM / glaive records with
    descriptions changed per copy, plus Chinese text, nested schemas and escapes (\\u2028, emoji, quotes)."""
    from fc_plugin.convert import convert_record, get_format
    from fc_plugin.normalize import normalize_sample
    from fc_plugin.sample import Message, Sample, ToolCall

    root = Path(__file__).resolve().parents[1]
    samples = []
    for source in ("xlam", "glaive"):
        raw = json.loads((root / "data" / "raw" / f"{source}.json").read_text(encoding="utf-8"))
        for k, record in enumerate(raw * 2):
            prefix = ["v", "版本 \\u2028 ", "\\ud83d\\ude00 \\\\\\\" "][k % 3] + str(k) + " "
            text = json.dumps(record, ensure_ascii=False).replace('\\"description\\": \\"', '\\"description\\": \\"' + prefix)
            samples += [normalize_sample(s) for s in convert_record(get_format(source), json.loads(text))]
    nested = {"name": "book_trip", "description": "预订行程 \u00e9 \U0001f600 \"q\"", "parameters": {
        "type": "object", "required": ["legs"], "properties": {
            "legs": {"type": "array", "items": {"type": "object", "properties": {
                "from": {"type": "string", "description": "出发城市"}, "at": {"type": ["string", "null"]},
                "stops": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "integer"}}}}}}},
            "mode": {"type": "string", "enum": ["火车", "plane", "\u2028"]}}}}  # fmt: skip
    for k in range(3):
        tool = json.loads(json.dumps(nested).replace("book_trip", f"book_trip_{k}"))
        args = {"legs": [{"from": "北京", "at": None, "stops": [{"n": k}]}], "mode": "火车"}
        samples.append(Sample([Message("system", f"系统 {k}"), Message("user", "订票 \U0001f600"),
                               Message("assistant", "", [ToolCall(f"book_trip_{k}", args)], thought="先查 \"路线\""),
                               Message("tool", json.dumps({"ok": True, "备注": "\u2028"}, ensure_ascii=False),
                                       name=f"book_trip_{k}"), Message("assistant", "订好了。")],
                              [tool], id=f"nested {k}"))  # fmt: skip
    return samples


@pytest.mark.parametrize("name", templates.names())
def test_per_sample_tools_encode_exactly_fresh_and_cached(tokenizer_path, name):
    """Every sample its own tools (no cache can help): ids == apply_chat_template, on a fresh pass and
    again when the system turns and their ids come from the caches."""
    import llamafactory.data.template as lf_template

    from fc_plugin.sharegpt import to_sharegpt

    template, tokenizer = lf_template.TEMPLATES[name], _tokenizer(tokenizer_path)
    samples = _per_sample_tool_samples()
    assert len({json.dumps(s.tools) for s in samples}) == len(samples)
    for _ in range(2):
        for sample in samples:
            row = to_sharegpt(sample)
            encoded = template._encode(tokenizer, _lf_messages(row), row["system"], row["tools"])
            assert [i for ids in encoded for i in ids] == _reference_ids(tokenizer, name, sample), sample.id


def _multi_turn_samples(extra: str = "") -> list[Any]:
    """Multi-turn samples with tool results, parallel calls (results as one observation), thoughts,
    calls and answers with text around them, a default system prompt; `extra` goes into every field."""
    from fc_plugin.sample import Message, Sample, ToolCall

    x = extra
    parallel = [ToolCall("get_weather", {"city": f"Oslo{x}"}), ToolCall("get_weather", {"city": "Bergen"})]
    turns = [
        Message("user", f"Weather in Oslo and Bergen?{x}"),
        Message("assistant", "", tool_calls=parallel, thought=f"Two cities: two calls.{x}"),
        Message("tool", json.dumps({"temperature": 3, "note": x}), name="get_weather"),
        Message("tool", json.dumps({"temperature": 5}), name="get_weather"),
        Message("assistant", f"Oslo 3, Bergen 5.{x}", thought="Both results are in."),
        Message("user", "And Trondheim?"),
        Message("assistant", "", tool_calls=[ToolCall("get_weather", {"city": "Trondheim"})]),
        Message("tool", f"cloudy{x}", name="get_weather"),
        Message("assistant", f"Cloudy.{x}"),
        Message("user", "Thanks!"),
        Message("assistant", f"You are welcome.{x}", thought=f"No call needed.{x}"),
    ]
    return [
        Sample(messages=[Message("system", f"Be brief.{x}"), *turns], tools=[WEATHER], id=f"system {x!r}"),
        Sample(messages=turns, tools=[WEATHER], id=f"no system {x!r}"),
        Sample(messages=[Message("system", "Be brief."), *turns[:5]], tools=[WEATHER], id=f"short {x!r}"),
    ]


def _splits(source: str, sample: Any) -> list[tuple[tuple[str, list[str]], list[str]]]:
    """(split_head, prefix_segments) of a sample and of each of its prompts (ending in the generation
    prompt, as for inference)."""
    from fc_plugin.sharegpt import to_sharegpt

    row = to_sharegpt(sample)
    messages = _lf_messages(row)
    chat, ends = to_chat_messages(messages, row["system"], ["get_weather"], "test")
    out = []
    for k in range(len(ends), 0, -1):
        if k < len(ends) and not ends[k - 1][1]:
            continue  # only prompts: a response ends a sample
        part, cut = ends[:k], chat[: ends[k - 1][0]]
        out.append((split_head(source, cut, sample.tools, part, "test", row["tools"]),
                    prefix_segments(source, cut, sample.tools, part, "test")))
    return out


@pytest.mark.parametrize("name", templates.names())
def test_single_rendering_split_is_the_prefix_definition(tokenizer_path, name):
    """The segments cut from one marked rendering == the exact prefix definition, on multi-turn samples
    with tool results, parallel calls and thoughts (and on their prompts); when a sample's own text holds
    the sentinel (any field), the exact method is used, with the same result; ids == apply_chat_template."""
    import llamafactory.data.template as lf_template

    from fc_plugin.formats.llamafactory import MARK
    from fc_plugin.sharegpt import to_sharegpt

    source, template = templates.chat_template(name), lf_template.TEMPLATES[name]
    tokenizer = _tokenizer(tokenizer_path)
    assert MARK not in source
    for extra, single in (("", True), ("\\ue000 \ue001", True), (MARK, False)):
        for sample in _multi_turn_samples(extra):
            for (head, segments), exact in _splits(source, sample):
                assert bool(head) == single, f"{sample.id}: {'fell back' if single else 'did not fall back'}"
                assert [head + segments[0], *segments[1:]] == exact, sample.id
            row = to_sharegpt(sample)
            encoded = template._encode(tokenizer, _lf_messages(row), row["system"], row["tools"])
            assert [i for ids in encoded for i in ids] == _reference_ids(tokenizer, name, sample), sample.id
    # the sentinel as a JSON escape in a function_call value: the decoded arguments hold the character
    messages = [{"role": "user", "content": "Weather?"},
                {"role": "function", "content": '{"name": "get_weather", "arguments": {"city": "\\ue000"}}'}]
    chat, ends = to_chat_messages(messages, "", ["get_weather"], "test")
    head, segments = split_head(source, chat, [WEATHER], ends, "test")
    assert not head and segments == prefix_segments(source, chat, [WEATHER], ends, "test")
    assert MARK in segments[1]


def test_token_ids_are_the_tokenizers_own_in_every_backend_state(tokenizer_path):
    """`token_ids` asks a plain fast tokenizer's backend directly (no offsets): the same ids as
    `tokenizer(texts)`, also with added and special tokens split or not, and after something left
    truncation or padding on the backend (then it goes through the tokenizer)."""
    from fc_plugin.formats.llamafactory import _rust_backend, token_ids

    tokenizer = _tokenizer(tokenizer_path)
    tokenizer.add_tokens(["get_weather"])
    assert _rust_backend(tokenizer) is not None
    texts = ["<|im_start|>user\nget_weather for Oslo 北京 \U0001f600<|im_end|>\n", "", " \n\t x", "<|endoftext|>"]
    for split in (False, True, False):
        tokenizer.split_special_tokens = split
        assert token_ids(tokenizer, texts) == tokenizer(texts, add_special_tokens=False)["input_ids"], split
    expected = tokenizer(texts, add_special_tokens=False)["input_ids"]
    tokenizer._tokenizer.enable_truncation(max_length=3)
    tokenizer._tokenizer.enable_padding(length=40)
    assert token_ids(tokenizer, texts) == expected
    assert token_ids(tokenizer, texts) == expected  # the tokenizer call cleared both
    assert tokenizer._tokenizer.truncation is None and tokenizer._tokenizer.padding is None


def test_token_ids_and_offsets_are_the_tokenizers_own_in_every_backend_state(tokenizer_path):
    """`token_ids_and_offsets` (fc_native's cut of the full rendering) gives the ids and character spans
    of `tokenizer(text, return_offsets_mapping=True)`, asked directly or through the tokenizer."""
    from fc_plugin.formats.llamafactory import token_ids_and_offsets

    tokenizer = _tokenizer(tokenizer_path)
    tokenizer.add_tokens(["get_weather"])
    for text in ["<|im_start|>user\nget_weather for Oslo 北京 \U0001f600<|im_end|>\n", "", " \n\t x<|endoftext|>"]:
        for split in (True, False):
            tokenizer.split_special_tokens = split
            encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
            expected = (list(encoded["input_ids"]), [tuple(o) for o in encoded["offset_mapping"]])
            ids, offsets = token_ids_and_offsets(tokenizer, text)
            assert (list(ids), [tuple(o) for o in offsets]) == expected, (text, split)
        tokenizer._tokenizer.enable_truncation(max_length=2)
        ids, offsets = token_ids_and_offsets(tokenizer, text)
        assert (list(ids), [tuple(o) for o in offsets]) == expected  # through the tokenizer, which clears it
        assert tokenizer._tokenizer.truncation is None


def test_token_cuts_read_from_the_encoding_equal_cuts_over_the_full_offsets(tokenizer_path):
    """fc_native cuts the full rendering's ids by binary search over spans read from the Rust encoding
    on demand (`EncodingOffsets`); at every character position (inside multi-byte characters, split into
    several byte tokens, and at special tokens) the cuts are those over the whole offset list, and the
    lazy spans are the list's."""
    from fc_plugin.formats.llamafactory import EncodingOffsets, token_ids_and_offsets
    from fc_plugin.formats.native import token_cuts

    tokenizer = _tokenizer(tokenizer_path)
    text = "<|im_start|>user\n北京 weather \U0001f600 ok<|im_end|>\n<|im_start|>assistant\n天气 fine<|im_end|>\n"
    ids, offsets = token_ids_and_offsets(tokenizer, text)
    assert isinstance(offsets, EncodingOffsets)  # the tiny tokenizer is asked directly
    spans = [tuple(o) for o in tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]]
    assert list(offsets) == spans and len(offsets) == len(ids) and offsets[-1] == spans[-1]
    assert offsets[2:5] == spans[2:5]
    with pytest.raises(IndexError):
        offsets[len(spans)]
    def reference(cuts: list[int]) -> list[int]:  # the definition: a prompt keeps the tokens that end by its cut,
        result = []  # a response takes every token that starts before its cut
        for k, cut in enumerate(cuts):
            index = sum(end <= cut for _, end in spans) if k % 2 == 0 else sum(start < cut for start, _ in spans)
            result.append(max([index, *result]))
        return result

    for first in range(len(text) + 1):
        for second in (first, min(len(text), first + 3), len(text)):
            cuts = [first, second]
            assert token_cuts(offsets, cuts) == token_cuts(spans, cuts) == reference(cuts), cuts
