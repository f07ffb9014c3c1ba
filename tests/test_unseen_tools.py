"""The tool files bench/bench_augment.py scores "tools never seen in training" on.

- data/tools/renamed_tools.json: the seed tools' jobs under other function and parameter names and
  descriptions, every schema otherwise the same (so only reading the tool list can get them right);
- data/tools/heldout_tools.json: other jobs altogether.
"""

from __future__ import annotations

import json
from pathlib import Path

from fc_plugin.synth import Generator, SynthConfig, load_templates, load_tools
from fc_plugin.validate import validate_sample

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "data" / "tools"


def _tools(name: str) -> list[dict]:
    return load_tools(TOOLS / name)


def _shape(tool: dict) -> list[tuple]:
    """A tool's parameters without their names and descriptions, in order, plus which are required."""
    props = tool["parameters"]["properties"]
    required = set(tool["parameters"].get("required", []))
    return [
        (json.dumps({k: v for k, v in schema.items() if k != "description"}, sort_keys=True), name in required)
        for name, schema in props.items()
    ]


def test_renamed_tools_are_the_seed_tools_under_other_names() -> None:
    seed, renamed = _tools("seed_tools.json"), _tools("renamed_tools.json")
    assert len(renamed) == len(seed)
    for old, new in zip(seed, renamed, strict=True):
        assert _shape(new) == _shape(old), (old["name"], new["name"])
        assert new["description"] != old["description"]
        assert all(p["description"] for p in new["parameters"]["properties"].values())
    seed_words = {w for t in seed for w in t["name"].split("_")}
    seed_params = {p for t in seed for p in t["parameters"]["properties"]}
    for tool in renamed:
        assert not set(tool["name"].split("_")) & seed_words, tool["name"]  # no word of a seen name to recall
        assert not set(tool["parameters"]["properties"]) & seed_params, tool["name"]


def test_unseen_tools_share_no_name_with_any_demo_training_tool() -> None:
    """Neither the seed tools nor the tools of seed 003's records (the demo's converted set, whose tools
    augmentation also adds as distractors) may carry an unseen tool's name."""
    raw = (ROOT / "data" / "raw" / "seed003.json").read_text(encoding="utf-8")
    seed = {t["name"] for t in _tools("seed_tools.json")}
    for name in ("heldout_tools.json", "renamed_tools.json"):
        for tool in _tools(name):
            assert tool["name"] not in seed and f'"{tool["name"]}"' not in raw, (name, tool["name"])


def test_unseen_tool_templates_load_and_synth_writes_valid_calls() -> None:
    for tools_file, phrases in (("renamed_tools.json", "renamed_templates.json"), ("heldout_tools.json", "heldout_templates.json")):
        tools = _tools(tools_file)
        templates = load_templates(TOOLS / phrases, tools)
        assert set(templates["tools"]) == {t["name"] for t in tools}
        samples = Generator(tools, SynthConfig(n=120, seed=3, langs=("en",), max_tools=1), templates).generate()
        assert len(samples) == 120
        called = set()
        for sample in samples:
            assert not validate_sample(sample), sample
            called |= {c.name for m in sample.messages for c in m.tool_calls}
        assert called == {t["name"] for t in tools}
