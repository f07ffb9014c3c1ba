"""Teacher-model generation: ask any OpenAI-compatible `/v1/chat/completions` endpoint for samples.

The prompt is seed 001's idea: give the tools and ask for conversations of one category at a time,
as a JSON list (with one rule-based example of that category, in the requested language). Every
returned conversation is converted like an OpenAI fine-tuning record, validated, and rejected with
its reason when invalid (hallucinated tools, unknown or missing arguments, bad JSON, ...).

Reliability: retries with exponential back-off on 429, 5xx, timeouts, connection errors and
garbled responses (`Retry-After` is honoured); a thread pool caps concurrent requests; every
successful response is cached on disk under the hash of its request (model + messages +
parameters), so a re-run resumes without paying twice. The API key comes from an environment
variable and is sent only in the Authorization header: never printed, cached or written.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fc_plugin.convert import ConvertError
from fc_plugin.convert._common import find_literal
from fc_plugin.io import atomic_write_json
from fc_plugin.sample import Sample
from fc_plugin.synth.dates import today_line

API_KEY_ENVS = ("FC_TEACHER_API_KEY", "OPENAI_API_KEY")
RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
MAX_BACKOFF = 60.0

CATEGORY_BRIEFS = {
    "single": "the user asks for one thing; the assistant answers with exactly one tool call, and the "
    "conversation ends with that call.",
    "parallel": "the user asks for two or three independent things in one message; one assistant turn makes "
    "all the calls at once (several tool_calls). It may end there, or continue with one tool message per "
    "call and a final answer quoting the results.",
    "no_call": "tools exist but none must be called: greetings, questions the tools cannot answer, and "
    "near-miss requests (about a tool's topic but not a request to run it). The assistant answers in text, "
    "with no tool_calls.",
    "multi_round": "a call, its tool result and a final answer that quotes the result; then a follow-up that "
    "keeps the intent and changes one argument (e.g. 'And Shanghai?'), its call, result and answer.",
    "slot_filling": "the user's request misses a required argument; the assistant asks for it (no call), the "
    "user gives it, and the assistant then calls the tool with every required argument.",
}
LANG_NAMES = {"en": "English", "zh": "Simplified Chinese (简体中文)"}


class TeacherError(ValueError):
    """A request that failed for good (after retries, or with a status that retrying cannot fix)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class TeacherConfig:
    """Where the teacher is and how to talk to it."""

    url: str
    model: str
    api_key_env: str | None = None  # None: the first of API_KEY_ENVS that is set
    concurrency: int = 4
    retries: int = 5
    backoff: float = 1.0  # first retry delay in seconds; doubles each retry (capped at MAX_BACKOFF)
    timeout: float = 120.0
    temperature: float = 0.8
    batch_size: int = 5  # conversations asked for per request
    cache_dir: Path | None = None  # None: no cache

    @property
    def endpoint(self) -> str:
        url = self.url.rstrip("/")
        if url.endswith("/chat/completions"):
            return url
        return url + ("/chat/completions" if url.endswith("/v1") else "/v1/chat/completions")

    def api_key(self) -> str | None:
        names = [self.api_key_env] if self.api_key_env else list(API_KEY_ENVS)
        return next((os.environ[n] for n in names if os.environ.get(n)), None)


@dataclass
class TeacherRequest:
    """One chat request: `count` conversations of one category in one language."""

    category: str
    lang: str
    count: int
    index: int
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The cache key: a hash of everything that decides the answer (not the URL, never the key)."""
        text = json.dumps(self.body, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def ref(self) -> dict[str, Any]:
        return {"request": f"{self.category}/{self.lang}/{self.index}", "category": self.category, "lang": self.lang}


def build_prompt(tools: list[dict[str, Any]], category: str, lang: str, count: int, index: int,
                 example: dict[str, Any] | None, today: Any) -> str:  # fmt: skip
    """The seed 001 prompt: tools, the category's brief, rules, the output shape and one example."""
    lines = [
        "You write training data for fine-tuning a small language model to call functions (tools).",
        "",
        "Tools (JSON Schema):",
        json.dumps(tools, ensure_ascii=False, indent=1),
        "",
        f"{today_line(today, 'en')} Resolve relative dates against it; \"next <weekday>\" is that weekday "
        "of the following Monday-Sunday week.",
        "",
        f'Write {count} different conversations of category "{category}": {CATEGORY_BRIEFS[category]}',
        f"Language of the user and assistant text: {LANG_NAMES[lang]}.",
        "",
        "Rules:",
        "- Call only the tools above, with their exact argument names, every required argument, and values of "
        "the right type (enum values exactly as listed).",
        "- Take argument values from the user's words (copy names, numbers and emails verbatim); never invent a "
        "value the user did not give - ask for it instead.",
        '- Before some calls, give the assistant a one-sentence "thought" (intent, tool, arguments).',
        "- A tool result is a JSON string with realistic values; the final answer quotes them.",
        "- Vary the wording, the values and the tools across conversations.",
        "",
        f'Return only a JSON list, no prose. Each item: {{"category": "{category}", "messages": [...]}}, '
        "with messages shaped like:",
        '  {"role": "user", "content": "..."}',
        '  {"role": "assistant", "content": "", "thought": "...", "tool_calls": [{"name": "...", "arguments": {...}}]}',
        '  {"role": "tool", "name": "...", "content": "{...}"}',
        '  {"role": "assistant", "content": "..."}',
    ]
    if example is not None:
        lines += ["", "Example item:", json.dumps(example, ensure_ascii=False)]
    lines += ["", f"This is batch {index}: make its conversations different from other batches."]
    return "\n".join(lines)


def example_item(sample: Sample) -> dict[str, Any]:
    """A rule-based sample as a prompt example (messages without the system prompt)."""
    messages = []
    for m in sample.messages:
        if m.role == "system":
            continue
        d: dict[str, Any] = {"role": m.role, "content": m.content}
        if m.thought:
            d["thought"] = m.thought
        if m.tool_calls:
            d["tool_calls"] = [c.to_dict() for c in m.tool_calls]
        if m.name:
            d["name"] = m.name
        messages.append(d)
    return {"category": sample.meta.get("category"), "messages": messages}


def plan_requests(tools: list[dict[str, Any]], counts: dict[str, int], langs: tuple[str, ...], config: TeacherConfig,
                  examples: dict[tuple[str, str], Sample | None], today: Any) -> list[TeacherRequest]:  # fmt: skip
    """Requests covering `counts` conversations per category, split across languages and batches."""
    requests = []
    for category, total in counts.items():
        per_lang = {lang: total // len(langs) + (i < total % len(langs)) for i, lang in enumerate(langs)}
        for lang, n in per_lang.items():
            for index, start in enumerate(range(0, n, config.batch_size)):
                count = min(config.batch_size, n - start)
                example = examples.get((category, lang))
                prompt = build_prompt(tools, category, lang, count, index, example_item(example) if example else None, today)
                body = {"model": config.model, "temperature": config.temperature,
                        "messages": [{"role": "user", "content": prompt}]}  # fmt: skip
                requests.append(TeacherRequest(category, lang, count, index, body))
    return requests


class TeacherClient:
    """Sends requests with retries, back-off, a concurrency limit and an on-disk cache."""

    def __init__(self, config: TeacherConfig, sleep: Callable[[float], None] = time.sleep) -> None:
        if config.concurrency < 1:
            raise ValueError(f"--concurrency must be >= 1, got {config.concurrency}")
        if config.retries < 0:
            raise ValueError(f"--retries must be >= 0, got {config.retries}")
        self.config = config
        self.sleep = sleep
        self.requests_sent = 0
        self.cache_hits = 0
        self._lock = threading.Lock()
        self._jitter = random.Random(0)

    # -- cache ----------------------------------------------------------------------------------
    def _cache_path(self, request: TeacherRequest) -> Path | None:
        return None if self.config.cache_dir is None else Path(self.config.cache_dir) / f"{request.key}.json"

    def _cached(self, request: TeacherRequest) -> str | None:
        path = self._cache_path(request)
        if path is None or not path.exists():
            return None
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # a damaged cache entry is simply asked again
        content = entry.get("content") if isinstance(entry, dict) else None
        return content if isinstance(content, str) else None

    def _store(self, request: TeacherRequest, content: str) -> None:
        path = self._cache_path(request)
        if path is not None:
            atomic_write_json(path, {"model": self.config.model, **request.ref(), "content": content})

    # -- HTTP ----------------------------------------------------------------------------------
    def complete(self, request: TeacherRequest, http: Any) -> str:
        """The assistant text for `request` (from the cache, or the endpoint). Raises TeacherError."""
        cached = self._cached(request)
        if cached is not None:
            with self._lock:
                self.cache_hits += 1
            return cached
        import httpx

        headers = {"Content-Type": "application/json"}
        key = self.config.api_key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        last, retry_after = "no attempt", None
        for attempt in range(self.config.retries + 1):
            if attempt:
                self.sleep(self._delay(attempt, retry_after))
                retry_after = None
            with self._lock:
                self.requests_sent += 1
            try:
                response = http.post(self.config.endpoint, json=request.body, headers=headers, timeout=self.config.timeout)
            except httpx.TimeoutException:
                last = f"timed out after {self.config.timeout:g}s"
                continue
            except httpx.TransportError as exc:
                last = f"connection failed ({type(exc).__name__})"
                continue
            if response.status_code in (401, 403):
                raise TeacherError(
                    "teacher_auth",
                    f"the teacher refused the request (HTTP {response.status_code}); check the API key in "
                    f"{self.config.api_key_env or ' or '.join(API_KEY_ENVS)}",
                )
            if response.status_code in RETRY_STATUS:
                last = f"HTTP {response.status_code}"
                retry_after = response.headers.get("retry-after")
                continue
            if response.status_code != 200:
                raise TeacherError("teacher_http", f"HTTP {response.status_code}: {response.text[:200]}")
            try:
                content = response.json()["choices"][0]["message"]["content"]
                if not isinstance(content, str):
                    raise TypeError("content is not a string")
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                last = f"malformed response ({type(exc).__name__}: {str(exc)[:80]})"
                continue
            self._store(request, content)
            return content
        raise TeacherError("teacher_unavailable", f"gave up after {self.config.retries + 1} attempt(s): {last}")

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        """Exponential back-off (with 10% jitter), at least the server's Retry-After seconds."""
        delay = min(self.config.backoff * 2 ** (attempt - 1), MAX_BACKOFF)
        if retry_after:
            try:
                delay = min(max(delay, float(retry_after)), MAX_BACKOFF)
            except ValueError:
                pass
        with self._lock:
            return delay * (1 + 0.1 * self._jitter.random())

    def run(self, requests: list[TeacherRequest], progress: Callable[[int], None] | None = None
            ) -> Iterator[tuple[TeacherRequest, str | None, TeacherError | None]]:  # fmt: skip
        """(request, content, error) for every request, in request order, `concurrency` at a time."""
        import httpx

        results: dict[int, tuple[str | None, TeacherError | None]] = {}
        limits = httpx.Limits(max_connections=self.config.concurrency)
        with httpx.Client(limits=limits) as http, ThreadPoolExecutor(self.config.concurrency) as pool:
            futures = {pool.submit(self.complete, r, http): i for i, r in enumerate(requests)}
            try:
                for future in as_completed(futures):
                    i = futures[future]
                    try:
                        results[i] = (future.result(), None)
                    except TeacherError as exc:
                        if exc.code == "teacher_auth":
                            raise
                        results[i] = (None, exc)
                    if progress:
                        progress(1)
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
        for i, request in enumerate(requests):
            yield request, *results[i]


def parse_items(content: str) -> list[Any]:
    """The list of conversations in a teacher reply (code fences and prose around it are ignored).

    Raises ConvertError("invalid_json") when no JSON list (or {"samples": [...]}) can be found.
    """
    text = content.strip()
    try:
        parsed: Any = json.loads(text)
    except ValueError:
        found = find_literal(text, "[")
        if found is None:
            raise ConvertError("invalid_json", f"no JSON list in the teacher reply: {text[:120]!r}") from None
        parsed = found[0]
    if isinstance(parsed, dict):
        parsed = parsed.get("samples", parsed.get("conversations", parsed.get("data", [parsed])))
    if not isinstance(parsed, list):
        raise ConvertError("invalid_json", f"the teacher reply is a JSON {type(parsed).__name__}, not a list")
    return parsed


def item_to_sample(item: Any, tools: list[dict[str, Any]], system: str) -> Sample:
    """One teacher conversation -> canonical sample (converted like an OpenAI fine-tuning record)."""
    from fc_plugin.convert import openai

    if isinstance(item, list):
        item = {"messages": item}
    if not isinstance(item, dict) or not isinstance(item.get("messages"), list):
        raise ConvertError("missing_field", "a teacher item needs a 'messages' list")
    messages = []
    for m in item["messages"]:
        if isinstance(m, dict) and m.get("role") == "system":
            continue  # the system prompt is ours
        if isinstance(m, dict) and isinstance(m.get("content"), dict | list) and m.get("role") == "tool":
            m = {**m, "content": json.dumps(m["content"], ensure_ascii=False)}
        messages.append(m)
    sample = openai.convert({"messages": [{"role": "system", "content": system}, *messages], "tools": tools})[0]
    return sample


def teacher_samples(
    tools: list[dict[str, Any]],
    requests: list[TeacherRequest],
    client: TeacherClient,
    system: dict[str, str],
    progress: Callable[[int], None] | None = None,
) -> Iterator[Sample | dict[str, Any]]:
    """Run `requests` and yield each returned conversation as a Sample, or a reject dict with its reason.

    Conversations are not validated here (the caller validates every sample the same way).
    """
    for request, content, error in client.run(requests, progress):
        if error is not None:
            yield {**request.ref(), "code": error.code, "message": str(error)}
            continue
        try:
            items = parse_items(content or "")
        except ConvertError as exc:
            yield {**request.ref(), "code": exc.code, "message": exc.message, "raw": (content or "")[:4000]}
            continue
        for k, item in enumerate(items):
            try:
                sample = item_to_sample(item, tools, system[request.lang])
            except ConvertError as exc:
                yield {**request.ref(), "item": k, "code": exc.code, "message": exc.message, "raw": item}
                continue
            sample.meta = {"source": "teacher", "model": client.config.model, "requested": request.category,
                           "lang": request.lang, "request": request.ref()["request"], "item": k}  # fmt: skip
            yield sample
