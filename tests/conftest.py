"""Shared fixtures: the offline tiny model and an environment for real llamafactory-cli runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the venv's bin: llamafactory-cli, fc-plugin, torchrun


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Qwen2-shaped model + BPE tokenizer, built offline once per test session."""
    from fc_plugin.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_model"))


@pytest.fixture(scope="session")
def lf_env() -> dict[str, str]:
    """Environment for llamafactory-cli subprocesses: offline, CPU, quiet, no version check."""
    env = dict(os.environ)
    env.pop("FC_PLUGIN_DISABLE", None)
    env.update(
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        DISABLE_VERSION_CHECK="1",
        CUDA_VISIBLE_DEVICES="",
        TOKENIZERS_PARALLELISM="false",
        WANDB_DISABLED="true",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def wait_for_api(server: subprocess.Popen, port: int, log_path: Path, timeout: float = 120) -> None:
    """Wait until `llamafactory-cli api` (process `server`, logging to `log_path`) answers on 127.0.0.1:`port`;
    fails with the log's tail if it exits first, or after `timeout` seconds."""
    deadline = time.time() + timeout
    while True:
        assert server.poll() is None, log_path.read_text()[-3000:]
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)
            return
        except OSError:
            assert time.time() < deadline, "api server did not come up"
            time.sleep(1)


@pytest.fixture(scope="session")
def api_ready() -> Callable[..., None]:
    """`wait_for_api`, for tests that start `llamafactory-cli api`."""
    return wait_for_api
