"""Synthetic function-calling data: rule-based generation for every sample category, and a teacher client.

- `generator`: the five categories from tool schemas alone (`Generator`, `SynthConfig`, `parse_mix`);
- `values` / `banks` / `dates`: argument values from schemas, banks and relative dates;
- `utterances`: request templates (auto-derived or from a user template file), asks, thoughts;
- `mock`: deterministic tool results and grounded answers;
- `teacher`: an OpenAI-compatible teacher model, with retries, a concurrency limit and a cache.

`fc-plugin synth` (fc_plugin/commands/synth.py) puts them together with the shared validator,
writer and stats report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fc_plugin.synth.generator import CATEGORIES, DEFAULT_MIX, Generator, SynthConfig, allocate, parse_mix
from fc_plugin.synth.utterances import LANGS, load_templates, read_json_file


def load_tools(path: str | Path) -> list[dict[str, Any]]:
    """Tool schemas from a JSON file: a list of function dicts (or OpenAI `{"type": "function", ...}`
    wrappers, or `{"tools": [...]}`), normalised and checked. Raises ValueError naming the file and tool."""
    from fc_plugin.convert import ConvertError
    from fc_plugin.normalize import normalize_tools
    from fc_plugin.sample import Message, Sample
    from fc_plugin.validate import validate_sample

    path = Path(path)
    data = read_json_file(path, "tools file")
    if isinstance(data, dict) and "tools" in data:
        data = data["tools"]
    if not isinstance(data, list) or not data:
        raise ValueError(f"{path}: expected a non-empty JSON list of tool schemas")
    tools = []
    for i, raw in enumerate(data):
        try:
            tools.extend(normalize_tools(raw))
        except ConvertError as exc:
            raise ValueError(f"{path}: tool {i}: {exc.message}") from None
    probe = Sample([Message("user", "hi"), Message("assistant", "hello")], tools)
    problems = [p for p in validate_sample(probe) if p.code in ("invalid_tool_schema", "duplicate_tool")]
    if problems:
        raise ValueError(f"{path}: {problems[0].message}")
    return tools


def parse_langs(text: str) -> tuple[str, ...]:
    """`"en,zh"` -> ("en", "zh"); raises ValueError for a language we have no words for."""
    langs = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    bad = [lang for lang in langs if lang not in LANGS]
    if bad or not langs:
        raise ValueError(f"--lang: unsupported {', '.join(bad) or 'empty list'}; use a comma list of {', '.join(LANGS)}")
    return langs


__all__ = [
    "CATEGORIES",
    "DEFAULT_MIX",
    "LANGS",
    "Generator",
    "SynthConfig",
    "allocate",
    "load_templates",
    "load_tools",
    "parse_langs",
    "parse_mix",
]
