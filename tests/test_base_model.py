"""The demo's tiny pretrained base: generic only, reproducible, and it brings copying, JSON and chat."""

from __future__ import annotations

import hashlib
import json
import random
import re
import subprocess
from pathlib import Path

import pytest

from fc_plugin.base_model import (
    CHECK_STEP,
    PROVENANCE,
    SHIPPED,
    Generic,
    _bank_values,
    chatml,
    tokenizer_corpus,
)

ROOT = Path(__file__).resolve().parents[1]


def _generic_text(n: int = 3000) -> str:
    gen = Generic(random.Random(7))
    return "\n".join("".join(t for t, _ in chatml(gen.sample())) for _ in range(n))


def test_generic_tasks_hold_nothing_of_the_demo() -> None:
    """No tool name, no call format, no synth bank value, no demo prompt in the pretraining text."""
    corpus = "\n".join(list(tokenizer_corpus(0, lines=500)))
    text = _generic_text() + corpus
    low = _generic_text().lower()  # what the model learns from (the tokenizer's word list is common
    # English: it has "clear" and "snow", which the weather-condition bank also uses)
    tools = json.loads((ROOT / "data" / "tools" / "seed_tools.json").read_text(encoding="utf-8"))
    for tool in tools:
        assert tool["name"] not in text, tool["name"]
    for marker in ("<tool_call>", "<function_call>", "<tools>", '"arguments"', "Action Input:", "Observation:"):
        assert marker not in text, marker
    words = set(re.findall(r"[a-z0-9.@_-]+", low))
    leaked = sorted(v for v in _bank_values() if v in words and len(v) >= 3)  # a single-word bank value as a word
    assert not leaked, leaked[:20]
    multi = [v for v in _bank_values() if " " in v and len(v) > 8]
    assert multi and not [v for v in multi if v in low or v in corpus.lower()]  # phrases such as "meeting notes"
    phrases = json.loads((ROOT / "data" / "tools" / "seed_templates.json").read_text(encoding="utf-8"))
    prompts = [r for tool in phrases["tools"].values() for r in tool["en"]["requests"]]
    openings = [p.split("{")[0].strip().lower() for p in prompts if len(p.split("{")[0]) > 12]
    assert openings and not [p for p in openings if p in low]


def test_generic_tasks_extract_what_the_text_says() -> None:
    """The JSON answers of extraction tasks hold exactly values that occur in the user's text."""
    gen = Generic(random.Random(3))
    for i in range(300):
        turns = gen.task_extract_named() if i % 2 else gen.task_extract_schema()
        answer = json.loads(turns[-1][1])
        user = turns[-2][1]
        for value in answer.values():
            assert str(value) in user


def _short_build(out: Path) -> dict:
    run = subprocess.run(
        ["fc-plugin", "base-model", str(out), "--stop-after", str(CHECK_STEP), "--no-progress"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads((out / PROVENANCE).read_text(encoding="utf-8"))


def test_build_reproduces_the_shipped_base_on_a_short_budget(tmp_path: Path) -> None:
    """Same command, same seed: the tokenizer bytes equal the shipped build's, and so do the weights after
    CHECK_STEP steps on a CPU kind the provenance records a checkpoint for (float kernels, and so the
    weights' last bits, differ between CPU kinds); on another kind, two builds give the same bytes."""
    shipped = json.loads((SHIPPED / PROVENANCE).read_text(encoding="utf-8"))
    assert shipped["checkpoint_step"] == CHECK_STEP and shipped["command"].startswith("fc-plugin base-model")
    out = tmp_path / "base"
    short = _short_build(out)
    known = dict(shipped.get("checkpoint_sha256_by_cpu", {}))
    if shipped.get("cpu"):
        known[shipped["cpu"]] = shipped["checkpoint_sha256"]
    if short["cpu"] in known:
        assert short["weights_sha256"] == known[short["cpu"]], short["cpu"]
    else:
        assert _short_build(tmp_path / "again")["weights_sha256"] == short["weights_sha256"], short["cpu"]
    for name in ("tokenizer.json", "tokenizer_config.json"):
        assert hashlib.sha256((out / name).read_bytes()).digest() == hashlib.sha256((SHIPPED / name).read_bytes()).digest()
    assert shipped["settings"] == short["settings"]


def test_shipped_base_files_match_their_provenance() -> None:
    from safetensors.torch import load_file
    from transformers import Qwen2ForCausalLM

    from fc_plugin.base_model import weights_sha256

    shipped = json.loads((SHIPPED / PROVENANCE).read_text(encoding="utf-8"))
    model = Qwen2ForCausalLM.from_pretrained(SHIPPED)
    assert weights_sha256(model) == shipped["weights_sha256"]
    assert sum(p.numel() for p in model.parameters()) == shipped["parameters"] < 2_000_000
    assert load_file(SHIPPED / "model.safetensors")  # plain safetensors, loadable without transformers


@pytest.fixture(scope="module")
def base():
    from transformers import AutoTokenizer, Qwen2ForCausalLM

    return Qwen2ForCausalLM.from_pretrained(SHIPPED), AutoTokenizer.from_pretrained(SHIPPED)


def _answer(base, turns: list[tuple[str, str]]) -> str:
    import torch

    model, tok = base
    prompt = "".join(t for t, _ in chatml(turns)) + "<|im_start|>assistant\n"
    ids = torch.tensor([tok(prompt)["input_ids"]])
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=60, do_sample=False, pad_token_id=tok.pad_token_id)
    return tok.decode(out[0, ids.shape[1] :])


def test_base_copies_unseen_values_into_json_and_stops(base) -> None:
    """Fresh values (another seed than training) copied into a JSON object, the end-of-turn token right after."""
    gen = Generic(random.Random("test-values"))
    right = 0
    for _ in range(30):
        turns = gen.task_extract_typed() if _ % 2 else gen.task_extract_named()
        answer = _answer(base, turns[:-1])
        if answer.endswith("<|im_end|>"):
            try:
                right += json.loads(answer[: -len("<|im_end|>")]) == json.loads(turns[-1][1])
            except json.JSONDecodeError:
                pass
    assert right >= 20, f"{right}/30 JSON extractions equal to the expected object"


def test_base_repeats_text_it_never_saw(base) -> None:
    gen = Generic(random.Random("test-repeat"))
    right = 0
    for _ in range(20):
        turns = gen.task_repeat()
        right += _answer(base, turns[:-1]) == turns[-1][1] + "<|im_end|>"
    assert right >= 18, f"{right}/20 exact repeats"


def test_resuming_stage_three_gives_the_same_bytes_as_a_build_from_scratch(tmp_path: Path) -> None:
    from fc_plugin.base_model import build_base_model

    small = dict(copy_steps=30, mixed_steps=15, progress=False, held_out=0)
    scratch = build_base_model(tmp_path / "scratch", extra_steps=10, **small)
    build_base_model(tmp_path / "stage2", extra_steps=0, **small)
    resumed = build_base_model(tmp_path / "resumed", extra_steps=10, resume_from=tmp_path / "stage2", **small)
    assert resumed["weights_sha256"] == scratch["weights_sha256"] and resumed["stage2_sha256"] == scratch["stage2_sha256"]
    assert (tmp_path / "resumed" / "model.safetensors").read_bytes() == (tmp_path / "scratch" / "model.safetensors").read_bytes()
    with pytest.raises(ValueError, match="not a stages-1-2 build"):
        build_base_model(tmp_path / "bad", extra_steps=10, resume_from=tmp_path / "scratch", **small)
