"""Data augmentation that teaches a model to read tool schemas instead of remembering tool names.

Seed 001's failure: trained on a handful of tools, a model memorises their names and fails on a
new tool even when its schema is clear. Hammer (MadeAgents/Hammer), APIGen/xLAM and ToolACE fix it
in the data; `augment_files` does the same to any dataset we read, one output sample per input:

- **mask**: function and parameter names become random identifier-like names, made of pseudo-words
  (`vorami_tesk`, `kelDuno`; `names="random"`, the default, as in Hammer) or of common English words
  (`river_table`, `stoneLake`; `names="words"`: fewer tokens per name to copy), consistently in the tools (names, `properties`, `required`), the calls, the tool
  results (their function name; JSON result keys that are parameter names, renamed in place so
  the rest of the result stays byte-identical) and every text that
  mentions them (thoughts, system prompt, turns: names written as identifiers, i.e. with `_`, a
  digit or camelCase; plain words such as `city` are left alone in prose). Descriptions are kept,
  so the model must read them. Nested object properties keep their names.
- **distractors**: 1..`max_distractors` tools from the dataset's own tool pool are added, similar
  ones first (shared parameter names, then shared words of name and description); never one with
  the name of a tool already there, nor one with the same purpose as a called tool, nor, in a
  sample without calls, one that could serve the user's request (a content word of the user turns
  in its name or description: the no-call answer must stay right).
- **shuffle**: the tool list's order is shuffled.
- **irrelevance**: the tools of the first call are removed and the answer becomes a short no-call
  reply ("Sorry, none of the tools I have can do that."), only for samples whose first turn is the
  request and its call, and only where no remaining tool could serve that call (same name words,
  similar description, or it takes the call's arguments); distractors of such a sample obey the
  same rule, and one that would be left with no tool at all is kept as it was. The rate is a share
  of all samples: eligible samples are picked more often to reach it.

Every kind has its own rate (defaults: mask 2/3 as in Hammer, distractors 1/2, shuffle 1,
irrelevance 0.1). Each sample draws from its own seeded stream (seed, position), so a seed gives
the same bytes (whatever PYTHONHASHSEED). Inputs go through the convert pipeline (any `--from` format, our ShareGPT, dataset
names), are de-duplicated and spooled once (the tool pool is built on the way); every augmented
sample is checked by the one validator, and one that fails is kept in the rejects file with its
reason while its original is written instead; so is one that duplicates an earlier row (e.g. two
irrelevance samples with the same request and reply). Output is atomic, with the dataset_info.json entry
merged, like `fc-plugin convert`.
"""

from __future__ import annotations

import json
import os
import random
import re
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from fc_plugin.convert.pipeline import ConvertOptions, iter_outcomes, resolve_dataset, valid_outcomes
from fc_plugin.sample import Message, Sample, ToolCall
from fc_plugin.sharegpt import DatasetWriter, DigestSet, core_json, from_sharegpt, to_sharegpt
from fc_plugin.stats import StatsCollector
from fc_plugin.validate import LengthChecker, validate_sample

KINDS = ("mask", "distractors", "shuffle", "irrelevance")
DEFAULT_RATES: dict[str, float] = {"mask": 2 / 3, "distractors": 0.5, "shuffle": 1.0, "irrelevance": 0.1}
NAME_STYLES = ("random", "words")  # masked names from pseudo-words, or from common English words
SIMILAR_DESCRIPTION = 0.6  # shared share of the smaller word set (name + description): the same purpose
CANDIDATES = 512  # pool tools scored per sample at most (the inverted index finds the similar ones)

NO_CALL_REPLIES = {
    "en": (
        "Sorry, none of the tools I have can do that.",
        "I'm sorry, I can't help with that: none of the available tools can do it.",
        "None of my tools can handle this request, so I can't do it.",
        "Unfortunately I have no tool for that request.",
    ),
    "zh": (
        "抱歉，我现有的工具无法完成这个请求。",
        "对不起，没有可用的工具能处理这个请求。",
        "很抱歉，我没有能完成这件事的工具。",
    ),
}
_CJK = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[A-Za-z][a-z]+|[A-Z]+(?![a-z])|[0-9]+|[\u3400-\u9fff]+")
_STOP = frozenset(
    "the a an of to for and or in on at by with from is are be this that it its as if e.g eg "
    "given any you your can will".split()
)
# verbs that say nothing about what a tool is for (get_weather and get_order share no purpose)
_GENERIC = frozenset("get set query search find check look lookup fetch retrieve list create make do run api tool".split())
_ONSETS = "b c d f g h j k l m n p r s t v w z br dr fl gr kl pr st tr sk".split()
_VOWELS = "a e i o u a e i o ai ou".split()
_CODAS = ["", "", "", "n", "r", "s", "k", "l", "m", "t"]


@dataclass
class AugmentConfig:
    """The rates of each kind (share of samples it is applied to) and the seed."""

    seed: int = 0
    rates: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_RATES))
    max_distractors: int = 3
    names: str = "random"  # one of NAME_STYLES

    def __post_init__(self) -> None:
        if self.names not in NAME_STYLES:
            raise ValueError(f"--names must be one of {', '.join(NAME_STYLES)}, got {self.names!r}")
        unknown = set(self.rates) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown augmentation kind(s) {sorted(unknown)}; known: {', '.join(KINDS)}")
        for kind, rate in self.rates.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"--{kind} rate must be in [0, 1], got {rate}")
        self.rates = {**DEFAULT_RATES, **self.rates}
        if self.max_distractors < 1:
            raise ValueError(f"--max-distractors must be >= 1, got {self.max_distractors}")


@dataclass
class AugmentReport:
    """What was done: samples per kind, plus the cases a kind was drawn but could not apply."""

    inputs: int = 0  # distinct valid input samples
    pool: int = 0  # distinct tools in the pool
    eligible_irrelevance: int = 0  # samples whose request could become an irrelevance sample
    kinds: Counter[str] = field(default_factory=Counter)
    distractors_added: int = 0
    irrelevance_blocked: int = 0  # drawn, but a remaining tool could serve the request, or none would be left
    no_distractor: int = 0  # drawn, but the pool had no fitting tool
    unchanged: int = 0
    fallback: int = 0  # augmented sample invalid: the original was written instead
    duplicate_fallback: int = 0  # augmented sample duplicated an earlier row: the original was written instead

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs,
            "tool_pool": self.pool,
            "kinds": {k: self.kinds[k] for k in KINDS},
            "distractors_added": self.distractors_added,
            "irrelevance_eligible": self.eligible_irrelevance,
            "irrelevance_blocked": self.irrelevance_blocked,
            "distractors_none_fitting": self.no_distractor,
            "unchanged": self.unchanged,
            "fallback_to_original": self.fallback,
            "duplicate_fallback_to_original": self.duplicate_fallback,
        }

    def render(self) -> str:
        """The lines printed under the stats report."""
        n = max(self.inputs, 1)
        kinds = ", ".join(f"{k} {self.kinds[k]} ({100 * self.kinds[k] / n:.0f}%)" for k in KINDS)
        lines = [f"  augmented: {kinds}; unchanged {self.unchanged}"]
        per = self.distractors_added / self.kinds["distractors"] if self.kinds["distractors"] else 0.0
        lines.append(
            f"  tool pool: {self.pool} distinct tool(s); {self.distractors_added} distractor(s) added "
            f"({per:.1f} per sample), none fitting for {self.no_distractor}"
        )
        lines.append(
            f"  irrelevance: {self.eligible_irrelevance} eligible sample(s); drawn for {self.irrelevance_blocked} other(s), "
            f"kept as they were (no request + call opening, a remaining tool could serve the request, or no tool would be left)"
        )
        if self.fallback:
            lines.append(f"  fallback: {self.fallback} augmented sample(s) failed validation; originals written (see rejects)")
        if self.duplicate_fallback:
            lines.append(
                f"  fallback: {self.duplicate_fallback} augmented sample(s) duplicated an earlier row; originals written (see rejects)"
            )
        return "\n".join(lines)


@dataclass
class AugmentResult:
    stats: StatsCollector
    report: AugmentReport
    formats: dict[str, str] = field(default_factory=dict)
    written: int = 0
    rejected: int = 0
    out_path: Path | None = None
    rejects_path: Path | None = None
    committed: bool = False
    exit_code: int = 0
    reason: str = ""


# -- words, names and similarity -------------------------------------------------------------------
def words(text: str) -> set[str]:
    """Content words of a name or description: snake/camel case split, lower case, no stop words;
    Chinese runs as character pairs (天气, 城市...)."""
    out = set()
    for w in _WORD.findall(text or ""):
        if _CJK.match(w):
            out.update(w[k : k + 2] for k in range(max(1, len(w) - 1)))
            continue
        w = w.lower()
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]  # flights ~ flight
        if w not in _STOP and len(w) > 2:
            out.add(w)
    return out


def _props(tool: dict[str, Any]) -> dict[str, Any]:
    params = tool.get("parameters")
    props = params.get("properties") if isinstance(params, dict) else None
    return props if isinstance(props, dict) else {}


def _required(tool: dict[str, Any]) -> list[str]:
    params = tool.get("parameters")
    req = params.get("required") if isinstance(params, dict) else None
    return [r for r in req if isinstance(r, str)] if isinstance(req, list) else []


def tool_words(tool: dict[str, Any]) -> set[str]:
    return words(str(tool.get("name", ""))) | words(str(tool.get("description", "")))


def same_purpose(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two tools that do the same thing: equal name words, or most words of the smaller name +
    description shared (generic verbs such as get/query left out)."""
    na, nb = words(str(a.get("name", ""))), words(str(b.get("name", "")))
    if na and na == nb:
        return True
    wa, wb = tool_words(a) - _GENERIC, tool_words(b) - _GENERIC
    return bool(wa and wb) and len(wa & wb) / min(len(wa), len(wb)) >= SIMILAR_DESCRIPTION


def could_serve(tool: dict[str, Any], call: ToolCall, called: dict[str, Any] | None) -> bool:
    """Whether `tool` might do what `call` (to the tool `called`) did: the same purpose, a word of one's
    name (generic verbs left out) in the other's name or description, or it takes the call's arguments
    (shares one and needs nothing the call lacks). Deliberately generous: an irrelevance sample must
    never teach the model to refuse a request that a listed tool can serve."""
    if called is not None and same_purpose(tool, called):
        return True
    name, called_name = words(str(tool.get("name", ""))) - _GENERIC, words(call.name) - _GENERIC
    if name == called_name or called_name & tool_words(tool):  # get_weather ~ "hourly weather forecast"
        return True
    if called is not None and name & tool_words(called):
        return True
    args = set(call.arguments)
    return bool(args & set(_props(tool))) and set(_required(tool)) <= args


def _identifier_like(name: str) -> bool:
    """A name that prose does not use as a plain word: has `_`, a digit, `.`/`-` or camelCase."""
    return bool(re.search(r"[_0-9.\-]|[a-z][A-Z]", name))


def _pseudo_word(rng: random.Random) -> str:
    return "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(rng.randint(1, 2))) + rng.choice(_CODAS)


@lru_cache(maxsize=1)
def _english_words() -> tuple[str, ...]:
    from fc_plugin.base_model import WORDS  # common English words: the base model's generic vocabulary

    return tuple(w for w in WORDS if len(w) >= 3)


def _english_word(rng: random.Random) -> str:
    return rng.choice(_english_words())


def fresh_name(rng: random.Random, taken: set[str], parts: tuple[int, int], style: str = "random") -> str:
    """A random identifier-like name not in `taken` (added to it): snake_case, or camelCase, of
    pseudo-words (`style="random"`) or common English words (`style="words"`)."""
    piece = _english_word if style == "words" else _pseudo_word
    for _ in range(1000):
        pieces = [piece(rng) for _ in range(rng.randint(*parts))]
        if len(pieces) > 1 and rng.random() < 0.3:
            name = pieces[0] + "".join(p.capitalize() for p in pieces[1:])
        else:
            name = "_".join(pieces)
        if name not in taken and len(name) >= 3:
            taken.add(name)
            return name
    raise RuntimeError("could not draw a fresh name")  # pragma: no cover - 1000 collisions


# -- the tool pool --------------------------------------------------------------------------------
class ToolPool:
    """The dataset's distinct tools (by schema), with an index from parameter names and words."""

    def __init__(self) -> None:
        self.tools: list[dict[str, Any]] = []
        self._keys: dict[str, int] = {}
        self._by_param: dict[str, list[int]] = {}
        self._by_word: dict[str, list[int]] = {}

    def add(self, tool: dict[str, Any]) -> None:
        key = json.dumps(tool, sort_keys=True, ensure_ascii=False)
        if key in self._keys:
            return
        index = len(self.tools)
        self._keys[key] = index
        self.tools.append(tool)
        for p in _props(tool):
            self._by_param.setdefault(p, []).append(index)
        for w in sorted(tool_words(tool)):
            self._by_word.setdefault(w, []).append(index)

    def __len__(self) -> int:
        return len(self.tools)

    def ranked(self, tools: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
        """Pool tools ordered for `tools`: similar first (2 per shared parameter name, 1 per shared
        word, plus a random fraction that breaks ties), then a random sample of the others.

        Deterministic for `rng` whatever PYTHONHASHSEED: words are visited in sorted order and the
        tie-breakers are drawn in pool order."""
        scores: Counter[int] = Counter()
        for tool in tools:
            for p in _props(tool):
                for i in self._by_param.get(p, ())[:CANDIDATES]:
                    scores[i] += 2
            for w in sorted(tool_words(tool)):
                for i in self._by_word.get(w, ())[:CANDIDATES]:
                    scores[i] += 1
        keyed = {i: -(scores[i] + rng.random()) for i in sorted(scores)}
        similar = sorted(keyed, key=lambda i: (keyed[i], i))[:CANDIDATES]
        others = [rng.randrange(len(self.tools)) for _ in range(min(len(self.tools), 16))] if self.tools else []
        seen: set[int] = set()
        out = []
        for i in [*similar, *others]:
            if i not in seen:
                seen.add(i)
                out.append(self.tools[i])
        return out


# -- one sample -----------------------------------------------------------------------------------
def _first_call_turn(sample: Sample) -> int | None:
    """Index of the first call turn when the sample opens with the request and that call
    (system messages, one user turn, the call), else None."""
    seen_user = False
    for i, m in enumerate(sample.messages):
        if m.role == "system":
            continue
        if m.role == "user" and not seen_user:
            seen_user = True
            continue
        if m.role == "assistant" and m.tool_calls and seen_user:
            return i
        return None
    return None


def irrelevance_fits(sample: Sample) -> bool:
    """Whether `sample` can become an irrelevance sample: it opens with a request and its call, and
    once the called tools are removed no remaining tool could serve any of those calls."""
    i = _first_call_turn(sample)
    if i is None:
        return False
    calls = sample.messages[i].tool_calls
    removed = {c.name for c in calls}
    by_name = {t.get("name"): t for t in sample.tools}
    remaining = [t for t in sample.tools if t.get("name") not in removed]
    return not any(could_serve(t, c, by_name.get(c.name)) for t in remaining for c in calls)


def _lang(text: str) -> str:
    return "zh" if _CJK.search(text) else "en"


class Augmenter:
    """Applies the augmentation kinds to one sample at a time (see the module docstring)."""

    def __init__(self, config: AugmentConfig, pool: ToolPool, irrelevance_rate: float | None = None) -> None:
        self.config = config
        self.pool = pool
        self.irrelevance_rate = config.rates["irrelevance"] if irrelevance_rate is None else irrelevance_rate

    def rng(self, position: int) -> random.Random:
        """The seeded stream of the sample at `position` (independent of every other sample)."""
        return random.Random(f"fc-plugin-augment:{self.config.seed}:{position}")

    def augment(self, sample: Sample, rng: random.Random, report: AugmentReport | None = None) -> tuple[Sample, list[str]]:
        """(augmented copy, kinds applied). The draws happen in a fixed order, whatever applies."""
        rates = self.config.rates
        draws = {k: rng.random() for k in KINDS}
        want = {k: draws[k] < (self.irrelevance_rate if k == "irrelevance" else rates[k]) for k in KINDS}
        kinds: list[str] = []
        messages = [Message(m.role, m.content, list(m.tool_calls), m.thought, m.name) for m in sample.messages]
        tools = list(sample.tools)
        distracted = False  # distractors already drawn (for the irrelevance sample)
        if want["irrelevance"]:
            done = self._irrelevance(sample, rng) if irrelevance_fits(sample) else None
            if done is not None:
                messages, tools, added = done
                kinds.append("irrelevance")
                distracted = True
                self._count(added, kinds, report)
            elif report is not None:
                report.irrelevance_blocked += 1
        if want["distractors"] and not distracted:
            by_name = {t.get("name"): t for t in tools}
            called = dict.fromkeys(c.name for m in messages for c in m.tool_calls)
            purposes = [by_name[n] for n in called if n in by_name]
            added = self._distractors(tools, purposes, [], _request(messages), rng)
            tools = tools + added
            self._count(added, kinds, report)
        if want["shuffle"] and len(tools) > 1:
            order = list(range(len(tools)))
            rng.shuffle(order)
            if order != sorted(order):
                tools = [tools[k] for k in order]
                kinds.append("shuffle")
        out = Sample(messages, tools, sample.id, dict(sample.meta))
        names = None
        if want["mask"] and tools:
            out, names = mask_names(out, rng, self.config.names)
            kinds.append("mask")
        if kinds:
            out.meta["augment"] = kinds
        if names:
            out.meta["augment_names"] = names
        return out, kinds

    def _irrelevance(
        self, sample: Sample, rng: random.Random
    ) -> tuple[list[Message], list[dict[str, Any]], list[dict[str, Any]]] | None:
        """(messages, tools, distractors among them) of `sample` (which `irrelevance_fits`) turned
        into an irrelevance sample, or None when no tool would be left to list (the called tools were
        the only ones and no distractor fits)."""
        i = _first_call_turn(sample)
        assert i is not None
        calls = sample.messages[i].tool_calls
        by_name = {t.get("name"): t for t in sample.tools}
        removed = {c.name for c in calls}
        serve_calls = [(c, by_name.get(c.name)) for c in calls]
        purposes = [by_name[c.name] for c in calls if c.name in by_name]
        reply = rng.choice(NO_CALL_REPLIES[_lang(sample.messages[i - 1].content)])
        messages = [Message(m.role, m.content, list(m.tool_calls), m.thought, m.name) for m in sample.messages[:i]]
        messages.append(Message("assistant", reply))
        tools = [t for t in sample.tools if t.get("name") not in removed]
        # a refusal is only learnt next to tools that do not fit: it always gets distractors
        added = self._distractors(tools, purposes, serve_calls, _request(messages), rng)
        if not tools and not added:
            return None
        return messages, tools + added, added

    @staticmethod
    def _count(added: list[dict[str, Any]], kinds: list[str], report: AugmentReport | None) -> None:
        if added:
            kinds.append("distractors")
        if report is not None:
            if added:
                report.distractors_added += len(added)
            else:
                report.no_distractor += 1

    def _distractors(
        self,
        tools: list[dict[str, Any]],
        purposes: list[dict[str, Any]],
        serve_calls: list[tuple[ToolCall, dict[str, Any] | None]],
        request: tuple[ToolCall, dict[str, Any]] | None,
        rng: random.Random,
    ) -> list[dict[str, Any]]:
        """1..max_distractors pool tools for `tools`: none with a listed name or the purpose of one of
        `purposes`, none that could serve one of `serve_calls` or, in a sample without calls, the
        user's `request` (see `_request`)."""
        want = rng.randint(1, self.config.max_distractors)
        names = {t.get("name") for t in tools} | {c.name for c, _ in serve_calls}
        reference = tools + [t for _, t in serve_calls if t is not None]
        checks = [*serve_calls, *([request] if request is not None else [])]
        out: list[dict[str, Any]] = []
        for cand in self.pool.ranked(reference, rng):
            if len(out) >= want:
                break
            name = cand.get("name")
            if name in names or any(same_purpose(cand, p) for p in purposes):
                continue
            if any(could_serve(cand, c, t) for c, t in checks):
                continue
            names.add(name)
            out.append(cand)
        return out


def _request(messages: list[Message]) -> tuple[ToolCall, dict[str, Any]] | None:
    """The user's request of a sample without calls as a (call, tool) pair for `could_serve`: the user
    turns are both the call's name and the called tool's name, so a tool that shares a content word
    with them (in its name or description), or has most of its words in them, could serve it. None
    when the sample calls a tool (its calls say what it needs)."""
    if any(m.tool_calls for m in messages):
        return None
    text = "\n".join(m.content for m in messages if m.role == "user")
    return ToolCall(text, {}), {"name": text, "description": ""}


# -- masking --------------------------------------------------------------------------------------
def _rename_tool(tool: dict[str, Any], fn: dict[str, str], params: dict[str, str]) -> dict[str, Any]:
    out = dict(tool)
    out["name"] = fn.get(tool["name"], tool["name"])
    schema = tool.get("parameters")
    if isinstance(schema, dict):
        schema = dict(schema)
        if isinstance(schema.get("properties"), dict):
            schema["properties"] = {params.get(k, k): v for k, v in schema["properties"].items()}
        if isinstance(schema.get("required"), list):
            schema["required"] = [params.get(r, r) if isinstance(r, str) else r for r in schema["required"]]
        out["parameters"] = schema
    return out


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_KEY_AFTER = re.compile(r"\s*:")


class _TextRenamer:
    """Replaces old names in text (whole identifiers only) and keys in JSON results.

    Identifier-like names (`get_weather`, `order_id`, `startDate`) are replaced wherever they occur;
    plain words (`city`, `to`) only where they are written as code: in backticks or quotes, before
    `=` or `:` at a line start or after `{`, `,` or `(` (`f(city=...)`, not "the following text:"),
    right before `=` (`with city="Paris"`), or next to Chinese text (`调用 weather，city 为北京`)."""

    def __init__(self, fn: dict[str, str], params: dict[str, str]) -> None:
        self.keys = params
        self.table = {**params, **fn}
        names = "|".join(map(re.escape, sorted(self.table, key=len, reverse=True)))
        self.pattern = re.compile(r"(?<![A-Za-z0-9_])(" + names + r")(?![A-Za-z0-9_])") if names else None
        # inside a JSON string's raw text: never the letter of an escape (`\n`, `\u00e9`)
        self.raw_pattern = re.compile(r"(?<![A-Za-z0-9_\\])(" + names + r")(?![A-Za-z0-9_])") if names else None

    def _replace(self, m: re.Match[str]) -> str:
        old = m.group(1)
        if _identifier_like(old):
            return self.table[old]
        text, start, end = m.string, m.start(1), m.end(1)
        before = text[:start].rstrip(" \t")[-1:]
        after = text[end:].lstrip(" \t")[:1]
        quoted = bool(before and after) and before in "`'\"" and after in "`'\""
        chinese = any(c and (_CJK.match(c) or c in "，。：；（）、“”") for c in (before, after))
        # `name: x` / `name = x` at a line start ("" is the text's start) or after `{`, `,`, `(`;
        # `name=x` (no space, not `==`) anywhere ("call f with city=\"Paris\"")
        attached = text[end : end + 1] == "=" and text[end + 1 : end + 2] != "="
        keyword = attached or (after in ("=", ":") and before in ("", "\n", "{", ",", "("))
        return self.table[old] if quoted or keyword or chinese else old

    def text(self, text: str | None) -> str | None:
        if not text or self.pattern is None:
            return text
        return self.pattern.sub(self._replace, text)

    def result(self, content: str) -> str:
        """A tool result. JSON: keys that are parameter names renamed and strings renamed like text,
        in place (spacing, number spelling and escapes stay byte-identical); other text like text."""
        if content.strip()[:1] in ("{", "[") and self.pattern is not None:
            try:
                value = json.loads(content)
            except ValueError:
                value = None
            if isinstance(value, (dict, list)):
                return _JSON_STRING.sub(self._json_string, content)  # valid JSON: no quote outside a string
        return self.text(content) or content

    def _json_string(self, m: re.Match[str]) -> str:
        token = m.group(0)
        if _JSON_KEY_AFTER.match(m.string, m.end()):  # an object key
            new = self.keys.get(json.loads(token))
            return json.dumps(new, ensure_ascii=False) if new is not None else token
        assert self.raw_pattern is not None
        return '"' + self.raw_pattern.sub(self._replace, token[1:-1]) + '"'


def mask_names(sample: Sample, rng: random.Random, style: str = "random") -> tuple[Sample, dict[str, dict[str, str]]]:
    """`sample` with every tool's name and top-level parameter names replaced by fresh random ones
    (`style`: one of NAME_STYLES),
    consistently everywhere (see the module docstring). Returns (sample, {"functions", "parameters"}:
    old -> new). One parameter name gets one new name in the whole sample."""
    taken: set[str] = set()
    for t in sample.tools:
        taken.add(str(t.get("name")))
        taken.update(_props(t))
        taken.update(_required(t))
    fn: dict[str, str] = {}
    params: dict[str, str] = {}
    for t in sample.tools:
        name = t.get("name")
        if isinstance(name, str) and name not in fn:
            fn[name] = fresh_name(rng, taken, (2, 3), style)
        for p in [*_props(t), *_required(t)]:
            if p not in params:
                params[p] = fresh_name(rng, taken, (1, 2), style)
    tools = [_rename_tool(t, fn, params) if isinstance(t.get("name"), str) else t for t in sample.tools]
    text = _TextRenamer(fn, params)
    messages = []
    for m in sample.messages:
        calls = [ToolCall(fn.get(c.name, c.name), {params.get(k, k): v for k, v in c.arguments.items()}) for c in m.tool_calls]
        if m.role == "tool":
            content = text.result(m.content)
        else:
            content = text.text(m.content) or ""
        name = fn.get(m.name, m.name) if m.name else m.name
        messages.append(Message(m.role, content, calls, text.text(m.thought), name))
    return Sample(messages, tools, sample.id, dict(sample.meta)), {"functions": fn, "parameters": params}


# -- files ----------------------------------------------------------------------------------------
def _sources(inputs: Sequence[str | Path], info_path: str | Path, source_format: str | None) -> list[tuple[Path, str]]:
    out = []
    for item in inputs:
        path, fmt = resolve_dataset(str(item), info_path)
        out.append((path, source_format or fmt or "auto"))
    return out


def augment_files(
    inputs: Sequence[str | Path],
    out_path: str | Path,
    name: str,
    config: AugmentConfig | None = None,
    *,
    source_format: str | None = None,
    info_path: str | Path | None = "dataset_info.json",
    tokenizer: Any = None,
    cutoff_len: int | None = None,
    template: str | None = None,
    progress: bool | None = None,
) -> AugmentResult:
    """Augment `inputs` (files, folders or dataset names in `info_path`) into the ShareGPT dataset
    `name` at `out_path` (see the module docstring). Nothing but the rejects file is replaced when
    no sample is valid."""
    from tqdm import tqdm

    config = config or AugmentConfig()
    if tokenizer is None and (cutoff_len or template):
        raise ValueError("--cutoff-len and --template need --tokenizer PATH")
    length = LengthChecker(tokenizer, cutoff_len, template) if tokenizer is not None else None
    stats = StatsCollector("tokens" if length else "chars")
    report = AugmentReport()
    result = AugmentResult(stats, report)
    sources = _sources(inputs, info_path or "dataset_info.json", source_format)
    writer = DatasetWriter(out_path, name, info_path=info_path)
    disable = None if progress is None else not progress
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    fd, spool_path = tempfile.mkstemp(prefix=f".{Path(out_path).name}.", suffix=".augment.tmp", dir=Path(out_path).parent)
    try:
        pool = ToolPool()
        with os.fdopen(fd, "w", encoding="utf-8") as spool:
            _read_inputs(sources, writer, stats, report, pool, spool, result.formats, disable, tokenizer, cutoff_len, template)
        report.pool = len(pool)
        share = report.eligible_irrelevance / report.inputs if report.inputs else 0.0
        rate = config.rates["irrelevance"]
        augmenter = Augmenter(config, pool, min(1.0, rate / share) if share else 0.0)
        with open(spool_path, encoding="utf-8") as spool:
            bar = tqdm(total=report.inputs, desc=f"augment {name}", unit="sample", disable=disable)
            for position, line in enumerate(spool):
                bar.update()
                entry = json.loads(line)
                original = from_sharegpt(entry["row"])
                _write_one(augmenter, original, position, entry["ref"], writer, stats, report, length)
            bar.close()
        result.written, result.rejected = writer.written, writer.rejected
        if result.written == 0:
            result.exit_code, result.reason = 1, "no valid sample was produced; the previous dataset (if any) is kept"
        writer.commit(keep_data=result.exit_code == 0)
        result.committed = result.exit_code == 0
    except BaseException:
        writer.abort()
        raise
    finally:
        Path(spool_path).unlink(missing_ok=True)
    result.out_path, result.rejects_path = writer.out_path, writer.rejects.path
    return result


def _read_inputs(
    sources: list[tuple[Path, str]], writer: DatasetWriter, stats: StatsCollector, report: AugmentReport,
    pool: ToolPool, spool: Any, formats: dict[str, str], disable: bool | None, tokenizer: Any,
    cutoff_len: int | None, template: str | None,
) -> None:  # fmt: skip
    """Pass 1: convert + validate every record; rejects and duplicates to the rejects file, valid
    samples spooled (ShareGPT row + where it came from), their tools into the pool."""
    from tqdm import tqdm

    seen = DigestSet()
    bar = tqdm(desc="read inputs", unit=" records", disable=disable)
    try:
        for path, fmt in sources:
            options = ConvertOptions(source_format=fmt, tokenizer=tokenizer, cutoff_len=cutoff_len, template=template)
            for o in valid_outcomes(iter_outcomes([path], options, formats), writer, stats, lambda _: bar.update()):
                if not seen.add(o.digest or b""):
                    message = "same conversations, system and tools as an earlier sample"
                    writer.add_reject({**o.ref, "sample": o.sample, "code": "duplicate", "message": message})
                    stats.reject("duplicate")
                    continue
                row = json.loads(o.line or "{}")
                sample = from_sharegpt(row)
                for tool in sample.tools:
                    pool.add(tool)
                report.inputs += 1
                report.eligible_irrelevance += irrelevance_fits(sample)
                ref = {**o.ref, "sample": o.sample}
                spool.write(json.dumps({"ref": ref, "row": row}, ensure_ascii=False) + "\n")
    finally:
        bar.close()


def _write_one(
    augmenter: Augmenter, original: Sample, position: int, ref: dict[str, Any], writer: DatasetWriter,
    stats: StatsCollector, report: AugmentReport, length: LengthChecker | None,
) -> None:  # fmt: skip
    """Pass 2 for one sample: augment, validate (+ measure), write it, or keep it as a reject and
    write the original instead (also when it duplicates an earlier row: the duplicate is in the
    rejects file with the kinds applied as `augment`)."""
    sample, kinds = augmenter.augment(original, augmenter.rng(position), report)
    problems = [(p.code, p.message) for p in validate_sample(sample)] if kinds else []
    row = to_sharegpt(sample) if not problems else None
    size = 0
    if row is not None:
        size = len(core_json(row))
        if length is not None:
            size, issues = length.measure(row)
            problems = [(p.code, p.message) for p in issues]
    if problems:
        writer.add_reject({**ref, "code": problems[0][0], "message": f"augmented ({', '.join(kinds)}): {problems[0][1]}",
                           "problems": [{"code": c, "message": m} for c, m in problems],
                           "augmented": sample.to_dict(), "raw": original.to_dict()})  # fmt: skip
        stats.reject(problems[0][0])
        report.fallback += 1
        sample, kinds = original, []
        row = to_sharegpt(original)
        size = length.measure(row)[0] if length is not None else len(core_json(row))
    added = writer.add_row(row, ref={**ref, "augment": kinds} if kinds else ref)
    if added is None and kinds:  # e.g. two irrelevance samples with the same request and reply
        stats.reject("duplicate")
        report.duplicate_fallback += 1
        sample, kinds = original, []
        row = to_sharegpt(original)
        size = length.measure(row)[0] if length is not None else len(core_json(row))
        added = writer.add_row(row, ref=ref)
    if added is None:  # the original itself duplicates an earlier (augmented) row
        stats.reject("duplicate")
        return
    stats.add(sample, size)
    if kinds:
        report.kinds.update(kinds)
    else:
        report.unchanged += 1


__all__ = [
    "DEFAULT_RATES",
    "KINDS",
    "AugmentConfig",
    "AugmentReport",
    "AugmentResult",
    "Augmenter",
    "ToolPool",
    "augment_files",
    "could_serve",
    "fresh_name",
    "irrelevance_fits",
    "mask_names",
    "same_purpose",
    "words",
]
