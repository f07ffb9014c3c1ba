"""glaiveai glaive-function-calling-v2: `{"system": "SYSTEM: ... -\\n{schema}\\n\\n{schema}", "chat": "USER: ..."}`.

The system text lists function schemas as JSON objects one after another; the chat text has
`USER:` / `ASSISTANT:` / `FUNCTION RESPONSE:` turns separated by blank lines, assistant turns end in
`<|endoftext|>`, and calls are `<functioncall> {"name": ..., "arguments": '{...}'}` - arguments as
a single-quoted JSON string, which is not JSON (and may itself hold apostrophes).
"""

from __future__ import annotations

import json
import re

from fc_plugin.convert import ConvertError
from fc_plugin.convert._common import field, literal_spans
from fc_plugin.normalize import normalize_tools, parse_arguments, parse_json_value
from fc_plugin.sample import Message, Sample, ToolCall

NAME = "glaive"
LF_NAME = "fc_" + NAME

_TURN_RE = re.compile(r"(?:^|\n)[ \t]*(USER|ASSISTANT|FUNCTION RESPONSE):[ \t]?")
_ROLES = {"USER": "user", "ASSISTANT": "assistant", "FUNCTION RESPONSE": "tool"}
_QUOTED_ARGS_RE = re.compile(r"""["']arguments["']\s*:\s*'(.*)'\s*}\s*$""", re.DOTALL)
_NAME_RE = re.compile(r"""["']name["']\s*:\s*["']([^"']+)["']""")
_END = "<|endoftext|>"


def detect(record: dict) -> bool:
    """`system` and `chat` strings, the chat in glaive's `USER:` turn syntax."""
    chat = record.get("chat")
    return (
        isinstance(record.get("system"), str)
        and isinstance(chat, str)
        and chat.lstrip().startswith(("USER:", "ASSISTANT:"))
    )


def _parse_system(system: str) -> tuple[str, list[dict]]:
    """System text -> (prose without the schemas, tools)."""
    text = system.strip()
    if text.startswith("SYSTEM:"):
        text = text[len("SYSTEM:") :].strip()
    spans = literal_spans(text)
    if not spans:
        return text, []
    prose = text[: spans[0][1]].rstrip().rstrip("-").rstrip()
    if prose.endswith("required"):
        prose += "."
    return prose, normalize_tools([value for value, _, _ in spans])


def parse_functioncall(text: str) -> ToolCall:
    """The text after `<functioncall>` -> ToolCall; copes with glaive's single-quoted arguments."""
    body = text.strip()
    obj = None
    for parse in (json.loads, parse_json_value):
        try:
            obj = parse(body)
            break
        except (ValueError, ConvertError):
            continue
    if obj is None:  # arguments quoted with ' and holding an apostrophe: take the name and the quoted text
        args, name = _QUOTED_ARGS_RE.search(body), _NAME_RE.search(body)
        if not (args and name):
            raise ConvertError("unparsable_call", f"<functioncall> does not parse: {body[:80]!r}")
        obj = {"name": name.group(1), "arguments": args.group(1)}
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        raise ConvertError(
            "unparsable_call", f"<functioncall> must be an object with a 'name': {body[:80]!r}"
        )
    return ToolCall(obj["name"], parse_arguments(obj.get("arguments")))


def convert(record: dict) -> list[Sample]:
    """One glaive record -> one canonical sample."""
    prose, tools = _parse_system(field(record, "system", str))
    chat = field(record, "chat", str)
    pieces = _TURN_RE.split(chat)
    if pieces[0].strip():
        raise ConvertError(
            "unknown_role", f"chat text before the first USER:/ASSISTANT: turn: {pieces[0].strip()[:60]!r}"
        )
    messages = [Message("system", prose)] if prose else []
    last_calls: list[ToolCall] = []
    for k in range(1, len(pieces), 2):
        role, value = _ROLES[pieces[k]], pieces[k + 1].strip()
        if role == "assistant":
            value = value.replace(_END, "").strip()
            if "<functioncall>" in value:
                head, *bodies = value.split("<functioncall>")
                try:
                    last_calls = [parse_functioncall(b) for b in bodies]
                except ConvertError as exc:
                    raise ConvertError(exc.code, f"assistant turn {k // 2}: {exc.message}") from None
                messages.append(Message("assistant", head.strip(), last_calls))
                continue
        if role == "tool":
            messages.append(Message("tool", value, name=last_calls[0].name if len(last_calls) == 1 else None))
        else:
            messages.append(Message(role, value))
    if len(messages) == (1 if prose else 0):
        raise ConvertError("missing_field", "chat has no USER:/ASSISTANT: turns")
    return [Sample(messages, tools)]
