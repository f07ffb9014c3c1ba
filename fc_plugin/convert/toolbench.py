"""ToolBench / ToolLLaMA training data: `{"id", "conversations": [{"from", "value"}]}`.

Roles system/user/assistant/function. The system prompt is the AutoGPT ReAct boilerplate ending in
`Specifically, you have access to the following APIs: [...]` (a Python-literal or JSON list, with a
`Finish` pseudo-tool); it is replaced by the tools themselves. Assistant turns are
`Thought: ...\\nAction: name\\nAction Input: {...}`; each becomes a call with its thought, and the
final `Finish` with `return_type: give_answer` becomes the answer text. A trajectory that ends in
`give_up_and_restart` is rejected (`gave_up`): it teaches nothing worth training on.

DFS trajectories put a user turn right after a function result when the search backtracks ("This is
not the first time you try this task, all previous trails failed..."). LLaMA-Factory's ShareGPT has
no place for it (a result is followed by the assistant), so that text is joined to the result it
follows, after JOINED_USER_TEXT, and the sample's `meta.rewrites` says where: the model still reads
it, at the same point of the conversation, and nothing is changed silently.
"""

from __future__ import annotations

import re

from fc_plugin.convert import ConvertError
from fc_plugin.convert._common import field, find_literal, record_id, sharegpt_turns
from fc_plugin.normalize import normalize_tools, parse_arguments
from fc_plugin.sample import Message, Sample, ToolCall

NAME = "toolbench"
LF_NAME = "fc_" + NAME

_ROLES = {"system": "system", "user": "user", "assistant": "assistant", "function": "tool"}
_STEP_RE = re.compile(r"^\s*(?:Thought:\s*(.*?)\s*)?Action:\s*(.*?)\s*\nAction Input:\s*(.*?)\s*$", re.DOTALL)
_APIS_MARKER = "you have access to the following APIs"
_FINISH = "Finish"
JOINED_USER_TEXT = "\n\nUser: "  # between a function result and the user text that followed it


def detect(record: dict) -> bool:
    """`conversations` with roles only system/user/assistant/function and ReAct `Action:` steps."""
    conv = record.get("conversations")
    if not isinstance(conv, list) or not conv or "system" in record or "tools" in record:
        return False
    if not all(isinstance(t, dict) and t.get("from") in _ROLES for t in conv):
        return False
    return any(t.get("from") == "function" or "Action Input:" in str(t.get("value", "")) for t in conv)


def _tools(system: str) -> list[dict]:
    at = system.find(_APIS_MARKER)
    found = find_literal(system, "[", at if at != -1 else 0)
    if found is None or not isinstance(found[0], list):
        raise ConvertError("empty_tools", "no API list found in the system prompt")
    api_list = []
    for api in found[0]:
        if isinstance(api, dict):
            if api.get("name") == _FINISH:
                continue
            api = {**api, "parameters": _drop_optional(api.get("parameters"))}
        api_list.append(api)
    if not api_list:
        raise ConvertError("empty_tools", "the API list holds only the Finish pseudo-tool")
    return normalize_tools(api_list)


def _drop_optional(params: object) -> object:
    """ToolBench schemas list optional parameter names under a non-standard `optional` key: drop it."""
    if isinstance(params, dict) and isinstance(params.get("optional"), list):
        return {k: v for k, v in params.items() if k != "optional"}
    return params


def convert(record: dict) -> list[Sample]:
    """One ToolLLaMA trajectory -> one canonical sample."""
    conv = field(record, "conversations", list)
    tools: list[dict] = []
    messages: list[Message] = []
    last_calls: list[ToolCall] = []
    rewrites: list[str] = []
    for where, role, value in sharegpt_turns(conv, _ROLES):
        if role == "system":
            tools = _tools(value)
        elif role == "user":
            text = re.sub(r"\s*Begin!\s*$", "", value).strip()
            if messages and messages[-1].role == "tool":  # DFS: "This is not the first time you try this task..."
                last = messages[-1]
                messages[-1] = Message("tool", f"{last.content}{JOINED_USER_TEXT}{text}", name=last.name)
                rewrites.append(f"{where}: user text after a tool result, joined to that result")
                continue
            messages.append(Message("user", text))
        elif role == "tool":
            messages.append(Message("tool", value, name=last_calls[0].name if len(last_calls) == 1 else None))
        else:
            m = _STEP_RE.match(value)
            if not m:
                messages.append(Message("assistant", value.strip()))
                continue
            thought, action = m.group(1) or None, m.group(2).strip()
            try:
                arguments = parse_arguments(m.group(3))
            except ConvertError as exc:
                raise ConvertError(exc.code, f"{where} Action Input of {action}: {exc.message}") from None
            if action == _FINISH:
                if arguments.get("return_type") != "give_answer":
                    raise ConvertError(
                        "gave_up", f"{where}: trajectory ends in Finish({arguments.get('return_type')!r})"
                    )
                answer = arguments.get("final_answer")
                if not isinstance(answer, str) or not answer.strip():
                    raise ConvertError("missing_field", f"{where}: Finish(give_answer) has no final_answer")
                messages.append(Message("assistant", answer.strip(), thought=thought))
            else:
                last_calls = [ToolCall(action, arguments)]
                messages.append(Message("assistant", "", last_calls, thought))
    if not tools:
        raise ConvertError("empty_tools", "no system turn with the API list")
    return [Sample(messages, tools, record_id(record), {"rewrites": rewrites} if rewrites else {})]
