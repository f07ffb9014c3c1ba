"""Team-ACE ToolACE: `{"system": "...<tool list JSON>...", "conversations": [{"from", "value"}]}`.

The tool list is a JSON array inside the system prompt (Gorilla-style `"type": "dict"` schemas);
roles are user/assistant/tool; calls are Python-style `[Func(a=1, b="x"), Other(c=[1, 2])]`
(names may contain spaces or dots), parsed with `ast` (literals only, never evaluated); tool turns
hold `[{"name": ..., "results": {...}}]`, one result per call. The system prose before the tool
list is kept; the output-format instructions after it are dropped (the chat template owns them).
"""

from __future__ import annotations

import ast
import re
import warnings
from typing import Any

from fc_plugin.convert import ConvertError
from fc_plugin.convert._common import dumps, field, find_literal, record_id, sharegpt_turns, split_top_level
from fc_plugin.normalize import normalize_tools, parse_json_value
from fc_plugin.sample import Message, Sample, ToolCall

NAME = "toolace"
LF_NAME = "fc_" + NAME

_ROLES = {"user": "user", "assistant": "assistant", "tool": "tool"}
_CALL_RE = re.compile(r"\s*([^\s()\[\],=][^()\[\]=]*?)\s*\((.*)\)\s*", re.DOTALL)
_NAMED_CONSTANTS = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}
_LEAD_IN_RE = re.compile(r"\n[^\n]*(?:functions?|tools?|APIs?|函数|工具)[^\n]*[:：]\s*$", re.IGNORECASE)


def detect(record: dict) -> bool:
    """`system` text + `conversations` whose roles are only user/assistant/tool."""
    conv = record.get("conversations")
    if (
        not isinstance(record.get("system"), str)
        or not isinstance(conv, list)
        or not conv
        or "tools" in record
    ):
        return False
    return all(isinstance(t, dict) and t.get("from") in _ROLES for t in conv[:8])


def _literal(node: ast.AST, where: str) -> Any:
    """A literal AST node -> JSON value; JSON's true/false/null are accepted too. Anything else is refused."""
    if isinstance(node, ast.Constant) and not isinstance(node.value, bytes | complex):
        return node.value
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return [_literal(e, where) for e in node.elts]
    if isinstance(node, ast.Dict):
        out = {}
        for k, v in zip(node.keys, node.values, strict=True):
            if k is None:
                raise ConvertError("unparsable_call", f"{where}: `**` unpacking is not a literal")
            key = _literal(k, where)
            out[key if isinstance(key, str) else str(key)] = _literal(v, where)
        return out
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _literal(node.operand, where)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Name) and node.id in _NAMED_CONSTANTS:
        return _NAMED_CONSTANTS[node.id]
    raise ConvertError("unparsable_call", f"{where}: {ast.unparse(node)[:80]!r} is not a literal value")


def parse_python_calls(text: str) -> list[ToolCall]:
    """`[Func(a=1, b="x"), Other()]` -> ToolCalls, via `ast` (never eval). Raises ConvertError unparsable_call."""
    body = text.strip()
    if not (body.startswith("[") and body.endswith("]")):
        raise ConvertError("unparsable_call", f"calls must be a [...] list: {body[:80]!r}")
    calls = []
    for part in split_top_level(body[1:-1]):
        m = _CALL_RE.fullmatch(part)
        if not m:
            raise ConvertError("unparsable_call", f"not a call `name(arg=value, ...)`: {part.strip()[:80]!r}")
        name, args_text = m.group(1).strip(), m.group(2)
        try:
            with warnings.catch_warnings():  # "\d" in a string literal: a warning, not our concern
                warnings.simplefilter("ignore")
                node = ast.parse(f"_f({args_text})", mode="eval").body
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            raise ConvertError(
                "unparsable_call", f"{name}(...): {exc.__class__.__name__}: {args_text[:80]!r}"
            ) from None
        assert isinstance(node, ast.Call)
        if node.args:
            raise ConvertError(
                "unparsable_call", f"{name}(...): positional arguments are not allowed, use name=value"
            )
        arguments = {}
        for kw in node.keywords:
            if kw.arg is None:
                raise ConvertError("unparsable_call", f"{name}(...): `**` unpacking is not allowed")
            arguments[kw.arg] = _literal(kw.value, f"{name}({kw.arg}=...)")
        calls.append(ToolCall(name, arguments))
    return calls


def _looks_like_calls(text: str) -> bool:
    body = text.strip()
    return body.startswith("[") and body.endswith("]") and _CALL_RE.match(body[1:]) is not None


def _tool_results(value: str, calls: list[ToolCall]) -> list[Message]:
    """A tool turn -> one tool message per result (`[{"name", "results"}]`), else the raw text as one."""
    try:
        parsed = parse_json_value(value)
    except ConvertError:
        parsed = None
    items = parsed if isinstance(parsed, list) else [parsed] if isinstance(parsed, dict) else None
    if items and all(isinstance(it, dict) and "name" in it for it in items):
        return [
            Message("tool", dumps(it.get("results", it.get("result", it))), name=str(it["name"]))
            for it in items
        ]
    return [Message("tool", value, name=calls[0].name if len(calls) == 1 else None)]


def convert(record: dict) -> list[Sample]:
    """One ToolACE dialog -> one canonical sample."""
    system = field(record, "system", str)
    conv = field(record, "conversations", list)
    found = find_literal(system, "[")
    if found is None or not isinstance(found[0], list) or not found[0]:
        raise ConvertError("empty_tools", "no JSON tool list found in 'system'")
    tools = normalize_tools(found[0])
    prose = _LEAD_IN_RE.sub("", system[: found[1]].rstrip()).strip()
    messages = [Message("system", prose)] if prose else []
    last_calls: list[ToolCall] = []
    for where, role, value in sharegpt_turns(conv, _ROLES):
        if role == "assistant" and _looks_like_calls(value):
            try:
                last_calls = parse_python_calls(value)
            except ConvertError as exc:
                raise ConvertError(exc.code, f"{where}: {exc.message}") from None
            messages.append(Message("assistant", "", last_calls))
        elif role == "tool":
            messages.extend(_tool_results(value, last_calls))
        else:
            messages.append(Message(role, value))
    return [Sample(messages, tools, record_id(record))]
