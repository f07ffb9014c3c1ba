"""LLaMA-Factory messages -> OpenAI-shaped chat messages, as the fc templates read them.

Data conventions (ShareGPT `function_call` / `gpt` values and `observation` values):
- a `function_call` value is JSON, one `{"name", "arguments"}` object or a list of them (parallel
  calls), optionally preceded by a thought; `arguments` may also be a JSON string;
- a `gpt` value may start with a thought;
- a thought is stored in LLaMA-Factory's own convention, its default `thought_words`
  `<think>\n...\n</think>\n\n` (DATA_THOUGHT_WORDS), which every stock template strips from a
  `function_call` value before parsing its JSON; the older `<thought>...</thought>` is still read;
- an `observation` holding the results of a parallel call is a JSON list of `{"name", "content"}`
  objects (fc_plugin.sharegpt's convention), or the results joined with RESULT_SEPARATOR
  (LLaMA-Factory's own OpenAI-converter convention).
"""

from __future__ import annotations

import json
import re
from typing import Any

from fc_plugin.formats.checks import check_calls
from fc_plugin.formats.parsing import snippet

RESULT_SEPARATOR = "\n</tool_response>\n<tool_response>\n"
THOUGHT_WORDS = ("<thought>", "</thought>")  # how our templates' formats mark a thought in the model's output
DATA_THOUGHT_WORDS = ("<think>\n", "\n</think>\n\n")  # how a thought is stored in data (LLaMA-Factory's default)
_THOUGHT_EXACT = re.compile(r"\A<think>\n(.*?)\n</think>\n\n|\A<thought>(.*?)</thought>", re.S)  # as written
_THOUGHT_LOOSE = re.compile(r"\A\s*(?:<think>(.*?)</think>|<thought>(.*?)</thought>)\s*", re.S)


def split_thought(value: str) -> tuple[str | None, str]:
    """(thought, rest) for a value that may start with a thought: `<think>\n...\n</think>\n\n` as
    `with_thought` writes it (the thought kept exactly), else `<think>...</think>` or the older
    `<thought>...</thought>` with any whitespace around (the thought stripped); None when there is none."""
    match = _THOUGHT_EXACT.match(value)
    if match:
        return (match[1] if match[1] is not None else match[2]), value[match.end() :]
    match = _THOUGHT_LOOSE.match(value)
    if not match:
        return None, value
    return (match[1] if match[1] is not None else match[2]).strip(), value[match.end() :]


def with_thought(thought: str | None, value: str) -> str:
    """A data value with `thought` in front, in LLaMA-Factory's convention (the value itself when no thought)."""
    return f"{DATA_THOUGHT_WORDS[0]}{thought}{DATA_THOUGHT_WORDS[1]}{value}" if thought else value


def decode_function_message(content: str, where: str) -> tuple[str | None, list[dict[str, Any]]]:
    """(thought, calls) of a LLaMA-Factory `function` message; ValueError when it is not valid."""
    thought, body = split_thought(content)
    try:
        value = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: function_call is not valid JSON ({exc.msg}): {snippet(body)}") from None
    calls = []
    for item in value if isinstance(value, list) else [value]:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ValueError(f"{where}: function_call needs {{\"name\", \"arguments\"}} objects: {snippet(body)}")
        arguments = item.get("arguments", {})
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except json.JSONDecodeError:
                raise ValueError(f"{where}: arguments of {item['name']!r} are not valid JSON: {snippet(arguments)}") from None
        calls.append({"name": item["name"], "arguments": arguments})
    if not calls:
        raise ValueError(f"{where}: function_call holds no call")
    return thought, calls


def parse_tools_json(tools: str | list[Any] | None, where: str) -> list[Any]:
    """Tools of a LLaMA-Factory sample (a JSON string, possibly empty) as a list."""
    if not tools:
        return []
    if isinstance(tools, list):
        return tools
    try:
        value = json.loads(tools)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: tools is not valid JSON ({exc.msg}): {snippet(tools)}") from None
    return value if isinstance(value, list) else [value]


def split_results(content: str) -> list[dict[str, Any]]:
    """Tool messages for one LLaMA-Factory observation (one result, or the results of a parallel call)."""
    if content.startswith("[") and '"content"' in content:
        try:
            value = json.loads(content)
        except json.JSONDecodeError:
            value = None
        if (isinstance(value, list) and value
                and all(isinstance(r, dict) and "content" in r and set(r) <= {"name", "content"} for r in value)):
            return [{"role": "tool", "content": r["content"], **({"name": r["name"]} if r.get("name") else {})}
                    for r in value]
    return [{"role": "tool", "content": result} for result in content.split(RESULT_SEPARATOR)]


def describe_sample(messages: list[dict[str, Any]]) -> str:
    """A short label for a sample in error messages: its first user message."""
    first = next((m.get("content", "") for m in messages if m.get("role") == "user"), "")
    return f"sample starting {snippet(str(first))}"


def to_chat_messages(messages: list[dict[str, str]], system: str | None, tool_names: list[str], where: str
                     ) -> tuple[list[dict[str, Any]], list[tuple[int, bool]]]:
    """OpenAI-shaped messages for LLaMA-Factory's, plus for each LF message (end index, generation prompt?)."""
    chat: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    ends: list[tuple[int, bool]] = []
    for index, message in enumerate(messages):
        role, content = message["role"], message["content"]
        if role == "user":
            chat.append({"role": "user", "content": content})
        elif role == "assistant":
            thought, answer = split_thought(content)
            chat.append({"role": "assistant", "content": answer, **({"thought": thought} if thought else {})})
        elif role == "function":
            thought, calls = decode_function_message(content, f"{where}, message {index}")
            check_calls(calls, tool_names, f"{where}, message {index}")
            chat.append({
                "role": "assistant",
                "content": "",
                "tool_calls": [{"type": "function", "function": c} for c in calls],
                **({"thought": thought} if thought else {}),
            })
        elif role == "observation":
            chat += split_results(content)
        else:
            raise ValueError(f"{where}, message {index}: unexpected role {role!r}")
        ends.append((len(chat), role in ("user", "observation")))
    return chat, ends
