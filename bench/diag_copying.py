"""Diagnostic: does a tiny model learn to copy argument values into its calls, and how fast?

Why `make demo` misses 90% exact calls: the tiny model learns the call/no-call decision, the tool
name and the JSON, but keeps predicting the most frequent value of each argument instead of the
one in the request. This script measures that directly, without generation: it trains a fresh
random Qwen2 (same shape as the demo's) with plain PyTorch on the demo's rendered data, and every
`--eval-every` steps prints, on the held-out split, teacher-forced token accuracy inside
<tool_call> spans and the share of calls whose every token is right ("exact_tf", close to what
greedy decoding scores). `--toy` swaps the data for the simplest copy task (one city in a
request, copied into {"city": ...}) to calibrate how fast this architecture can copy at all.

Needs the demo's data and tokenizer (`make demo`, or `fc-plugin demo`, writes outputs/demo/).

    python bench/diag_copying.py --steps 800                    # the demo's data and settings
    python bench/diag_copying.py --steps 800 --init 0.1 --lr 1e-3
    python bench/diag_copying.py --toy --filler 150             # calibration: copy one token
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import time
from pathlib import Path

import torch
from tqdm import tqdm

Encoded = tuple[list[int], list[int], list[int]]  # token ids, 1 where labelled, call index (0 = none)
CITIES = ["Beijing", "Shanghai", "Paris", "Tokyo", "London", "Berlin", "Sydney", "Toronto", "Madrid", "Seoul"]
FILLER = "please check the weather for me today and tell me what you find thanks".split()


def encode_row(row: dict, tok, template: str) -> Encoded:
    """Render a ShareGPT row with `template`; label assistant text, number the <tool_call> spans."""
    from fc_plugin.sharegpt import from_sharegpt
    from fc_plugin.templates import render

    sample = from_sharegpt(row)
    text = render(template, sample.chat_messages(), sample.tools)
    enc = tok(text, return_offsets_mapping=True, add_special_tokens=False)
    ids, offsets = enc["input_ids"], enc["offset_mapping"]
    labelled, calls = [0] * len(ids), [0] * len(ids)

    def mark(start: int, end: int, out: list[int], value: int) -> None:
        for i, (a, b) in enumerate(offsets):
            if start <= a < b <= end:
                out[i] = value

    n_calls = 0
    for turn in re.finditer(r"<\|im_start\|>assistant\n(.*?<\|im_end\|>)", text, flags=re.S):
        mark(turn.start(1), turn.end(1), labelled, 1)
        for call in re.finditer(r"<tool_call>.*?</tool_call>", turn.group(1), flags=re.S):
            n_calls += 1
            mark(turn.start(1) + call.start(), turn.start(1) + call.end(), calls, n_calls)
    return ids, labelled, calls


def toy_sample(tok, filler: int, rng: random.Random) -> Encoded:
    city = rng.choice(CITIES)
    words = " ".join(rng.choice(FILLER) for _ in range(filler))
    prompt = tok(
        f"<|im_start|>user\n{words} What's the weather in {city}?<|im_end|>\n<|im_start|>assistant\n"
    )
    answer = tok(
        f'<tool_call>\n{{"name": "get_weather", "arguments": {{"city": "{city}"}}}}\n</tool_call><|im_end|>'
    )
    p, r = prompt["input_ids"], answer["input_ids"]
    return p + r, [0] * len(p) + [1] * len(r), [0] * len(p) + [1] * (len(r) - 1) + [0]


def collate(items: list[Encoded], all_labels: bool) -> tuple[torch.Tensor, ...]:
    length = max(len(ids) for ids, _, _ in items)
    ids = torch.zeros(len(items), length, dtype=torch.long)
    labels = torch.full((len(items), length), -100)
    mask = torch.zeros(len(items), length, dtype=torch.long)
    calls = torch.zeros(len(items), length, dtype=torch.long)
    for b, (i, lab, call) in enumerate(items):
        n = len(i)
        ids[b, :n], mask[b, :n], calls[b, :n] = torch.tensor(i), 1, torch.tensor(call)
        keep = torch.ones(n, dtype=torch.bool) if all_labels else torch.tensor(lab, dtype=torch.bool)
        labels[b, :n] = torch.where(keep, ids[b, :n], torch.tensor(-100))
    return ids, labels, mask, calls


@torch.no_grad()
def call_accuracy(model, held: list[Encoded]) -> tuple[float, float]:
    """Teacher-forced (token accuracy in call spans, share of calls with every token right)."""
    model.eval()
    tokens_ok = tokens = calls_ok = calls = 0
    for k in range(0, len(held), 16):
        ids, _, mask, call = collate(held[k : k + 16], all_labels=False)
        right = model(input_ids=ids, attention_mask=mask).logits.argmax(-1)[:, :-1] == ids[:, 1:]
        call = call[:, 1:]
        tokens_ok += (right & (call > 0)).sum().item()
        tokens += (call > 0).sum().item()
        for b in range(ids.shape[0]):
            for index in set(call[b].tolist()) - {0}:
                calls += 1
                calls_ok += bool(right[b][call[b] == index].all())
    model.train()
    return tokens_ok / max(1, tokens), calls_ok / max(1, calls)


@torch.no_grad()
def mimetic(model, ov: float, qk: float) -> None:
    """Mimetic init: W_O W_V ~ ov * I (attending to a token passes its embedding on), W_Q W_K^T ~ qk * I."""
    cfg = model.config
    d = cfg.hidden_size
    hd = d // cfg.num_attention_heads
    group = cfg.num_attention_heads // cfg.num_key_value_heads
    for layer in model.model.layers:
        att = layer.self_attn
        if ov:
            q, _ = torch.linalg.qr(torch.randn(d, d))
            v = q[:, : cfg.num_key_value_heads * hd].T.contiguous()  # (kv*hd, d) orthonormal rows
            att.v_proj.weight.copy_(v)
            o = torch.zeros(d, cfg.num_attention_heads * hd)
            for h in range(cfg.num_attention_heads):
                kv = h // group
                o[:, h * hd : (h + 1) * hd] = v[kv * hd : (kv + 1) * hd].T * (ov / group)
            att.o_proj.weight.copy_(o)
        if qk:
            q, _ = torch.linalg.qr(torch.randn(d, d))
            k = q[:, : cfg.num_key_value_heads * hd].T.contiguous()
            att.k_proj.weight.copy_(k * qk ** 0.5)
            qw = torch.zeros(cfg.num_attention_heads * hd, d)
            for h in range(cfg.num_attention_heads):
                kv = h // group
                qw[h * hd : (h + 1) * hd] = k[kv * hd : (kv + 1) * hd] * qk ** 0.5
            att.q_proj.weight.copy_(qw)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default="outputs/demo/data", help="the demo's data dir")
    parser.add_argument("--tokenizer", default="outputs/demo/model_init", help="the demo's tiny model dir")
    parser.add_argument("--template", default="fc_json_qwen")
    parser.add_argument("--toy", action="store_true", help="copy one city token instead of the demo data")
    parser.add_argument("--filler", type=int, default=5, help="--toy: filler words before the request")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--kv-heads", type=int, default=2)
    parser.add_argument("--intermediate", type=int, default=256)
    parser.add_argument("--init", type=float, default=0.02, help="initializer_range of the random model")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--all-labels", action="store_true", help="loss on every token (train_on_prompt)")
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--window", type=int, default=0, help="sliding-window attention of this many tokens (0: full)")
    parser.add_argument("--mimetic-ov", type=float, default=0.0, help="mimetic init W_O W_V ~ this * I (0: off)")
    parser.add_argument("--mimetic-qk", type=float, default=0.0, help="mimetic init W_Q W_K^T ~ this * I (0: off)")
    parser.add_argument("--window-from", type=int, default=0, help="--window: first layer that slides")
    parser.add_argument(
        "--out", default="bench/results/diag_copying.json", help="appends one JSON line per run"
    )
    args = parser.parse_args()

    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    tok = AutoTokenizer.from_pretrained(args.tokenizer)
    if args.toy:
        train = [toy_sample(tok, args.filler, rng) for _ in range(args.steps * args.batch)]
        held = [toy_sample(tok, args.filler, rng) for _ in range(100)]
    else:
        data = Path(args.data)
        rows = [
            r
            for name in ("fc_demo_synth", "fc_demo_converted")
            for r in json.loads((data / f"{name}.json").read_text())
        ]
        train = [encode_row(r, tok, args.template) for r in rows]
        held = [
            encode_row(r, tok, args.template)
            for r in json.loads((data / "fc_demo_synth_eval.json").read_text())
        ]
    config = Qwen2Config(
        vocab_size=len(tok), hidden_size=args.hidden, num_hidden_layers=args.layers,
        num_attention_heads=args.heads, num_key_value_heads=args.kv_heads, intermediate_size=args.intermediate,
        tie_word_embeddings=True, initializer_range=args.init, pad_token_id=tok.pad_token_id,
        use_sliding_window=bool(args.window), sliding_window=args.window or None, max_window_layers=args.window_from,
    )  # fmt: skip
    model = Qwen2ForCausalLM(config)
    mimetic(model, args.mimetic_ov, args.mimetic_qk)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    warmup = max(1, args.steps // 20)  # the demo recipe: 5% warm-up, then cosine

    def lr_factor(step: int) -> float:
        return min((step + 1) / warmup, 0.5 * (1 + math.cos(math.pi * min(1.0, step / args.steps))))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    curve, order, losses, started = [], [], [], time.perf_counter()
    for step in tqdm(range(1, args.steps + 1), desc="train", mininterval=5):
        if len(order) < args.batch:
            order = list(range(len(train)))
            rng.shuffle(order)
        ids, labels, mask, _ = collate([train[order.pop()] for _ in range(args.batch)], args.all_labels)
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        losses.append(loss.item())
        if step % args.eval_every == 0 or step == args.steps:
            token_acc, exact = call_accuracy(model, held)
            point = {
                "step": step,
                "loss": sum(losses[-50:]) / len(losses[-50:]),
                "call_token_acc": token_acc,
                "exact_tf": exact,
            }
            curve.append(point)
            tqdm.write(
                " ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in point.items())
            )
    run = {k: v for k, v in vars(args).items() if k != "out"}
    run.update(seconds=round(time.perf_counter() - started), curve=curve)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a", encoding="utf-8") as f:
        f.write(json.dumps(run) + "\n")
    print(f"held-out exact_tf {curve[-1]['exact_tf']:.3f} after {args.steps} steps; appended to {out}")


if __name__ == "__main__":
    main()
