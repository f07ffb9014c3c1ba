"""Logits only where the loss reads them: an opt-in training speed-up for small models on CPU.

A causal LM's head computes vocabulary logits at every position, but supervised fine-tuning's loss
reads only the positions whose next token is labelled: the assistant's turns, ~14% of the demo's
tokens. On the demo's 1.1M-parameter base (vocabulary 4,106, width 128) the head's weights are almost half
the model's, so computing its logits everywhere costs ~28% of each step (bench/bench_train_step.py: x1.39).

With ``FC_PLUGIN_LABELLED_LOGITS=1`` in the environment, fc-plugin's LLaMA-Factory hook wraps the
forward of the causal LMs in `MODEL_CLASSES`: in training mode with labels, it passes transformers'
own ``logits_to_keep`` (the labelled positions of the batch) and ``shift_labels`` (their next-token
labels), so the loss is the same token mean over the same tokens. Generation, evaluation and
inference are untouched. ``outputs.logits`` then covers the labelled positions only, so LLaMA-Factory's
loss variants that read logits themselves (``use_dft_loss``, ``use_eaft_loss``, ``use_asft_loss``)
must not be combined with it. `make demo` sets it; bench/bench_train_step.py measures it.
"""

from __future__ import annotations

import functools
import importlib
import os
from typing import Any

ENV = "FC_PLUGIN_LABELLED_LOGITS"
IGNORE_INDEX = -100
#: (module, class) of the causal LMs whose forward takes ``logits_to_keep`` (int or index tensor) and hands
#: its other keyword arguments (``shift_labels``) to ``self.loss_function``: the model families we ship templates for.
MODEL_CLASSES = (
    ("transformers.models.qwen2.modeling_qwen2", "Qwen2ForCausalLM"),
    ("transformers.models.qwen3.modeling_qwen3", "Qwen3ForCausalLM"),
    ("transformers.models.llama.modeling_llama", "LlamaForCausalLM"),
    ("transformers.models.phi3.modeling_phi3", "Phi3ForCausalLM"),
)


def enabled() -> bool:
    """Whether the environment asks for labelled-only logits (``FC_PLUGIN_LABELLED_LOGITS=1``)."""
    return os.environ.get(ENV, "") == "1"


def labelled_positions(labels: Any) -> tuple[Any, Any]:
    """(positions whose next token is labelled in any row of the batch, those next-token labels per row)."""
    import torch

    shift_labels = torch.nn.functional.pad(labels, (0, 1), value=IGNORE_INDEX)[:, 1:]
    keep = (shift_labels != IGNORE_INDEX).any(dim=0).nonzero().squeeze(1)
    return keep, shift_labels[:, keep]


def wrap_forward(forward: Any) -> Any:
    """`forward` that, in training with labels, computes logits at the labelled positions only."""
    if getattr(forward, "_fc_labelled_logits", False):
        return forward

    @functools.wraps(forward)
    def labelled_forward(
        self: Any, *args: Any, labels: Any = None, logits_to_keep: Any = 0, **kwargs: Any
    ) -> Any:
        if self.training and labels is not None and isinstance(logits_to_keep, int) and logits_to_keep == 0 \
                and "shift_labels" not in kwargs:  # fmt: skip
            keep, shift_labels = labelled_positions(labels)
            return forward(
                self, *args, labels=labels, logits_to_keep=keep, shift_labels=shift_labels, **kwargs
            )
        return forward(self, *args, labels=labels, logits_to_keep=logits_to_keep, **kwargs)

    labelled_forward._fc_labelled_logits = True  # type: ignore[attr-defined]
    return labelled_forward


def install() -> list[str]:
    """Wrap the forward of every class in `MODEL_CLASSES` that this transformers has (idempotent).

    Returns the wrapped class names."""
    wrapped = []
    for module_name, class_name in MODEL_CLASSES:
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError):
            continue
        cls.forward = wrap_forward(cls.forward)
        wrapped.append(class_name)
    return wrapped
