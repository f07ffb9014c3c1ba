"""What people say: request utterances, slot-filling questions, follow-ups, thoughts and refusals (en + zh).

Request templates are auto-derived from each tool's name, description and parameter names; a user
template file (`fc-plugin synth --templates FILE`) overrides them per tool and language:

    {
      "tools": {
        "get_weather": {
          "en": {"requests": ["What's the weather in {city}?", "Weather in {city} {date}, in {unit}"],
                 "action": "check the weather",
                 "ask": {"city": ["Which city?"]},
                 "answers": ["It is {result.temperature} degrees and {result.condition} in {city}."]},
          "zh": ["{city}天气怎么样？"]
        }
      },
      "values": {"city": ["Lisbon", "Porto"], "get_weather.unit": ["celsius"]}
    }

A language entry may be a plain list (= "requests"). `{param}` placeholders are filled with the
argument's words; a request template sets exactly the parameters it names, so a template that
leaves out a required parameter is used for slot filling (the assistant then asks for it).
Answer templates may also use `{result.FIELD}` from the mock tool result.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fc_plugin.synth.values import Arg, param_kind, schema_type

LANGS = ("en", "zh")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w-]*(?:\.[\w-]+)*)\}")
_CJK = re.compile(r"[\u3400-\u9fff]")
_VERBS = {
    "get", "send", "search", "book", "query", "find", "create", "update", "delete", "list", "check", "set",
    "add", "remove", "cancel", "schedule", "calculate", "convert", "translate", "fetch", "lookup", "look",
    "play", "open", "close", "turn", "call", "order", "buy", "sell", "reserve", "compute", "generate",
    "make", "start", "stop", "track", "show", "read", "write", "post", "upload", "download", "submit",
    "evaluate", "estimate", "recommend", "retrieve", "register", "pay", "transfer", "rename", "move",
}  # fmt: skip

# Kinds with a natural English phrase ({v} = the user's words for the value).
_EN_KIND_PHRASES = {
    "city": "in {v}", "date": "on {v}", "time": "at {v}", "datetime": "at {v}", "order_id": "for order {v}",
    "tracking": "for tracking number {v}", "stock": "for {v}", "expression": "for {v}",
    "subject": 'with the subject "{v}"', "body": 'saying "{v}"', "topic": 'about "{v}"', "room": "in room {v}",
}  # fmt: skip
_ZH_KIND_LABELS = {
    "city": "城市", "date": "日期", "time": "时间", "datetime": "时间", "email": "邮箱", "order_id": "订单号",
    "tracking": "运单号", "stock": "股票", "expression": "算式", "subject": "主题", "body": "内容",
    "topic": "关键词", "room": "会议室", "carrier": "快递公司", "person": "联系人",
}  # fmt: skip
_EN_KIND_LABELS = {
    "city": "city", "date": "date", "time": "time", "datetime": "time", "email": "email address",
    "order_id": "order number", "tracking": "tracking number", "stock": "stock symbol", "expression": "expression",
    "subject": "subject", "body": "message", "room": "room", "carrier": "carrier",
}  # fmt: skip
_RELATIVE_HINT = re.compile(r"^(today|tomorrow|the day|in \d|this |next )|天|周")


@dataclass(frozen=True)
class Template:
    """A text with `{name}` placeholders."""

    text: str
    params: frozenset[str]
    parts: tuple[str, ...]  # literal, name, literal, name, ..., literal

    @classmethod
    def parse(cls, text: str) -> Template:
        parts = tuple(_PLACEHOLDER.split(text))
        return cls(text, frozenset(p for p in parts[1::2] if not p.startswith("result.")), parts)

    def fill(self, values: dict[str, str]) -> str:
        """The text with each known placeholder replaced (unknown ones are kept as `{name}`)."""
        out = list(self.parts)
        for i in range(1, len(out), 2):
            name = out[i]
            out[i] = values[name] if name in values else "{" + name + "}"
        return "".join(out)


@dataclass
class ToolText:
    """One tool's text in one language: request templates (user file), action phrase, asks, answers."""

    requests: list[Template] = field(default_factory=list)
    action: str = ""
    ask: dict[str, list[str]] = field(default_factory=dict)
    answers: list[Template] = field(default_factory=list)


def words(name: str) -> str:
    """`get_weather` / `getWeather` -> `get weather`."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return re.sub(r"[_\-.\s]+", " ", name).strip().lower()


def read_json_file(path: Path, what: str) -> Any:
    """The JSON in `path`; ValueError naming the file when it cannot be read or parsed."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read {what}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from None


def load_templates(path: str | Path, tools: list[dict[str, Any]]) -> dict[str, Any]:
    """Read and check a user template file; raises ValueError naming the file, tool and template."""
    path = Path(path)
    data = read_json_file(path, "template file")
    if not isinstance(data, dict) or not set(data) <= {"tools", "values"}:
        raise ValueError(f'{path}: expected an object with "tools" and/or "values", got {_keys(data)}')
    by_name = {t["name"]: t for t in tools}
    tool_entries = data.get("tools") or {}
    if not isinstance(tool_entries, dict):
        raise ValueError(f'{path}: "tools" must map tool names to templates')
    for name, entry in tool_entries.items():
        if name not in by_name:
            raise ValueError(f"{path}: templates for unknown tool {name!r} (tools: {', '.join(by_name)})")
        params = set((by_name[name].get("parameters") or {}).get("properties") or {})
        if not isinstance(entry, dict):
            raise ValueError(f"{path}: tool {name!r}: expected an object of languages")
        for lang, spec in entry.items():
            if lang not in LANGS:
                raise ValueError(f"{path}: tool {name!r}: unsupported language {lang!r} (use {', '.join(LANGS)})")
            spec = {"requests": spec} if isinstance(spec, list) else spec
            if not isinstance(spec, dict):
                raise ValueError(f"{path}: tool {name!r} {lang}: expected a list of requests or an object")
            for key in ("requests", "answers"):
                for text in spec.get(key) or []:
                    if not isinstance(text, str):
                        raise ValueError(f"{path}: tool {name!r} {lang} {key}: {text!r} is not a string")
                    unknown = Template.parse(text).params - params
                    if unknown:
                        raise ValueError(
                            f"{path}: tool {name!r} {lang} template {text!r} names unknown parameter(s) "
                            f"{', '.join(sorted(unknown))} (parameters: {', '.join(sorted(params)) or 'none'})"
                        )
            for param in spec.get("ask") or {}:
                if param not in params:
                    raise ValueError(f"{path}: tool {name!r} {lang} ask: unknown parameter {param!r}")
    values = data.get("values") or {}
    if not isinstance(values, dict) or not all(isinstance(v, list) and v for v in values.values()):
        raise ValueError(f'{path}: "values" must map "param" or "tool.param" to non-empty lists')
    return data


def _keys(data: Any) -> str:
    return ", ".join(sorted(data)) if isinstance(data, dict) else type(data).__name__


class Phrasebook:
    """All the words of a synthetic dataset for a set of tools (auto-derived + user overrides)."""

    def __init__(self, tools: list[dict[str, Any]], user: dict[str, Any] | None = None) -> None:
        self.tools = {t["name"]: t for t in tools}
        self.text: dict[tuple[str, str], ToolText] = {}
        self._unique_kinds: dict[str, set[str]] = {}  # tool -> value kinds held by exactly one parameter
        self._required: dict[str, list[str]] = {}
        self._candidates: dict[tuple[str, str, str | None], list[tuple[Template, list[str]]]] = {}
        user_tools = (user or {}).get("tools") or {}
        for name, tool in self.tools.items():
            props = (tool.get("parameters") or {}).get("properties") or {}
            kinds = [self.kind(name, p) for p in props]
            for lang in LANGS:
                spec = user_tools.get(name, {}).get(lang) or {}
                spec = {"requests": spec} if isinstance(spec, list) else spec
                self.text[name, lang] = ToolText(
                    requests=[Template.parse(t) for t in spec.get("requests") or []],
                    action=spec.get("action") or self._auto_action(tool, lang),
                    ask={p: list(v) for p, v in (spec.get("ask") or {}).items()},
                    answers=[Template.parse(t) for t in spec.get("answers") or []],
                )
            self._unique_kinds[name] = {k for k in kinds if k and kinds.count(k) == 1}

    # ---- tool facts -------------------------------------------------------------------------
    def properties(self, tool: str) -> dict[str, Any]:
        """The tool's parameter schemas by name."""
        return (self.tools[tool].get("parameters") or {}).get("properties") or {}

    def required(self, tool: str) -> list[str]:
        """The tool's required parameters (those that exist in its properties)."""
        if tool not in self._required:
            props = self.properties(tool)
            self._required[tool] = [p for p in (self.tools[tool].get("parameters") or {}).get("required") or [] if p in props]
        return self._required[tool]

    def kind(self, tool: str, param: str) -> str | None:
        schema = self.properties(tool).get(param) or {}
        if schema_type(schema) not in (None, "string") or "enum" in schema:
            return None
        return param_kind(param, schema)

    def action(self, tool: str, lang: str) -> str:
        return self.text[tool, lang].action

    def _auto_action(self, tool: dict[str, Any], lang: str) -> str:
        description = (tool.get("description") or "").strip()
        first = re.split(r"(?<=[.!?。！？])\s*", description, maxsplit=1)[0].rstrip(".。!！?？ ")
        if lang == "zh":
            return first if _CJK.search(first) and len(first) <= 30 else f"使用 {tool['name']} 工具"
        name_words = words(tool["name"])
        if first and not _CJK.search(first) and first.split()[0].lower() in _VERBS and len(first) <= 80:
            return first[0].lower() + first[1:]
        return name_words if name_words.split()[0] in _VERBS else f"use {name_words}"

    def label(self, tool: str, param: str, lang: str) -> str:
        """How people name a parameter: its kind ("城市", "email address"), a short description, or its name."""
        kind = self.kind(tool, param)
        description = (self.properties(tool).get(param) or {}).get("description") or ""
        short = re.split(r"[，,。；;（(:：]|e\.g\.", description)[0].strip()
        unique = kind in self._unique_kinds[tool]
        if lang == "zh":
            if _CJK.search(short) and len(short) <= 8:
                return short
            if unique and kind in _ZH_KIND_LABELS:
                return _ZH_KIND_LABELS[kind]
            return words(param)
        if unique and kind in _EN_KIND_LABELS:
            return _EN_KIND_LABELS[kind]
        if short and not _CJK.search(short) and len(short.split()) <= 3:
            return short[0].lower() + short[1:]
        return words(param)

    # ---- requests ---------------------------------------------------------------------------
    def choose_params(self, tool: str, lang: str, rng: random.Random, missing: str | None = None) -> tuple[Template | None, list[str]]:
        """Pick a request template (None = auto-composed) and the parameters the user will state.

        With `missing`, the request leaves out that required parameter (slot filling).
        """
        required = self.required(tool)
        props = list(self.properties(tool))
        need = set(required) - ({missing} if missing else set())
        key = (tool, lang, missing)
        if key not in self._candidates:
            self._candidates[key] = [
                (t, [p for p in props if p in t.params])
                for t in self.text[tool, lang].requests
                if need <= t.params and (missing is None or missing not in t.params)
            ]
        if self._candidates[key]:
            return rng.choice(self._candidates[key])
        optional = [p for p in props if p not in required and p != missing]
        chosen = {p for p in optional if rng.random() < 0.35}
        return None, [p for p in props if p in need or p in chosen]

    def request(self, tool: str, template: Template | None, args: dict[str, Arg], lang: str, rng: random.Random) -> str:
        """The user's request stating `args` (with `template`, or auto-composed from the schema)."""
        if template is not None:
            return template.fill({k: a.surface for k, a in args.items()})
        action = self.action(tool, lang)
        phrases = self.phrases(tool, args, lang)
        if lang == "zh":
            frame = rng.choice(("帮我{a}，{p}。", "请{a}：{p}。", "我想{a}，{p}。", "麻烦{a}，{p}。", "{a}，{p}。"))
            if not phrases:
                return rng.choice(("帮我{a}。", "请{a}。", "我想{a}。")).format(a=action)
            return re.sub(r"([。！？?!])[。？]$", r"\1", frame.format(a=action, p="，".join(phrases)))
        frame = rng.choice(("Please {a}{p}.", "Can you {a}{p}?", "I need to {a}{p}.", "I'd like to {a}{p}.",
                            "Could you {a}{p}, please?", "{A}{p}."))  # fmt: skip
        tail = (" " + " ".join(phrases)) if phrases else ""
        return frame.format(a=action, A=action[0].upper() + action[1:], p=tail)

    def phrases(self, tool: str, args: dict[str, Arg], lang: str) -> list[str]:
        """One phrase per argument: natural ones for known kinds, `with <name> <value>` otherwise."""
        unique = self._unique_kinds[tool]
        out: list[str] = []
        generic: list[str] = []
        for param, arg in args.items():
            kind = self.kind(tool, param)
            if lang == "zh":
                out.append(f"{self.label(tool, param, lang)}：{arg.surface}")
            elif kind == "date" and _RELATIVE_HINT.search(arg.surface) and kind in unique:
                out.append(arg.surface)
            elif kind == "email" and kind in unique and re.search(r"^(to|recipient|email)", param.lower()):
                out.append(f"to {arg.surface}")
            elif kind in _EN_KIND_PHRASES and kind in unique:
                out.append(_EN_KIND_PHRASES[kind].format(v=arg.surface))
            else:
                generic.append(f"{words(param)} {arg.surface}")
        if generic:
            joined = generic[0] if len(generic) == 1 else ", ".join(generic[:-1]) + " and " + generic[-1]
            out.append("with " + joined)
        return out

    # ---- slot filling, follow-ups -----------------------------------------------------------
    def ask(self, tool: str, param: str, lang: str, rng: random.Random) -> str:
        """The assistant's question for a missing required parameter."""
        user = self.text[tool, lang].ask.get(param)
        if user:
            return rng.choice(user)
        label, action = self.label(tool, param, lang), self.action(tool, lang)
        if lang == "zh":
            return rng.choice((f"好的，请问{label}是什么？", f"可以，我需要知道{label}，请告诉我。", f"请提供{label}，我好帮您{action}。"))
        return rng.choice((f"Sure, which {label} should I use?", f"I can {action} for you. What {label} would you like?",
                           f"Could you tell me the {label}?"))  # fmt: skip

    def slot_answer(self, tool: str, param: str, arg: Arg, lang: str, rng: random.Random) -> str:
        """The user's reply that supplies the missing parameter."""
        if lang == "zh":
            return rng.choice(("{v}", "{v}。", "是{v}。", "用{v}。")).format(v=arg.surface)
        return rng.choice(("{v}", "{v}.", "It's {v}.", "Use {v}.", "{v}, please.")).format(v=arg.surface)

    def follow_up(self, arg: Arg, lang: str, rng: random.Random) -> str:
        """The user's follow-up that keeps the intent and changes one argument ("And Shanghai?")."""
        if lang == "zh":
            return rng.choice(("那{v}呢？", "换成{v}呢？", "{v}的呢？", "再查一下{v}的。")).format(v=arg.surface)
        return rng.choice(("And {v}?", "What about {v}?", "How about {v}?", "Now the same for {v}.")).format(v=arg.surface)

    # ---- thoughts -----------------------------------------------------------------------------
    def thought(self, calls: list[tuple[str, dict[str, Arg]]], lang: str) -> str:
        """A short reasoning line before the call(s): intent, tool, arguments, resolved dates."""
        notes = [
            (f"{a.surface}是{a.value}" if lang == "zh" else f"{a.surface} is {a.value}")
            for _, args in calls
            for a in args.values()
            if isinstance(a.value, str) and _RELATIVE_HINT.search(a.surface) and re.fullmatch(r"\d{4}-\d\d-\d\d", a.value)
        ]
        parts = []
        for tool, args in calls:
            summary = ", ".join(f"{k}={json.dumps(a.value, ensure_ascii=False)}" for k, a in args.items())
            if lang == "zh":
                parts.append(f"用户想{self.action(tool, lang)}，我需要调用 {tool}，参数是 {summary or '无'}。")
            else:
                parts.append(f"The user wants to {self.action(tool, lang)}, so I will call {tool} with {summary or 'no arguments'}.")
        if len(calls) > 1:
            parts.insert(0, "这些请求互不依赖，可以并行调用。" if lang == "zh" else "These requests are independent, so I will call them in parallel.")
        if notes:
            parts.insert(0, ("；".join(notes) + "。") if lang == "zh" else ("; ".join(notes) + "."))
        return ("" if lang == "zh" else " ").join(parts)

    # ---- no-call replies ------------------------------------------------------------------------
    def capabilities(self, tools: list[str], lang: str) -> str:
        actions = [self.action(t, lang) for t in tools]
        if lang == "zh":
            listed = "、".join(actions[:-1]) + ("和" if len(actions) > 1 else "") + actions[-1]
            return f"我可以帮您{listed}。请告诉我您需要什么。"
        listed = ", ".join(actions[:-1]) + (" and " if len(actions) > 1 else "") + actions[-1]
        return f"I can help you {listed}. Just tell me what you need."

    def needs(self, tool: str, lang: str) -> tuple[str, str]:
        """(question, answer) about what a tool needs: a near-miss that must not call it."""
        action = self.action(tool, lang)
        req = [self.label(tool, p, lang) for p in self.required(tool)]
        opt = [self.label(tool, p, lang) for p in self.properties(tool) if p not in self.required(tool)]
        if lang == "zh":
            answer = f"要{action}，需要提供：{'、'.join(req) or '无必填信息'}"
            answer += f"；可选：{'、'.join(opt)}。" if opt else "。"
            return f"要{action}的话，你需要我提供哪些信息？", answer
        answer = f"To {action}, I need: {', '.join(req) or 'nothing required'}"
        answer += f"; optionally: {', '.join(opt)}." if opt else "."
        return f"What information do you need from me to {action}?", answer
