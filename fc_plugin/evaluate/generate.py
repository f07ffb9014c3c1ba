"""Generation through LLaMA-Factory's chat engine (`llamafactory.chat.ChatModel`).

The model, adapter and template are loaded exactly as `llamafactory-cli chat/api` load them, and
prompts are encoded by the engine's own template (the fc-plugin templates are registered by the
autoload hook). With the huggingface backend, batches of prompts are encoded with the engine's
argument builder and decoded in one left-padded `generate()` call (plus an xgrammar logits
processor when grammar-constrained); batch size 1 goes through `ChatModel.chat` unchanged.
With vLLM, `batch_size` requests are in flight at once and the engine batches them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from fc_plugin.evaluate.inputs import GoldItem
from fc_plugin.sample import Sample

_ROLES = {"human": "user", "gpt": "assistant", "function_call": "function", "observation": "observation"}


@dataclass
class Generation:
    id: str
    text: str
    latency_s: float
    prompt_tokens: int
    new_tokens: int
    finish_reason: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def lf_prompt(item: GoldItem) -> tuple[list[dict[str, str]], str | None, str | None]:
    """(messages, system, tools JSON) for LLaMA-Factory's chat engine, built from our ShareGPT row."""
    from fc_plugin.sharegpt import to_sharegpt

    full = Sample(list(item.prompt) + [item.expected], item.sample.tools, item.id, dict(item.sample.meta))
    row = to_sharegpt(full)
    turns = row["conversations"][:-1]  # drop the expected turn
    messages = [{"role": _ROLES[t["from"]], "content": t["value"]} for t in turns]
    return messages, row.get("system") or None, row.get("tools") or None


class ChatEngineGenerator:
    """Loads a model (+ LoRA adapter) into LLaMA-Factory's ChatModel and generates greedily."""

    def __init__(
        self,
        model: str,
        template: str,
        adapter: str | None = None,
        backend: str = "huggingface",
        max_new_tokens: int = 256,
        extra_args: dict[str, Any] | None = None,
    ) -> None:
        from llamafactory.chat import ChatModel

        args: dict[str, Any] = {
            "model_name_or_path": model,
            "template": template,
            "infer_backend": backend,
            "max_new_tokens": max_new_tokens,
            "do_sample": False,
        }
        if adapter:
            args.update(adapter_name_or_path=adapter, finetuning_type="lora")
        args.update(extra_args or {})
        self.template = template
        self.backend = backend
        self.max_new_tokens = max_new_tokens
        self.chat_model = ChatModel(args)
        self.engine = self.chat_model.engine
        self.markers = self._native_markers()

    def _native_markers(self) -> dict[int, str]:
        """With `template: fc_native`: the call markers of the bound native format that are special tokens
        of the tokenizer (`<|tool_call|>`, `<|python_tag|>`, `[TOOL_CALLS]`), kept when decoding."""
        from fc_plugin.formats.native import NAME, output_markers

        engine = self.engine
        if self.template != NAME or getattr(engine, "tokenizer", None) is None:
            return {}
        return output_markers(
            engine.tokenizer, getattr(getattr(engine, "template", None), "native_format", None)
        )

    def decode(self, ids: list[int]) -> str:
        """Generated ids as text (skip_special_tokens=True, except fc_native's call markers: `self.markers`)."""
        from fc_plugin.formats.native import decode_output

        return decode_output(self.engine.tokenizer, ids, self.markers)

    def generate(
        self, items: list[GoldItem], batch_size: int = 1, grammar: Any = None, progress: bool = True
    ) -> Iterator[Generation]:
        """Yield one Generation per item, in order (`grammar`: a `CallGrammar`, HF backend only)."""
        from tqdm import tqdm

        if grammar is not None and self.backend != "huggingface":
            raise ValueError("grammar-constrained decoding needs the huggingface backend")
        batch_size = max(1, batch_size)
        bar = tqdm(total=len(items), desc="generating", unit="sample", disable=not progress)
        try:
            for start in range(0, len(items), batch_size):
                batch = items[start : start + batch_size]
                if self.backend == "huggingface" and (len(batch) > 1 or grammar is not None):
                    results = self._hf_batch(batch, grammar)
                else:
                    results = self._concurrent(batch)
                for result in results:
                    bar.update(1)
                    yield result
        finally:
            bar.close()

    def _concurrent(self, batch: list[GoldItem]) -> list[Generation]:
        def one(item: GoldItem) -> Generation:
            messages, system, tools = lf_prompt(item)
            began = time.perf_counter()
            # fc_native calls marked by special tokens: decode with them, then drop the other special tokens
            extra = {"skip_special_tokens": False} if self.markers else {}
            response = self.chat_model.chat(
                messages, system, tools, max_new_tokens=self.max_new_tokens, **extra
            )[0]
            text = response.response_text
            if self.markers:
                text = self.decode(list(self.engine.tokenizer(text, add_special_tokens=False)["input_ids"]))
            return Generation(
                item.id,
                text,
                time.perf_counter() - began,
                response.prompt_length,
                response.response_length,
                response.finish_reason,
            )

        if len(batch) == 1:
            return [one(batch[0])]
        with ThreadPoolExecutor(max_workers=len(batch)) as pool:
            return list(pool.map(one, batch))

    def _hf_batch(self, batch: list[GoldItem], grammar: Any) -> list[Generation]:
        import torch
        from transformers import LogitsProcessorList

        engine = self.engine
        tokenizer = engine.tokenizer
        rows, grammars, config = [], [], None
        for item in batch:
            messages, system, tools = lf_prompt(item)
            gen_kwargs, _ = type(engine)._process_args(
                engine.model,
                tokenizer,
                engine.processor,
                engine.template,
                engine.generating_args,
                messages,
                system,
                tools,
                input_kwargs={"max_new_tokens": self.max_new_tokens},
            )
            rows.append(gen_kwargs["inputs"][0])
            config = gen_kwargs["generation_config"]
            if grammar is not None:
                grammars.append(grammar.compiled(self.template, item.sample.tools))
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        width = max(len(r) for r in rows)
        device = engine.model.device
        input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long, device=device)
        attention = torch.zeros((len(rows), width), dtype=torch.long, device=device)
        for i, r in enumerate(rows):  # left padding: generation continues right after every prompt
            input_ids[i, width - len(r) :] = r
            attention[i, width - len(r) :] = 1
        processors = (
            LogitsProcessorList([grammar.logits_processor(grammars)]) if grammar is not None else None
        )
        began = time.perf_counter()
        with torch.inference_mode():
            output = engine.model.generate(
                inputs=input_ids,
                attention_mask=attention,
                generation_config=config,
                logits_processor=processors,
            )
        elapsed = time.perf_counter() - began
        stop_ids = config.eos_token_id if isinstance(config.eos_token_id, list) else [config.eos_token_id]
        skip_special = getattr(config, "skip_special_tokens", True)
        results = []
        for i, item in enumerate(batch):
            new = output[i, width:].tolist()
            cut = next((k for k, t in enumerate(new) if t in stop_ids), None)
            kept = new if cut is None else new[:cut]
            if self.markers:  # fc_native calls marked by special tokens: keep the markers
                text = self.decode(kept)
            else:
                text = tokenizer.decode(
                    kept, skip_special_tokens=skip_special, clean_up_tokenization_spaces=True
                )
            results.append(
                Generation(
                    item.id,
                    text,
                    elapsed,
                    len(rows[i]),
                    len(kept) + (0 if cut is None else 1),
                    "length" if cut is None else "stop",
                )
            )
        return results


def timing_summary(generations: list[Generation], wall_s: float) -> dict[str, Any]:
    """Throughput and latency percentiles of a generation run."""
    latencies = sorted(g.latency_s for g in generations)
    tokens = sum(g.new_tokens for g in generations)
    return {
        "samples": len(generations),
        "wall_s": round(wall_s, 4),
        "samples_per_s": round(len(generations) / wall_s, 4) if wall_s else 0.0,
        "tokens_per_s": round(tokens / wall_s, 4) if wall_s else 0.0,
        "new_tokens": tokens,
        "latency_p50_s": round(percentile(latencies, 50), 4),
        "latency_p99_s": round(percentile(latencies, 99), 4),
        "truncated": sum(g.finish_reason == "length" for g in generations),
    }


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolated percentile of already sorted values (0 for an empty list)."""
    if not sorted_values:
        return 0.0
    pos = (len(sorted_values) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)
