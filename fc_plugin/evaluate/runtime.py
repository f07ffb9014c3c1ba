"""Tool runtime: execute parsed calls against registered Python callables, safely.

Arguments are validated (JSON Schema of the tool) before anything runs; an unknown function,
invalid arguments or an exception inside the tool never escapes: the result carries a fallback
message (a JSON object with `error`, `message`, `hint`) meant to be fed back to the model as the
tool result, so the conversation can recover (the "parameter check + fallback" the seeds ask for).

Execution-based scoring (`execution_match`) runs the expected and the predicted calls and compares
what they return, order-free, so two calls that differ only in ways the tool ignores still match.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fc_plugin.sample import ToolCall

_JSON_TYPES = {int: "integer", float: "number", str: "string", bool: "boolean", list: "array", dict: "object"}


@dataclass
class ToolResult:
    name: str
    ok: bool
    output: Any = None
    error: str | None = None  # unknown_function | invalid_arguments | tool_error
    message: str = ""  # what goes back to the model as the tool result

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "output": self.output,
            "error": self.error,
            "message": self.message,
        }


def fallback_message(error: str, message: str, hint: str) -> str:
    """The tool result returned instead of a crash: JSON the model can read and recover from."""
    return json.dumps({"error": error, "message": message, "hint": hint}, ensure_ascii=False)


def schema_from_signature(fn: Callable[..., Any], name: str | None = None) -> dict[str, Any]:
    """A function dict `{"name", "description", "parameters"}` from a Python signature and docstring."""
    props: dict[str, Any] = {}
    required = []
    try:
        signature = inspect.signature(
            fn, eval_str=True
        )  # string annotations (`from __future__ import annotations`)
    except (NameError, TypeError, SyntaxError):
        signature = inspect.signature(fn)
    by_name = {t.__name__: j for t, j in _JSON_TYPES.items()}
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = param.annotation
        json_type = by_name.get(annotation) if isinstance(annotation, str) else _JSON_TYPES.get(annotation)
        props[param.name] = {"type": json_type} if json_type else {}
        if param.default is param.empty:
            required.append(param.name)
    return {
        "name": name or fn.__name__,
        "description": inspect.getdoc(fn) or "",
        "parameters": {"type": "object", "properties": props, "required": required},
    }


class ToolRuntime:
    """Registered Python callables, each with the JSON Schema its arguments are checked against."""

    def __init__(self) -> None:
        self._functions: dict[str, Callable[..., Any]] = {}
        self._schemas: dict[str, dict[str, Any]] = {}

    def register(
        self,
        fn: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        schema: dict[str, Any] | None = None,
    ) -> Any:
        """Register `fn` (usable as `@runtime.register` or `@runtime.register(name=..., schema=...)`).

        `schema` is a tool dict (`{"name", "description", "parameters"}`) or a bare parameters
        schema; without it one is derived from the signature.
        """

        def add(f: Callable[..., Any]) -> Callable[..., Any]:
            tool_name = name or (schema or {}).get("name") or f.__name__
            if schema is None:
                tool = schema_from_signature(f, tool_name)
            elif "parameters" in schema:
                tool = {**schema, "name": tool_name}
            else:
                tool = {"name": tool_name, "description": inspect.getdoc(f) or "", "parameters": schema}
            self._functions[tool_name] = f
            self._schemas[tool_name] = tool
            return f

        return add(fn) if fn is not None else add

    @property
    def names(self) -> list[str]:
        return sorted(self._functions)

    def schema(self, name: str) -> dict[str, Any] | None:
        return self._schemas.get(name)

    def execute(self, call: ToolCall, tools: list[dict[str, Any]] | None = None) -> ToolResult:
        """Run one call. `tools` (the sample's tool list) overrides registered schemas by name."""
        fn = self._functions.get(call.name)
        if fn is None:
            return ToolResult(
                call.name,
                False,
                error="unknown_function",
                message=fallback_message(
                    "unknown_function",
                    f"there is no tool named {call.name!r}",
                    f"call one of: {', '.join(self.names) or '(none)'}, or answer without a tool",
                ),
            )
        tool = next((t for t in tools or [] if isinstance(t, dict) and t.get("name") == call.name), None)
        tool = tool or self._schemas[call.name]
        problems = argument_problems(call.arguments, tool.get("parameters") or {})
        if problems:
            return ToolResult(
                call.name,
                False,
                error="invalid_arguments",
                message=fallback_message(
                    "invalid_arguments",
                    "; ".join(problems),
                    "fix the arguments to match the tool's parameters, or ask the user for missing values",
                ),
            )
        try:
            output = fn(**call.arguments)
        except Exception as exc:  # a failing tool must not end the evaluation
            return ToolResult(
                call.name,
                False,
                error="tool_error",
                message=fallback_message(
                    "tool_error", f"{type(exc).__name__}: {exc}", "try again or tell the user"
                ),
            )
        text = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False, default=str)
        return ToolResult(call.name, True, output, None, text)


def argument_problems(arguments: dict[str, Any], parameters: dict[str, Any]) -> list[str]:
    """JSON Schema errors of `arguments` against a tool's `parameters` (empty list = valid)."""
    import jsonschema

    if not isinstance(arguments, dict):
        return [f"arguments must be an object, got {type(arguments).__name__}"]
    schema = dict(parameters) if isinstance(parameters, dict) else {}
    schema.setdefault("type", "object")
    try:
        validator = jsonschema.Draft202012Validator(schema)
        errors = sorted(validator.iter_errors(arguments), key=lambda e: list(e.absolute_path))
    except jsonschema.exceptions.SchemaError as exc:
        return [f"the tool's parameter schema is invalid: {exc.message}"]
    out = []
    for error in errors:
        where = ".".join(str(p) for p in error.absolute_path)
        out.append(f"{where}: {error.message}" if where else error.message)
    props = schema.get("properties") or {}
    if schema.get("additionalProperties") is None and isinstance(props, dict):
        out += [f"unknown argument {k!r}" for k in arguments if k not in props]
    return out


def count_matching(want: list[ToolResult], got: list[ToolResult]) -> int:
    """How many `want` results have an equal result (same tool, equal output) in `got`, each used once."""
    from fc_plugin.evaluate.scorer import values_equal

    remaining = list(got)
    matched = 0
    for w in want:
        hit = next(
            (i for i, g in enumerate(remaining) if g.name == w.name and values_equal(g.output, w.output)),
            None,
        )
        if hit is not None:
            remaining.pop(hit)
            matched += 1
    return matched


def execution_match(
    runtime: ToolRuntime, expected: list[ToolCall], predicted: list[ToolCall], tools: list[dict[str, Any]]
) -> dict[str, Any]:
    """Run expected and predicted calls; they match when their results are equal as multisets."""
    want = [runtime.execute(c, tools) for c in expected]
    got = [runtime.execute(c, tools) for c in predicted]
    if any(not r.ok for r in want):
        return {"execution_match": None, "execution_error": "an expected call failed to execute"}
    matched = count_matching(want, [r for r in got if r.ok])
    ok = matched == len(want) and len(got) == len(want) and all(r.ok for r in got)
    return {"execution_match": ok, "executed": [r.to_dict() for r in got]}


def load_runtime(spec: str) -> ToolRuntime:
    """A runtime from a module (`pkg.mod` or `path/to/tools.py`): its `RUNTIME`/`runtime`
    ToolRuntime if it has one, else every public function defined in it, registered by name."""
    path = Path(spec)
    if spec.endswith(".py") or path.exists():
        if not path.exists():
            raise OSError(f"tools module {spec}: no such file")
        module_name = f"fc_plugin_tools_{abs(hash(str(path.resolve())))}"
        loader_spec = importlib.util.spec_from_file_location(module_name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise ValueError(f"tools module {spec}: cannot be imported")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[module_name] = module
        loader_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(spec)
        except ImportError as exc:
            raise ValueError(f"tools module {spec}: {exc}") from exc
    for attr in ("RUNTIME", "runtime"):
        if isinstance(getattr(module, attr, None), ToolRuntime):
            return getattr(module, attr)
    runtime = ToolRuntime()
    for name, obj in vars(module).items():
        if inspect.isfunction(obj) and obj.__module__ == module.__name__ and not name.startswith("_"):
            runtime.register(obj)
    if not runtime.names:
        raise ValueError(f"tools module {spec}: defines no public functions and no RUNTIME")
    return runtime
