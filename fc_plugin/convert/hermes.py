"""NousResearch hermes-function-calling-v1: `{"conversations": [{"from", "value"}], "category", ...}`.

Roles system/human/gpt/tool. The tools sit in `<tools>...</tools>` in the system prompt (a
Python-literal or JSON list, or one object per line); calls are `<tool_call>{...}</tool_call>` blocks
holding Python-literal or JSON dicts `{'arguments': {...}, 'name': ...}` (several = parallel);
results are `<tool_response>{"name": ..., "content": ...}</tool_response>` blocks. The tools block and
the `<tool_call>` output-format instructions are cut from the system prompt (the template owns them).
"""

from __future__ import annotations

import re

from fc_plugin.convert import ConvertError
from fc_plugin.convert._common import dumps, field, find_literal, literal_spans, record_id, sharegpt_turns
from fc_plugin.normalize import normalize_tools, parse_arguments, parse_json_value
from fc_plugin.sample import Message, Sample, ToolCall

NAME = "hermes"
LF_NAME = "fc_" + NAME

_ROLES = {"system": "system", "human": "user", "gpt": "assistant", "tool": "tool"}
_TOOLS_RE = re.compile(r"<tools>(.*?)</tools>", re.DOTALL)
_CALL_RE = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.DOTALL)
_RESPONSE_RE = re.compile(r"<tool_response>(.*?)(?:</tool_response>|$)", re.DOTALL)
# The output-format instructions: up to the last </tool_call> (the prose itself says "<tool_call> </tool_call> tags").
_FORMAT_RE = re.compile(
    r"(?:Use the following pydantic model|For each function call).*</tool_call>", re.DOTALL
)
_TAGS = ("<tools>", "<tool_call>", "<tool_response>")
_META_KEYS = ("category", "subcategory", "task")


def detect(record: dict) -> bool:
    """`conversations` with roles only system/human/gpt/tool and Hermes' `<tools>`/`<tool_call>` tags."""
    conv = record.get("conversations")
    if not isinstance(conv, list) or not conv or "system" in record or "tools" in record:
        return False
    if not all(isinstance(t, dict) and t.get("from") in _ROLES for t in conv):
        return False
    return any(isinstance(t.get("value"), str) and any(tag in t["value"] for tag in _TAGS) for t in conv)


def _parse_tools(block: str) -> list[dict]:
    """The inside of `<tools>`: one list (JSON or Python literal), or objects one after another."""
    text = block.strip()
    if not text:
        return []
    if text.startswith("["):
        found = find_literal(text, "[")
        if found is None:
            raise ConvertError("invalid_json", f"<tools> list does not parse: {text[:80]!r}")
        return normalize_tools(found[0])
    return normalize_tools([value for value, _, _ in literal_spans(text)])


def _parse_call(body: str, where: str) -> ToolCall:
    try:
        obj = parse_json_value(body)
    except ConvertError:
        raise ConvertError(
            "unparsable_call",
            f"{where}: <tool_call> is neither JSON nor a Python dict: {body.strip()[:80]!r}",
        ) from None
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        raise ConvertError(
            "unparsable_call", f"{where}: <tool_call> must be an object with a 'name': {body.strip()[:80]!r}"
        )
    try:
        return ToolCall(obj["name"], parse_arguments(obj.get("arguments")))
    except ConvertError as exc:
        raise ConvertError(exc.code, f"{where} ({obj['name']}): {exc.message}") from None


def _results(value: str, calls: list[ToolCall]) -> list[Message]:
    """A tool turn -> one tool message per `<tool_response>` block (name from the block or the call)."""
    bodies = _RESPONSE_RE.findall(value) or [value]
    out = []
    for k, body in enumerate(bodies):
        try:
            obj = parse_json_value(body)
        except ConvertError:
            obj = None
        default = calls[k].name if len(calls) == len(bodies) else calls[0].name if len(calls) == 1 else None
        if isinstance(obj, dict) and isinstance(obj.get("name"), str) and "content" in obj:
            out.append(Message("tool", dumps(obj["content"]), name=obj["name"]))
        else:
            out.append(Message("tool", body.strip(), name=default))
    return out


def convert(record: dict) -> list[Sample]:
    """One Hermes conversation -> one canonical sample."""
    conv = field(record, "conversations", list)
    tools: list[dict] = []
    messages: list[Message] = []
    last_calls: list[ToolCall] = []
    for where, role, value in sharegpt_turns(conv, _ROLES):
        if role == "system":
            blocks = [
                m for m in _TOOLS_RE.finditer(value) if m.group(1).strip()
            ]  # the prose says "<tools> </tools>"
            for m in blocks:
                tools += _parse_tools(m.group(1))
            for m in reversed(blocks):
                value = value[: m.start()] + value[m.end() :]
            value = re.sub(r"\n{3,}", "\n\n", _FORMAT_RE.sub("", value)).strip()
            if value:
                messages.append(Message("system", value))
        elif role == "assistant" and "<tool_call>" in value:
            last_calls = [_parse_call(body, where) for body in _CALL_RE.findall(value)]
            content = _CALL_RE.sub("", value).strip()
            messages.append(Message("assistant", content, last_calls))
        elif role == "tool":
            messages.extend(_results(value, last_calls))
        else:
            messages.append(Message(role, value.strip() if role == "assistant" else value))
    if not tools and last_calls:
        raise ConvertError("empty_tools", "calls are made but the system prompt has no <tools> block")
    meta = {k: record[k] for k in _META_KEYS if isinstance(record.get(k), str)}
    return [Sample(messages, tools, record_id(record), meta)]
