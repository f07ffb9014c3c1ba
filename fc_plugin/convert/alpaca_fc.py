"""The seed-001 Alpaca variant: `{"instruction": ..., "input": ..., "output": ...}`.

`instruction` is the system prompt (it may list the tools as a JSON array after a lead-in such as
"你可以使用以下工具："); `input` is a transcript of `User:` / `Assistant:` / `Tool Output:` lines plus
an optional `Tools: [...]` line (a plain `input` without prefixes is the user message; with no `input`
the instruction itself is the user message); `output` is the assistant turn to learn:
`<thought>...</thought><function_call>{"name", "arguments"}</function_call>` (arguments often a JSON
string; several `<function_call>` blocks = parallel), or plain text for no-call and slot-filling answers.
"""

from __future__ import annotations

import re
from typing import Any

from fc_plugin.convert import ConvertError
from fc_plugin.convert._common import field, find_literal, record_id
from fc_plugin.normalize import normalize_tools, parse_arguments, parse_json_value, split_thought
from fc_plugin.sample import Message, Sample, ToolCall

NAME = "alpaca_fc"
LF_NAME = "fc_" + NAME

_SPEAKERS = {
    "user": "user", "human": "user", "assistant": "assistant", "tool output": "tool", "observation": "tool",
    "function output": "tool", "tools": "tools", "system": "system",
}  # fmt: skip
_LINE_RE = re.compile(
    r"^[ \t]*(User|Human|Assistant|Tool Output|Observation|Function Output|Tools|System)[ \t]*[:：][ \t]?",
    re.IGNORECASE | re.MULTILINE,
)
_CALL_RE = re.compile(r"<function_call>(.*?)(?:</function_call>|$)", re.DOTALL)
_LEAD_IN_RE = re.compile(r"[^\n。.]*(?:工具|函数|functions?|tools?)[^\n。.]*[:：]\s*$", re.IGNORECASE)
_SIGNS = ("<function_call>", "<thought>", "Tools:", '"parameters"', "'parameters'")


def detect(record: dict) -> bool:
    """Alpaca `instruction`/`output` strings carrying `<function_call>`/`<thought>` text or tool schemas."""
    instruction, output = record.get("instruction"), record.get("output")
    if not isinstance(instruction, str) or not isinstance(output, str) or "function_call" in record:
        return False
    text = f"{instruction}\n{record.get('input') or ''}\n{output}"
    return any(sign in text for sign in _SIGNS)


def _parse_calls(text: str, where: str) -> tuple[str | None, str, list[ToolCall]]:
    """An assistant text -> (thought, content outside the call tags, calls)."""
    thought, rest = split_thought(text)
    calls = []
    for body in _CALL_RE.findall(rest):
        try:
            obj = parse_json_value(body)
        except ConvertError:
            raise ConvertError(
                "unparsable_call", f"{where}: <function_call> does not parse: {body.strip()[:80]!r}"
            ) from None
        if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
            raise ConvertError("unparsable_call", f"{where}: <function_call> must be an object with a 'name'")
        try:
            calls.append(ToolCall(obj["name"], parse_arguments(obj.get("arguments"))))
        except ConvertError as exc:
            raise ConvertError(exc.code, f"{where} ({obj['name']}): {exc.message}") from None
    return thought, _CALL_RE.sub("", rest).strip(), calls


def _transcript(text: str) -> list[tuple[str, str]]:
    """`User: ...\\nAssistant: ...` -> [(speaker, text)]; text before the first prefix is a user line."""
    marks = list(_LINE_RE.finditer(text))
    turns = []
    head = text[: marks[0].start()] if marks else text
    if head.strip():
        turns.append(("user", head.strip()))
    for k, m in enumerate(marks):
        end = marks[k + 1].start() if k + 1 < len(marks) else len(text)
        turns.append((_SPEAKERS[m.group(1).lower()], text[m.end() : end].strip()))
    return turns


def _tools_from_text(text: str) -> tuple[list[dict[str, Any]], str]:
    """A JSON tool array inside prose -> (tools, prose without it and its lead-in)."""
    found = find_literal(text, "[")
    while found is not None and not (
        isinstance(found[0], list) and found[0] and all(isinstance(t, dict) for t in found[0])
    ):
        found = find_literal(text, "[", found[1] + 1)
    if found is None:
        return [], text
    before = _LEAD_IN_RE.sub("", text[: found[1]].rstrip())
    return normalize_tools(found[0]), (before.rstrip() + "\n" + text[found[2] :].strip()).strip()


def convert(record: dict) -> list[Sample]:
    """One Alpaca function-calling record -> one canonical sample."""
    instruction = field(record, "instruction", str)
    input_text = field(record, "input", str, optional=True) or ""
    output = field(record, "output", str)
    tools, system = _tools_from_text(instruction)
    turns = _transcript(input_text)
    if not turns:  # no input: the instruction is the request itself
        turns, system = [("user", system)], ""
    messages = [Message("system", system)] if system.strip() else []
    last_calls: list[ToolCall] = []
    results_seen = 0
    for k, (speaker, text) in enumerate(turns):
        if speaker == "tools":
            tools += normalize_tools(parse_json_value(text))
        elif speaker == "system":
            messages.insert(0, Message("system", text))
        elif speaker == "assistant":
            thought, content, calls = _parse_calls(text, f"input turn {k}")
            last_calls, results_seen = calls or last_calls, 0
            messages.append(Message("assistant", content, calls, thought))
        elif speaker == "tool":
            name = last_calls[results_seen].name if results_seen < len(last_calls) else None
            results_seen += 1
            messages.append(Message("tool", text, name=name))
        elif text:  # user lines; an empty "User:" after a tool output only marks the next step
            messages.append(Message("user", text))
    thought, content, calls = _parse_calls(output, "output")
    if not content and not calls:
        raise ConvertError("missing_field", "'output' is empty")
    messages.append(Message("assistant", content, calls, thought))
    return [Sample(messages, tools, record_id(record))]
