"""Tool calls in the native output formats of model families (what `template: fc_native` trains).

One class per format, named as vLLM's `--tool-call-parser` that reads it:
- `hermes`: Hermes / Qwen2.5 / Qwen3, `<tool_call>{"name": ..., "arguments": ...}</tool_call>` per call,
  a thought as `<think>...</think>` first (Qwen3) or plain text before the calls (Qwen2.5, Hermes);
- `llama3_json`: Llama 3.x, `{"name": ..., "parameters": ...}`, with or without `<|python_tag|>`
  (several calls separated by `;`);
- `mistral`: `[TOOL_CALLS][{"name": ..., "arguments": ..., "id": ...}]` (lenient: also the newer
  `[TOOL_CALLS]name[ARGS]{...}`);
- `phi4_mini_json`: Phi-4-mini, `<|tool_call|>[{"name": ..., "arguments": ...}]<|/tool_call|>`.

`detect_format(text)` names the format a chat template (or a rendering of one) writes;
`parse_native(text, fmt=None)` reads calls in one format, or in whichever of them the text uses.
Parsers never raise on model output (`ToolCallFormat.parse_calls`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from fc_plugin.formats.base import ParseResult, ToolCallFormat, call_dict
from fc_plugin.formats.parsing import loose_value, raw_json, snippet, strip_end_tokens, to_calls
from fc_plugin.formats.tagged import JsonFormat
from fc_plugin.sample import ToolCall

_THINK = re.compile(r"\A\s*<think>(.*?)</think>\s*", re.S)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _split_think(text: str, result: ParseResult) -> str:
    match = _THINK.match(text)
    if match:
        result.thought = match[1].strip()
        return text[match.end() :]
    return text


class _NativeFormat(ToolCallFormat):
    """A native format: rendered by the model's own chat template, so these writers exist only for
    `tool_format: fc_native_NAME` on other templates and for round-trip tests."""

    def format_tools(self, tools: list[dict[str, Any]]) -> str:
        return "\n".join(_json(t) for t in tools)

    def format_answer(self, content: str, thought: str | None = None) -> str:
        return (f"<think>\n{thought.strip()}\n</think>\n\n" if thought and thought.strip() else "") + content.strip()

    def format_results(self, results: list[str]) -> str:
        return "\n".join(results)

    #: Strict mode: calls must be a JSON list (not one object).
    list_only = False

    def _items(self, value: Any, strict: bool, result: ParseResult, arg_key: str, allowed: tuple[str, ...] = ()
               ) -> list[ToolCall]:
        """Calls from a decoded JSON value (an object or a list of them) whose arguments sit under `arg_key`.
        Strict: exactly `name`, `arg_key` and the `allowed` keys; lenient: whatever `to_calls` reads."""
        if strict and self.list_only and not isinstance(value, list):
            result.errors.append(f"{self.name}: calls must be a JSON list")
        calls: list[ToolCall] = []
        for item in value if isinstance(value, list) else [value]:
            if strict and isinstance(item, dict):
                extra = set(item) - {"name", arg_key, *allowed}
                if extra:
                    result.errors.append(f"call to {item.get('name')!r} has unexpected keys {sorted(extra)}")
                    continue
                if arg_key not in item:
                    result.errors.append(f"call to {item.get('name')!r} has no {arg_key!r}")
                    continue
                item = {"name": item.get("name"), "arguments": item[arg_key]}
            got, error = to_calls(item, strict)
            if error:
                result.errors.append(error)
            calls += got
        return calls


class HermesFormat(JsonFormat):
    """`<tool_call>{"name", "arguments"}</tool_call>` per call; a `<think>` thought first (strict too)."""

    name = "hermes"

    def format_tools(self, tools: list[dict[str, Any]]) -> str:
        return "<tools>\n" + "\n".join(_json(t) for t in tools) + "\n</tools>"

    def format_calls(self, calls: list[Any], thought: str | None = None) -> str:
        text = f"<think>\n{thought.strip()}\n</think>\n\n" if thought and thought.strip() else ""
        return text + "\n".join(f"<tool_call>\n{_json(call_dict(c))}\n</tool_call>" for c in calls)

    def format_answer(self, content: str, thought: str | None = None) -> str:
        return (f"<think>\n{thought.strip()}\n</think>\n\n" if thought and thought.strip() else "") + content.strip()

    def format_results(self, results: list[str]) -> str:
        return "\n".join(f"<tool_response>\n{r}\n</tool_response>" for r in results)

    def _split_thought(self, text: str, strict: bool, result: ParseResult) -> str:
        return _split_think(text, result)


class Llama3JsonFormat(_NativeFormat):
    """Llama 3.x custom tool calls: `{"name": ..., "parameters": {...}}`, optionally after `<|python_tag|>`."""

    name = "llama3_json"
    python_tag = "<|python_tag|>"

    def format_calls(self, calls: list[Any], thought: str | None = None) -> str:
        return "; ".join(_json({"name": d["name"], "parameters": d["arguments"]}) for d in map(call_dict, calls))

    def _parse(self, text: str, strict: bool) -> ParseResult:
        result = ParseResult()
        body = _split_think(strip_end_tokens(text), result).strip()
        tagged = body.startswith(self.python_tag)
        if tagged:
            body = body[len(self.python_tag) :].strip()
        elif not strict and self.python_tag in body:
            before, body = body.split(self.python_tag, 1)
            result.content = before.strip()
            body = body.strip()
        if not body.startswith(("{", "[")) and not (not strict and body.startswith("```")):
            result.content = "\n".join(p for p in (result.content, body) if p)
            return result
        values, position = [], 0
        while position < len(body):
            decoded = raw_json(body, position)
            if decoded is None:
                break
            values.append(decoded[0])
            position = decoded[1]
            while position < len(body) and (body[position].isspace() or body[position] == ";"):
                position += 1
        rest = body[position:].strip()
        if not values:
            value = None if strict else loose_value(body)
            if value is None:
                if tagged or strict:
                    result.errors.append(f"{self.name}: call is not valid JSON: {snippet(body)}")
                result.content = "\n".join(p for p in (result.content, body) if p)
                return result
            values, rest = [value], ""
        if rest:
            if strict:
                result.errors.append(f"text after the last call: {snippet(rest)}")
            result.content = "\n".join(p for p in (result.content, rest) if p)
        for value in values:
            result.calls += self._items(value, strict, result, "parameters")
        return result


class MistralFormat(_NativeFormat):
    """Mistral: `[TOOL_CALLS][{"name", "arguments", "id"}, ...]` (lenient: also `[TOOL_CALLS]name[ARGS]{...}`)."""

    name = "mistral"
    marker = "[TOOL_CALLS]"
    list_only = True

    def format_calls(self, calls: list[Any], thought: str | None = None) -> str:
        return self.marker + _json([call_dict(c) for c in calls])

    def _parse(self, text: str, strict: bool) -> ParseResult:
        result = ParseResult()
        text = _split_think(strip_end_tokens(text), result)
        if self.marker not in text:
            result.content = text.strip()
            return result
        before, _, body = text.partition(self.marker)
        pieces = [before.strip()]
        while body.strip():
            decoded = raw_json(body, 0)
            if decoded is not None:
                result.calls += self._items(decoded[0], strict, result, "arguments", ("id",))
                body = body[decoded[1] :]
            elif not strict and "[ARGS]" in body:  # [TOOL_CALLS]name[ARGS]{...} (newer Mistral tokenizers)
                name, _, args = body.partition("[ARGS]")
                name = name.split("[CALL_ID]")[0].strip()
                decoded = raw_json(args, 0)
                if decoded is None:
                    result.errors.append(f"mistral: arguments of {name!r} are not valid JSON: {snippet(args)}")
                    pieces.append(body)
                    break
                result.calls += self._items({"name": name, "arguments": decoded[0]}, False, result, "arguments")
                body = args[decoded[1] :]
            else:
                result.errors.append(f"mistral: calls after {self.marker} are not valid JSON: {snippet(body)}")
                pieces.append(body)
                break
            if not body.lstrip().startswith(self.marker):
                break
            body = body.lstrip()[len(self.marker) :]
        tail = body.strip() if result.calls else ""
        if tail:
            if strict:
                result.errors.append(f"text after the last call: {snippet(tail)}")
            pieces.append(tail)
        result.content = "\n".join(p for p in pieces if p)
        return result


class Phi4MiniJsonFormat(_NativeFormat):
    """Phi-4-mini: `<|tool_call|>[{"name", "arguments"}, ...]<|/tool_call|>` (lenient: `functools[...]`)."""

    name = "phi4_mini_json"
    open_tag, close_tag = "<|tool_call|>", "<|/tool_call|>"
    list_only = True

    def format_calls(self, calls: list[Any], thought: str | None = None) -> str:
        return self.open_tag + _json([call_dict(c) for c in calls]) + self.close_tag

    def _parse(self, text: str, strict: bool) -> ParseResult:
        result = ParseResult()
        text = _split_think(strip_end_tokens(text), result)
        opening = self.open_tag if self.open_tag in text or strict else "functools"
        if opening not in text:
            result.content = text.strip()
            return result
        pieces, rest = [], text
        while opening in rest:
            before, _, body = rest.partition(opening)
            pieces.append(before.strip())
            decoded = raw_json(body, 0)
            if decoded is None:
                result.errors.append(f"{self.name}: calls in {opening} are not valid JSON: {snippet(body)}")
                pieces.append(opening + body)
                rest = ""
                break
            result.calls += self._items(decoded[0], strict, result, "arguments")
            rest = body[decoded[1] :].lstrip()
            if rest.startswith(self.close_tag):
                rest = rest[len(self.close_tag) :]
            elif strict:
                result.errors.append(f"unclosed {self.open_tag}")
        if rest.strip():
            if strict:
                result.errors.append(f"text after the last call: {snippet(rest)}")
            pieces.append(rest.strip())
        result.content = "\n".join(p for p in pieces if p)
        return result


FORMATS: dict[str, ToolCallFormat] = {
    f.name: f for f in (HermesFormat(), Llama3JsonFormat(), MistralFormat(), Phi4MiniJsonFormat())
}
#: Markers that name the format a chat template writes (checked in this order).
_MARKERS = (
    ("[TOOL_CALLS]", "mistral"),
    ("<|tool_call|>", "phi4_mini_json"),
    ("<|tool|>", "phi4_mini_json"),
    ("<tool_call>", "hermes"),
    ("<|python_tag|>", "llama3_json"),
    ('"parameters": ', "llama3_json"),
)


def detect_format(text: str) -> str | None:
    """The native format that a chat template's source (or a rendering of it) writes, None if unknown."""
    for marker, name in _MARKERS:
        if marker in text:
            return name
    return None


def get_native_format(name: str) -> ToolCallFormat:
    """The format called `name` (a vLLM parser name); ValueError listing the known ones."""
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown native tool-call format {name!r}; known: {', '.join(FORMATS)}") from None


def parse_native(text: str, fmt: str | None = None, strict: bool = False) -> ParseResult:
    """Calls in native format `fmt`; with None, in the format the text itself uses (its markers, else a
    bare Llama-style JSON call). Never raises on `text` (ValueError only for an unknown `fmt`)."""
    if fmt is not None:
        return get_native_format(fmt).parse_calls(text, strict=strict)
    if not isinstance(text, str):
        return ParseResult(errors=[f"model output is {type(text).__name__}, not text"])
    name = detect_format(text) or "llama3_json"
    return FORMATS[name].parse_calls(text, strict=strict)


__all__ = ["FORMATS", "detect_format", "get_native_format", "parse_native"]
