"""ShareGPT rows: lossless round trip canonical -> ShareGPT -> canonical, and the atomic writer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fc_plugin.convert import ConvertError
from fc_plugin.normalize import normalize_sample
from fc_plugin.sample import Message, Sample, ToolCall
from fc_plugin.sharegpt import SHAREGPT_ENTRY, DatasetWriter, from_sharegpt, to_sharegpt, write_dataset

# -- strategies: valid, normalised canonical samples --------------------------------------------
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30).filter(lambda t: "<thought>" not in t and "</think>" not in t)
nonempty = text.filter(lambda t: t.strip() != "")
names = st.from_regex(r"[a-z][a-z_0-9]{0,12}", fullmatch=True)
json_scalar = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False) | text
json_value = st.recursive(json_scalar, lambda c: st.lists(c, max_size=3) | st.dictionaries(text, c, max_size=3), max_leaves=8)
arguments = st.dictionaries(text, json_value, max_size=4)
thoughts = st.none() | nonempty


@st.composite
def samples(draw: st.DrawFn) -> Sample:
    tool_names = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    tools = [{"name": n, "description": draw(text), "parameters": {"type": "object", "properties": {}}} for n in tool_names]
    messages: list[Message] = []
    if draw(st.booleans()):
        messages.append(Message("system", draw(nonempty)))
    for _ in range(draw(st.integers(1, 3))):
        messages.append(Message("user", draw(text)))
        if draw(st.booleans()):  # a call turn (maybe parallel) with its results
            calls = [ToolCall(draw(st.sampled_from(tool_names)), draw(arguments)) for _ in range(draw(st.integers(1, 3)))]
            messages.append(Message("assistant", "", calls, thought=draw(thoughts)))
            if draw(st.booleans()):  # results fed back (or the sample ends on the call)
                for c in calls:
                    messages.append(Message("tool", draw(text), name=c.name))
                messages.append(Message("assistant", draw(text), thought=draw(thoughts)))
            else:
                break
        else:
            messages.append(Message("assistant", draw(text), thought=draw(thoughts)))
    meta = draw(st.dictionaries(names, json_scalar, max_size=2))
    return Sample(messages, tools, draw(st.none() | names), meta)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(samples())
def test_round_trip_is_lossless(sample: Sample) -> None:
    assert normalize_sample(sample) == sample  # the strategy draws canonical samples
    row = to_sharegpt(sample)
    assert json.loads(json.dumps(row)) == row  # plain JSON, as written to disk
    assert from_sharegpt(row) == sample
    assert to_sharegpt(from_sharegpt(row)) == row


def test_row_shape_matches_llamafactory_sharegpt() -> None:
    s = Sample(
        [Message("system", "Be brief."), Message("user", "Weather in Beijing and Shanghai?"),
         Message("assistant", "", [ToolCall("w", {"city": "Beijing"}), ToolCall("w", {"city": "Shanghai"})], thought="Two cities."),
         Message("tool", "21", name="w"), Message("tool", "18", name="w"), Message("assistant", "21 and 18.")],
        [{"name": "w", "description": "", "parameters": {"type": "object", "properties": {}}}],
    )  # fmt: skip
    row = to_sharegpt(s)
    assert [t["from"] for t in row["conversations"]] == ["human", "function_call", "observation", "gpt"]
    assert row["system"] == "Be brief." and json.loads(row["tools"])[0]["name"] == "w"
    thought, payload = row["conversations"][1]["value"].split("\n</think>\n\n")  # LLaMA-Factory's thought_words
    assert thought == "<think>\nTwo cities."
    assert json.loads(payload) == [{"name": "w", "arguments": {"city": "Beijing"}}, {"name": "w", "arguments": {"city": "Shanghai"}}]
    assert json.loads(row["conversations"][2]["value"]) == [{"name": "w", "content": "21"}, {"name": "w", "content": "18"}]
    single = to_sharegpt(Sample([Message("user", "q"), Message("assistant", "", [ToolCall("w", {})]), Message("tool", "ok", name="w"),
                                 Message("assistant", "done")]))  # fmt: skip
    assert single["conversations"][1]["value"] == '{"name": "w", "arguments": {}}'
    assert single["conversations"][2]["value"] == "ok"


def test_thoughts_in_the_older_form_are_still_read() -> None:
    old = {"conversations": [{"from": "human", "value": "q"},
                             {"from": "function_call", "value": '<thought>Look it up.</thought>{"name": "w", "arguments": {}}'},
                             {"from": "observation", "value": "ok"},
                             {"from": "gpt", "value": " <thought> Say it. </thought>\nIt is ok."}], "tools": "[]"}  # fmt: skip
    sample = from_sharegpt(old)
    assert [m.thought for m in sample.messages] == [None, "Look it up.", None, "Say it."]
    assert sample.messages[-1].content == "It is ok." and sample.messages[1].tool_calls[0].name == "w"


@pytest.mark.parametrize(
    ("row", "code"),
    [
        ({"conversations": "nope"}, "wrong_type"),
        ({"conversations": [{"from": "human", "value": 3}]}, "wrong_type"),
        ({"conversations": [{"from": "robot", "value": "x"}]}, "unknown_role"),
        ({"conversations": [{"from": "human", "value": "q"}, {"from": "function_call", "value": '{"name": "f", '}]}, "invalid_json"),
        ({"conversations": [{"from": "human", "value": "q"}, {"from": "function_call", "value": '{"arguments": {}}'}]}, "invalid_json"),
        ({"conversations": [], "tools": "{broken"}, "invalid_json"),
        (["not", "a", "row"], "not_an_object"),
    ],
)
def test_from_sharegpt_errors_have_codes(row: object, code: str) -> None:
    with pytest.raises(ConvertError) as info:
        from_sharegpt(row)
    assert info.value.code == code


def _good(i: int) -> Sample:
    return Sample([Message("user", f"question {i}"), Message("assistant", f"answer {i}")])


def test_write_dataset_writes_rows_rejects_and_entry(tmp_path: Path) -> None:
    info = tmp_path / "dataset_info.json"
    info.write_text(json.dumps({"other": {"file_name": "x.json"}}))
    bad = Sample([Message("assistant", "no user turn")])
    counts = write_dataset([_good(0), bad, _good(1), _good(0)], tmp_path / "data" / "mine.json", "mine", info_path=info)
    assert counts == {"written": 2, "rejected": 2, "duplicates": 1}
    rows = json.loads((tmp_path / "data" / "mine.json").read_text())
    assert [r["conversations"][0]["value"] for r in rows] == ["question 0", "question 1"]
    rejects = [json.loads(line) for line in (tmp_path / "data" / "mine.rejects.jsonl").read_text().splitlines()]
    assert [(r["index"], r["code"]) for r in rejects] == [(1, "bad_role_order"), (3, "duplicate")]
    entries = json.loads(info.read_text())
    assert entries["other"] == {"file_name": "x.json"}  # merged, never clobbered
    assert entries["mine"] == {"file_name": "data/mine.json", **SHAREGPT_ENTRY}


@pytest.mark.parametrize("broken", ["{not json", "[1, 2]"])
def test_broken_dataset_info_fails_before_the_previous_dataset_is_replaced(tmp_path: Path, broken: str) -> None:
    out, info = tmp_path / "d.json", tmp_path / "dataset_info.json"
    write_dataset([_good(0)], out, "d", info_path=None)
    before = out.read_bytes()
    info.write_text(broken)
    with pytest.raises(ValueError, match="dataset_info.json"):
        write_dataset([_good(1)], out, "d", info_path=info)
    assert out.read_bytes() == before and info.read_text() == broken
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.json", "d.rejects.jsonl", "dataset_info.json"]


def test_interrupted_write_keeps_previous_dataset(tmp_path: Path) -> None:
    out = tmp_path / "d.json"
    write_dataset([_good(0)], out, "d", info_path=None)
    before = out.read_bytes()

    def exploding():
        yield _good(1)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_dataset(exploding(), out, "d", info_path=None)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.json", "d.rejects.jsonl"]  # no temp files left


def test_eval_split_is_seeded_and_stable(tmp_path: Path) -> None:
    def split(seed: int) -> tuple[list[str], list[str]]:
        with DatasetWriter(tmp_path / "s.jsonl", "s", info_path=tmp_path / "i.json", eval_fraction=0.2, seed=seed) as w:
            for i in range(500):
                w.add_sample(_good(i))
            w.commit()
        read = lambda p: [json.loads(x)["conversations"][0]["value"] for x in p.read_text().splitlines()]  # noqa: E731
        return read(tmp_path / "s.jsonl"), read(tmp_path / "s_eval.jsonl")

    train, evals = split(1)
    assert 60 < len(evals) < 140 and len(train) + len(evals) == 500 and not set(train) & set(evals)
    assert split(1) == (train, evals)  # same seed, same split
    assert split(2)[1] != evals
    assert set(json.loads((tmp_path / "i.json").read_text())) == {"s", "s_eval"}


def test_digest_set_grows_and_dedups() -> None:
    import hashlib

    from fc_plugin.sharegpt import DigestSet

    digests = [hashlib.blake2b(str(i).encode(), digest_size=8).digest() for i in range(5000)]
    seen = DigestSet()
    assert all(seen.add(d) for d in digests) and len(seen) == 5000
    assert not any(seen.add(d) for d in digests[::3])
    assert seen.add(b"\0" * 8) and not seen.add(b"\0" * 8)  # the all-zero digest is a key like any other


def _merge_many(info: str, worker: int) -> None:
    from fc_plugin.io import merge_dataset_info

    for i in range(25):
        merge_dataset_info(info, {f"w{worker}_{i}": {"file_name": f"w{worker}_{i}.json"}})


def test_concurrent_merges_never_lose_an_entry(tmp_path: Path) -> None:
    """Several converts registering datasets at once (separate processes) keep every entry."""
    import multiprocessing

    info = tmp_path / "dataset_info.json"
    info.write_text(json.dumps({"other": {"file_name": "x.json"}}))
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_merge_many, args=(str(info), w)) for w in range(6)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(60)
    assert [p.exitcode for p in workers] == [0] * 6
    entries = json.loads(info.read_text())
    assert len(entries) == 1 + 6 * 25 and entries["other"] == {"file_name": "x.json"}
