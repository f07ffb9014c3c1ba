"""Per-sample verdicts and aggregates for function calling, offline and model-free.

A verdict compares the expected assistant turn (calls, or text when no call is right) with a
prediction. Parallel calls are matched order-free (the assignment that matches the most names,
then the most argument pairs). Values compare as JSON (1 == 1.0, True != 1, strings exact).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from typing import Any

from fc_plugin.evaluate.inputs import GoldItem, Prediction
from fc_plugin.sample import ToolCall

SLOT_FILLING = "slot_filling"


def values_equal(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value (int == float), bools only equal bools, containers element-wise."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(values_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def argument_overlap(expected: dict[str, Any], predicted: dict[str, Any]) -> int:
    """How many (key, value) pairs of `predicted` equal those of `expected`."""
    return sum(1 for k, v in predicted.items() if k in expected and values_equal(expected[k], v))


def match_calls(expected: list[ToolCall], predicted: list[ToolCall]) -> list[tuple[int, int]]:
    """Order-free matching of predicted to expected calls: (expected index, predicted index) pairs.

    Maximises matched names first, then matching argument pairs (exhaustive for up to 7 calls,
    greedy beyond).
    """

    def gain(i: int, j: int) -> tuple[int, int]:
        e, p = expected[i], predicted[j]
        if e.name != p.name:
            return (0, 0)
        return (1, argument_overlap(e.arguments, p.arguments))

    n, m = len(expected), len(predicted)
    if n == 0 or m == 0:
        return []
    if min(n, m) <= 7 and max(n, m) <= 8:
        best: list[tuple[int, int]] = []
        best_score = (-1, -1)
        if n <= m:
            for perm in itertools.permutations(range(m), n):
                pairs = list(zip(range(n), perm, strict=True))
                score = _sum_gain(gain, pairs)
                if score > best_score:
                    best, best_score = pairs, score
        else:
            for perm in itertools.permutations(range(n), m):
                pairs = list(zip(perm, range(m), strict=True))
                score = _sum_gain(gain, pairs)
                if score > best_score:
                    best, best_score = pairs, score
        return [(i, j) for i, j in best if gain(i, j)[0]]
    pairs = []
    used_e: set[int] = set()
    used_p: set[int] = set()
    for i, j in sorted(itertools.product(range(n), range(m)), key=lambda ij: gain(*ij), reverse=True):
        if i in used_e or j in used_p or not gain(i, j)[0]:
            continue
        pairs.append((i, j))
        used_e.add(i)
        used_p.add(j)
    return sorted(pairs)


def _sum_gain(gain: Any, pairs: list[tuple[int, int]]) -> tuple[int, int]:
    names = args = 0
    for i, j in pairs:
        a, b = gain(i, j)
        names += a
        args += b
    return (names, args)


def schema_problems(call: ToolCall, tools: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Schema checks of one call: hallucinated function/arguments, missing required, type errors."""
    out: dict[str, list[str]] = {
        "hallucinated_functions": [],
        "hallucinated_arguments": [],
        "missing_required": [],
        "type_errors": [],
    }
    tool = next((t for t in tools if isinstance(t, dict) and t.get("name") == call.name), None)
    if tool is None:
        out["hallucinated_functions"].append(call.name)
        return out
    params = tool.get("parameters") if isinstance(tool.get("parameters"), dict) else {}
    props = params.get("properties") if isinstance(params.get("properties"), dict) else {}
    for name in call.arguments:
        if name not in props and not params.get("additionalProperties"):
            out["hallucinated_arguments"].append(f"{call.name}.{name}")
    for name in params.get("required") or []:
        if name not in call.arguments:
            out["missing_required"].append(f"{call.name}.{name}")
    for name, value in call.arguments.items():
        prop = props.get(name)
        if isinstance(prop, dict):
            error = type_error(value, prop)
            if error:
                out["type_errors"].append(f"{call.name}.{name}: {error}")
    return out


def type_error(value: Any, schema: dict[str, Any]) -> str | None:
    """A short message when `value` breaks the type/enum of its JSON Schema property, else None."""
    import jsonschema

    checked = {k: schema[k] for k in ("type", "enum", "items", "properties", "anyOf", "oneOf") if k in schema}
    if not checked:
        return None
    try:
        validator = jsonschema.Draft202012Validator(checked)
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    except (jsonschema.exceptions.SchemaError, TypeError, ValueError, RecursionError):
        return None  # a broken schema is the data validator's finding, not a model error
    if error is None:
        return None
    return error.message[:200]


def score_sample(gold: GoldItem, pred: Prediction | None) -> dict[str, Any]:
    """The verdict for one sample: decision, names, arguments, hallucinations, types, slot filling."""
    expected = gold.expected_calls
    missing = pred is None
    pred = pred or Prediction(gold.id)
    predicted = pred.calls
    expect_call = bool(expected)
    attempted = pred.attempted_call

    pairs = match_calls(expected, predicted)
    exact_pairs = sum(
        1
        for i, j in pairs
        if expected[i].arguments.keys() == predicted[j].arguments.keys()
        and all(
            values_equal(expected[i].arguments[k], predicted[j].arguments[k]) for k in expected[i].arguments
        )
    )
    matched_args = sum(argument_overlap(expected[i].arguments, predicted[j].arguments) for i, j in pairs)
    gold_args = sum(len(c.arguments) for c in expected)
    pred_args = sum(len(c.arguments) for c in predicted)

    problems: dict[str, list[str]] = {
        "hallucinated_functions": [],
        "hallucinated_arguments": [],
        "missing_required": [],
        "type_errors": [],
    }
    for call in predicted:
        for key, values in schema_problems(call, gold.sample.tools).items():
            problems[key].extend(values)

    if expect_call:
        exact = (
            not pred.errors
            and len(predicted) == len(expected)
            and len(pairs) == len(expected)
            and exact_pairs == len(expected)
        )
        names_correct = (
            Counter(c.name for c in predicted) == Counter(c.name for c in expected) and not pred.errors
        )
    else:
        exact = not attempted
        names_correct = not attempted

    verdict: dict[str, Any] = {
        "id": gold.id,
        "category": gold.category,
        "expected_call": expect_call,
        "predicted_call": attempted,
        "decision_correct": expect_call == attempted,
        "exact_match": exact,
        "names_correct": names_correct,
        "expected_calls": [c.to_dict() for c in expected],
        "predicted_calls": [c.to_dict() for c in predicted],
        "matched_calls": len(pairs),
        "exact_calls": exact_pairs,
        "argument_pairs": {"expected": gold_args, "predicted": pred_args, "matched": matched_args},
        "argument_precision": _ratio(matched_args, pred_args, empty=1.0 if not gold_args else 0.0),
        "argument_recall": _ratio(matched_args, gold_args, empty=1.0 if not pred_args else 0.0),
        "unparsable": bool(pred.errors),
        "parse_errors": list(pred.errors),
        "missing_prediction": missing,
        **problems,
    }
    verdict["argument_f1"] = _f1(verdict["argument_precision"], verdict["argument_recall"])
    if gold.category == SLOT_FILLING and not expect_call:
        # the right move is a question for the missing argument, not a call with an invented value
        verdict["asked_for_missing"] = not attempted and is_question(pred.content)
    verdict["reasons"] = _reasons(verdict)
    if pred.text is not None:
        verdict["text"] = pred.text
    return verdict


def is_question(text: str) -> bool:
    """Whether a text answer asks something (a `?` or full-width `？`), as a slot-filling question must."""
    return "?" in text or "\uff1f" in text


def _reasons(v: dict[str, Any]) -> list[str]:
    """Short snake_case codes saying why a sample is not an exact match."""
    reasons = []
    if v["missing_prediction"]:
        reasons.append("missing_prediction")
    if v["unparsable"]:
        reasons.append("unparsable")
    if v["expected_call"] and not v["predicted_call"]:
        reasons.append("missed_call")
    if not v["expected_call"] and v["predicted_call"]:
        reasons.append("invented_argument" if "asked_for_missing" in v else "unwanted_call")
    if v.get("asked_for_missing") is False and not v["predicted_call"]:
        reasons.append("did_not_ask")  # no call, but no question either
    if v["hallucinated_functions"]:
        reasons.append("hallucinated_function")
    if v["hallucinated_arguments"]:
        reasons.append("hallucinated_argument")
    if v["missing_required"]:
        reasons.append("missing_required")
    if v["type_errors"]:
        reasons.append("type_error")
    if v["expected_call"] and v["predicted_call"] and not v["exact_match"]:
        if not v["names_correct"]:
            reasons.append("wrong_function")
        elif len(v["predicted_calls"]) != len(v["expected_calls"]):
            reasons.append("wrong_call_count")
        else:
            reasons.append("wrong_arguments")
    return reasons


def aggregate(verdicts: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts and rates over a list of verdicts (one category, or all of them)."""
    n = len(verdicts)
    called = [v for v in verdicts if v["predicted_call"]]
    expect = [v for v in verdicts if v["expected_call"]]
    matched = sum(v["argument_pairs"]["matched"] for v in verdicts)
    pred_pairs = sum(v["argument_pairs"]["predicted"] for v in verdicts)
    gold_pairs = sum(v["argument_pairs"]["expected"] for v in verdicts)
    precision = _ratio(matched, pred_pairs, empty=1.0 if not gold_pairs else 0.0)
    recall = _ratio(matched, gold_pairs, empty=1.0 if not pred_pairs else 0.0)
    out: dict[str, Any] = {
        "count": n,
        "exact_call_accuracy": _ratio(sum(v["exact_match"] for v in verdicts), n),
        "call_decision_accuracy": _ratio(sum(v["decision_correct"] for v in verdicts), n),
        "function_name_accuracy": _ratio(sum(v["names_correct"] for v in expect), len(expect), empty=None),
        "argument_precision": precision,
        "argument_recall": recall,
        "argument_f1": _f1(precision, recall),
        "hallucinated_function_rate": _ratio(
            sum(bool(v["hallucinated_functions"]) for v in called), len(called)
        ),
        "hallucinated_argument_rate": _ratio(
            sum(bool(v["hallucinated_arguments"]) for v in called), len(called)
        ),
        "missing_required_rate": _ratio(sum(bool(v["missing_required"]) for v in called), len(called)),
        "type_error_rate": _ratio(sum(bool(v["type_errors"]) for v in called), len(called)),
        "unparsable_rate": _ratio(sum(v["unparsable"] for v in verdicts), n),
        "missing_predictions": sum(v["missing_prediction"] for v in verdicts),
        "counts": {
            "exact": sum(v["exact_match"] for v in verdicts),
            "decision_correct": sum(v["decision_correct"] for v in verdicts),
            "expected_call": len(expect),
            "predicted_call": len(called),
            "unparsable": sum(v["unparsable"] for v in verdicts),
        },
    }
    executed = [v for v in verdicts if v.get("execution_match") is not None]
    if executed:
        out["execution_match_rate"] = _ratio(sum(v["execution_match"] for v in executed), len(executed))
        out["counts"]["executed"] = len(executed)
    episodes = [v for v in verdicts if "episode_completed" in v]
    if episodes:
        judged = [v for v in episodes if v["episode_match"] is not None]
        out["episode_match_rate"] = _ratio(sum(v["episode_match"] for v in judged), len(judged), empty=None)
        out["episode_completion_rate"] = _ratio(sum(v["episode_completed"] for v in episodes), len(episodes))
        out["counts"]["episodes"] = len(episodes)
    slot = [v for v in verdicts if "asked_for_missing" in v]
    if slot:
        out["asked_for_missing_rate"] = _ratio(sum(v["asked_for_missing"] for v in slot), len(slot))
        out["counts"]["slot_filling_questions"] = len(slot)
    reasons = Counter(r for v in verdicts for r in v["reasons"])
    out["reasons"] = dict(reasons.most_common())
    return out


def confusion(verdicts: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Call vs no-call confusion matrix: rows = expected, columns = predicted."""
    table = {"call": {"call": 0, "no_call": 0}, "no_call": {"call": 0, "no_call": 0}}
    for v in verdicts:
        row = "call" if v["expected_call"] else "no_call"
        col = "call" if v["predicted_call"] else "no_call"
        table[row][col] += 1
    return table


def score(gold: list[GoldItem], preds: dict[str, Prediction], runtime: Any = None) -> list[dict[str, Any]]:
    """Verdicts for every gold item (a gold id with no prediction counts as a missing prediction).

    With a `ToolRuntime`, samples that expect calls also get `execution_match` (results compared).
    """
    verdicts = []
    for item in gold:
        pred = preds.get(item.id)
        verdict = score_sample(item, pred)
        if runtime is not None and item.expected_calls:
            from fc_plugin.evaluate.runtime import execution_match

            verdict.update(
                execution_match(runtime, item.expected_calls, pred.calls if pred else [], item.sample.tools)
            )
        verdicts.append(verdict)
    return verdicts


def summarize(verdicts: list[dict[str, Any]]) -> dict[str, Any]:
    """Top-level metrics, per-category aggregates and the confusion matrix."""
    overall = aggregate(verdicts)
    categories: dict[str, list[dict[str, Any]]] = {}
    for v in verdicts:
        categories.setdefault(v["category"], []).append(v)
    return {
        "exact_call_accuracy": overall["exact_call_accuracy"],
        "call_decision_accuracy": overall["call_decision_accuracy"],
        "overall": overall,
        "categories": {name: aggregate(vs) for name, vs in sorted(categories.items())},
        "confusion": confusion(verdicts),
    }


def _ratio(num: float, den: float, empty: float | None = 0.0) -> float | None:
    return round(num / den, 6) if den else empty


def _f1(p: float, r: float) -> float:
    return round(2 * p * r / (p + r), 6) if p + r else 0.0
