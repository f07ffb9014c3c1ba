"""Encoding speed of an fc template vs LLaMA-Factory's stock template for the same conversations.

`fc_json_qwen` (renders each conversation through the Jinja, one rendering per message prefix) vs
stock `qwen` (Qwen2.5 tool format, string slots) via `Template.encode_multiturn` on the tiny model's
tokenizer, for conversations of 2 to 16 messages. Rounds are interleaved so machine noise hits both
alike; prints samples/s side by side and the ratio, and writes bench/results/templates.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

RESULTS = Path(__file__).resolve().parent / "results"
TOOLS = json.dumps([{
    "name": "get_weather", "description": "Weather of a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}])


def conversation(rounds: int) -> list[dict[str, str]]:
    """`rounds` x (user, call, result, answer) in LLaMA-Factory's message shape, minus the last two."""
    messages = []
    for i in range(rounds):
        messages += [
            {"role": "user", "content": f"Weather in city {i}?"},
            {"role": "function", "content": json.dumps({"name": "get_weather", "arguments": {"city": f"c{i}"}})},
            {"role": "observation", "content": '{"temperature": 21}'},
            {"role": "assistant", "content": f"It is 21 degrees in city {i}."},
        ]
    return messages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds")
    parser.add_argument("--samples", type=int, default=200, help="conversations encoded per round and side")
    args = parser.parse_args()

    import llamafactory.data.template as lf
    from llamafactory.data.formatter import FunctionFormatter
    from transformers import AutoTokenizer

    import fc_plugin
    from fc_plugin.tiny_model import build_tiny_model

    fc_plugin.register()
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = AutoTokenizer.from_pretrained(str(build_tiny_model(tmp)))
    sides = {"fc_json_qwen": lf.TEMPLATES["fc_json_qwen"], "qwen": lf.TEMPLATES["qwen"]}
    assert isinstance(sides["qwen"].format_function, FunctionFormatter)
    lengths = [1, 2, 4]  # rounds per conversation: 4, 8, 16 messages
    result: dict[str, object] = {"samples_per_round": args.samples, "rounds": args.rounds}
    print(f"{'messages':>9} {'fc_json_qwen/s':>15} {'qwen/s':>10} {'qwen/fc':>8}")
    for n in lengths:
        messages = conversation(n)
        speeds: dict[str, list[float]] = {name: [] for name in sides}
        for template in sides.values():  # warm-up: compile the Jinja, fill caches
            template.encode_multiturn(tokenizer, messages, "You are helpful.", TOOLS)
        for _ in tqdm(range(args.rounds), desc=f"{len(messages)} messages", leave=False):
            for name, template in sides.items():
                start = time.perf_counter()
                for _ in range(args.samples):
                    template.encode_multiturn(tokenizer, messages, "You are helpful.", TOOLS)
                speeds[name].append(args.samples / (time.perf_counter() - start))
        fc_speed, stock_speed = (statistics.median(speeds[k]) for k in sides)
        ratio = stock_speed / fc_speed
        print(f"{len(messages):>9} {fc_speed:>15.0f} {stock_speed:>10.0f} {ratio:>8.2f}")
        result[f"{len(messages)}_messages"] = {
            "fc_json_qwen_samples_per_s": round(fc_speed), "qwen_samples_per_s": round(stock_speed),
            "stock_over_fc": round(ratio, 2),
        }
    result["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "templates.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS / 'templates.json'}")


if __name__ == "__main__":
    main()
