"""Rule-based synthetic samples for the seeds' categories, from nothing but tool schemas.

Categories (the names `fc_plugin.categories.categorize` gives back):
- `single`: one request, one call;
- `parallel`: several independent requests in one message, one turn with several calls
  (sometimes followed by their results and a combined answer);
- `no_call`: tools exist but none must be called - greetings, out-of-scope questions, and near-miss
  requests (what a tool needs, a request the user cancels, a "which tool would you use" question,
  a request for a tool this conversation does not have);
- `multi_round`: call -> deterministic mock result -> grounded answer; a follow-up that keeps the
  intent and changes one argument ("And Shanghai?"); or two requests in sequence;
- `slot_filling`: a required argument is missing -> the assistant asks -> the user answers -> call.

Counts per category are allocated exactly (largest remainder), languages alternate, and every
sample is unique. Adversarial pairs share their wording but not their answer: a request and the
same request cancelled / asked hypothetically / made without the tool (call vs no call), the same
values sent to two tools that share parameters, and the same template with one value perturbed.
Everything is deterministic for a seed: each category draws from its own seeded stream.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from fc_plugin.sample import Message, Sample, ToolCall
from fc_plugin.synth import banks
from fc_plugin.synth.dates import REFERENCE_DATE, today_line
from fc_plugin.synth.mock import grounded_answer, mock_result, result_json
from fc_plugin.synth.utterances import LANGS, Phrasebook
from fc_plugin.synth.values import Arg, Drawer, ValueContext, bank_key, make_drawer

DISTINCT_TRIES = 20  # redraws for a value another parameter of the same call already drew from the same bank
CATEGORIES = ("single", "parallel", "no_call", "multi_round", "slot_filling")
DEFAULT_MIX = {"single": 0.3, "parallel": 0.15, "no_call": 0.2, "multi_round": 0.2, "slot_filling": 0.15}
MAX_RETRIES = 400  # consecutive duplicates before a category is declared exhausted
PAIR_KINDS = {"negative": ("single", "no_call"), "sibling": ("single", "single"), "perturb": ("single", "single")}

Args = dict[str, Arg]


def parse_mix(text: str | None) -> dict[str, float]:
    """`"single=0.4,no_call=0.2,..."` -> proportions for every category, summing to 1.

    Categories left out share what is left (in the default mix's proportions); when the given
    weights already sum to 1 the others get 0. Raises ValueError on unknown names or bad numbers.
    """
    if not text:
        return dict(DEFAULT_MIX)
    given: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in CATEGORIES:
            raise ValueError(f"--mix: bad entry {part!r}; use CATEGORY=WEIGHT with CATEGORY in {', '.join(CATEGORIES)}")
        try:
            weight = float(value)
        except ValueError:
            raise ValueError(f"--mix: {name} weight {value!r} is not a number") from None
        if not weight >= 0:
            raise ValueError(f"--mix: {name} weight must be >= 0, got {value}")
        given[name] = weight
    total = sum(given.values())
    if total > 1 + 1e-6:
        if abs(total - 100) < 1e-6 or total > 1.5:  # percentages or relative weights: normalise
            return {c: given.get(c, 0.0) / total for c in CATEGORIES}
        raise ValueError(f"--mix: weights add up to {total:g} > 1")
    rest = [c for c in CATEGORIES if c not in given]
    left = max(0.0, 1.0 - total)
    if left > 1e-9 and rest:
        base = sum(DEFAULT_MIX[c] for c in rest)
        given.update({c: left * DEFAULT_MIX[c] / base for c in rest})
    total = sum(given.values())
    if total <= 0:
        raise ValueError("--mix: all weights are 0")
    return {c: given.get(c, 0.0) / total for c in CATEGORIES}


def allocate(n: int, mix: dict[str, float]) -> dict[str, int]:
    """Exact counts per category for `n` samples (largest remainder; ties in category order)."""
    raw = {c: n * mix.get(c, 0.0) for c in CATEGORIES}
    counts = {c: int(v) for c, v in raw.items()}
    order = sorted(CATEGORIES, key=lambda c: (-(raw[c] - counts[c]), CATEGORIES.index(c)))
    for c in order[: n - sum(counts.values())]:
        counts[c] += 1
    return counts


@dataclass
class SynthConfig:
    """How to generate: counts, mix, languages, seed, reference date and style knobs."""

    n: int = 1000
    mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    langs: tuple[str, ...] = ("en",)
    seed: int = 0
    today: dt.date = REFERENCE_DATE
    thought_rate: float = 0.3  # share of assistant call turns that carry a thought
    max_tools: int | None = None  # tools shown per sample (needed ones + random others); None = all
    pair_rate: float = 0.25  # share of single/no_call quota spent on adversarial pairs
    #: share of near-miss no-call samples that ask for a tool the sample does not list (the others are
    #: cancelled or hypothetical requests, 45:35); needs at least two tools
    unavailable_rate: float = 0.2


class Generator:
    """Generates the samples of one synthetic dataset (see the module docstring)."""

    def __init__(self, tools: list[dict[str, Any]], config: SynthConfig, templates: dict[str, Any] | None = None) -> None:
        if not tools:
            raise ValueError("synth needs at least one tool")
        for lang in config.langs:
            if lang not in LANGS:
                raise ValueError(f"unsupported language {lang!r}; use {', '.join(LANGS)}")
        if config.max_tools is not None and config.max_tools < 1:
            raise ValueError(f"max_tools must be >= 1, got {config.max_tools}")
        self.tools = tools
        self.names = [t["name"] for t in tools]
        self.cfg = config
        self.book = Phrasebook(tools, templates)
        self.values = ValueContext(config.today, dict((templates or {}).get("values") or {}))
        self.slot_tools = [t for t in self.names if self.book.required(t)]
        self.arg_tools = [t for t in self.names if self.book.properties(t)]
        self.siblings = [
            (a, b, shared)
            for i, a in enumerate(self.names)
            for b in self.names[i + 1 :]
            if (shared := set(self.book.required(a)) & set(self.book.required(b)))
        ]
        self.seen: set[bytes] = set()
        self._drawers: dict[tuple[str, str], Drawer] = {}
        self._bank_keys: dict[tuple[str, str], tuple[Any, ...] | None] = {}
        self._bank_left: dict[tuple[str, str], list[Any]] = {}
        self._makers = {"single": self._single, "parallel": self._parallel, "no_call": self._no_call,
                        "multi_round": self._multi_round, "slot_filling": self._slot_filling}  # fmt: skip
        self._system = {lang: self.system_prompt(lang) for lang in LANGS}
        self.counts = {c: 0 for c in CATEGORIES}

    # ---- public -------------------------------------------------------------------------------
    def impossible(self) -> dict[str, str]:
        """Categories these tools cannot produce, with the reason."""
        out = {}
        if not self.slot_tools:
            out["slot_filling"] = "slot_filling needs a tool with a required parameter"
        if not self.arg_tools and len(self.names) < 2:
            out["parallel"] = "parallel needs two tools or a tool with parameters"
        return out

    def feasible_mix(self, mix: dict[str, float]) -> dict[str, float]:
        """`mix` without the categories these tools cannot produce, renormalised (for the default mix)."""
        kept = {c: (0.0 if c in self.impossible() else w) for c, w in mix.items()}
        total = sum(kept.values())
        return {c: w / total for c, w in kept.items()} if total > 0 else mix

    def check_mix(self, mix: dict[str, float]) -> None:
        """Raise ValueError when the tools cannot produce a requested category."""
        for category, reason in self.impossible().items():
            if mix.get(category, 0) > 0:
                raise ValueError(f"{reason}; set {category}=0 in --mix")

    def generate(self, progress: Callable[[int], None] | None = None) -> list[Sample]:
        """All samples as a list (see `iter_samples`)."""
        return list(self.iter_samples(progress))

    def iter_samples(self, progress: Callable[[int], None] | None = None) -> Iterator[Sample]:
        """Every sample, streamed in a deterministic shuffled order; `progress(k)` is called as they come.

        The plan (which category or adversarial pair comes next) is allocated exactly and shuffled
        by the seed; each category and the pairs draw from their own seeded random stream.
        """
        self.check_mix(self.cfg.mix)
        jobs = self._plan(allocate(self.cfg.n, self.cfg.mix))
        random.Random(f"{self.cfg.seed}/order").shuffle(jobs)
        rngs = {c: random.Random(f"{self.cfg.seed}/{c}") for c in CATEGORIES}
        pair_rng = random.Random(f"{self.cfg.seed}/pairs")
        exhausted: set[str] = set()
        pairs_made = 0
        for job in jobs:
            if job in PAIR_KINDS:
                batch: list[Sample] = []
                if job not in exhausted:
                    lang = self.cfg.langs[pairs_made % len(self.cfg.langs)]
                    pairs_made += 1
                    try:
                        batch = self._unique(partial(self._pair, job, pair_rng, lang), f"{job} pair")
                    except ValueError:
                        exhausted.add(job)  # too few distinct pairs: the category streams fill in
                owed = Counter(PAIR_KINDS[job]) - Counter(s.meta["category"] for s in batch)
                batch += [self._one(c, rngs[c]) for c in owed.elements()]
            else:
                batch = [self._one(job, rngs[job])]
            yield from batch
            if progress:
                progress(len(batch))

    def _plan(self, quota: dict[str, int]) -> list[str]:
        """Jobs: one per sample of each category, adversarial pairs taking their share of single/no_call."""
        rate = self.cfg.pair_rate
        n_neg = int(rate * min(quota["single"], quota["no_call"]))
        n_sib = int(rate * 0.5 * quota["single"]) // 2 if self.siblings else 0
        n_per = int(rate * 0.5 * quota["single"]) // 2 if self.arg_tools else 0
        jobs = ["negative"] * n_neg + ["sibling"] * n_sib + ["perturb"] * n_per
        left = dict(quota)
        for job in jobs:
            for category in PAIR_KINDS[job]:
                left[category] -= 1
        for category in CATEGORIES:
            jobs += [category] * left[category]
        return jobs

    def _one(self, category: str, rng: random.Random) -> Sample:
        lang = self.cfg.langs[self.counts[category] % len(self.cfg.langs)]
        return self._unique(partial(self._makers[category], rng, lang), category)[0]

    def exclude(self, samples: Iterable[Sample]) -> int:
        """Never generate these samples (same turns, calls and tool names), e.g. another dataset's held-out
        split when making extra training data; returns how many distinct samples were registered."""
        before = len(self.seen)
        self.seen.update(self._key(s) for s in samples)
        return len(self.seen) - before

    # ---- bookkeeping ------------------------------------------------------------------------------
    def _unique(self, make: Callable[[], Sample | list[Sample]], what: str) -> list[Sample]:
        """Call `make` until all its samples are new; register them. Raises when exhausted."""
        for _ in range(MAX_RETRIES):
            made = make()
            batch = made if isinstance(made, list) else [made]
            keys = [self._key(s) for s in batch]
            if len(set(keys)) == len(keys) and not any(k in self.seen for k in keys):
                for s, k in zip(batch, keys, strict=True):
                    self.seen.add(k)
                    s.id = f"synth-{self.cfg.seed}-{k.hex()[:16]}"
                    self.counts[s.meta["category"]] += 1
                return batch
        raise ValueError(
            f"could not make more unique {what} samples after {MAX_RETRIES} tries "
            f"({self.counts} so far): the tools/templates allow too few; lower --n, change --mix or add templates"
        )

    @staticmethod
    def _key(sample: Sample) -> bytes:
        """Identity of a sample for de-duplication: its turns and calls (not the thought) and tool names."""
        parts = [t["name"] for t in sample.tools]
        for m in sample.messages:
            parts.append(f"{m.role}\x1f{m.content}\x1f{[(c.name, c.arguments) for c in m.tool_calls]!r}")
        return hashlib.blake2b("\x1e".join(parts).encode("utf-8"), digest_size=16).digest()

    def _sample(self, messages: list[Message], category: str, kind: str, lang: str, rng: random.Random,
                needed: set[str], pair: str | None = None, tools: list[dict[str, Any]] | None = None) -> Sample:  # fmt: skip
        """A sample with the system prompt and its tools (`tools`, or the `needed` ones + others)."""
        meta: dict[str, Any] = {"source": "synth", "category": category, "kind": kind, "lang": lang}
        if pair:
            meta["pair"] = pair
        if tools is None:
            tools = self._tools_for(needed, rng, None)
        return Sample([Message("system", self._system[lang]), *messages], tools, None, meta)

    def system_prompt(self, lang: str) -> str:
        """The system prompt of every sample in `lang` (states the reference date)."""
        if lang == "zh":
            return "你是一个可以调用工具的智能助手，只在用户的请求需要时才调用工具。" + today_line(self.cfg.today, lang)
        return "You are a helpful assistant with access to tools. Call a tool only when the request needs it. " + today_line(
            self.cfg.today, lang
        )

    def _tools_for(self, needed: set[str], rng: random.Random, exclude: str | None) -> list[dict[str, Any]]:
        pool = [t for t in self.tools if t["name"] != exclude]
        if self.cfg.max_tools is None or len(pool) <= self.cfg.max_tools:
            return pool
        others = [t["name"] for t in pool if t["name"] not in needed]
        keep = needed | set(rng.sample(others, max(0, min(len(others), self.cfg.max_tools - len(needed)))))
        return [t for t in pool if t["name"] in keep]

    # ---- building blocks -------------------------------------------------------------------------
    def _draw(self, tool: str, params: list[str], lang: str, rng: random.Random, besides: Args | None = None) -> Args:
        """Values for `params` of one call (`besides`: the call's values drawn before); parameters drawn from
        the same bank get distinct values (redrawn up to DISTINCT_TRIES times: a one-value bank still gives its value)."""
        out: Args = {}
        taken: dict[tuple[Any, ...], list[Any]] = {}
        for p, arg in (besides or {}).items():
            key = self._bank_keys.get((tool, p))
            if key is not None:
                taken.setdefault(key, []).append(arg.value)
        for p in params:
            drawer = self._drawers.get((tool, p))
            if drawer is None:
                schema = self.book.properties(tool)[p]
                schema = schema if isinstance(schema, dict) else {}
                drawer = make_drawer(tool, p, schema, self.values)
                self._drawers[tool, p] = drawer
                self._bank_keys[tool, p] = bank_key(tool, p, schema, self.values)
            arg = drawer(lang, rng)
            key = self._bank_keys[tool, p]
            if key is not None:
                for _ in range(DISTINCT_TRIES):
                    if arg.value not in taken.get(key, ()):
                        break
                    arg = drawer(lang, rng)
                taken.setdefault(key, []).append(arg.value)
            out[p] = arg
        return out

    def _request(self, tool: str, lang: str, rng: random.Random) -> tuple[str, Args, Any]:
        template, params = self.book.choose_params(tool, lang, rng)
        args = self._draw(tool, params, lang, rng)
        return self.book.request(tool, template, args, lang, rng), args, template

    def _call_turn(self, calls: list[tuple[str, Args]], lang: str, rng: random.Random) -> Message:
        thought = self.book.thought(calls, lang) if rng.random() < self.cfg.thought_rate else None
        tool_calls = [ToolCall(t, {k: a.value for k, a in args.items()}) for t, args in calls]
        return Message("assistant", "", tool_calls, thought=thought)

    def _results(self, calls: list[tuple[str, Args]], lang: str, rng: random.Random) -> tuple[list[Message], str]:
        """Tool messages for `calls` and the grounded answer that quotes them."""
        tool_msgs, answers = [], []
        for tool, args in calls:
            plain = {k: a.value for k, a in args.items()}
            result = mock_result(tool, plain, lang, self.cfg.today)
            tool_msgs.append(Message("tool", result_json(result), name=tool))
            answers.append(grounded_answer(tool, plain, result, lang, rng, self.book.text[tool, lang].answers))
        return tool_msgs, ("" if lang == "zh" else " ").join(answers)

    def _perturb(self, tool: str, args: Args, lang: str, rng: random.Random, prefer_required: bool = True) -> tuple[str, Args] | None:
        """(changed parameter, args with one value redrawn) or None if no value can change."""
        params = list(args)
        required = [p for p in params if p in self.book.required(tool)]
        rng.shuffle(params)
        if prefer_required and required:
            params = [p for p in params if p in required] + [p for p in params if p not in required]
        for param in params:
            for _ in range(6):
                new = self._draw(tool, [param], lang, rng, besides={k: a for k, a in args.items() if k != param})[param]
                if new.value != args[param].value and new.surface != args[param].surface:
                    return param, {**args, param: new}
        return None

    def _pick_tool(self, rng: random.Random, pool: list[str] | None = None) -> str:
        return rng.choice(pool or self.names)

    # ---- categories ------------------------------------------------------------------------------
    def _single(self, rng: random.Random, lang: str) -> Sample:
        tool = self._pick_tool(rng)
        text, args, _ = self._request(tool, lang, rng)
        msgs = [Message("user", text), self._call_turn([(tool, args)], lang, rng)]
        return self._sample(msgs, "single", "request", lang, rng, {tool})

    def _parallel(self, rng: random.Random, lang: str) -> Sample:
        k = 3 if rng.random() < 0.25 else 2
        calls: list[tuple[str, Args]] = []
        texts: list[str] = []
        if self.arg_tools and (len(self.names) < 2 or rng.random() < 0.4):
            # the same tool with perturbed values ("weather in Beijing and in Shanghai")
            tool = self._pick_tool(rng, self.arg_tools)
            template, params = self.book.choose_params(tool, lang, rng)
            calls.append((tool, self._draw(tool, params, lang, rng)))
            for _ in range(k - 1):
                changed = self._perturb(tool, calls[-1][1], lang, rng)
                if changed and all(changed[1] != a for _, a in calls):
                    calls.append((tool, changed[1]))
            texts = [self.book.request(tool, template, a, lang, rng) for _, a in calls]
            kind = "same_tool"
        if len(calls) < 2 and len(self.names) > 1:  # different tools (or nothing could be perturbed)
            calls, texts = [], []
            for tool in rng.sample(self.names, min(k, len(self.names))):
                text, args, _ = self._request(tool, lang, rng)
                calls.append((tool, args))
                texts.append(text)
            kind = "different_tools"
        if len(calls) < 2:
            raise ValueError(f"parallel: the values of tool {self.names[0]!r} cannot vary; set parallel=0 in --mix")
        msgs = [Message("user", self._join_requests(texts, lang, rng)), self._call_turn(calls, lang, rng)]
        if rng.random() < 0.3:
            tool_msgs, answer = self._results(calls, lang, rng)
            msgs += [*tool_msgs, Message("assistant", answer)]
            kind += "+results"
        return self._sample(msgs, "parallel", kind, lang, rng, {t for t, _ in calls})

    @staticmethod
    def _join_requests(texts: list[str], lang: str, rng: random.Random) -> str:
        if lang == "zh":
            if rng.random() < 0.5:
                return "另外，".join(texts)
            return f"帮我做{len(texts)}件事：" + " ".join(f"{i}）{t}" for i, t in enumerate(texts, 1))
        if rng.random() < 0.5:
            return " Also: ".join(texts)
        count = {2: "Two", 3: "Three"}.get(len(texts), str(len(texts)))
        return f"{count} things, please. " + " ".join(f"{i}) {t}" for i, t in enumerate(texts, 1))

    def _no_call(self, rng: random.Random, lang: str) -> Sample:
        r = rng.random()
        kind = "greeting" if r < 0.2 else "out_of_scope" if r < 0.4 else "near_miss_needs" if r < 0.5 else ""
        item = self._take(kind, lang) if kind else None
        if kind == "greeting" and item:
            user, answer = item
            tools = self._tools_for(set(), rng, None)
            answer = answer or self.book.capabilities([t["name"] for t in tools], lang)
            msgs = [Message("user", user), Message("assistant", answer)]
            return self._sample(msgs, "no_call", kind, lang, rng, set(), tools=tools)
        if kind == "out_of_scope" and item:
            user, answer = item
            return self._sample([Message("user", user), Message("assistant", answer)], "no_call", kind, lang, rng, set())
        if kind == "near_miss_needs" and item:
            question, answer = self.book.needs(item, lang)
            return self._sample([Message("user", question), Message("assistant", answer)], "no_call", kind, lang, rng, {item})
        tool = self._pick_tool(rng)
        text, args, _ = self._request(tool, lang, rng)
        return self._near_miss(tool, text, args, lang, rng, None)

    def _take(self, kind: str, lang: str) -> Any:
        """The next unused entry of a small fixed bank (each is used once: repeats would be duplicates)."""
        key = (kind, lang)
        if key not in self._bank_left:
            items: list[Any] = list(
                banks.GREETINGS[lang] if kind == "greeting" else banks.OUT_OF_SCOPE[lang] if kind == "out_of_scope" else self.names
            )
            random.Random(f"{self.cfg.seed}/{kind}/{lang}").shuffle(items)
            if self.cfg.max_tools is not None and kind == "greeting":
                items *= 4  # tool subsets differ, so a greeting can recur with other tools
            self._bank_left[key] = items
        left = self._bank_left[key]
        return left.pop() if left else None

    def _near_miss(self, tool: str, text: str, args: Args, lang: str, rng: random.Random, pair: str | None) -> Sample:
        """A request that must not call: cancelled, hypothetical, or for a tool this sample lacks."""
        action = self.book.action(tool, lang)
        r = rng.random()  # "unavailable" is rare by default: only the tool list tells it apart from a normal request
        unavailable = self.cfg.unavailable_rate
        cancel = 0.5625 * (1 - unavailable)  # cancel : hypothetical = 45 : 35 (0.45 and 0.8 exactly at 0.2)
        kind = "cancel" if r < cancel else "hypothetical" if r < 1 - unavailable or len(self.names) < 2 else "unavailable"
        tools = None
        if kind == "cancel":
            if lang == "zh":
                user = text + rng.choice(("……算了，先不用了。", "不过先别执行，我再想想。", "等等，先不用了。"))
                answer = f"好的，那就先不{action}了。还有其他需要吗？"
            else:
                user = text + rng.choice((" Actually, never mind, don't do that.", " Wait, cancel that, not now.",
                                          " On second thought, don't."))  # fmt: skip
                answer = f"No problem, I won't {action}. Is there anything else I can do?"
        elif kind == "hypothetical":
            summary = ", ".join(f"{k}={json.dumps(a.value, ensure_ascii=False)}" for k, a in args.items())
            if lang == "zh":
                user = f"先别执行，只告诉我：如果我说“{text}”，你会调用哪个工具？"
                answer = f"我会调用 {tool}，参数是 {summary or '无'}。按您的要求，我没有执行。"
            else:
                user = f"Don't run anything, just tell me: if I said \"{text}\", which tool would you call?"
                answer = f"I would call {tool} with {summary or 'no arguments'}. As you asked, I haven't run it."
        else:  # the same request, but this conversation has no tool for it
            tools = self._tools_for(set(), rng, tool)
            others = [t["name"] for t in tools]
            user = text
            if lang == "zh":
                answer = f"抱歉，我目前没有可以{action}的工具。" + self.book.capabilities(others, lang)
            else:
                answer = f"Sorry, I don't have a tool to {action} right now. " + self.book.capabilities(others, lang)
        msgs = [Message("user", user), Message("assistant", answer)]
        return self._sample(msgs, "no_call", f"near_miss_{kind}", lang, rng, {tool}, pair=pair, tools=tools)

    def _multi_round(self, rng: random.Random, lang: str) -> Sample:
        r = rng.random()
        tool = self._pick_tool(rng)
        text, args, _ = self._request(tool, lang, rng)
        msgs = [Message("user", text), self._call_turn([(tool, args)], lang, rng)]
        tool_msgs, answer = self._results([(tool, args)], lang, rng)
        msgs += [*tool_msgs, Message("assistant", answer)]
        needed = {tool}
        if r < 0.35:
            kind = "result"
        elif r < 0.8 and args and (changed := self._perturb(tool, args, lang, rng)):
            param, new_args = changed  # follow-up: same intent, one argument changed ("And Shanghai?")
            kind = "follow_up"
            msgs += [Message("user", self.book.follow_up(new_args[param], lang, rng)),
                     self._call_turn([(tool, new_args)], lang, rng)]  # fmt: skip
            tool_msgs, answer = self._results([(tool, new_args)], lang, rng)
            msgs += [*tool_msgs, Message("assistant", answer)]
        else:  # a second, different request in sequence
            kind = "sequential"
            second = self._pick_tool(rng, [t for t in self.names if t != tool] or None)
            text2, args2, _ = self._request(second, lang, rng)
            msgs += [Message("user", text2), self._call_turn([(second, args2)], lang, rng)]
            tool_msgs, answer = self._results([(second, args2)], lang, rng)
            msgs += [*tool_msgs, Message("assistant", answer)]
            needed.add(second)
        return self._sample(msgs, "multi_round", kind, lang, rng, needed)

    def _slot_filling(self, rng: random.Random, lang: str) -> Sample:
        tool = self._pick_tool(rng, self.slot_tools)
        missing = rng.choice(self.book.required(tool))
        template, params = self.book.choose_params(tool, lang, rng, missing=missing)
        args = self._draw(tool, params, lang, rng)
        given = self._draw(tool, [missing], lang, rng, besides=args)[missing]
        ask_text = self.book.request(tool, template, args, lang, rng)
        full = {p: args[p] if p != missing else given for p in [*params, missing]}
        ordered = {p: full[p] for p in self.book.properties(tool) if p in full}
        msgs = [
            Message("user", ask_text),
            Message("assistant", self.book.ask(tool, missing, lang, rng)),
            Message("user", self.book.slot_answer(tool, missing, given, lang, rng)),
            self._call_turn([(tool, ordered)], lang, rng),
        ]
        return self._sample(msgs, "slot_filling", "ask_then_call", lang, rng, {tool})

    # ---- adversarial pairs -----------------------------------------------------------------------
    def _pair(self, kind: str, rng: random.Random, lang: str) -> list[Sample]:
        pair = f"{kind}-{rng.getrandbits(48):012x}"
        if kind == "sibling":  # same values, different tool: the wording decides the call
            a, b, shared = rng.choice(self.siblings)
            ta, pa = self.book.choose_params(a, lang, rng)
            tb, pb = self.book.choose_params(b, lang, rng)
            common = self._draw(a, sorted(shared), lang, rng)
            args_a = {p: common.get(p) or self._draw(a, [p], lang, rng, besides=common)[p] for p in pa}
            args_b = {p: common.get(p) or self._draw(b, [p], lang, rng, besides=common)[p] for p in pb}
            out = []
            for tool, template, args in ((a, ta, args_a), (b, tb, args_b)):
                msgs = [Message("user", self.book.request(tool, template, args, lang, rng)),
                        self._call_turn([(tool, args)], lang, rng)]  # fmt: skip
                out.append(self._sample(msgs, "single", "pair_sibling", lang, rng, {a, b}, pair=pair))
            return out
        tool = self._pick_tool(rng, self.arg_tools if kind == "perturb" else None)
        template, params = self.book.choose_params(tool, lang, rng)
        args = self._draw(tool, params, lang, rng)
        text = self.book.request(tool, template, args, lang, rng)
        positive = self._sample([Message("user", text), self._call_turn([(tool, args)], lang, rng)],
                                "single", f"pair_{kind}", lang, rng, {tool}, pair=pair)  # fmt: skip
        if kind == "negative":
            return [positive, self._near_miss(tool, text, args, lang, rng, pair)]
        changed = self._perturb(tool, args, lang, rng, prefer_required=False)
        if changed is None:
            return [positive]
        args2 = changed[1]
        text2 = self.book.request(tool, template, args2, lang, rng)
        twin = self._sample([Message("user", text2), self._call_turn([(tool, args2)], lang, rng)],
                            "single", "pair_perturb", lang, rng, {tool}, pair=pair)  # fmt: skip
        return [positive, twin]
