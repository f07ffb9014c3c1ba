"""`fc-plugin demo` runs the whole pipeline (synth + convert -> eval of the shipped base -> full fine-tuning
through llamafactory-cli train with torchrun workers -> fc-plugin eval -> compare) and writes the report `make demo`
prints. A shrunken run: it checks the pipeline and the report, not the accuracy (that is `make demo`'s job)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from fc_plugin.demo import EXTRA_SETS, TRAIN_SETS

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.e2e
def test_demo_pipeline_writes_report(tmp_path: Path, lf_env: dict[str, str]) -> None:
    out = tmp_path / "demo"
    run = subprocess.run(
        ["fc-plugin", "demo", "--out", str(out), "--samples", "200", "--max-steps", "4"],
        cwd=ROOT, env=lf_env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert run.returncode in (0, 1), run.stderr[-3000:]  # 1 = ran, but the learning targets were not met
    report = json.loads((out / "report.json").read_text())
    assert 0.0 <= report["exact_call_accuracy"] <= report["call_decision_accuracy"] <= 1.0
    assert report["held_out_samples"] > 0 and report["template"] == "fc_json_qwen"
    assert set(report["base_model"]) == {"exact_call_accuracy", "call_decision_accuracy", "unseen_value_exact_call_accuracy"}

    # full fine-tuning of the shipped base (same architecture and tokenizer), not a fresh random model
    config = json.loads((out / "model" / "config.json").read_text())
    base = json.loads((ROOT / "models" / "fc_tiny_base" / "config.json").read_text())
    assert {k: config[k] for k in ("hidden_size", "num_hidden_layers", "vocab_size")} == {
        k: base[k] for k in ("hidden_size", "num_hidden_layers", "vocab_size")
    }
    assert (out / "model" / "model.safetensors").exists() and (out / "model" / "training_loss.png").exists()
    assert report["finetuning"] == "full"
    assert (out / "eval" / "report.md").exists() and list((out / "eval").glob("*.png"))

    # unseen values: listed per sample, each absent from the training files, counted in the report
    tuned = json.loads((out / "eval" / "report.json").read_text())
    train_text = "".join((out / "data" / f"{name}.json").read_text(encoding="utf-8") for name in TRAIN_SETS)
    marked = [v for v in tuned["samples"] if v["unseen_values"]]
    assert marked and tuned["unseen_value_samples"] == len(marked) == report["unseen_value_samples"]
    for verdict in marked:
        for value in verdict["unseen_values"]:
            assert (value if isinstance(value, str) else json.dumps(value)) not in train_text
    assert tuned["unseen_value_exact_call_accuracy"] == pytest.approx(
        sum(v["exact_match"] for v in marked) / len(marked), abs=1e-6
    )

    # before (the base alone) next to after (base + adapter)
    before = json.loads((out / "eval_base" / "report.json").read_text())
    assert before["inputs"]["model"].endswith("fc_tiny_base") and tuned["inputs"]["model"] == str(out / "model")
    compare = (out / "compare.md").read_text()
    assert "unseen-value exact" in compare and "eval_base" in compare.splitlines()[0]
    for text in ("exact call accuracy", "unseen-value exact", "training_loss.png", "Before and after"):
        assert text in run.stdout, text
    info = json.loads((out / "data" / "dataset_info.json").read_text())
    assert {"fc_demo_synth_eval", *TRAIN_SETS} <= set(info)
    # the extra training sets: each of its own kind, none of them a held-out, main-set or earlier extra sample
    # (generic chit-chat such as "Thanks!" recurs with other tool lists, as between synth's own splits)
    def rows(name: str) -> list[dict]:
        return json.loads((out / "data" / f"{name}.json").read_text(encoding="utf-8"))

    def turns(name: str) -> set[str]:  # synth's identity of a sample: its turns, calls and listed tools
        return {
            json.dumps([[t["value"] for t in r["conversations"]], sorted(t["name"] for t in json.loads(r["tools"]))])
            for r in rows(name)
        }

    def categories(name: str) -> set[str]:
        return {json.loads(r["meta"])["category"] for r in rows(name)}

    assert [name for name, _, _ in EXTRA_SETS] == ["fc_demo_parallel", "fc_demo_select", "fc_demo_slots"]
    assert categories("fc_demo_parallel") == {"parallel"} and categories("fc_demo_slots") == {"slot_filling"}
    assert categories("fc_demo_select") == {"single", "no_call"}
    # three tools listed in every selection sample (the main set lists one a prompt, except parallel calls)
    assert {len(json.loads(r["tools"])) for r in rows("fc_demo_select")} == {3}
    seen = turns("fc_demo_synth_eval") | turns("fc_demo_synth")
    for name, _, _ in EXTRA_SETS:
        extra = turns(name)
        assert extra and not extra & seen, name
        seen |= extra


@pytest.mark.e2e
def test_demo_with_lora_trains_an_adapter_on_the_shipped_base(tmp_path: Path, lf_env: dict[str, str]) -> None:
    """`--finetuning lora`: demo_lora.yaml's adapter (fc_lora.yaml's rank/alpha), evaluated on top of the base."""
    out = tmp_path / "demo_lora"
    run = subprocess.run(
        ["fc-plugin", "demo", "--out", str(out), "--samples", "100", "--max-steps", "2", "--finetuning", "lora"],
        cwd=ROOT, env=lf_env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert run.returncode in (0, 1), run.stderr[-3000:]
    adapter = json.loads((out / "model" / "adapter_config.json").read_text())
    assert adapter["r"] == 16 and adapter["lora_alpha"] == 32
    assert Path(adapter["base_model_name_or_path"]).name == "fc_tiny_base"
    assert not (out / "model" / "model.safetensors").exists()
    tuned = json.loads((out / "eval" / "report.json").read_text())
    assert tuned["inputs"]["adapter"] == str(out / "model") and tuned["inputs"]["model"].endswith("fc_tiny_base")
    assert json.loads((out / "report.json").read_text())["finetuning"] == "lora"
