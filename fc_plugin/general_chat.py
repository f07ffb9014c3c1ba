"""A small general-chat dataset (no tools) made offline, to mix with function-call data.

Seed 001/003: training on tool calls alone makes a model call tools for everything and forget
how to chat; recipes mix general chat : function-call data at about 2:1 or 3:1. The hub sets
(alpaca_gpt4_en, ultrachat_200k, ... in dataset_info.json) need network access; this module
makes a deterministic stand-in from a seed: arithmetic, unit conversion, dates, word and list
tasks, some opened with small talk, in English and Chinese, single- and multi-turn, every answer
computed, never made up. Rows are ShareGPT without tools:
`{"conversations": [{"from": "human"|"gpt", "value"}], "system": ""}`.

    python -m fc_plugin.general_chat            # rewrites data/general_chat_{en,zh}.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fc_plugin.io import atomic_write_json, merge_dataset_info

LANGS = ("en", "zh")
DEFAULT_ROWS = 1000

# dataset_info.json entry for a general-chat file (ShareGPT, default from/value/human/gpt tags, no tools column)
GENERAL_CHAT_ENTRY: dict[str, Any] = {
    "formatting": "sharegpt",
    "columns": {"messages": "conversations", "system": "system"},
}

# Real general-chat sets on the Hugging Face hub, registered exactly as LLaMA-Factory's own
# data/dataset_info.json registers them (formatting, columns, tags, split).
HUB_ENTRIES: dict[str, dict[str, Any]] = {
    "alpaca_gpt4_en": {"hf_hub_url": "llamafactory/alpaca_gpt4_en", "ms_hub_url": "llamafactory/alpaca_gpt4_en"},
    "alpaca_gpt4_zh": {"hf_hub_url": "llamafactory/alpaca_gpt4_zh", "ms_hub_url": "llamafactory/alpaca_gpt4_zh"},
    "ultrachat_200k": {
        "hf_hub_url": "HuggingFaceH4/ultrachat_200k",
        "ms_hub_url": "AI-ModelScope/ultrachat_200k",
        "split": "train_sft",
        "formatting": "sharegpt",
        "columns": {"messages": "messages"},
        "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"},
    },
    "slimorca": {"hf_hub_url": "Open-Orca/SlimOrca", "formatting": "sharegpt"},
    "lima": {"hf_hub_url": "llamafactory/lima", "formatting": "sharegpt"},
}

Turn = tuple[str, str]  # (question, answer)

_WORDS_EN = ["banana", "keyboard", "river", "mountain", "elephant", "library", "window", "orange", "planet",
             "garden", "science", "pencil", "journey", "thunder", "blanket", "village", "kitchen", "harbor"]  # fmt: skip
_WORDS_ZH = ["苹果", "图书馆", "长城", "自行车", "月亮", "咖啡", "火车站", "西瓜", "大熊猫", "电脑", "春天", "音乐"]
_NAMES = ["Alice", "Bob", "Chen", "Dana", "Emil", "Fatima", "Hiro", "Ines", "Jonas", "Li Wei", "Maya", "Omar"]
_WEEKDAYS_EN = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_WEEKDAYS_ZH = ["星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"]
_CHITCHAT_EN: list[Turn] = [
    ("Hi!", "Hello! How can I help you today?"),
    ("Good morning.", "Good morning! What would you like to talk about?"),
    ("Thanks, that was helpful.", "You're welcome! Let me know if there is anything else."),
    ("Can you tell me a fun fact?", "Sure: octopuses have three hearts and blue blood."),
    ("What can you do?", "I can answer questions, explain ideas, do quick calculations and help with writing."),
    ("Tell me a short joke.", "Why did the scarecrow win an award? Because he was outstanding in his field."),
    ("How are you?", "I'm doing well, thank you for asking. How can I help?"),
    ("Goodbye!", "Goodbye, have a great day!"),
]
_CHITCHAT_ZH: list[Turn] = [
    ("你好!", "你好!有什么可以帮你的吗?"),
    ("早上好。", "早上好!今天想聊点什么?"),
    ("谢谢你的帮助。", "不客气!还有其他问题随时问我。"),
    ("讲一个有趣的知识吧。", "好的:章鱼有三颗心脏,血液是蓝色的。"),
    ("你能做什么?", "我可以回答问题、解释概念、做简单计算,也可以帮你写作。"),
    ("讲个笑话吧。", "为什么数学书总是很忧郁?因为它有太多的问题。"),
    ("你最近好吗?", "我很好,谢谢关心!有什么可以帮你?"),
    ("再见!", "再见,祝你今天愉快!"),
]


def _num(x: float) -> str:
    """A number without a useless trailing `.0`, rounded to two decimals."""
    x = round(x, 2)
    return str(int(x)) if x == int(x) else f"{x:.2f}".rstrip("0")


def _arithmetic(rng: random.Random, lang: str) -> list[Turn]:
    a, b = rng.randint(2, 999), rng.randint(2, 99)
    op = rng.choice("+-*")
    value = {"+": a + b, "-": a - b, "*": a * b}[op]
    shown = {"+": "+", "-": "-", "*": "×"}[op]
    k = rng.randint(2, 9)
    if lang == "zh":
        return [(f"{a} {shown} {b} 等于多少?", f"{a} {shown} {b} = {value}。"),
                (f"再乘以 {k} 呢?", f"{value} × {k} = {value * k}。")]  # fmt: skip
    return [(f"What is {a} {shown} {b}?", f"{a} {shown} {b} = {value}."),
            (f"And if I multiply that by {k}?", f"{value} × {k} = {value * k}.")]  # fmt: skip


def _conversion(rng: random.Random, lang: str) -> list[Turn]:
    kind = rng.choice(["km", "c", "kg"])
    v = rng.randint(1, 200)
    if kind == "km":
        out = _num(v * 0.621371)
        q_en, a_en = f"How many miles is {v} km?", f"{v} km is about {out} miles (1 km ≈ 0.621 miles)."
        q_zh, a_zh = f"{v} 公里是多少英里?", f"{v} 公里约等于 {out} 英里(1 公里 ≈ 0.621 英里)。"
    elif kind == "c":
        out = _num(v * 9 / 5 + 32)
        q_en, a_en = f"Convert {v} °C to Fahrenheit.", f"{v} °C = {out} °F (multiply by 9/5, then add 32)."
        q_zh, a_zh = f"{v} 摄氏度是多少华氏度?", f"{v} °C = {out} °F(乘以 9/5 再加 32)。"
    else:
        out = _num(v * 2.20462)
        q_en, a_en = f"How many pounds are {v} kg?", f"{v} kg is about {out} lb (1 kg ≈ 2.205 lb)."
        q_zh, a_zh = f"{v} 千克是多少磅?", f"{v} 千克约等于 {out} 磅(1 千克 ≈ 2.205 磅)。"
    return [(q_zh, a_zh)] if lang == "zh" else [(q_en, a_en)]


def _dates(rng: random.Random, lang: str) -> list[Turn]:
    start = dt.date(2020, 1, 1) + dt.timedelta(days=rng.randint(0, 2500))
    days = rng.randint(3, 400)
    end = start + dt.timedelta(days=days)
    if lang == "zh":
        return [(f"{start:%Y年%m月%d日}是星期几?", f"{start:%Y年%m月%d日}是{_WEEKDAYS_ZH[start.weekday()]}。"),
                (f"从那天到{end:%Y年%m月%d日}有多少天?", f"相差 {days} 天。")]  # fmt: skip
    return [(f"What day of the week was {start:%B} {start.day}, {start.year}?",
             f"{start:%B} {start.day}, {start.year} was a {_WEEKDAYS_EN[start.weekday()]}."),
            (f"How many days from then until {end.isoformat()}?", f"{days} days.")]  # fmt: skip


def _words(rng: random.Random, lang: str) -> list[Turn]:
    if lang == "zh":
        word = rng.choice(_WORDS_ZH)
        picks = rng.sample(_WORDS_ZH, 4)
        return [(f"“{word}”有几个字?", f"“{word}”有 {len(word)} 个字。"),
                (f"把这些词按字数从少到多排列:{'、'.join(picks)}",
                 "、".join(sorted(picks, key=lambda w: (len(w), picks.index(w)))) + "。")]  # fmt: skip
    word = rng.choice(_WORDS_EN)
    picks = rng.sample(_WORDS_EN, 5)
    task = rng.choice(["count", "reverse", "sort", "upper"])
    if task == "count":
        letter = rng.choice(sorted(set(word)))
        return [(f"How many times does the letter '{letter}' appear in '{word}'?",
                 f"The letter '{letter}' appears {word.count(letter)} time{'s' * (word.count(letter) != 1)} in '{word}'.")]  # fmt: skip
    if task == "reverse":
        return [(f"Spell '{word}' backwards.", f"'{word}' backwards is '{word[::-1]}'.")]
    if task == "sort":
        return [(f"Sort these words alphabetically: {', '.join(picks)}.", ", ".join(sorted(picks)) + ".")]
    phrase = " ".join(picks[:3])
    return [(f"Write '{phrase}' in capital letters.", phrase.upper())]


def _numbers(rng: random.Random, lang: str) -> list[Turn]:
    values = [rng.randint(1, 99) for _ in range(rng.randint(4, 7))]
    shown = ", ".join(map(str, values))
    mean = _num(sum(values) / len(values))
    if lang == "zh":
        return [(f"这组数的最大值和平均值是多少:{shown}", f"最大值是 {max(values)},平均值是 {mean}。"),
                ("从小到大排一下。", "、".join(map(str, sorted(values))) + "。")]  # fmt: skip
    return [(f"What are the largest value and the mean of {shown}?", f"The largest is {max(values)} and the mean is {mean}."),
            ("Now sort them from smallest to largest.", ", ".join(map(str, sorted(values))) + ".")]  # fmt: skip


def _people(rng: random.Random, lang: str) -> list[Turn]:
    name = rng.choice(_NAMES)
    apples, eaten = rng.randint(5, 30), rng.randint(1, 4)
    if lang == "zh":
        return [(f"{name} 有 {apples} 个苹果,吃了 {eaten} 个,还剩几个?", f"还剩 {apples} - {eaten} = {apples - eaten} 个。")]
    return [(f"{name} has {apples} apples and eats {eaten}. How many are left?",
             f"{name} has {apples} - {eaten} = {apples - eaten} apples left.")]  # fmt: skip


_TASKS: list[Callable[[random.Random, str], list[Turn]]] = [
    _arithmetic, _conversion, _dates, _words, _numbers, _people,
]  # fmt: skip


def general_chat_rows(lang: str = "en", n: int = DEFAULT_ROWS, seed: int = 0) -> list[dict[str, Any]]:
    """`n` deterministic general-chat ShareGPT rows (no tools) in `lang` ("en" or "zh")."""
    if lang not in LANGS:
        raise ValueError(f"general chat: unknown language {lang!r} (choose from {', '.join(LANGS)})")
    rng = random.Random(f"general_chat:{lang}:{seed}")
    chitchat = _CHITCHAT_ZH if lang == "zh" else _CHITCHAT_EN
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    i = 0
    while len(rows) < n:
        turns = _TASKS[i % len(_TASKS)](rng, lang)
        i += 1
        if rng.random() < 0.5:
            turns = turns[:1]  # half single-turn, half multi-turn (where the task has a follow-up)
        if rng.random() < 0.15:
            turns = [rng.choice(chitchat), *turns]  # some conversations open with small talk
        key = repr(turns)
        if key in seen:
            continue
        seen.add(key)
        conversations = []
        for question, answer in turns:
            conversations += [{"from": "human", "value": question}, {"from": "gpt", "value": answer}]
        rows.append({"conversations": conversations, "system": ""})
    return rows


def write_general_chat(
    out_dir: str | Path = "data",
    info_path: str | Path | None = "dataset_info.json",
    n: int = DEFAULT_ROWS,
    seed: int = 0,
    langs: tuple[str, ...] = LANGS,
    hub_entries: bool = True,
) -> list[Path]:
    """Write `general_chat_{lang}.json` files and register them (and the hub sets) in dataset_info.json."""
    out_dir = Path(out_dir)
    paths, entries = [], {}
    for lang in langs:
        path = out_dir / f"general_chat_{lang}.json"
        atomic_write_json(path, general_chat_rows(lang, n, seed))
        paths.append(path)
        if info_path is not None:
            rel = os.path.relpath(path.resolve(), Path(info_path).resolve().parent)
            entries[f"general_chat_{lang}"] = {"file_name": Path(rel).as_posix(), **GENERAL_CHAT_ENTRY}
    if info_path is not None:
        merge_dataset_info(info_path, {**entries, **(HUB_ENTRIES if hub_entries else {})})
    return paths


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m fc_plugin.general_chat", description=__doc__.split("\n")[0])
    p.add_argument("--out-dir", default="data")
    p.add_argument("--info", default="dataset_info.json", help="dataset_info.json to register the files in")
    p.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows per language")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    for path in write_general_chat(args.out_dir, args.info, args.rows, args.seed):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
