"""Argument values for synthetic calls, drawn from a parameter's JSON Schema and the value banks.

A value is chosen from, in order: the user's bank (`"values"` in the template file), the schema's
`enum`/`const`/`examples`, a bank picked by the parameter's name and `format` (city, date, email,
stock symbol...), a string matching its `pattern`, or its type and bounds. Each value comes with its
*surface*: how the user says it. The surface is the value itself wherever possible so a model can
copy it into the call; relative dates ("next Tuesday") resolve against the reference date.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from fc_plugin.synth import banks
from fc_plugin.synth.dates import absolute_date, relative_dates

try:  # Python 3.11+
    import re._parser as _sre_parse  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse as _sre_parse  # type: ignore[no-redef]


@dataclass(frozen=True, slots=True)
class Arg:
    """One argument: the value that goes into the call and the words the user says for it."""

    value: Any
    surface: str


def _verbatim(text: str) -> Arg:
    """A value the user says exactly as it goes into the call."""
    return Arg(text, text)


@dataclass
class ValueContext:
    """What value drawing needs besides the schema: the reference date and user-supplied banks."""

    today: dt.date
    user_values: dict[str, list[Any]] = field(default_factory=dict)  # "tool.param" or "param" -> values
    relative_date_rate: float = 0.35


# Parameter name (lower case) -> kind of bank; the first match wins.
_NAME_KINDS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"e[-_]?mail|recipient|^to$|^cc$|^bcc$"), "email"),
    (re.compile(r"city|location|place|destination|origin|region"), "city"),
    (re.compile(r"datetime|date_time|timestamp"), "datetime"),
    (re.compile(r"date|day$"), "date"),
    (re.compile(r"time$|^time|hour"), "time"),
    (re.compile(r"symbol|ticker|stock"), "stock"),
    (re.compile(r"tracking|waybill|shipment"), "tracking"),
    (re.compile(r"order"), "order_id"),
    (re.compile(r"expression|formula|equation"), "expression"),
    (re.compile(r"subject|title"), "subject"),
    (re.compile(r"body|content|message|text|note"), "body"),
    (re.compile(r"query|keyword|search|topic|term"), "topic"),
    (re.compile(r"room"), "room"),
    (re.compile(r"carrier|courier"), "carrier"),
    (re.compile(r"name|person|attendee|user|contact|organizer"), "person"),
]
_FORMAT_KINDS = {
    "email": "email", "idn-email": "email", "date": "date", "date-time": "datetime", "time": "time",
    "uri": "uri", "url": "uri", "uuid": "uuid", "ipv4": "ipv4",
}  # fmt: skip


def param_kind(name: str, schema: dict[str, Any]) -> str:
    """The kind of value a string parameter holds, from its `format` or its name (default 'text')."""
    fmt = schema.get("format")
    return _kind(name, fmt if isinstance(fmt, str) else None)


@lru_cache(maxsize=4096)
def _kind(name: str, fmt: str | None) -> str:
    if fmt in _FORMAT_KINDS:
        return _FORMAT_KINDS[fmt]
    low = name.lower()
    for pattern, kind in _NAME_KINDS:
        if pattern.search(low):
            return kind
    return "text"


def schema_type(schema: dict[str, Any]) -> str | None:
    """The schema's main type (the first non-null one of a type list; inferred from enum/properties)."""
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), None)
    if t is None:
        if "properties" in schema:
            return "object"
        if "items" in schema:
            return "array"
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return _json_type(schema["enum"][0])
    return t


def _json_type(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "string"


def surface_of(value: Any) -> str:
    """The words for a plain value: strings as they are, numbers as written, JSON-ish otherwise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ", ".join(surface_of(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {surface_of(v)}" for k, v in value.items())
    if value is None:
        return "null"
    return str(value)


Drawer = Callable[[str, random.Random], Arg]


def draw(tool: str, name: str, schema: dict[str, Any], lang: str, rng: random.Random, ctx: ValueContext) -> Arg:
    """Draw one argument value (and its surface) for parameter `name` of `tool`."""
    return make_drawer(tool, name, schema, ctx)(lang, rng)


def _choice(values: list[Any]) -> Drawer:
    def pick(lang: str, rng: random.Random) -> Arg:
        value = rng.choice(values)
        return Arg(value, surface_of(value))

    return pick


def make_drawer(tool: str, name: str, schema: dict[str, Any], ctx: ValueContext) -> Drawer:
    """A function `(lang, rng) -> Arg` for parameter `name` of `tool`: the dispatch of `draw`, done once."""
    user = ctx.user_values.get(f"{tool}.{name}") or ctx.user_values.get(name)
    if user:
        return _choice(list(user))
    if "const" in schema:
        const = Arg(schema["const"], surface_of(schema["const"]))
        return lambda lang, rng: const
    for key in ("enum", "examples"):
        values = schema.get(key)
        if isinstance(values, list) and values:
            return _choice(values)
    kind_type = schema_type(schema)
    if kind_type in ("integer", "number"):
        return lambda lang, rng: _number(name, schema, kind_type, rng)
    if kind_type == "boolean":
        return _choice([True, False])
    if kind_type == "array":
        return lambda lang, rng: _array(tool, name, schema, lang, rng, ctx)
    if kind_type == "object":
        return lambda lang, rng: _object(tool, schema, lang, rng, ctx)
    maker = _STRING_KINDS.get(param_kind(name, schema), _text)
    if not any(k in schema for k in ("pattern", "minLength", "maxLength")):
        return lambda lang, rng: maker(name, lang, rng, ctx)
    return lambda lang, rng: _string(name, schema, lang, rng, ctx)


def bank_key(tool: str, name: str, schema: dict[str, Any], ctx: ValueContext) -> tuple[Any, ...] | None:
    """What a string parameter's values are drawn from (its user bank, enum/examples or named bank), so
    parameters of one call that share it can be given distinct values (no `convert_currency` from JPY to JPY);
    None for constants, numbers, booleans, arrays and objects (equal values there are ordinary)."""
    user = ctx.user_values.get(f"{tool}.{name}") or ctx.user_values.get(name)
    if user:
        return ("values", *map(repr, user))
    if "const" in schema:
        return None
    for key in ("enum", "examples"):
        values = schema.get(key)
        if isinstance(values, list) and values:
            return ("values", *map(repr, values))
    if schema_type(schema) not in (None, "string"):
        return None
    return ("kind", param_kind(name, schema))


def _bounds(schema: dict[str, Any]) -> tuple[float | None, bool, float | None, bool]:
    """(low, low exclusive, high, high exclusive) from draft-4 (boolean) or draft-6+ (number) keywords."""
    lo, hi = schema.get("minimum"), schema.get("maximum")
    lo_x, hi_x = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    lo_excl = lo_x is True or (isinstance(lo_x, int | float) and not isinstance(lo_x, bool))
    hi_excl = hi_x is True or (isinstance(hi_x, int | float) and not isinstance(hi_x, bool))
    if lo_excl and not isinstance(lo_x, bool):
        lo = lo_x
    if hi_excl and not isinstance(hi_x, bool):
        hi = hi_x
    return lo, lo_excl, hi, hi_excl


def _number(name: str, schema: dict[str, Any], kind_type: str, rng: random.Random) -> Arg:
    lo, lo_excl, hi, hi_excl = _bounds(schema)
    value: int | float
    if kind_type == "integer":
        low = "duration" in name.lower() or "minute" in name.lower()
        if lo is None and hi is None and low:
            value = rng.choice((15, 30, 45, 60, 90, 120))
            return Arg(value, surface_of(value))
        lo_i = 1 if lo is None else math.floor(lo) + 1 if lo_excl or lo != math.floor(lo) else int(lo)
        hi_i = max(lo_i + 99, 100) if hi is None else math.ceil(hi) - 1 if hi_excl or hi != math.ceil(hi) else int(hi)
        step = schema.get("multipleOf")
        if isinstance(step, int) and step > 1:
            k_lo, k_hi = -(-lo_i // step), hi_i // step
            value = step * rng.randint(k_lo, max(k_lo, k_hi))
        else:
            value = rng.randint(lo_i, max(lo_i, hi_i))
    else:
        lo_f = 1.0 if lo is None else float(lo)
        hi_f = max(lo_f + 999.0, 1000.0) if hi is None else float(hi)
        value = round(rng.uniform(lo_f, hi_f), 2)
        if value <= lo_f and (lo_excl or value < lo_f) or value >= hi_f and (hi_excl or value > hi_f):
            value = (lo_f + hi_f) / 2
    return Arg(value, surface_of(value))


def _array(tool: str, name: str, schema: dict[str, Any], lang: str, rng: random.Random, ctx: ValueContext) -> Arg:
    items = schema.get("items") if isinstance(schema.get("items"), dict) else {"type": "string"}
    lo = int(schema.get("minItems", 1))
    hi = int(schema.get("maxItems", max(lo, 3)))
    count = rng.randint(lo, max(lo, min(hi, lo + 2)))
    singular = name[:-1] if name.endswith("s") else name
    values: list[Any] = []
    surfaces: list[str] = []
    for _ in range(count * 4):
        if len(values) == count:
            break
        arg = draw(tool, singular, items, lang, rng, ctx)
        if arg.value not in values:  # distinct items read better and satisfy uniqueItems
            values.append(arg.value)
            surfaces.append(arg.surface)
    joiner = "、" if lang == "zh" else ", "
    return Arg(values, joiner.join(surfaces))


def _object(tool: str, schema: dict[str, Any], lang: str, rng: random.Random, ctx: ValueContext) -> Arg:
    props = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    value: dict[str, Any] = {}
    parts: list[str] = []
    for key, sub in props.items():
        if key in required or rng.random() < 0.5:
            arg = draw(tool, key, sub if isinstance(sub, dict) else {}, lang, rng, ctx)
            value[key] = arg.value
            parts.append(f"{key}: {arg.surface}")
    return Arg(value, ("，" if lang == "zh" else ", ").join(parts))


def _string(name: str, schema: dict[str, Any], lang: str, rng: random.Random, ctx: ValueContext) -> Arg:
    kind = param_kind(name, schema)
    maker = _STRING_KINDS.get(kind, _text)
    pattern = schema.get("pattern")
    lo, hi = int(schema.get("minLength", 0)), schema.get("maxLength")
    for _ in range(8):
        arg = maker(name, lang, rng, ctx)
        text = arg.value
        if (not pattern or re.search(pattern, text)) and len(text) >= lo and (hi is None or len(text) <= int(hi)):
            return arg
    if pattern:
        return _verbatim(sample_pattern(pattern, rng))
    return _verbatim(("x" * lo) if hi is None else ("x" * min(max(lo, 1), int(hi))))


def _city(name: str, lang: str, rng: random.Random, ctx: ValueContext) -> Arg:
    return _verbatim(rng.choice(banks.CITIES[lang]))


def _email(name: str, lang: str, rng: random.Random, ctx: ValueContext) -> Arg:
    return _verbatim(f"{rng.choice(banks.FIRST_NAMES)}@{rng.choice(banks.EMAIL_DOMAINS)}")


def _date(name: str, lang: str, rng: random.Random, ctx: ValueContext) -> Arg:
    if rng.random() < ctx.relative_date_rate:
        surface, iso = rng.choice(relative_dates(ctx.today, lang))
        return Arg(iso, surface)
    return _verbatim(absolute_date(ctx.today, rng.randint(0, 60)))


def _time(name: str, lang: str, rng: random.Random, ctx: ValueContext) -> Arg:
    return _verbatim(f"{rng.randint(8, 18):02d}:{rng.choice((0, 15, 30, 45)):02d}")


def _datetime(name: str, lang: str, rng: random.Random, ctx: ValueContext) -> Arg:
    return _verbatim(f"{absolute_date(ctx.today, rng.randint(0, 30))}T{_time(name, lang, rng, ctx).value}:00")


def _stock(name: str, lang: str, rng: random.Random, ctx: ValueContext) -> Arg:
    symbol, en, zh = rng.choice(banks.STOCKS)
    company = zh if lang == "zh" else en
    if company == symbol or rng.random() < 0.5:
        return _verbatim(symbol)
    return Arg(symbol, f"{company}（{symbol}）" if lang == "zh" else f"{company} ({symbol})")


def _order_id(name: str, lang: str, rng: random.Random, ctx: ValueContext) -> Arg:
    return _verbatim(f"ORD{rng.randint(10000, 99999)}")


def _tracking(name: str, lang: str, rng: random.Random, ctx: ValueContext) -> Arg:
    return _verbatim(f"SF{rng.randint(10**11, 10**12 - 1)}")


def _expression(name: str, lang: str, rng: random.Random, ctx: ValueContext) -> Arg:
    a, b, c = rng.randint(2, 99), rng.randint(2, 99), rng.randint(2, 20)
    return _verbatim(rng.choice((f"{a} + {b}", f"{a} * {b}", f"{a} - {b}", f"({a} + {b}) * {c}", f"{a} * {b} / {c}", f"{a * c} / {c}")))


def _pick(bank: dict[str, tuple[str, ...]] | tuple[str, ...]) -> Callable[[str, str, random.Random, ValueContext], Arg]:
    def maker(name: str, lang: str, rng: random.Random, ctx: ValueContext) -> Arg:
        return _verbatim(rng.choice(bank[lang] if isinstance(bank, dict) else bank))

    return maker


def _uri(name: str, lang: str, rng: random.Random, ctx: ValueContext) -> Arg:
    return _verbatim(f"https://{rng.choice(banks.EMAIL_DOMAINS)}/{rng.choice(('docs', 'files', 'api', 'page'))}/{rng.randint(1, 999)}")


def _uuid(name: str, lang: str, rng: random.Random, ctx: ValueContext) -> Arg:
    h = f"{rng.getrandbits(128):032x}"
    return _verbatim(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}")


def _ipv4(name: str, lang: str, rng: random.Random, ctx: ValueContext) -> Arg:
    return _verbatim(f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}")


def _text(name: str, lang: str, rng: random.Random, ctx: ValueContext) -> Arg:
    if name.lower().endswith("id") or name.lower().endswith("_id"):
        return _verbatim(f"{name[:3].upper()}{rng.randint(1000, 9999)}")
    return _pick(banks.TOPICS)(name, lang, rng, ctx)


_STRING_KINDS: dict[str, Callable[[str, str, random.Random, ValueContext], Arg]] = {
    "city": _city, "email": _email, "date": _date, "time": _time, "datetime": _datetime,
    "stock": _stock, "order_id": _order_id, "tracking": _tracking, "expression": _expression,
    "subject": _pick(banks.SUBJECTS), "body": _pick(banks.BODIES), "topic": _pick(banks.TOPICS),
    "room": _pick(banks.ROOMS), "carrier": _pick(banks.CARRIERS), "person": _pick(banks.PEOPLE),
    "uri": _uri, "uuid": _uuid, "ipv4": _ipv4, "text": _text,
}  # fmt: skip

_CATEGORY_CHARS = {
    "CATEGORY_DIGIT": "0123456789",
    "CATEGORY_WORD": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_DIGIT": "abcdefghXYZ",
    "CATEGORY_NOT_WORD": "-.",
    "CATEGORY_NOT_SPACE": "abcdef0123",
}


def sample_pattern(pattern: str, rng: random.Random) -> str:
    """A random string matching the regular expression `pattern` (unbounded repeats capped at 4).

    Raises ValueError for constructs it cannot sample (lookarounds, backreferences).
    """
    try:
        parsed = _sre_parse.parse(pattern)
    except re.error as exc:
        raise ValueError(f"invalid pattern {pattern!r}: {exc}") from None
    out: list[str] = []
    _emit(parsed, rng, out, pattern)
    return "".join(out)


def _emit(items: Any, rng: random.Random, out: list[str], pattern: str) -> None:
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "ANY":
            out.append(rng.choice("abcxyz0123"))
        elif name == "IN":
            out.append(_pick_in(arg, rng, pattern))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            lo, hi, sub = arg
            hi = lo + 4 if hi == _sre_parse.MAXREPEAT else hi
            for _ in range(rng.randint(lo, max(lo, min(hi, lo + 4)))):
                _emit(sub, rng, out, pattern)
        elif name == "SUBPATTERN":
            _emit(arg[-1], rng, out, pattern)
        elif name == "BRANCH":
            _emit(rng.choice(arg[1]), rng, out, pattern)
        elif name == "AT":
            continue
        else:
            raise ValueError(f"cannot generate a value for pattern {pattern!r} (uses {name})")


def _pick_in(arg: list[tuple[Any, Any]], rng: random.Random, pattern: str) -> str:
    if arg and str(arg[0][0]) == "NEGATE":
        excluded = re.compile(f"[{_class_text(arg[1:])}]")
        allowed = [c for c in "abcdefghijklmnopqrstuvwxyz0123456789-_" if not excluded.fullmatch(c)]
        return rng.choice(allowed or ["~"])
    choices: list[str] = []
    for op, value in arg:
        name = str(op)
        if name == "LITERAL":
            choices.append(chr(value))
        elif name == "RANGE":
            choices.extend(chr(c) for c in range(value[0], min(value[1], value[0] + 60) + 1))
        elif name == "CATEGORY":
            choices.extend(_CATEGORY_CHARS.get(str(value), "a"))
    return rng.choice(choices or ["a"])


def _class_text(arg: list[tuple[Any, Any]]) -> str:
    parts = []
    for op, value in arg:
        name = str(op)
        if name == "LITERAL":
            parts.append(re.escape(chr(value)))
        elif name == "RANGE":
            parts.append(f"{re.escape(chr(value[0]))}-{re.escape(chr(value[1]))}")
        elif name == "CATEGORY":
            parts.append({"CATEGORY_DIGIT": r"\d", "CATEGORY_WORD": r"\w", "CATEGORY_SPACE": r"\s"}.get(str(value), ""))
    return "".join(parts)
