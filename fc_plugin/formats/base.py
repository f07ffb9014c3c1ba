"""The interface every tool-call format implements (ms-swift agent-template style).

A format renders tools, calls and results through its Jinja macros (templates/formats/NAME.jinja,
the same macros the chat templates use) and parses model output back into calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fc_plugin.formats import jinja
from fc_plugin.sample import ToolCall


@dataclass
class ParseResult:
    """What a parser could prove from model output."""

    calls: list[ToolCall] = field(default_factory=list)
    content: str = ""
    thought: str | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the text followed the format exactly (no errors)."""
        return not self.errors


def call_dict(call: ToolCall | dict[str, Any]) -> dict[str, Any]:
    """A call as `{"name", "arguments"}` from a ToolCall, a plain dict or an OpenAI tool_call dict."""
    if isinstance(call, ToolCall):
        return call.to_dict()
    function = call.get("function") if isinstance(call.get("function"), dict) else call
    return {"name": function["name"], "arguments": function.get("arguments", {})}


class ToolCallFormat:
    """One tool-call format. Subclasses set `name` and implement `_parse`."""

    name: str = ""
    #: Extra stop strings for serving (beyond the family's end-of-turn token).
    stop_strings: tuple[str, ...] = ()

    @property
    def _source(self) -> str:
        return f"formats/{self.name}.jinja"

    def format_tools(self, tools: list[dict[str, Any]]) -> str:
        """The tool prompt appended to the system message."""
        return jinja.macro(self._source, "fc_tools", tools)

    def format_calls(self, calls: list[ToolCall | dict[str, Any]], thought: str | None = None) -> str:
        """Assistant text for one turn of (parallel) calls, with an optional thought first."""
        text = jinja.macro(self._source, "fc_thought", thought.strip()) if thought and thought.strip() else ""
        return text + jinja.macro(self._source, "fc_calls", [call_dict(c) for c in calls])

    def format_answer(self, content: str, thought: str | None = None) -> str:
        """Assistant text for a final answer (no call), with an optional thought first."""
        text = jinja.macro(self._source, "fc_thought", thought.strip()) if thought and thought.strip() else ""
        return text + jinja.macro(self._source, "fc_answer", content.strip())

    def format_results(self, results: list[str]) -> str:
        """Body of the tool turn that feeds back the results of one (parallel) call."""
        separator = jinja.macro(self._source, "fc_result_separator")
        return separator.join(jinja.macro(self._source, "fc_result", r) for r in results)

    def parse_calls(self, text: str, strict: bool = False) -> ParseResult:
        """Parse model output into calls, thought and remaining text. Never raises."""
        if not isinstance(text, str):
            return ParseResult(errors=[f"model output is {type(text).__name__}, not text"])
        try:
            return self._parse(text, strict)
        except Exception as exc:  # a parser bug must not take serving down
            return ParseResult(content=text.strip(), errors=[f"parser error: {type(exc).__name__}: {exc}"])

    def _parse(self, text: str, strict: bool) -> ParseResult:
        raise NotImplementedError
