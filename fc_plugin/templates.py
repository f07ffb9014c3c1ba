"""Function-call chat templates (PLACEHOLDER: issue 3 replaces this with templates/*.jinja)."""

from __future__ import annotations

_NAMES = ["fc_json_qwen"]


def names() -> list[str]:
    """Names of the chat templates this plugin registers with LLaMA-Factory."""
    return list(_NAMES)


def register_templates() -> list[str]:
    """Register the plugin's templates with LLaMA-Factory (idempotent)."""
    from llamafactory.data.formatter import EmptyFormatter, FunctionFormatter, StringFormatter, ToolFormatter
    from llamafactory.data.template import TEMPLATES, register_template

    if "fc_json_qwen" not in TEMPLATES:
        register_template(
            name="fc_json_qwen",
            format_user=StringFormatter(slots=["<|im_start|>user\n{{content}}<|im_end|>\n<|im_start|>assistant\n"]),
            format_assistant=StringFormatter(slots=["{{content}}<|im_end|>\n"]),
            format_system=StringFormatter(slots=["<|im_start|>system\n{{content}}<|im_end|>\n"]),
            format_function=FunctionFormatter(slots=["{{content}}<|im_end|>\n"], tool_format="qwen"),
            format_observation=StringFormatter(
                slots=["<|im_start|>user\n<tool_response>\n{{content}}\n</tool_response><|im_end|>\n<|im_start|>assistant\n"]
            ),
            format_tools=ToolFormatter(tool_format="qwen"),
            format_prefix=EmptyFormatter(),
            default_system="You are a helpful assistant.",
            stop_words=["<|im_end|>"],
            replace_eos=True,
        )
    return names()
