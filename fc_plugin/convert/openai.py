"""OpenAI chat fine-tuning JSONL: `{"messages": [...], "tools": [...]}`.

Covers `tools` + assistant `tool_calls` (JSON-string arguments, several = one parallel call) +
`tool` messages matched to their call by `tool_call_id`, and the legacy `functions` +
`function_call` + `function` role. `developer` messages count as system; a `weight` key is ignored.
"""

from __future__ import annotations

from typing import Any

from fc_plugin.convert import ConvertError, lf_v1
from fc_plugin.convert._common import field, record_id, text_content
from fc_plugin.normalize import normalize_tools, parse_arguments
from fc_plugin.sample import Message, Sample, ToolCall

NAME = "openai"
LF_NAME = "fc_" + NAME

_ROLES = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
    "function": "tool",
}


def detect(record: dict) -> bool:
    """An object with a `messages` list of `{"role": ...}` dicts (not LLaMA-Factory v1's `{"type", "value"}` parts)."""
    messages = record.get("messages")
    return (
        isinstance(messages, list)
        and bool(messages)
        and all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages[:8])
        and not lf_v1.detect(record)
    )


def _where(i: int, j: int | None) -> str:
    """Where message i's call j (None: its legacy `function_call`) is, for error messages (built only on errors)."""
    return f"messages[{i}]" + (".function_call" if j is None else f".tool_calls[{j}]")


def _call(raw: Any, i: int, j: int | None) -> tuple[ToolCall, str | None]:
    """Call j of message i (`tool_calls` entry, or the legacy `function_call` for j None) -> (ToolCall, call id)."""
    if not isinstance(raw, dict):
        raise ConvertError("wrong_type", f"{_where(i, j)} must be an object, got {type(raw).__name__}")
    fn = raw.get("function", raw)
    if not isinstance(fn, dict):
        raise ConvertError("wrong_type", f"{_where(i, j)}.function must be an object, got {type(fn).__name__}")
    name = fn.get("name")
    if type(name) is not str:
        name = field(fn, "name", str, where=_where(i, j))
    try:
        arguments = parse_arguments(fn.get("arguments"))
    except ConvertError as exc:
        raise ConvertError(exc.code, f"{_where(i, j)} ({name}): {exc.message}") from None
    call_id = raw.get("id")
    return ToolCall(name, arguments), call_id if isinstance(call_id, str) else None


def convert(record: dict) -> list[Sample]:
    """One OpenAI fine-tuning record -> one canonical sample."""
    raw_messages = field(record, "messages", list)
    tools = normalize_tools(record.get("tools")) + normalize_tools(record.get("functions"))
    names_by_id: dict[str, str] = {}
    last_calls: list[ToolCall] = []
    messages: list[Message] = []
    for i, raw in enumerate(raw_messages):
        if not isinstance(raw, dict):
            raise ConvertError("wrong_type", f"messages[{i}] must be an object, got {type(raw).__name__}")
        role = raw.get("role")
        role = _ROLES.get(role) if type(role) is str else None
        if role is None:
            raise ConvertError(
                "unknown_role", f"messages[{i}] has role {raw.get('role')!r}; expected one of {sorted(_ROLES)}"
            )
        content = raw.get("content")
        if type(content) is not str:
            content = text_content(content, f"messages[{i}]")
        if role == "assistant":
            calls: list[ToolCall] = []
            tool_calls = raw.get("tool_calls") or []
            if not isinstance(tool_calls, list):
                raise ConvertError("wrong_type", f"messages[{i}].tool_calls must be a list")
            for j, tc in enumerate(tool_calls):
                call, call_id = _call(tc, i, j)
                calls.append(call)
                if call_id:
                    names_by_id[call_id] = call.name
            if raw.get("function_call") is not None:
                calls.append(_call(raw["function_call"], i, None)[0])
            thought = raw.get("thought")
            if thought is None:
                thought = raw.get("reasoning_content")
            if thought is not None and type(thought) is not str:
                key = "thought" if raw.get("thought") is not None else "reasoning_content"
                message = f"messages[{i}].{key} must be a string, got {type(thought).__name__}"
                raise ConvertError("wrong_type", message)
            last_calls = calls or last_calls
            messages.append(Message("assistant", content, calls, thought))
        elif role == "tool":
            call_id = raw.get("tool_call_id")
            name = raw.get("name") or (names_by_id.get(call_id) if isinstance(call_id, str) else None)
            if not name and len(last_calls) == 1:
                name = last_calls[0].name
            messages.append(Message("tool", content, name=name if isinstance(name, str) else None))
        else:
            messages.append(Message(role, content))
    return [Sample(messages, tools, record_id(record))]
