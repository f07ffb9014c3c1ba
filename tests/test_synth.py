"""Rule-based synthetic data: categories, mix, determinism, values, pairs, templates, CLI, LLaMA-Factory."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from fc_plugin.categories import categorize
from fc_plugin.sample import Sample
from fc_plugin.sharegpt import core_json, from_sharegpt, to_sharegpt
from fc_plugin.synth import (
    CATEGORIES,
    Generator,
    SynthConfig,
    allocate,
    load_templates,
    load_tools,
    parse_mix,
)
from fc_plugin.synth.dates import REFERENCE_DATE, relative_dates, resolve
from fc_plugin.synth.mock import evaluate_arithmetic, mock_result
from fc_plugin.synth.values import ValueContext, draw, sample_pattern
from fc_plugin.validate import validate_sample

ROOT = Path(__file__).resolve().parents[1]
TOOLS_FILE = ROOT / "data" / "tools" / "seed_tools.json"
TEMPLATES_FILE = ROOT / "data" / "tools" / "seed_templates.json"
FC_PLUGIN = [str(Path(sys.executable).parent / "fc-plugin")]
ISO = re.compile(r"\d{4}-\d\d-\d\d")


@pytest.fixture(scope="module")
def tools() -> list[dict[str, Any]]:
    return load_tools(TOOLS_FILE)


@pytest.fixture(scope="module")
def seed_templates(tools: list[dict[str, Any]]) -> dict[str, Any]:
    return load_templates(TEMPLATES_FILE, tools)


def _generate(tools: list[dict], templates: dict | None = None, **kw: Any) -> list[Sample]:
    kw.setdefault("langs", ("en", "zh"))
    return Generator(tools, SynthConfig(**kw), templates).generate()


@pytest.fixture(scope="module")
def samples(tools: list[dict], seed_templates: dict) -> list[Sample]:
    return _generate(tools, seed_templates, n=1500, seed=7)


@pytest.fixture(scope="module")
def auto_samples(tools: list[dict]) -> list[Sample]:
    """The same tools with auto-derived templates only (no user template file)."""
    return _generate(tools, None, n=1000, seed=3)


def _user_texts(sample: Sample) -> str:
    return "\n".join(m.content for m in sample.messages if m.role == "user")


def _calls(sample: Sample) -> list:
    return [c for m in sample.messages for c in m.tool_calls]


def _said(value: Any, text: str, lang: str) -> bool:
    """Does `text` state `value`: verbatim, or as a relative date that resolves to it."""
    if str(value) in text:
        return True
    expressions = [e for e, iso in relative_dates(REFERENCE_DATE, lang) if iso == value]
    return any(e in text for e in expressions)


# --- the dataset as a whole ------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["samples", "auto_samples"])
def test_every_sample_is_valid_and_in_its_category(which: str, request: pytest.FixtureRequest) -> None:
    data: list[Sample] = request.getfixturevalue(which)
    problems = {s.id: validate_sample(s) for s in data}
    assert not {k: v for k, v in problems.items() if v}, "generated samples must all pass the validator"
    assert all(categorize(s) == s.meta["category"] for s in data)
    assert set(Counter(categorize(s) for s in data)) == set(CATEGORIES)
    assert Counter(s.meta["lang"] for s in data).keys() == {"en", "zh"}
    for s in data:  # round trip through the ShareGPT writer is lossless
        assert from_sharegpt(to_sharegpt(s)).messages == s.messages


def test_default_mix_has_every_kind_of_the_seeds(samples: list[Sample]) -> None:
    kinds = Counter(s.meta["kind"] for s in samples)
    for kind in ("request", "same_tool", "different_tools", "greeting", "out_of_scope", "near_miss_needs",
                 "near_miss_cancel", "near_miss_hypothetical", "near_miss_unavailable", "result", "follow_up",
                 "sequential", "ask_then_call", "pair_negative", "pair_sibling", "pair_perturb"):  # fmt: skip
        assert kinds[kind] > 0, kind
    assert any(k.endswith("+results") for k in kinds)


def test_requested_mix_is_met_exactly(tools: list[dict], seed_templates: dict) -> None:
    mix = parse_mix("single=0.4,no_call=0.2,parallel=0.1,multi_round=0.2,slot_filling=0.1")
    data = _generate(tools, seed_templates, n=997, mix=mix, seed=11)
    got = Counter(categorize(s) for s in data)
    assert len(data) == 997 and dict(got) == allocate(997, mix)
    for category, share in mix.items():
        assert abs(got[category] / len(data) - share) < 0.02


def test_parse_mix_and_allocate() -> None:
    assert parse_mix(None) == parse_mix("") and abs(sum(parse_mix(None).values()) - 1) < 1e-9
    full = parse_mix("single=0.5,no_call=0.5")
    assert full["single"] == 0.5 and full["parallel"] == 0.0  # sums to 1: the rest get nothing
    partial = parse_mix("single=0.4,no_call=0.2")
    assert partial["single"] == pytest.approx(0.4) and all(partial[c] > 0 for c in CATEGORIES)
    assert parse_mix("single=3,no_call=1")["single"] == pytest.approx(0.75)  # relative weights
    for bad in ("bogus=0.3", "single", "single=x", "single=-0.1", "single=0.9,no_call=0.3",
                "single=0,no_call=0,parallel=0,multi_round=0,slot_filling=0"):
        with pytest.raises(ValueError, match="--mix"):
            parse_mix(bad)
    for n in (0, 1, 7, 100, 12345):
        counts = allocate(n, parse_mix("single=0.33,parallel=0.33,no_call=0.34"))
        assert sum(counts.values()) == n and all(abs(counts[c] - n * w) < 1 for c, w in parse_mix(
            "single=0.33,parallel=0.33,no_call=0.34").items())  # fmt: skip


def test_deterministic_for_a_seed_and_different_across_seeds(tools: list[dict], seed_templates: dict) -> None:
    a = [s.to_dict() for s in _generate(tools, seed_templates, n=300, seed=5)]
    b = [s.to_dict() for s in _generate(tools, seed_templates, n=300, seed=5)]
    c = [s.to_dict() for s in _generate(tools, seed_templates, n=300, seed=6)]
    assert a == b
    assert a != c and {s["id"] for s in a} != {s["id"] for s in c}


def test_no_duplicates(samples: list[Sample]) -> None:
    rows = [core_json(to_sharegpt(s)) for s in samples]
    assert len(set(rows)) == len(rows)
    assert len({s.id for s in samples}) == len(samples)


def test_small_bank_categories_are_reported_when_exhausted() -> None:
    tool = {"name": "toggle", "description": "Toggle the light.",
            "parameters": {"type": "object", "properties": {"on": {"type": "boolean"}}, "required": ["on"]}}  # fmt: skip
    with pytest.raises(ValueError, match="unique single samples"):
        Generator([tool], SynthConfig(n=5000, mix=parse_mix("single=1"), langs=("en",))).generate()


# --- values ------------------------------------------------------------------------------------------

def test_call_values_appear_in_the_users_words(samples: list[Sample]) -> None:
    """Learnable data: every argument is copied from the user text (relative dates resolved, symbols named)."""
    checked = 0
    for s in samples:
        if s.meta["category"] not in ("single", "slot_filling", "parallel"):
            continue
        text = _user_texts(s)
        for call in _calls(s):
            for name, value in call.arguments.items():
                checked += 1
                assert _said(value, text, s.meta["lang"]), (call.name, name, value, text)
    assert checked > 1000


def test_relative_dates_resolve_against_the_reference_date(samples: list[Sample]) -> None:
    assert REFERENCE_DATE.weekday() == 2  # a Wednesday
    en, zh = dict(relative_dates(REFERENCE_DATE, "en")), dict(relative_dates(REFERENCE_DATE, "zh"))
    assert en["tomorrow"] == zh["明天"] == "2025-06-05"
    assert en["next Tuesday"] == zh["下周二"] == "2025-06-10"
    assert en["this Friday"] == zh["本周五"] == "2025-06-06"
    assert en["in 3 days"] == zh["3天后"] == "2025-06-07"
    assert "this Monday" not in en  # already past
    assert resolve("next Sunday", dt.date(2025, 6, 8)) == "2025-06-15"  # from a Sunday: the following week
    used = [s for s in samples if any(e in _user_texts(s) for e in ("next ", "tomorrow", "明天", "下周"))]
    assert used and all(s.system.endswith(("Today is 2025-06-04 (Wednesday).", "今天是2025-06-04（星期三）。"))
                        for s in samples)  # fmt: skip


def test_values_follow_schema_types_enums_formats_and_bounds() -> None:
    import random

    rng, ctx = random.Random(0), ValueContext(REFERENCE_DATE, {"nickname": ["Zed"]})
    schemas = {
        "count": {"type": "integer", "minimum": 3, "maximum": 5},
        "ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "step": {"type": "integer", "minimum": 10, "maximum": 100, "multipleOf": 10},
        "flag": {"type": "boolean"},
        "mode": {"enum": ["fast", "slow"]},
        "code": {"type": "string", "pattern": "^[A-Z]{2}-\\d{4}$"},
        "contact": {"type": "string", "format": "email"},
        "when": {"type": "string", "format": "date"},
        "link": {"type": "string", "format": "uri"},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2, "uniqueItems": True},
        "point": {"type": "object", "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}}, "required": ["x", "y"]},
        "nickname": {"type": "string"},
    }
    from jsonschema import Draft202012Validator

    for _ in range(50):
        for name, schema in schemas.items():
            for lang in ("en", "zh"):
                arg = draw("t", name, schema, lang, rng, ctx)
                assert not list(Draft202012Validator(schema).iter_errors(arg.value)), (name, arg)
    assert draw("t", "nickname", {"type": "string"}, "en", rng, ctx).value == "Zed"  # user value bank wins
    assert re.fullmatch(r"ORD\d{3}[a-c]?", sample_pattern(r"^ORD\d{3}[a-c]?$", rng))
    with pytest.raises(ValueError, match="cannot generate"):
        sample_pattern(r"(a)\1", rng)


def test_mock_results_are_deterministic_and_answers_quote_them(samples: list[Sample]) -> None:
    args = {"city": "Beijing", "date": "2025-06-10"}
    assert mock_result("get_weather", args, "en") == mock_result("get_weather", dict(args), "en")
    assert mock_result("get_weather", args, "en") != mock_result("get_weather", {**args, "city": "Paris"}, "en")
    assert evaluate_arithmetic("(12 + 30) * 4") == 168 and evaluate_arithmetic("7 / 2") == 3.5
    with pytest.raises(ValueError):
        evaluate_arithmetic("__import__('os')")
    grounded = 0
    for s in samples:
        for i, m in enumerate(s.messages[:-1]):
            if m.role != "tool" or s.messages[i + 1].role != "assistant":
                continue
            answer = s.messages[i + 1].content
            values = [str(v) for v in json.loads(m.content).values() if isinstance(v, str | int | float) and len(str(v)) > 1]
            assert any(v in answer for v in values), (m.content, answer)
            grounded += 1
            if m.name == "calculator":
                assert str(json.loads(m.content)["result"]) in answer
    assert grounded > 200


# --- the categories ------------------------------------------------------------------------------------

def test_follow_up_keeps_the_intent_and_changes_one_argument(samples: list[Sample]) -> None:
    follow_ups = [s for s in samples if s.meta["kind"] == "follow_up"]
    assert len(follow_ups) > 50
    for s in follow_ups:
        first, second = [m.tool_calls[0] for m in s.messages if m.tool_calls]
        assert first.name == second.name
        changed = [k for k in second.arguments if second.arguments[k] != first.arguments.get(k)]
        assert len(changed) == 1 and set(first.arguments) == set(second.arguments)
        follow_text = [m.content for m in s.messages if m.role == "user"][1]
        assert _said(second.arguments[changed[0]], follow_text, s.meta["lang"]), (follow_text, second)
    assert any(u.startswith(("And ", "What about", "How about")) or u.startswith("那")
               for s in follow_ups for u in [[m.content for m in s.messages if m.role == "user"][1]])  # fmt: skip


def test_slot_filling_asks_for_the_missing_required_argument(samples: list[Sample], tools: list[dict]) -> None:
    required = {t["name"]: set(t["parameters"].get("required", [])) for t in tools}
    slot = [s for s in samples if s.meta["category"] == "slot_filling"]
    assert len(slot) > 100
    for s in slot:
        user1, ask, user2, call_turn = s.messages[1:]
        assert ask.role == "assistant" and not ask.tool_calls and ask.content
        call = call_turn.tool_calls[0]
        assert required[call.name] <= set(call.arguments)
        lang = s.meta["lang"]
        missing = [k for k, v in call.arguments.items() if not _said(v, user1.content, lang) and _said(v, user2.content, lang)]
        assert missing, (user1.content, user2.content, call)


def test_no_call_samples_never_call_and_near_misses_name_a_tool(samples: list[Sample]) -> None:
    no_call = [s for s in samples if s.meta["category"] == "no_call"]
    assert all(not _calls(s) for s in no_call)
    unavailable = [s for s in no_call if s.meta["kind"] == "near_miss_unavailable"]
    assert unavailable and all(len(s.tools) == 6 for s in unavailable)  # the asked-for tool is missing


def test_unavailable_rate_sets_the_share_of_near_misses_whose_tool_is_missing(tools: list[dict]) -> None:
    """`unavailable_rate` (`synth --unavailable-rate`): that share of the near-miss no-call samples asks for
    a tool the sample does not list (that the default, 0.2, leaves the data as it was is held by the
    byte-for-byte `make synth` test below)."""
    def near_misses(**kw: Any) -> Counter:
        made = _generate(tools, n=600, seed=3, max_tools=1, **kw)
        return Counter(s.meta["kind"] for s in made if s.meta["kind"].startswith("near_miss_") and s.meta["kind"] != "near_miss_needs")

    default, high = near_misses(), near_misses(unavailable_rate=0.6)
    share = lambda c: c["near_miss_unavailable"] / sum(c.values())  # noqa: E731
    assert 0.1 < share(default) < 0.3 and 0.5 < share(high) < 0.7, (default, high)
    assert near_misses(unavailable_rate=0.0)["near_miss_unavailable"] == 0
    made = _generate(tools, n=300, seed=3, max_tools=1, unavailable_rate=1.0)
    unavailable = [s for s in made if s.meta["kind"] == "near_miss_unavailable"]
    assert unavailable and all(s.meta["kind"] != "near_miss_cancel" for s in made)
    assert all(len(s.tools) == 1 and s.messages[-1].content.startswith(("Sorry, I don't have a tool", "抱歉"))
               for s in unavailable)  # one tool listed, not the one asked for


def test_parallel_calls_are_one_turn(samples: list[Sample]) -> None:
    parallel = [s for s in samples if s.meta["category"] == "parallel"]
    assert all(sum(len(m.tool_calls) > 1 for m in s.messages) == 1 for s in parallel)
    assert any(len(_calls(s)) == 3 for s in parallel)
    same = [s for s in parallel if s.meta["kind"].startswith("same_tool")]
    assert same and all(len({c.name for c in _calls(s)}) == 1 for s in same)


def test_some_but_not_all_calls_carry_a_thought(samples: list[Sample]) -> None:
    call_turns = [m for s in samples for m in s.messages if m.tool_calls]
    share = sum(bool(m.thought) for m in call_turns) / len(call_turns)
    assert 0.2 < share < 0.4
    assert any("next" in (m.thought or "") and ISO.search(m.thought or "") for m in call_turns)  # resolved dates


def test_adversarial_pairs(samples: list[Sample]) -> None:
    pairs: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        if "pair" in s.meta:
            pairs[s.meta["pair"]].append(s)
    kinds = Counter(p.split("-")[0] for p in pairs)
    assert kinds["negative"] > 20 and kinds["sibling"] > 5 and kinds["perturb"] > 5
    for pid, members in pairs.items():
        if len(members) < 2:
            continue
        a, b = members
        ua, ub = a.messages[1].content, b.messages[1].content
        if pid.startswith("negative"):
            pos, neg = (a, b) if _calls(a) else (b, a)
            assert _calls(pos) and not _calls(neg)
            assert pos.messages[1].content in neg.messages[1].content  # same words, no call
        elif pid.startswith("sibling"):
            ca, cb = _calls(a)[0], _calls(b)[0]
            assert ca.name != cb.name
            shared = set(ca.arguments) & set(cb.arguments)
            assert shared and all(ca.arguments[k] == cb.arguments[k] for k in shared)
        else:
            ca, cb = _calls(a)[0], _calls(b)[0]
            assert ca.name == cb.name and ua != ub
            assert sum(ca.arguments[k] != cb.arguments[k] for k in ca.arguments) == 1


# --- templates -------------------------------------------------------------------------------------------

def test_user_templates_override_auto_ones(tools: list[dict], tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"tools": {"get_weather": {
        "en": {"requests": ["WX please for {city}", "WX {date} for {city}"], "action": "peek at the sky",
               "ask": {"city": ["Which town?"]}, "answers": ["Sky over {city}: {result.condition}!"]},
        "zh": ["{city}天气？"]}}, "values": {"city": ["Lisbon"]}}))  # fmt: skip
    templates = load_templates(path, tools)
    data = _generate(tools, templates, n=600, seed=1)
    weather = [s for s in data if s.meta["category"] == "single" and _calls(s)[0].name == "get_weather"]
    en = [s for s in weather if s.meta["lang"] == "en"]
    assert en and all(s.messages[1].content.startswith("WX ") for s in en)
    assert all(_calls(s)[0].arguments["city"] == "Lisbon" for s in weather)
    answers = [s.messages[i + 1].content for s in data if s.meta["lang"] == "en"
               for i, m in enumerate(s.messages[:-1])
               if m.role == "tool" and s.messages[i + 1].role == "assistant" and m.name == "get_weather"]  # fmt: skip
    assert answers and all("Sky over Lisbon: " in a for a in answers)
    asks = [s.messages[2].content for s in data if s.meta["category"] == "slot_filling" and s.meta["lang"] == "en"
            and _calls(s)[0].name == "get_weather"]  # fmt: skip
    assert asks and set(asks) == {"Which town?"}
    assert all(not validate_sample(s) for s in data)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", "not valid JSON"),
        ('{"tools": {"nope": {"en": ["x"]}}}', "unknown tool 'nope'"),
        ('{"tools": {"get_weather": {"en": ["in {town}"]}}}', "names unknown parameter\\(s\\) town"),
        ('{"tools": {"get_weather": {"fr": ["x"]}}}', "unsupported language 'fr'"),
        ('{"values": {"city": []}}', "non-empty lists"),
        ('{"other": 1}', 'expected an object with "tools"'),
    ],
)
def test_bad_template_file_is_a_clear_error(tools: list[dict], tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=match) as err:
        load_templates(path, tools)
    assert str(path) in str(err.value)


def test_arbitrary_schemas_generate_valid_samples_with_auto_templates() -> None:
    tools = [
        {"name": "createTicket", "description": "Create a support ticket.", "parameters": {"type": "object", "properties": {
            "title": {"type": "string"}, "priority": {"type": "integer", "minimum": 1, "maximum": 5},
            "labels": {"type": "array", "items": {"type": "string", "enum": ["bug", "ui", "db"]}},
            "urgent": {"type": "boolean"}, "reporter": {"type": "string", "format": "email"},
            "location": {"type": "object", "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}},
                         "required": ["lat", "lon"]}}, "required": ["title", "priority"]}},
        {"name": "convert_currency", "description": "", "parameters": {"type": "object", "properties": {
            "amount": {"type": "number", "minimum": 0}, "from": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "to": {"type": "string", "pattern": "^[A-Z]{3}$"}}, "required": ["amount", "from", "to"]}},
        {"name": "ping", "description": "Check the service is up.", "parameters": {"type": "object", "properties": {}}},
    ]  # fmt: skip
    data = Generator(tools, SynthConfig(n=400, langs=("en", "zh"), seed=2)).generate()
    assert len(data) == 400 and not [p for s in data for p in validate_sample(s)]
    assert {c.name for s in data for c in _calls(s)} == {"createTicket", "convert_currency", "ping"}
    assert any("create a support ticket" in s.messages[1].content.lower() for s in data)
    assert any("convert currency" in s.messages[1].content.lower() for s in data)  # no description: the name


def test_tools_without_required_parameters_cannot_slot_fill(tmp_path: Path) -> None:
    tools = [{"name": "ping", "description": "Check the service.", "parameters": {"type": "object", "properties": {}}},
             {"name": "pong", "description": "Answer a ping.", "parameters": {"type": "object", "properties": {}}}]
    gen = Generator(tools, SynthConfig(n=50, langs=("en",)))
    with pytest.raises(ValueError, match="slot_filling needs a tool with a required parameter"):
        gen.check_mix(parse_mix(None))
    mix = gen.feasible_mix(parse_mix(None))
    assert mix["slot_filling"] == 0 and abs(sum(mix.values()) - 1) < 1e-9


# --- the command ------------------------------------------------------------------------------------------

def _synth(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*FC_PLUGIN, "synth", *args], cwd=tmp_path, capture_output=True, text=True, timeout=300)


def test_cli_writes_dataset_rejects_stats_and_info_entry(tmp_path: Path) -> None:
    info = tmp_path / "dataset_info.json"
    info.write_text(json.dumps({"someone_else": {"file_name": "x.json"}}))
    args = ["--tools", str(TOOLS_FILE), "--templates", str(TEMPLATES_FILE), "--n", "400", "--out", "data/s.json",
            "--mix", "single=0.4,no_call=0.2,parallel=0.1,multi_round=0.2,slot_filling=0.1", "--lang", "en,zh",
            "--seed", "3", "--split-eval", "0.1"]  # fmt: skip
    run = _synth(tmp_path, *args)
    assert run.returncode == 0, run.stderr
    assert "categories: single 160 (40%)" in run.stdout and "0 rejected" in run.stdout
    assert "mix (requested -> got): single 40.0% -> 40.0%" in run.stdout
    entries = json.loads(info.read_text())
    assert entries["someone_else"] == {"file_name": "x.json"}
    assert entries["s"]["file_name"] == "data/s.json" and entries["s_eval"]["file_name"] == "data/s_eval.json"
    train = json.loads((tmp_path / "data/s.json").read_text())
    held = json.loads((tmp_path / "data/s_eval.json").read_text())
    assert len(train) + len(held) == 400 and 10 < len(held) < 80
    assert (tmp_path / "data/s.rejects.jsonl").read_text() == ""
    assert all(not validate_sample(from_sharegpt(r)) for r in train + held)
    first = (tmp_path / "data/s.json").read_bytes()
    again = _synth(tmp_path, *args)
    assert again.returncode == 0 and (tmp_path / "data/s.json").read_bytes() == first  # deterministic


def test_shipped_example_is_what_make_synth_writes(tmp_path: Path) -> None:
    """data/fc_synth_seed_tools{,_eval}.json and their dataset_info.json entries are the Makefile's
    `make synth` output, byte for byte: every default-mix category within 2%, en and zh, zero rejects."""
    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    command = re.search(r"^synth:.*\n\t\$\(BIN\)/fc-plugin synth (.*?)\n\n", make, re.S | re.M).group(1)
    args = command.replace("\\\n", " ").split()
    assert "--mix" not in args and args[args.index("--out") + 1] == "data/fc_synth_seed_tools.json"
    (tmp_path / "data" / "tools").mkdir(parents=True)  # the Makefile's relative paths, in a scratch folder
    for f in (TOOLS_FILE, TEMPLATES_FILE):
        (tmp_path / "data" / "tools" / f.name).write_bytes(f.read_bytes())
    run = _synth(tmp_path, *args, "--info", "info.json", "--json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["rejected"] == 0 and report["samples"] == 1000
    for category, share in parse_mix(None).items():
        assert abs(report["categories"][category] / report["samples"] - share) <= 0.02, category
    for name in ("fc_synth_seed_tools.json", "fc_synth_seed_tools_eval.json"):
        assert (tmp_path / "data" / name).read_bytes() == (ROOT / "data" / name).read_bytes(), f"run `make synth`: {name}"
    shipped = json.loads((ROOT / "dataset_info.json").read_text(encoding="utf-8"))
    for name, entry in json.loads((tmp_path / "info.json").read_text(encoding="utf-8")).items():
        assert shipped[name] == entry
    langs = Counter(json.loads(r["meta"])["lang"] for r in json.loads((ROOT / "data" / "fc_synth_seed_tools.json").read_text()))
    assert set(langs) == {"en", "zh"}


def _stderr_on_a_terminal(tmp_path: Path, *args: str) -> tuple[int, str]:
    """Run `fc-plugin synth` with its stderr on a pseudo-terminal (tqdm draws its bar on terminals only)."""
    import fcntl
    import os
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # 120 columns (0 draws nothing)
    proc = subprocess.Popen([*FC_PLUGIN, "synth", *args], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return proc.wait(timeout=300), b"".join(chunks).decode("utf-8", "replace")


def test_cli_shows_a_progress_bar(tmp_path: Path) -> None:
    args = ["--tools", str(TOOLS_FILE), "--n", "3000", "--out", "p.json", "--info", "i.json"]
    rc, err = _stderr_on_a_terminal(tmp_path, *args)
    assert rc == 0, err
    assert re.search(r"synth p: 100%\|.*\| 3000/3000 \[.*sample/s\]", err), err[-500:]
    rc, err = _stderr_on_a_terminal(tmp_path, *args, "--no-progress")
    assert rc == 0 and "synth p:" not in err and "3000/3000" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tools", "missing.json"], "missing.json: cannot read tools file"),
        (["--tools", str(TOOLS_FILE), "--mix", "single=2,oops=1"], "--mix: bad entry 'oops=1'"),
        (["--tools", str(TOOLS_FILE), "--lang", "en,fr"], "--lang: unsupported fr"),
        (["--tools", str(TOOLS_FILE), "--templates", str(TOOLS_FILE)], 'expected an object with "tools"'),
        (["--tools", str(TOOLS_FILE), "--today", "June 4"], "--today: 'June 4' is not a YYYY-MM-DD date"),
    ],
)
def test_cli_bad_input_is_one_clear_line(tmp_path: Path, args: list[str], message: str) -> None:
    run = _synth(tmp_path, *args, "--n", "10", "--out", "d.json")
    assert run.returncode == 2
    assert message in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "d.json").exists()


# --- LLaMA-Factory reads every sample ------------------------------------------------------------------------

def test_llamafactory_keeps_and_tokenizes_every_synth_sample(tiny_model: Path, samples: list[Sample]) -> None:
    """LLaMA-Factory's own ShareGPT converter + supervised processor, with each plugin tool format."""
    from llamafactory.data.converter import get_dataset_converter
    from llamafactory.data.parser import DatasetAttr
    from llamafactory.data.processor import SupervisedDatasetProcessor
    from llamafactory.data.template import get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments
    from transformers import AutoTokenizer

    from fc_plugin import templates

    rows = [to_sharegpt(s) for s in samples[:120]]
    attr = DatasetAttr("file", "synth", formatting="sharegpt")
    attr.system, attr.tools = "system", "tools"
    for name in [n for n in templates.names() if n.endswith("_qwen")]:
        tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
        data_args = DataArguments(template=name, cutoff_len=8192)
        converter = get_dataset_converter("sharegpt", attr, data_args)
        examples = [converter(r) for r in rows]
        assert all(e["_prompt"] and e["_response"] for e in examples), f"{name}: LLaMA-Factory dropped a sample"
        template = get_template_and_fix_tokenizer(tokenizer, data_args)
        processor = SupervisedDatasetProcessor(template=template, tokenizer=tokenizer, processor=None, data_args=data_args)
        batch = {k: [e[k] for e in examples] for k in examples[0]}
        out = processor.preprocess_dataset(batch)
        assert len(out["input_ids"]) == len(rows)
        assert all(any(t != -100 for t in labels) for labels in out["labels"])


def test_cli_measures_tokens_and_rejects_samples_over_cutoff(tmp_path: Path, tiny_model: Path) -> None:
    args = ["--tools", str(TOOLS_FILE), "--n", "60", "--out", "d.json", "--info", "i.json", "--lang", "en",
            "--tokenizer", str(tiny_model), "--cutoff-len", "1400", "--json"]  # fmt: skip
    run = _synth(tmp_path, *args)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["length_unit"] == "tokens" and report["length"]["max"] <= 1400
    assert report["rejected"] > 0 and set(report["reject_reasons"]) <= {"too_long", "truncated_call"}
    assert report["samples"] + report["rejected"] == 60
    rejected = [json.loads(line) for line in (tmp_path / "d.rejects.jsonl").read_text().splitlines()]
    assert all(r["raw"]["messages"] and r["code"] in ("too_long", "truncated_call") for r in rejected)
    bad = _synth(tmp_path, "--tools", str(TOOLS_FILE), "--n", "5", "--out", "e.json", "--cutoff-len", "10")
    assert bad.returncode == 2 and "--cutoff-len and --template need --tokenizer PATH" in bad.stderr


def test_max_tools_shows_the_needed_tools_and_a_consistent_list(tools: list[dict], seed_templates: dict) -> None:
    data = _generate(tools, seed_templates, n=500, seed=4, max_tools=3)
    assert all(not validate_sample(s) for s in data)
    assert all(len(s.tools) <= 3 for s in data) and len({tuple(t["name"] for t in s.tools) for s in data}) > 10
    for s in data:
        names = {t["name"] for t in s.tools}
        assert {c.name for c in _calls(s)} <= names
        if s.meta["kind"] == "near_miss_unavailable":  # the reply lists exactly the tools the sample has
            listed = s.messages[-1].content
            assert all(seed_templates["tools"][n][s.meta["lang"]]["action"] in listed for n in names)


def test_parameters_that_share_a_bank_get_distinct_values() -> None:
    """`convert_currency` never converts JPY to JPY; two cities of one call differ; a one-value bank still works."""
    currencies = ["USD", "EUR", "JPY"]
    tools = [
        {"name": "convert_currency", "description": "Convert money between currencies.",
         "parameters": {"type": "object", "properties": {
             "amount": {"type": "number"}, "from_currency": {"type": "string", "enum": currencies},
             "to_currency": {"type": "string", "enum": currencies}}, "required": ["amount", "from_currency", "to_currency"]}},
        {"name": "distance", "description": "Distance between two cities.",
         "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "other_city": {"type": "string"}},
                        "required": ["city", "other_city"]}},
        {"name": "swap", "description": "Swap a thing.",
         "parameters": {"type": "object", "properties": {"a": {"type": "string", "enum": ["x"]},
                                                         "b": {"type": "string", "enum": ["x"]}}, "required": ["a", "b"]}},
    ]  # fmt: skip
    calls: dict[str, list[dict]] = defaultdict(list)
    for s in _generate(tools, n=300, seed=3, langs=("en",), mix=parse_mix("single=1")):
        for m in s.messages:
            for c in m.tool_calls or []:
                calls[c.name].append(c.arguments)
    assert len(calls["convert_currency"]) >= 30 and len(calls["distance"]) >= 30 and calls["swap"]
    assert all(a["from_currency"] != a["to_currency"] for a in calls["convert_currency"])
    assert all(a["city"] != a["other_city"] for a in calls["distance"])
    assert all(a == {"a": "x", "b": "x"} for a in calls["swap"])


def test_cli_exclude_keeps_another_datasets_samples_out(tmp_path: Path) -> None:
    """`--exclude`: a run never repeats a sample of the given datasets (read back from ShareGPT, so the
    identity survives the round trip), still makes `--n` samples, and a bad excluded record is an error
    naming the file and the record."""
    common = ["--tools", str(TOOLS_FILE), "--templates", str(TEMPLATES_FILE), "--lang", "en", "--max-tools", "1",
              "--mix", "parallel=1", "--n", "150", "--seed", "5", "--no-progress", "--info", "info.json"]  # fmt: skip

    def identities(path: Path) -> set[str]:
        rows = json.loads(path.read_text())
        return {json.dumps([t["value"] for t in r["conversations"]]) for r in rows}

    assert _synth(tmp_path, *common, "--out", "a.json").returncode == 0
    assert _synth(tmp_path, *common, "--out", "same.json").returncode == 0
    done = _synth(tmp_path, *common, "--out", "b.json", "--exclude", "a.json")
    assert done.returncode == 0, done.stderr
    assert "excluding 150 sample(s) of a.json" in done.stderr
    a, b = identities(tmp_path / "a.json"), identities(tmp_path / "b.json")
    assert identities(tmp_path / "same.json") == a  # without --exclude the same seed repeats every sample
    assert len(b) == 150 and not a & b

    bad = json.loads((tmp_path / "a.json").read_text())
    bad[3]["conversations"] = "not a list"
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    failed = _synth(tmp_path, *common, "--out", "c.json", "--exclude", "bad.json")
    assert failed.returncode != 0
    assert "bad.json: record #3" in failed.stderr and not (tmp_path / "c.json").exists()
