"""Deterministic mock tool results and the grounded final answers that quote them.

A result depends only on the tool, its arguments and the language, so the same call always gets the
same result. Tools whose names say what they do (weather, email, stock, meeting room, order,
logistics, calculator) get realistic results; any other tool gets a generic success result. The
final answer repeats the result's values verbatim, so it is grounded in what the tool returned.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import operator
import random
import re
from collections.abc import Callable
from typing import Any

from fc_plugin.synth import banks
from fc_plugin.synth.dates import REFERENCE_DATE
from fc_plugin.synth.utterances import Template, words

Result = dict[str, Any]
Answer = Callable[[Result, str], str]
Maker = Callable[[dict[str, Any], str, random.Random, dt.date], Result]


def _first_string(args: dict[str, Any]) -> str:
    """The first string argument (the symbol, order ID, tracking number... of a one-argument tool), else ""."""
    return next((v for v in args.values() if isinstance(v, str)), "")


def _weather(args: dict[str, Any], lang: str, rng: random.Random, today: dt.date) -> Result:
    unit = str(args.get("unit") or "celsius")
    temp = rng.randint(-5, 35)
    if unit.lower().startswith("f"):
        temp = round(temp * 9 / 5 + 32)
    return {
        "city": args.get("city") or args.get("location") or "",
        "date": args.get("date") or today.isoformat(),
        "condition": rng.choice(banks.CONDITIONS[lang]),
        "temperature": temp,
        "unit": unit,
        "humidity": rng.randint(20, 95),
    }


def _weather_answer(r: Result, lang: str) -> str:
    deg = "°F" if str(r["unit"]).lower().startswith("f") else "°C"
    if lang == "zh":
        return f"{r['city']}{r['date']}的天气：{r['condition']}，气温{r['temperature']}{deg}，湿度{r['humidity']}%。"
    return f"In {r['city']} ({r['date']}): {r['condition']}, {r['temperature']}{deg}, humidity {r['humidity']}%."


def _email(args: dict[str, Any], lang: str, rng: random.Random, today: dt.date) -> Result:
    to = next((v for k, v in args.items() if isinstance(v, str) and "@" in v), "")
    return {"status": "sent", "to": to, "message_id": f"MSG-{rng.randint(100000, 999999)}"}


def _email_answer(r: Result, lang: str) -> str:
    if lang == "zh":
        return f"邮件已发送给 {r['to']}，消息编号 {r['message_id']}。"
    return f"Your email to {r['to']} has been sent (message ID {r['message_id']})."


def _stock(args: dict[str, Any], lang: str, rng: random.Random, today: dt.date) -> Result:
    symbol = _first_string(args)
    return {
        "symbol": symbol,
        "price": round(rng.uniform(5, 900), 2),
        "currency": "USD",
        "change_percent": round(rng.uniform(-5, 5), 2),
    }


def _stock_answer(r: Result, lang: str) -> str:
    if lang == "zh":
        return f"{r['symbol']} 当前股价为 {r['price']} {r['currency']}，涨跌幅 {r['change_percent']}%。"
    return f"{r['symbol']} is trading at {r['price']} {r['currency']} ({r['change_percent']}% today)."


def _booking(args: dict[str, Any], lang: str, rng: random.Random, today: dt.date) -> Result:
    room = next((v for k, v in args.items() if "room" in k.lower() and isinstance(v, str)), rng.choice(banks.ROOMS))
    out: Result = {"status": "confirmed", "booking_id": f"BK-{rng.randint(10000, 99999)}", "room": room}
    for key in ("date", "start_time", "time", "duration"):
        if key in args:
            out[key] = args[key]
    return out


def _booking_answer(r: Result, lang: str) -> str:
    when = " ".join(str(r[k]) for k in ("date", "start_time", "time") if k in r)
    if lang == "zh":
        return f"已为您预订会议室 {r['room']}（{when}），预订号 {r['booking_id']}。"
    return f"Room {r['room']} is booked ({when}). Booking ID: {r['booking_id']}."


def _order(args: dict[str, Any], lang: str, rng: random.Random, today: dt.date) -> Result:
    order_id = _first_string(args)
    return {
        "order_id": order_id,
        "status": rng.choice(banks.ORDER_STATUSES),
        "items": rng.randint(1, 5),
        "total": round(rng.uniform(10, 2000), 2),
        "currency": "CNY",
    }


def _order_answer(r: Result, lang: str) -> str:
    if lang == "zh":
        return f"订单 {r['order_id']} 的状态是 {r['status']}，共 {r['items']} 件商品，总价 {r['total']} {r['currency']}。"
    return f"Order {r['order_id']} is {r['status']}: {r['items']} item(s), total {r['total']} {r['currency']}."


def _logistics(args: dict[str, Any], lang: str, rng: random.Random, today: dt.date) -> Result:
    ref = _first_string(args)
    eta = (today + dt.timedelta(days=rng.randint(1, 6))).isoformat()
    return {
        "reference": ref,
        "carrier": rng.choice(banks.CARRIERS),
        "status": rng.choice(banks.SHIPPING_STATUSES),
        "location": rng.choice(banks.CITIES[lang]),
        "estimated_delivery": eta,
    }


def _logistics_answer(r: Result, lang: str) -> str:
    if lang == "zh":
        return (
            f"{r['reference']} 由 {r['carrier']} 承运，当前状态：{r['status']}，位于{r['location']}，"
            f"预计 {r['estimated_delivery']} 送达。"
        )
    return (
        f"{r['reference']} is with {r['carrier']}: {r['status']}, currently in {r['location']}, "
        f"estimated delivery {r['estimated_delivery']}."
    )


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
        ast.Pow: operator.pow, ast.Mod: operator.mod, ast.FloorDiv: operator.floordiv}  # fmt: skip


def evaluate_arithmetic(expression: str) -> float | int:
    """Value of a plain arithmetic expression (+ - * / ** % // and parentheses). Raises ValueError."""
    def ev(node: ast.AST) -> float | int:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Pow) and abs(right) > 64:
                raise ValueError("exponent too large")
            return _OPS[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            value = ev(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        raise ValueError(f"not plain arithmetic: {expression!r}")

    try:
        value = ev(ast.parse(expression.replace("^", "**").replace("×", "*").replace("÷", "/"), mode="eval").body)
    except (SyntaxError, ZeroDivisionError, OverflowError, RecursionError) as exc:
        raise ValueError(f"cannot evaluate {expression!r}: {exc}") from None
    if isinstance(value, float):
        value = int(value) if value.is_integer() else round(value, 4)
    return value


def _calculator(args: dict[str, Any], lang: str, rng: random.Random, today: dt.date) -> Result:
    expression = _first_string(args)
    try:
        return {"expression": expression, "result": evaluate_arithmetic(expression)}
    except ValueError:
        return _generic("calculator", args, lang, rng)


def _calculator_answer(r: Result, lang: str) -> str:
    if "result" not in r:
        return _generic_answer("calculator")(r, lang)
    return f"{r['expression']} = {r['result']}。" if lang == "zh" else f"{r['expression']} = {r['result']}."


def _generic(tool: str, args: dict[str, Any], lang: str, rng: random.Random) -> Result:
    prefix = "".join(w[0] for w in words(tool).split()).upper()[:3] or "REQ"
    return {"status": "success", "id": f"{prefix}-{rng.randint(10000, 99999)}"}


def _generic_answer(tool: str) -> Answer:
    def answer(r: Result, lang: str) -> str:
        if lang == "zh":
            return f"已完成：{tool} 返回状态 {r['status']}，编号 {r['id']}。"
        return f"Done: {tool} returned status {r['status']} (ID {r['id']})."

    return answer


# (name pattern, result maker, answer) - the first pattern found in the tool name wins.
_DOMAINS: list[tuple[re.Pattern[str], Maker, Answer]] = [
    (re.compile(r"weather|forecast"), _weather, _weather_answer),
    (re.compile(r"mail"), _email, _email_answer),
    (re.compile(r"stock|quote|share_price"), _stock, _stock_answer),
    (re.compile(r"logistic|shipping|shipment|track|deliver|parcel|package"), _logistics, _logistics_answer),
    (re.compile(r"meeting|room|book|reserv"), _booking, _booking_answer),
    (re.compile(r"order"), _order, _order_answer),
    (re.compile(r"calc|math|arithmetic|compute"), _calculator, _calculator_answer),
]


def _domain(tool: str) -> tuple[Maker | None, Answer]:
    low = tool.lower()
    for pattern, maker, answer in _DOMAINS:
        if pattern.search(low):
            return maker, answer
    return None, _generic_answer(tool)


def mock_result(tool: str, args: dict[str, Any], lang: str, today: dt.date = REFERENCE_DATE) -> Result:
    """The deterministic result of calling `tool` with `args` (same inputs, same result)."""
    rng = random.Random(f"{tool}|{lang}|{json.dumps(args, sort_keys=True, ensure_ascii=False)}")
    maker, _ = _domain(tool)
    return maker(args, lang, rng, today) if maker else _generic(tool, args, lang, rng)


def grounded_answer(tool: str, args: dict[str, Any], result: Result, lang: str, rng: random.Random,
                    templates: list[Template] | None = None) -> str:  # fmt: skip
    """The final answer after a tool result: quotes the result's values (user templates first)."""
    if templates:
        values = {k: _text(v) for k, v in args.items()}
        values.update({f"result.{k}": _text(v) for k, v in _flatten(result).items()})
        usable = [t for t in templates if all(p in values for p in _names(t.text))]
        if usable:
            return rng.choice(usable).fill(values)
    maker, answer = _domain(tool)
    if maker is _calculator and "result" not in result or maker is None:
        return _generic_answer(tool)(result, lang)
    return answer(result, lang)


def _names(text: str) -> list[str]:
    return re.findall(r"\{([A-Za-z_][\w.-]*)\}", text)


def _flatten(obj: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in obj.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def result_json(result: Result) -> str:
    """The tool message content for a result."""
    return json.dumps(result, ensure_ascii=False)
