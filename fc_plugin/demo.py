"""The demo pipeline behind `make demo`: everything offline, on CPU, through llamafactory-cli."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from fc_plugin.tiny_model import build_tiny_model


def _step(title: str) -> float:
    print(f"\n==> {title}", flush=True)
    return time.perf_counter()


def run_demo(out: str | Path) -> int:
    """Build the tiny model, train recipes/fc_lora.yaml on the shipped data, print where results are."""
    out = Path(out).resolve()
    if not Path("recipes/fc_lora.yaml").exists():
        raise OSError("run the demo from the project root (recipes/fc_lora.yaml not found)")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "DISABLE_VERSION_CHECK": "1"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"

    t0 = _step("building the tiny offline model")
    model = build_tiny_model(out / "tiny_model")
    print(f"    {model} ({time.perf_counter() - t0:.1f}s)")

    t0 = _step("training recipes/fc_lora.yaml with llamafactory-cli (CPU)")
    adapter = out / "lora"
    cmd = [
        "llamafactory-cli", "train", "recipes/fc_lora.yaml",
        f"model_name_or_path={model}", f"output_dir={adapter}",
        "bf16=false", "num_train_epochs=5", "per_device_train_batch_size=2", "gradient_accumulation_steps=1",
    ]  # fmt: skip
    print("    " + " ".join(cmd), flush=True)
    subprocess.run(cmd, env=env, check=True)
    print(f"    trained in {time.perf_counter() - t0:.1f}s")

    print("\n==> done")
    print(f"    adapter:   {adapter / 'adapter_model.safetensors'}")
    print(f"    loss plot: {adapter / 'training_loss.png'}")
    return 0
