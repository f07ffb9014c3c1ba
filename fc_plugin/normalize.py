"""Normalisation helpers shared by the source-format converters.

- `to_json_schema(params)`: tool parameter dialects -> JSON Schema (`{"type": "object", ...}`):
  xLAM/APIGen's `{"arg": {"type": "str, optional", "description", "default"}}`, Gorilla/BFCL types
  (`dict`, `float`, `tuple`, `any`, `String`, `integer`), Python type names and typing forms
  (`List[str]`, `Optional[int]`, `Dict[str, Any]`), upper-case RapidAPI types, per-property
  `"required": true` flags and a missing top-level `"type": "object"`.
- `normalize_tool(tool)`: `{"type": "function", "function": {...}}` or plain -> `{"name", "description", "parameters"}`.
- `parse_arguments(value)` / `parse_json_value(value)`: JSON, double-encoded JSON or Python literals.
- `split_thought(text)`: a leading thought (`<think>...</think>`, `<thought>...</thought>`) split off the text.
- `normalize_sample(sample)`: the canonical form writers expect (see its docstring).
"""

from __future__ import annotations

import ast
import functools
import json
import re
from collections.abc import Callable
from typing import Any

from fc_plugin.convert import ConvertError
from fc_plugin.formats import lf_messages
from fc_plugin.io import fresh_loader, json_key, loads
from fc_plugin.sample import Message, Sample, ToolCall

# Type names from every dialect we meet -> JSON Schema type (None = any type, no constraint): JSON Schema,
# Python and typing names, Gorilla/BFCL's Python, Java and JavaScript names (`dict`, `HashMap`, `Bigint`),
# xLAM's (`str, optional`), RapidAPI's upper-case ones (`STRING`, `DATE (YYYY-MM-DD)`). Matched case-insensitively;
# any other name is an error (UnknownTypeName -> invalid_tool_schema), never "any type".
_TYPE_NAMES: dict[str, str | None] = {
    "string": "string", "str": "string", "text": "string", "char": "string", "date": "string",
    "datetime": "string", "time": "string", "enum": "string",
    "integer": "integer", "int": "integer", "long": "integer", "byte": "integer", "short": "integer",
    "bigint": "integer",
    "number": "number", "float": "number", "double": "number", "decimal": "number",
    "boolean": "boolean", "bool": "boolean",
    "array": "array", "list": "array", "tuple": "array", "set": "array", "sequence": "array",
    "arraylist": "array", "queue": "array", "stack": "array",
    "object": "object", "dict": "object", "dictionary": "object", "map": "object", "mapping": "object",
    "json": "object", "hashmap": "object", "hashtable": "object",
    "geopoint": "string", "file": "string", "credentials": "string",  # RapidAPI's "GEOPOINT (latitude, longitude)"
    "null": "null", "none": "null", "nonetype": "null",
    "any": None, "object_any": None, "callable": None,
}  # fmt: skip

# Keys of a JSON Schema node that hold one sub-schema, a list of them, or a name -> schema map.
_SUB_SCHEMA = ("items", "additionalProperties", "not", "contains", "propertyNames")
_SUB_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")



class UnknownTypeName(ValueError):
    """A type name that no dialect we read defines (e.g. the misspelt `"strin"`)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def known_type_names() -> list[str]:
    """The type names `to_json_schema` reads (lower case; typing forms such as `List[str]` are built from them)."""
    return sorted(_TYPE_NAMES)


def _split_type_args(text: str) -> list[str]:
    """Split `a, b[c, d], e` on top-level commas."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def python_type_schema(type_name: str) -> tuple[dict[str, Any], bool]:
    """JSON Schema for a type written as text (`"str"`, `"List[int]"`, `"str, optional"`, `"dict"`).

    Returns `(schema, optional)`; `optional` is True for `", optional"` and `Optional[...]`.
    Raises UnknownTypeName for a name no dialect defines (`"strin"`, `"Foo[int]"`).
    """
    text = type_name.strip()
    optional = False
    low = text.lower()
    for suffix in (", optional", ",optional", " optional", "(optional)"):
        if low.endswith(suffix):
            text, optional = text[: -len(suffix)].strip(), True
            low = text.lower()
            break
    for prefix in ("typing.", "builtins."):
        if low.startswith(prefix):
            text, low = text[len(prefix) :], low[len(prefix) :]
    if " or " in low or "|" in text:
        pieces = [p for p in re.split(r"\s+or\s+|\|", text) if p.strip()]
        return _union([python_type_schema(p)[0] for p in pieces]), optional
    m = re.fullmatch(r"([A-Za-z_][\w.]*)\s*\[(.*)\]", text, re.DOTALL)
    if m:
        head, args = m.group(1).lower().rsplit(".", 1)[-1], _split_type_args(m.group(2))
        if head == "optional" and args:
            return python_type_schema(args[0])[0], True
        if head == "union":
            subs = [python_type_schema(a)[0] for a in args]
            is_optional = any(s.get("type") == "null" for s in subs)
            return _union([s for s in subs if s.get("type") != "null"] or subs), is_optional
        if head == "literal":
            values = []
            for a in args:
                try:
                    values.append(ast.literal_eval(a))
                except (ValueError, SyntaxError):
                    values.append(a)
            return {"enum": values}, optional
        if head not in _TYPE_NAMES:
            raise UnknownTypeName(text)
        base = _TYPE_NAMES[head]
        if base == "array":
            schema: dict[str, Any] = {"type": "array"}
            if head == "tuple" and len(args) > 1 and args[-1] != "...":  # Tuple[int, str]: by position
                prefix = [python_type_schema(a)[0] for a in args]
                schema.update(prefixItems=prefix, items=False, minItems=len(args))
            elif args:  # List[int], Tuple[int, ...]: every item
                schema["items"] = python_type_schema(args[0])[0]
            return schema, optional
        if base == "object":
            schema = {"type": "object"}
            if len(args) == 2:
                value = python_type_schema(args[1])[0]
                if value:
                    schema["additionalProperties"] = value
            return schema, optional
        return ({"type": base} if base else {}), optional
    low = re.sub(r"\s*\(.*\)$", "", low)  # RapidAPI: "DATE (YYYY-MM-DD)", "TIME (24-hour HH:MM)"
    for name in (low, low.rsplit(".", 1)[-1]):  # "java.lang.String"
        if name in _TYPE_NAMES:
            base = _TYPE_NAMES[name]
            return ({"type": base} if base else {}), optional
    raise UnknownTypeName(text)


def _union(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    if any(not s for s in schemas):
        return {}
    if all(set(s) == {"type"} and isinstance(s["type"], str) for s in schemas):
        types = list(dict.fromkeys(s["type"] for s in schemas))
        return {"type": types[0] if len(types) == 1 else types}
    return {"anyOf": schemas}


def _normalize_type(value: Any) -> tuple[Any, bool]:
    """A `type` field value -> (JSON Schema type or None for 'any', optional flag)."""
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            return value, False  # not a list of type names: left for validation (invalid_tool_schema)
        types = [t for t in (_normalize_type(v)[0] for v in value) if t is not None]
        if len(types) < len(value):
            return None, False  # one member is 'any' -> any
        flat = list(dict.fromkeys(t for v in types for t in (v if isinstance(v, list) else [v])))
        return (flat[0] if len(flat) == 1 else flat), False
    if isinstance(value, str):
        simple = _TYPE_NAMES.get(value, "?")  # fast path: a plain lower-case type name
        if simple != "?":
            return simple, False
        schema, optional = python_type_schema(value)
        return schema.get("type"), optional
    return value, False


def _normalize_node(node: Any, path: str = "parameters") -> tuple[Any, bool]:
    """Normalise one schema node recursively. Returns (node, optional) - optional from the dialect.

    Raises ConvertError("invalid_tool_schema") naming the path of a type name no dialect defines.
    """
    try:
        return _normalize_node_at(node, path)
    except UnknownTypeName as exc:
        known = ", ".join(known_type_names())
        raise ConvertError(
            "invalid_tool_schema", f"unknown type name {exc.name!r} at {path} (known, in any case: {known})"
        ) from None


def _normalize_node_at(node: Any, path: str) -> tuple[Any, bool]:
    if isinstance(node, str):  # a bare type name used as a schema
        return python_type_schema(node)
    if not isinstance(node, dict):
        return node, False
    out: dict[str, Any] = {}
    optional = bool(node.get("optional") is True)
    for key, value in node.items():
        if key == "type":
            if isinstance(value, str) and ("[" in value or "|" in value or " or " in value.lower()):
                schema, opt = python_type_schema(value)  # typing form: may bring items etc.
                optional = optional or opt
                for k, v in schema.items():
                    out.setdefault(k, v)
                continue
            new_type, opt = _normalize_type(value)
            optional = optional or opt
            if new_type is not None:
                out["type"] = new_type
        elif key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _normalize_node(sub, f"{path}.{key}.{name}")[0] for name, sub in value.items()}
        elif key in _SUB_SCHEMA and isinstance(value, dict | str):
            out[key] = _normalize_node(value, f"{path}.{key}")[0]
        elif key == "items" and isinstance(value, list):  # tuple-style items (draft 4)
            out["prefixItems"] = [_normalize_node(v, f"{path}.items[{i}]")[0] for i, v in enumerate(value)]
        elif key in _SUB_SCHEMA_LISTS and isinstance(value, list):
            out[key] = [_normalize_node(v, f"{path}.{key}[{i}]")[0] for i, v in enumerate(value)]
        elif key == "optional" and isinstance(value, bool):
            continue
        elif key == "required" and isinstance(value, bool):
            continue  # per-property flag (Swagger 2 / RapidAPI); lifted into the parent below
        else:
            out[key] = value
    props = out.get("properties")
    if isinstance(props, dict):
        out.setdefault("type", "object")
        flagged = [
            n for n, sub in node["properties"].items() if isinstance(sub, dict) and sub.get("required") is True
        ]
        if flagged and not isinstance(out.get("required"), list):
            out["required"] = flagged
        elif flagged:
            out["required"] = [*out["required"], *(n for n in flagged if n not in out["required"])]
    if out.get("type") == "number" and isinstance(out.get("default"), int) and "float" in str(node.get("type")):
        out["default"] = float(out["default"])
    return out, optional


def _is_flat_param_map(params: dict[str, Any]) -> bool:
    """xLAM-style `{"arg": {"type": ..., "description": ...}}` rather than a JSON Schema object.

    Every value is an argument spec (a dict): JSON Schema keywords such as `"type": "object"` or
    `"required": [...]` are not dicts, and a real `properties` map holds specs, not a `type` string.
    Arguments named `type` or `properties` (xLAM has both) are recognised as arguments.
    """
    if not params or not all(isinstance(v, dict) for v in params.values()):
        return False
    props = params.get("properties")
    if props is not None and not isinstance(props.get("type"), str | list) and "description" not in props:
        return False  # a properties map: {"name": {...}, ...}
    return True


def to_json_schema(params: Any) -> dict[str, Any]:
    """Rewrite a tool's parameters (any dialect above; dict or JSON string) into a JSON Schema object.

    Raises ConvertError("invalid_tool_schema" / "invalid_json") for parameters it cannot read.
    """
    try:
        return _to_json_schema(params)
    except (TypeError, ValueError, AttributeError, RecursionError) as exc:
        if isinstance(exc, ConvertError):
            raise
        raise ConvertError("invalid_tool_schema", f"unreadable tool parameters ({type(exc).__name__}: {exc})") from None


def _to_json_schema(params: Any) -> dict[str, Any]:
    if params is None or params == "" or params == []:
        return {"type": "object", "properties": {}}
    if isinstance(params, str):
        params = parse_json_value(params)
    if not isinstance(params, dict):
        raise ConvertError("invalid_tool_schema", f"tool parameters must be an object, got {type(params).__name__}")
    if _is_flat_param_map(params):
        properties: dict[str, Any] = {}
        required: list[str] = []
        for name, spec in params.items():
            schema, optional = _normalize_node(spec, f"parameters.{name}")
            explicit = spec.get("required")
            if explicit is True or (explicit is None and not optional and "default" not in spec):
                required.append(name)
            properties[name] = schema
        out: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            out["required"] = required
        return out
    schema, _ = _normalize_node(params)
    kind = schema.get("type")
    # arguments are always an object (["object", "null"] holds nothing more a call could use); a schema of
    # another type is left for validation to report (invalid_tool_schema), never rewritten into an object
    if kind in (None, "object") or (isinstance(kind, list) and "object" in kind):
        schema = {"type": "object", "properties": {}, **{k: v for k, v in schema.items() if k != "type"}}
    return schema


def normalize_tool(tool: Any) -> dict[str, Any]:
    """One tool -> `{"name", "description", "parameters"}` (accepts the OpenAI wrapper, plain or JSON text)."""
    if isinstance(tool, str):
        tool = parse_json_value(tool)
    if not isinstance(tool, dict):
        raise ConvertError("invalid_tool_schema", f"a tool must be an object, got {type(tool).__name__}")
    if isinstance(tool.get("function"), dict) and ("type" in tool or "name" not in tool):
        tool = tool["function"]
    name = tool.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConvertError("invalid_tool_schema", f"tool has no name: {json.dumps(tool, ensure_ascii=False)[:120]}")
    description = tool.get("description")
    if description is None:
        description = ""
    elif not isinstance(description, str):
        description = json.dumps(description, ensure_ascii=False)
    params = tool.get("parameters", tool.get("arguments", tool.get("input_schema")))
    schema = to_json_schema(params)
    lifted = tool.get("required")  # xLAM rows (and LLaMA-Factory's v1 demo) put `required` beside `parameters`
    if lifted is not None and lifted != []:
        if not isinstance(lifted, list) or not all(isinstance(r, str) for r in lifted):
            message = f"{name}: `required` beside `parameters` must list names, got {lifted!r}"
            raise ConvertError("invalid_tool_schema", message)
        inner = schema.get("required")
        if inner is None:
            schema = {**schema, "required": lifted}
        elif isinstance(inner, list):  # both: every name either lists is required (none dropped)
            schema = {**schema, "required": [*inner, *(r for r in dict.fromkeys(lifted) if r not in inner)]}
    return {"name": name.strip(), "description": description, "parameters": schema}


def normalize_tools(tools: Any) -> list[dict[str, Any]]:
    """A tools field (list, single tool object or JSON text; None/"" = no tools) -> normalised tools.

    Results are cached by the field's JSON text (datasets repeat the same tools across many
    records); every call returns fresh objects, so callers may modify them.
    """
    if tools is None or tools == "":
        return []
    if isinstance(tools, str):
        return _normalized_tools(tools, True)()
    try:
        key = json_key(tools)
    except (TypeError, ValueError):  # not JSON-able (e.g. a literal's set): no caching
        return _normalize_tools_value(tools)
    return _normalized_tools(key, False)()


@functools.lru_cache(maxsize=4096)
def _normalized_tools(text: str, lenient: bool) -> Callable[[], list[dict[str, Any]]]:
    """Fresh normalised tools of a tools JSON text on each call; `lenient` parses Python literals and
    double encoding too."""
    return fresh_loader(json_key(_normalize_tools_value(parse_json_value(text) if lenient else loads(text))))


def _normalize_tools_value(tools: Any) -> list[dict[str, Any]]:
    if isinstance(tools, dict):
        tools = [tools]
    if not isinstance(tools, list):
        raise ConvertError("invalid_tool_schema", f"tools must be a list, got {type(tools).__name__}")
    return [normalize_tool(t) for t in tools]


def _jsonable(value: Any) -> Any:
    """Python literal values -> JSON values (tuples/sets -> lists, non-str keys -> str)."""
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_jsonable(v) for v in value), key=repr)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, complex):
        return str(value)
    return value


def parse_json_value(value: Any, *, max_depth: int = 3) -> Any:
    """Parse text that holds JSON, double-encoded JSON or a Python literal; non-strings pass through.

    Raises ConvertError("invalid_json", ...) when the text is none of those.
    """
    current = value
    for _ in range(max_depth):
        if not isinstance(current, str):
            return _jsonable(current)
        text = current.strip()
        if not text:
            raise ConvertError("invalid_json", "empty string where JSON was expected")
        from_json = True
        try:
            parsed = loads(text)
        except (ValueError, RecursionError):
            from_json = False
            try:
                parsed = ast.literal_eval(text)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                raise ConvertError("invalid_json", f"not JSON nor a Python literal: {_clip(text)}") from None
        if isinstance(parsed, str) and parsed.strip()[:1] in "{[\"'":
            current = parsed  # double-encoded: parse again
            continue
        return parsed if from_json else _jsonable(parsed)
    return _jsonable(current)


def parse_arguments(value: Any) -> dict[str, Any]:
    """Call arguments as a JSON object: dict, JSON string, double-encoded JSON or a Python literal.

    None and "" give {}. Raises ConvertError("invalid_json", ...) for anything else.
    """
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return {}
        if text[0] == "{":  # the common case: what parse_json_value does first, without its other steps
            try:
                parsed = loads(text)
            except (ValueError, RecursionError):
                parsed = None
            if type(parsed) is dict:
                return parsed
    elif value is None:
        return {}
    parsed = parse_json_value(value)
    if not isinstance(parsed, dict):
        raise ConvertError(
            "invalid_json", f"call arguments must be a JSON object, got {type(parsed).__name__}: {_clip(value)}"
        )
    return parsed


def split_thought(text: str) -> tuple[str | None, str]:
    """Split a leading thought (`<think>...</think>` or `<thought>...</thought>`) off `text`: (thought or None, rest)."""
    if not isinstance(text, str):
        return None, text
    thought, rest = lf_messages.split_thought(text)
    return thought or None, rest


def _clip(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."




def normalize_sample(sample: Sample) -> Sample:
    """The canonical form every writer expects (a new Sample, or `sample` itself when it already is
    canonical; bad field types are left alone for validation to report):

    - leading system messages joined into one;
    - consecutive assistant turns that only call tools merged into one parallel call;
    - text beside calls folded into the turn's thought (ShareGPT has no slot for it);
    - tool results named after their call, by position, when the name is missing;
    - tools declared twice identically kept once.
    """
    try:
        return _normalize_sample(sample) if _needs_normalizing(sample) else sample
    except (AttributeError, TypeError):  # wrong types somewhere: leave it to validation
        return sample


def _needs_normalizing(sample: Sample) -> bool:
    """Cheap scan: would `_normalize_sample` change anything? (Most converted samples are canonical.)"""
    messages = sample.messages
    if len(messages) > 1 and messages[0].role == "system" and messages[1].role == "system":
        return True
    prev_calls = False
    pending_results = 0
    for m in messages:
        if m.role == "assistant" and m.tool_calls:
            if m.content or (prev_calls and not m.thought):
                return True
            prev_calls, pending_results = True, len(m.tool_calls)
            continue
        if m.role == "tool" and m.name is None and pending_results > 0:
            return True
        pending_results -= m.role == "tool"
        prev_calls = False
    names = [t.get("name") if isinstance(t, dict) else None for t in sample.tools]
    return len(set(names)) < len(names)


def _normalize_sample(sample: Sample) -> Sample:
    messages: list[Message] = []
    systems = [m.content for m in sample.messages if m.role == "system"]
    rest = sample.messages
    lead = 0
    while lead < len(rest) and rest[lead].role == "system":
        lead += 1
    if lead:
        messages.append(Message("system", "\n".join(c for c in systems[:lead] if c)))
    last_calls: list[ToolCall] = []
    result_pos = 0
    for m in rest[lead:]:
        m = Message(m.role, m.content, list(m.tool_calls), m.thought, m.name)
        if m.role == "assistant" and m.tool_calls:
            if m.content:
                m.thought = "\n".join(t for t in (m.thought, m.content) if t)
                m.content = ""
            prev = messages[-1] if messages else None
            if prev is not None and prev.role == "assistant" and prev.tool_calls and not m.thought:
                prev.tool_calls.extend(m.tool_calls)  # same turn: one parallel call
                last_calls = prev.tool_calls
                continue
            last_calls, result_pos = m.tool_calls, 0
        elif m.role == "tool":
            if m.name is None and result_pos < len(last_calls):
                m.name = last_calls[result_pos].name
            result_pos += 1
        messages.append(m)
    tools: list[Any] = []
    seen: set[str] = set()
    for tool in sample.tools:
        key = json.dumps(tool, sort_keys=True, ensure_ascii=False, default=repr)
        if key not in seen:
            seen.add(key)
            tools.append(tool)
    return Sample(messages, tools, sample.id, dict(sample.meta))


__all__ = [
    "normalize_sample",
    "normalize_tool",
    "normalize_tools",
    "parse_arguments",
    "parse_json_value",
    "python_type_schema",
    "split_thought",
    "to_json_schema",
]
