"""Dates for synthetic samples, resolved against a fixed reference date ("today").

Conventions (the same in both languages, stated in every sample's system prompt as "Today is ..."):
- "tomorrow" / 明天 = today + 1, "the day after tomorrow" / 后天 = today + 2, "in N days" / N天后 = today + N;
- "this Friday" / 本周五 = that weekday of the current Monday-Sunday week (only from today on);
- "next Tuesday" / 下周二 = that weekday of the following Monday-Sunday week.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

REFERENCE_DATE = dt.date(2025, 6, 4)  # a Wednesday; override with `fc-plugin synth --today`

WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAYS_ZH = ("一", "二", "三", "四", "五", "六", "日")


def today_line(today: dt.date, lang: str) -> str:
    """The sentence that grounds relative dates, for the system prompt."""
    if lang == "zh":
        return f"今天是{today.isoformat()}（星期{WEEKDAYS_ZH[today.weekday()]}）。"
    return f"Today is {today.isoformat()} ({WEEKDAYS_EN[today.weekday()]})."


@lru_cache(maxsize=64)
def relative_dates(today: dt.date, lang: str) -> tuple[tuple[str, str], ...]:
    """Every relative date expression we generate, as (surface text, ISO date) pairs."""
    out: list[tuple[str, dt.date]] = []
    monday = today - dt.timedelta(days=today.weekday())
    if lang == "zh":
        out += [("今天", today), ("明天", today + dt.timedelta(1)), ("后天", today + dt.timedelta(2))]
        out += [(f"{n}天后", today + dt.timedelta(n)) for n in (3, 4, 5)]
        out += [(f"本周{WEEKDAYS_ZH[i]}", monday + dt.timedelta(i)) for i in range(today.weekday() + 1, 7)]
        out += [(f"下周{WEEKDAYS_ZH[i]}", monday + dt.timedelta(7 + i)) for i in range(7)]
    else:
        out += [("today", today), ("tomorrow", today + dt.timedelta(1))]
        out += [("the day after tomorrow", today + dt.timedelta(2))]
        out += [(f"in {n} days", today + dt.timedelta(n)) for n in (3, 4, 5)]
        out += [(f"this {WEEKDAYS_EN[i]}", monday + dt.timedelta(i)) for i in range(today.weekday() + 1, 7)]
        out += [(f"next {WEEKDAYS_EN[i]}", monday + dt.timedelta(7 + i)) for i in range(7)]
    return tuple((surface, day.isoformat()) for surface, day in out)


def absolute_date(today: dt.date, offset_days: int) -> str:
    """ISO date `offset_days` after today."""
    return (today + dt.timedelta(days=offset_days)).isoformat()


def resolve(expression: str, today: dt.date) -> str | None:
    """ISO date of a relative expression we generate (en or zh), or None if unknown."""
    for lang in ("en", "zh"):
        for surface, iso in relative_dates(today, lang):
            if surface == expression:
                return iso
    return None
