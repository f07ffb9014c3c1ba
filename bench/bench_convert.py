"""Conversion throughput and memory: `fc-plugin convert` vs a bare json.loads + json.dumps pass.

Generates an OpenAI-format JSONL file (single, parallel and multi-round tool calls, all distinct),
then runs, each in a fresh subprocess over the same file (the first three in `--rounds` interleaved
rounds, the fastest of each kept):

- ceiling: `for line in f: out.write(json.dumps(json.loads(line)))` - the practical upper bound;
- convert: the real pipeline (auto-detect, convert, normalise, validate with jsonschema, dedup,
  ShareGPT rows to a temp file, rename) without a tokenizer, with the modules `make install`
  compiled (`fc-plugin compile`);
- the same as Python (FC_PLUGIN_PURE=1: what runs where Cython or a C compiler is missing);
- the same in worker processes (ordered chunks; same output bytes), one per core up to 8;
- convert at a tenth of the records, to show that peak memory does not grow with the file.

Prints records/s and peak RSS (largest single process) side by side and writes
bench/results/convert.json.
Target: convert at half the ceiling or better; peak memory flat (only 8-byte dedup hashes and one
length per sample grow with the input).

    .venv/bin/python bench/bench_convert.py --records 200000
    .venv/bin/python bench/bench_convert.py --records 1000000   # the 1M-record memory claim
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from _results import save  # bench/ is on sys.path when a benchmark runs as a script
from tqdm import tqdm

CITIES = ["Beijing", "Shanghai", "Shenzhen", "Paris", "Berlin", "Tokyo", "Lima", "Oslo", "Cairo", "Quito"]
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Current weather of a city",
     "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}},
    {"type": "function", "function": {"name": "search_stock", "description": "Latest stock quote",
     "parameters": {"type": "object", "properties": {"symbol": {"type": "string"}, "days": {"type": "integer"}},
                    "required": ["symbol"]}}},
]  # fmt: skip


def make_record(i: int, rng: random.Random) -> dict:
    city = f"{rng.choice(CITIES)} #{i}"
    call = lambda c, k: {"id": f"c{k}", "type": "function",  # noqa: E731
                         "function": {"name": "get_weather", "arguments": json.dumps({"city": c, "unit": "celsius"})}}  # fmt: skip
    kind = i % 3
    msgs = [{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": f"Weather in {city}?"}]
    if kind == 0:  # single call, ends on the call
        msgs.append({"role": "assistant", "tool_calls": [call(city, 0)]})
    elif kind == 1:  # parallel call + results + answer
        msgs += [{"role": "assistant", "tool_calls": [call(city, 0), call(city + " north", 1)]},
                 {"role": "tool", "tool_call_id": "c0", "content": json.dumps({"temp": rng.randint(-10, 35)})},
                 {"role": "tool", "tool_call_id": "c1", "content": json.dumps({"temp": rng.randint(-10, 35)})},
                 {"role": "assistant", "content": f"It is mild in {city} today."}]  # fmt: skip
    else:  # multi-round: call, result, answer, follow-up, call, result, answer
        msgs += [{"role": "assistant", "tool_calls": [call(city, 0)]},
                 {"role": "tool", "tool_call_id": "c0", "content": json.dumps({"temp": rng.randint(-10, 35)})},
                 {"role": "assistant", "content": f"{city}: sunny."}, {"role": "user", "content": "And Oslo?"},
                 {"role": "assistant", "tool_calls": [call("Oslo", 1)]},
                 {"role": "tool", "tool_call_id": "c1", "content": json.dumps({"temp": rng.randint(-10, 35)})},
                 {"role": "assistant", "content": "Oslo: cold."}]  # fmt: skip
    return {"messages": msgs, "tools": TOOLS}


def generate(path: Path, n: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        for i in tqdm(range(n), desc=f"generate {n} records", unit="rec"):
            f.write(json.dumps(make_record(i, rng), ensure_ascii=False) + "\n")


PEAK = ("import resource; print('PEAK_KB', max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
        "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))")

CEILING = textwrap.dedent(f"""
    import json, sys, time
    t = time.perf_counter()
    n = 0
    with open(sys.argv[1], encoding="utf-8") as f, open(sys.argv[2], "w", encoding="utf-8") as out:
        for line in f:
            out.write(json.dumps(json.loads(line), ensure_ascii=False) + "\\n")
            n += 1
    print("SECONDS", time.perf_counter() - t, "RECORDS", n)
    {PEAK}
""")

CONVERT = textwrap.dedent(f"""
    import sys, time
    from fc_plugin.convert.pipeline import ConvertOptions, convert_files
    t, cpu = time.perf_counter(), time.process_time()
    options = ConvertOptions(progress=False, workers=int(sys.argv[4]))
    r = convert_files([sys.argv[1]], sys.argv[2], "bench", options, info_path=sys.argv[3])
    assert r.exit_code == 0 and r.rejected == 0, (r.reason, r.stats.to_dict())
    print("SECONDS", time.perf_counter() - t, "RECORDS", r.stats.records, "MAIN_CPU", time.process_time() - cpu)
    import fc_plugin.compiled
    print("COMPILED", len(fc_plugin.compiled.active_modules()))
    {PEAK}
""")


def run(script: str, *args: str, pure: bool = False) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "FC_PLUGIN_PURE"} | ({"FC_PLUGIN_PURE": "1"} if pure else {})
    proc = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, check=False, env=env)
    if proc.returncode:
        raise SystemExit(proc.stderr[-2000:])
    words = proc.stdout.split()
    value = lambda key: float(words[words.index(key) + 1])  # noqa: E731
    out = {"seconds": round(value("SECONDS"), 2), "records": int(value("RECORDS")),
           "records_per_s": round(value("RECORDS") / value("SECONDS")), "peak_rss_mb": round(value("PEAK_KB") / 1024, 1)}
    if "MAIN_CPU" in words:
        out["main_process_cpu_s"] = round(value("MAIN_CPU"), 2)
        out["compiled_modules"] = int(value("COMPILED"))
    return out  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--keep", help="folder to keep the generated files in (default: a temp folder)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the ceiling and the 1-process run; "
                        "the fastest of each is kept (this host is noisy)")
    parser.add_argument("--workers", type=int, default=0, help="worker processes for the parallel run (default: cores - 1, 2 to 8)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(args.keep or tmp_name)
        tmp.mkdir(parents=True, exist_ok=True)
        big, small = tmp / "big.jsonl", tmp / "small.jsonl"
        generate(big, args.records)
        generate(small, max(args.records // 10, 1))
        size_mb = big.stat().st_size / 2**20
        workers = args.workers or max(2, min(8, (os.cpu_count() or 1) - 1))
        one = (str(tmp / "info.json"), "1")
        paired = [("ceiling", CEILING, big, ()), ("convert_1_process", CONVERT, big, one),
                  ("convert_1_process_python", CONVERT, big, one)]  # fmt: skip
        steps = [*paired * max(1, args.rounds),
                 (f"convert_{workers}_workers", CONVERT, big, (str(tmp / "info.json"), str(workers))),
                 ("convert_tenth", CONVERT, small, (str(tmp / "info_small.json"), "1"))]  # fmt: skip
        res = {}
        for name, script, src, extra in tqdm(steps, desc="runs"):
            r = run(script, str(src), str(tmp / f"{name}.out.json"), *extra, pure=name.endswith("_python"))
            if name not in res or r["seconds"] < res[name]["seconds"]:
                res[name] = r
    parallel = next(k for k in res if k.endswith("_workers"))
    ratio_one = res["convert_1_process"]["records_per_s"] / res["ceiling"]["records_per_s"]
    ratio_python = res["convert_1_process_python"]["records_per_s"] / res["ceiling"]["records_per_s"]
    compiled = res["convert_1_process"]["compiled_modules"]
    ratio = res[parallel]["records_per_s"] / res["ceiling"]["records_per_s"]
    growth = res["convert_1_process"]["peak_rss_mb"] / res["convert_tenth"]["peak_rss_mb"]
    # with workers the main process only reads, dispatches and writes: its CPU time bounds throughput
    bound = res[parallel]["records"] / max(res[parallel]["main_process_cpu_s"], 1e-9)
    print(f"\n{args.records:,} OpenAI-format records, {size_mb:.0f} MiB JSONL")
    print(f"{'run':<26}{'records':>10}{'seconds':>10}{'records/s':>12}{'peak RSS MiB':>14}")
    for name, r in res.items():
        print(f"{name:<26}{r['records']:>10,}{r['seconds']:>10.2f}{r['records_per_s']:>12,}{r['peak_rss_mb']:>14.1f}")
    print(f"convert / ceiling throughput: 1 process {ratio_one:.2f} ({compiled} compiled modules; as Python "
          f"{ratio_python:.2f}, compiled/Python x{ratio_one / ratio_python:.2f}), {parallel} {ratio:.2f} (target >= 0.5)")
    if not compiled:
        print("no compiled modules were used: run `make install` (or `fc-plugin compile`) first")
    print(f"peak RSS (1 process) at 10x the records: x{growth:.2f}")
    print(f"{parallel}: main process CPU {res[parallel]['main_process_cpu_s']:.1f} s -> with enough cores at most "
          f"{bound:,.0f} records/s = {bound / res['ceiling']['records_per_s']:.2f} x ceiling")
    result = {
        "records": args.records,
        "rounds": max(1, args.rounds),
        "file_mib": round(size_mb, 1),
        **res,
        "throughput_ratio_1_process": round(ratio_one, 3),
        "throughput_ratio_1_process_python": round(ratio_python, 3),
        "compiled_modules": compiled,
        "throughput_ratio_parallel": round(ratio, 3),
        "parallel_run": parallel,
        "parallel_bound_records_per_s": round(bound),
        "parallel_bound_ratio": round(bound / res["ceiling"]["records_per_s"], 3),
        "target_ratio": 0.5,
        "peak_rss_growth_10x_records": round(growth, 2),
    }
    save("convert.json", result)


if __name__ == "__main__":
    main()
