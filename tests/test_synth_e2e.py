"""The shipped synthetic dataset trains through the real `llamafactory-cli train`, nothing dropped."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("template", ["fc_tags_qwen", "qwen"])
def test_shipped_synth_dataset_trains_with_every_sample(
    template: str, tiny_model: Path, lf_env: dict[str, str], tmp_path: Path
) -> None:
    """With our template and with LLaMA-Factory's stock `qwen` (thoughts are stored as its own <think>...</think>)."""
    info = json.loads((ROOT / "dataset_info.json").read_text())
    assert info["fc_synth_seed_tools"]["file_name"] == "data/fc_synth_seed_tools.json"
    rows = json.loads((ROOT / "data" / "fc_synth_seed_tools.json").read_text())
    calls = [t["value"] for r in rows for t in r["conversations"] if t["from"] == "function_call"]
    assert sum(v.startswith("<think>\n") for v in calls) > len(calls) / 5  # the default thought rate is 0.3
    held_out = json.loads((ROOT / "data" / "fc_synth_seed_tools_eval.json").read_text())
    out = tmp_path / "run"
    cmd = ["llamafactory-cli", "train", "recipes/fc_lora.yaml", f"model_name_or_path={tiny_model}",
           f"output_dir={out}", "dataset=fc_synth_seed_tools", f"template={template}", "bf16=false",
           "max_steps=2", "per_device_train_batch_size=2", "gradient_accumulation_steps=1", "save_steps=1000",
           "val_size=0", "eval_dataset=fc_synth_seed_tools_eval"]  # fmt: skip
    run = subprocess.run(cmd, cwd=ROOT, env=lf_env, capture_output=True, text=True, timeout=900)
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-3000:]
    assert "Skipping this abnormal example" not in log
    examples = [int(n.replace(",", "")) for n in re.findall(r"Num examples = ([\d,]+)", log)]
    assert examples and examples[0] == len(rows)  # the train split, every sample kept
    assert held_out and not {r["id"] for r in held_out} & {r["id"] for r in rows}
    losses = [json.loads(line)["loss"] for line in (out / "trainer_log.jsonl").read_text().splitlines() if '"loss"' in line]
    assert len(losses) == 2 and all(loss > 0 for loss in losses)
