"""Berkeley Function Calling Leaderboard question files + their possible-answer files.

A question record is `{"id", "question": [[{"role", "content"}]], "function": [...]}` (older files:
`question` a string, `function` one object) with Gorilla-typed schemas (`dict`, `float`, `tuple`,
`any`, `integer`, Java/JS `String`...). The calls come from the possible-answer record with the same
id, `{"id", "ground_truth": [{"func": {"arg": [allowed values...]}}]}` - several entries = a parallel
call. Of the allowed values the first that validates against the parameter's schema is taken; `""`
means "may be omitted" (omitted when it comes first, unless the parameter is required), and
`dict` arguments (or lists of dicts) hold allowed-value lists per key, resolved the same way.

`load_context(paths)` indexes the possible answers found among `paths` and in `possible_answer/NAME`
next to each path (BFCL's own layout); a `ground_truth` inside the question record works too. Records
without an answer are no-call samples in the irrelevance categories (answered with `no_call_reply`)
and rejected (`missing_answer`) elsewhere. Multi-turn categories (no `function` list) are not supported.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from fc_plugin.convert import ConvertError
from fc_plugin.convert._common import field, no_call_reply, text_content
from fc_plugin.normalize import normalize_tools
from fc_plugin.sample import Message, Sample, ToolCall

NAME = "bfcl"
LF_NAME = "fc_" + NAME

_ROLES = {"system": "system", "user": "user", "assistant": "assistant"}


def detect(record: dict) -> bool:
    """A BFCL question (`id` + `question` + `function`) or possible-answer (`id` + `ground_truth`) record."""
    if not isinstance(record.get("id"), str):
        return False
    return ("question" in record and "function" in record) or (
        "ground_truth" in record and "question" not in record
    )


def _records(path: Path) -> list[Any]:
    """Records of a BFCL file: JSON lines (BFCL's `.json` files) or one JSON array; bad lines skipped."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if text.lstrip().startswith("["):
        try:
            return json.loads(text)
        except ValueError:
            return []
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue  # the pipeline reports bad lines of input files; an answer left out gives missing_answer
    return out


def load_context(paths: list[str]) -> dict[str, Any]:
    """`{"possible_answers": {id: ground_truth}}` from the answer files among and next to `paths`."""
    files: list[Path] = []
    for p in map(Path, paths):
        files += [p, p.parent / "possible_answer" / p.name]
    answers: dict[str, Any] = {}
    for path in dict.fromkeys(files):
        if not path.is_file():
            continue
        for rec in _records(path):
            if isinstance(rec, dict) and isinstance(rec.get("id"), str) and "ground_truth" in rec:
                answers[rec["id"]] = rec["ground_truth"]
    return {"possible_answers": answers}


_NONE = object()  # no allowed value yet (None itself can be one)


def _pick(allowed: Any, schema: dict[str, Any], required: bool = False) -> tuple[Any, bool]:
    """The first allowed value that validates against the parameter's schema -> (value, present).

    `""` means "may be omitted": taken when it comes first, unless the parameter is required and a
    value is allowed. When no allowed value validates, the first one is kept (validation then
    rejects the sample with its reason) - never a value that is not among the allowed ones.
    """
    options = allowed if isinstance(allowed, list) else [allowed]
    first: Any = _NONE
    for option in options:
        if option == "":
            if not required:
                return None, False  # omitting an optional parameter always validates
            continue
        value = _resolved_value(option, schema)
        if _validates(value, schema):
            return value, True
        first = value if first is _NONE else first
    return (first, True) if first is not _NONE else (None, False)


def _resolved_value(allowed: Any, schema: dict[str, Any]) -> Any:
    """A `dict` argument (or a list of dicts) holds allowed-value lists per key: resolve them too."""
    kind = schema.get("type")
    if kind == "object" and isinstance(allowed, dict):
        return _resolve(allowed, schema)
    items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
    if kind == "array" and isinstance(allowed, list) and items.get("type") == "object":
        return [_resolve(v, items) if isinstance(v, dict) else v for v in allowed]
    return allowed


def _validates(value: Any, schema: dict[str, Any]) -> bool:
    """Whether `value` fits the parameter's schema (a broken schema judges nothing: validation reports it)."""
    try:
        validator = _validator(json.dumps(schema, sort_keys=True))
        return validator is None or validator.is_valid(value)
    except (TypeError, ValueError, RecursionError):
        return True


@functools.lru_cache(maxsize=4096)
def _validator(schema_json: str) -> Any:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    schema = json.loads(schema_json)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError:
        return None
    return Draft202012Validator(schema)


def _resolve(alternatives: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """`{"arg": [allowed...]}` -> `{"arg": first allowed value that validates}`, omitted arguments left out."""
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    listed = schema.get("required")
    required = {r for r in listed if isinstance(r, str)} if isinstance(listed, list) else set()
    out = {}
    for name, allowed in alternatives.items():
        sub = props.get(name) if isinstance(props.get(name), dict) else {}
        value, present = _pick(allowed, sub, required=name in required)
        if present:
            out[name] = value
    return out


def _question(raw: Any) -> list[Message]:
    """`question` (a string, a list of messages, or a list of turns of messages) -> messages."""
    if isinstance(raw, str):
        return [Message("user", raw)]
    if not isinstance(raw, list) or not raw:
        raise ConvertError("wrong_type", "'question' must be a string or a non-empty list")
    turns = raw if all(isinstance(t, list) for t in raw) else [raw]
    if not turns[0]:
        raise ConvertError("missing_field", "'question' holds no messages")
    if len(turns) > 1:
        raise ConvertError(
            "unsupported", f"'question' has {len(turns)} turns; multi-turn BFCL entries are not supported"
        )
    messages = []
    for i, msg in enumerate(turns[0]):
        where = f"question[0][{i}]"
        if not isinstance(msg, dict):
            raise ConvertError("wrong_type", f"{where} must be an object, got {type(msg).__name__}")
        role = _ROLES.get(msg["role"]) if isinstance(msg.get("role"), str) else None
        if role is None:
            raise ConvertError(
                "unknown_role", f"{where} has role {msg.get('role')!r}; expected system/user/assistant"
            )
        messages.append(Message(role, text_content(msg.get("content"), where)))
    return messages


def convert(record: dict, context: dict[str, Any] | None = None) -> list[Sample]:
    """One BFCL question record (+ its possible answer) -> one canonical sample; answer records give []."""
    if "ground_truth" in record and "question" not in record:
        return []  # a possible-answer record: context for its question, nothing to convert by itself
    record_id = field(record, "id", str)
    if "function" not in record:
        raise ConvertError(
            "missing_field",
            f"{record_id}: field 'function' is missing (multi-turn entries are not supported)",
        )
    functions = field(record, "function", (list, dict))
    tools = normalize_tools(functions)
    if not tools:
        raise ConvertError("empty_tools", f"{record_id}: 'function' is empty")
    messages = _question(field(record, "question", (str, list)))
    truth = record.get("ground_truth")
    if truth is None and context:
        truth = context.get("possible_answers", {}).get(record_id)
    if truth is None:
        if "irrelevance" not in record_id:
            raise ConvertError(
                "missing_answer", f"{record_id}: no possible answer found (pass the possible_answer file)"
            )
        messages.append(Message("assistant", no_call_reply(messages[-1].content)))
        return [Sample(messages, tools, record_id)]
    if not isinstance(truth, list):
        truth = [truth]
    schemas = {t["name"]: t["parameters"] for t in tools}
    calls = []
    for i, entry in enumerate(truth):
        if not isinstance(entry, dict) or len(entry) != 1:
            raise ConvertError(
                "wrong_type", f"{record_id}: ground_truth[{i}] must be {{function: {{arg: [values]}}}}"
            )
        ((name, alternatives),) = entry.items()
        if not isinstance(alternatives, dict):
            raise ConvertError("wrong_type", f"{record_id}: ground_truth[{i}].{name} must be an object")
        calls.append(ToolCall(name, _resolve(alternatives, schemas.get(name, {}))))
    messages.append(Message("assistant", "", calls))
    return [Sample(messages, tools, record_id)]
