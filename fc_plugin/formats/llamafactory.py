"""The bridge to LLaMA-Factory: `FcTemplate` (a Template that encodes through our Jinja) and
`FcToolUtils` (a tool format usable with any stock LLaMA-Factory template).

Parity by construction: `FcTemplate._encode` turns LLaMA-Factory's messages into OpenAI-shaped ones
and renders them with the very chat template that `fix_jinja_template` installs into the tokenizer
(and `llamafactory-cli export` saves). The text of each LLaMA-Factory message is the difference
between renderings of growing prefixes: a prompt segment ends after the generation prompt, a
response segment is the assistant text plus the end-of-turn token.

Data conventions (ShareGPT `function_call` / `gpt` values and `observation` values):
- a `function_call` value is JSON, one `{"name", "arguments"}` object or a list of them (parallel
  calls), optionally preceded by `<thought>...</thought>`; `arguments` may also be a JSON string;
- a `gpt` value may start with `<thought>...</thought>`;
- an `observation` holding the results of a parallel call joins them with RESULT_SEPARATOR
  (LLaMA-Factory's own OpenAI-converter convention).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from llamafactory.data.template import Template
from llamafactory.data.tool_utils import FunctionCall, ToolUtils

from fc_plugin.formats import jinja
from fc_plugin.formats.base import ToolCallFormat
from fc_plugin.formats.checks import check_calls, check_tools
from fc_plugin.formats.parsing import snippet

RESULT_SEPARATOR = "\n</tool_response>\n<tool_response>\n"
THOUGHT_WORDS = ("<thought>", "</thought>")
_THOUGHT_PREFIX = re.compile(r"\A\s*<thought>(.*?)</thought>\s*", re.S)


def split_thought(value: str) -> tuple[str | None, str]:
    """(thought, rest) for a value that may start with `<thought>...</thought>`."""
    match = _THOUGHT_PREFIX.match(value)
    return (match[1].strip(), value[match.end() :]) if match else (None, value)


def decode_function_message(content: str, where: str) -> tuple[str | None, list[dict[str, Any]]]:
    """(thought, calls) of a LLaMA-Factory `function` message; ValueError when it is not valid."""
    thought, body = split_thought(content)
    try:
        value = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: function_call is not valid JSON ({exc.msg}): {snippet(body)}") from None
    calls = []
    for item in value if isinstance(value, list) else [value]:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ValueError(f"{where}: function_call needs {{\"name\", \"arguments\"}} objects: {snippet(body)}")
        arguments = item.get("arguments", {})
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except json.JSONDecodeError:
                raise ValueError(f"{where}: arguments of {item['name']!r} are not valid JSON: {snippet(arguments)}") from None
        calls.append({"name": item["name"], "arguments": arguments})
    if not calls:
        raise ValueError(f"{where}: function_call holds no call")
    return thought, calls


def parse_tools_json(tools: str | list[Any] | None, where: str) -> list[Any]:
    """Tools of a LLaMA-Factory sample (a JSON string, possibly empty) as a list."""
    if not tools:
        return []
    if isinstance(tools, list):
        return tools
    try:
        value = json.loads(tools)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: tools is not valid JSON ({exc.msg}): {snippet(tools)}") from None
    return value if isinstance(value, list) else [value]


def describe_sample(messages: list[dict[str, Any]]) -> str:
    """A short label for a sample in error messages: its first user message."""
    first = next((m.get("content", "") for m in messages if m.get("role") == "user"), "")
    return f"sample starting {snippet(str(first))}"


def to_chat_messages(messages: list[dict[str, str]], system: str | None, tool_names: list[str], where: str
                     ) -> tuple[list[dict[str, Any]], list[tuple[int, bool]]]:
    """OpenAI-shaped messages for LLaMA-Factory's, plus for each LF message (end index, generation prompt?)."""
    chat: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    ends: list[tuple[int, bool]] = []
    for index, message in enumerate(messages):
        role, content = message["role"], message["content"]
        if role == "user":
            chat.append({"role": "user", "content": content})
        elif role == "assistant":
            thought, answer = split_thought(content)
            chat.append({"role": "assistant", "content": answer, **({"thought": thought} if thought else {})})
        elif role == "function":
            thought, calls = decode_function_message(content, f"{where}, message {index}")
            check_calls(calls, tool_names, f"{where}, message {index}")
            chat.append({
                "role": "assistant",
                "content": "",
                "tool_calls": [{"type": "function", "function": c} for c in calls],
                **({"thought": thought} if thought else {}),
            })
        elif role == "observation":
            chat += [{"role": "tool", "content": result} for result in content.split(RESULT_SEPARATOR)]
        else:
            raise ValueError(f"{where}, message {index}: unexpected role {role!r}")
        ends.append((len(chat), role in ("user", "observation")))
    return chat, ends


@dataclass
class FcTemplate(Template):
    """A LLaMA-Factory template whose text comes from the fc-plugin chat template (same Jinja as export)."""

    fc_name: str = ""
    fc_format: str = ""
    fc_family: str = ""

    def chat_template(self) -> str:
        """The Jinja this template trains with (and installs into the tokenizer)."""
        return jinja.compose(self.fc_format, self.fc_family, self.default_system)

    def render_segments(self, messages: list[dict[str, str]], system: str | None, tools: str | None) -> list[str]:
        """The text of each LLaMA-Factory message (prompt segments include the generation prompt)."""
        where = f"template {self.fc_name}: {describe_sample(messages)}"
        tool_list = parse_tools_json(tools, where)
        tool_names = check_tools(tool_list, where)
        chat, ends = to_chat_messages(messages, system, tool_names, where)
        source = self.chat_template()
        segments, previous = [], ""
        for end, generation_prompt in ends:
            text = jinja.render(source, chat[:end], tool_list, generation_prompt)
            if not text.startswith(previous):
                raise RuntimeError(f"{where}: chat template is not prefix-stable at message {len(segments)}")
            segments.append(text[len(previous) :])
            previous = text
        return segments

    def _encode(self, tokenizer: Any, messages: list[dict[str, str]], system: str | None, tools: str | None
                ) -> list[list[int]]:
        return [tokenizer.encode(s, add_special_tokens=False) if s else []
                for s in self.render_segments(messages, system, tools)]

    def _get_jinja_template(self, tokenizer: Any) -> str:
        return self.chat_template()

    def fix_jinja_template(self, tokenizer: Any) -> None:
        """Install our tool-aware chat template (always: training, export and serving must agree)."""
        own = f"fc_{self.fc_format}"
        for formatter in (self.format_tools, self.format_function):
            if formatter.tool_format != own:
                raise ValueError(
                    f"template {self.fc_name} has its own tool format {own}; remove "
                    f"`tool_format: {formatter.tool_format}` (or use a stock template with it)"
                )
        tokenizer.chat_template = self.chat_template()


class FcToolUtils(ToolUtils):
    """An fc-plugin format as a LLaMA-Factory tool format (`tool_format: fc_json` etc.)."""

    def __init__(self, call_format: ToolCallFormat) -> None:
        self.call_format = call_format

    def tool_formatter(self, tools: list[dict[str, Any]]) -> str:  # type: ignore[override]
        return "\n\n" + self.call_format.format_tools(tools)

    def function_formatter(self, functions: list[FunctionCall]) -> str:  # type: ignore[override]
        return self.call_format.format_calls([{"name": f.name, "arguments": json.loads(f.arguments)} for f in functions])

    def tool_extractor(self, content: str) -> str | list[FunctionCall]:  # type: ignore[override]
        result = self.call_format.parse_calls(content)
        if result.calls:
            return [FunctionCall(c.name, json.dumps(c.arguments, ensure_ascii=False)) for c in result.calls]
        if result.thought:
            return f"{THOUGHT_WORDS[0]}{result.thought}{THOUGHT_WORDS[1]}\n{result.content}"
        return result.content
