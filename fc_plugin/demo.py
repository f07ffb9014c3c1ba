"""The demo behind `make demo`: the whole pipeline, offline, on CPU, proving that the model learns.

1. synthetic data for the seeds' tools (`fc-plugin synth`, 10% held out) plus the seed articles'
   own records converted from data/raw (`fc-plugin convert`);
2. a tiny random Qwen2-shaped model whose BPE tokenizer is trained on that data (`fc-plugin tiny-model`);
3. full fine-tuning through `llamafactory-cli train recipes/demo_tiny.yaml` with a plugin template,
   one worker per CPU core (torchrun + gloo, as on a multi-GPU machine);
4. `fc-plugin eval` on the held-out samples -> report (Markdown table, JSON, PNG chart).

Every step is a real command, printed so it can be re-run by hand. The same steps, with another
template or budget, drive bench/bench_learning.py.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

TEMPLATE = "fc_json_qwen"
TOOLS = "data/tools/seed_tools.json"
PHRASES = "data/tools/seed_templates.json"
CONVERTED = ["data/raw/seed003.json"]  # seed 003's records call the seeds' tools
N_SYNTH = 2400
HELD_OUT = 0.1
# A ~0.85M-parameter random model learns in minutes to pick the tool, the call/no-call decision and
# the JSON; copying arbitrary strings (random order ids, free-text bodies) takes it far longer. So
# the demo draws argument values from small banks: held-out samples are new combinations of
# requests, tools and values, never seen conversations. Real models copy arbitrary values.
DEMO_VALUES: dict[str, list] = {
    "city": ["Beijing", "Shanghai", "Paris", "Tokyo", "London", "Berlin", "Sydney", "Toronto", "Madrid", "Seoul", "Cairo", "Dubai"],
    "to": ["alice@example.com", "bob@example.com", "carol@corp.example", "dave@mail.example", "erin@example.org", "frank@example.net"],
    "subject": ["Meeting notes", "Budget update", "Travel plan", "Weekly report", "Project kickoff", "Lunch"],
    "body": ["See you at ten.", "The build passed.", "Please review the draft.", "The budget was approved.", "Call me back today."],
    "symbol": ["AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "GOOG", "META", "INTC"],
    "order_id": [f"ORD{n}" for n in (10001, 10002, 20417, 31415, 42000, 55555, 60210, 77777, 81234, 90909)],
    "duration": [15, 30, 45, 60, 90, 120],
    "expression": ["12 * 7", "380 / 19", "7 + 33", "150 - 42", "9 * 9", "64 / 8", "25 + 17", "100 - 1"],
}  # fmt: skip


def demo_env() -> dict[str, str]:
    """Offline, one BLAS thread per process (several times faster than two for matrices this small)."""
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", DISABLE_VERSION_CHECK="1", TOKENIZERS_PARALLELISM="false")
    env["OMP_NUM_THREADS"] = "1"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_step(title: str, cmd: list[str], env: dict[str, str], quiet: bool = False) -> float:
    """Run one pipeline command, printing it; returns its wall time in seconds."""
    print(f"\n==> {title}\n    $ {shlex.join(cmd)}", flush=True)
    start = time.perf_counter()
    out = subprocess.DEVNULL if quiet else None
    subprocess.run(cmd, env=env, check=True, stdout=out)
    seconds = time.perf_counter() - start
    print(f"    ({seconds:.0f}s)", flush=True)
    return seconds


def prepare_data(data: Path, env: dict[str, str], n: int = N_SYNTH) -> None:
    """Synthetic + converted datasets for the seeds' tools, registered in data/dataset_info.json."""
    info = data / "dataset_info.json"
    phrases = json.loads(Path(PHRASES).read_text(encoding="utf-8"))
    phrases["values"] = DEMO_VALUES
    data.mkdir(parents=True, exist_ok=True)
    (data / "synth_templates.json").write_text(json.dumps(phrases, ensure_ascii=False, indent=1), encoding="utf-8")
    run_step(
        "synthetic data for the seeds' tools (all five categories, 10% held out)",
        ["fc-plugin", "synth", "--tools", TOOLS, "--templates", str(data / "synth_templates.json"),
         "--n", str(n), "--lang", "en", "--seed", "0", "--max-tools", "1", "--thought-rate", "0",
         "--split-eval", str(HELD_OUT), "--out", str(data / "fc_demo_synth.json"), "--info", str(info),
         "--no-progress"],
        env,
    )  # fmt: skip
    run_step(
        "the seed articles' records, converted",
        ["fc-plugin", "convert", "--from", "auto", *CONVERTED, "--out", str(data / "fc_demo_converted.json"),
         "--name", "fc_demo_converted", "--info", str(info)],
        env,
    )  # fmt: skip


def build_model(data: Path, model_dir: Path, env: dict[str, str], templates: tuple[str, ...] = (TEMPLATE,)) -> None:
    """The tiny random model, its BPE tokenizer trained on the training conversations rendered with `templates`."""
    from fc_plugin.sharegpt import from_sharegpt
    from fc_plugin.templates import render

    corpus = data / "tokenizer_corpus.txt"
    rows = json.loads((data / "fc_demo_synth.json").read_text(encoding="utf-8"))
    with corpus.open("w", encoding="utf-8") as f:
        for index, row in enumerate(rows[:1500]):
            sample = from_sharegpt(row)
            template = templates[index % len(templates)]
            f.write(render(template, sample.chat_messages(), sample.tools) + "\n")
    run_step(
        "tiny random model + BPE tokenizer trained on the data (offline)",
        ["fc-plugin", "tiny-model", str(model_dir), "--pre-tokenizer", "words", "--vocab-size", "2048",
         "--hidden-size", "128", "--layers", "4", "--intermediate-size", "256", "--corpus", str(corpus)],
        env,
        quiet=True,
    )  # fmt: skip


def train(model_init: Path, data: Path, out: Path, env: dict[str, str], template: str = TEMPLATE, *extra: str) -> float:
    """Full fine-tuning through llamafactory-cli, one worker per core (at most 2); returns seconds."""
    workers = max(1, min(2, os.cpu_count() or 1))
    env = {**env, "FORCE_TORCHRUN": "1", "NPROC_PER_NODE": str(workers)}
    return run_step(
        f"full fine-tuning with llamafactory-cli, template {template} ({workers} CPU worker(s))",
        ["llamafactory-cli", "train", "recipes/demo_tiny.yaml", f"model_name_or_path={model_init}",
         f"dataset_dir={data}", f"output_dir={out}", f"template={template}",
         f"per_device_train_batch_size={8 // workers}", "ddp_backend=gloo", *extra],
        env,
    )  # fmt: skip


def evaluate(model: Path, data: Path, out: Path, env: dict[str, str], template: str = TEMPLATE) -> dict:
    """`fc-plugin eval` on the held-out split; returns report.json."""
    run_step(
        "evaluation on the held-out samples",
        ["fc-plugin", "eval", "--model", str(model), "--template", template,
         "--data", str(data / "fc_demo_synth_eval.json"), "--out", str(out), "--batch-size", "16"],
        env,
    )  # fmt: skip
    return json.loads((out / "report.json").read_text())


def run_demo(out: str | Path, samples: int = N_SYNTH, max_steps: int | None = None) -> int:
    """Run the demo into `out` (default outputs/demo); returns 0 when the learning targets are met.

    `samples` and `max_steps` shrink the run (the end-to-end test uses them); the defaults are the demo.
    """
    if not Path("recipes/demo_tiny.yaml").exists():
        raise OSError("run the demo from the project root (recipes/demo_tiny.yaml not found)")
    out = Path(out)
    data, model_init, model, evaluation = out / "data", out / "model_init", out / "model", out / "eval"
    env = demo_env()
    started = time.perf_counter()
    prepare_data(data, env, n=samples)
    build_model(data, model_init, env)
    short = [f"max_steps={max_steps}", "logging_steps=1"] if max_steps else []  # a loss point per step
    train(model_init, data, model, env, TEMPLATE, *short)
    report = evaluate(model, data, evaluation, env)

    summary = {
        "exact_call_accuracy": report["exact_call_accuracy"],
        "call_decision_accuracy": report["call_decision_accuracy"],
        "held_out_samples": report["overall"]["count"],
        "template": TEMPLATE,
        "minutes": round((time.perf_counter() - started) / 60, 1),
        "eval_report": str(evaluation / "report.json"),
    }
    (out / "report.json").write_text(json.dumps(summary, indent=2) + "\n")
    print("\n==> report\n")
    markdown = evaluation / "report.md"
    if markdown.exists():
        print(markdown.read_text())
    print(f"exact call accuracy:    {summary['exact_call_accuracy']:.1%} (target >= 90%)")
    print(f"call decision accuracy: {summary['call_decision_accuracy']:.1%} (target >= 95%)")
    print(f"minutes (install excluded): {summary['minutes']}")
    print(f"\nreport:    {out / 'report.json'}")
    print(f"loss plot: {model / 'training_loss.png'}")
    for chart in sorted(evaluation.glob("*.png")):
        print(f"chart:     {chart}")
    print(f"model:     {model}")
    met = summary["exact_call_accuracy"] >= 0.9 and summary["call_decision_accuracy"] >= 0.95
    if not met:
        print("\nthe learning targets were not met on this run", file=sys.stderr)
    return 0 if met else 1
