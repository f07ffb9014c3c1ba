"""`template: fc_native`: train with the base model's own chat template, token for token.

Every sample is rendered by `tokenizer.apply_chat_template(messages, tools=...)` with the tokenizer's
own template (never replaced), so the training ids are the ids transformers, vLLM and SGLang produce
for the same conversation. LLaMA-Factory's (prompt, response) pairs are cut out of that one full
rendering:

- the end of LLaMA-Factory message k is where the rendering of the conversation up to it (with the
  generation prompt after a user / tool message) ends, when that rendering is a prefix of the full one
  (the exact definition, as for the fc_* templates);
- templates that are not prefix-stable (Qwen3 writes `<think>\\n\\n</think>\\n\\n` only in the last
  assistant turn and drops reasoning before the last user query; Mistral moves the system prompt and
  tools to the last user turn) are cut by an anchor: the text of the rendering from the message's own
  content (its last call's name) to its end, found in the full rendering after the previous cut;
- every cut is checked: each user message, answer and call name must lie inside its own segment, else
  the sample is refused with a `NativeTemplateError` naming it;
- tokens are cut from the full rendering's token ids at the character cuts (a token holding any
  character of an assistant turn belongs to that turn), so the pairs add up to the full ids exactly.

Data mapping (the conventions of `fc_plugin.formats.lf_messages`): calls become OpenAI `tool_calls`
with dict arguments and deterministic 9-character alphanumeric ids (Mistral requires them; tool
results carry the matching `tool_call_id` and name); tools are wrapped as `{"type": "function",
"function": ...}` as an OpenAI client sends them; a thought becomes the template's reasoning:
`reasoning_content` when the template reads it (Qwen3), `<think>...</think>` in the content when the
template splits that off, otherwise the text beside the call (Qwen2.5/Hermes write it before the
calls). The template's own refusals (Llama 3.1/3.2: parallel calls) are raised naming the sample;
a template that renders no tool calls at all (Phi-4-mini's), or no tool definitions from `tools=` before
the first user message (Phi-4-mini-style ones read them from the system message's `tools` key), is refused
once, at load, naming the model and the fc_* template to use instead.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any

from fc_plugin.formats.lf_messages import describe_sample, to_chat_messages
from fc_plugin.formats.native_calls import FORMATS, detect_format, get_native_format, parse_native

NAME = "fc_native"
#: LLaMA-Factory tool formats `fc_native_<format>`: name the output format explicitly (`tool_format:`).
TOOL_FORMAT_PREFIX = "fc_native_"
logger = logging.getLogger(__name__)
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_PROBE_VALUE = "fc-probe-value-q7"
_PROBE_TOOLS = [{"type": "function", "function": {
    "name": "fc_probe_lookup", "description": "fc probe tool",
    "parameters": {"type": "object", "properties": {"key": {"type": "string"}}, "required": ["key"]}}}]
_PROBE_CHAT = [
    {"role": "system", "content": "fc probe system"},
    {"role": "user", "content": "fc probe question"},
    {"role": "assistant", "content": "", "tool_calls": [{"id": "fcprobe01", "type": "function", "function": {
        "name": "fc_probe_lookup", "arguments": {"key": _PROBE_VALUE}}}]},
    {"role": "tool", "tool_call_id": "fcprobe01", "name": "fc_probe_lookup", "content": "fc probe result"},
    {"role": "assistant", "content": "fc probe answer"},
]


class NativeTemplateError(ValueError):
    """The model's chat template cannot render a sample (or any tool call) the way fc_native needs."""


@dataclass(frozen=True)
class NativeProfile:
    """What fc_native learned about one tokenizer's chat template."""

    model: str
    output_format: str | None  #: native format its calls are written in (a vLLM parser name)
    reasoning: str  #: where thoughts go: "reasoning_content", "think" (in content) or "content"
    stop_words: tuple[str, ...]  #: end-of-turn tokens after an answer and after a call


def model_name(tokenizer: Any) -> str:
    """The model (tokenizer folder or hub id) for messages."""
    return str(getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__)


def short_model_name(tokenizer: Any) -> str:
    """The last part of the model's folder or hub id, for per-sample messages."""
    return model_name(tokenizer).rstrip("/").rsplit("/", 1)[-1]


def template_source(tokenizer: Any) -> str:
    """The tokenizer's own chat template (all named ones joined); NativeTemplateError when it has none."""
    template = getattr(tokenizer, "chat_template", None)
    if isinstance(template, dict):
        template = "\n".join(str(v) for v in template.values())
    if not template:
        raise NativeTemplateError(
            f"template {NAME}: the tokenizer of {model_name(tokenizer)} has no chat template; {NAME} trains with "
            "the model's own one - use one of the fc_* templates (e.g. fc_json_qwen) instead"
        )
    return str(template)


def suggested_template(source: str) -> str:
    """The fc_* template of the same family as a chat template, for refusals."""
    if "<|im_start|>" in source:
        return "fc_json_qwen"
    if "<|start_header_id|>" in source:
        return "fc_json_llama3"
    if "<|assistant|>" in source or "<|end|>" in source:
        return "fc_json_phi4"
    return "fc_json_qwen, fc_json_llama3 or fc_json_phi4 (the family of your model)"


#: Attribute names a plain dict has (its class's and object's): any other `obj.name` on a dict is `obj["name"]`.
_DICT_ATTRIBUTES = frozenset(dir(dict))


@lru_cache(maxsize=1)
def _dict_attribute_sandbox() -> type:
    """ImmutableSandboxedEnvironment with two shortcuts that give its answers:

    - `dict.name`: the sandbox first asks `getattr(obj, name)`, which on a plain dict fails (raising and
      catching an AttributeError) for every name that is not a dict attribute, then answers `obj[name]`,
      or undefined when the key is missing; this answers those names the same way without the exception;
    - whether an attribute is safe: the sandbox decides from the object's type and the attribute's name
      alone (names starting with `_`, internal attributes of functions, frames and the like, methods
      that change a list, dict, set or deque), so the verdict is kept per (type, name).
    """
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class DictAttributeSandbox(ImmutableSandboxedEnvironment):
        safe_verdicts: dict[tuple[type, str], bool] = {}

        def getattr(self, obj: Any, attribute: str) -> Any:
            if type(obj) is dict and type(attribute) is str and attribute not in _DICT_ATTRIBUTES:
                try:
                    return obj[attribute]
                except KeyError:
                    return self.undefined(obj=obj, name=attribute)
            return super().getattr(obj, attribute)

        def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
            key = (type(obj), attr)
            verdict = self.safe_verdicts.get(key)
            if verdict is None:
                verdict = self.safe_verdicts[key] = super().is_safe_attribute(obj, attr, value)
            return verdict

    return DictAttributeSandbox


class _TojsonTexts:
    """`tojson` texts kept while one sample is rendered (in full and up to each turn: the same tool and
    argument objects every time, which nothing changes in between): (id, options) -> (value, text).
    Only inside `remembering()`; the values are held there, so their ids cannot be reused meanwhile."""

    texts: dict[Any, tuple[Any, str]] | None = None

    @classmethod
    @contextmanager
    def remembering(cls) -> Iterator[None]:
        cls.texts = {}
        try:
            yield
        finally:
            cls.texts = None

    @classmethod
    def wrap(cls, tojson: Any) -> Any:
        """`tojson` that, while remembering, writes each object once."""

        def remembered(value: Any, *args: Any, **kwargs: Any) -> Any:
            texts = cls.texts
            if texts is None:
                return tojson(value, *args, **kwargs)
            try:
                key = (id(value), args, tuple(kwargs.items()))
                hit = texts.get(key)
            except TypeError:  # an unhashable option (e.g. separators as a list)
                return tojson(value, *args, **kwargs)
            if hit is not None and hit[0] is value:
                return hit[1]
            text = tojson(value, *args, **kwargs)
            texts[key] = (value, text)
            return text

        return remembered


@lru_cache(maxsize=16)
def _sandboxed_template(source: str) -> Any:
    """The chat template `source` as transformers compiles it for `apply_chat_template` (its sandboxed
    environment, filters, globals and extensions), in a copy of that environment that looks up
    `message.role` on a plain dict without the sandbox's detour (`_dict_attribute_sandbox`), or None
    when transformers' compiled template is not what this expects (then `apply_chat_template` renders)."""
    try:
        from jinja2.sandbox import ImmutableSandboxedEnvironment
        from transformers.utils.chat_template_utils import _compile_jinja_template

        stock = _compile_jinja_template(source).environment
    except (ImportError, AttributeError):
        return None
    if type(stock) is not ImmutableSandboxedEnvironment:
        return None
    environment = stock.overlay()  # the same settings, filters, globals and (re-bound) extensions
    environment.__class__ = _dict_attribute_sandbox()
    if "tojson" in environment.filters:
        environment.filters = {**environment.filters, "tojson": _TojsonTexts.wrap(environment.filters["tojson"])}
    return environment.from_string(source)


def _render(tokenizer: Any, chat: list[dict[str, Any]], tools: list[Any] | None, prompt: bool, where: str,
            **kwargs: Any) -> str:
    """`tokenizer.apply_chat_template(chat, tools=..., tokenize=False, add_generation_prompt=prompt, **kwargs)`:
    the same text, rendered by `_sandboxed_template` when it applies (as apply_chat_template renders one
    conversation: its template for these tools, the tool list, no documents, the special tokens map and kwargs)."""
    try:
        template = _sandboxed_template(tokenizer.get_chat_template(None, tools or None))
        if template is None:
            return tokenizer.apply_chat_template(chat, tools=tools or None, tokenize=False,
                                                 add_generation_prompt=prompt, **kwargs)
        return template.render(messages=chat, tools=list(tools) if tools else None, documents=None,
                               add_generation_prompt=prompt, **{**tokenizer.special_tokens_map, **kwargs})
    except Exception as exc:  # jinja2 TemplateError from raise_exception, TypeError/KeyError on a message shape
        reason = str(exc) if type(exc).__name__ == "TemplateError" else f"{type(exc).__name__}: {exc}"
        raise NativeTemplateError(f"{where}: the model's chat template refuses it: {reason}") from None


_profiles: dict[tuple[str, str, str, str], NativeProfile] = {}


def native_profile(tokenizer: Any) -> NativeProfile:
    """Probe the tokenizer's chat template once (cached per template): does it render tool calls, in which
    format, where do thoughts go, which tokens end a turn. NativeTemplateError when it renders no calls, or
    not the `tools=` definitions before the first user message."""
    source = template_source(tokenizer)
    key = (model_name(tokenizer), source, str(tokenizer.eos_token), str(tokenizer.bos_token))
    if key in _profiles:
        return _profiles[key]
    model, where = model_name(tokenizer), f"template {NAME}"
    try:
        text = _render(tokenizer, _PROBE_CHAT, _PROBE_TOOLS, False, where)
    except NativeTemplateError as exc:
        raise NativeTemplateError(
            f"{exc} (a single tool call and its result); use template: {suggested_template(source)} instead"
        ) from None
    if _PROBE_VALUE not in text:
        raise NativeTemplateError(
            f"template {NAME}: the chat template of {model} does not render tool calls (an assistant message's "
            f"tool_calls are missing from its rendering), so training on it would drop every call; use "
            f"template: {suggested_template(source)} instead (the format is then written by fc-plugin)"
        )
    question = text.find("fc probe question")
    function = _PROBE_TOOLS[0]["function"]
    if not all(0 <= text.find(needle) < question for needle in (function["name"], function["description"])):
        raise NativeTemplateError(
            f"template {NAME}: the chat template of {model} does not render the tool definitions passed as "
            f"`tools=` (none before the first user message; it may read them elsewhere, as Phi-4-mini's reads a "
            f"system message's `tools` key), so training on it would drop every tool definition; use template: "
            f"{suggested_template(source)} instead (the format is then written by fc-plugin)"
        )
    call_text = text[question:]
    fmt = detect_format(call_text) or detect_format(source)
    if "reasoning_content" in source:
        reasoning = "reasoning_content"
    elif "</think>" in source:
        reasoning = "think"
    else:
        reasoning = "content"
    stops = []
    for marker in (_PROBE_VALUE, "fc probe answer"):
        tail = text[text.rfind(marker) + len(marker) :]
        token = _first_special_token(tokenizer, tail)
        if token and token not in stops:
            stops.append(token)
    profile = _profiles[key] = NativeProfile(model, fmt, reasoning, tuple(stops))
    return profile


def _first_special_token(tokenizer: Any, text: str) -> str | None:
    special = set(tokenizer.all_special_ids)
    for token_id in tokenizer(text, add_special_tokens=False)["input_ids"]:
        if token_id in special:
            return str(tokenizer.convert_ids_to_tokens(token_id))
    return None


#: The tokens that mark calls in each native format's output (what decoding must keep).
MARKER_TOKENS: dict[str, tuple[str, ...]] = {
    "hermes": ("<tool_call>", "</tool_call>", "<think>", "</think>"),
    "llama3_json": ("<|python_tag|>",),
    "mistral": ("[TOOL_CALLS]", "[ARGS]", "[CALL_ID]"),
    "phi4_mini_json": ("<|tool_call|>", "<|/tool_call|>"),
}


def output_markers(tokenizer: Any, fmt: str | None) -> dict[int, str]:
    """The call markers of native format `fmt` that are special tokens of `tokenizer` (id -> text): decoding
    with skip_special_tokens=True drops them (`<|tool_call|>`, `<|python_tag|>`, `[TOOL_CALLS]`), and the
    calls then read as content. Empty when there are none (or `fmt` is None)."""
    found: dict[int, str] = {}
    for marker in MARKER_TOKENS.get(fmt or "", ()):
        ids = list(tokenizer(marker, add_special_tokens=False)["input_ids"])
        if len(ids) == 1 and not tokenizer.decode(ids, skip_special_tokens=True):
            found[ids[0]] = marker
    return found


def decode_output(tokenizer: Any, ids: list[int], markers: dict[int, str], clean_up: bool = True) -> str:
    """Generated ids as text, as `decode(..., skip_special_tokens=True)` writes it (end-of-turn, pad and other
    special tokens dropped) except that the `markers` (see `output_markers`) are kept."""
    pieces, start = [], 0
    for k, token in enumerate([*ids, None]):
        if token is None or token in markers:
            pieces.append(tokenizer.decode(ids[start:k], skip_special_tokens=True, clean_up_tokenization_spaces=clean_up))
            if token is not None:
                pieces.append(markers[token])
            start = k + 1
    return "".join(pieces)


def call_id(seed: str, ordinal: int) -> str:
    """A deterministic 9-character alphanumeric call id (what Mistral's templates require)."""
    number = int.from_bytes(hashlib.sha256(f"{seed}\x00{ordinal}".encode()).digest()[:8], "big")
    chars = []
    for _ in range(9):
        number, digit = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[digit])
    return "".join(chars)


def openai_tools(tools: list[Any]) -> list[Any]:
    """Function definitions as an OpenAI client sends them: `{"type": "function", "function": {...}}`."""
    return [t if isinstance(t, dict) and isinstance(t.get("function"), dict) else {"type": "function", "function": t}
            for t in tools]


def native_messages(chat: list[dict[str, Any]], reasoning: str, seed: str) -> list[dict[str, Any]]:
    """fc chat messages (`thought` keys, calls without ids) -> what the model's own template reads."""
    out: list[dict[str, Any]] = []
    ids: list[tuple[str, str]] = []  # (id, name) of the last assistant turn's calls
    answered, ordinal = 0, 0
    for message in chat:
        message = dict(message)
        thought = message.pop("thought", None)
        if message["role"] == "assistant":
            if message.get("tool_calls"):
                calls = []
                ids, answered = [], 0
                for call in message["tool_calls"]:
                    ordinal += 1
                    ids.append((call_id(seed, ordinal), call["function"]["name"]))
                    calls.append({"id": ids[-1][0], **call})
                message["tool_calls"] = calls
            if thought:
                if reasoning == "reasoning_content":
                    message["reasoning_content"] = thought
                elif reasoning == "think":
                    message["content"] = f"<think>\n{thought}\n</think>\n\n{message['content']}"
                else:
                    message["content"] = f"{thought}\n\n{message['content']}" if message["content"] else thought
        elif message["role"] == "tool" and answered < len(ids):
            message["tool_call_id"] = ids[answered][0]
            message.setdefault("name", ids[answered][1])
            answered += 1
        out.append(message)
    return out


def _anchor(message: dict[str, Any]) -> str:
    """Text of a chat message that its rendering surely contains: its last call's name, else its content."""
    if message.get("tool_calls"):
        return str(message["tool_calls"][-1]["function"]["name"])
    content = message.get("content")
    return content.strip() if isinstance(content, str) else ""


def char_cuts(full: str, prefixes: list[str], anchors: list[str], where: str) -> list[int]:
    """Where each of `prefixes` (renderings of growing parts of the conversation) ends in `full`.

    A prefix of `full` ends at its length; any other at the end of its text from its last `anchor` on,
    found in `full` after the previous cut. NativeTemplateError when neither works.
    """
    cuts, previous = [], 0
    for k, (text, anchor) in enumerate(zip(prefixes, anchors, strict=True)):
        if full.startswith(text) and len(text) >= previous:
            cut = len(text)
        else:
            start = text.rfind(anchor) if anchor else -1
            found = full.find(text[start:], previous) if start >= 0 else -1
            if found < 0:
                raise NativeTemplateError(
                    f"{where}: cannot find the end of message {k} in the full rendering (the chat template renders "
                    "it differently when it is the last message, beyond what fc_native can align)"
                )
            cut = found + len(text) - start
        cuts.append(cut)
        previous = cut
    return cuts


def _span_start(span: tuple[int, int]) -> int:
    return span[0]


def _span_end(span: tuple[int, int]) -> int:
    return span[1]


def token_cuts(offsets: Sequence[tuple[int, int]], cuts: list[int]) -> list[int]:
    """Token index of each character cut; message k is a prompt for even k, a response for odd k, and a
    token holding any character of a response belongs to the response. Binary search: each cut reads
    the spans of a few tokens only."""
    result, previous = [], 0
    for k, cut in enumerate(cuts):
        if k % 2 == 0:
            index = bisect.bisect_right(offsets, cut, key=_span_end)
        else:
            index = bisect.bisect_left(offsets, cut, key=_span_start)
        previous = max(previous, index)
        result.append(previous)
    return result


def check_segments(segments: list[str], messages: list[dict[str, str]], chat: list[dict[str, Any]],
                   ends: list[tuple[int, bool]], where: str) -> None:
    """Each user message, answer and call name must lie inside its own segment."""
    start = 0
    for k, ((end, _), segment) in enumerate(zip(ends, segments, strict=True)):
        for message in chat[start:end]:
            needles = [c["function"]["name"] for c in message.get("tool_calls") or []]
            if message["role"] in ("user", "assistant") and not needles and isinstance(message.get("content"), str):
                needles = [message["content"].strip()] if message["content"].strip() else []
            for needle in needles:
                if needle not in segment:
                    raise NativeTemplateError(
                        f"{where}: message {k} ({messages[k]['role']}) is not rendered inside its own turn "
                        f"({needle[:40]!r} is missing there), so it cannot be cut into LLaMA-Factory's "
                        "prompt/response pairs"
                    )
        start = end


_warned: set[str] = set()


def _warn_dropped_thoughts(chat: list[dict[str, Any]], full: str, model: str) -> None:
    dropped = [m["thought"] for m in chat if m.get("thought") and m["thought"].strip() not in full]
    if dropped and model not in _warned:
        _warned.add(model)
        logger.warning("template %s: the chat template of %s drops %d thought(s) of a sample (as apply_chat_template "
                       "does; e.g. reasoning before the last user message, or text beside a call); they are not "
                       "trained", NAME, model, len(dropped))


_classes: tuple[type, type] | None = None


def native_classes() -> tuple[type, type]:
    """(FcNativeTemplate, NativeToolUtils): subclasses of LLaMA-Factory's Template and ToolUtils, built once."""
    global _classes
    if _classes is None:
        _classes = _build_classes()
    return _classes


def _build_classes() -> tuple[type, type]:  # noqa: C901 - one class body each
    from dataclasses import dataclass as lf_dataclass

    from llamafactory.data.template import Template
    from llamafactory.data.tool_utils import FunctionCall, ToolUtils

    from fc_plugin.formats.llamafactory import checked_tools, token_ids_and_offsets

    def function_calls(result: Any) -> list[Any]:
        return [FunctionCall(c.name, json.dumps(c.arguments, ensure_ascii=False)) for c in result.calls]

    @lf_dataclass
    class FcNativeTemplate(Template):
        """A LLaMA-Factory template that renders with the tokenizer's own chat template."""

        fc_name: str = NAME
        native_format: str | None = None  # output format read by extract_tool (bound at load, or named)

        def native_profile(self, tokenizer: Any) -> NativeProfile:
            """What the tokenizer's chat template does (see `native_profile`)."""
            return native_profile(tokenizer)

        def render_native(self, tokenizer: Any, messages: list[dict[str, str]], system: str | None,
                          tools: str | None) -> tuple[str, list[int]]:
            """(full rendering, character cut after each LLaMA-Factory message)."""
            profile = native_profile(tokenizer)
            where = f"template {NAME} ({short_model_name(tokenizer)}): {describe_sample(messages)}"
            tool_list, tool_names = checked_tools(tools, where)
            chat, ends = to_chat_messages(messages, system or self.default_system or None, tool_names, where)
            native = native_messages(chat, profile.reasoning, describe_sample(messages))
            tools_arg = openai_tools(tool_list)
            kwargs = {"enable_thinking": False} if self.enable_thinking is False else {}
            with _TojsonTexts.remembering():
                full = _render(tokenizer, native, tools_arg, ends[-1][1], where, **kwargs)
                prefixes = [_render(tokenizer, native[:end], tools_arg, prompt, where, **kwargs)
                            for end, prompt in ends[:-1]]  # fmt: skip
            anchors = [_anchor(chat[end - 1]) for end, _ in ends[:-1]]
            cuts = [*char_cuts(full, prefixes, anchors, where), len(full)]
            check_segments([full[a:b] for a, b in pairwise([0, *cuts])], messages, chat, ends, where)
            _warn_dropped_thoughts(chat, full, profile.model)
            return full, cuts

        def _encode(self, tokenizer: Any, messages: list[dict[str, str]], system: str | None, tools: str | None
                    ) -> list[list[int]]:
            full, cuts = self.render_native(tokenizer, messages, system, tools)
            if getattr(tokenizer, "is_fast", False):
                ids, offsets = token_ids_and_offsets(tokenizer, full)
                bounds = [0, *token_cuts(offsets, cuts[:-1]), len(ids)]
                return [ids[a:b] for a, b in pairwise(bounds)]
            ids = tokenizer(full, add_special_tokens=False)["input_ids"]
            segments = [tokenizer(full[a:b], add_special_tokens=False)["input_ids"] for a, b in pairwise([0, *cuts])]
            if [i for s in segments for i in s] != list(ids):
                raise NativeTemplateError(
                    f"template {NAME}: {describe_sample(messages)}: the turns of this sample tokenize differently "
                    "alone than in the full rendering and this (slow) tokenizer has no offsets to cut the full ids"
                )
            return segments

        def encode_oneturn(self, tokenizer: Any, messages: list[dict[str, str]], system: str | None = None,
                           tools: str | None = None) -> tuple[list[int], list[int]]:
            """Inference (an empty last assistant message): the prompt is exactly apply_chat_template(...,
            add_generation_prompt=True); otherwise LLaMA-Factory's split of `_encode`."""
            if messages and messages[-1]["role"] == "assistant" and not messages[-1]["content"]:
                profile = native_profile(tokenizer)
                where = f"template {NAME} ({short_model_name(tokenizer)}): {describe_sample(messages)}"
                tool_list, tool_names = checked_tools(tools, where)
                chat, _ = to_chat_messages(messages[:-1], system or self.default_system or None, tool_names, where)
                kwargs = {"enable_thinking": False} if self.enable_thinking is False else {}
                native = native_messages(chat, profile.reasoning, describe_sample(messages))
                text = _render(tokenizer, native, openai_tools(tool_list), True, where, **kwargs)
                return list(tokenizer(text, add_special_tokens=False)["input_ids"]), []
            return super().encode_oneturn(tokenizer, messages, system, tools)

        def fix_special_tokens(self, tokenizer: Any) -> None:
            """Stop words = the end-of-turn tokens the model's template writes (the EOS is kept)."""
            self.stop_words = list(native_profile(tokenizer).stop_words)
            super().fix_special_tokens(tokenizer)

        def fix_jinja_template(self, tokenizer: Any) -> None:
            """Keep the tokenizer's own chat template; refuse one that renders no tool calls; bind the output
            format (`tool_format: fc_native_<format>` names it, else it is detected from the template)."""
            profile = native_profile(tokenizer)
            named = self.format_tools.tool_format
            if named and named != "default":
                if not named.startswith(TOOL_FORMAT_PREFIX) or named[len(TOOL_FORMAT_PREFIX) :] not in FORMATS:
                    raise NativeTemplateError(
                        f"template {NAME} renders with the model's own chat template; `tool_format` only names the "
                        f"format its output is read in: one of {', '.join(TOOL_FORMAT_PREFIX + f for f in FORMATS)} "
                        f"(got {named!r})"
                    )
                self.native_format = named[len(TOOL_FORMAT_PREFIX) :]
            else:
                self.native_format = profile.output_format

        def _get_jinja_template(self, tokenizer: Any) -> str:
            return template_source(tokenizer)

        def extract_tool(self, content: str) -> str | list[Any]:
            """Calls in the model's native format (LLaMA-Factory's api / chat / webui call this)."""
            result = parse_native(content, self.native_format)
            return function_calls(result) if result.calls else content

        def get_ollama_modelfile(self, tokenizer: Any) -> str:
            """A Modelfile without TEMPLATE (Ollama reads the chat template from the GGUF), with the stop tokens."""
            lines = ["# ollama modelfile auto-generated by llamafactory (fc-plugin fc_native: the model's own "
                     "chat template is in the GGUF)", "", "FROM .", ""]
            lines += [f'PARAMETER stop "{tokenizer.convert_ids_to_tokens(i)}"' for i in self.get_stop_token_ids(tokenizer)]
            return "\n".join([*lines, "PARAMETER num_ctx 4096", ""])

    class NativeToolUtils(ToolUtils):
        """A native output format as a LLaMA-Factory tool format (`tool_format: fc_native_hermes` etc.)."""

        def __init__(self, name: str) -> None:
            self.call_format = get_native_format(name)

        def tool_formatter(self, tools: list[dict[str, Any]]) -> str:  # type: ignore[override]
            return "\n\n" + self.call_format.format_tools(tools)

        def function_formatter(self, functions: list[Any]) -> str:  # type: ignore[override]
            return self.call_format.format_calls([{"name": f.name, "arguments": json.loads(f.arguments)}
                                                  for f in functions])

        def tool_extractor(self, content: str) -> str | list[Any]:  # type: ignore[override]
            result = self.call_format.parse_calls(content)
            return function_calls(result) if result.calls else content

    return FcNativeTemplate, NativeToolUtils


def register_native() -> str:
    """Register template `fc_native` and tool formats `fc_native_<format>` with LLaMA-Factory (idempotent)."""
    from llamafactory.data.template import TEMPLATES, register_template
    from llamafactory.data.tool_utils import TOOLS

    template_class, tool_utils = native_classes()
    for fmt in FORMATS:
        if not isinstance(TOOLS.get(TOOL_FORMAT_PREFIX + fmt), tool_utils):
            TOOLS[TOOL_FORMAT_PREFIX + fmt] = tool_utils(fmt)
    if not isinstance(TEMPLATES.get(NAME), template_class):
        TEMPLATES.pop(NAME, None)
        register_template(name=NAME, template_class=template_class)
    return NAME


def parse_calls(name: str, text: str, strict: bool = False) -> Any:
    """`fc_native` (the format the registered template was bound to, else the one the text uses) or
    `fc_native_<format>`: calls in that native format (a ParseResult). Never raises on `text`."""
    if name == NAME:
        fmt = None
        try:
            from llamafactory.data.template import TEMPLATES

            fmt = getattr(TEMPLATES.get(NAME), "native_format", None)
        except Exception:  # noqa: BLE001 - LLaMA-Factory missing or broken: read the text's own format
            fmt = None
        return parse_native(text, fmt, strict)
    if name.startswith(TOOL_FORMAT_PREFIX):
        return parse_native(text, name[len(TOOL_FORMAT_PREFIX) :], strict)
    raise ValueError(f"not an fc_native name: {name!r}")


__all__ = [
    "MARKER_TOKENS", "NAME", "NativeProfile", "NativeTemplateError", "call_id", "char_cuts", "decode_output",
    "native_classes", "native_messages", "native_profile", "openai_tools", "output_markers", "parse_calls",
    "register_native", "token_cuts",
]
