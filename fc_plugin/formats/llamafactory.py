"""The bridge to LLaMA-Factory: `FcTemplate` (a Template that encodes through our Jinja) and
`FcToolUtils` (a tool format usable with any stock LLaMA-Factory template).

Parity by construction: `FcTemplate._encode` turns LLaMA-Factory's messages into OpenAI-shaped ones
(`fc_plugin.formats.lf_messages`, which also documents the data conventions) and renders them with
the very chat template that `fix_jinja_template` installs into the tokenizer (and
`llamafactory-cli export` saves). The text of each LLaMA-Factory message is the difference between
renderings of growing prefixes: a prompt segment ends after the generation prompt, a response
segment is the assistant text plus the end-of-turn token.

Speed (bench/bench_templates.py): the segments add up to the full rendering with tools (the text
`apply_chat_template` gives) but are cut from one rendering without tools in which the template marks
where segments end (`split_head`); what the full rendering has in front of them is the system turn
(prefix, system prompt, tool prompt), the only place our chat template renders tools. So a sample
costs two renderings (one when its system turn is cached), however many messages it has. Datasets
reuse a few system prompts and tool sets, so the system turn's token ids are cached per tokenizer, and
tools are parsed and checked once per distinct tools JSON; the other segments are tokenized in one
batched call (through the Rust backend's `encode_batch_fast` where that gives the tokenizer's own ids:
`token_ids`). The system turn is tokenized on its own, as LLaMA-Factory's stock templates do (it ends
with an end-of-turn token, so the ids are the same as for the whole text; the parity tests check this
id for id).

The classes are built on first use (`fc_classes()`): importing LLaMA-Factory's template module fires
the autoload hook, which registers our templates and so needs these classes; building them lazily
keeps that cycle out of module import.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from fc_plugin.formats import jinja
from fc_plugin.formats.base import ToolCallFormat
from fc_plugin.formats.checks import check_tools
from fc_plugin.formats.lf_messages import THOUGHT_WORDS, describe_sample, parse_tools_json, to_chat_messages

#: Distinct system turns whose token ids are kept, per tokenizer.
HEAD_CACHE_SIZE = 1024
#: The sentinel our chat template writes where segments may end when asked to (its `fc_marks`): a
#: private-use character, split off before tokenizing. A sample whose own text holds it is split by
#: the exact method.
MARK = "\ue000"
#: Marks the chat template writes for each message of the loop, by role: after a user message, after a
#: tool message; after an assistant start and after the assistant message.
MARKS_PER_ROLE = {"user": 1, "assistant": 2, "tool": 1}


def split_rendering(source: str, chat: list[dict[str, Any]], tools: list[Any], ends: list[tuple[int, bool]],
                    where: str) -> list[str]:
    """Split the rendering of `chat` into the text of each LLaMA-Factory message.

    Exact definition: segment k = render(chat[:ends[k]]) minus render(chat[:ends[k-1]]) (each with the
    generation prompt after user/observation messages); see `split_head` for how it is computed.
    """
    head, segments = split_head(source, chat, tools, ends, where)
    return [head + segments[0], *segments[1:]]


def split_head(source: str, chat: list[dict[str, Any]], tools: list[Any], ends: list[tuple[int, bool]],
               where: str, tools_json: str | None = None) -> tuple[str, list[str]]:
    """(system turn, text of each LLaMA-Factory message), the first message's text without the system turn.

    Their concatenation is the full rendering with tools, the text `apply_chat_template` gives, built
    from two renderings: the system turn is the rendering of the system message and tools alone (cached
    per `tools_json`), and the segments are cut from one rendering of the whole chat without tools in
    which the template marks where each system turn, message and assistant start ends (`marked_segments`).
    This holds because our chat template renders `tools` only in the system turn and renders each
    message from the message and its neighbours' roles alone (tests/test_template_encoding.py checks the
    first in the Jinja source and compares the result with the exact definition and `apply_chat_template`
    on many samples). Whenever a check of the marked rendering fails (a sample's own text holds the
    sentinel, say), the exact prefix method is used (and the system turn is left empty).
    """
    system = chat[0]["content"] if chat and chat[0]["role"] == "system" else None
    segments = marked_segments(source, chat, ends, system)
    if segments is None:
        return "", prefix_segments(source, chat, tools, ends, where)
    head = system_turn(source, system, tools_json if tools_json is not None else json.dumps(tools, ensure_ascii=False))
    return head, segments


def marked_segments(source: str, chat: list[dict[str, Any]], ends: list[tuple[int, bool]], system: str | None
                    ) -> list[str] | None:
    """The segments (the first without the bare system turn) cut from one marked rendering without tools,
    or None when a check fails.

    The rendering of a prefix chat[:end] is the marked rendering up to its end's mark: the bare system
    turn, each message, then, for a generation prompt, the next message's assistant start (the same
    macro). Checked: the marks are as many as the messages write (one more means a sample's text holds
    the sentinel) and the rendering ends with one; the text before the first is the bare system turn; a
    prompt ends before an assistant message (or the chat's end) and no prefix ends inside a tool turn
    (whose end depends on the next message).
    """
    offset = 1 if system is not None else 0
    try:
        counts = [MARKS_PER_ROLE[message["role"]] for message in chat[offset:]]
    except KeyError:
        return None  # an unsupported role: the exact method raises the template's own error
    prompt_at_end = bool(ends) and ends[-1][1] and ends[-1][0] == len(chat)
    pieces = jinja.render(source, chat, None, prompt_at_end, MARK).split(MARK)
    if len(pieces) != 2 + sum(counts) + prompt_at_end or pieces[-1] or pieces[0] != system_turn(source, system, ""):
        return None
    marks = [1]  # marks up to the end of chat[:offset + i]
    for count in counts:
        marks.append(marks[-1] + count)
    segments, done = [], 1
    for end, prompt in ends:
        if end <= offset:
            return None
        if end < len(chat):
            after = chat[end]["role"]
            if (prompt and after != "assistant") or (after == "tool" and chat[end - 1]["role"] == "tool"):
                return None
        elif prompt and not prompt_at_end:
            return None
        upto = marks[end - offset] + prompt
        segments.append("".join(pieces[done:upto]))
        done = upto
    return segments


@lru_cache(maxsize=HEAD_CACHE_SIZE)
def system_turn(source: str, system: str | None, tools_json: str) -> str:
    """The rendering of only the system message (None: there is none) and the tools ("": none)."""
    tools = checked_tools(tools_json, "tools")[0] if tools_json else None  # parsed once, with the sample's checks
    return jinja.render(source, [{"role": "system", "content": system}] if system is not None else [], tools, False)


def prefix_segments(source: str, chat: list[dict[str, Any]], tools: list[Any], ends: list[tuple[int, bool]],
                    where: str) -> list[str]:
    """The exact (O(n^2)) split: differences between renderings of growing prefixes."""
    segments, previous = [], ""
    for end, prompt in ends:
        text = jinja.render(source, chat[:end], tools, prompt)
        if not text.startswith(previous):
            raise RuntimeError(f"{where}: chat template is not prefix-stable at message {len(segments)}")
        segments.append(text[len(previous) :])
        previous = text
    return segments


@lru_cache(maxsize=HEAD_CACHE_SIZE)
def _checked_tools(tools_json: str) -> tuple[list[Any], list[str]]:
    tool_list = parse_tools_json(tools_json, "tools")
    return tool_list, check_tools(tool_list, "tools", parsed_json=True)


def checked_tools(tools: str | list[Any] | None, where: str) -> tuple[list[Any], list[str]]:
    """(tool definitions, function names) of a sample, parsed and checked once per distinct tools JSON.

    The returned lists are shared between samples: read them, never change them.
    """
    if isinstance(tools, str):
        try:
            return _checked_tools(tools)
        except ValueError:
            pass  # checked again below, for an error message that names the sample
    tool_list = parse_tools_json(tools, where)
    return tool_list, check_tools(tool_list, where)


_head_ids: weakref.WeakKeyDictionary[Any, dict[str, list[int]]] = weakref.WeakKeyDictionary()


def system_turn_ids(tokenizer: Any, head: str) -> list[int]:
    """Token ids of a system turn, cached per tokenizer (whose vocabulary must not change meanwhile).

    The returned list is shared: copy it before changing it.
    """
    ids = cached_system_turn_ids(tokenizer, head)
    if ids is None:
        ids = store_system_turn_ids(tokenizer, head, tokenizer.encode(head, add_special_tokens=False))
    return ids


def cached_system_turn_ids(tokenizer: Any, head: str) -> list[int] | None:
    """The cached token ids of a system turn ([] for none), or None when they are not cached."""
    if not head:
        return []
    cache = _head_ids.get(tokenizer)
    return None if cache is None else cache.get(head)


def store_system_turn_ids(tokenizer: Any, head: str, ids: list[int]) -> list[int]:
    """Cache `ids` (`head` tokenized on its own) as the token ids of system turn `head`; return them."""
    cache = _head_ids.get(tokenizer)
    if cache is None:
        cache = _head_ids[tokenizer] = {}
    if len(cache) >= HEAD_CACHE_SIZE:
        cache.clear()
    cache[head] = ids
    return ids


def token_ids(tokenizer: Any, texts: list[str]) -> list[list[int]]:
    """Token ids of each text (no special tokens added), in one batched tokenizer call.

    A plain fast tokenizer is asked through its Rust backend's `encode_batch_fast`, which skips the
    character offsets (~30% of its time) and the conversion of every encoding to a dict, and gives the
    same ids as `tokenizer(texts, add_special_tokens=False)` (which any other tokenizer is asked): that
    call also clears the backend's truncation and padding first and sets how it splits special tokens,
    so the backend is only asked directly while it has neither and splits them as the tokenizer does.
    """
    backend = _direct_backend(tokenizer)
    if backend is not None:
        return [encoding.ids for encoding in backend.encode_batch_fast(texts, add_special_tokens=False)]
    return tokenizer(texts, add_special_tokens=False)["input_ids"]


class EncodingOffsets(Sequence[tuple[int, int]]):
    """The character spans of a Rust `Encoding`'s tokens, each read when asked for (`token_to_chars`):
    a cut needs a few of them, and building the whole list costs about a fifth of the encoding."""

    __slots__ = ("_encoding", "_length")

    def __init__(self, encoding: Any) -> None:
        self._encoding, self._length = encoding, len(encoding)

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._length))]
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError("token index out of range")
        return self._encoding.token_to_chars(index)


def token_ids_and_offsets(tokenizer: Any, text: str) -> tuple[list[int], Sequence[tuple[int, int]]]:
    """Token ids of `text` (no special tokens added) and each token's character span, from a fast
    tokenizer: through its Rust backend's `encode` when `token_ids` would ask it directly (the same ids
    and offsets as `tokenizer(text, return_offsets_mapping=True)`, without building a BatchEncoding;
    the spans as an `EncodingOffsets`), else through that call."""
    backend = _direct_backend(tokenizer)
    if backend is not None:
        encoding = backend.encode(text, add_special_tokens=False)
        return encoding.ids, EncodingOffsets(encoding)
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    return list(encoded["input_ids"]), list(encoded["offset_mapping"])


#: Methods on the way from `tokenizer(texts)` to the Rust backend; a tokenizer class that overrides one
#: of them is always asked through them.
_ENCODE_PATH = ("__call__", "_call_one", "_encode_plus", "_batch_encode_plus", "batch_encode_plus",
                "_switch_to_input_mode", "prepare_for_tokenization")


@lru_cache(maxsize=64)
def _plain_fast_class(cls: type) -> bool:
    from transformers import PreTrainedTokenizerFast

    return issubclass(cls, PreTrainedTokenizerFast) and all(
        getattr(cls, name, None) is getattr(PreTrainedTokenizerFast, name, None) for name in _ENCODE_PATH
    )


def _rust_backend(tokenizer: Any) -> Any:
    """The `tokenizers.Tokenizer` of a fast tokenizer whose class encodes as PreTrainedTokenizerFast does
    and has `encode_batch_fast` (tokenizers >= 0.21), else None."""
    backend = getattr(tokenizer, "_tokenizer", None)
    if backend is None or not hasattr(backend, "encode_batch_fast") or not _plain_fast_class(type(tokenizer)):
        return None
    return backend


def _direct_backend(tokenizer: Any) -> Any:
    """The Rust backend when asking it directly gives the tokenizer's own ids (see `token_ids`), else None."""
    backend = _rust_backend(tokenizer)
    if (backend is not None and backend.truncation is None and backend.padding is None
            and backend.encode_special_tokens == bool(getattr(tokenizer, "split_special_tokens", False))):
        return backend
    return None


_classes: tuple[type, type] | None = None


def fc_classes() -> tuple[type, type]:
    """(FcTemplate, FcToolUtils): subclasses of LLaMA-Factory's Template and ToolUtils, built once."""
    global _classes
    if _classes is None:
        import llamafactory.data.template  # noqa: F401 - may fire the autoload hook, which calls back in here
    if _classes is None:
        _classes = _build_classes()
    return _classes


def _build_classes() -> tuple[type, type]:
    from dataclasses import dataclass

    from llamafactory.data.template import Template
    from llamafactory.data.tool_utils import FunctionCall, ToolUtils

    @dataclass
    class FcTemplate(Template):
        """A LLaMA-Factory template whose text comes from the fc-plugin chat template (same Jinja as export)."""

        fc_name: str = ""
        fc_format: str = ""
        fc_family: str = ""

        def chat_template(self) -> str:
            """The Jinja this template trains with (and installs into the tokenizer)."""
            return jinja.compose(self.fc_format, self.fc_family, self.default_system)

        def render_segments(self, messages: list[dict[str, str]], system: str | None, tools: str | None) -> list[str]:
            """The text of each LLaMA-Factory message (prompt segments include the generation prompt)."""
            head, segments = self.render_split(messages, system, tools)
            return [head + segments[0], *segments[1:]]

        def render_split(self, messages: list[dict[str, str]], system: str | None, tools: str | None
                         ) -> tuple[str, list[str]]:
            """(system turn, text of each LLaMA-Factory message with the first one's system turn left out)."""
            where = f"template {self.fc_name}: {describe_sample(messages)}"
            tool_list, tool_names = checked_tools(tools, where)
            chat, ends = to_chat_messages(messages, system, tool_names, where)
            return split_head(self.chat_template(), chat, tool_list, ends, where,
                              tools if isinstance(tools, str) else None)

        def _encode(self, tokenizer: Any, messages: list[dict[str, str]], system: str | None, tools: str | None
                    ) -> list[list[int]]:
            head, segments = self.render_split(messages, system, tools)
            head_ids = cached_system_turn_ids(tokenizer, head)
            if head_ids is None:  # a new system turn: tokenized in the same batched call as the segments
                head_ids, *encoded = token_ids(tokenizer, [head, *segments])
                store_system_turn_ids(tokenizer, head, head_ids)
            else:
                encoded = token_ids(tokenizer, segments)
            encoded[0] = head_ids + encoded[0]
            return encoded

        def _get_jinja_template(self, tokenizer: Any) -> str:
            return self.chat_template()

        def fix_jinja_template(self, tokenizer: Any) -> None:
            """Install our tool-aware chat template (always: training, export and serving must agree)."""
            own = f"fc_{self.fc_format}"
            for formatter in (self.format_tools, self.format_function):
                if formatter.tool_format != own:
                    raise ValueError(
                        f"template {self.fc_name} has its own tool format {own}; remove "
                        f"`tool_format: {formatter.tool_format}` (or use a stock template with it)"
                    )
            tokenizer.chat_template = self.chat_template()

    class FcToolUtils(ToolUtils):
        """An fc-plugin format as a LLaMA-Factory tool format (`tool_format: fc_json` etc.)."""

        def __init__(self, call_format: ToolCallFormat) -> None:
            self.call_format = call_format

        def tool_formatter(self, tools: list[dict[str, Any]]) -> str:  # type: ignore[override]
            return "\n\n" + self.call_format.format_tools(tools)

        def function_formatter(self, functions: list[FunctionCall]) -> str:  # type: ignore[override]
            return self.call_format.format_calls([{"name": f.name, "arguments": json.loads(f.arguments)} for f in functions])

        def tool_extractor(self, content: str) -> str | list[FunctionCall]:  # type: ignore[override]
            result = self.call_format.parse_calls(content)
            if result.calls:
                return [FunctionCall(c.name, json.dumps(c.arguments, ensure_ascii=False)) for c in result.calls]
            if result.thought:
                return f"{THOUGHT_WORDS[0]}{result.thought}{THOUGHT_WORDS[1]}\n{result.content}"
            return result.content

    return FcTemplate, FcToolUtils


def __getattr__(name: str) -> Any:
    """`FcTemplate` / `FcToolUtils` as module attributes, built on first access."""
    if name in ("FcTemplate", "FcToolUtils"):
        return fc_classes()[0 if name == "FcTemplate" else 1]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
