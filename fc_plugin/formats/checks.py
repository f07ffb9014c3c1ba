"""Checks a template applies before rendering a sample: tool schemas and called function names.

Errors are ValueErrors naming the template, the sample and the reason.
"""

from __future__ import annotations

import json
from typing import Any


def function_of(tool: Any) -> Any:
    """The function dict of a tool given as `{"name", ...}` or `{"type": "function", "function": {...}}`."""
    if isinstance(tool, dict) and isinstance(tool.get("function"), dict):
        return tool["function"]
    return tool


def check_tools(tools: list[Any], where: str, parsed_json: bool = False) -> list[str]:
    """Validate tool definitions (names, JSON Schema parameters); return the function names.

    The schema rules are fc_plugin.validate's (one place for validation): a valid JSON Schema of type object.
    `parsed_json`: the tools were just parsed from JSON text, so their values need no check that they are JSON.
    """
    from fc_plugin.validate import compiled_schema, schema_problem

    if not isinstance(tools, list):
        raise ValueError(f"{where}: tools must be a list of function definitions, got {type(tools).__name__}")
    names = []
    for index, tool in enumerate(tools):
        function = function_of(tool)
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{where}: tool #{index} has no function name: {json.dumps(tool, ensure_ascii=False)[:120]}")
        parameters = function.get("parameters", {"type": "object"})
        if not isinstance(parameters, dict):
            raise ValueError(f"{where}: tool {name!r}: parameters must be a JSON Schema object, "
                             f"got {type(parameters).__name__}")
        try:
            if parsed_json:
                problem = schema_problem(parameters)
            else:
                problem, _ = compiled_schema(json.dumps(parameters, sort_keys=True, ensure_ascii=False))
        except (TypeError, ValueError) as exc:
            problem = f"parameters are not JSON: {exc}"
        if problem:
            raise ValueError(f"{where}: tool {name!r}: {problem}")
        names.append(name)
    return names


def check_calls(calls: list[dict[str, Any]], tool_names: list[str], where: str) -> None:
    """Every call must name a function the sample's tools define and carry object arguments."""
    for call in calls:
        name = call.get("name") if isinstance(call, dict) else None
        if not isinstance(name, str) or not name:
            raise ValueError(f"{where}: a call has no function name: {json.dumps(call, ensure_ascii=False)[:120]}")
        if name not in tool_names:
            defined = ", ".join(tool_names) if tool_names else "none"
            raise ValueError(f"{where}: call to function {name!r}, which the sample's tools do not define "
                             f"(tools: {defined})")
        if not isinstance(call.get("arguments", {}), dict):
            raise ValueError(f"{where}: arguments of the call to {name!r} must be a JSON object")
