"""Reading gold datasets and prediction files for scoring.

Gold: our ShareGPT dataset (`.json` list or `.jsonl`) or canonical JSONL (`Sample.to_dict()` rows).
The last assistant turn of each sample is the expected output; everything before it is the prompt.
Slot-filling samples also yield one case per question asked before the call (id `ID#ask`).

Predictions: JSONL, one object per line, either `{"id", "calls": [{"name", "arguments"}]}` or
`{"id", "text": raw model output, "template": name}` (parsed with `fc_plugin.templates.parse_calls`).

Bad records never stop a run: they are kept as `InputProblem`s (file, record, reason) in the report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fc_plugin.sample import Message, Sample, ToolCall


@dataclass
class InputProblem:
    file: str
    record: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"file": self.file, "record": self.record, "reason": self.reason}

    def __str__(self) -> str:
        return f"{self.file}: record {self.record}: {self.reason}"


@dataclass
class GoldItem:
    """One scored case: the prompt, the expected assistant turn and the sample's category."""

    id: str
    sample: Sample
    prompt: list[Message]
    expected: Message
    category: str

    @property
    def expected_calls(self) -> list[ToolCall]:
        return self.expected.tool_calls

    @property
    def prompt_sample(self) -> Sample:
        """The sample cut right before the expected turn (what a model is given)."""
        return Sample(list(self.prompt), self.sample.tools, self.id, dict(self.sample.meta))


@dataclass
class Prediction:
    """A model's answer for one gold id, already parsed into calls."""

    id: str
    calls: list[ToolCall] = field(default_factory=list)
    content: str = ""
    thought: str | None = None
    errors: list[str] = field(default_factory=list)  # parse errors: an attempted call that did not parse
    text: str | None = None  # raw model output when the prediction was text

    @property
    def attempted_call(self) -> bool:
        """True when the output holds a call, parsed or not."""
        return bool(self.calls) or bool(self.errors)


def read_records(path: str | Path) -> list[tuple[str, Any]]:
    """(record label, parsed object) for a JSON list file or a JSONL file; bad lines raise ValueError."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON: {exc}") from exc
        return [(f"#{i}", row) for i, row in enumerate(rows)]
    out: list[tuple[str, Any]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append((f"line {lineno}", json.loads(line)))
        except json.JSONDecodeError as exc:
            out.append((f"line {lineno}", _BadLine(str(exc))))
    return out


@dataclass
class _BadLine:
    reason: str


def split_expected(sample: Sample) -> tuple[list[Message], Message]:
    """Split a sample at its last assistant turn: (prompt messages, expected turn)."""
    for i in range(len(sample.messages) - 1, -1, -1):
        if sample.messages[i].role == "assistant":
            return sample.messages[:i], sample.messages[i]
    raise ValueError("no assistant turn to score against")


def slot_questions(sample_id: str, sample: Sample) -> list[GoldItem]:
    """Extra cases for a slot-filling sample: each assistant question asked before a later call
    (id `ID#ask`, `ID#ask2`, ...); the right output there is a question, not an invented call."""
    out: list[GoldItem] = []
    last_call = max(
        (i for i, m in enumerate(sample.messages) if m.role == "assistant" and m.tool_calls), default=-1
    )
    for i, m in enumerate(sample.messages[:last_call]):
        if m.role == "assistant" and not m.tool_calls and i > 0 and sample.messages[i - 1].role == "user":
            suffix = "#ask" if not out else f"#ask{len(out) + 1}"
            out.append(GoldItem(sample_id + suffix, sample, sample.messages[:i], m, "slot_filling"))
    return out


def sample_category(sample: Sample) -> str:
    """The category stored with the sample (`meta["category"]`), else `fc_plugin.categories.categorize`."""
    category = sample.meta.get("category") if sample.meta else None
    if category:
        return str(category)
    from fc_plugin.categories import categorize

    return categorize(sample)


def load_gold(path: str | Path) -> tuple[list[GoldItem], list[InputProblem]]:
    """Read a gold dataset (ShareGPT or canonical rows) into scored cases plus the rejected records."""
    items: list[GoldItem] = []
    problems: list[InputProblem] = []
    seen: set[str] = set()
    for index, (label, row) in enumerate(read_records(path)):
        if isinstance(row, _BadLine):
            problems.append(InputProblem(str(path), label, f"invalid JSON: {row.reason}"))
            continue
        try:
            sample = _row_to_sample(row)
            sample_id = str(row.get("id") if row.get("id") is not None else sample.id if sample.id else index)
            if sample_id in seen:
                raise ValueError(f"duplicate id {sample_id!r}")
            prompt, expected = split_expected(sample)
            category = sample_category(sample)
            items.append(GoldItem(sample_id, sample, prompt, expected, category))
            if category == "slot_filling":
                items.extend(slot_questions(sample_id, sample))
            seen.add(sample_id)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            problems.append(InputProblem(str(path), label, _reason(exc)))
    return items, problems


def _row_to_sample(row: Any) -> Sample:
    if not isinstance(row, dict):
        raise ValueError(f"expected an object, got {type(row).__name__}")
    if "conversations" in row:
        from fc_plugin.sharegpt import from_sharegpt

        return from_sharegpt(row)
    if "messages" in row:
        return Sample.from_dict(row)
    raise ValueError("neither a ShareGPT row ('conversations') nor a canonical sample ('messages')")


def load_predictions(
    path: str | Path, default_template: str | None = None
) -> tuple[dict[str, Prediction], list[InputProblem]]:
    """Read a predictions JSONL file into `{id: Prediction}` plus the rejected records."""
    preds: dict[str, Prediction] = {}
    problems: list[InputProblem] = []
    for label, row in read_records(path):
        if isinstance(row, _BadLine):
            problems.append(InputProblem(str(path), label, f"invalid JSON: {row.reason}"))
            continue
        try:
            pred = prediction_from_record(row, default_template)
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(InputProblem(str(path), label, _reason(exc)))
            continue
        if pred.id in preds:
            problems.append(InputProblem(str(path), label, f"duplicate id {pred.id!r} (first one kept)"))
            continue
        preds[pred.id] = pred
    return preds, problems


def prediction_from_record(row: Any, default_template: str | None = None) -> Prediction:
    """One prediction record (`calls` or `text` + `template`) -> Prediction; raises ValueError if malformed."""
    if not isinstance(row, dict):
        raise ValueError(f"expected an object, got {type(row).__name__}")
    if row.get("id") is None:
        raise ValueError("missing 'id'")
    pred_id = str(row["id"])
    if "calls" in row:
        calls, errors = calls_from_json(row["calls"])
        return Prediction(pred_id, calls, str(row.get("content") or ""), row.get("thought"), errors)
    if "text" in row:
        template = row.get("template") or default_template
        if not template:
            raise ValueError("a 'text' prediction needs a 'template' (or pass --template)")
        return prediction_from_text(pred_id, str(row["text"] or ""), str(template))
    raise ValueError("needs 'calls' or 'text'")


def prediction_from_text(pred_id: str, text: str, template: str) -> Prediction:
    """Parse raw model output with the template's parser (never raises on model output)."""
    from fc_plugin.templates import parse_calls

    result = parse_calls(template, text)
    return Prediction(
        pred_id, list(result.calls), result.content or "", result.thought, list(result.errors), text
    )


def calls_from_json(raw: Any) -> tuple[list[ToolCall], list[str]]:
    """Calls from JSON (`{"name","arguments"}` or OpenAI `{"function": {...}}`); bad ones become errors."""
    if raw is None:
        return [], []
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise ValueError(f"'calls' must be a list, got {type(raw).__name__}")
    calls: list[ToolCall] = []
    errors: list[str] = []
    for i, item in enumerate(raw):
        if isinstance(item, dict) and isinstance(item.get("function"), dict):
            item = item["function"]
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            errors.append(f"call {i}: not an object with a 'name'")
            continue
        args = item.get("arguments", item.get("parameters", {}))
        if isinstance(args, str):
            try:
                args = json.loads(args) if args.strip() else {}
            except json.JSONDecodeError as exc:
                errors.append(f"call {i} ({item['name']}): arguments are not valid JSON: {exc.msg}")
                continue
        if args is None:
            args = {}
        if not isinstance(args, dict):
            errors.append(
                f"call {i} ({item['name']}): arguments must be an object, got {type(args).__name__}"
            )
            continue
        calls.append(ToolCall(item["name"], args))
    return calls, errors


def _reason(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc}"
    return str(exc)
