"""Real `llamafactory-cli train` runs of recipes/fc_lora.yaml on the tiny model, with a plugin template."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from fc_plugin import templates

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.e2e


def _train(tiny_model: Path, out: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        "llamafactory-cli",
        "train",
        "recipes/fc_lora.yaml",
        f"model_name_or_path={tiny_model}",
        f"output_dir={out}",
        f"template={templates.names()[0]}",
        "bf16=false",
        "max_steps=3",
        "per_device_train_batch_size=2",
        "gradient_accumulation_steps=1",
        "save_steps=1000",
        *extra,
    ]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def _assert_adapter(out: Path, run: subprocess.CompletedProcess[str]) -> None:
    assert run.returncode == 0, run.stderr[-3000:]
    assert (out / "adapter_model.safetensors").stat().st_size > 0
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["r"] == 16 and set(config["target_modules"]) >= {"q_proj", "down_proj"}
    losses = [json.loads(line)["loss"] for line in (out / "trainer_log.jsonl").read_text().splitlines() if '"loss"' in line]
    assert len(losses) == 3 and all(loss > 0 for loss in losses)


def test_lora_recipe_trains_with_plugin_template(tiny_model: Path, lf_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "lora"
    run = _train(tiny_model, out, lf_env)
    _assert_adapter(out, run)
    assert (out / "training_loss.png").exists()


def test_torchrun_workers_register_templates(tiny_model: Path, lf_env: dict[str, str], tmp_path: Path) -> None:
    env = {**lf_env, "FORCE_TORCHRUN": "1", "NPROC_PER_NODE": "2"}
    out = tmp_path / "ddp"
    run = _train(tiny_model, out, env, "ddp_backend=gloo", "per_device_train_batch_size=1")
    _assert_adapter(out, run)
    assert "world size: 2" in run.stderr + run.stdout


def test_without_hook_the_template_is_unknown(tiny_model: Path, lf_env: dict[str, str], tmp_path: Path) -> None:
    """Negative control: the runs above pass only because the hook registered the template."""
    run = _train(tiny_model, tmp_path / "off", {**lf_env, "FC_PLUGIN_DISABLE": "1"})
    assert run.returncode != 0
    assert f"Template {templates.names()[0]} does not exist" in run.stderr + run.stdout
