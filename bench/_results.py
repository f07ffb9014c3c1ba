"""Where every benchmark writes its results: bench/results/NAME, with the machine it ran on."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def save(name: str, result: dict) -> Path:
    """Add `machine` to `result`, write it atomically to bench/results/`name`, print and return the path."""
    from fc_plugin.io import atomic_write_text

    result["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / name
    atomic_write_text(path, json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")
    return path
