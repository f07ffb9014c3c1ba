"""LLaMA-Factory's own v1 data format (its `data/reason_tool_use_demo_50.jsonl`).

`{"messages": [{"role", "content": [{"type": "text" | "reasoning" | "tool_call", "value": str}, ...]}],
"tools": "<JSON list of {"type": "function", "function": {...}}>"}`: roles system/user/assistant/tool;
an assistant turn holds an optional `reasoning` part (it becomes the turn's thought), text parts (the
answer) and `tool_call` parts, each a JSON `{"name", "arguments"}` (several = one parallel call). A
tool turn holds the result as text; the results of a parallel call come as one JSON list of
`{"tool_call_id", "name", "content"}` objects and become one tool message each.
"""

from __future__ import annotations

import json

from fc_plugin.convert import ConvertError
from fc_plugin.convert._common import field, record_id
from fc_plugin.normalize import normalize_tools, parse_arguments, parse_json_value
from fc_plugin.sample import Message, Sample, ToolCall

NAME = "lf_v1"
LF_NAME = "fc_" + NAME

_ROLES = {"system", "user", "assistant", "tool"}
_PART_TYPES = {"text", "reasoning", "tool_call"}


def detect(record: dict) -> bool:
    """`messages` whose contents are lists of `{"type", "value"}` parts (not OpenAI's `{"type", "text"}`)."""
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        return False
    parts = [p for m in messages[:8] if isinstance(m, dict) for p in (m.get("content") or [])]
    return bool(parts) and all(
        isinstance(m, dict) and isinstance(m.get("content"), list) for m in messages[:8]
    ) and all(isinstance(p, dict) and isinstance(p.get("type"), str) and p["type"] in _PART_TYPES and "value" in p for p in parts)


def _parts(raw: dict, where: str) -> list[tuple[str, str]]:
    content = raw.get("content")
    if not isinstance(content, list):
        raise ConvertError("wrong_type", f"{where}.content must be a list of parts, got {type(content).__name__}")
    out = []
    for j, part in enumerate(content):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str) or part["type"] not in _PART_TYPES:
            kind = part.get("type") if isinstance(part, dict) else type(part).__name__
            raise ConvertError("wrong_type", f"{where}.content[{j}]: part type {kind!r}, expected one of {sorted(_PART_TYPES)}")
        value = part.get("value")
        if not isinstance(value, str):
            raise ConvertError("wrong_type", f"{where}.content[{j}].value must be a string, got {type(value).__name__}")
        out.append((part["type"], value))
    return out


def _call(value: str, where: str) -> ToolCall:
    try:
        call = parse_json_value(value)
    except ConvertError as exc:
        raise ConvertError(exc.code, f"{where}: {exc.message}") from None
    if not isinstance(call, dict) or not isinstance(call.get("name"), str):
        raise ConvertError("invalid_json", f"{where}: a tool_call part must be a JSON {{\"name\", \"arguments\"}} object")
    try:
        return ToolCall(call["name"], parse_arguments(call.get("arguments")))
    except ConvertError as exc:
        raise ConvertError(exc.code, f"{where} ({call['name']}): {exc.message}") from None


def _results(text: str, calls: list[ToolCall]) -> list[Message]:
    """One tool message per result: a JSON list of `{"name", "content"}` answering a parallel call is split."""
    if len(calls) > 1:
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if (
            isinstance(parsed, list)
            and len(parsed) == len(calls)
            and all(isinstance(r, dict) and isinstance(r.get("content"), str) for r in parsed)
        ):
            return [
                Message("tool", r["content"], name=r["name"] if isinstance(r.get("name"), str) else c.name)
                for r, c in zip(parsed, calls, strict=True)
            ]
    return [Message("tool", text, name=calls[0].name if len(calls) == 1 else None)]


def convert(record: dict) -> list[Sample]:
    """One v1 record -> one canonical sample."""
    raw_messages = field(record, "messages", list)
    tools = normalize_tools(record.get("tools"))
    messages: list[Message] = []
    last_calls: list[ToolCall] = []
    for i, raw in enumerate(raw_messages):
        where = f"messages[{i}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("role"), str) or raw["role"] not in _ROLES:
            role = raw.get("role") if isinstance(raw, dict) else type(raw).__name__
            raise ConvertError("unknown_role", f"{where} has role {role!r}; expected one of {sorted(_ROLES)}")
        parts = _parts(raw, where)
        text = "".join(v for kind, v in parts if kind == "text")
        if raw["role"] != "assistant" and any(kind != "text" for kind, _ in parts):
            raise ConvertError("wrong_type", f"{where}: a {raw['role']} turn holds only text parts")
        if raw["role"] == "assistant":
            thought = "\n".join(v for kind, v in parts if kind == "reasoning").strip() or None
            calls = [_call(v, f"{where}.content[{j}]") for j, (kind, v) in enumerate(parts) if kind == "tool_call"]
            last_calls = calls or last_calls
            messages.append(Message("assistant", text, calls, thought))
        elif raw["role"] == "tool":
            messages += _results(text, last_calls)
        else:
            messages.append(Message(raw["role"], text))
    return [Sample(messages, tools, record_id(record))]
