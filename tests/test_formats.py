"""Per-format conversion: every data/raw sample converts to the expected canonical samples, is detected
as its own format and no other, passes validation, and bad records raise ConvertError with the right code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fc_plugin.categories import categorize
from fc_plugin.convert import FORMATS, ConvertError, convert_record, detect_format
from fc_plugin.convert.glaive import parse_functioncall
from fc_plugin.convert.toolace import parse_python_calls
from fc_plugin.normalize import normalize_sample
from fc_plugin.sample import Message, Sample, ToolCall
from fc_plugin.validate import validate_sample

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"

SAMPLE_FILES = {
    "openai": "openai.jsonl",
    "seed003": "seed003.json",
    "alpaca_fc": "alpaca_fc.json",
    "glaive": "glaive.json",
    "xlam": "xlam.json",
    "hermes": "hermes.json",
    "toolace": "toolace.json",
    "toolbench": "toolbench.json",
    "bfcl": "bfcl.json",
    "sharegpt": "sharegpt.json",
    "lf_v1": "lf_v1.jsonl",
}

# The categories each sample file must cover (what the format can express).
COVERAGE = {
    "openai": {"single", "parallel", "multi_round", "no_call", "slot_filling"},
    "seed003": {"single", "no_call"},
    "alpaca_fc": {"single", "parallel", "multi_round", "no_call", "slot_filling"},
    "glaive": {"multi_round", "no_call", "slot_filling"},
    "xlam": {"single", "parallel", "no_call"},
    "hermes": {"single", "parallel", "multi_round", "no_call", "slot_filling"},
    "toolace": {"parallel", "multi_round", "no_call", "slot_filling"},
    "toolbench": {"multi_round"},
    "bfcl": {"single", "parallel", "no_call"},
    "sharegpt": {"parallel", "multi_round", "no_call", "slot_filling"},
    "lf_v1": {"single", "parallel", "multi_round", "no_call"},
}


def load_records(name: str) -> list[Any]:
    text = (RAW / SAMPLE_FILES[name]).read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def convert_all(name: str) -> list[list[Sample]]:
    """Samples of each record of a format's sample file, with the format's context if it has one."""
    module = FORMATS[name]
    context = (
        module.load_context([str(RAW / SAMPLE_FILES[name])]) if hasattr(module, "load_context") else None
    )
    return [convert_record(module, record, context) for record in load_records(name)]


def one(name: str, index: int) -> Sample:
    samples = convert_all(name)[index]
    assert len(samples) == 1
    return samples[0]


def roles(sample: Sample) -> list[str]:
    return [m.role for m in sample.messages]


def calls(sample: Sample) -> list[list[tuple[str, dict]]]:
    """The calls of each assistant turn that calls, as (name, arguments)."""
    return [[(c.name, c.arguments) for c in m.tool_calls] for m in sample.messages if m.tool_calls]


# -- every sample file ------------------------------------------------------------------------------
def test_every_format_has_a_sample_file() -> None:
    assert set(FORMATS) == set(SAMPLE_FILES)
    for name, module in FORMATS.items():
        assert module.NAME == name and module.LF_NAME == "fc_" + name


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_sample_file_converts_and_validates(name: str) -> None:
    records = load_records(name)
    assert 5 <= len(records) <= 20
    converted = convert_all(name)
    samples = [s for group in converted for s in group]
    assert len(samples) == len(records)
    for i, sample in enumerate(samples):
        assert validate_sample(sample) == [], f"{name} record {i}"
        assert sample.tools, f"{name} record {i} has no tools"
    covered = {categorize(normalize_sample(s)) for s in samples}
    assert COVERAGE[name] <= covered, f"{name} covers {covered}"


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_detect_picks_its_own_format_and_no_other(name: str) -> None:
    records = load_records(name)
    for i, record in enumerate(records):
        hits = [other for other, module in FORMATS.items() if module.detect(record)]
        assert hits == [name], f"{name} record {i} detected as {hits}"
    assert detect_format(records) == name


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_pipeline_auto_detects_and_keeps_every_record(name: str, tmp_path: Path) -> None:
    """The real `fc-plugin convert` pipeline (auto-detection, BFCL context hook, validation, writer)."""
    from fc_plugin.convert.pipeline import ConvertOptions, convert_files

    out = tmp_path / f"{name}.json"
    result = convert_files(
        [RAW / SAMPLE_FILES[name]],
        out,
        f"fc_{name}_test",
        ConvertOptions(progress=False),
        tmp_path / "dataset_info.json",
    )
    assert result.formats == {str(RAW / SAMPLE_FILES[name]): name}
    assert (result.rejected, result.written, result.exit_code) == (0, len(load_records(name)), 0)
    rows = json.loads(out.read_text(encoding="utf-8"))
    assert len(rows) == result.written and all(r["conversations"] for r in rows)


# -- concrete conversions -------------------------------------------------------------------------
def test_openai_parallel_calls_and_results_matched_by_id() -> None:
    s = one("openai", 1)
    assert roles(s) == ["user", "assistant", "tool", "tool", "assistant"]
    assert calls(s) == [
        [
            ("get_current_weather", {"location": "Paris, France", "format": "celsius"}),
            ("get_current_weather", {"location": "Berlin, Germany", "format": "celsius"}),
        ]
    ]
    assert [m.name for m in s.messages if m.role == "tool"] == ["get_current_weather"] * 2
    assert json.loads(s.messages[2].content) == {"temperature": 17, "condition": "light rain"}
    assert s.tools[0]["name"] == "get_current_weather" and s.tools[0]["parameters"]["required"] == [
        "location",
        "format",
    ]


def test_openai_legacy_functions_and_function_role() -> None:
    s = one("openai", 5)
    assert roles(s) == ["user", "assistant", "tool", "assistant"]
    assert calls(s) == [[("get_current_weather", {"location": "Boston, USA", "format": "fahrenheit"})]]
    assert s.messages[2].name == "get_current_weather"
    assert [t["name"] for t in s.tools] == ["get_current_weather"]


def test_openai_slot_filling_and_developer_role() -> None:
    s = one("openai", 4)
    assert roles(s) == ["system", "user", "assistant", "user", "assistant", "tool", "assistant"]
    assert s.messages[2].content.startswith("Sure - which date") and not s.messages[2].tool_calls
    assert calls(s)[0][0][1]["date"] == "2025-03-14"
    record = {
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
            {"role": "assistant", "content": "Hello!"},
        ]
    }
    s = FORMATS["openai"].convert(record)[0]
    assert [(m.role, m.content) for m in s.messages] == [
        ("system", "Be brief."),
        ("user", "Hi"),
        ("assistant", "Hello!"),
    ]


def test_seed003_record_of_the_seed_infers_its_tool() -> None:
    s = one("seed003", 0)
    assert roles(s) == ["user", "assistant"]
    assert s.messages[0].content == "预订明天下午3点的会议室,时长2小时"
    assert calls(s) == [
        [("book_meeting_room", {"start_time": "15:00", "duration": 120, "date": "2024-03-15"})]
    ]
    assert s.meta == {"tools_inferred": True, "response": "已为您预订3号会议室"}
    params = s.tools[0]["parameters"]
    assert params["properties"] == {
        "start_time": {"type": "string"},
        "duration": {"type": "integer"},
        "date": {"type": "string"},
    }
    assert params["required"] == ["start_time", "duration", "date"]


def test_seed003_no_call_json_string_arguments_and_observation() -> None:
    s = one("seed003", 7)
    assert roles(s) == ["user", "assistant"] and not s.messages[1].tool_calls
    assert s.messages[1].content.startswith("好的，请问您从哪个城市出发")
    assert [t["name"] for t in s.tools] == ["book_flight", "get_weather"] and "tools_inferred" not in s.meta
    record = {"instruction": "Convert 250 US dollars to euros", "response": "About 231.50 EUR.",
              "function_call": {"name": "convert_currency", "arguments": '{"amount": 250, "from": "USD", "to": "EUR"}'}}  # fmt: skip
    assert calls(FORMATS["seed003"].convert(record)[0]) == [
        [("convert_currency", {"amount": 250, "from": "USD", "to": "EUR"})]
    ]
    record = {
        "instruction": "查询北京天气",
        "function_call": {"name": "get_weather", "arguments": {"city": "北京"}},
        "observation": {"weather": "晴", "temp": 12},
        "response": "北京今天晴，12℃。",
    }
    s = FORMATS["seed003"].convert(record)[0]
    assert roles(s) == ["user", "assistant", "tool", "assistant"]
    assert (s.messages[2].name, json.loads(s.messages[2].content)) == (
        "get_weather",
        {"weather": "晴", "temp": 12},
    )
    assert s.messages[3].content == "北京今天晴，12℃。" and "response" not in s.meta
    assert validate_sample(s) == []


def test_alpaca_fc_thought_call_and_tools_from_the_system_prompt() -> None:
    s = one("alpaca_fc", 0)
    assert [(m.role, m.content) for m in s.messages[:2]] == [
        ("system", "你是一个助手。"),
        ("user", "帮我查查苹果公司的股价。"),
    ]
    assert s.messages[2].thought == "用户想查询苹果股价，我需要调用 search_stock 工具，参数是 AAPL。"
    assert calls(s) == [[("search_stock", {"symbol": "AAPL"})]]  # arguments were a JSON string
    assert [t["name"] for t in s.tools] == ["search_stock"]
    s = one("alpaca_fc", 1)  # tools given on a "Tools:" line of the input
    assert [t["name"] for t in s.tools] == ["get_weather"] and calls(s) == [
        [("get_weather", {"city": "北京"})]
    ]


def test_alpaca_fc_transcript_results_and_parallel() -> None:
    s = one("alpaca_fc", 3)
    assert roles(s) == ["system", "user", "assistant", "tool", "assistant"]
    assert s.messages[3].name == "search_stock" and json.loads(s.messages[3].content)["price"] == "180.5"
    assert s.messages[4].content == "苹果公司(AAPL)当前的股价是 180.5 美元。"
    s = one("alpaca_fc", 6)  # follow-up reusing the intent with a new argument
    assert roles(s) == ["system", "user", "assistant", "tool", "assistant", "user", "assistant"]
    assert calls(s)[-1] == [("get_weather", {"city": "上海"})]
    assert calls(one("alpaca_fc", 7)) == [
        [("get_weather", {"city": "北京"}), ("get_weather", {"city": "上海"})]
    ]


def test_glaive_turns_calls_and_results() -> None:
    s = one("glaive", 2)
    assert roles(s) == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
        "assistant",
        "tool",
        "assistant",
    ]
    assert (
        s.messages[0].content
        == "You are a helpful assistant with access to the following functions. Use them if required."
    )
    assert calls(s) == [
        [("get_movie_details", {"title": "Inception"})],
        [("get_movie_details", {"title": "The Dark Knight"})],
    ]
    assert s.messages[3].name == "get_movie_details" and json.loads(s.messages[3].content)["year"] == 2010
    assert not any("<|endoftext|>" in m.content for m in s.messages)
    assert [t["name"] for t in one("glaive", 6).tools] == ["get_exchange_rate", "calculate_bmi"]


def test_glaive_single_quoted_arguments_with_an_apostrophe() -> None:
    s = one("glaive", 4)
    assert calls(s) == [
        [("create_note", {"title": "Groceries", "content": "Buy milk, eggs and Mom's favourite rye bread"})]
    ]
    call = parse_functioncall(
        """{"name": "calculate_tip", "arguments": '{"bill_amount": 85.5, "tip_percentage": 15}'}"""
    )
    assert call == ToolCall("calculate_tip", {"bill_amount": 85.5, "tip_percentage": 15})


def test_xlam_parallel_answers_and_parameter_dialect() -> None:
    s = one("xlam", 0)
    assert s.id == "0" and roles(s) == ["user", "assistant"]
    assert calls(s) == [
        [("live_giveaways_by_type", {"type": "beta"}), ("live_giveaways_by_type", {"type": "game"})]
    ]
    assert s.tools[0]["parameters"]["type"] == "object"
    assert s.tools[0]["parameters"]["properties"]["type"]["type"] == "string"
    merge = one("xlam", 3).tools[1]["parameters"]["properties"]["list1"]
    assert merge["type"] == "array" and merge["items"] == {"type": "integer"}
    assert calls(one("xlam", 7)) == [
        [("search", {"query": "phone", "brand": "Samsung", "max_price": 300, "prime": True})]
    ]


def test_xlam_irrelevance_record_is_a_no_call_sample() -> None:
    s = one("xlam", 8)
    assert roles(s) == ["user", "assistant"] and not s.messages[1].tool_calls and s.messages[1].content


def test_hermes_python_literal_tools_calls_and_clean_system() -> None:
    s = one("hermes", 0)
    system = s.messages[0].content
    assert system.startswith("You are a function calling AI model.") and "'function'" not in system
    assert "For each function call" not in system and "<args-dict>" not in system
    assert [t["name"] for t in s.tools] == ["get_camera_live_feed", "list_recorded_feeds"]
    assert calls(s) == [
        [
            ("get_camera_live_feed", {"camera_id": "front_entrance", "stream_quality": "1080p"}),
            ("get_camera_live_feed", {"camera_id": "parking_lot", "stream_quality": "1080p"}),
        ]
    ]
    assert s.meta == {
        "category": "IoT and Home Automation",
        "subcategory": "Security Camera Management",
        "task": "View and Manage Security Camera Feeds",
    }


def test_hermes_tool_responses_and_final_answer() -> None:
    s = one("hermes", 3)
    assert roles(s) == ["system", "user", "assistant", "tool", "assistant", "tool", "assistant"]
    assert [m.name for m in s.messages if m.role == "tool"] == [
        "get_inventory_levels",
        "create_purchase_order",
    ]
    assert json.loads(s.messages[3].content)["levels"] == {"SKU-1042": 32, "SKU-2210": 410}
    assert calls(s)[1] == [
        ("create_purchase_order", {"sku": "SKU-1042", "quantity": 200, "supplier_id": "SUP-88"})
    ]


def test_hermes_tools_one_object_per_line_and_bare_responses() -> None:
    tool = {"type": "function", "function": {"name": "calculate_bmi", "description": "BMI", "parameters": {
        "type": "object", "properties": {"weight": {"type": "number"}, "height": {"type": "number"}}}}}  # fmt: skip
    other = {
        "type": "function",
        "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
    }
    record = {"conversations": [
        {"from": "system", "value": f"You are a function calling AI model.\n<tools> {json.dumps(tool)}\n{json.dumps(other)} </tools>"},
        {"from": "human", "value": "I weigh 70 kg and I am 1.75 m tall."},
        {"from": "gpt", "value": '<tool_call>\n{"name": "calculate_bmi", "arguments": {"weight": 70, "height": 1.75}}\n</tool_call>'},
        {"from": "tool", "value": '<tool_response>\n{"bmi": 22.86}\n</tool_response>'},
        {"from": "gpt", "value": "Your BMI is 22.86."},
    ]}  # fmt: skip
    s = FORMATS["hermes"].convert(record)[0]
    assert [t["name"] for t in s.tools] == ["calculate_bmi", "get_time"]
    assert s.messages[0].content == "You are a function calling AI model."
    assert (s.messages[3].name, json.loads(s.messages[3].content)) == ("calculate_bmi", {"bmi": 22.86})
    assert validate_sample(s) == []


def test_toolace_python_calls_names_with_spaces_and_results() -> None:
    s = one("toolace", 1)
    assert "NO other text" not in s.messages[0].content and "[{" not in s.messages[0].content
    assert s.messages[0].content.endswith("You should only return the function call in tools call sections.")
    assert calls(s) == [
        [
            ("Get Hourly Forecast", {"city": "Paris", "hours": 6}),
            ("Get Hourly Forecast", {"city": "Rome", "hours": 6}),
        ]
    ]
    results = [m for m in s.messages if m.role == "tool"]
    assert [m.name for m in results] == ["Get Hourly Forecast"] * 2 and json.loads(results[1].content)[
        "city"
    ] == "Rome"
    hourly = s.tools[0]["parameters"]
    assert hourly["type"] == "object" and hourly["properties"]["hours"]["type"] == "integer"


def test_toolace_nested_literals_and_chinese_dialog() -> None:
    s = one("toolace", 4)
    assert calls(s) == [
        [
            (
                "CropYieldPredictor.predictYield",
                {
                    "crop": "wheat",
                    "field": {"area_hectares": 12.5, "soil_ph": 6.8},
                    "fertilizers": ["urea", "potash"],
                    "irrigated": True,
                },
            )
        ]
    ]
    s = one("toolace", 5)
    assert (
        s.messages[0].content.startswith("你是一个组合函数的专家") and "函数列表" not in s.messages[0].content
    )
    assert calls(s) == [
        [
            (
                "searchTrainTickets",
                {"from_station": "北京", "to_station": "上海", "date": "2024-05-01", "seat_type": "二等座"},
            )
        ],
        [("getRecipe", {"dish": "红烧肉"})],
    ]


def test_parse_python_calls_takes_literals_only() -> None:
    assert parse_python_calls('[f(a=-1, b=[1, (2, 3)], c={"k": null}, d=True), Get Data v2(q="x, y")]') == [
        ToolCall("f", {"a": -1, "b": [1, [2, 3]], "c": {"k": None}, "d": True}),
        ToolCall("Get Data v2", {"q": "x, y"}),
    ]
    assert parse_python_calls("[ping()]") == [ToolCall("ping", {})]
    for text in (
        '[f(a=__import__("os").system("id"))]',
        "[f(a=x + 1)]",
        "[f(1, 2)]",
        "[f(**kw)]",
        "[f(a=1]",
        "f(a=1)",
    ):
        with pytest.raises(ConvertError) as err:
            parse_python_calls(text)
        assert err.value.code == "unparsable_call", text


def test_toolbench_react_steps_and_finish() -> None:
    s = one("toolbench", 0)
    assert roles(s) == ["user", "assistant", "tool", "assistant", "tool", "assistant"]
    assert (
        s.messages[0].content.startswith("I'm planning a road trip") and "Begin!" not in s.messages[0].content
    )
    assert calls(s) == [
        [("search_places_for_spott", {"q": "Van", "limit": 5, "country": "CA"})],
        [("get_place_by_id_for_spott", {"is_id": "6173331"})],
    ]
    assert s.messages[1].thought.startswith("I should search places")
    assert s.messages[-1].content.startswith("Canadian cities starting with 'Van'") and s.messages[-1].thought
    assert [t["name"] for t in s.tools] == [
        "search_places_for_spott",
        "get_place_by_id_for_spott",
    ]  # no Finish
    assert "optional" not in s.tools[0]["parameters"]
    assert calls(one("toolbench", 1))[0] == [("jokes_random_for_chuck_norris", {})]


def test_bfcl_first_allowed_value_and_omitted_optionals() -> None:
    s = one("bfcl", 0)
    assert s.id == "simple_0" and roles(s) == ["user", "assistant"]
    assert calls(s) == [[("calculate_triangle_area", {"base": 10, "height": 5, "unit": "units"})]]
    assert s.tools[0]["parameters"]["type"] == "object"  # Gorilla "dict"
    assert calls(one("bfcl", 6)) == [
        [("triangle_properties.get", {"side1": 5, "side2": 4, "side3": 3})]
    ]  # "" first: omitted
    assert calls(one("bfcl", 10)) == [[("getElementById", {"elementId": "userInputField"})]]


def test_bfcl_gorilla_types_dict_tuple_float_any() -> None:
    s = one("bfcl", 2)  # tuple
    assert calls(s) == [[("calculate_distance", {"pointA": [3, 4], "pointB": [1, 2], "rounding": 2})]]
    assert s.tools[0]["parameters"]["properties"]["pointA"]["type"] == "array"
    s = one("bfcl", 4)  # dict argument: allowed values per key
    assert calls(s) == [
        [
            (
                "hotel_booking.book",
                {
                    "hotel_name": "Hilton",
                    "location": "Barcelona, Spain",
                    "room_preferences": {"bed_type": "king", "smoking": False, "view": "sea"},
                    "nights": 3,
                },
            )
        ]
    ]
    assert one("bfcl", 3).tools[0]["parameters"]["properties"]["principle"]["type"] == "number"  # float
    s = one("bfcl", 9)  # Java: any
    assert "type" not in s.tools[0]["parameters"]["properties"]["controller"]
    assert calls(s) == [
        [("GeometryPresentation.createPresentation", {"controller": "mapController", "parent": "mapArea"})]
    ]


def test_bfcl_parallel_irrelevance_and_live_system_prompt() -> None:
    assert calls(one("bfcl", 5)) == [
        [
            ("spotify.play", {"artist": "Taylor Swift", "duration": 20}),
            ("spotify.play", {"artist": "Maroon 5", "duration": 15}),
        ]
    ]
    s = one("bfcl", 8)
    assert s.id == "irrelevance_0" and roles(s) == ["user", "assistant"] and not s.messages[1].tool_calls
    s = one("bfcl", 12)
    assert roles(s) == ["system", "user", "assistant"] and calls(s)[0][0][1] == {
        "location": "Shanghai, China",
        "unit": "celsius",
    }
    assert (
        "现有的工具" in one("bfcl", 13).messages[-1].content
    )  # a Chinese request gets a Chinese no-call reply


def test_bfcl_context_from_explicit_answer_files_and_inline_truth(tmp_path: Path) -> None:
    bfcl = FORMATS["bfcl"]
    question = {
        "id": "simple_9",
        "question": [[{"role": "user", "content": "Factorial of 7?"}]],
        "function": [
            {
                "name": "math.factorial",
                "parameters": {"type": "dict", "properties": {"number": {"type": "integer"}}},
            }
        ],
    }
    answers = tmp_path / "answers.jsonl"
    answers.write_text(
        json.dumps({"id": "simple_9", "ground_truth": [{"math.factorial": {"number": [7]}}]}) + "\n"
    )
    context = bfcl.load_context([str(tmp_path / "questions.json"), str(answers)])
    assert calls(bfcl.convert(question, context)[0]) == [[("math.factorial", {"number": 7})]]
    assert (
        bfcl.convert({"id": "simple_9", "ground_truth": []}, context) == []
    )  # answer records are context only
    inline = {**question, "ground_truth": [{"math.factorial": {"number": [3]}}]}
    assert calls(bfcl.convert(inline)[0]) == [[("math.factorial", {"number": 3})]]
    with pytest.raises(ConvertError) as err:
        bfcl.convert(question)
    assert err.value.code == "missing_answer"


def test_bfcl_v1_question_string_and_single_function_object() -> None:
    record = {"id": "simple_7", "question": "What is 2 to the power of 10?",
              "function": {"name": "math.power", "parameters": {"type": "dict", "properties": {
                  "base": {"type": "integer"}, "exponent": {"type": "integer"}, "mod": {"type": "integer"}}}},
              "ground_truth": {"math.power": {"base": [2], "exponent": [10], "mod": ["", 1]}}}  # fmt: skip
    s = FORMATS["bfcl"].convert(record)[0]
    assert roles(s) == ["user", "assistant"] and calls(s) == [[("math.power", {"base": 2, "exponent": 10})]]


def test_sharegpt_reads_llamafactory_rows_back() -> None:
    s = one("sharegpt", 1)
    assert roles(s) == ["system", "user", "assistant", "tool", "tool", "assistant"]
    assert s.messages[2].thought == "两个城市互不依赖，并行查询。"
    assert calls(s) == [
        [
            ("get_weather", {"city": "北京", "unit": "celsius"}),
            ("get_weather", {"city": "广州", "unit": "celsius"}),
        ]
    ]
    results = [
        m for m in s.messages if m.role == "tool"
    ]  # one observation holding both results, as the writer makes it
    assert [m.name for m in results] == ["get_weather", "get_weather"] and json.loads(results[1].content)[
        "city"
    ] == "广州"


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_every_converted_sample_round_trips_through_sharegpt(name: str) -> None:
    """canonical -> LLaMA-Factory ShareGPT row -> the sharegpt format converter -> the same canonical sample."""
    from fc_plugin.sharegpt import to_sharegpt

    for group in convert_all(name):
        for sample in group:
            sample = normalize_sample(sample)
            back = FORMATS["sharegpt"].convert(to_sharegpt(sample))[0]
            assert [m.to_dict() for m in back.messages] == [m.to_dict() for m in sample.messages]
            assert back.tools == sample.tools


# -- bad records ------------------------------------------------------------------------------------
_TOOLACE_SYSTEM = 'Here is a list of functions in JSON format that you can invoke:\n[{"name": "f", "parameters": {"type": "dict", "properties": {}}}]'
_HERMES_SYSTEM = "<tools>\n[{'type': 'function', 'function': {'name': 'f', 'parameters': {'type': 'object', 'properties': {}}}}]\n</tools>"
_TOOLBENCH_SYSTEM = "Specifically, you have access to the following APIs: [{'name': 'f', 'parameters': {}}]"
_BFCL_FUNCTION = [{"name": "f", "parameters": {"type": "dict", "properties": {}}}]

BAD_RECORDS = [
    ("openai", {"messages": "hi"}, "wrong_type"),
    ("openai", {"messages": [{"role": "robot", "content": "x"}]}, "unknown_role"),
    ("openai", {"messages": [{"role": "user", "content": 5}]}, "wrong_type"),
    (
        "openai",
        {
            "messages": [
                {"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "{oops"}}]}
            ]
        },
        "invalid_json",
    ),
    (
        "openai",
        {"messages": [{"role": "assistant", "tool_calls": [{"function": {"arguments": "{}"}}]}]},
        "missing_field",
    ),
    (
        "openai",
        {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
        "wrong_type",
    ),
    (
        "openai",
        {
            "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "function", "function": {"description": "no name"}}],
        },
        "invalid_tool_schema",
    ),
    ("seed003", {"instruction": "x", "function_call": {"arguments": {}}}, "missing_field"),
    ("seed003", {"instruction": "x", "function_call": "{not json"}, "invalid_json"),
    ("seed003", {"instruction": "x", "function_call": None}, "missing_field"),
    ("seed003", {"instruction": 3, "function_call": None, "response": "y"}, "wrong_type"),
    (
        "alpaca_fc",
        {"instruction": "x", "input": "User: hi", "output": "<function_call>{broken</function_call>"},
        "unparsable_call",
    ),
    (
        "alpaca_fc",
        {"instruction": "x", "input": "User: hi", "output": "<function_call>[1, 2]</function_call>"},
        "unparsable_call",
    ),
    (
        "alpaca_fc",
        {"instruction": "x", "input": "User: hi", "output": "<thought>t</thought>"},
        "missing_field",
    ),
    ("alpaca_fc", {"instruction": "x", "output": 7}, "wrong_type"),
    (
        "glaive",
        {"system": "SYSTEM: x", "chat": "USER: hi\n\n\nASSISTANT: <functioncall> {name: f} <|endoftext|>"},
        "unparsable_call",
    ),
    (
        "glaive",
        {
            "system": "SYSTEM: x",
            "chat": 'USER: hi\n\n\nASSISTANT: <functioncall> {"name": "f", "arguments": \'[1]\'}',
        },
        "invalid_json",
    ),
    ("glaive", {"system": "SYSTEM: x", "chat": "hello there\nUSER: hi"}, "unknown_role"),
    ("glaive", {"system": 'SYSTEM: x -\n{"name": "f"', "chat": "USER: hi"}, "invalid_json"),
    ("glaive", {"system": "SYSTEM: x", "chat": None}, "missing_field"),
    ("xlam", {"query": "q", "tools": "[]", "answers": "[]"}, "empty_tools"),
    ("xlam", {"query": "q", "tools": '[{"name": "f", "parameters": {}}]', "answers": "[{"}, "invalid_json"),
    (
        "xlam",
        {"query": "q", "tools": '[{"name": "f", "parameters": {}}]', "answers": '{"name": "f"}'},
        "wrong_type",
    ),
    (
        "xlam",
        {"query": "q", "tools": '[{"name": "f", "parameters": {}}]', "answers": '[{"arguments": {}}]'},
        "missing_field",
    ),
    ("xlam", {"query": "q", "tools": 5, "answers": "[]"}, "wrong_type"),
    (
        "hermes",
        {
            "conversations": [
                {"from": "system", "value": "x"},
                {"from": "human", "value": "hi"},
                {"from": "gpt", "value": "<tool_call>\n{'name': 'f', 'arguments': {}}\n</tool_call>"},
            ]
        },
        "empty_tools",
    ),
    (
        "hermes",
        {
            "conversations": [
                {"from": "system", "value": _HERMES_SYSTEM},
                {"from": "gpt", "value": "<tool_call>\n{'name': f}\n</tool_call>"},
            ]
        },
        "unparsable_call",
    ),
    ("hermes", {"conversations": [{"from": "wizard", "value": "<tools>"}]}, "unknown_role"),
    ("hermes", {"conversations": [{"from": "human", "value": None}]}, "missing_field"),
    (
        "toolace",
        {"system": "no tools here", "conversations": [{"from": "user", "value": "hi"}]},
        "empty_tools",
    ),
    (
        "toolace",
        {"system": _TOOLACE_SYSTEM, "conversations": [{"from": "assistant", "value": "[f(a=open('x'))]"}]},
        "unparsable_call",
    ),
    (
        "toolace",
        {"system": _TOOLACE_SYSTEM, "conversations": [{"from": "function", "value": "x"}]},
        "unknown_role",
    ),
    ("toolace", {"system": _TOOLACE_SYSTEM, "conversations": "hi"}, "wrong_type"),
    (
        "toolbench",
        {
            "conversations": [
                {"from": "system", "value": _TOOLBENCH_SYSTEM},
                {"from": "user", "value": "q"},
                {
                    "from": "assistant",
                    "value": 'Thought: no\nAction: Finish\nAction Input: {"return_type": "give_up_and_restart"}',
                },
            ]
        },
        "gave_up",
    ),
    (
        "toolbench",
        {
            "conversations": [
                {"from": "system", "value": _TOOLBENCH_SYSTEM},
                {"from": "assistant", "value": 'Thought: t\nAction: f\nAction Input: {"q": '},
            ]
        },
        "invalid_json",
    ),
    (
        "toolbench",
        {"conversations": [{"from": "system", "value": "You are AutoGPT. [no apis]"}]},
        "empty_tools",
    ),
    ("toolbench", {"conversations": [{"from": "critic", "value": "x"}]}, "unknown_role"),
    (
        "bfcl",
        {"id": "simple_1", "question": [[{"role": "user", "content": "q"}]], "function": []},
        "empty_tools",
    ),
    (
        "bfcl",
        {"id": "simple_1", "question": [[{"role": "user", "content": "q"}]], "function": _BFCL_FUNCTION},
        "missing_answer",
    ),
    (
        "bfcl",
        {"id": "simple_1", "question": [[{"role": "robot", "content": "q"}]], "function": _BFCL_FUNCTION},
        "unknown_role",
    ),
    (
        "bfcl",
        {
            "id": "multi_turn_base_0",
            "question": [[{"role": "user", "content": "cd"}]],
            "involved_classes": ["GorillaFileSystem"],
        },
        "missing_field",
    ),
    (
        "bfcl",
        {
            "id": "simple_1",
            "question": [[{"role": "user", "content": "a"}], [{"role": "user", "content": "b"}]],
            "function": _BFCL_FUNCTION,
        },
        "unsupported",
    ),
    ("bfcl", {"id": "simple_1", "question": 5, "function": _BFCL_FUNCTION}, "wrong_type"),
    (
        "bfcl",
        {"id": "simple_1", "question": "q", "function": _BFCL_FUNCTION, "ground_truth": [{"f": {}, "g": {}}]},
        "wrong_type",
    ),
    ("sharegpt", {"conversations": [{"from": "function_call", "value": "{not json"}]}, "invalid_json"),
    ("sharegpt", {"conversations": [{"from": "human", "value": 3}]}, "wrong_type"),
]


@pytest.mark.parametrize(
    ("name", "record", "code"), BAD_RECORDS, ids=[f"{n}-{c}-{i}" for i, (n, _, c) in enumerate(BAD_RECORDS)]
)
def test_bad_record_raises_convert_error_with_its_code(name: str, record: dict, code: str) -> None:
    with pytest.raises(ConvertError) as err:
        convert_record(FORMATS[name], record)
    assert err.value.code == code, str(err.value)
    assert err.value.message  # a human explanation, not only the code


# -- robustness -------------------------------------------------------------------------------------
_FUZZ_VALUES = [None, 0, -1.5, True, "", "x", "[", "{", "[]", "{}", [], {}, [1], {"a": 1}, [{}], [None], [[{}]],
                "<tool_call>", "[f(", "USER:", "Action: x\nAction Input: {", '{"name": 3}', "<functioncall> {"]  # fmt: skip


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else []
    for key, value in items:
        out += _paths(value, (*prefix, key))
    return out


def _mutated(record: Any, rng: Any) -> Any:
    """`record` with 1-3 values replaced by another JSON type or a damaged string."""
    import copy

    record = copy.deepcopy(record)
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(_paths(record))
        parent, value = None, record
        for key in path:
            parent, value = value, value[key]
        if isinstance(value, str) and value and rng.random() < 0.6:
            i = rng.randrange(len(value))
            new = (
                value[:i]
                + rng.choice(["'", '"', "{", "]", "(", ")", "\n", ",", "\\", ""])
                + value[i + rng.randint(0, 8) :]
            )
        else:
            new = copy.deepcopy(rng.choice(_FUZZ_VALUES))
        if parent is None:
            return new if isinstance(new, dict) else record
        parent[path[-1]] = new
    return record


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # damaged strings hold "\d"-style escapes
@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_damaged_records_only_ever_raise_convert_error(name: str) -> None:
    """Seeded fuzzing of the sample records: a converter either converts or raises ConvertError."""
    import random
    import traceback

    rng = random.Random(name)
    module = FORMATS[name]
    context = (
        module.load_context([str(RAW / SAMPLE_FILES[name])]) if hasattr(module, "load_context") else None
    )
    escaped = []
    for record in load_records(name):
        for _ in range(60):
            damaged = _mutated(record, rng)
            try:
                convert_record(module, damaged, context)
            except ConvertError:
                pass
            except Exception as exc:  # any other exception would reach the user as a traceback
                frame = traceback.extract_tb(exc.__traceback__)[-1]
                where = f"{Path(frame.filename).name}:{frame.lineno} {type(exc).__name__}: {exc}"
                escaped.append(f"{where} on {json.dumps(damaged, ensure_ascii=False, default=repr)[:300]}")
    assert escaped == []


@pytest.mark.e2e
def test_llamafactory_loads_every_sample_on_the_fly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """LLaMA-Factory's own loader with `"formatting": "fc_<format>"` converts each raw sample file, dropping nothing."""
    import llamafactory.data.template  # noqa: F401  (the autoload hook registers the fc_* converters)
    from llamafactory.data.loader import _load_single_dataset
    from llamafactory.data.parser import DatasetAttr
    from llamafactory.hparams import DataArguments, ModelArguments
    from transformers import Seq2SeqTrainingArguments

    monkeypatch.chdir(RAW.parents[1])
    model_args = ModelArguments(model_name_or_path="unused", cache_dir=str(tmp_path / "cache"))
    training_args = Seq2SeqTrainingArguments(output_dir=str(tmp_path / "out"), report_to=[])
    kept = {}
    for name, file_name in SAMPLE_FILES.items():
        attr = DatasetAttr("file", dataset_name=f"data/raw/{file_name}", formatting=f"fc_{name}")
        dataset = _load_single_dataset(attr, model_args, DataArguments(dataset_dir="."), training_args)
        kept[name] = (sum(bool(row["_response"]) for row in dataset), len(load_records(name)))
    assert kept == {name: (n, n) for name, (_, n) in kept.items()}


@pytest.mark.parametrize(
    ("params", "bad", "where"),
    [
        ({"type": "object", "properties": {"city": {"type": "strin"}}}, "strin", "parameters.properties.city"),
        ({"city": {"type": "strng, optional", "description": "xLAM dialect"}}, "strng", "parameters.city"),
        ({"type": "object", "properties": {"ids": {"type": "array", "items": {"type": "intger"}}}}, "intger",
         "parameters.properties.ids.items"),
        ({"type": "object", "properties": {"x": {"type": ["string", "nul"]}}}, "nul", "parameters.properties.x"),
        ({"type": "object", "properties": {"x": {"type": "Lst[str]"}}}, "Lst[str]", "parameters.properties.x"),
    ],
)
def test_unknown_type_names_are_invalid_tool_schema_not_any_type(params: dict, bad: str, where: str) -> None:
    """A misspelt type is not turned into "any type" (which would switch argument checks off): the tool is
    rejected, naming the type, where it is and the names that are known."""
    from fc_plugin.normalize import to_json_schema

    with pytest.raises(ConvertError) as info:
        to_json_schema(params)
    assert info.value.code == "invalid_tool_schema"
    message = str(info.value)
    assert repr(bad.split(",")[0]) in message and where in message and "string" in message and "hashmap" in message


def test_type_names_of_every_dialect_we_read_are_known() -> None:
    """BFCL's Python/Java/JavaScript names, xLAM's, RapidAPI's upper-case ones with their notes, typing forms."""
    from fc_plugin.normalize import to_json_schema

    names = {
        "String": "string", "char": "string", "Bigint": "integer", "byte": "integer", "short": "integer",
        "long": "integer", "double": "number", "HashMap": "object", "Hashtable": "object", "ArrayList": "array",
        "Queue": "array", "Stack": "array", "Set": "array", "Boolean": "boolean", "tuple": "array", "dict": "object",
        "STRING": "string", "NUMBER": "number", "ENUM": "string", "DATE (YYYY-MM-DD)": "string",
        "TIME (24-hour HH:MM)": "string", "GEOPOINT (latitude, longitude)": "string", "java.lang.String": "string",
        "str, optional": "string", "List[int]": "array", "Optional[float]": "number",
    }  # fmt: skip
    schema = to_json_schema({"type": "object", "properties": {n: {"type": n} for n in names}})
    assert {n: schema["properties"][n].get("type") for n in names} == names
    assert to_json_schema({"type": "object", "properties": {"a": {"type": "any"}}})["properties"]["a"] == {}


def test_bfcl_picks_the_first_allowed_value_that_validates_and_keeps_required_ones() -> None:
    """Possible answers list allowed values per parameter: a required one is never omitted when a value is
    allowed, and a value that breaks the schema (None for a string) gives way to the next allowed one."""
    from fc_plugin.convert import bfcl

    question = {
        "id": "live_multiple_7-3-0",
        "question": [[{"role": "user", "content": "List 100 repositories of octocat, sorted by stars."}]],
        "function": [{"name": "list_repos", "description": "List repositories.", "parameters": {
            "type": "dict", "required": ["owner", "perPage"], "properties": {
                "owner": {"type": "string"}, "perPage": {"type": "integer"},
                "sort": {"type": "string", "enum": ["stars", "updated"]}, "note": {"type": "string"},
                "page": {"type": "integer"}}}}],
    }  # fmt: skip
    truth = [{"list_repos": {"owner": ["octocat"], "perPage": ["", 100], "sort": [None, "stars"],
                             "note": ["", None], "page": [None]}}]  # fmt: skip
    (sample,) = bfcl.convert(question, {"possible_answers": {question["id"]: truth}})
    (call,) = sample.messages[-1].tool_calls
    # page: no allowed value validates, so the first is kept and validation reports it (nothing invented)
    assert call.arguments == {"owner": "octocat", "perPage": 100, "sort": "stars", "page": None}


def test_toolbench_user_text_after_a_function_result_is_joined_to_it_and_noted() -> None:
    """ToolLLaMA DFS trajectories put a user turn right after a function result when the search backtracks;
    LLaMA-Factory's ShareGPT cannot hold it there, so it is joined to that result and `meta.rewrites` says so."""
    from fc_plugin.convert import toolbench
    from fc_plugin.sharegpt import to_sharegpt
    from fc_plugin.validate import validate_sample

    record = json.loads(json.dumps(json.loads((RAW / "toolbench.json").read_text(encoding="utf-8"))[1]))
    conv = record["conversations"]
    first_result = next(i for i, t in enumerate(conv) if t["from"] == "function")
    retry = ("This is not the first time you try this task, all previous trails failed.\n"
             "Before you generate my thought for this state, I will first show you your previous actions.")  # fmt: skip
    conv.insert(first_result + 1, {"from": "user", "value": retry})
    (sample,) = toolbench.convert(record)
    joined = [m for m in sample.messages if m.role == "tool" and retry in m.content]
    assert len(joined) == 1 and joined[0].content.startswith(conv[first_result]["value"])
    assert [m.role for m in sample.messages].count("user") == 1
    assert sample.meta["rewrites"] and "joined" in sample.meta["rewrites"][0]
    assert validate_sample(sample) == [] and json.loads(to_sharegpt(sample)["meta"])["rewrites"]
    (plain,) = toolbench.convert(json.loads((RAW / "toolbench.json").read_text(encoding="utf-8"))[1])
    assert "rewrites" not in plain.meta


def test_llamafactory_v1_parts_reasoning_parallel_results_and_required_beside_parameters() -> None:
    """LLaMA-Factory's own v1 format: reasoning parts become thoughts, tool_call parts calls, a parallel
    call's JSON list of results one tool message each; `required` written beside `parameters` (as in its
    demo file) is kept; a broken tool_call part is rejected naming the part."""
    no_call, movie, circles, chinese, stringified = (one("lf_v1", i) for i in range(5))
    assert no_call.messages[-1].thought.startswith("No tool") and not no_call.messages[-1].tool_calls
    assert no_call.tools[0]["parameters"]["required"] == ["identifier"]  # beside `parameters` in the raw tool
    assert calls(movie) == [[("get_movie_details", {"title": "Inception"})], [("get_movie_details", {"title": "The Dark Knight"})]]
    assert calls(circles) == [[("circle_area", {"radius": 1.5}), ("circle_area", {"radius": 3})]]
    results = [m for m in circles.messages if m.role == "tool"]
    assert [(m.name, m.content) for m in results] == [
        ("circle_area", "{'area': 7.0686, 'radius': 1.5}"), ("circle_area", "{'area': 28.2743, 'radius': 3}")
    ]  # fmt: skip
    assert chinese.messages[1].thought == "用户想知道北京的天气，调用 get_weather。" and calls(chinese) == [[("get_weather", {"city": "北京"})]]
    assert calls(stringified) == [[("get_device_asset_by_identifier", {"identifier": "88-B"})]]  # arguments as a JSON string
    broken = json.loads(json.dumps(load_records("lf_v1")[4]))
    broken["messages"][1]["content"][0]["value"] = '{"name": "circle_area", "arguments": {"radius": 2'
    with pytest.raises(ConvertError, match=r"messages\[1\]\.content\[0\]") as info:
        FORMATS["lf_v1"].convert(broken)
    assert info.value.code == "invalid_json"
    assert detect_format(load_records("lf_v1")) == "lf_v1" and detect_format(load_records("openai")) == "openai"


def test_normalisation_neither_widens_nor_drops_what_a_schema_says() -> None:
    """Typing forms keep their item types, a non-object schema is not rewritten into an object, and a
    `required` list beside `parameters` adds to the one inside (an unreadable one is an error, not ignored)."""
    from fc_plugin.normalize import normalize_tool, to_json_schema

    schema = to_json_schema({"xs": {"type": "Tuple[int, ...]"}, "pair": {"type": "Tuple[float, str]"}})
    props = schema["properties"]
    assert props["xs"] == {"type": "array", "items": {"type": "integer"}}
    assert props["pair"] == {"type": "array", "prefixItems": [{"type": "number"}, {"type": "string"}], "items": False,
                             "minItems": 2}  # fmt: skip
    array = {"name": "f", "parameters": {"type": "array", "properties": {"a": {"type": "string"}}}}
    assert normalize_tool(array)["parameters"]["type"] == "array"  # left for validation to report
    bad = Sample([Message("user", "q"), Message("assistant", "a")], [normalize_tool(array)])
    assert [p.code for p in validate_sample(bad)] == ["invalid_tool_schema"]
    both = {"name": "f", "parameters": {"type": "object", "properties": {"a": {}, "b": {}}, "required": ["a"]},
            "required": ["a", "b"]}  # fmt: skip
    assert normalize_tool(both)["parameters"]["required"] == ["a", "b"]
    for lifted in ("b", True, [1]):
        with pytest.raises(ConvertError, match="beside `parameters` must list names") as info:
            normalize_tool({**both, "required": lifted})
        assert info.value.code == "invalid_tool_schema"


def test_parts_and_thoughts_are_never_dropped_silently() -> None:
    """lf_v1: a reasoning or tool_call part in a tool (or user) turn is an error, not dropped; OpenAI: a null
    `thought` falls back to `reasoning_content`, a thought that is not text is an error, not dropped."""
    record = json.loads(json.dumps(load_records("lf_v1")[1]))
    tool_turn = next(m for m in record["messages"] if m["role"] == "tool")
    tool_turn["content"].append({"type": "reasoning", "value": "a thought in a result"})
    with pytest.raises(ConvertError, match="a tool turn holds only text parts") as info:
        FORMATS["lf_v1"].convert(record)
    assert info.value.code == "wrong_type"

    base = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]}
    record = json.loads(json.dumps(base))
    record["messages"][1].update(thought=None, reasoning_content="Greet back.")
    assert FORMATS["openai"].convert(record)[0].messages[1].thought == "Greet back."
    for key in ("thought", "reasoning_content"):
        record = json.loads(json.dumps(base))
        record["messages"][1][key] = ["not", "text"]
        with pytest.raises(ConvertError, match=rf"messages\[1\]\.{key} must be a string") as info:
            FORMATS["openai"].convert(record)
        assert info.value.code == "wrong_type"
