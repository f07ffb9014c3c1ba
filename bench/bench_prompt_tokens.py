"""Prompt size of each tool format on the same tools and samples: tokens and characters per sample.

Every side is a ChatML (Qwen) chat template, so only the tool format differs:
- `qwen`: LLaMA-Factory's stock `qwen` template with its own `qwen` tool format (the baseline);
- `default`, `llama3`: the stock `qwen` template with `tool_format: default` / `tool_format: llama3`,
  set up by LLaMA-Factory's own `get_template_and_fix_tokenizer`;
- `fc_react`, `fc_tags`, `fc_json`: our templates `fc_react_qwen`, `fc_tags_qwen`, `fc_json_qwen`.
Each sample goes through the template's real `encode_multiturn` on the tiny model's tokenizer:
`prompt` counts the tokens the model reads (system turn with tools, user turns, tool results),
`response` the tokens it is trained to write (calls, answers, end-of-turn tokens), `tools` the tokens
the tool definitions add to the first prompt (that prompt with the sample's tools minus without them).
Characters are the decoded text's. The tiny tokenizer (byte-level BPE, 1024 tokens) splits text
finer than a real model's, so compare ratios; characters are tokenizer-independent.
Samples: `fc_plugin.synth.Generator` on the seed tools, deterministic, no `<thought>` (the stock formats
cannot read fc-plugin's thought prefix in a function_call). Prints per-sample means side by side with
ratios to `qwen` and writes bench/results/prompt_tokens.json.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import save  # bench/ is on sys.path when a benchmark runs as a script
from bench_templates import synthetic_rows

#: side -> (LLaMA-Factory template, tool_format override)
SIDES: dict[str, tuple[str, str | None]] = {
    "qwen": ("qwen", None),
    "default": ("qwen", "default"),
    "llama3": ("qwen", "llama3"),
    "fc_react": ("fc_react_qwen", None),
    "fc_tags": ("fc_tags_qwen", None),
    "fc_json": ("fc_json_qwen", None),
}
BASELINE = "qwen"
ROLES = {"human": "user", "gpt": "assistant", "function_call": "function", "observation": "observation"}


def lf_template(tokenizer: Any, name: str, tool_format: str | None) -> Any:
    """The template as `template: NAME` (+ `tool_format:`) sets it up in LLaMA-Factory, on a private copy
    (LLaMA-Factory changes the registered template in place for a tool_format override)."""
    from llamafactory.data.template import TEMPLATES, get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments

    registered = TEMPLATES[name]
    TEMPLATES[name] = copy.deepcopy(registered)
    try:
        return get_template_and_fix_tokenizer(tokenizer, DataArguments(template=name, tool_format=tool_format))
    finally:
        TEMPLATES[name] = registered


def measure(template: Any, tokenizer: Any, rows: list[dict[str, Any]], label: str) -> dict[str, float]:
    """Mean tokens and characters per sample: prompt, response, total, tools."""
    sums = {k: 0 for k in ("prompt_tokens", "response_tokens", "tools_tokens", "prompt_chars", "response_chars",
                           "tools_chars")}
    for row in tqdm(rows, desc=label, unit="sample", leave=False):
        messages = [{"role": ROLES[t["from"]], "content": t["value"]} for t in row["conversations"]]
        pairs = template.encode_multiturn(tokenizer, messages, row["system"], row["tools"])
        prompt = [i for source, _ in pairs for i in source]
        response = [i for _, target in pairs for i in target]
        first_turn = [messages[0], {"role": "assistant", "content": ""}]
        bare = template.encode_multiturn(tokenizer, first_turn, row["system"], "")[0][0]
        sums["prompt_tokens"] += len(prompt)
        sums["response_tokens"] += len(response)
        sums["tools_tokens"] += len(pairs[0][0]) - len(bare)
        sums["prompt_chars"] += len(tokenizer.decode(prompt))
        sums["response_chars"] += len(tokenizer.decode(response))
        sums["tools_chars"] += len(tokenizer.decode(pairs[0][0])) - len(tokenizer.decode(bare))
    means = {k: v / len(rows) for k, v in sums.items()}
    means["total_tokens"] = means["prompt_tokens"] + means["response_tokens"]
    means["total_chars"] = means["prompt_chars"] + means["response_chars"]
    return {k: round(v, 1) for k, v in means.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="samples (default 10,000, as bench_templates.py)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from transformers import AutoTokenizer

    import fc_plugin
    from fc_plugin.tiny_model import build_tiny_model

    fc_plugin.register()
    print(f"generating {args.n} samples ...", file=sys.stderr)
    rows = synthetic_rows(args.n, args.seed)
    result: dict[str, Any] = {"samples": args.n, "seed": args.seed, "baseline": BASELINE, "wrapper": "ChatML (qwen)",
                              "tokenizer": "fc_plugin.tiny_model (byte-level BPE, 1024 tokens)", "sides": {}}
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build_tiny_model(tmp)
        for side, (name, tool_format) in SIDES.items():
            tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
            template = lf_template(tokenizer, name, tool_format)
            result["sides"][side] = {"template": name, "tool_format": tool_format or "(its own)",
                                     **measure(template, tokenizer, rows, side)}
    base = result["sides"][BASELINE]
    for values in result["sides"].values():
        for key in ("tools_tokens", "prompt_tokens", "total_tokens", "total_chars"):
            values[f"{key}_vs_qwen"] = round(values[key] / base[key], 2)

    columns = [("tools_tokens", "tools tok"), ("prompt_tokens", "prompt tok"), ("response_tokens", "resp tok"),
               ("total_tokens", "total tok"), ("total_chars", "total chr")]
    print(f"\nmean per sample over {args.n} samples (tiny BPE tokenizer); ratios vs LLaMA-Factory's qwen format")
    print(f"{'format':<10}" + "".join(f"{title:>12}" for _, title in columns)
          + "".join(f"{'x ' + t.split()[0]:>9}" for t in ("tools", "prompt", "total")))
    for side, values in result["sides"].items():
        ratios = (values["tools_tokens_vs_qwen"], values["prompt_tokens_vs_qwen"], values["total_tokens_vs_qwen"])
        print(f"{side:<10}" + "".join(f"{values[key]:>12.1f}" for key, _ in columns)
              + "".join(f"{r:>9.2f}" for r in ratios))
    ours = [result["sides"][s]["prompt_tokens_vs_qwen"] for s in ("fc_react", "fc_tags", "fc_json")]
    print(f"fc formats: prompt tokens {min(ours):.2f}x-{max(ours):.2f}x of qwen's "
          f"(median {statistics.median(ours):.2f}x)")

    save("prompt_tokens.json", result)


if __name__ == "__main__":
    main()
