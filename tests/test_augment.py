"""`fc-plugin augment`: name masking, distractors, shuffling and irrelevance samples (fc_plugin.augment)."""

from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path

import pytest

from fc_plugin import augment as aug
from fc_plugin.augment import (
    NO_CALL_REPLIES,
    AugmentConfig,
    augment_files,
    could_serve,
    irrelevance_fits,
    mask_names,
    same_purpose,
)
from fc_plugin.cli import main
from fc_plugin.sample import Message, Sample, ToolCall
from fc_plugin.sharegpt import from_sharegpt, to_sharegpt
from fc_plugin.validate import validate_sample

ROOT = Path(__file__).resolve().parents[1]
IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def tool(name: str, description: str, props: dict[str, str], required: list[str]) -> dict:
    return {
        "name": name,
        "description": description,
        "parameters": {
            "type": "object",
            "properties": {p: {"type": "string", "description": d} for p, d in props.items()},
            "required": required,
        },
    }


WEATHER = tool("get_weather", "Get the weather forecast for a city.", {"city": "City name", "start_date": "First day"}, ["city"])
EMAIL = tool("send_email", "Send an email to a recipient.", {"to": "Recipient address", "subject": "Subject line"}, ["to"])
ORDER = tool("query_order", "Query the status and total of an order.", {"order_id": "Order number"}, ["order_id"])
LOGISTICS = tool(
    "query_logistics", "Track the shipment of an order.", {"order_id": "Order number", "carrier": "Carrier"}, ["order_id"]
)
MOVIES = tool(
    "get_movie_showtimes", "Find the showtimes of a movie.", {"movie": "Title", "city": "City", "start_date": "Day"}, ["movie"]
)
STOCK = tool("search_stock", "Look up the latest price of a stock.", {"symbol": "Ticker"}, ["symbol"])
WEATHER_NOW = tool("weather_now", "Current weather of a city.", {"city": "City name"}, ["city"])


def call_sample(tools: list[dict], name: str, args: dict, user: str = "Weather in Paris?", sid: str | None = None) -> Sample:
    msgs = [Message("user", user), Message("assistant", "", [ToolCall(name, args)])]
    return Sample(msgs, tools, sid)


def write_rows(path: Path, samples: list[Sample]) -> Path:
    path.write_text(json.dumps([to_sharegpt(s) for s in samples], ensure_ascii=False), encoding="utf-8")
    return path


def read_rows(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))


def rates(**given: float) -> dict[str, float]:
    return {"mask": 0.0, "distractors": 0.0, "shuffle": 0.0, "irrelevance": 0.0, **given}


# -- masking -------------------------------------------------------------------------------------
def rich_sample() -> Sample:
    return Sample(
        [
            Message("system", "You can call get_weather for forecasts and send_email for mail."),
            Message("user", "Weather in Paris from 2025-01-02? Use `city` = Paris, then mail a@b.example."),
            Message(
                "assistant",
                "",
                [ToolCall("get_weather", {"city": "Paris", "start_date": "2025-01-02"}),
                 ToolCall("send_email", {"to": "a@b.example", "subject": "weather"})],
                thought="I will call get_weather with the city and start_date, then send_email.",
            ),
            Message("tool", '{"city": "Paris", "start_date": "2025-01-02", "temp": 21}', name="get_weather"),
            Message("tool", "sent by send_email to a@b.example", name="send_email"),
            Message("assistant", "It is 21 degrees in the city; get_weather was right."),
        ],
        [WEATHER, EMAIL],
        "rich",
    )  # fmt: skip


def test_mask_renames_consistently_in_tools_calls_results_and_text() -> None:
    sample = rich_sample()
    out, names = mask_names(sample, random.Random(0))
    fn, params = names["functions"], names["parameters"]
    assert set(fn) == {"get_weather", "send_email"} and set(params) == {"city", "start_date", "to", "subject"}
    new_names = [*fn.values(), *params.values()]
    assert all(IDENT.match(n) for n in new_names) and len(set(new_names)) == len(new_names)
    assert not set(new_names) & {*fn, *params}
    # tools: names, properties and required renamed; every description kept
    for old, new in zip(sample.tools, out.tools, strict=True):
        assert new["name"] == fn[old["name"]] and new["description"] == old["description"]
        assert list(new["parameters"]["properties"]) == [params[p] for p in old["parameters"]["properties"]]
        assert new["parameters"]["required"] == [params[r] for r in old["parameters"]["required"]]
        for p, schema in old["parameters"]["properties"].items():
            assert new["parameters"]["properties"][params[p]] == schema
    # calls
    calls = out.messages[2].tool_calls
    assert [c.name for c in calls] == [fn["get_weather"], fn["send_email"]]
    assert calls[0].arguments == {params["city"]: "Paris", params["start_date"]: "2025-01-02"}
    # results: function names, JSON keys that are parameters, identifiers in text
    weather_result, email_result = out.messages[3], out.messages[4]
    assert weather_result.name == fn["get_weather"] and email_result.name == fn["send_email"]
    assert json.loads(weather_result.content) == {params["city"]: "Paris", params["start_date"]: "2025-01-02", "temp": 21}
    assert email_result.content == f"sent by {fn['send_email']} to a@b.example"
    # thought, system, user and answer: identifier-like names everywhere, plain words only where written as code
    thought = out.messages[2].thought or ""
    assert fn["get_weather"] in thought and params["start_date"] in thought and fn["send_email"] in thought
    assert "the city and" in thought  # 'city' in prose stays a word
    assert fn["get_weather"] in out.messages[0].content
    assert f"`{params['city']}` = Paris" in out.messages[1].content
    assert out.messages[5].content == f"It is 21 degrees in the city; {fn['get_weather']} was right."
    # no identifier-like old name is left anywhere in the training row, and it is valid
    row = json.dumps(to_sharegpt(out), ensure_ascii=False)
    for old in ("get_weather", "send_email", "start_date"):
        assert old not in row
    assert validate_sample(out) == []


def test_mask_in_chinese_thought_renames_plain_word_parameters() -> None:
    s = Sample(
        [Message("user", "查一下北京天气。"),
         Message("assistant", "", [ToolCall("get_weather", {"city": "北京"})], thought="调用 get_weather，city 为北京。")],
        [WEATHER],
    )  # fmt: skip
    out, names = mask_names(s, random.Random(1))
    assert out.messages[1].thought == f"调用 {names['functions']['get_weather']}，{names['parameters']['city']} 为北京。"


# -- irrelevance and distractors -----------------------------------------------------------------
def test_could_serve_and_same_purpose() -> None:
    logistics_call = ToolCall("query_logistics", {"order_id": "ORD12345"})
    assert could_serve(ORDER, logistics_call, LOGISTICS)  # takes the call's arguments
    assert not could_serve(EMAIL, ToolCall("get_weather", {"city": "Paris"}), WEATHER)
    flights = tool("search_flights", "Search one-way flights between airports.", {"origin": "From", "dest": "To"}, ["origin"])
    book = tool("book_flight", "Book a flight ticket.", {"departure": "From", "destination": "To"}, ["departure"])
    assert could_serve(flights, ToolCall("book_flight", {"departure": "SFO", "destination": "JFK"}), book)
    assert same_purpose(WEATHER_NOW, WEATHER) and not same_purpose(ORDER, LOGISTICS)


def test_irrelevance_fits_only_when_no_remaining_tool_could_serve() -> None:
    assert irrelevance_fits(call_sample([WEATHER, EMAIL], "get_weather", {"city": "Paris"}))
    assert not irrelevance_fits(call_sample([ORDER, LOGISTICS], "query_logistics", {"order_id": "ORD12345"}))
    assert not irrelevance_fits(call_sample([WEATHER, WEATHER_NOW], "get_weather", {"city": "Paris"}))
    asked = Sample(
        [Message("user", "Weather?"), Message("assistant", "Which city?"), Message("user", "Paris"),
         Message("assistant", "", [ToolCall("get_weather", {"city": "Paris"})])],
        [WEATHER, EMAIL],
    )  # fmt: skip
    assert not irrelevance_fits(asked)  # the opening turn is not the request + its call


def test_irrelevance_samples_have_a_no_call_reply_and_no_tool_that_fits(tmp_path: Path) -> None:
    samples = []
    for k in range(30):
        samples.append(call_sample([WEATHER, EMAIL], "get_weather", {"city": f"City{k}"}, f"Weather in City{k}?", f"w{k}"))
        samples.append(call_sample([ORDER, LOGISTICS], "query_logistics", {"order_id": f"ORD{k:05d}"}, f"Where is ORD{k:05d}?", f"o{k}"))
        samples.append(call_sample([WEATHER], "get_weather", {"city": "北京"}, f"北京天气怎么样？第{k}次", f"z{k}"))
    samples.append(call_sample([MOVIES, STOCK, WEATHER_NOW], "search_stock", {"symbol": "AAPL"}, "AAPL?", "s0"))
    src = write_rows(tmp_path / "src.json", samples)
    config = AugmentConfig(seed=0, rates=rates(irrelevance=1.0))
    result = augment_files([src], tmp_path / "out.json", "out", config, info_path=tmp_path / "info.json", progress=False)
    rows = read_rows(tmp_path / "out.json")
    by_id = {s.id: s for s in samples}
    irrelevant = 0
    for row in rows:
        out = from_sharegpt(row)
        kinds = out.meta.get("augment", [])
        if "irrelevance" not in kinds:
            continue
        irrelevant += 1
        original = by_id[out.id]
        removed = original.messages[1].tool_calls[0]
        assert out.id.startswith(("w", "z", "s"))  # never the logistics samples: query_order could serve them
        assert [m.role for m in out.messages] == ["user", "assistant"] and not out.messages[-1].tool_calls
        lang = "zh" if out.id.startswith("z") else "en"
        assert out.messages[-1].content in NO_CALL_REPLIES[lang]
        assert removed.name not in {t["name"] for t in out.tools}
        assert out.tools, "a refusal is taught next to tools that do not fit"
        called = next(t for t in original.tools if t["name"] == removed.name)
        assert not any(could_serve(t, removed, called) for t in out.tools)  # e.g. weather_now never listed
        assert validate_sample(out) == []
    assert irrelevant == result.report.kinds["irrelevance"] >= 40
    assert result.report.irrelevance_blocked >= 30  # the logistics samples were drawn but kept


def test_distractors_similar_first_never_same_purpose(tmp_path: Path) -> None:
    pool = [call_sample([t], t["name"], {t["parameters"]["required"][0]: "x"}, f"use {t['name']}") for t in (MOVIES, STOCK, EMAIL, WEATHER_NOW)]
    targets = [call_sample([WEATHER], "get_weather", {"city": f"C{k}"}, f"Weather in C{k}?", f"t{k}") for k in range(20)]
    src = write_rows(tmp_path / "src.json", [*pool, *targets])
    config = AugmentConfig(seed=5, rates=rates(distractors=1.0), max_distractors=1)
    augment_files([src], tmp_path / "out.json", "out", config, info_path=None, progress=False)
    for row in read_rows(tmp_path / "out.json"):
        out = from_sharegpt(row)
        if out.id and out.id.startswith("t"):
            names = [t["name"] for t in out.tools]
            assert names == ["get_weather", "get_movie_showtimes"], names  # shares city + start_date


# -- files: determinism, rejects, atomicity, dataset_info -----------------------------------------
def small_dataset(tmp_path: Path) -> Path:
    samples = [rich_sample()]
    for k in range(40):
        samples.append(call_sample([WEATHER, EMAIL], "get_weather", {"city": f"C{k}"}, f"Weather in C{k}?"))
        samples.append(call_sample([ORDER, LOGISTICS], "query_order", {"order_id": f"ORD{k:05d}"}, f"Status of ORD{k:05d}?"))
        samples.append(call_sample([STOCK, MOVIES], "search_stock", {"symbol": f"S{k}"}, f"Price of S{k}?"))
    return write_rows(tmp_path / "src.json", samples)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    src = small_dataset(tmp_path)
    outs = []
    for k, seed in enumerate((3, 3, 4)):
        out = tmp_path / f"out{k}.json"
        augment_files([src], out, "out", AugmentConfig(seed=seed), info_path=None, progress=False)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    assert outs[0] != outs[2]
    kinds = [set(json.loads(r.get("meta", "{}")).get("augment", [])) for r in json.loads(outs[0])]
    assert len(kinds) == 121 and all(any(k in s for s in kinds) for k in ("mask", "distractors", "shuffle", "irrelevance"))


def test_rates_are_applied_and_reported(tmp_path: Path) -> None:
    src = small_dataset(tmp_path)
    result = augment_files([src], tmp_path / "m.json", "m", AugmentConfig(rates=rates(mask=1.0)), info_path=None, progress=False)
    rows = read_rows(tmp_path / "m.json")
    assert result.report.kinds["mask"] == len(rows) == 121 and result.report.unchanged == 0
    assert all("get_weather" not in r["tools"] and "query_order" not in r["tools"] for r in rows)
    result = augment_files([src], tmp_path / "n.json", "n", AugmentConfig(rates=rates()), info_path=None, progress=False)
    assert result.report.unchanged == 121 and not any(result.report.kinds.values())
    assert read_rows(tmp_path / "n.json") == read_rows(src)
    with pytest.raises(ValueError, match="--mask rate"):
        AugmentConfig(rates={"mask": 1.5})


def test_invalid_augmented_sample_is_kept_as_reject_and_original_written(tmp_path: Path) -> None:
    strict = {"name": "lookup_city", "description": "Look up a city.",
              "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                             "propertyNames": {"pattern": "^city$"}, "required": ["city"]}}  # fmt: skip
    good = call_sample([strict], "lookup_city", {"city": "Paris"}, "Paris?")
    bad = call_sample([WEATHER], "get_forecast", {"city": "Paris"}, "Forecast?")  # calls a function it lacks
    src = write_rows(tmp_path / "src.json", [good, bad])
    result = augment_files([src], tmp_path / "out.json", "out", AugmentConfig(rates=rates(mask=1.0)), info_path=None, progress=False)
    assert result.exit_code == 0 and result.report.fallback == 1
    assert [from_sharegpt(r).messages[1].tool_calls[0].name for r in read_rows(tmp_path / "out.json")] == ["lookup_city"]
    rejects = [json.loads(line) for line in (tmp_path / "out.rejects.jsonl").read_text().splitlines()]
    assert {r["code"] for r in rejects} == {"schema_violation", "hallucinated_function"}
    masked = next(r for r in rejects if r["code"] == "schema_violation")
    assert masked["message"].startswith("augmented (mask)") and masked["file"] == str(src) and masked["index"] == 0
    assert masked["augmented"]["tools"][0]["name"] != "lookup_city" and masked["raw"]["tools"][0]["name"] == "lookup_city"
    input_reject = next(r for r in rejects if r["code"] == "hallucinated_function")
    assert "get_forecast" in input_reject["message"] and input_reject["index"] == 1


def test_output_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out, info = tmp_path / "out.json", tmp_path / "info.json"
    out.write_text("OLD")
    info.write_text('{"other": {"file_name": "other.json"}}')
    nothing = write_rows(tmp_path / "bad.json", [call_sample([WEATHER], "nope", {}, "x")])
    result = augment_files([nothing], out, "out", info_path=info, progress=False)
    assert result.exit_code == 1 and "no valid sample" in result.reason
    assert out.read_text() == "OLD" and json.loads(info.read_text()) == {"other": {"file_name": "other.json"}}
    assert (tmp_path / "out.rejects.jsonl").read_text().count("hallucinated_function") == 1

    calls = {"n": 0}
    real = aug.validate_sample

    def failing(sample: Sample, **kw: object) -> list:
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("disk on fire")
        return real(sample, **kw)

    monkeypatch.setattr(aug, "validate_sample", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        augment_files([small_dataset(tmp_path)], out, "out", AugmentConfig(rates=rates(mask=1.0)), info_path=info, progress=False)
    assert out.read_text() == "OLD" and json.loads(info.read_text()) == {"other": {"file_name": "other.json"}}
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left behind


def test_dataset_names_are_read_and_the_entry_merged(tmp_path: Path) -> None:
    small_dataset(tmp_path)  # src.json
    info = tmp_path / "dataset_info.json"
    info.write_text(json.dumps({"other": {"file_name": "x.json"}, "src": {"file_name": "src.json", "formatting": "sharegpt",
                                "columns": {"messages": "conversations", "system": "system", "tools": "tools"}}}))  # fmt: skip
    (tmp_path / "data").mkdir()
    result = augment_files(["src"], tmp_path / "data" / "aug.json", "fc_aug", info_path=info, progress=False)
    assert result.committed and result.written == 121
    entries = json.loads(info.read_text())
    assert entries["other"] == {"file_name": "x.json"} and "src" in entries
    assert entries["fc_aug"]["file_name"] == "data/aug.json" and entries["fc_aug"]["formatting"] == "sharegpt"
    assert entries["fc_aug"]["tags"]["function_tag"] == "function_call"


def test_shipped_raw_samples(tmp_path: Path) -> None:
    """data/raw: eleven formats, auto-detected per file, Chinese records, BFCL context files; a
    second copy of one file makes every one of its samples a duplicate."""
    raw = tmp_path / "raw"
    shutil.copytree(ROOT / "data" / "raw", raw)
    shutil.copy(raw / "sharegpt.json", raw / "sharegpt_copy.json")
    config = AugmentConfig(seed=1, rates=rates(mask=0.67, distractors=0.5, shuffle=1.0, irrelevance=0.3))
    result = augment_files([raw], tmp_path / "out.json", "out", config, info_path=None, progress=False)
    assert len(set(result.formats.values())) >= 10
    rows = read_rows(tmp_path / "out.json")
    assert len(rows) == result.report.inputs == result.written
    rejects = [json.loads(line) for line in (tmp_path / "out.rejects.jsonl").read_text().splitlines()]
    copies = [r for r in rejects if r.get("file", "").endswith("sharegpt_copy.json")]
    assert copies and all(r["code"] == "duplicate" for r in copies)
    assert len(copies) == len(json.loads((ROOT / "data" / "fc_sharegpt_sample.json").read_text()))  # its converted samples
    zh_replies = 0
    for row in rows:
        out = from_sharegpt(row)
        assert validate_sample(out) == [], row
        if "irrelevance" in out.meta.get("augment", []) and re.search("[\u4e00-\u9fff]", out.messages[-2].content):
            assert out.messages[-1].content in NO_CALL_REPLIES["zh"]
            zh_replies += 1
    assert zh_replies >= 1
    assert result.report.kinds["mask"] > 0 and result.report.pool > 40


def test_cli_prints_the_report_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = small_dataset(tmp_path)
    info = tmp_path / "info.json"
    assert main(["augment", str(src), "--out", str(tmp_path / "a.json"), "--info", str(info), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "augmented: mask" in text and "tool pool:" in text and "a (augmented from sharegpt, seed 0): 121 sample(s)" in text
    code = main(["augment", str(src), "--out", str(tmp_path / "b.json"), "--info", str(info), "--json", "--irrelevance", "0",
                 "--mask", "1", "--no-progress"])  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["augment"]["kinds"]["mask"] == 121 and report["augment"]["kinds"]["irrelevance"] == 0
    assert set(json.loads(info.read_text())) == {"a", "b"}
    assert main(["augment", "missing_name", "--out", str(tmp_path / "c.json"), "--info", str(info)]) == 2


# -- review fixes ---------------------------------------------------------------------------------
_HASHSEED_SCRIPT = """
import sys
from fc_plugin.augment import AugmentConfig, augment_files
rates = {"mask": 0.5, "distractors": 1.0, "shuffle": 1.0, "irrelevance": 0.2}
augment_files([sys.argv[1]], sys.argv[2], "out", AugmentConfig(seed=0, rates=rates), info_path=None, progress=False)
"""


def test_same_bytes_under_any_hash_seed(tmp_path: Path) -> None:
    """Distractor ranking ties are broken the same way whatever PYTHONHASHSEED (sets of words)."""
    import os
    import subprocess
    import sys

    trip = tool("plan_trip", "Plan trip itinerary budget hotel museum restaurant beach train.", {"dest": "Where"}, ["dest"])
    shared = ["itinerary", "budget", "hotel", "museum", "restaurant", "beach", "train", "trip"]
    pool = []
    for k in range(48):  # every pool tool shares one word with plan_trip: all tie, the tie-breakers decide
        t = tool(f"tool{chr(97 + k % 26)}{chr(97 + k // 26)}", f"Handles {shared[k % 8]} stuff.", {f"p{k}x": "x"}, [f"p{k}x"])
        pool.append(call_sample([t], t["name"], {f"p{k}x": "v"}, f"use {t['name']}", f"p{k}"))
    targets = [call_sample([trip], "plan_trip", {"dest": f"D{k}"}, f"Plan a trip to D{k}", f"t{k}") for k in range(30)]
    src = write_rows(tmp_path / "src.json", [*pool, *targets])
    outs = []
    for seed in ("1", "2", "3"):
        out = tmp_path / f"out{seed}.json"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-c", _HASHSEED_SCRIPT, str(src), str(out)], check=True, env=env, cwd=ROOT)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2]


def test_no_call_samples_never_get_a_distractor_that_serves_the_request(tmp_path: Path) -> None:
    refusal = "Sorry, I can only send emails."
    samples = [
        Sample([Message("user", f"What's the weather in City{k}?"), Message("assistant", refusal)], [EMAIL], f"r{k}")
        for k in range(30)
    ]
    for t in (WEATHER, WEATHER_NOW, STOCK, ORDER, MOVIES):  # the pool: two weather tools among others
        samples.append(call_sample([t], t["name"], {t["parameters"]["required"][0]: "x"}, f"use {t['name']}", t["name"]))
    src = write_rows(tmp_path / "src.json", samples)
    config = AugmentConfig(seed=0, rates=rates(distractors=1.0))
    augment_files([src], tmp_path / "out.json", "out", config, info_path=None, progress=False)
    added = 0
    for row in read_rows(tmp_path / "out.json"):
        out = from_sharegpt(row)
        if out.id and out.id.startswith("r"):
            names = {t["name"] for t in out.tools}
            assert not names & {"get_weather", "weather_now"}, (out.id, names)
            added += len(names) - 1
    assert added >= 20  # distractors were added, only not the ones that fit the request


def test_mask_leaves_prose_before_a_colon_alone() -> None:
    text_tool = tool("translate_text", "Translate text.", {"text": "The text", "target": "Language"}, ["text"])
    s = Sample(
        [Message("user", "Translate the following text: Hello world. Target = French, please."),
         Message("assistant", "", [ToolCall("translate_text", {"text": "Hello world", "target": "fr"})],
                 thought='Call translate_text({"text": "Hello world"}) with\ntext: Hello world\ntranslate_text(text=x, target=fr)\n'
                         'so I call it with text="Hello world", target = fr; the text == input')],
        [text_tool],
    )  # fmt: skip
    out, names = mask_names(s, random.Random(0))
    text, target = names["parameters"]["text"], names["parameters"]["target"]
    assert out.messages[0].content == s.messages[0].content  # prose: "text:" and "Target =" are words here
    fn = names["functions"]["translate_text"]
    assert out.messages[1].thought == (f'Call {fn}({{"{text}": "Hello world"}}) with\n{text}: Hello world\n{fn}({text}=x, {target}=fr)\n'
                                       f'so I call it with {text}="Hello world", {target} = fr; the text == input')


def test_mask_renames_result_keys_in_place() -> None:
    result = '{\n  "city": "Paris",\n  "price": 1.50,\n  "note": "a  b,c:d",\n  "nested": {"city" : [1.0e3, "x"]},\n  "start_date":"2025"\n}'
    s = Sample(
        [Message("user", "Weather?"), Message("assistant", "", [ToolCall("get_weather", {"city": "Paris"})]),
         Message("tool", result, name="get_weather"), Message("assistant", "Sunny.")],
        [WEATHER],
    )  # fmt: skip
    out, names = mask_names(s, random.Random(0))
    city, start = names["parameters"]["city"], names["parameters"]["start_date"]
    expected = result.replace('"city"', f'"{city}"').replace('"start_date"', f'"{start}"')
    assert out.messages[2].content == expected  # indent, 1.50, spacing in strings: byte-identical


def test_augmented_duplicate_of_an_earlier_row_writes_the_original(tmp_path: Path) -> None:
    """Irrelevance turns samples that differ only in the call into the same request + refusal."""
    samples = [call_sample([WEATHER, EMAIL], "get_weather", {"city": f"Paris{k}"}, "Weather in Paris?", f"w{k}") for k in range(12)]
    src = write_rows(tmp_path / "src.json", samples)
    config = AugmentConfig(seed=0, rates=rates(irrelevance=1.0))
    result = augment_files([src], tmp_path / "out.json", "out", config, info_path=None, progress=False)
    rows = read_rows(tmp_path / "out.json")
    assert len(rows) == result.written == 12  # at most len(NO_CALL_REPLIES["en"]) refusals differ
    outs = [from_sharegpt(r) for r in rows]
    originals = [o for o in outs if not o.meta.get("augment")]
    assert originals and all(o.messages[1].tool_calls for o in originals)
    report = result.report
    assert report.kinds["irrelevance"] == 12 - len(originals) == len(outs) - report.unchanged
    assert report.duplicate_fallback == len(originals) and report.unchanged == len(originals)
    rejects = [json.loads(line) for line in (tmp_path / "out.rejects.jsonl").read_text().splitlines()]
    assert len(rejects) == len(originals) and all(r["code"] == "duplicate" for r in rejects)


def test_irrelevance_never_leaves_an_empty_tool_list(tmp_path: Path) -> None:
    samples = [call_sample([WEATHER], "get_weather", {"city": f"C{k}"}, f"Weather in C{k}?", f"w{k}") for k in range(10)]
    src = write_rows(tmp_path / "src.json", samples)
    config = AugmentConfig(seed=0, rates=rates(irrelevance=1.0))
    result = augment_files([src], tmp_path / "out.json", "out", config, info_path=None, progress=False)
    rows = [from_sharegpt(r) for r in read_rows(tmp_path / "out.json")]
    assert len(rows) == 10 and all(o.tools and o.messages[1].tool_calls for o in rows)
    assert result.report.kinds["irrelevance"] == 0 and result.report.irrelevance_blocked == 10


def test_augment_reads_inputs_like_convert(tmp_path: Path) -> None:
    """Both go through the one outcome loop: the same rows and the same rejects for data/raw."""
    from fc_plugin.convert import pipeline

    raw = tmp_path / "raw"
    shutil.copytree(ROOT / "data" / "raw", raw)
    shutil.copy(raw / "sharegpt.json", raw / "sharegpt_copy.json")
    conv = pipeline.convert_files([raw], tmp_path / "c.json", "c", info_path=None)
    result = augment_files([raw], tmp_path / "a.json", "a", AugmentConfig(rates=rates()), info_path=None, progress=False)
    assert read_rows(tmp_path / "a.json") == read_rows(tmp_path / "c.json")
    assert result.formats == conv.formats and result.stats.records == conv.stats.records
    assert result.stats.skipped == conv.stats.skipped
    a_rejects = (tmp_path / "a.rejects.jsonl").read_text().splitlines()
    c_rejects = (tmp_path / "c.rejects.jsonl").read_text().splitlines()
    assert [json.loads(r) for r in a_rejects] == [json.loads(r) for r in c_rejects]
    assert aug.valid_outcomes is pipeline.valid_outcomes  # one copy of the loop


def test_mask_with_english_words_renames_as_consistently_and_draws_common_words() -> None:
    from fc_plugin.base_model import WORDS

    sample = rich_sample()
    out, names = mask_names(sample, random.Random(0), "words")
    fn, params = names["functions"], names["parameters"]
    assert set(fn) == {"get_weather", "send_email"} and set(params) == {"city", "start_date", "to", "subject"}
    new_names = [*fn.values(), *params.values()]
    assert len(set(new_names)) == len(new_names) and not set(new_names) & {*fn, *params}
    for name in new_names:  # snake_case or camelCase of common English words
        pieces = re.split(r"_|(?<=[a-z])(?=[A-Z])", name)
        assert pieces and all(piece.lower() in WORDS for piece in pieces), name
    calls = out.messages[2].tool_calls
    assert [c.name for c in calls] == [fn["get_weather"], fn["send_email"]]
    assert calls[0].arguments == {params["city"]: "Paris", params["start_date"]: "2025-01-02"}
    assert json.loads(out.messages[3].content) == {params["city"]: "Paris", params["start_date"]: "2025-01-02", "temp": 21}
    assert validate_sample(out) == []
    # another style draws other names from the same stream; the default stays pseudo-words
    random_names = mask_names(sample, random.Random(0))[1]
    assert random_names["functions"] != fn
    assert not all(p.lower() in WORDS for p in re.split(r"_|(?<=[a-z])(?=[A-Z])", random_names["functions"]["get_weather"]))
    with pytest.raises(ValueError, match="--names must be one of random, words"):
        AugmentConfig(names="syllables")


def test_cli_names_words(tmp_path: Path) -> None:
    src = write_rows(tmp_path / "in.json", [rich_sample()])
    out = tmp_path / "out.json"
    code = main(["augment", str(src), "--out", str(out), "--info", str(tmp_path / "dataset_info.json"),
                 "--mask", "1", "--distractors", "0", "--names", "words", "--no-progress"])  # fmt: skip
    assert code == 0
    row = read_rows(out)[0]
    name = json.loads(row["tools"])[0]["name"] if isinstance(row["tools"], str) else row["tools"][0]["name"]
    from fc_plugin.base_model import WORDS

    assert name not in ("get_weather", "send_email")
    assert all(p.lower() in WORDS for p in re.split(r"_|(?<=[a-z])(?=[A-Z])", name))
