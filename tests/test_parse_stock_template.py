"""parse_calls also reads the output of stock LLaMA-Factory templates (for baselines such as `qwen`)."""

from __future__ import annotations

import pytest

from fc_plugin.sample import ToolCall
from fc_plugin.templates import parse_calls


def test_stock_qwen_call_is_parsed_with_its_own_extractor() -> None:
    text = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}\n</tool_call>'
    result = parse_calls("qwen", text)
    assert result.calls == [ToolCall("get_weather", {"city": "Paris", "days": 2})]
    assert result.ok


def test_stock_template_plain_text_and_garbage_never_raise() -> None:
    assert parse_calls("qwen", "Hello there").content == "Hello there"
    for garbage in ['<tool_call>\n{"name": "x", "arguments": {"a": ', "<tool_call></tool_call>", "\x00{]"]:
        result = parse_calls("qwen", garbage)
        assert result.calls == []


def test_unknown_template_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown fc-plugin template"):
        parse_calls("no_such_template", "x")
