"""Function-call chat templates: one Jinja source per format and per model family (templates/),
composed into LLaMA-Factory templates `fc_{format}_{family}` and tool formats `fc_{format}`.

Public API: `names()`, `chat_template(name)`, `parse_calls(name, text, strict=False)`, `render(...)`,
`stop_strings(name)`, `register_templates()`. See `fc_plugin.formats.llamafactory` for the data
conventions (thoughts, parallel calls and results) the LLaMA-Factory side reads.
"""

from __future__ import annotations

from typing import Any

from fc_plugin.formats import FAMILIES, FORMATS, ParseResult, get_format, split_name
from fc_plugin.formats import jinja as _jinja
from fc_plugin.sample import ToolCall

#: End-of-turn tokens per family; the first is the EOS LLaMA-Factory trains (replace_eos).
STOP_WORDS: dict[str, list[str]] = {
    "qwen": ["<|im_end|>"],
    "llama3": ["<|eot_id|>", "<|eom_id|>"],
    "phi4": ["<|end|>"],
}
TOOL_FORMATS = [f"fc_{fmt}" for fmt in FORMATS]


def names() -> list[str]:
    """Names of the chat templates this plugin registers with LLaMA-Factory."""
    return [f"fc_{fmt}_{family}" for fmt in FORMATS for family in FAMILIES]


def _template_parts(name: str) -> tuple[str, str]:
    fmt, family = split_name(name)
    if family is None:
        raise ValueError(f"{name!r} is a tool format, not a template; templates: {', '.join(names())}")
    return fmt, family


def chat_template(name: str, default_system: str = "") -> str:
    """The self-contained Jinja chat template of `name`, for `tokenizer.chat_template` / vLLM `--chat-template`."""
    fmt, family = _template_parts(name)
    return _jinja.compose(fmt, family, default_system)


def parse_calls(name: str, text: str, strict: bool = False) -> ParseResult:
    """Parse model output written in the format of template / tool format `name`. Never raises on `text`
    (ValueError only for an unknown `name`). Strict mode (evaluation) accepts only the exact format;
    lenient mode (serving) also repairs code fences, Python literals, unclosed tags, trailing text.
    A stock LLaMA-Factory template name (e.g. `qwen`, for baselines) is parsed with that template's
    own tool extractor; `fc_native` / `fc_native_<format>` read the native formats of
    `fc_plugin.formats.native_calls` (hermes, llama3_json, mistral, phi4_mini_json)."""
    if name.startswith("fc_native"):  # the model's own format (fc_plugin.formats.native)
        from fc_plugin.formats import native

        return native.parse_calls(name, text, strict=strict)
    try:
        fmt = get_format(name)
    except ValueError:
        return _parse_with_stock_template(name, text)
    return fmt.parse_calls(text, strict=strict)


def _parse_with_stock_template(name: str, text: str) -> ParseResult:
    import json

    from llamafactory.data.template import TEMPLATES

    if name not in TEMPLATES:
        split_name(name)  # raises the ValueError listing our names
    try:
        extracted = TEMPLATES[name].extract_tool(text)
    except Exception as exc:  # LF's extractors are not hardened against arbitrary output
        return ParseResult(content=text, errors=[f"{name} tool extractor failed: {exc}"])
    if isinstance(extracted, str):
        return ParseResult(content=extracted)
    result = ParseResult()
    for call in extracted:
        try:
            arguments = json.loads(call.arguments)
        except json.JSONDecodeError as exc:
            result.errors.append(f"call {call.name}: arguments are not valid JSON: {exc.msg}")
            continue
        if not isinstance(arguments, dict):
            result.errors.append(f"call {call.name}: arguments are not a JSON object")
            continue
        result.calls.append(ToolCall(call.name, arguments))
    return result


def stop_strings(name: str) -> list[str]:
    """Strings that end a generation in template `name` (end-of-turn tokens, plus `\\nObservation:` for ReAct)."""
    fmt, family = _template_parts(name)
    return STOP_WORDS[family] + list(get_format(fmt).stop_strings)


def render(name: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None, *,
           add_generation_prompt: bool = False, default_system: str = "", sample_id: str | None = None) -> str:
    """Render OpenAI-shaped messages (e.g. `Sample.chat_messages()`) with template `name`, after checking
    that the tools are valid JSON Schema function definitions and every call names one of them."""
    from fc_plugin.formats.checks import check_calls, check_tools

    where = f"template {name}: sample {sample_id}" if sample_id else f"template {name}"
    fmt, family = _template_parts(name)
    tool_names = check_tools(list(tools or []), where)
    for index, message in enumerate(messages):
        calls = [c.get("function", c) for c in message.get("tool_calls") or []]
        check_calls(calls, tool_names, f"{where}, message {index}")
    return _jinja.render(_jinja.compose(fmt, family, default_system), messages, tools, add_generation_prompt)


def register_templates() -> list[str]:
    """Register the 9 templates and 3 tool formats with LLaMA-Factory (idempotent)."""
    from llamafactory.data.formatter import EmptyFormatter, FunctionFormatter, StringFormatter, ToolFormatter
    from llamafactory.data.template import TEMPLATES, register_template
    from llamafactory.data.tool_utils import TOOLS

    from fc_plugin.formats.lf_messages import THOUGHT_WORDS
    from fc_plugin.formats.llamafactory import fc_classes

    FcTemplate, FcToolUtils = fc_classes()  # noqa: N806

    for fmt in FORMATS:
        if not isinstance(TOOLS.get(f"fc_{fmt}"), FcToolUtils):
            TOOLS[f"fc_{fmt}"] = FcToolUtils(get_format(fmt))
    for name in names():
        if isinstance(TEMPLATES.get(name), FcTemplate):
            continue
        fmt, family = _template_parts(name)

        def part(macro: str, *args: str, family: str = family) -> str:
            return _jinja.macro(f"families/{family}.jinja", macro, *args)

        end = part("fc_assistant_end")
        result = _jinja.macro(f"formats/{fmt}.jinja", "fc_result", "{{content}}")
        prefix = part("fc_prefix")
        TEMPLATES.pop(name, None)
        register_template(
            name=name,
            format_user=StringFormatter(slots=[part("fc_user", "{{content}}") + part("fc_assistant_start")]),
            format_assistant=StringFormatter(slots=["{{content}}" + end]),
            format_system=StringFormatter(slots=[part("fc_system", "{{content}}", "")]),
            format_function=FunctionFormatter(slots=["{{content}}" + end], tool_format=f"fc_{fmt}"),
            format_observation=StringFormatter(
                slots=[part("fc_tool_start") + result + part("fc_tool_end") + part("fc_assistant_start")]
            ),
            format_tools=ToolFormatter(tool_format=f"fc_{fmt}"),
            format_prefix=EmptyFormatter(slots=[prefix]) if prefix else EmptyFormatter(),
            stop_words=STOP_WORDS[family],
            thought_words=THOUGHT_WORDS,
            replace_eos=True,
            template_class=FcTemplate,
        )
        template = TEMPLATES[name]
        template.fc_name, template.fc_format, template.fc_family = name, fmt, family
    return names()
