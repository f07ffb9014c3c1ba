"""ReAct: `Thought: ...` / `Action: name` / `Action Input: {json}`, results as `Observation: ...`,
answers as `Final Answer: ...`. Several Action / Action Input pairs in one turn are parallel calls."""

from __future__ import annotations

import re

from fc_plugin.formats.base import ParseResult, ToolCallFormat
from fc_plugin.formats.parsing import loose_value, raw_json, snippet, strip_end_tokens, to_calls

_MARKER = re.compile(r"^[ \t]*(Thought|Action Input|Action|Final Answer|Observation)[ \t]*:[ \t]?", re.M)


class ReactFormat(ToolCallFormat):
    """ReAct text format; a made-up `Observation:` after the calls is cut off (an error in strict mode)."""

    name = "react"
    stop_strings = ("\nObservation:",)

    def _parse(self, text: str, strict: bool) -> ParseResult:
        result = ParseResult()
        text = strip_end_tokens(text)
        markers = list(_MARKER.finditer(text))
        for i, m in enumerate(markers):
            if m[1] == "Observation":  # the model ran on into a result it made up
                if strict:
                    result.errors.append(f"made-up Observation after the calls: {snippet(text[m.start():])}")
                text, markers = text[: m.start()], markers[:i]
                break
        for i, m in enumerate(markers):
            if m[1] == "Final Answer":  # everything after it is the answer, whatever it contains
                result.content = text[m.end() :].strip()
                text, markers = text[: m.start()], markers[:i]
                break
        content = [text[: markers[0].start()] if markers else text]
        thoughts: list[str] = []
        name: str | None = None
        for i, m in enumerate(markers):
            end = markers[i + 1].start() if i + 1 < len(markers) else len(text)
            value = text[m.end() : end]
            if m[1] == "Thought":
                thoughts.append(value.strip())
            elif m[1] == "Action":
                if name is not None:
                    result.errors.append(f"Action {name!r} has no Action Input")
                name = value.strip() if strict else value.strip().strip("`'\"")
            elif name is None:
                result.errors.append(f"Action Input without Action: {snippet(value)}")
                content.append(m[0] + value)
            else:
                self._read_input(name, text, m.end(), end, strict, result, content)
                name = None
        if name is not None:
            result.errors.append(f"Action {name!r} has no Action Input")
        if result.calls and result.content and strict:
            result.errors.append("both Action and Final Answer in one turn")
        thought = "\n".join(t for t in thoughts if t)
        result.thought = thought or None
        extra = "\n".join(c.strip() for c in content if c.strip())
        result.content = "\n".join(c for c in (extra, result.content) if c)
        return result

    def _read_input(self, name: str, text: str, start: int, end: int, strict: bool, result: ParseResult,
                    content: list[str]) -> None:
        segment = text[start:end]
        decoded = raw_json(text, start)
        value = None
        if decoded is not None and decoded[1] <= end:
            value, value_end = decoded
            trailing = text[value_end:end].strip()
            if trailing and strict:
                result.errors.append(f"text after the Action Input of {name!r}: {snippet(trailing)}")
            elif trailing:
                content.append(trailing)
        elif not strict:
            value = loose_value(segment)
        if value is None:
            result.errors.append(f"invalid Action Input for {name!r}: {snippet(segment)}")
            content.append(f"Action: {name}\nAction Input: {segment.strip()}")
            return
        if not name:
            result.errors.append("Action with an empty tool name")
            return
        calls, error = to_calls({"name": name, "arguments": value}, strict)
        if error:
            result.errors.append(error)
        result.calls += calls
