"""Forgiving helpers shared by the parsers: JSON / Python-literal decoding, code fences, end tokens.

Nothing here raises on model output: helpers return None (or the input) when they cannot decode.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from fc_plugin.sample import ToolCall

# End-of-turn / end-of-text tokens of the supported families (and common others) that may trail
# a generation decoded with skip_special_tokens=False.
END_TOKENS = (
    "<|im_end|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<|eom_id|>",
    "<|end_of_text|>",
    "<|end|>",
    "</s>",
)
_FENCE_OPEN = re.compile(r"\A\s*```[A-Za-z0-9_+-]*[ \t]*\n?")
_FENCE_CLOSE = re.compile(r"\n?[ \t]*```\s*\Z")
_PY_CONSTANTS = re.compile(r"\b(true|false|null)\b")
_DECODER = json.JSONDecoder()


def strip_end_tokens(text: str) -> str:
    """Drop trailing end-of-turn tokens (and whitespace around them)."""
    text = text.rstrip()
    changed = True
    while changed:
        changed = False
        for token in END_TOKENS:
            if text.endswith(token):
                text = text[: -len(token)].rstrip()
                changed = True
    return text


def strip_fences(text: str) -> str:
    """Remove one surrounding Markdown code fence (```json ... ```), if any."""
    inner = _FENCE_OPEN.sub("", text, count=1)
    if inner is text:
        return text.strip()
    return _FENCE_CLOSE.sub("", inner, count=1).strip()


def raw_json(text: str, start: int) -> tuple[Any, int] | None:
    """Decode one JSON value at `text[start:]` (after whitespace); return (value, end index) or None."""
    index = start
    while index < len(text) and text[index].isspace():
        index += 1
    try:
        return _DECODER.raw_decode(text, index)
    except (ValueError, RecursionError):
        return None


def _json_shaped(value: Any) -> Any:
    """A Python literal's value as JSON values (tuples as lists); ValueError for what JSON has no
    value for (a set such as `{""}`, bytes, complex numbers, non-string keys): such output is no call.
    Unlike `normalize._jsonable`, which converts them in training data, a model's call is not repaired."""
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ValueError("non-string key")
        return {k: _json_shaped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_shaped(v) for v in value]
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise ValueError(f"{type(value).__name__} is not a JSON value")


def loose_value(text: str) -> Any | None:
    """Decode JSON, or failing that a Python literal (single quotes, True/None, or JSON true/null) that
    holds only JSON values (tuples read as lists), else None."""
    text = strip_fences(text)
    if not text:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    for candidate in (text, _PY_CONSTANTS.sub(lambda m: {"true": "True", "false": "False"}.get(m[1], "None"), text)):
        try:
            return _json_shaped(ast.literal_eval(candidate))
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return None


def to_calls(value: Any, strict: bool) -> tuple[list[ToolCall], str | None]:
    """Turn a decoded call object into ToolCalls; return (calls, error). Strict accepts only the canonical
    `{"name": str, "arguments": object}`; lenient also accepts lists of calls, OpenAI's
    `{"type": "function", "function": ...}`, `parameters` for `arguments`, arguments as a JSON string."""
    if isinstance(value, list) and not strict:
        calls: list[ToolCall] = []
        for item in value:
            got, error = to_calls(item, strict)
            if error:
                return [], error
            calls += got
        return (calls, None) if calls else ([], "empty list of calls")
    if not isinstance(value, dict):
        return [], f"a call must be a JSON object, got {type(value).__name__}"
    if not strict and isinstance(value.get("function"), dict):
        value = value["function"]
    name = value.get("name")
    if not isinstance(name, str) or not name.strip():
        return [], "call has no function name"
    if "arguments" in value:
        arguments = value["arguments"]
    elif not strict and "parameters" in value:
        arguments = value["parameters"]
    elif not strict:
        arguments = {}
    else:
        return [], f"call to {name!r} has no arguments"
    if isinstance(arguments, str) and not strict:
        decoded = loose_value(arguments) if arguments.strip() else {}
        arguments = decoded if decoded is not None else arguments
    if not isinstance(arguments, dict):
        return [], f"arguments of {name!r} must be a JSON object, got {type(arguments).__name__}"
    if strict and set(value) - {"name", "arguments"}:
        return [], f"call to {name!r} has unexpected keys {sorted(set(value) - {'name', 'arguments'})}"
    return [ToolCall(name, arguments)], None


def snippet(text: str, limit: int = 60) -> str:
    """Short printable excerpt for error messages."""
    text = text.strip()
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")
