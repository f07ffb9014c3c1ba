"""The convert pipeline's fast paths (orjson parsing and cache keys) give exactly what the json-module
reference path gives: same values, same errors, same output bytes, on records chosen to break them."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

import fc_plugin.io as fio
from fc_plugin.convert.pipeline import ConvertOptions, convert_files

pytestmark = pytest.mark.skipif(fio.orjson is None, reason="orjson not installed: only the reference path exists")

TRICKY_TEXTS = [
    "123456789012345678901234567890", "-9223372036854775809", "18446744073709551616", "18446744073709551615",
    "9223372036854775807", "1e400", "-1e400", "1e-400", "-0.0", "-0", "1.10", "1E5", "0.1", "5e-324",
    "1.7976931348623157e308", "1.7976931348623159e308", "NaN", "Infinity", "-Infinity", '{"a": NaN}',
    '{"a": 1, "b": 2, "a": 3}', '{"a": {"x": 1}, "a": [2]}', '"\\ud800"', '"\\ud83d\\ude00"', '"\\u00e9\\u4e2d"',
    '"北京 ☃ \U0001f600"', '"\ufeffx"', "\ufeff[1]", "[1,]", "[1 2]", '{"a" 1}', "", " ", "[]", "{}", "null", "true",
    '"a\\u0000b"', '"a\x00b"', '"tab\there"', "[1, 2", '{"a": "b"} x', "01", "-", "1.", ".5", "+1", "0x10",
    " \t\r\n[1]\n", "[\u00a0]", '{"n": 12345678901234567890, "s": "12345678901234567890"}', "[" * 600 + "]" * 600,
    "[" * 2000 + "]" * 2000, '{"big": ' + "9" * 400 + "}", '{"f": 123456789012345678901234567890.5}',
]  # fmt: skip


def outcome(fn, text: str) -> tuple[str, str]:
    try:
        return "ok", repr(fn(text))  # repr: int vs float, -0.0, key order all show
    except RecursionError:
        return "error", "RecursionError"
    except ValueError as exc:
        return "error", f"{type(exc).__name__}: {exc}"


def reference_loads(text: str) -> object:
    return json.loads(text, parse_constant=fio._no_constant)


@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_loads_is_the_json_module_on_tricky_texts(text: str) -> None:
    assert outcome(fio.loads, text) == outcome(reference_loads, text)


def test_loads_is_the_json_module_on_random_numbers() -> None:
    rng = random.Random(0)
    for _ in range(20_000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 24)))
        text = rng.choice(["", "-"]) + digits.lstrip("0") or "0"
        text += rng.choice(["", "." + digits[::-1], f"e{rng.randint(-330, 330)}"])
        assert outcome(fio.loads, f'{{"v": [{text}]}}') == outcome(reference_loads, f'{{"v": [{text}]}}')


@pytest.mark.parametrize("value", [[1.5, float("inf")], {"a": float("nan")}, [-0.0, None], {"n": 2**70}, ["\ud800"], {1: 2}])
def test_json_key_is_the_json_module_text_or_fails_the_same(value: object) -> None:
    def reference(v: object) -> str:
        return json.dumps(v, ensure_ascii=False, allow_nan=False)

    try:
        expected = reference(value)
    except ValueError:  # NaN / infinity: no key (the caller then works uncached)
        with pytest.raises(ValueError):
            fio.json_key(value)
        return
    # the fast key may be written differently, but must read back to the same value
    assert repr(fio.loads(fio.json_key(value))) == repr(fio.loads(expected))


def tricky_records() -> list[str]:
    """JSONL lines (text as written) that are hard to read exactly; most convert, some are rejected."""
    tool = ('{"type": "function", "function": {"name": "f", "description": "天气 \\u00e9 \\ud83d\\ude00", '
            '"parameters": {"type": "object", "properties": {"n": {"type": "integer", "default": %s}, '
            '"s": {"type": "string"}, "o": {"type": "object", "properties": {"deep": {"type": "array", '
            '"items": {"type": "number"}}}}}, "required": ["n"]}}}')  # fmt: skip
    lines = []
    for i, (number, args) in enumerate([
        ("1", '{"n": 123456789012345678901234567890, "s": "北京"}'),
        ("123456789012345678901234567890", '{"n": 1, "s": "x"}'),
        ("1e400", '{"n": 2, "s": "1e400"}'),
        ("-0.0", '{"n": -0, "o": {"deep": [1.10, -0.0, 1e-400, 5e-324]}}'),
        ("1.10", '{"n": 3, "n": 4, "s": "dup"}'),
        ("NaN", '{"n": 5}'),
        ("null", '{"n": 6, "s": "\\ud800"}'),
        ("7", '{"n": 7, "o": {"deep": [1e400]}}'),
        ("8", '{"n": 18446744073709551616, "s": "\\u0000\\t\\"quoted\\""}'),
        ("9", '{"n": 9, "s": "\\ud83d\\ude00 emoji, Ω, \\u2028"}'),
    ]):  # fmt: skip
        call = json.dumps({"id": "c1", "type": "function", "function": {"name": "f", "arguments": args}})
        lines.append(
            f'{{"id": {i}, "messages": [{{"role": "user", "content": "问 {i} \\u00e9"}}, '
            f'{{"role": "assistant", "tool_calls": [{call}]}}, '
            f'{{"role": "tool", "tool_call_id": "c1", "content": "{{\\"r\\": {number}}}"}}, '
            f'{{"role": "assistant", "content": "done {i}", "content": "dup {i}"}}], "tools": [{tool % number}]}}'
        )
    lines.append('{"messages": [{"role": "user", "content": "a", "x": NaN}], "tools": []}')
    lines.append("[" * 1200 + "]" * 1200)
    lines.append('{"messages": [{"role": "user", "content": "\\ud800"}, {"role": "assistant", "content": "b"}]}')
    return lines


def run_convert(tmp: Path, src: Path, label: str) -> dict[str, bytes]:
    out = tmp / label / "out.jsonl"
    out.parent.mkdir()
    result = convert_files([src], out, "t", ConvertOptions(progress=False, workers=1, source_format="openai"),
                           info_path=out.parent / "dataset_info.json")
    assert result.written > 0
    return {p.name: p.read_bytes() for p in sorted(out.parent.iterdir()) if not p.name.endswith(".lock")}


def test_convert_output_bytes_equal_the_json_module_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "tricky.jsonl"
    src.write_text("\n".join(tricky_records()) + "\n", encoding="utf-8")
    fast = run_convert(tmp_path, src, "fast")
    monkeypatch.setattr(fio, "orjson", None)
    import fc_plugin.normalize as normalize

    normalize._normalized_tools.cache_clear()  # caches hold values built through the other path
    from fc_plugin.convert import pipeline

    pipeline._tools_text.cache_clear()
    reference = run_convert(tmp_path, src, "reference")
    assert fast.keys() == reference.keys()
    for name in fast:
        assert fast[name] == reference[name], name
    rows = fast["out.jsonl"].decode().splitlines()
    assert len(rows) >= 6 and "123456789012345678901234567890" in fast["out.jsonl"].decode()


ENCODER_VALUES = [
    {"a": 1, "b": [1.5, 2e16, 1e-7, float("nan"), float("inf"), -float("inf"), -0.0, True, False, None]},
    {"s": "\u2028\x00\x1f\x7f\"\\é中\U0001f600\ud800", "nested": [[{"x": []}], {}], "n": 2**70, "t": (1, 2)},
    {1: "int key", False: "bool key", None: "null key", 2.5: "float key"}, [], {}, "", "plain", 12, 2**64, 0.1,
]  # fmt: skip


def _encoded(fn, value: object) -> tuple[str, str]:
    try:
        return "ok", fn(value)
    except (TypeError, ValueError) as exc:
        return "error", f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize("value", [*ENCODER_VALUES, {"a": {1, 2}}, {(1, 2): 3}, [object]])
def test_dumps_is_json_dumps(value: object) -> None:
    assert _encoded(fio.dumps, value) == _encoded(lambda v: json.dumps(v, ensure_ascii=False), value)


def test_core_json_is_json_dumps_of_the_three_fields() -> None:
    from fc_plugin.sharegpt import core_json

    text = "\u2028\x00\"\\é中\U0001f600"
    rows = [
        {"conversations": [{"from": "human", "value": text}, {"from": "gpt", "value": "ok"}], "system": text, "tools": text},
        {"conversations": [], "system": "", "tools": "[]", "id": "x"},
        {"conversations": [{"value": "b", "from": "human"}], "system": "", "tools": "[]"},  # other key order
        {"conversations": [{"from": "human", "value": "b", "extra": 1}], "system": "", "tools": "[]"},
        {"conversations": [{"from": "human", "value": 3}], "system": None, "tools": "[]"},  # not strings
        {"conversations": ({"from": "human", "value": "t"},), "system": "", "tools": ["not", "text"]},
    ]  # fmt: skip
    for row in rows:
        expected = json.dumps({k: row[k] for k in ("conversations", "system", "tools")}, ensure_ascii=False)
        assert core_json(row) == expected
