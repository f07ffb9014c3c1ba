"""Unseen values: which expected argument values appear in no training sample.

Exact calls on held-out samples can be scored by a model that picks each argument from the values
it saw in training; only values it never saw prove that it copies them from the request. A value
is *seen* when its text (a string as it is, any other value as JSON) occurs anywhere in the raw
text of a training file, so the test errs towards "seen": `30` counts as seen wherever "30" occurs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fc_plugin.sample import ToolCall


def training_text(paths: list[str | Path]) -> str:
    """The raw text of every training file, each also with JSON string escapes undone once."""
    parts = []
    for path in paths:
        text = Path(path).read_text(encoding="utf-8")
        parts.append(text)
        parts.append(text.replace('\\"', '"').replace("\\\\", "\\"))
    return "\n".join(parts)


def leaf_values(value: Any) -> list[Any]:
    """The scalar values inside an argument value (lists and objects unpacked)."""
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in leaf_values(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in leaf_values(v)]
    return [value]


def unseen_values(calls: list[ToolCall], haystack: str) -> list[Any]:
    """The argument values of `calls` whose text occurs nowhere in `haystack` (booleans/null never count)."""
    found = []
    for call in calls:
        for value in leaf_values(call.arguments):
            if value is None or isinstance(value, bool):
                continue
            text = value if isinstance(value, str) else json.dumps(value)
            escaped = json.dumps(value, ensure_ascii=False)[1:-1] if isinstance(value, str) else text
            if text not in haystack and escaped not in haystack and value not in found:
                found.append(value)
    return found


def unseen_summary(verdicts: list[dict[str, Any]]) -> dict[str, Any]:
    """Exact call accuracy over the verdicts marked with `unseen_values` (None when there are none)."""
    marked = [v for v in verdicts if v.get("unseen_values")]
    exact = sum(bool(v.get("exact_match")) for v in marked)
    return {
        "unseen_value_exact_call_accuracy": round(exact / len(marked), 6) if marked else None,
        "unseen_value_samples": len(marked),
    }
