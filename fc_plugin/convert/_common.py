"""Small parsing helpers shared by the source-format converters (not a format itself).

- `field(record, key, types)`: a required/optional field with its type checked (missing_field / wrong_type);
- `text_content(value, where)`: message content as text (str, None, or OpenAI-style content parts);
- `find_literal(text, opener)`: the first balanced `[...]`/`{...}` that parses as JSON or a Python literal;
- `literal_spans(text)`: every top-level `{...}` object in a text, e.g. glaive's concatenated schemas;
- `split_top_level(text)`: split on commas outside brackets and quotes;
- `no_call_reply(request)`: the assistant reply given to a no-call record that has no reply text of its own;
- `sharegpt_turns(conv, roles)`: a `[{"from", "value"}]` list checked turn by turn, as (where, role, value);
- `record_id(record)`: the record's optional `id` as a string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from fc_plugin.convert import ConvertError
from fc_plugin.normalize import parse_json_value

# Records that say "no tool applies" but carry no reply (xLAM irrelevance, BFCL irrelevance) get this one.
NO_CALL_REPLY = "None of the available functions can be used to answer this request."
NO_CALL_REPLY_ZH = "现有的工具都无法处理这个请求。"
_CJK = re.compile(r"[\u4e00-\u9fff]")


def no_call_reply(request: str) -> str:
    """`NO_CALL_REPLY` in the request's language (Chinese when it has Han characters)."""
    return NO_CALL_REPLY_ZH if _CJK.search(request) else NO_CALL_REPLY


_TYPE_NAMES = {str: "a string", list: "a list", dict: "an object", int: "an integer", float: "a number"}


def _type_name(types: type | tuple[type, ...]) -> str:
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)


def field(
    record: dict[str, Any],
    key: str,
    types: type | tuple[type, ...],
    *,
    where: str = "",
    optional: bool = False,
) -> Any:
    """`record[key]` checked against `types`; missing (or None) raises missing_field unless `optional`."""
    label = f"{where}.{key}" if where else key
    value = record.get(key)
    if value is None:
        if optional:
            return None
        raise ConvertError("missing_field", f"field {label!r} is missing")
    allowed = types if isinstance(types, tuple) else (types,)
    if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
        raise ConvertError(
            "wrong_type", f"field {label!r} must be {_type_name(types)}, got {type(value).__name__}"
        )
    return value


def sharegpt_turns(conv: list, roles: dict[str, str]) -> Iterator[tuple[str, str, str]]:
    """Each `{"from", "value"}` turn of `conv` as (where, canonical role, value); `roles` maps `from` values."""
    for i, turn in enumerate(conv):
        where = f"conversations[{i}]"
        if not isinstance(turn, dict):
            raise ConvertError("wrong_type", f"{where} must be an object, got {type(turn).__name__}")
        role = roles.get(turn["from"]) if isinstance(turn.get("from"), str) else None
        if role is None:
            raise ConvertError(
                "unknown_role", f"{where} has from={turn.get('from')!r}; expected {'/'.join(roles)}"
            )
        yield where, role, field(turn, "value", str, where=where)


def record_id(record: dict[str, Any]) -> str | None:
    """The record's `id` as a string, or None when it has none."""
    value = record.get("id")
    return str(value) if value is not None else None


def text_content(value: Any, where: str) -> str:
    """Message content as text: a string, None (""), or a list of `{"type": "text", "text": ...}` parts."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = []
        for part in value:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            else:
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise ConvertError("wrong_type", f"{where}: content part of type {kind!r} is not text")
        return "".join(parts)
    raise ConvertError("wrong_type", f"{where}: content must be a string, got {type(value).__name__}")


def _closing(text: str, start: int) -> int:
    """Index just past the bracket group opening at `text[start]`, skipping quoted strings; -1 if unclosed."""
    depth, quote, i = 0, "", start
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return -1


def find_literal(text: str, opener: str = "[", start: int = 0) -> tuple[Any, int, int] | None:
    """First balanced group starting with `opener` that parses (JSON or Python literal): (value, start, end)."""
    i = text.find(opener, start)
    while i != -1:
        end = _closing(text, i)
        if end != -1:
            try:
                return parse_json_value(text[i:end]), i, end
            except ConvertError:
                pass
        i = text.find(opener, i + 1)
    return None


def literal_spans(text: str) -> list[tuple[Any, int, int]]:
    """Every top-level `{...}` object in `text` in order, as (value, start, end); unparsable ones raise invalid_json."""
    out, i = [], text.find("{")
    while i != -1:
        end = _closing(text, i)
        if end == -1:
            raise ConvertError("invalid_json", f"unterminated object: {text[i : i + 80]!r}")
        try:
            value = json.loads(text[i:end])
        except ValueError:
            value = parse_json_value(text[i:end])
        out.append((value, i, end))
        i = text.find("{", end)
    return out


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split `text` on `sep` where it is outside brackets and quoted strings."""
    parts, depth, quote, start, i = [], 0, "", 0, 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


def dumps(value: Any) -> str:
    """Tool results as text: strings pass through, anything else becomes compact JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
