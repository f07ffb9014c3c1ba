"""Throughput of `fc-plugin synth`: samples/s of each stage and of the whole command, side by side.

Stages, on the same N samples (seed tools + their templates, en+zh, default mix), one core:
  generate   rule-based generation alone (fc_plugin.synth.Generator)
  validate   the shared validator (fc_plugin.validate.validate_sample)
  serialise  ShareGPT row + json.dumps (the floor of writing anything at all)
  command    the real `fc-plugin synth` in a subprocess: generate + validate + write + stats,
             with its progress bar; its CPU time and peak memory come from the OS.
Prints samples/s, each stage's cost per sample relative to the command, and writes
bench/results/synth.json. Target: 100,000 samples in well under a minute on one core.
CPU seconds are reported next to wall seconds because the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import save  # bench/ is on sys.path when a benchmark runs as a script
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "data" / "tools" / "seed_tools.json"
TEMPLATES = ROOT / "data" / "tools" / "seed_templates.json"


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from fc_plugin.sharegpt import to_sharegpt
    from fc_plugin.synth import Generator, SynthConfig, load_templates, load_tools
    from fc_plugin.validate import validate_sample

    tools = load_tools(TOOLS)
    templates = load_templates(TEMPLATES, tools)
    config = SynthConfig(n=args.n, langs=("en", "zh"), seed=args.seed)
    rows: dict[str, dict[str, float]] = {}
    print(f"fc-plugin synth --n {args.n} ...", file=sys.stderr)

    # the command first: a fresh child, so its peak memory is its own (not the parent's forked pages)
    with tempfile.TemporaryDirectory() as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        cmd = [str(Path(sys.executable).parent / "fc-plugin"), "synth", "--tools", str(TOOLS), "--templates",
               str(TEMPLATES), "--n", str(args.n), "--lang", "en,zh", "--seed", str(args.seed),
               "--out", f"{tmp}/data/bench.json", "--info", f"{tmp}/dataset_info.json", "--json"]  # fmt: skip
        start = time.perf_counter()
        run = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)  # stderr: its progress bar
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        report = json.loads(run.stdout)
        size_mb = Path(f"{tmp}/data/bench.json").stat().st_size / 2**20
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    rows["command"] = {"wall_s": wall, "cpu_s": cpu}
    assert report["samples"] == args.n and report["rejected"] == 0, report

    def generate() -> list:
        with tqdm(total=args.n, desc="generate", unit="sample") as bar:
            return Generator(tools, config, templates).generate(bar.update)

    samples, wall, cpu = _timed(generate)
    rows["generate"] = {"wall_s": wall, "cpu_s": cpu}
    problems, wall, cpu = _timed(lambda: sum(bool(validate_sample(s)) for s in tqdm(samples, desc="validate")))
    assert problems == 0, f"{problems} generated samples are invalid"
    rows["validate"] = {"wall_s": wall, "cpu_s": cpu}
    _, wall, cpu = _timed(lambda: [json.dumps(to_sharegpt(s), ensure_ascii=False) for s in tqdm(samples, desc="serialise")])
    rows["serialise"] = {"wall_s": wall, "cpu_s": cpu}

    command_cpu = rows["command"]["cpu_s"]
    print(f"\n{args.n:,} samples (seed tools, en+zh, default mix)")
    print(f"{'stage':<10} {'wall s':>8} {'cpu s':>8} {'samples/s (cpu)':>16} {'share of command':>17}")
    for stage, r in rows.items():
        r["samples_per_s_cpu"] = round(args.n / r["cpu_s"]) if r["cpu_s"] else None
        r["samples_per_s_wall"] = round(args.n / r["wall_s"])
        r["share_of_command"] = round(r["cpu_s"] / command_cpu, 3)
        print(f"{stage:<10} {r['wall_s']:>8.1f} {r['cpu_s']:>8.1f} {r['samples_per_s_cpu']:>16,} {r['share_of_command']:>17.2f}")
    peak_mb = after.ru_maxrss / 1024
    print(f"command: peak memory {peak_mb:.0f} MB, dataset {size_mb:.0f} MB; "
          f"{args.n:,} samples in {command_cpu:.1f} s CPU ({rows['command']['wall_s']:.1f} s wall); target: well under 60 s")  # fmt: skip
    result = {
        "n": args.n,
        "stages": {k: {kk: round(vv, 3) if isinstance(vv, float) else vv for kk, vv in v.items()} for k, v in rows.items()},
        "command_peak_rss_mb": round(peak_mb),
        "dataset_mb": round(size_mb, 1),
        "categories": report["categories"],
        "target_seconds": 60,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    save("synth.json", result)


if __name__ == "__main__":
    main()
