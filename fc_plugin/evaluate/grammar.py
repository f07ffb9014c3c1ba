"""Grammar-constrained decoding of tool calls with xgrammar (HF transformers logits processor).

The grammar leaves free text alone and constrains only what follows a call opener of the
template's format: once the model writes `<tool_call>` (json format), `<function_call>` (tags) or
`Action: NAME` (react), the call must be JSON that matches the schema of a tool offered in the
sample, up to the closing tag. The opener/closer strings come from rendering a call with the
format itself, so they always match what training used.

Chosen after trying the three candidates on CPU with transformers 5.6 (tiny model, 2 cores):
- xgrammar 0.2.8: works; compiles a tool-call grammar in ~10 ms, one grammar per batch row, and its
  structural tags express "free text, then a schema-checked call between tags" directly;
- outlines 1.3.3: works, but 125 s for a 40-token constrained generation (index building), and it
  constrains the whole output to one schema (forcing a call where text is the right answer);
- lm-format-enforcer 0.11.3: does not import with transformers 5 (`transformers.tokenization_utils`
  is gone).
"""

from __future__ import annotations

import json
import os
from typing import Any

from fc_plugin.sample import ToolCall

_PLACEHOLDER = "fc_plugin_placeholder_tool"


def call_tags(template: str, tools: list[dict[str, Any]]) -> dict[str, Any]:
    """xgrammar structural tag (triggered tags) for calls to `tools` in `template`'s format."""
    from fc_plugin.formats import get_format

    fmt = get_format(template)
    tags = []
    for tool in tools:
        name = tool["name"]
        parameters = tool.get("parameters") or {"type": "object"}
        rendered = fmt.format_calls([ToolCall(name, {})])
        whole = json.dumps({"name": name, "arguments": {}}, ensure_ascii=False)
        if whole in rendered:  # tagged formats: the call object sits between the tags
            start = rendered.index(whole)
            end = start + len(whole)
            schema = {
                "type": "object",
                "properties": {"name": {"const": name}, "arguments": parameters},
                "required": ["name", "arguments"],
            }
        else:  # react: "Action: NAME\nAction Input: {args}"
            start = rendered.rindex("{}")
            end = start + 2
            schema = parameters
        begin, close = rendered[:start], rendered[end:]
        tags.append({"type": "tag", "begin": begin, "content": _json_content(schema), "end": close})
    triggers = sorted({_trigger(tag["begin"], tool["name"]) for tag, tool in zip(tags, tools, strict=True)})
    if len(tags) > 1 and len({(t["begin"], t["end"]) for t in tags}) == 1:  # one opener for all tools: anyOf
        schemas = [t["content"]["json_schema"] for t in tags]
        tags = [{**tags[0], "content": _json_content({"anyOf": schemas})}]
    return {
        "type": "structural_tag",
        "format": {"type": "triggered_tags", "triggers": triggers, "tags": tags},
    }


def _json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": schema, "max_whitespace_cnt": 2}


def _trigger(begin: str, name: str) -> str:
    """The part of a tag's opener shared by all tools (cut before the tool name, if it is in it)."""
    cut = begin.find(name)
    return begin[:cut] if cut > 0 else begin


class CallGrammar:
    """Compiles (and caches) one grammar per (template, tool set) for a tokenizer."""

    def __init__(self, tokenizer: Any, vocab_size: int | None = None) -> None:
        try:
            import xgrammar
        except ImportError as exc:
            raise ValueError(
                "--grammar xgrammar needs the xgrammar package: pip install 'fc-plugin[grammar]'"
            ) from exc
        self._xgr = xgrammar
        info = xgrammar.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size)
        self._compiler = xgrammar.GrammarCompiler(info, max_threads=max(1, min(4, os.cpu_count() or 1)))
        self._cache: dict[str, Any] = {}
        self._free_text = None
        self.failures = 0  # tool sets whose schemas xgrammar could not compile (decoded unconstrained)

    def compiled(self, template: str, tools: list[dict[str, Any]]) -> Any:
        """The compiled grammar; free text when there are no tools or the schemas do not compile."""
        key = template + json.dumps(tools, sort_keys=True, ensure_ascii=False)
        if key not in self._cache:
            grammar = None
            if tools:
                try:
                    grammar = self._compiler.compile_structural_tag(json.dumps(call_tags(template, tools)))
                except (
                    RuntimeError,
                    ValueError,
                    TypeError,
                    KeyError,
                ) as exc:  # xgrammar raises RuntimeError subclasses
                    self.failures += 1
                    grammar = None
                    self._last_error = str(exc)
            self._cache[key] = grammar if grammar is not None else self._any_text()
        return self._cache[key]

    def _any_text(self) -> Any:
        if self._free_text is None:
            self._free_text = self._compiler.compile_structural_tag(
                json.dumps({"type": "structural_tag", "format": {"type": "any_text"}})
            )
        return self._free_text

    def logits_processor(self, grammars: list[Any]) -> Any:
        """A fresh transformers logits processor for one `generate()` call over a batch (one grammar per row)."""
        from xgrammar.contrib.hf import LogitsProcessor

        return LogitsProcessor(list(grammars))
