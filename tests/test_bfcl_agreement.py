"""Our BFCL AST checker agrees with BFCL's own (`bfcl-eval`) on BFCL's shipped data.

bfcl-eval pins numpy==1.26.4 (and more) against our torch/transformers stack, so it is installed,
once, into its own virtualenv (tests/bfcl_eval_requirements.txt; location FC_PLUGIN_BFCL_VENV,
default ~/.cache/fc-plugin/bfcl-eval-2026.3.23) and run there by tests/bfcl_reference_checker.py.
Predictions are synthesized from the possible answers: correct ones (every allowed alternative
style: optional parameters omitted, other allowed values, normalised strings, ints for floats,
reordered parallel calls) and systematically perturbed wrong ones.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from fc_plugin.evaluate import bfcl
from fc_plugin.evaluate.inputs import Prediction
from fc_plugin.sample import ToolCall

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "bfcl_eval_requirements.txt"
VENV = Path(os.environ.get("FC_PLUGIN_BFCL_VENV", Path.home() / ".cache" / "fc-plugin" / "bfcl-eval-2026.3.23"))
CATEGORIES = [
    "simple_python",
    "multiple",
    "parallel",
    "parallel_multiple",
    "irrelevance",
    "live_simple",
    "live_multiple",
    "live_parallel",
    "live_parallel_multiple",
    "live_irrelevance",
    "live_relevance",
]


@pytest.fixture(scope="module")
def bfcl_python() -> Path:
    """Python of the bfcl-eval virtualenv, installed from the frozen requirements when missing."""
    python = VENV / "bin" / "python"
    stamp = VENV / ".fc_plugin_requirements.sha256"
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if not (python.exists() and stamp.exists() and stamp.read_text() == digest):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        proc = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--no-deps", "-r", str(REQUIREMENTS)],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, f"installing bfcl-eval into {VENV} failed:\n{proc.stderr[-3000:]}"
        stamp.write_text(digest)
    return python


@pytest.fixture(scope="module")
def bfcl_data(bfcl_python: Path) -> Path:
    out = subprocess.run(
        [str(bfcl_python), "-c", "import bfcl_eval, pathlib; print(pathlib.Path(bfcl_eval.__file__).parent / 'data')"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


def _first(allowed: list[Any]) -> Any:
    return next(a for a in allowed if a != "")


def _last(allowed: list[Any]) -> Any:
    return [a for a in allowed if a != ""][-1]


def _calls(answers: list[dict[str, Any]], pick=_first, omit_optional: bool = False) -> list[ToolCall]:
    calls = []
    for answer in answers:
        name, params = next(iter(answer.items()))
        args = {}
        for param, allowed in params.items():
            if all(a == "" for a in allowed) or (omit_optional and "" in allowed):
                continue
            value = pick(allowed)
            if isinstance(value, dict):  # a dict value: fill its keys from their allowed values too
                value = {k: pick(v) for k, v in value.items() if not all(x == "" for x in v)}
            elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                value = [{k: pick(v) for k, v in d.items() if not all(x == "" for x in v)} for d in value]
            args[param] = value
        calls.append(ToolCall(name, args))
    return calls


def _doc(case: bfcl.BfclCase, name: str) -> dict[str, Any]:
    return next((f for f in case.functions if f["name"] == name), case.functions[0])


def _params_of_type(case: bfcl.BfclCase, call: ToolCall, *types: str) -> list[str]:
    props = _doc(case, call.name)["parameters"]["properties"]
    return [p for p in call.arguments if props.get(p, {}).get("type") in types]


def _mutate_first(calls: list[ToolCall], fn) -> list[ToolCall] | None:
    calls = copy.deepcopy(calls)
    if not calls:
        return None
    return calls if fn(calls[0]) is not False else None


def _variants(case: bfcl.BfclCase) -> dict[str, list[ToolCall] | None]:
    """Synthesized predictions for one case; None means "the output did not decode"."""
    if case.answers is None:  # (ir)relevance: no possible answer, only "is there a call"
        out: dict[str, list[ToolCall] | None] = {"no_call": [], "decode_failed": None}
        if case.functions:
            first = case.functions[0]
            required = first.get("parameters", {}).get("required", [])
            out["call_first_function"] = [ToolCall(first["name"], {p: "x" for p in required})]
        out["call_unknown_function"] = [ToolCall("not_a_tool", {})]
        return out
    full = _calls(case.answers)
    out: dict[str, list[ToolCall] | None] = {
        "correct_full": full,
        "correct_min": _calls(case.answers, omit_optional=True),
        "other_allowed": _calls(case.answers, pick=_last),
        "reversed": list(reversed(full)),
        "no_call": [],
        "decode_failed": None,
        "extra_call": full + full[:1],
        "dropped_call": full[1:] if len(full) > 1 else None,
    }

    def normalise_strings(call: ToolCall) -> bool:
        changed = False
        for p in _params_of_type(case, call, "string"):
            if isinstance(call.arguments[p], str):
                call.arguments[p] = call.arguments[p].upper().replace(" ", "_ ")
                changed = True
        return changed

    def int_for_float(call: ToolCall) -> bool:
        ps = [p for p in _params_of_type(case, call, "float") if isinstance(call.arguments[p], float)]
        for p in ps:
            call.arguments[p] = int(call.arguments[p]) if call.arguments[p].is_integer() else call.arguments[p]
        return bool(ps)

    def wrong_name(call: ToolCall) -> None:
        call.name += "_v2"

    def drop_required(call: ToolCall) -> bool:
        required = [p for p in _doc(case, call.name)["parameters"].get("required", []) if p in call.arguments]
        if not required:
            return False
        del call.arguments[required[0]]
        return True

    def drop_any(call: ToolCall) -> bool:
        if not call.arguments:
            return False
        del call.arguments[sorted(call.arguments)[-1]]
        return True

    def extra_param(call: ToolCall) -> None:
        call.arguments["unexpected_flag"] = True

    def wrong_string(call: ToolCall) -> bool:
        ps = _params_of_type(case, call, "string", "any")
        if not ps:
            return False
        call.arguments[ps[0]] = "definitely wrong value"
        return True

    def number_as_string(call: ToolCall) -> bool:
        ps = [p for p in _params_of_type(case, call, "integer", "float") if isinstance(call.arguments[p], (int, float))]
        if not ps:
            return False
        call.arguments[ps[0]] = str(call.arguments[ps[0]])
        return True

    def bool_for_int(call: ToolCall) -> bool:
        ps = _params_of_type(case, call, "integer")
        if not ps:
            return False
        call.arguments[ps[0]] = True
        return True

    def int_plus_one(call: ToolCall) -> bool:
        ps = [p for p in _params_of_type(case, call, "integer", "float") if type(call.arguments[p]) in (int, float)]
        if not ps:
            return False
        call.arguments[ps[0]] += 1
        return True

    def float_for_int(call: ToolCall) -> bool:
        ps = [p for p in _params_of_type(case, call, "integer") if type(call.arguments[p]) is int]
        if not ps:
            return False
        call.arguments[ps[0]] = float(call.arguments[ps[0]])
        return True

    def flip_bool(call: ToolCall) -> bool:
        ps = [p for p in _params_of_type(case, call, "boolean") if isinstance(call.arguments[p], bool)]
        if not ps:
            return False
        call.arguments[ps[0]] = not call.arguments[ps[0]]
        return True

    def list_reversed(call: ToolCall) -> bool:
        ps = [p for p in _params_of_type(case, call, "array", "tuple") if len(call.arguments[p] or []) > 1]
        if not ps:
            return False
        call.arguments[ps[0]] = list(reversed(call.arguments[ps[0]]))
        return True

    def list_upper(call: ToolCall) -> bool:
        ps = [p for p in _params_of_type(case, call, "array", "tuple") if call.arguments[p]]
        if not ps:
            return False
        call.arguments[ps[0]] = [v.upper() if isinstance(v, str) else v for v in call.arguments[ps[0]]]
        return True

    def list_of_ints_as_floats(call: ToolCall) -> bool:
        ps = [p for p in _params_of_type(case, call, "array") if call.arguments[p]]
        if not ps or not all(type(v) is int for v in call.arguments[ps[0]]):
            return False
        call.arguments[ps[0]] = [float(v) for v in call.arguments[ps[0]]]
        return True

    def dict_drop_key(call: ToolCall) -> bool:
        ps = [p for p in _params_of_type(case, call, "dict") if isinstance(call.arguments[p], dict) and call.arguments[p]]
        if not ps:
            return False
        d = call.arguments[ps[0]]
        del d[sorted(d)[0]]
        return True

    def dict_wrong_value(call: ToolCall) -> bool:
        ps = [p for p in _params_of_type(case, call, "dict") if isinstance(call.arguments[p], dict) and call.arguments[p]]
        if not ps:
            return False
        d = call.arguments[ps[0]]
        d[sorted(d)[0]] = "definitely wrong value"
        return True

    def dict_extra_key(call: ToolCall) -> bool:
        ps = [p for p in _params_of_type(case, call, "dict") if isinstance(call.arguments[p], dict)]
        if not ps:
            return False
        call.arguments[ps[0]]["unexpected_key"] = "x"
        return True

    for fn in (
        normalise_strings, int_for_float, wrong_name, drop_required, drop_any, extra_param, wrong_string,
        number_as_string, bool_for_int, int_plus_one, float_for_int, flip_bool, list_reversed, list_upper,
        list_of_ints_as_floats, dict_drop_key, dict_wrong_value, dict_extra_key,
    ):  # fmt: skip
        out[fn.__name__] = _mutate_first(full, fn)
    for name, base in (("min_wrong_string", "correct_min"), ("other_int_plus_one", "other_allowed")):
        out[name] = _mutate_first(out[base], wrong_string if "string" in name else int_plus_one)
    return {k: v for k, v in out.items() if v is not None or k == "decode_failed"}


@pytest.mark.e2e
@pytest.mark.timeout(900)
def test_verdicts_agree_with_bfcl_eval(bfcl_python: Path, bfcl_data: Path, tmp_path: Path) -> None:
    questions = [bfcl_data / f"BFCL_v4_{c}.json" for c in CATEGORIES]
    answers = [p for c in CATEGORIES if (p := bfcl_data / "possible_answer" / f"BFCL_v4_{c}.json").exists()]
    cases, problems = bfcl.load_cases(questions, answers)
    assert not problems, problems[:5]
    assert {c.category for c in cases} == set(CATEGORIES)

    rows, ours = [], {}
    for case in cases:
        for variant, calls in _variants(case).items():
            key = f"{case.id}|{variant}"
            pred = Prediction(case.id, calls or [], errors=["decode failed"] if calls is None else [])
            ours[key] = bfcl.check(case, copy.deepcopy(pred)).valid
            wire = None if calls is None else [c.to_dict() for c in calls]
            rows.append({"key": key, "id": case.id, "category": case.category, "calls": wire})
    src, dst = tmp_path / "preds.jsonl", tmp_path / "verdicts.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    proc = subprocess.run(
        [str(bfcl_python), str(HERE / "bfcl_reference_checker.py"), str(src), str(dst)],
        capture_output=True,
        text=True,
        env={**os.environ, "BFCL_PROJECT_ROOT": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = {r["key"]: r["valid"] for r in map(json.loads, dst.read_text(encoding="utf-8").splitlines())}

    assert theirs.keys() == ours.keys()
    disagreements = [(k, ours[k], theirs[k]) for k in ours if ours[k] != theirs[k]]
    assert not disagreements, f"{len(disagreements)} of {len(ours)} verdicts differ, e.g. {disagreements[:10]}"

    # the synthesized predictions must exercise both verdicts in every category and variant family
    by_variant: dict[str, Counter] = {}
    for key, valid in ours.items():
        by_variant.setdefault(key.split("|")[1], Counter())[valid] += 1
    assert len(ours) > 20_000
    assert by_variant["correct_full"][True] > 0.9 * sum(by_variant["correct_full"].values())
    assert by_variant["wrong_name"][True] == 0
    assert by_variant["normalise_strings"][True] > 0 and by_variant["wrong_string"][False] > 0
    print({k: dict(v) for k, v in sorted(by_variant.items())})
