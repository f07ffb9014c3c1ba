"""The offline tiny model: small, deterministic, and its tokenizer knows every family's chat tokens."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from transformers import AutoTokenizer

from fc_plugin.tiny_model import SPECIAL_TOKENS, TOOL_TOKENS, build_tiny_model


def _digest(folder: Path) -> dict[str, str]:
    names = ("model.safetensors", "tokenizer.json", "config.json")
    return {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in names}


def test_tiny_model_is_small_deterministic_and_seeded(tmp_path: Path, tiny_model: Path) -> None:
    info = json.loads((tiny_model / "fc_plugin_tiny.json").read_text())
    assert 10_000 < info["parameters"] < 1_000_000
    again = build_tiny_model(tmp_path / "again")
    assert _digest(again) == _digest(tiny_model)
    other = build_tiny_model(tmp_path / "other", seed=1)
    assert _digest(other)["model.safetensors"] != _digest(tiny_model)["model.safetensors"]


def test_tokenizer_keeps_chat_and_tool_tokens_whole(tiny_model: Path) -> None:
    tok = AutoTokenizer.from_pretrained(tiny_model)
    for token in [t for family in SPECIAL_TOKENS.values() for t in family] + TOOL_TOKENS:
        assert tok.tokenize(token) == [token], token
    text = 'Hi <|im_start|>user\n{"city": "北京"}<|im_end|>'
    assert tok.decode(tok(text)["input_ids"]) == text
