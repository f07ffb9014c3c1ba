"""The seed-003 record: `{"instruction": ..., "function_call": {"name", "arguments"}, "response": ...}`.

`function_call` is an object (arguments an object or a JSON string), a list of them (parallel), or
null (no call: `response` is then the assistant's answer - a refusal, chit-chat or a slot-filling
question). Optional extensions: `system`, `tools`/`functions` (the tool schemas) and `observation`
(the tool result, after which `response` becomes the final answer). Without an observation the
sample ends at the call and `response` is kept in `meta["response"]`. Without tools, a schema is
inferred from the call's arguments (all required, types from the values) and `meta["tools_inferred"]`
is set, because the record shape carries no schema of its own.
"""

from __future__ import annotations

from typing import Any

from fc_plugin.convert import ConvertError
from fc_plugin.convert._common import dumps, field, record_id
from fc_plugin.normalize import normalize_tools, parse_arguments, parse_json_value
from fc_plugin.sample import Message, Sample, ToolCall

NAME = "seed003"
LF_NAME = "fc_" + NAME

_JSON_TYPES = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


def detect(record: dict) -> bool:
    """`instruction` text and a `function_call` field (object, list, JSON text or null)."""
    return isinstance(record.get("instruction"), str) and "function_call" in record and "output" not in record


def _calls(raw: Any) -> list[ToolCall]:
    if raw is None or raw == "" or raw == []:
        return []
    parsed = parse_json_value(raw)
    items = parsed if isinstance(parsed, list) else [parsed]
    calls = []
    for i, item in enumerate(items):
        where = "function_call" if len(items) == 1 else f"function_call[{i}]"
        if not isinstance(item, dict):
            raise ConvertError("wrong_type", f"{where} must be an object, got {type(item).__name__}")
        name = field(item, "name", str, where=where)
        try:
            calls.append(ToolCall(name, parse_arguments(item.get("arguments", item.get("parameters")))))
        except ConvertError as exc:
            raise ConvertError(exc.code, f"{where} ({name}): {exc.message}") from None
    return calls


def infer_tools(calls: list[ToolCall]) -> list[dict[str, Any]]:
    """Minimal JSON-Schema tools implied by `calls`: every argument seen, typed from its value, required."""
    tools: dict[str, dict[str, Any]] = {}
    for call in calls:
        params = tools.setdefault(
            call.name,
            {
                "name": call.name,
                "description": "",
                "parameters": {"type": "object", "properties": {}, "required": []},
            },
        )["parameters"]
        for arg, value in call.arguments.items():
            json_type = next((t for py, t in _JSON_TYPES if isinstance(value, py)), None)
            params["properties"].setdefault(arg, {"type": json_type} if json_type else {})
            if arg not in params["required"]:
                params["required"].append(arg)
    return list(tools.values())


def convert(record: dict) -> list[Sample]:
    """One seed-003 record -> one canonical sample."""
    instruction = field(record, "instruction", str)
    system = field(record, "system", str, optional=True)
    response = field(record, "response", str, optional=True) or ""
    calls = _calls(record.get("function_call"))
    raw_tools = record.get("tools", record.get("functions"))
    tools = normalize_tools(raw_tools)
    meta: dict[str, Any] = {}
    if not tools and calls:
        tools, meta["tools_inferred"] = infer_tools(calls), True
    messages = [Message("system", system)] if system else []
    messages.append(Message("user", instruction))
    if not calls:
        if not response.strip():
            raise ConvertError("missing_field", "no function_call and no response")
        messages.append(Message("assistant", response))
    else:
        messages.append(Message("assistant", "", calls))
        observation = record.get("observation")
        if observation is not None and response.strip():
            results = observation if isinstance(observation, list) and len(calls) > 1 else [observation]
            for k, result in enumerate(results):
                name = calls[k].name if len(results) == len(calls) else None
                messages.append(Message("tool", dumps(result), name=name))
            messages.append(Message("assistant", response))
        elif response:
            meta["response"] = response
    return [Sample(messages, tools, record_id(record), meta)]
