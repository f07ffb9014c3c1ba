"""Unseen values: an expected argument value counts as unseen only if no training file holds its text."""

from __future__ import annotations

import json
from pathlib import Path

from fc_plugin.evaluate.novelty import leaf_values, training_text, unseen_summary, unseen_values
from fc_plugin.sample import ToolCall


def _train(tmp_path: Path) -> str:
    rows = [
        {"conversations": [
            {"from": "human", "value": 'Track ORD12345 and mail "Ann" <ann@x.org>, say "hi \\"there\\""'},
            {"from": "function_call", "value": json.dumps({"name": "f", "arguments": {"n": 250, "city": "北京"}},
                                                          ensure_ascii=False)},
        ]},
    ]  # fmt: skip
    path = tmp_path / "train.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return training_text([path])


def test_values_in_training_text_are_seen(tmp_path: Path) -> None:
    hay = _train(tmp_path)
    seen = ToolCall("f", {"order_id": "ORD12345", "n": 250, "city": "北京", "to": "ann@x.org", "ok": True})
    assert unseen_values([seen], hay) == []
    assert unseen_values([ToolCall("f", {"say": 'hi "there"'})], hay) == []  # JSON escapes undone


def test_values_nowhere_in_training_are_unseen(tmp_path: Path) -> None:
    hay = _train(tmp_path)
    call = ToolCall("f", {"order_id": "ORD54321", "n": 251, "tags": ["北京", "上海"], "where": {"city": "Paris"}})
    assert unseen_values([call], hay) == ["ORD54321", 251, "上海", "Paris"]
    assert unseen_values([call, call], hay) == ["ORD54321", 251, "上海", "Paris"]  # each value once
    assert unseen_values([ToolCall("f", {"x": None, "y": False})], hay) == []


def test_leaf_values_unpack_nesting() -> None:
    assert leaf_values({"a": [1, {"b": "c"}], "d": None}) == [1, "c", None]


def test_unseen_summary_scores_only_marked_samples() -> None:
    verdicts = [
        {"exact_match": True, "unseen_values": ["ORD1"]},
        {"exact_match": False, "unseen_values": ["x", "y"]},
        {"exact_match": False, "unseen_values": []},
        {"exact_match": True},
    ]
    assert unseen_summary(verdicts) == {"unseen_value_exact_call_accuracy": 0.5, "unseen_value_samples": 2}
    assert unseen_summary([{"exact_match": True}]) == {"unseen_value_exact_call_accuracy": None, "unseen_value_samples": 0}
