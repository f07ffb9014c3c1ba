"""`fc-plugin convert / validate / stats` as a user runs them: real subprocesses, exit codes, files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"
FC = [sys.executable, "-m", "fc_plugin.cli"]


def fc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*FC, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def record(city: str, name: str = "get_weather") -> str:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]  # fmt: skip
    call = {"id": "c", "type": "function", "function": {"name": name, "arguments": json.dumps({"city": city})}}
    msgs = [{"role": "user", "content": f"Weather in {city}?"}, {"role": "assistant", "tool_calls": [call]}]
    return json.dumps({"messages": msgs, "tools": tools}) + "\n"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "good.jsonl").write_text(record("Beijing") + record("Shanghai"))
    (tmp_path / "mixed.jsonl").write_text(record("Beijing") + record("Wuhan", "get_wether") + "{truncated")
    (tmp_path / "bad.jsonl").write_text(record("Wuhan", "get_wether") + "[1]\n")
    return tmp_path


def test_convert_writes_dataset_entry_rejects_and_stats(work: Path) -> None:
    proc = fc("convert", "--from", "auto", "mixed.jsonl", "--out", "data/mine.json", "--name", "mine", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert "mine (openai): 1 sample(s) from 3 record(s), 2 rejected" in proc.stdout
    assert "categories: single 1 (100%)" in proc.stdout
    assert "reject reasons: hallucinated_function 1, truncated_record 1" in proc.stdout
    assert json.loads((work / "data" / "mine.json").read_text())[0]["conversations"][0]["value"] == "Weather in Beijing?"
    rejects = [json.loads(x) for x in (work / "data" / "mine.rejects.jsonl").read_text().splitlines()]
    assert [(r["index"], r["code"]) for r in rejects] == [(1, "hallucinated_function"), (2, "truncated_record")]
    info = json.loads((work / "dataset_info.json").read_text())
    assert info["mine"]["file_name"] == "data/mine.json" and info["mine"]["formatting"] == "sharegpt"


def test_exit_codes(work: Path) -> None:
    assert fc("convert", "good.jsonl", "--out", "data/g.json", "--strict", cwd=work).returncode == 0
    strict = fc("convert", "mixed.jsonl", "--out", "data/g.json", "--strict", cwd=work)
    assert strict.returncode == 1 and "--strict: 2 record(s) rejected" in strict.stderr
    assert len(json.loads((work / "data" / "g.json").read_text())) == 2  # previous dataset kept
    nothing = fc("convert", "bad.jsonl", "--out", "data/b.json", cwd=work)
    assert nothing.returncode == 1 and "no valid sample" in nothing.stderr
    assert not (work / "data" / "b.json").exists() and (work / "data" / "b.rejects.jsonl").exists()
    assert "b" not in json.loads((work / "dataset_info.json").read_text())
    for args in (["convert", "missing.jsonl", "--out", "x.json"], ["convert", "good.jsonl", "--out", "x.json", "--from", "nope"],
                 ["convert", "good.jsonl", "--out", "x.json", "--split-eval", "1.5"], ["validate", "no_such_dataset"],
                 ["convert", "good.jsonl", "--out", "x.json", "--cutoff-len", "10"]):  # fmt: skip
        proc = fc(*args, cwd=work)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and proc.stderr.startswith("fc-plugin"), proc.stderr
    assert fc("validate", "data/g.json", cwd=work).returncode == 0
    assert fc("validate", "mixed.jsonl", cwd=work).returncode == 1
    assert fc("stats", "bad.jsonl", cwd=work).returncode == 1


def test_garbage_inputs_never_traceback(work: Path) -> None:
    (work / "binary.jsonl").write_bytes(bytes(range(256)) * 8)
    (work / "empty.json").write_bytes(b"")
    (work / "nested.json").write_text("[" * 100000)
    for name in ("binary.jsonl", "empty.json", "nested.json"):
        proc = fc("convert", name, "--out", f"data/{name}.json", "--from", "openai", cwd=work)
        assert proc.returncode == 1, (name, proc.stderr)
        assert "Traceback" not in proc.stderr, proc.stderr


def test_validate_and_stats_read_datasets_by_name(work: Path) -> None:
    assert fc("convert", str(RAW / "openai.jsonl"), "--out", "data/oa.json", "--split-eval", "0.5", cwd=work).returncode == 0
    proc = fc("validate", "oa", cwd=work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    stats = fc("stats", "oa", "oa_eval", "--json", cwd=work)
    assert stats.returncode == 0
    report = json.loads(stats.stdout)
    assert report["samples"] == 8 and report["rejected"] == 0 and report["length_unit"] == "chars"
    assert set(report["categories"]) == {"single", "parallel", "multi_round", "no_call", "slot_filling"}
    assert sum(report["categories"].values()) == 8 and report["length"]["p50"] > 0
    bad = fc("validate", "mixed.jsonl", "--show", "1", cwd=work)
    assert "mixed.jsonl:1 (line 2): hallucinated_function" in bad.stdout and "1 more invalid record" in bad.stdout


@pytest.mark.e2e  # loads LLaMA-Factory + a tokenizer in a subprocess (~40 s here)
def test_convert_with_tokenizer_reports_tokens_and_rejects_long_samples(work: Path, tiny_model: Path) -> None:
    proc = fc("convert", str(RAW / "openai.jsonl"), "--out", "data/t.json", "--tokenizer", str(tiny_model),
              "--template", "fc_json_qwen", "--cutoff-len", "600", "--json", "--no-progress", cwd=work)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["length_unit"] == "tokens"
    assert report["reject_reasons"] and set(report["reject_reasons"]) <= {"too_long", "truncated_call"}
    assert report["length"]["max"] <= 600
