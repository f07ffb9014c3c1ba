"""Tool-call formats: one class per format, each rendering through its Jinja macros and parsing output.

`get_format(name)` accepts a format name (`json`), a tool-format name (`fc_json`) or a template
name (`fc_json_qwen`).
"""

from __future__ import annotations

from fc_plugin.formats.base import ParseResult, ToolCallFormat
from fc_plugin.formats.jinja import FAMILIES, FORMATS
from fc_plugin.formats.react import ReactFormat
from fc_plugin.formats.tagged import JsonFormat, TagsFormat

_BY_NAME: dict[str, ToolCallFormat] = {f.name: f for f in (ReactFormat(), TagsFormat(), JsonFormat())}


def split_name(name: str) -> tuple[str, str | None]:
    """(format, family) for `json`, `fc_json` or `fc_json_qwen`; ValueError for anything else."""
    parts = name.split("_") if isinstance(name, str) else []
    if len(parts) == 1 and parts[0] in _BY_NAME:
        return parts[0], None
    if len(parts) in (2, 3) and parts[0] == "fc" and parts[1] in _BY_NAME:
        if len(parts) == 2:
            return parts[1], None
        if parts[2] in FAMILIES:
            return parts[1], parts[2]
    known = [f"fc_{f}_{fam}" for f in FORMATS for fam in FAMILIES] + [f"fc_{f}" for f in FORMATS]
    raise ValueError(f"unknown fc-plugin template or tool format {name!r}; known: {', '.join(known)}")


def get_format(name: str) -> ToolCallFormat:
    """The format object for a format, tool-format or template name."""
    return _BY_NAME[split_name(name)[0]]


__all__ = ["FAMILIES", "FORMATS", "ParseResult", "ToolCallFormat", "get_format", "split_name"]
