"""A tiny, offline, deterministic Qwen2-shaped causal LM and byte-level BPE tokenizer.

Used by the tests, `make demo` and the benchmarks instead of a hub model: no network, well
under 1M parameters, the same bytes for the same seed. The tokenizer knows the chat special
tokens of every model family the plugin ships templates for (ChatML/Qwen, Llama 3, Phi-4-mini).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

# Special tokens per template family (added as special tokens, never split).
SPECIAL_TOKENS: dict[str, list[str]] = {
    "chatml": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
    "llama3": [
        "<|begin_of_text|>",
        "<|end_of_text|>",
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<|eot_id|>",
        "<|eom_id|>",
        "<|python_tag|>",
    ],
    "phi4": [
        "<|system|>",
        "<|user|>",
        "<|assistant|>",
        "<|end|>",
        "<|tool|>",
        "<|/tool|>",
        "<|tool_call|>",
        "<|/tool_call|>",
        "<|tool_response|>",
    ],
}
# Tool markup that real models (Qwen2.5, Hermes) keep as single added, non-special tokens.
TOOL_TOKENS = [
    "<tool_call>",
    "</tool_call>",
    "<tool_response>",
    "</tool_response>",
    "<tools>",
    "</tools>",
    "<thought>",
    "</thought>",
    "<function_call>",
    "</function_call>",
]

_BASE_CORPUS = """\
You are a helpful assistant. You have access to the following tools. Call a tool when it helps.
Thought: I need to call a tool. Action: get_weather Action Input: {"city": "Beijing"}
Observation: {"temperature": 21, "condition": "sunny"} Final Answer: It is sunny in Beijing.
{"name": "search_stock", "arguments": {"symbol": "AAPL"}} {"type": "object", "properties": {},
"required": [], "description": "string", "integer", "number", "boolean", "array", "null", true, false
Hello! How can I help you today? Sorry, I can not do that. Which city do you mean? What date?
send_email book_meeting_room query_order query_logistics calculator get_weather search_stock
to subject body room date time start end order_id tracking_number expression city unit celsius
The weather in Shanghai is cloudy, 18 degrees. The order has shipped. Please provide the order id.
0 1 2 3 4 5 6 7 8 9 10 2026-11-21 12:30 user assistant system tool function parameters name
你好 北京 上海 天气 查询 订单 股票 发送 邮件 会议室 明天 请问 您 的 是 什么 帮我 一下
"""


def _corpus(extra: Iterable[str]) -> list[str]:
    lines = _BASE_CORPUS.splitlines()
    lines += [" ".join(toks) for toks in SPECIAL_TOKENS.values()]
    lines += list(extra)
    return lines


def build_tiny_model(
    out_dir: str | Path,
    seed: int = 0,
    vocab_size: int = 1024,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    intermediate_size: int = 128,
    corpus: Iterable[str] = (),
) -> Path:
    """Write a random-initialised Qwen2 model and its BPE tokenizer to `out_dir`; return the path.

    The tokenizer splits like GPT-2/Qwen (a word keeps its leading space); `corpus` adds lines to
    the text it is trained on. (The demo's pretrained base is `fc_plugin.base_model`.)
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    specials = [t for toks in SPECIAL_TOKENS.values() for t in toks]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(corpus), trainer=trainer)
    tok.add_tokens(TOOL_TOKENS)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=[t for t in specials if t != "<|endoftext|>"],
    )
    fast.model_max_length = 4096
    fast.save_pretrained(out)

    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(fast),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=max(1, num_heads // 2),
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
    )
    model = Qwen2ForCausalLM(config)
    model.save_pretrained(out)
    (out / "fc_plugin_tiny.json").write_text(
        json.dumps({"seed": seed, "parameters": sum(p.numel() for p in model.parameters())}) + "\n"
    )
    return out
