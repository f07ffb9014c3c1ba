"""Salesforce xLAM / APIGen (xlam-function-calling-60k, xlam-irrelevance-7.5k):
`{"id", "query", "tools": "<JSON>", "answers": "<JSON>"}`.

`tools` and `answers` are JSON strings (lists are accepted too); tool parameters use the
non-JSON-Schema form `{"arg": {"type": "str, optional", "description", "default"}}`, rewritten by
`normalize.to_json_schema`. All answers form one (parallel) call; `answers: "[]"` (the irrelevance
set) is a no-call sample answered with `no_call_reply`, since those records carry no reply text.
"""

from __future__ import annotations

from fc_plugin.convert import ConvertError
from fc_plugin.convert._common import field, no_call_reply, record_id
from fc_plugin.normalize import normalize_tools, parse_arguments, parse_json_value
from fc_plugin.sample import Message, Sample, ToolCall

NAME = "xlam"
LF_NAME = "fc_" + NAME


def detect(record: dict) -> bool:
    """`query`, `tools` and `answers` fields."""
    return isinstance(record.get("query"), str) and "tools" in record and "answers" in record


def convert(record: dict) -> list[Sample]:
    """One xLAM record -> one single-turn canonical sample."""
    query = field(record, "query", str)
    tools = normalize_tools(field(record, "tools", (str, list)))
    if not tools:
        raise ConvertError("empty_tools", "'tools' is an empty list")
    answers = parse_json_value(field(record, "answers", (str, list)))
    if not isinstance(answers, list):
        raise ConvertError("wrong_type", f"'answers' must be a JSON list, got {type(answers).__name__}")
    calls = []
    for i, answer in enumerate(answers):
        if not isinstance(answer, dict):
            raise ConvertError("wrong_type", f"answers[{i}] must be an object, got {type(answer).__name__}")
        name = field(answer, "name", str, where=f"answers[{i}]")
        try:
            calls.append(ToolCall(name, parse_arguments(answer.get("arguments"))))
        except ConvertError as exc:
            raise ConvertError(exc.code, f"answers[{i}] ({name}): {exc.message}") from None
    reply = Message("assistant", "", calls) if calls else Message("assistant", no_call_reply(query))
    return [Sample([Message("user", query), reply], tools, record_id(record))]
