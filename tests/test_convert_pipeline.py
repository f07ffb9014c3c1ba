"""The streaming pipeline: robust reading, rejects with reasons, dedup, determinism, atomic outputs,
and real LLaMA-Factory loading of what it writes (offline and through the fc_* on-the-fly converters)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fc_plugin.convert import pipeline, reader
from fc_plugin.convert.batch import raw_datasets
from fc_plugin.convert.pipeline import ConvertOptions, convert_files, iter_outcomes, iter_records

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"

TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]  # fmt: skip


def openai_record(city: str = "Beijing", name: str = "get_weather", args: object = None, tools: object = TOOLS) -> dict:
    arguments = json.dumps({"city": city}) if args is None else args
    return {
        "messages": [
            {"role": "user", "content": f"Weather in {city}?"},
            {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                                  "function": {"name": name, "arguments": arguments}}]},  # fmt: skip
            {"role": "tool", "tool_call_id": "c1", "content": '{"temp": 21}'},
            {"role": "assistant", "content": f"It is 21 degrees in {city}."},
        ],
        "tools": tools,
    }


def line(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode() + b"\n"


def read_rejects(out: Path, name: str) -> list[dict]:
    return [json.loads(x) for x in (out.parent / f"{name}.rejects.jsonl").read_text().splitlines()]


def convert(inputs, out: Path, name: str = "t", info: Path | None = None, **kw) -> pipeline.ConvertResult:
    opts = ConvertOptions(progress=False, **kw)
    return convert_files([str(p) for p in inputs], out, name, opts, info_path=info or out.parent / "dataset_info.json")


# -- reading ------------------------------------------------------------------------------------
def test_broken_corpus_every_bad_record_is_kept_with_its_reason(tmp_path: Path) -> None:
    unknown_role = openai_record("Xi'an")
    unknown_role["messages"][0]["role"] = "narrator"
    wrong_type = openai_record("Hefei")
    wrong_type["messages"][3]["content"] = 42
    corpus = [
        (line(openai_record("Beijing")), None),
        (b'{"messages": [{"role": "user", "content": "caf\xe9"}]}\n', "invalid_utf8"),
        (b"[1, 2, 3]\n", "not_an_object"),
        (b'"just a string"\n', "not_an_object"),
        (b"{this is not json}\n", "invalid_json"),
        (line(unknown_role), "unknown_role"),
        (line(wrong_type), "wrong_type"),
        (line(openai_record("Shanghai", tools=[])), "empty_tools"),
        (line(openai_record("Wuhan", name="get_wether")), "hallucinated_function"),
        (line(openai_record("Chengdu", args='{"town": "x"}')), "unknown_argument"),
        (line(openai_record("Nanjing", args="{}")), "missing_required"),
        (line(openai_record("Suzhou", args='{"city": 3}')), "type_mismatch"),
        (line(openai_record("Harbin", args='{"city": ')), "invalid_json"),
        (line(openai_record("Xining", args='{"city": NaN}')), "invalid_json"),  # NaN is not JSON
        (line(openai_record("Lhasa")).replace(b"Lhasa?", b"Lhasa \\ud800?"), "invalid_unicode"),  # lone surrogate
        (b'{"messages": [], "weight": Infinity}\n', "invalid_json"),
        (line({"messages": [{"role": "user", "content": "x" * 5000}, {"role": "assistant", "content": "ok"}]}), "record_too_large"),
        (b"\n   \n", None),  # blank lines are not records
        (line(openai_record("Beijing")), "duplicate"),
        (line(openai_record("Guangzhou")), None),
        (b'{"messages": [{"role": "user", "content": "trunc', "truncated_record"),
    ]  # fmt: skip
    src = tmp_path / "corpus.jsonl"
    src.write_bytes(b"".join(raw for raw, _ in corpus))
    out = tmp_path / "data" / "t.json"
    result = convert([src], out, source_format="openai", max_record_bytes=4000)
    assert result.exit_code == 0 and result.written == 2
    rows = json.loads(out.read_text())
    assert [r["conversations"][0]["value"] for r in rows] == ["Weather in Beijing?", "Weather in Guangzhou?"]
    rejects = read_rejects(out, "t")
    expected = [code for _, code in corpus if code]
    assert [r["code"] for r in rejects] == expected
    assert result.stats.to_dict()["reject_reasons"] == {c: expected.count(c) for c in set(expected)}
    for r in rejects:
        assert r["file"] == str(src) and isinstance(r["index"], int) and r["line"] >= 1 and r["message"]
        # nothing lost: the record (or its text) is kept; a duplicate's content is the earlier sample's
        assert ("raw" in r) != (r["code"] == "duplicate")
    by_code = {r["code"]: r for r in rejects}
    assert by_code["invalid_utf8"]["raw"].startswith('{"messages"') and "\\xe9" in by_code["invalid_utf8"]["raw"]
    assert by_code["hallucinated_function"]["raw"]["messages"][0]["content"] == "Weather in Wuhan?"
    assert by_code["hallucinated_function"]["converted"]["messages"][1]["tool_calls"][0]["name"] == "get_wether"
    assert by_code["truncated_record"]["line"] == sum(raw.count(b"\n") for raw, _ in corpus) + 1
    assert result.stats.records == len(expected) + 2


@pytest.mark.parametrize("chunk", [7, 64, 1 << 20])
def test_json_array_streams_across_chunk_boundaries(tmp_path: Path, monkeypatch, chunk: int) -> None:
    monkeypatch.setattr(reader, "_CHUNK", chunk)
    records = [openai_record(f"City {i} 北京") for i in range(25)] + [7]
    src = tmp_path / "a.json"
    src.write_text(json.dumps(records, ensure_ascii=False, indent=2))
    got = list(iter_records(src))
    assert [r.value for r in got] == records
    assert [r.index for r in got] == list(range(26))
    assert all(r.error is None for r in got) and got[1].line > got[0].line


def test_json_array_damage_is_reported_not_raised(tmp_path: Path) -> None:
    good = json.dumps(openai_record()).encode()
    cases = {
        "truncated": (b"[" + good + b", " + good[:40], ["truncated_record"]),
        "unclosed": (b"[" + good + b",\n", ["truncated_record"]),
        "bad_utf8": (b"[" + good + b", " + good.replace(b"Beijing", b"Bei\xffjing") + b", " + good + b"]", ["invalid_utf8"]),
        "no_comma": (b"[" + good + b" " + good + b"]", ["invalid_json"]),
        "garbage": (b"[" + good + b", {nope}, " + good + b"]", ["invalid_json"]),
    }
    for name, (data, codes) in cases.items():
        src = tmp_path / f"{name}.json"
        src.write_bytes(data)
        got = list(iter_records(src))
        assert got[0].value == openai_record(), name
        assert [r.error.code for r in got if r.error] == codes, name
        if name == "bad_utf8":
            assert got[2].value == openai_record()  # the array goes on after a bad element


def test_single_object_and_bom_files(tmp_path: Path) -> None:
    src = tmp_path / "one.json"
    src.write_bytes(b"\xef\xbb\xbf" + json.dumps(openai_record(), indent=2).encode())
    assert [r.value for r in iter_records(src)] == [openai_record()]
    src.write_bytes(json.dumps(openai_record(), indent=2).encode()[:-10])
    assert [r.error.code for r in iter_records(src)] == ["truncated_record"]


def test_auto_detect_per_file_and_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_bytes(line(openai_record()))
    shutil.copy(RAW / "xlam.json", tmp_path / "b.json")
    result = convert([tmp_path / "a.jsonl", tmp_path / "b.json"], tmp_path / "out" / "m.json")
    assert set(result.formats.values()) == {"openai", "xlam"} and result.exit_code == 0
    (tmp_path / "c.jsonl").write_bytes(line({"foo": 1}) + line({"bar": 2}))
    with pytest.raises(ValueError, match=r"c\.jsonl.*could not detect"):
        convert([tmp_path / "c.jsonl"], tmp_path / "out" / "n.json")


def test_every_raw_sample_converts_and_reads_back(tmp_path: Path) -> None:
    datasets = raw_datasets(RAW)
    assert len(datasets) >= 10
    for name, files in datasets.items():
        out = tmp_path / f"{name}.json"
        result = convert(files, out, name)
        assert result.exit_code == 0 and result.written > 0, (name, result.reason)
        assert result.rejected == 0, read_rejects(out, name)[:2]
        assert result.formats[str(files[0])] in name
        # the written ShareGPT file reads back (as our sharegpt format) to as many valid samples
        back = [o for outs in iter_outcomes([out], ConvertOptions(source_format="sharegpt")) for o in outs]
        assert len(back) == result.written and not any(o.problems for o in back), name


# -- writing ------------------------------------------------------------------------------------
def test_output_is_deterministic_and_deduplicated(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(line(openai_record(c)) for c in ["A", "B", "A", "C", "B"]))
    first = convert([src], tmp_path / "1" / "d.json", "d", eval_fraction=0.3, seed=5)
    second = convert([src], tmp_path / "2" / "d.json", "d", eval_fraction=0.3, seed=5)
    assert first.written == second.written == 3 and first.duplicates == second.duplicates == 2
    for f in ("d.json", "d.rejects.jsonl"):
        a, b = (tmp_path / "1" / f), (tmp_path / "2" / f)
        assert a.read_bytes().replace(b"/1/", b"/x/") == b.read_bytes().replace(b"/2/", b"/x/"), f
    if first.eval_path:
        assert (tmp_path / "1" / "d_eval.json").read_bytes() == (tmp_path / "2" / "d_eval.json").read_bytes()


def test_failed_and_strict_runs_keep_the_previous_dataset(tmp_path: Path) -> None:
    out = tmp_path / "data" / "d.json"
    good = tmp_path / "good.jsonl"
    good.write_bytes(line(openai_record("A")) + line(openai_record("B")))
    assert convert([good], out, "d").exit_code == 0
    before, info_before = out.read_bytes(), (tmp_path / "data" / "dataset_info.json").read_bytes()

    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(line(openai_record("C", name="nope")) + b"garbage\n")
    result = convert([bad], out, "d")
    assert result.exit_code == 1 and "no valid sample" in result.reason and not result.committed
    assert out.read_bytes() == before
    assert [r["code"] for r in read_rejects(out, "d")] == ["hallucinated_function", "invalid_json"]

    mixed = tmp_path / "mixed.jsonl"
    mixed.write_bytes(line(openai_record("D")) + line(openai_record("E", name="nope")))
    result = convert([mixed], out, "d", strict=True)
    assert result.exit_code == 1 and "--strict" in result.reason
    assert out.read_bytes() == before and (tmp_path / "data" / "dataset_info.json").read_bytes() == info_before
    assert convert([mixed], out, "d").exit_code == 0  # without --strict the good record is written
    assert len(json.loads(out.read_text())) == 1


def test_interrupted_run_leaves_no_partial_files(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "data" / "d.json"
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(line(openai_record(f"C{i}")) for i in range(10)))
    convert([src], out, "d")
    before = sorted((p.name, p.read_bytes()) for p in out.parent.iterdir())
    from fc_plugin.convert import openai

    real = openai.convert
    calls = {"n": 0}

    def flaky(record):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real(record)

    monkeypatch.setattr(openai, "convert", flaky)
    with pytest.raises(KeyboardInterrupt):
        convert([src], out, "d")
    assert sorted((p.name, p.read_bytes()) for p in out.parent.iterdir()) == before


def test_converter_bug_is_a_reject_not_a_crash(tmp_path: Path, monkeypatch) -> None:
    from fc_plugin.convert import openai

    def buggy(record):
        raise KeyError("oops")

    monkeypatch.setattr(openai, "convert", buggy)
    src = tmp_path / "in.jsonl"
    src.write_bytes(line(openai_record()))
    result = convert([src], tmp_path / "d.json", "d", source_format="openai")
    assert result.exit_code == 1
    assert [r["code"] for r in read_rejects(tmp_path / "d.json", "d")] == ["convert_error"]


# -- LLaMA-Factory loads what we write ------------------------------------------------------------
LF_LOAD = textwrap.dedent(
    """
    import json, sys
    from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
    from llamafactory.hparams import get_train_args
    from llamafactory.model import load_tokenizer

    model, dataset_dir, template, out = sys.argv[1:5]
    counts = {}
    for name in sys.argv[5:]:
        args = dict(stage="sft", do_train=True, model_name_or_path=model, dataset=name, dataset_dir=dataset_dir,
                    template=template, cutoff_len=8192, output_dir=out, overwrite_cache=True, report_to="none",
                    finetuning_type="lora")
        model_args, data_args, training_args, *_ = get_train_args(args)
        module = load_tokenizer(model_args)
        tmpl = get_template_and_fix_tokenizer(module["tokenizer"], data_args)
        data = get_dataset(tmpl, model_args, data_args, training_args, stage="sft", **module)
        rows = data["train_dataset"]
        counts[name] = {"rows": len(rows), "tokens": [len(x) for x in rows["input_ids"]]}
    print("COUNTS=" + json.dumps(counts))
    """
)


def run_lf_load(tiny_model: Path, lf_env: dict, dataset_dir: Path, names: list[str], template: str) -> tuple[dict, str]:
    env = {**lf_env, "HF_DATASETS_CACHE": str(dataset_dir / ".cache")}
    proc = subprocess.run(
        [sys.executable, "-c", LF_LOAD, str(tiny_model), str(dataset_dir), template, str(dataset_dir / "out"), *names],
        env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    payload = next(x for x in proc.stdout.splitlines() if x.startswith("COUNTS="))
    return json.loads(payload[len("COUNTS="):]), proc.stdout + proc.stderr


@pytest.mark.e2e
def test_llamafactory_tokenizes_every_converted_sample(tmp_path: Path, tiny_model: Path, lf_env: dict) -> None:
    """Offline `convert` output and the on-the-fly fc_<format> converters, through LF's real loader."""
    from fc_plugin.io import merge_dataset_info
    from fc_plugin.validate import LengthChecker

    written: dict[str, int] = {}
    fly_entries = {}
    for name, files in raw_datasets(RAW).items():
        out = tmp_path / "data" / f"{name}.json"
        result = convert(files, out, name, tmp_path / "dataset_info.json", tokenizer=str(tiny_model), template="fc_json_qwen")
        assert result.exit_code == 0, name
        written[name] = result.written
        fmt = result.formats[str(files[0])]
        raw_copy = tmp_path / "raw" / files[0].name
        raw_copy.parent.mkdir(exist_ok=True)
        shutil.copy(files[0], raw_copy)
        if (RAW / "possible_answer" / files[0].name).exists():  # BFCL answers live next to the questions
            (tmp_path / "raw" / "possible_answer").mkdir(exist_ok=True)
            shutil.copy(RAW / "possible_answer" / files[0].name, tmp_path / "raw" / "possible_answer")
        fly_entries[f"{name}_fly"] = {"file_name": f"raw/{files[0].name}", "formatting": f"fc_{fmt}"}
    # a raw file with one good and one bad row: the bad one is dropped on the fly, with our reason logged
    bad = tmp_path / "raw" / "broken_openai.jsonl"
    bad.write_bytes(line(openai_record("Beijing")) + line(openai_record("Wuhan", name="get_wether")))
    fly_entries["broken_fly"] = {"file_name": "raw/broken_openai.jsonl", "formatting": "fc_openai"}
    # rows Arrow cannot type as one table: `content` a number in row 31 (dies in Arrow: "changed from string to
    # number"), tools whose `properties` maps have other shapes, a JSON array file: each record is read as written
    mixed = [openai_record(f"City{i}") for i in range(40)]
    mixed[30]["messages"][3]["content"] = 42  # a bad row (wrong_type), dropped with our reason
    other_tool = [{"type": "function", "function": {"name": "get_time", "description": "Time in a zone.", "parameters": {
        "type": "object", "properties": {"zone": {"type": "string", "enum": ["UTC", "CET"]}, "fmt": {"type": "integer"}},
        "required": ["zone"]}}}]  # fmt: skip
    mixed[5] = openai_record("x", name="get_time", args=json.dumps({"zone": "UTC", "fmt": 24}), tools=other_tool)
    mixed[6]["tools"] = json.dumps(TOOLS)  # tools as a JSON string in one row, a list in the others
    (tmp_path / "raw" / "mixed_openai.jsonl").write_bytes(b"".join(line(r) for r in mixed))
    (tmp_path / "raw" / "mixed_openai_array.json").write_text(json.dumps(mixed), encoding="utf-8")
    fly_entries["mixed_fly"] = {"file_name": "raw/mixed_openai.jsonl", "formatting": "fc_openai"}
    fly_entries["mixed_array_fly"] = {"file_name": "raw/mixed_openai_array.json", "formatting": "fc_openai"}
    merge_dataset_info(tmp_path / "dataset_info.json", fly_entries)

    names = sorted(written) + sorted(fly_entries)
    counts, log = run_lf_load(tiny_model, lf_env, tmp_path, names, "fc_json_qwen")
    for name, n in written.items():
        assert counts[name]["rows"] == n, f"LLaMA-Factory dropped samples of {name}"
        assert counts[f"{name}_fly"]["rows"] == n, f"on-the-fly fc_ converter disagrees on {name}"
    assert counts["broken_fly"]["rows"] == 1
    assert "dropped row" in log and "hallucinated_function" in log and "get_wether" in log
    assert counts["mixed_fly"]["rows"] == counts["mixed_array_fly"]["rows"] == 39  # every good row trains
    assert "wrong_type: messages[3]: content must be a string" in log  # (typed by Arrow, the load itself dies)

    # our template-exact token count equals what LLaMA-Factory produced
    checker = LengthChecker(str(tiny_model), cutoff_len=8192, template="fc_json_qwen")
    name = "fc_openai_sample"
    rows = json.loads((tmp_path / "data" / f"{name}.json").read_text())
    assert [checker.measure(r)[0] for r in rows] == counts[name]["tokens"]


@pytest.mark.e2e
def test_stock_qwen_template_loads_converted_data_without_thoughts(tmp_path: Path, tiny_model: Path, lf_env: dict) -> None:
    """Converted data without thoughts trains on LLaMA-Factory's own qwen template too (zero drops)."""
    out = tmp_path / "data" / "plain.json"
    result = convert([RAW / "openai.jsonl", RAW / "xlam.json", RAW / "glaive.json"], out, "plain",
                     tmp_path / "dataset_info.json", tokenizer=str(tiny_model), template="qwen")  # fmt: skip
    assert result.exit_code == 0
    counts, _ = run_lf_load(tiny_model, lf_env, tmp_path, ["plain"], "qwen")
    assert counts["plain"]["rows"] == result.written
    assert os.path.exists(tmp_path / "data" / "plain.rejects.jsonl")


def test_worker_processes_give_the_same_bytes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(pipeline, "CHUNK_RECORDS", 7)  # many chunks in flight, order must hold
    src = tmp_path / "in.jsonl"
    lines = [line(openai_record(f"C{i % 40}", name="get_wether" if i % 13 == 0 else "get_weather")) for i in range(120)]
    src.write_bytes(b"".join(lines) + b"{broken\n" + b'{"bad": "\xff"}\n')  # errors travel to workers too
    one = convert([src], tmp_path / "1" / "d.json", "d", workers=1, eval_fraction=0.2)
    two = convert([src], tmp_path / "2" / "d.json", "d", workers=2, eval_fraction=0.2)
    assert one.written == two.written == 40 and one.rejected == two.rejected == 82
    for f in ("d.json", "d_eval.json", "d.rejects.jsonl"):
        assert (tmp_path / "1" / f).read_bytes() == (tmp_path / "2" / f).read_bytes(), f
    assert one.stats.to_dict() == two.stats.to_dict()
