"""FC_PLUGIN_LABELLED_LOGITS: the same loss and gradients from logits at the labelled positions only."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from fc_plugin import labelled_logits
from fc_plugin.base_model import SHIPPED


@pytest.fixture()
def model_and_batch() -> tuple[torch.nn.Module, dict[str, torch.Tensor]]:
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(SHIPPED)
    ids = torch.randint(5, 4000, (2, 40))
    labels = torch.full_like(ids, -100)
    labels[0, 10:18] = ids[0, 10:18]  # two rows with different labelled spans (a union of positions)
    labels[1, 25:40] = ids[1, 25:40]
    mask = torch.ones_like(ids)
    mask[1, :3] = 0  # left padding in one row
    return model, {"input_ids": ids, "attention_mask": mask, "labels": labels}


def _loss_and_grads(model: torch.nn.Module, batch: dict[str, torch.Tensor], forward) -> tuple:  # noqa: ANN001
    model.zero_grad()
    out = forward(model, **batch)
    out.loss.backward()
    return out, {name: p.grad.clone() for name, p in model.named_parameters()}


def test_same_loss_and_gradients_from_the_labelled_positions_only(model_and_batch) -> None:  # noqa: ANN001
    model, batch = model_and_batch
    model.train()
    plain_forward = type(model).forward
    wrapped = labelled_logits.wrap_forward(plain_forward)
    plain, plain_grads = _loss_and_grads(model, batch, plain_forward)
    kept, kept_grads = _loss_and_grads(model, batch, wrapped)

    keep, _ = labelled_logits.labelled_positions(batch["labels"])
    assert keep.tolist() == [*range(9, 17), *range(24, 39)]  # position t predicts token t+1
    assert plain.logits.shape[1] == 40 and kept.logits.shape[1] == len(keep)
    torch.testing.assert_close(kept.loss, plain.loss, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(kept.logits, plain.logits[:, keep], rtol=1e-5, atol=1e-5)
    for name, grad in plain_grads.items():
        torch.testing.assert_close(kept_grads[name], grad, rtol=1e-4, atol=1e-6, msg=name)


def test_evaluation_and_generation_keep_every_logit(model_and_batch) -> None:  # noqa: ANN001
    model, batch = model_and_batch
    model.eval()
    wrapped = labelled_logits.wrap_forward(type(model).forward)
    with torch.no_grad():
        assert wrapped(model, **batch).logits.shape[1] == 40  # eval mode, labels given
        model.train()
        no_labels = {k: v for k, v in batch.items() if k != "labels"}
        assert wrapped(model, **no_labels).logits.shape[1] == 40  # no labels: nothing to select
    assert labelled_logits.wrap_forward(wrapped) is wrapped  # idempotent


PROBE = (
    "import json\n"
    "import llamafactory.data.template\n"  # fires fc-plugin's hook, as in every llamafactory-cli process
    "from transformers.models.qwen2.modeling_qwen2 import Qwen2ForCausalLM\n"
    "from transformers.models.llama.modeling_llama import LlamaForCausalLM\n"
    "print(json.dumps([getattr(c.forward, '_fc_labelled_logits', False) for c in (Qwen2ForCausalLM, LlamaForCausalLM)]))\n"
)


@pytest.mark.parametrize(
    ("value", "expected"), [("1", [True, True]), (None, [False, False]), ("0", [False, False])]
)
def test_the_hook_installs_it_only_when_asked(
    lf_env: dict[str, str], value: str | None, expected: list[bool]
) -> None:
    env = {k: v for k, v in lf_env.items() if k != labelled_logits.ENV}
    if value is not None:
        env[labelled_logits.ENV] = value
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == expected
