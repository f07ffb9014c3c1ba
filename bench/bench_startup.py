"""Start-up cost of the autoload hook: `python -c pass` with the hook on vs FC_PLUGIN_DISABLE=1.

Runs are interleaved (on, off, on, off, ...) so machine noise hits both sides alike; prints
medians side by side and the difference, and writes bench/results/startup.json.
Target: the hook adds under 5 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from _results import save  # bench/ is on sys.path when a benchmark runs as a script
from tqdm import tqdm


def _once(env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()
    on_env = {k: v for k, v in os.environ.items() if k != "FC_PLUGIN_DISABLE"}
    off_env = {**on_env, "FC_PLUGIN_DISABLE": "1"}
    on, off = [], []
    for _ in tqdm(range(args.runs), desc="python -c pass (on/off)"):
        on.append(_once(on_env))
        off.append(_once(off_env))
    result = {
        "runs": args.runs,
        "hook_on_ms_median": round(statistics.median(on), 2),
        "hook_off_ms_median": round(statistics.median(off), 2),
        "added_ms": round(statistics.median(on) - statistics.median(off), 2),
        "ratio_on_over_off": round(statistics.median(on) / statistics.median(off), 3),
        "target_added_ms": 5.0,
    }
    print(f"{'hook on':>12} {'hook off':>12} {'added':>10} {'ratio':>8}")
    print(
        f"{result['hook_on_ms_median']:>10.2f}ms {result['hook_off_ms_median']:>10.2f}ms "
        f"{result['added_ms']:>8.2f}ms {result['ratio_on_over_off']:>8.3f}"
    )
    save("startup.json", result)


if __name__ == "__main__":
    main()
