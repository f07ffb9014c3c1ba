"""Berkeley Function Calling Leaderboard (BFCL) files and AST rules, written for fc-plugin.

Reads BFCL question files (JSONL: `id`, `question`, `function`) and possible-answer files
(JSONL: `id`, `ground_truth` = list of `{function: {param: [allowed values]}}`) and judges
predicted calls the way BFCL's AST checker does, so verdicts agree with `bfcl-eval`
(tests/test_bfcl_agreement.py runs both over BFCL's shipped data):

- the category comes from the id (`simple_python_3` -> `simple_python`, `live_multiple_7-3-1` ->
  `live_multiple`); `irrelevance` categories expect no call, `live_relevance` at least one;
  `parallel*` match calls order-free (greedily, in answer order, as BFCL does), `multiple` checks
  the one call against the one expected function, the rest expect exactly one call;
- each parameter value must be one of its allowed values; `""` in the list marks an optional
  parameter that may be omitted; parameters the answer does not list are unexpected;
- types follow the function doc (`string integer float boolean array tuple dict any`), with an int
  accepted for a float; a value of the answer's type instead is accepted as a "variable"
  (compared exactly);
- strings compare after normalisation: case-insensitive, without spaces and `,./-_*^`, with `'`
  read as `"`; lists (their string elements normalised) and dicts (key by key, optional keys via
  `""`) compare element-wise against each allowed value.

Java/JavaScript, multi-turn, memory, web-search and format-sensitivity categories are not judged
(they raise `UnsupportedCategory`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fc_plugin.evaluate.inputs import InputProblem, Prediction, _BadLine, read_records
from fc_plugin.sample import Message, Sample, ToolCall

BFCL_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "any": str,
}
_IGNORED_IN_STRINGS = re.compile(r"[ ,./\-_*^]")
_UNSUPPORTED = ("java", "javascript", "multi_turn", "memory", "web_search", "format_sensitivity")


class UnsupportedCategory(ValueError):
    """A BFCL category this checker does not judge (non-Python or agentic)."""


@dataclass
class BfclCase:
    id: str
    category: str
    functions: list[dict[str, Any]]
    question: list[list[dict[str, Any]]]
    answers: list[dict[str, dict[str, list[Any]]]] | None = None  # None for (ir)relevance

    def to_sample(self) -> Sample:
        """The case as a canonical sample (first turn's messages, BFCL function docs as tools)."""
        messages = [
            Message(m["role"], m.get("content") or "") for m in (self.question[0] if self.question else [])
        ]
        return Sample(messages, self.functions, self.id, {"category": self.category})


@dataclass
class CheckResult:
    valid: bool
    error_type: str = ""
    error: str = ""
    details: list[str] = field(default_factory=list)


def category_of(case_id: str) -> str:
    """BFCL category from a case id: `live_simple_0-0-0` -> `live_simple`, `parallel_12` -> `parallel`."""
    m = re.match(r"^(.*?)_\d+(?:-\d+)*$", case_id)
    return m.group(1) if m else case_id


def expects_call(category: str) -> bool:
    return "irrelevance" not in category


def normalize_string(text: str) -> str:
    """BFCL's string normalisation: drop spaces and `,./-_*^`, lower-case, `'` -> `"`."""
    return _IGNORED_IN_STRINGS.sub("", text).lower().replace("'", '"')


def load_cases(
    question_paths: list[str | Path], answer_paths: list[str | Path]
) -> tuple[list[BfclCase], list[InputProblem]]:
    """Read question and possible-answer files; AST categories without an answer are problems."""
    answers: dict[str, Any] = {}
    rejected: set[str] = set()  # ids whose possible answer was rejected (already reported)
    problems: list[InputProblem] = []
    for path in answer_paths:
        for label, row in read_records(path):
            if isinstance(row, _BadLine):
                problems.append(InputProblem(str(path), label, f"invalid JSON: {row.reason}"))
            elif (
                not isinstance(row, dict) or "id" not in row or not isinstance(row.get("ground_truth"), list)
            ):
                problems.append(InputProblem(str(path), label, "expected {'id', 'ground_truth': [...]}"))
            elif reason := _answer_problem(row["ground_truth"]):
                problems.append(InputProblem(str(path), label, f"{row['id']}: {reason}"))
                rejected.add(str(row["id"]))
            else:
                answers[str(row["id"])] = row["ground_truth"]
    cases: list[BfclCase] = []
    for path in question_paths:
        for label, row in read_records(path):
            if isinstance(row, _BadLine):
                problems.append(InputProblem(str(path), label, f"invalid JSON: {row.reason}"))
                continue
            if not isinstance(row, dict) or "id" not in row or not isinstance(row.get("function"), list):
                problems.append(
                    InputProblem(str(path), label, "expected {'id', 'question', 'function': [...]}")
                )
                continue
            case_id = str(row["id"])
            category = category_of(case_id)
            if any(tag in category.split("_") or category.endswith(tag) for tag in _UNSUPPORTED):
                problems.append(
                    InputProblem(str(path), label, f"{case_id}: category {category!r} is not judged")
                )
                continue
            truth = answers.get(case_id)
            if case_id in rejected:
                continue
            if truth is None and "relevance" not in category:
                problems.append(
                    InputProblem(str(path), label, f"{case_id}: no possible answer in the answer files")
                )
                continue
            reason = _functions_problem(row["function"])
            if reason:
                problems.append(InputProblem(str(path), label, f"{case_id}: {reason}"))
                continue
            cases.append(BfclCase(case_id, category, row["function"], row.get("question") or [], truth))
    return cases, problems


def _functions_problem(functions: list[Any]) -> str | None:
    """Why a case's function docs cannot be judged (None when they can)."""
    for k, doc in enumerate(functions):
        if not isinstance(doc, dict) or not isinstance(doc.get("name"), str):
            return f"function {k}: expected an object with a 'name'"
        params = doc.get("parameters", {})
        props = params.get("properties", {}) if isinstance(params, dict) else None
        if not isinstance(props, dict) or not isinstance(params.get("required", []), list):
            return f"function {doc['name']!r}: 'parameters' needs 'properties' (object) and 'required' (list)"
        for name, prop in props.items():
            if not isinstance(prop, dict):
                return f"{doc['name']}.{name}: the parameter's schema is not an object"
            items = prop.get("items")
            if prop.get("type") in ("array", "tuple") and not (
                isinstance(items, dict) and isinstance(items.get("type"), str)
            ):
                return f"{doc['name']}.{name}: an {prop['type']} parameter needs 'items': {{'type': ...}}"
    return None


def _answer_problem(truth: list[Any]) -> str | None:
    """Why a possible answer cannot be judged (None when it can)."""
    for k, answer in enumerate(truth):
        params = next(iter(answer.values()), None) if isinstance(answer, dict) and len(answer) == 1 else None
        if not isinstance(params, dict) or not all(isinstance(v, list) for v in params.values()):
            return f"possible answer {k}: expected {{function: {{parameter: [allowed values]}}}}"
    return None


def check(case: BfclCase, pred: Prediction | None) -> CheckResult:
    """BFCL's verdict for one prediction (None = no prediction: a failed decode)."""
    decoded = pred is not None and not pred.errors
    calls = pred.calls if (pred is not None and decoded) else []
    if "relevance" in case.category:  # irrelevance and live_relevance: only "is there a call" counts
        has_call = decoded and bool(calls)
        if expects_call(case.category):
            return CheckResult(has_call, "" if has_call else "relevance_error:decoder_failed")
        return CheckResult(not has_call, "" if not has_call else "irrelevance_error:decoder_success")
    if not decoded:
        reason = "; ".join(pred.errors) if pred is not None else "no prediction"
        return CheckResult(False, "ast_decoder:decoder_failed", reason)
    return check_ast(case.functions, calls, case.answers or [], case.category)


def check_ast(
    functions: list[dict[str, Any]], calls: list[ToolCall], answers: list[dict[str, Any]], category: str
) -> CheckResult:
    """AST verdict for calls against possible answers, by category (parallel / multiple / simple)."""
    if "parallel" in category:
        return _check_parallel(functions, calls, answers)
    if "multiple" in category:
        if len(calls) != len(answers):
            return CheckResult(False, "multiple_function_checker:wrong_count", "wrong number of functions")
        expected_name = next(iter(answers[0]))
        doc = _find_function(functions, expected_name)
        return check_call(doc, calls[0], answers[0]) if doc else _no_doc(expected_name)
    if len(calls) != 1:
        return CheckResult(False, "simple_function_checker:wrong_count", "wrong number of functions")
    return check_call(functions[0], calls[0], answers[0])


def _check_parallel(
    functions: list[dict[str, Any]], calls: list[ToolCall], answers: list[dict[str, Any]]
) -> CheckResult:
    # BFCL matches greedily: each possible answer, in order, takes the first unused call it accepts.
    if len(calls) != len(answers):
        return CheckResult(
            False, "parallel_function_checker_no_order:wrong_count", "wrong number of functions"
        )
    used: set[int] = set()
    for k, answer in enumerate(answers):
        expected_name = next(iter(answer))
        doc = _find_function(functions, expected_name)
        if doc is None:
            return _no_doc(expected_name)
        tried = []
        for index, call in enumerate(calls):
            if index in used:
                continue
            result = check_call(doc, call, answer)
            if result.valid:
                used.add(index)
                break
            tried.append(f"call {index}: {result.error_type} {result.error}")
        else:
            return CheckResult(
                False,
                "parallel_function_checker_no_order:cannot_find_match",
                f"no call matches possible answer {k} ({expected_name})",
                tried,
            )
    return CheckResult(True)


def _find_function(functions: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((f for f in functions if f.get("name") == name), None)


def _no_doc(name: str) -> CheckResult:
    return CheckResult(
        False, "bfcl:unknown_function_in_answer", f"answer names {name!r}, not in the function docs"
    )


def check_call(doc: dict[str, Any], call: ToolCall, answer: dict[str, dict[str, list[Any]]]) -> CheckResult:
    """One call against one function doc and its possible answer `{name: {param: [allowed]}}`."""
    allowed_by_param = next(iter(answer.values()))
    params = doc.get("parameters") or {}
    props = params.get("properties") or {}
    if call.name != doc.get("name"):
        return CheckResult(False, "simple_function_checker:wrong_func_name", f"expected {doc.get('name')!r}")
    for name in params.get("required") or []:
        if name not in call.arguments:
            return CheckResult(False, "simple_function_checker:missing_required", f"missing {name!r}")
    for name, value in call.arguments.items():
        if name not in props or name not in allowed_by_param:
            return CheckResult(False, "simple_function_checker:unexpected_param", f"unexpected {name!r}")
        result = _check_value(name, value, props[name], allowed_by_param[name])
        if not result.valid:
            return result
    for name, allowed in allowed_by_param.items():
        if name not in call.arguments and "" not in allowed:
            return CheckResult(False, "simple_function_checker:missing_optional", f"{name!r} must be given")
    return CheckResult(True)


def _check_value(name: str, value: Any, prop: dict[str, Any], allowed: list[Any]) -> CheckResult:
    declared = prop.get("type")
    if declared not in BFCL_TYPES:
        raise UnsupportedCategory(f"parameter {name!r}: BFCL type {declared!r} is not a Python BFCL type")
    want = BFCL_TYPES[declared]
    inner = None
    if declared in ("array", "tuple"):
        item_type = prop["items"]["type"]
        if item_type not in BFCL_TYPES:
            raise UnsupportedCategory(f"parameter {name!r}: BFCL item type {item_type!r} is not a Python BFCL type")
        inner = BFCL_TYPES[item_type]
    if declared == "float" and type(value) is int:
        value = float(value)
    type_ok, as_variable = _type_matches(value, allowed, want, inner)
    if not type_ok:
        kind = "type_error:nested" if type(value) is want else "type_error:simple"
        return CheckResult(False, kind, f"{name!r}: expected {declared}, got {type(value).__name__}")
    if not as_variable:
        if want is dict:
            return _verdict(_dict_matches(value, allowed), "value_error:dict_value", name, value)
        if want is list and inner is dict:
            return _verdict(
                _list_of_dicts_matches(value, allowed), "value_error:list_dict_count", name, value
            )
        if want is str:
            options = [normalize_string(a) for a in allowed if type(a) is str]
            return _verdict(normalize_string(value) in options, "value_error:string", name, value)
        if want is list:
            return _verdict(
                _normalized_list(value) in [_normalized_list(a) for a in _iterables(allowed)],
                "value_error:list/tuple",
                name,
                value,
            )
    return _verdict(value in allowed, "value_error:others", name, value)


def _verdict(ok: bool, error_type: str, name: str, value: Any) -> CheckResult:
    return (
        CheckResult(True)
        if ok
        else CheckResult(False, error_type, f"{name!r}: {value!r} is not an allowed value")
    )


def _answer_type(allowed: list[Any]) -> type | None:
    return next((type(a) for a in allowed if a != ""), None)


def _type_matches(value: Any, allowed: list[Any], want: type, inner: type | None) -> tuple[bool, bool]:
    """(type accepted, value is a "variable" of the answer's type rather than the declared one)."""
    answer_type = _answer_type(allowed)
    variable = answer_type is not None and answer_type is not want
    if type(value) is want:
        if inner is None:
            return True, variable
        for candidate in allowed:
            if type(candidate) is not list:
                return True, variable  # "" (optional) or a variable placeholder: no element types to check
            if all(_type_matches(item, candidate, inner, None)[0] for item in value):
                return True, variable
        return False, False
    if answer_type is not None and type(value) is answer_type:
        return True, True
    return False, False


def _normalize_item(item: Any) -> Any:
    return normalize_string(item) if type(item) is str else item


def _normalized_list(items: Any) -> list[Any]:
    return [_normalize_item(x) for x in items]


def _iterables(allowed: list[Any]) -> list[Any]:
    return [a for a in allowed if isinstance(a, (list, str))]


def _dict_matches(value: dict[str, Any], allowed: list[Any]) -> bool:
    for candidate in allowed:
        if candidate == "" or not isinstance(candidate, dict):
            continue
        unexpected_or_wrong = any(
            key not in candidate or _normalize_item(v) not in _normalized_list(candidate[key])
            for key, v in value.items()
        )
        missing = any(key not in value and "" not in options for key, options in candidate.items())
        if not unexpected_or_wrong and not missing:
            return True
    return False


def _list_of_dicts_matches(value: list[Any], allowed: list[Any]) -> bool:
    for candidate in allowed:
        if not isinstance(candidate, (list, str)) or len(value) != len(candidate):
            continue
        if all(isinstance(v, dict) and _dict_matches(v, [c]) for v, c in zip(value, candidate, strict=True)):
            return True
    return False


def score_cases(cases: list[BfclCase], preds: dict[str, Prediction]) -> list[dict[str, Any]]:
    """Per-case verdicts in the scorer's verdict shape (plus BFCL's error type)."""
    verdicts = []
    for case in cases:
        pred = preds.get(case.id)
        try:
            result = check(case, pred)
        except UnsupportedCategory as exc:
            result = CheckResult(False, "bfcl:unsupported", str(exc))
        predicted_call = pred is not None and not pred.errors and bool(pred.calls)  # BFCL: decoded, non-empty
        expected_call = expects_call(case.category)
        verdicts.append(
            {
                "id": case.id,
                "category": case.category,
                "valid": result.valid,
                "exact_match": result.valid,
                "expected_call": expected_call,
                "predicted_call": predicted_call,
                "decision_correct": expected_call == predicted_call,
                "error_type": result.error_type,
                "error": result.error,
                "missing_prediction": pred is None,
                "unparsable": bool(pred and pred.errors),
                "predicted_calls": [c.to_dict() for c in (pred.calls if pred else [])],
                "reasons": [result.error_type] if result.error_type else [],
            }
        )
    return verdicts


def summarize(verdicts: list[dict[str, Any]]) -> dict[str, Any]:
    """Top-level accuracy, per-category accuracy with BFCL error types, and call/no-call confusion."""
    from fc_plugin.evaluate.scorer import confusion

    def block(vs: list[dict[str, Any]]) -> dict[str, Any]:
        n = len(vs)
        errors: dict[str, int] = {}
        for v in vs:
            if v["error_type"]:
                errors[v["error_type"]] = errors.get(v["error_type"], 0) + 1
        return {
            "count": n,
            "exact_call_accuracy": round(sum(v["valid"] for v in vs) / n, 6) if n else 0.0,
            "call_decision_accuracy": round(sum(v["decision_correct"] for v in vs) / n, 6) if n else 0.0,
            "missing_predictions": sum(v["missing_prediction"] for v in vs),
            "counts": {
                "exact": sum(v["valid"] for v in vs),
                "decision_correct": sum(v["decision_correct"] for v in vs),
            },
            "reasons": dict(sorted(errors.items(), key=lambda kv: -kv[1])),
        }

    overall = block(verdicts)
    by_category: dict[str, list[dict[str, Any]]] = {}
    for v in verdicts:
        by_category.setdefault(v["category"], []).append(v)
    return {
        "exact_call_accuracy": overall["exact_call_accuracy"],
        "call_decision_accuracy": overall["call_decision_accuracy"],
        "overall": overall,
        "categories": {name: block(vs) for name, vs in sorted(by_category.items())},
        "confusion": confusion(verdicts),
    }
