"""The bridge to LLaMA-Factory: `FcTemplate` (a Template that encodes through our Jinja) and
`FcToolUtils` (a tool format usable with any stock LLaMA-Factory template).

Parity by construction: `FcTemplate._encode` turns LLaMA-Factory's messages into OpenAI-shaped ones
(`fc_plugin.formats.lf_messages`, which also documents the data conventions) and renders them with
the very chat template that `fix_jinja_template` installs into the tokenizer (and
`llamafactory-cli export` saves). The text of each LLaMA-Factory message is the difference between
renderings of growing prefixes: a prompt segment ends after the generation prompt, a response
segment is the assistant text plus the end-of-turn token.

The classes are built on first use (`fc_classes()`): importing LLaMA-Factory's template module fires
the autoload hook, which registers our templates and so needs these classes; building them lazily
keeps that cycle out of module import.
"""

from __future__ import annotations

import json
from typing import Any

from fc_plugin.formats import jinja
from fc_plugin.formats.base import ToolCallFormat
from fc_plugin.formats.checks import check_tools
from fc_plugin.formats.lf_messages import THOUGHT_WORDS, describe_sample, parse_tools_json, to_chat_messages


def split_rendering(source: str, chat: list[dict[str, Any]], tools: list[Any], ends: list[tuple[int, bool]],
                    where: str) -> list[str]:
    """Split the rendering of `chat` into the text of each LLaMA-Factory message.

    Exact definition: segment k = render(chat[:ends[k]]) minus render(chat[:ends[k-1]]) (each with the
    generation prompt after user/observation messages). Rendering every prefix costs O(n^2), so segments
    after the first are taken from a window starting one message earlier (the templates only look at the
    previous message); the windows are checked against one full rendering, and the exact prefix method
    is used whenever they disagree.
    """
    full = jinja.render(source, chat, tools, ends[-1][1])
    segments = [jinja.render(source, chat[: ends[0][0]], tools, ends[0][1])]
    for (start, before_prompt), (end, prompt) in zip(ends, ends[1:], strict=False):
        before = jinja.render(source, chat[start - 1 : start], None, before_prompt)
        after = jinja.render(source, chat[start - 1 : end], None, prompt)
        if not after.startswith(before):
            break
        segments.append(after[len(before) :])
    if len(segments) == len(ends) and "".join(segments) == full:
        return segments
    return prefix_segments(source, chat, tools, ends, where)


def prefix_segments(source: str, chat: list[dict[str, Any]], tools: list[Any], ends: list[tuple[int, bool]],
                    where: str) -> list[str]:
    """The exact (O(n^2)) split: differences between renderings of growing prefixes."""
    segments, previous = [], ""
    for end, prompt in ends:
        text = jinja.render(source, chat[:end], tools, prompt)
        if not text.startswith(previous):
            raise RuntimeError(f"{where}: chat template is not prefix-stable at message {len(segments)}")
        segments.append(text[len(previous) :])
        previous = text
    return segments


_classes: tuple[type, type] | None = None


def fc_classes() -> tuple[type, type]:
    """(FcTemplate, FcToolUtils): subclasses of LLaMA-Factory's Template and ToolUtils, built once."""
    global _classes
    if _classes is None:
        import llamafactory.data.template  # noqa: F401 - may fire the autoload hook, which calls back in here
    if _classes is None:
        _classes = _build_classes()
    return _classes


def _build_classes() -> tuple[type, type]:
    from dataclasses import dataclass

    from llamafactory.data.template import Template
    from llamafactory.data.tool_utils import FunctionCall, ToolUtils

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
            return split_rendering(self.chat_template(), chat, tool_list, ends, where)

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

    return FcTemplate, FcToolUtils


def __getattr__(name: str) -> Any:
    """`FcTemplate` / `FcToolUtils` as module attributes, built on first access."""
    if name in ("FcTemplate", "FcToolUtils"):
        return fc_classes()[0 if name == "FcTemplate" else 1]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
