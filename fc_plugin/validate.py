"""Validation of canonical samples, APIGen-style: one reason code per failure.

`validate_sample(sample)` returns a list of `Problem(code, message)`; empty means valid. Checks:
field types, roles and the role order LLaMA-Factory accepts (so nothing is silently dropped at
training time), tool schemas (valid JSON Schema objects, unique names), each call (function exists,
argument names known, required arguments present, values match types and enums via jsonschema)
and, given a tokenizer and `cutoff_len`, the token length - flagging samples whose call would be
cut mid-JSON. With a template name the length is measured on LLaMA-Factory's own rendering.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from fc_plugin.io import dumps
from fc_plugin.sample import Message, Sample, ToolCall

ROLES = ("system", "user", "assistant", "tool")

# Every reason code validation (and conversion) can give, with what it means.
CODES: dict[str, str] = {
    "not_an_object": "the record is not a JSON object",
    "invalid_utf8": "the record's bytes are not valid UTF-8",
    "invalid_unicode": "a \\udXXX escape with no pair: text that cannot be written as UTF-8",
    "truncated_record": "the record (or file) ends in the middle of the JSON",
    "invalid_json": "JSON that does not parse, or call arguments that are not a JSON object",
    "record_too_large": "the record is bigger than the size limit",
    "missing_field": "a field the source format requires is missing",
    "wrong_type": "a field has the wrong type (e.g. content not a string)",
    "unknown_role": "a message role other than system/user/assistant/tool",
    "empty_conversation": "no messages, or no assistant turn",
    "empty_message": "a user or assistant turn with no content and no call",
    "bad_role_order": "role order LLaMA-Factory would drop (user first, alternating, ending on the assistant)",
    "orphan_tool_result": "a tool result that does not follow a call",
    "missing_tool_result": "a call followed by a user turn instead of its results",
    "empty_tools": "a call in a sample that declares no tools",
    "invalid_tool_schema": "a tool that is not a valid JSON Schema function description",
    "duplicate_tool": "two tools with the same name",
    "hallucinated_function": "a call to a function not among the sample's tools",
    "unknown_argument": "an argument name not in the function's schema",
    "missing_required": "a required argument is missing",
    "type_mismatch": "an argument value has the wrong type",
    "invalid_enum": "an argument value outside the schema's enum/const",
    "schema_violation": "an argument value breaks another schema rule (minimum, pattern, ...)",
    "too_long": "the sample is longer than cutoff_len tokens",
    "truncated_call": "cutoff_len would cut a call in the middle of its JSON",
    "template_error": "the chat template cannot render the sample",
    "duplicate": "the same sample (conversations, system, tools) appeared earlier",
    "convert_error": "the source-format converter failed on the record",
    # format-specific reasons, raised by one converter each
    "unparsable_call": "a call written as text (<functioncall>, <tool_call>, [f(x=1)], ...) that does not parse",
    "invalid_sharegpt": "a ShareGPT row that cannot be read back",
    "missing_answer": "BFCL: a question with no possible answer (pass its possible_answer file)",
    "unsupported": "BFCL: a multi-turn entry (not supported)",
    "gave_up": "ToolBench: a trajectory that ends in give_up_and_restart",
}


@dataclass(frozen=True)
class Problem:
    """One reason a sample is invalid: a short snake_case `code` and a human `message`."""

    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def _clip(value: Any, limit: int = 100) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= limit else text[:limit] + "..."


def utf8_or_problem(text: str) -> tuple[bytes, list[Problem]]:
    """(`text` as UTF-8, []) or (b"", [invalid_unicode]) when it holds a lone surrogate, which
    JSON escapes such as `"\\ud800"` produce and no UTF-8 file (nor LLaMA-Factory's cache) can hold."""
    try:
        return text.encode("utf-8"), []
    except UnicodeEncodeError as exc:
        around = text[max(0, exc.start - 30) : exc.start + 30].encode("utf-8", "backslashreplace").decode("ascii", "replace")
        return b"", [Problem("invalid_unicode", f"lone surrogate at character {exc.start}: ...{around}...")]


# -- structure ----------------------------------------------------------------------------------
def _check_structure(sample: Any) -> list[Problem]:
    if not isinstance(sample, Sample):
        return [Problem("wrong_type", f"expected a Sample, got {type(sample).__name__}")]
    if not isinstance(sample.messages, list):
        return [Problem("wrong_type", f"messages must be a list, got {type(sample.messages).__name__}")]
    if not isinstance(sample.tools, list):
        return [Problem("invalid_tool_schema", f"tools must be a list, got {type(sample.tools).__name__}")]
    problems = []
    for i, m in enumerate(sample.messages):
        if (type(m) is Message and m.role in ROLES and type(m.content) is str and type(m.tool_calls) is list
                and not m.tool_calls and (m.thought is None or type(m.thought) is str)
                and (m.name is None or type(m.name) is str)):
            continue  # the common message without calls: every check below passes
        if not isinstance(m, Message):
            problems.append(Problem("wrong_type", f"message {i} is a {type(m).__name__}, not a Message"))
            continue
        if m.role not in ROLES:
            problems.append(Problem("unknown_role", f"message {i} has role {_clip(m.role)}; expected one of {ROLES}"))
        if not isinstance(m.content, str):
            problems.append(Problem("wrong_type", f"message {i} ({m.role}) content is a {type(m.content).__name__}"))
        if m.thought is not None and not isinstance(m.thought, str):
            problems.append(Problem("wrong_type", f"message {i} thought is a {type(m.thought).__name__}"))
        if m.name is not None and not isinstance(m.name, str):
            problems.append(Problem("wrong_type", f"message {i} name is a {type(m.name).__name__}"))
        if not isinstance(m.tool_calls, list):
            problems.append(Problem("wrong_type", f"message {i} tool_calls is a {type(m.tool_calls).__name__}"))
            continue
        if m.tool_calls and m.role != "assistant":
            problems.append(Problem("bad_role_order", f"message {i} ({m.role}) carries tool calls"))
        for j, c in enumerate(m.tool_calls):
            if not isinstance(c, ToolCall):
                problems.append(Problem("wrong_type", f"message {i} call {j} is a {type(c).__name__}"))
            elif not isinstance(c.name, str) or not c.name:
                problems.append(Problem("hallucinated_function", f"message {i} call {j} has no function name"))
            elif not isinstance(c.arguments, dict):
                problems.append(
                    Problem("invalid_json", f"{c.name}: arguments must be a JSON object, got {_clip(c.arguments)}")
                )
    return problems


def _check_role_order(messages: list[Message]) -> list[Problem]:
    """The turn structure LLaMA-Factory's ShareGPT loader accepts, after tool results are merged."""
    if not any(m.role == "assistant" for m in messages):
        return [Problem("empty_conversation", "no assistant turn to learn from")]
    slots: list[tuple[str, int, Message]] = []  # (kind, message index, message); tool runs collapse
    for i, m in enumerate(messages):
        if m.role == "system":
            if slots:
                return [Problem("bad_role_order", f"system message at position {i}; only allowed at the start")]
            continue
        if m.role == "tool" and slots and slots[-1][0] == "tool":
            continue
        slots.append((m.role, i, m))
    for pos, (kind, i, m) in enumerate(slots):
        expected = ("user", "tool") if pos % 2 == 0 else ("assistant",)
        if kind not in expected:
            if pos == 0:
                return [Problem("bad_role_order", f"conversation starts with {kind} (message {i}); it must start with user")]
            prev = slots[pos - 1][0]
            return [Problem("bad_role_order", f"{kind} (message {i}) follows {prev}; turns must alternate")]
        if kind == "tool" and (pos == 0 or not slots[pos - 1][2].tool_calls):
            return [Problem("orphan_tool_result", f"tool result (message {i}) does not follow a call")]
        if kind == "user" and pos > 0 and slots[pos - 1][2].tool_calls:
            return [Problem("missing_tool_result", f"user turn (message {i}) follows a call with no tool result")]
        if kind in ("user", "assistant") and not m.content.strip() and not m.tool_calls:
            return [Problem("empty_message", f"{kind} message {i} is empty")]
    if slots[-1][0] != "assistant":
        return [Problem("bad_role_order", f"conversation ends with {slots[-1][0]}; it must end with the assistant")]
    return []


# -- tools and calls ----------------------------------------------------------------------------
@functools.lru_cache(maxsize=8192)
def compiled_schema(schema_json: str) -> tuple[str | None, Any]:
    """(error or None, compiled schema) for a parameters schema given as canonical JSON text."""
    schema = json.loads(schema_json)
    if not surely_valid_schema(schema):  # the metaschema check costs ~1 ms; most tools need none
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import SchemaError

        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            return f"parameters are not valid JSON Schema: {exc.message}", None
    if schema.get("type", "object") != "object":
        return f"parameters must be a JSON Schema of type object, got {schema.get('type')!r}", None
    return None, _CompiledSchema(schema)


def schema_problem(schema: dict[str, Any]) -> str | None:
    """`compiled_schema`'s verdict on a parameters schema parsed from JSON text, without building its JSON
    text and compiled form when the fast check passes it (as it passes almost every tool's)."""
    if surely_valid_schema(schema) and schema.get("type", "object") == "object":
        return None
    return compiled_schema(json.dumps(schema, sort_keys=True, ensure_ascii=False))[0]


class _CompiledSchema:
    """A parameters schema with what checking calls needs, each built on first use (templates only need
    the schema checked, and the fast path decides most calls): the fast-path node and the validator."""

    __slots__ = ("schema", "_fast", "_validator")

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema, self._fast, self._validator = schema, False, None

    @property
    def fast(self) -> Any:
        """`_fast_check(schema, top=True)`: the fast path's node, or None when it does not apply."""
        if self._fast is False:
            self._fast = _fast_check(self.schema, top=True)
        return self._fast

    def iter_errors(self, instance: Any) -> Any:
        """`Draft202012Validator(schema).iter_errors(instance)`."""
        if self._validator is None:
            from jsonschema import Draft202012Validator

            self._validator = Draft202012Validator(self.schema)
        return self._validator.iter_errors(instance)


# -- fast paths for the simple schemas almost every tool has; jsonschema decides everything else --
_SIMPLE_TYPES = frozenset(("array", "boolean", "integer", "null", "number", "object", "string"))
_STRINGS = ("title", "description", "format", "$comment")
_NUMBERS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
_COUNTS = ("minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties")
_BOOLEANS = ("uniqueItems", "deprecated", "readOnly", "writeOnly")
_ARRAYS = ("enum", "examples")
_SCHEMAS = ("items", "additionalProperties", "not")
_SURE_KEYS = frozenset((*_STRINGS, *_NUMBERS, *_COUNTS, *_BOOLEANS, *_ARRAYS, *_SCHEMAS,
                        "type", "default", "const", "properties", "required"))  # fmt: skip


def surely_valid_schema(schema: Any, depth: int = 0) -> bool:
    """True only when `schema` surely passes Draft 2020-12's metaschema (`check_schema`), by the
    metaschema's own rules for the keywords simple tool schemas use (False: let jsonschema decide).
    Any other keyword, or a value of a type the metaschema might refuse, gives False."""
    if type(schema) is bool:
        return True
    if type(schema) is not dict or depth > 32 or not schema.keys() <= _SURE_KEYS:
        return False
    for key, value in schema.items():
        kind = type(value)
        if key == "type":
            if not (value in _SIMPLE_TYPES if kind is str else kind is list and value and all(
                    type(t) is str and t in _SIMPLE_TYPES for t in value) and len(set(value)) == len(value)):
                return False
        elif key in ("default", "const"):
            continue
        elif key == "required":
            if kind is not list or not all(type(r) is str for r in value) or len(set(value)) != len(value):
                return False
        elif key == "properties":
            if kind is not dict or not all(surely_valid_schema(sub, depth + 1) for sub in value.values()):
                return False
        elif key in _SCHEMAS:
            if not surely_valid_schema(value, depth + 1):
                return False
        elif key in _STRINGS:
            if kind is not str:
                return False
        elif key in _NUMBERS:
            if kind not in (int, float):
                return False
        elif key in _COUNTS:
            if kind is not int or value < 0:
                return False
        elif key in _BOOLEANS:
            if kind is not bool:
                return False
        elif kind is not list:  # _ARRAYS
            return False
    return True


_ANNOTATIONS = {"description", "title", "default", "examples", "format", "$comment", "deprecated", "readOnly", "writeOnly"}
_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "array": (list,), "object": (dict,), "null": (type(None),),
}  # fmt: skip
_SCALARS = (str, int, float, bool, type(None))
_FAST_KEYS = frozenset((*_ANNOTATIONS, "type", "enum", "items", "properties"))
_FAST_TOP_KEYS = _FAST_KEYS | {"required", "additionalProperties"}


def _fast_check(schema: Any, top: bool = False) -> Any:
    """A compiled node `(types, enum, items, properties)` for `_fast_ok`, or None when the schema
    uses keywords the fast path does not understand. At the top level `required` and
    `additionalProperties: bool` are left to `_check_call`'s own checks."""
    if not isinstance(schema, dict):
        return None
    if not schema.keys() <= (_FAST_TOP_KEYS if top else _FAST_KEYS) or (top and not isinstance(schema.get("additionalProperties", True), bool)):
        return None
    types = enum = items = props = None
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not all(isinstance(k, str) and k in _PY_TYPES for k in kinds):
            return None
        types = frozenset(t for k in kinds for t in _PY_TYPES[k])
    if "enum" in schema:
        if not isinstance(schema["enum"], list) or not all(type(e) in _SCALARS for e in schema["enum"]):
            return None
        enum = frozenset((type(e), e) for e in schema["enum"])
    if "items" in schema:
        items = _fast_check(schema["items"])
        if items is None:
            return None
    if "properties" in schema:
        if not isinstance(schema["properties"], dict) or (not top and schema.get("required")):
            return None
        props = {name: _fast_check(sub) for name, sub in schema["properties"].items()}
        if any(node is None for node in props.values()):
            return None
    return (types, enum, items, props)


def _fast_ok(node: tuple, value: Any) -> bool:
    """True only when jsonschema would surely accept `value` (False: let jsonschema decide).
    Exact Python types: True is no integer here, 1.0 no integer - jsonschema gets those cases."""
    types, enum, items, props = node
    kind = type(value)
    if types is not None and kind not in types:
        return False
    if enum is not None and (kind not in _SCALARS or (kind, value) not in enum):
        return False
    if items is not None and kind is list:
        for x in value:
            if not _fast_ok(items, x):
                return False
    if props is not None and kind is dict:
        for k, x in value.items():
            sub = props.get(k)
            if sub is not None and not _fast_ok(sub, x):
                return False
    return True


_KnownTool = tuple[dict[str, Any], Any, Any]  # (parameters, compiled schema, `_call_shape` or None)


@functools.lru_cache(maxsize=4096)
def _check_tools_text(tools_json: str) -> tuple[list[Problem], dict[str, _KnownTool]]:
    """`_check_tools` cached by the tools' JSON text (read-only results)."""
    return _check_tools(json.loads(tools_json))


def _check_tools(tools: list[Any]) -> tuple[list[Problem], dict[str, _KnownTool]]:
    problems: list[Problem] = []
    known: dict[str, _KnownTool] = {}
    for k, tool in enumerate(tools):
        if not isinstance(tool, dict):
            problems.append(Problem("invalid_tool_schema", f"tool {k} is a {type(tool).__name__}, not an object"))
            continue
        name = tool.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append(Problem("invalid_tool_schema", f"tool {k} has no name: {_clip(tool)}"))
            continue
        if not isinstance(tool.get("description", ""), str):
            problems.append(Problem("invalid_tool_schema", f"tool {name}: description must be a string"))
        params = tool.get("parameters", {"type": "object", "properties": {}})
        if not isinstance(params, dict):
            problems.append(Problem("invalid_tool_schema", f"tool {name}: parameters must be an object"))
            continue
        try:
            error, compiled = compiled_schema(json.dumps(params, sort_keys=True, ensure_ascii=False))
        except (TypeError, ValueError) as exc:
            error, compiled = f"parameters are not JSON: {exc}", None
        try:
            shape = _call_shape(params)
        except Exception:  # noqa: BLE001 - a bad pattern: raised again where a call of this tool is checked
            shape = None
        if error is None:
            error = _unknown_required(shape)
        if error:
            problems.append(Problem("invalid_tool_schema", f"tool {name}: {error}"))
            continue
        if name in known:
            problems.append(Problem("duplicate_tool", f"tool {name!r} is declared twice"))
            continue
        known[name] = (params, compiled, shape)
    return problems, known


def _unknown_required(shape: tuple | None) -> str | None:
    """A required argument that no call could give: not among `properties`, where `_check_call` refuses
    every other name (no `additionalProperties`, no matching `patternProperties`) - e.g. a misspelt name.
    `shape` is the tool's `_call_shape` (None: its patterns do not compile, not ours to judge here)."""
    if shape is None:
        return None
    props, patterns, required = shape
    if props is None or not isinstance(required, list):
        return None
    missing = [r for r in required if r not in props and not any(p.search(r) for p in patterns)]
    if not missing:
        return None
    return f"required {_clip(', '.join(map(repr, missing)))} not among its properties ({_clip(', '.join(props)) or 'none'})"


_ERROR_CODES = {"type": "type_mismatch", "enum": "invalid_enum", "const": "invalid_enum",
                "required": "missing_required", "additionalProperties": "unknown_argument",
                "unevaluatedProperties": "unknown_argument"}  # fmt: skip


def _call_shape(params: dict[str, Any]) -> tuple[dict[str, Any] | None, list[re.Pattern[str]], Any]:
    """(argument names a call may use, or None when any goes; their patterns; the required names) of a
    parameters schema: what `_check_call` checks besides the schema itself. Raises on a bad pattern."""
    props = params.get("properties")
    if not isinstance(props, dict) or params.get("additionalProperties"):
        return None, [], params.get("required") or []
    return props, [re.compile(p) for p in params.get("patternProperties") or {}], params.get("required") or []


def _check_call(call: ToolCall, known: dict[str, _KnownTool], where: str) -> list[Problem]:
    if call.name not in known:
        names = ", ".join(sorted(known)) or "none"
        return [Problem("hallucinated_function", f"{where}: calls {call.name!r}, not among the tools ({_clip(names)})")]
    params, compiled, shape = known[call.name]
    props, patterns, required = shape if shape is not None else _call_shape(params)
    problems = []
    if props is not None:
        for arg in call.arguments:
            if arg not in props and not any(p.search(arg) for p in patterns):
                problems.append(
                    Problem("unknown_argument", f"{where}: {call.name} has no argument {arg!r} (known: {_clip(', '.join(props))})")
                )
    for req in required:
        if req not in call.arguments:
            problems.append(Problem("missing_required", f"{where}: {call.name} misses required argument {req!r}"))
    fast = compiled.fast
    if fast is not None and _fast_ok(fast, call.arguments):
        return problems
    for error in compiled.iter_errors(call.arguments):
        if not error.path and error.validator in ("required", "additionalProperties"):
            continue  # reported above with clearer messages
        code = _ERROR_CODES.get(str(error.validator), "schema_violation")
        path = ".".join(str(p) for p in error.absolute_path) or "(arguments)"
        problems.append(Problem(code, f"{where}: {call.name}.{path}: {_clip(error.message, 160)}"))
    return problems


def _check_calls(sample: Sample, tools_json: str | None = None) -> list[Problem]:
    try:
        problems, known = _check_tools_text(tools_json if tools_json is not None else dumps(sample.tools))
    except (TypeError, ValueError):  # not JSON-able: checked uncached (and reported)
        problems, known = _check_tools(sample.tools)
    problems = list(problems)
    has_calls = False
    for i, m in enumerate(sample.messages):
        for j, call in enumerate(m.tool_calls):
            has_calls = True
            if not sample.tools:
                continue
            problems.extend(_check_call(call, known, f"message {i} call {j}"))
    if has_calls and not sample.tools:
        problems.insert(0, Problem("empty_tools", "the sample calls functions but declares no tools"))
    return problems


# -- length -------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def load_tokenizer(path: str) -> Any:
    """A Hugging Face tokenizer from a local folder (cached)."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(path)
    except Exception as exc:  # transformers raises many types for a bad folder
        raise ValueError(f"cannot load tokenizer from {path}: {exc}") from None


class LengthChecker:
    """Token length of samples vs `cutoff_len`; exact LLaMA-Factory rendering when `template` is given.

    Without a template the length is an estimate: the tokens of the system prompt, the tools JSON
    and each turn's text, without the template's markup.
    """

    def __init__(self, tokenizer: Any, cutoff_len: int | None = None, template: str | None = None) -> None:
        self.tokenizer = load_tokenizer(tokenizer) if isinstance(tokenizer, str) else tokenizer
        self.cutoff_len = cutoff_len
        self.template_name = template
        self.template = self._load_template(template) if template else None

    def _load_template(self, name: str) -> Any:
        from llamafactory.data.template import TEMPLATES, get_template_and_fix_tokenizer
        from llamafactory.hparams import DataArguments

        import fc_plugin

        fc_plugin.register()
        if name not in TEMPLATES:
            raise ValueError(f"unknown template {name!r} (LLaMA-Factory templates + fc_plugin templates)")
        lf_logger = logging.getLogger("llamafactory")  # its INFO lines go to stdout: keep ours clean
        level = lf_logger.level
        lf_logger.setLevel(logging.WARNING)
        try:
            return get_template_and_fix_tokenizer(self.tokenizer, DataArguments(template=name))
        finally:
            lf_logger.setLevel(level)

    def _turn_token_pairs(self, row: dict[str, Any]) -> list[tuple[int, int, str]]:
        """[(prompt tokens, response tokens, response role)] per turn pair, as LLaMA-Factory encodes them."""
        turns = row["conversations"]
        if self.template is not None:
            from llamafactory.data.data_utils import Role

            roles = {"human": Role.USER.value, "gpt": Role.ASSISTANT.value,
                     "observation": Role.OBSERVATION.value, "function_call": Role.FUNCTION.value}  # fmt: skip
            messages = [{"role": roles[t["from"]], "content": t["value"]} for t in turns]
            pairs = self.template.encode_multiturn(self.tokenizer, messages, row["system"], row["tools"])
            return [(len(s), len(t), turns[2 * k + 1]["from"]) for k, (s, t) in enumerate(pairs)]
        tok = self.tokenizer

        def count(text: str) -> int:
            return len(tok(text, add_special_tokens=False)["input_ids"]) if text else 0

        head = count(row["system"]) + (count(row["tools"]) if row["tools"] not in ("", "[]") else 0)
        pairs = []
        for k in range(0, len(turns) - 1, 2):
            source = count(turns[k]["value"]) + (head if k == 0 else 0)
            pairs.append((source, count(turns[k + 1]["value"]), turns[k + 1]["from"]))
        return pairs

    def measure(self, row: dict[str, Any]) -> tuple[int, list[Problem]]:
        """(total tokens, problems) for a ShareGPT row; truncation is replayed the way LLaMA-Factory does."""
        try:
            pairs = self._turn_token_pairs(row)
        except Exception as exc:  # the template raises RuntimeError/ValueError on content it cannot render
            return 0, [Problem("template_error", f"{self.template_name or 'tokenizer'}: {_clip(str(exc), 200)}")]
        total = sum(s + t for s, t, _ in pairs)
        if not self.cutoff_len or total <= self.cutoff_len:
            return total, []
        from llamafactory.data.processor.processor_utils import infer_seqlen

        used = 1 if self.template is not None and self.template.efficient_eos else 0
        for k, (source, target, role) in enumerate(pairs):
            if used >= self.cutoff_len:
                break
            new_source, new_target = infer_seqlen(source, target, self.cutoff_len - used)
            used += new_source + new_target
            if role == "function_call" and 0 < new_target < target:
                return total, [
                    Problem(
                        "truncated_call",
                        f"{total} tokens > cutoff_len {self.cutoff_len}: the call in turn {2 * k + 1} "
                        f"would be cut after {new_target} of its {target} tokens (mid-JSON)",
                    )
                ]
        return total, [Problem("too_long", f"{total} tokens > cutoff_len {self.cutoff_len}; the end would be cut")]


@functools.lru_cache(maxsize=4)
def _length_checker(tokenizer: Any, cutoff_len: int | None, template: str | None) -> LengthChecker:
    return LengthChecker(tokenizer, cutoff_len, template)


# -- entry point --------------------------------------------------------------------------------
def validate_sample(
    sample: Sample,
    *,
    tokenizer: Any = None,
    cutoff_len: int | None = None,
    template: str | None = None,
    length_checker: LengthChecker | None = None,
    tools_json: str | None = None,
) -> list[Problem]:
    """Every problem of `sample` (empty list = valid). Never raises on bad sample content.

    `tokenizer` (object or local path) + `cutoff_len` enable the length check; `template` (a
    LLaMA-Factory template name) makes it exact. `length_checker` reuses a prepared checker;
    `tools_json` is `sample.tools` already encoded as JSON (saves encoding it again).
    """
    problems = _check_structure(sample)
    if problems:
        return problems
    problems = _check_role_order(sample.messages)
    problems += _check_calls(sample, tools_json)
    if problems:
        return problems
    if length_checker is None and tokenizer is not None and cutoff_len:
        length_checker = _length_checker(tokenizer, cutoff_len, template)
    if length_checker is not None:
        from fc_plugin.sharegpt import to_sharegpt

        problems += length_checker.measure(to_sharegpt(sample))[1]
    return problems


__all__ = ["CODES", "ROLES", "LengthChecker", "Problem", "load_tokenizer", "utf8_or_problem", "validate_sample"]
