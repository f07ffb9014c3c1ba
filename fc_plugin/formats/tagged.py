"""Formats whose calls are JSON objects inside tags: `json` (<tool_call>) and `tags` (<function_call>)."""

from __future__ import annotations

import re
from typing import Any

from fc_plugin.formats.base import ParseResult, ToolCallFormat
from fc_plugin.formats.parsing import loose_value, raw_json, snippet, strip_end_tokens, to_calls
from fc_plugin.sample import ToolCall

THOUGHT_TAGS = ("<thought>", "</thought>")
_FENCED = re.compile(r"```[A-Za-z0-9_+-]*[ \t]*\n.*?```", re.S)
_LENIENT_THOUGHT_TAGS = (THOUGHT_TAGS, ("<think>", "</think>"))


class TaggedFormat(ToolCallFormat):
    """Calls as `OPEN{"name": ..., "arguments": {...}}CLOSE`, an optional <thought>...</thought> first."""

    open_tag: str = ""
    close_tag: str = ""

    def _parse(self, text: str, strict: bool) -> ParseResult:
        result = ParseResult()
        rest = self._split_thought(strip_end_tokens(text), strict, result)
        pieces: list[str] = []
        pos = 0
        seen_call = False
        while True:
            start = rest.find(self.open_tag, pos)
            if start < 0:
                tail = rest[pos:]
                if seen_call and tail.strip() and strict:
                    result.errors.append(f"text after the last call: {snippet(tail)}")
                pieces.append(tail)
                break
            pieces.append(rest[pos:start])
            pos = self._read_call(rest, start, strict, result, pieces)
            seen_call = True
        content = "\n".join(p.strip() for p in pieces if p.strip())
        if not result.calls and not seen_call:
            content = self._bare_calls(content, strict, result)
        result.content = content
        return result

    def _split_thought(self, text: str, strict: bool, result: ParseResult) -> str:
        stripped = text.lstrip()
        pairs = (THOUGHT_TAGS,) if strict else _LENIENT_THOUGHT_TAGS
        for opening, closing in pairs:
            if not stripped.startswith(opening):
                continue
            end = stripped.find(closing)
            if end >= 0:
                result.thought = stripped[len(opening) : end].strip()
                return stripped[end + len(closing) :]
            cut = stripped.find(self.open_tag)
            cut = len(stripped) if cut < 0 else cut
            result.thought = stripped[len(opening) : cut].strip()
            if strict:
                result.errors.append(f"unclosed {opening}")
            return stripped[cut:]
        return text

    def _read_call(self, text: str, start: int, strict: bool, result: ParseResult, pieces: list[str]) -> int:
        """Read the call whose open tag is at `start`; append calls/errors/text; return the next position."""
        body = start + len(self.open_tag)
        close = text.find(self.close_tag, body)
        block_end = len(text) if close < 0 else close + len(self.close_tag)
        decoded = raw_json(text, body)
        if decoded is not None:
            value, value_end = decoded
            after = value_end
            while after < len(text) and text[after].isspace():
                after += 1
            if text.startswith(self.close_tag, after):
                return self._accept(value, text, start, after + len(self.close_tag), strict, result, pieces)
            if strict:
                result.errors.append(f"unclosed {self.open_tag}: {snippet(text[start:block_end])}")
                pieces.append(text[start:block_end])
                return block_end
            if close < 0 or not text[value_end:close].strip(" \t\n`"):
                # lenient: an unclosed final tag, or a closing code fence before the tag
                return self._accept(value, text, start, block_end if close >= 0 else value_end, strict, result, pieces)
        if strict:
            result.errors.append(f"invalid JSON in {self.open_tag}: {snippet(text[body:block_end])}")
            pieces.append(text[start:block_end])
            return block_end
        value = loose_value(text[body : close if close >= 0 else len(text)])
        if value is None:
            result.errors.append(f"cannot decode call in {self.open_tag}: {snippet(text[body:block_end])}")
            pieces.append(text[start:block_end])
            return block_end
        return self._accept(value, text, start, block_end, strict, result, pieces)

    def _accept(self, value: Any, text: str, start: int, end: int, strict: bool, result: ParseResult,
                pieces: list[str]) -> int:
        calls, error = to_calls(value, strict)
        if error:
            result.errors.append(error)
            pieces.append(text[start:end])
        else:
            result.calls += calls
        return end

    def _bare_calls(self, content: str, strict: bool, result: ParseResult) -> str:
        """Calls written without tags (the whole text, or a fenced code block in it): a parse error in
        strict mode, accepted in lenient mode."""
        candidates = [(content, "")] if content.startswith(("{", "[", "```")) else []
        candidates += [(m[0], content.replace(m[0], "", 1).strip()) for m in _FENCED.finditer(content)]
        for block, remaining in candidates:
            value = loose_value(block)
            if value is None or not _looks_like_calls(value):
                continue
            calls, error = to_calls(value, strict=False)
            if error:
                continue
            if strict:
                result.errors.append(f"call written without {self.open_tag} tags: {snippet(block)}")
                return content
            result.calls += calls
            return remaining
        return content


def _looks_like_calls(value: object) -> bool:
    items = value if isinstance(value, list) else [value]
    return bool(items) and all(
        isinstance(i, dict) and ("name" in i or isinstance(i.get("function"), dict))
        and ("arguments" in i or "parameters" in i or isinstance(i.get("function"), dict))
        for i in items
    )


class JsonFormat(TaggedFormat):
    """Native JSON tool calls, the Hermes / Qwen2.5 convention: <tool_call>{...}</tool_call>."""

    name = "json"
    open_tag, close_tag = "<tool_call>", "</tool_call>"


class TagsFormat(TaggedFormat):
    """Thought + call tags (seed 001): <thought>...</thought><function_call>{...}</function_call>."""

    name = "tags"
    open_tag, close_tag = "<function_call>", "</function_call>"


__all__ = ["JsonFormat", "TagsFormat", "TaggedFormat", "ToolCall"]
