"""Recipes (recipes/**/*.yaml), DeepSpeed configs, `fc-plugin mix`, `fc-plugin split` and the general-chat data.

Every recipe is parsed by LLaMA-Factory's own argument parser; the ones that can run on a CPU run
two real training steps on the tiny model (e2e); the mixing helper's ratio is checked on real
datasets run through LLaMA-Factory's real loading, mixing, dropping and tokenisation (e2e).
"""

from __future__ import annotations

import json
import math
import subprocess
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from llamafactory.extras import logging as lf_logging
from omegaconf import OmegaConf

from fc_plugin import general_chat, templates
from fc_plugin.categories import categorize
from fc_plugin.cli import main as fc_main
from fc_plugin.demo import TRAIN_SETS
from fc_plugin.mix import SourceSize, dataset_sizes, parse_ratio, plan_mix, set_recipe_keys
from fc_plugin.sharegpt import from_sharegpt
from fc_plugin.split import split_by_category

# LLaMA-Factory's log handler keeps the sys.stdout it first sees: bind it now (pytest's session-long
# capture), not to the temporary stream of a test using capsys, which is closed after that test.
lf_logging.get_logger(__name__)

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "recipes").rglob("*.yaml"))
DEEPSPEED_CONFIGS = sorted((ROOT / "recipes" / "deepspeed").glob("*.json"))

# Recipes that need what a CPU machine lacks: bitsandbytes + CUDA, or DeepSpeed.
GPU_ONLY = {
    "recipes/fc_qlora_4bit.yaml": "bitsandbytes 4-bit loading needs a CUDA GPU",
    "recipes/fc_lora_ds_z2.yaml": "DeepSpeed is not installed (and needs GPUs)",
    "recipes/fc_full_ds_z3.yaml": "DeepSpeed is not installed (and needs GPUs)",
}
# `make demo`'s configs (full fine-tuning / LoRA of the tiny base, CPU, fp32); run in tests/test_demo_e2e.py
# (both methods).
CPU_DEMO = {"recipes/demo_full.yaml": "recipes/fc_full.yaml", "recipes/demo_lora.yaml": "recipes/fc_lora.yaml"}
# CPU-runnable train recipes run below; fc_lora.yaml runs in tests/test_train_e2e.py; the stages,
# predict and export recipes run chained in test_stages_predict_export_chain.
SINGLE_RUNS = ["recipes/fc_lora_r32.yaml", "recipes/fc_lora_attn_qv.yaml", "recipes/fc_full.yaml",
               "recipes/fc_mix_2to1.yaml", "recipes/fc_mix_3to1.yaml", "recipes/fc_lora_augmented.yaml"]  # fmt: skip
CHAINED = ["recipes/stages/fc_stage1_decide.yaml", "recipes/stages/fc_stage2_arguments.yaml",
           "recipes/stages/fc_stage3_joint.yaml", "recipes/fc_predict.yaml", "recipes/fc_export.yaml"]  # fmt: skip
CPU_OVERRIDES = ["bf16=false", "max_steps=2", "per_device_train_batch_size=2", "gradient_accumulation_steps=1",
                 "save_steps=1000", "eval_steps=1000"]  # fmt: skip

# What each variant may change relative to fc_lora.yaml (besides output_dir): its reason to exist.
VARIANT_KEYS = {
    "recipes/fc_lora_r32.yaml": {"lora_rank", "lora_alpha"},
    "recipes/fc_lora_attn_qv.yaml": {"lora_target"},
    "recipes/fc_qlora_4bit.yaml": {"quantization_bit", "quantization_method", "quantization_type",
                                   "double_quantization", "upcast_layernorm"},  # fmt: skip
    "recipes/fc_full.yaml": {"finetuning_type", "learning_rate", "save_steps",
                             "lora_rank", "lora_alpha", "lora_dropout", "lora_target"},  # fmt: skip
    "recipes/fc_lora_ds_z2.yaml": {"deepspeed", "gradient_accumulation_steps"},
    "recipes/fc_full_ds_z3.yaml": {"deepspeed", "gradient_accumulation_steps", "finetuning_type", "learning_rate",
                                   "save_steps", "lora_rank", "lora_alpha", "lora_dropout", "lora_target"},  # fmt: skip
    "recipes/fc_mix_2to1.yaml": {"dataset", "mix_strategy", "interleave_probs"},
    "recipes/fc_mix_3to1.yaml": {"dataset", "mix_strategy", "interleave_probs"},
    "recipes/fc_lora_augmented.yaml": {"dataset"},
    "recipes/stages/fc_stage1_decide.yaml": {"dataset"},
    "recipes/stages/fc_stage2_arguments.yaml": {"dataset", "adapter_name_or_path"},
    "recipes/stages/fc_stage3_joint.yaml": {"dataset", "adapter_name_or_path", "mix_strategy", "interleave_probs"},
}


def load_recipe(path: str | Path) -> dict[str, Any]:
    """A recipe as `llamafactory-cli` reads it (OmegaConf)."""
    return OmegaConf.to_container(OmegaConf.load(ROOT / path))  # type: ignore[return-value]


# -- parsing by LLaMA-Factory ------------------------------------------------------------------
def test_every_recipe_is_classified() -> None:
    """A new recipe must be parsed and either run on CPU here or be listed as GPU-only with a reason."""
    covered = set(GPU_ONLY) | set(SINGLE_RUNS) | set(CHAINED) | {"recipes/fc_lora.yaml"} | set(CPU_DEMO)
    assert set(RECIPES) == covered


@pytest.mark.parametrize("recipe", RECIPES)
def test_recipe_parses_with_llamafactory(recipe: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """LLaMA-Factory's own parser: no unknown key (ALLOW_EXTRA_ARGS off), none of its conflict checks fires.

    Two adjustments, both about this CPU machine, not the recipe: `use_cpu=True` (transformers
    refuses bf16 without a GPU otherwise) and, for DeepSpeed recipes, `deepspeed` is taken out
    (TrainingArguments imports deepspeed when it is set; the config file is checked against the
    parsed arguments by test_deepspeed_config_matches_recipe instead).
    """
    from llamafactory.hparams import get_infer_args, get_train_args

    monkeypatch.delenv("ALLOW_EXTRA_ARGS", raising=False)
    cfg = load_recipe(recipe)
    assert "model_name_or_path" in cfg and "template" in cfg
    if "export_dir" in cfg:  # `llamafactory-cli export` parses with the inference parser
        model_args, data_args, finetuning_args, _ = get_infer_args(cfg)
        assert model_args.export_dir == cfg["export_dir"] and finetuning_args.finetuning_type == "lora"
        return
    cfg["use_cpu"] = True
    cfg.pop("deepspeed", None)
    model_args, data_args, training_args, finetuning_args, generating_args = get_train_args(cfg)
    assert data_args.template == cfg["template"]
    if recipe in CPU_DEMO:  # the CPU demo's own configs: the shipped base, fp32, their parent's method
        parent = load_recipe(CPU_DEMO[recipe])
        assert finetuning_args.finetuning_type == parent["finetuning_type"] and not training_args.bf16
        assert model_args.model_name_or_path == "models/fc_tiny_base"
        assert data_args.dataset == list(TRAIN_SETS), "the demo trains on what fc_plugin.demo writes"
        for key in ("lora_rank", "lora_alpha", "lora_dropout", "lora_target", "lr_scheduler_type", "template"):
            assert cfg.get(key) == parent.get(key), key
        return
    assert data_args.dataset_dir == "."
    if training_args.do_train:
        assert training_args.bf16, "train recipes default to bf16 (overridden only for CPU runs)"
        assert training_args.lr_scheduler_type == "cosine" and training_args.warmup_ratio > 0
        assert data_args.val_size > 0 and finetuning_args.plot_loss
        assert data_args.cutoff_len >= 4096, "long tool schemas need a long cutoff"
        effective = training_args.per_device_train_batch_size * training_args.gradient_accumulation_steps
        assert effective >= 4
    if finetuning_args.finetuning_type == "lora" and training_args.do_train:
        assert finetuning_args.lora_alpha == 2 * finetuning_args.lora_rank
        assert 1e-4 <= training_args.learning_rate <= 2e-4
    if training_args.do_predict:
        assert training_args.predict_with_generate and generating_args.do_sample is False


def test_parser_rejects_unknown_and_conflicting_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Negative control: the parse test above would catch a typo or a conflict."""
    from llamafactory.hparams import get_train_args

    monkeypatch.delenv("ALLOW_EXTRA_ARGS", raising=False)
    cfg = {**load_recipe("recipes/fc_lora.yaml"), "use_cpu": True}
    with pytest.raises(ValueError, match="lora_rnk"):
        get_train_args({**cfg, "lora_rnk": 8})
    with pytest.raises(ValueError, match="interleave"):
        get_train_args({**cfg, "interleave_probs": "0.5,0.5"})  # probs with the default concat strategy
    with pytest.raises(ValueError, match="Quantization is only compatible"):
        get_train_args({**cfg, "finetuning_type": "full", "quantization_bit": 4})


@pytest.mark.parametrize("recipe", sorted(VARIANT_KEYS))
def test_variant_differs_from_fc_lora_only_where_documented(recipe: str) -> None:
    base, variant = load_recipe("recipes/fc_lora.yaml"), load_recipe(recipe)
    changed = {k for k in base.keys() | variant.keys() if base.get(k) != variant.get(k)} - {"output_dir"}
    assert changed == VARIANT_KEYS[recipe]
    assert variant["output_dir"] != base["output_dir"], "each recipe writes to its own folder"


def test_recipes_have_a_header_and_are_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for recipe in RECIPES:
        text = (ROOT / recipe).read_text(encoding="utf-8")
        assert text.startswith(f"# {Path(recipe).name} — "), recipe
        for part in ("For:", "Memory:", "Change:"):
            assert part in text, f"{recipe}: header lacks {part!r}"
        assert Path(recipe).name in readme, f"{recipe} missing from README.md"


# -- DeepSpeed ---------------------------------------------------------------------------------
def _hf_trainer_ds_config(config: dict[str, Any]) -> Any:
    """transformers' HfTrainerDeepSpeedConfig (the object the Trainer builds from `deepspeed:`), made
    without the deepspeed package: its base class is accelerate's, its methods transformers' own."""
    from accelerate.utils.deepspeed import HfDeepSpeedConfig
    from transformers.integrations import deepspeed as hf_ds

    methods = {k: hf_ds.HfTrainerDeepSpeedConfig.__dict__[k] for k in
               ("dtype", "is_auto", "fill_match", "fill_only", "trainer_config_process", "trainer_config_finalize")}  # fmt: skip

    def __init__(self: Any, cfg: dict[str, Any]) -> None:
        HfDeepSpeedConfig.__init__(self, cfg)
        self._dtype, self.mismatches = None, []

    return type("TrainerDSConfig", (HfDeepSpeedConfig,), {"__init__": __init__, **methods})(config)


def _autos(node: Any, path: str = "") -> list[str]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _autos(v, f"{path}.{k}".lstrip("."))]
    return [path] if node == "auto" else []


@pytest.mark.parametrize("config_path", DEEPSPEED_CONFIGS, ids=lambda p: p.name)
def test_deepspeed_config_is_valid(config_path: Path) -> None:
    config = json.loads(config_path.read_text(encoding="utf-8"))
    ds = _hf_trainer_ds_config(config)
    stage = int(config_path.name.split("_z")[1][0])
    assert config["zero_optimization"]["stage"] == stage == (3 if ds.is_zero3() else 2)
    assert ds.is_offload() == ("offload" in config_path.name)
    # batch sizes, clipping and precision come from the recipe, never hard-coded twice
    for key in ("train_batch_size", "train_micro_batch_size_per_gpu", "gradient_accumulation_steps",
                "gradient_clipping", "fp16.enabled", "bf16.enabled"):  # fmt: skip
        assert ds.get_value(key) == "auto", key


@pytest.mark.parametrize("recipe", ["recipes/fc_lora_ds_z2.yaml", "recipes/fc_full_ds_z3.yaml"])
def test_deepspeed_config_matches_recipe(recipe: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fill the recipe's DeepSpeed config from its parsed TrainingArguments with transformers' own
    code (trainer_config_process/finalize): nothing conflicts and no `auto` is left unfilled."""
    from llamafactory.hparams import get_train_args

    monkeypatch.delenv("ALLOW_EXTRA_ARGS", raising=False)
    cfg = load_recipe(recipe)
    config_path = ROOT / cfg.pop("deepspeed")
    assert config_path.parent == ROOT / "recipes" / "deepspeed" and config_path.is_file()
    training_args = get_train_args({**cfg, "use_cpu": True})[2]
    ds = _hf_trainer_ds_config(json.loads(config_path.read_text(encoding="utf-8")))
    ds.trainer_config_process(training_args)
    model = SimpleNamespace(config=SimpleNamespace(hidden_size=1536))
    ds.trainer_config_finalize(training_args, model, num_training_steps=1000)  # raises on mismatches
    assert ds.mismatches == [] and _autos(ds.config) == []
    assert ds.get_value("bf16.enabled") is True and ds.get_value("train_micro_batch_size_per_gpu") == 2

    conflicting = json.loads(config_path.read_text(encoding="utf-8"))
    conflicting["train_micro_batch_size_per_gpu"] = 7  # negative control
    bad = _hf_trainer_ds_config(conflicting)
    bad.trainer_config_process(training_args)
    with pytest.raises(ValueError, match="train_micro_batch_size_per_gpu"):
        bad.trainer_config_finalize(training_args, model, num_training_steps=1000)


# -- mixing helper ---------------------------------------------------------------------------------
def test_parse_ratio() -> None:
    assert parse_ratio("2:1") == [2.0, 1.0]
    assert parse_ratio("3 : 1.5", 2) == [3.0, 1.5]
    for bad in ("2:x", "2:0", "-1:1", "nan:1"):
        with pytest.raises(ValueError, match="ratio"):
            parse_ratio(bad)
    with pytest.raises(ValueError, match="2 parts but 3 datasets"):
        parse_ratio("2:1", 3)


def test_plan_corrects_for_rows_llamafactory_drops() -> None:
    sizes = [SourceSize("chat", 1000, 1000), SourceSize("fc", 500, 400)]  # 20% of fc rows are dropped
    plan = plan_mix(sizes, [2, 1])
    assert math.fsum(plan.probs) == 1.0  # numpy's rng.choice rejects probabilities off by > 1e-8
    chat, fc = plan.sources
    assert chat.trained / fc.trained == pytest.approx(2.0, rel=1e-4)  # in trained samples, not in draws
    assert plan.probs[0] / plan.probs[1] == pytest.approx(2 * 0.8, rel=1e-4)
    assert fc.passes == pytest.approx(1.0) and chat.passes < 1  # under: stops when fc runs out
    over = plan_mix([SourceSize("chat", 100, 100), SourceSize("fc", 500, 500)], [3, 1], "interleave_over")
    assert over.sources[0].passes > 1 and over.sources[1].passes == pytest.approx(1.0)  # chat repeated
    assert over.sources[0].trained / over.sources[1].trained == pytest.approx(3.0, rel=1e-4)
    assert over.yaml_lines() == "dataset: chat,fc\nmix_strategy: interleave_over\ninterleave_probs: 0.75,0.25\n"
    with pytest.raises(ValueError, match="interleave_once"):
        plan_mix(sizes, [2, 1], "interleave_once")


def _write_fc_rows(path: Path, n: int, invalid_every: int = 0) -> None:
    """n function-call rows from the shipped demo (made distinct); every k-th is broken the way
    LLaMA-Factory drops: it starts with the assistant turn ("Invalid role tag ... Skipping")."""
    demo = json.loads((ROOT / "data" / "fc_demo.json").read_text(encoding="utf-8"))
    rows = []
    for i in range(n):
        row = json.loads(json.dumps(demo[i % len(demo)]))
        row["conversations"][0]["value"] += f" (request {i})"
        if invalid_every and i % invalid_every == invalid_every - 1:
            row["conversations"] = row["conversations"][1:]
        rows.append(row)
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")


def _mix_dir(tmp: Path, chat_rows: int, fc_rows: int, invalid_every: int) -> Path:
    (tmp / "chat.json").write_text(json.dumps(general_chat.general_chat_rows("en", chat_rows, seed=1)), encoding="utf-8")
    _write_fc_rows(tmp / "fc.json", fc_rows, invalid_every)
    fc_entry = json.loads((ROOT / "dataset_info.json").read_text(encoding="utf-8"))["fc_demo"]
    info = {
        "chat": {**general_chat.GENERAL_CHAT_ENTRY, "file_name": "chat.json"},
        "fc": {**fc_entry, "file_name": "fc.json"},
        "hub_chat": general_chat.HUB_ENTRIES["alpaca_gpt4_en"],
    }
    (tmp / "dataset_info.json").write_text(json.dumps(info), encoding="utf-8")
    return tmp


def test_dataset_sizes_counts_what_llamafactory_keeps(tmp_path: Path) -> None:
    d = _mix_dir(tmp_path, 50, 40, invalid_every=4)
    chat, fc = dataset_sizes(["chat", "fc"], d)
    assert (chat.rows, chat.valid) == (50, 50)
    assert (fc.rows, fc.valid) == (40, 30)
    (fc_first,) = dataset_sizes(["fc"], d, max_samples=8)  # LLaMA-Factory keeps the first max_samples rows
    assert (fc_first.rows, fc_first.valid) == (8, 6)
    with pytest.raises(ValueError, match="--size hub_chat=ROWS"):
        dataset_sizes(["hub_chat", "fc"], d)
    hub, _ = dataset_sizes(["hub_chat", "fc"], d, known={"hub_chat": 52002})
    assert hub.rows == hub.valid == 52002
    with pytest.raises(ValueError, match="nosuch"):
        dataset_sizes(["nosuch"], d)


def test_mix_cli_writes_a_recipe_and_reports_errors_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = _mix_dir(tmp_path, 60, 30, invalid_every=5)
    out = tmp_path / "my_mix.yaml"
    assert fc_main(["mix", "chat,fc", "--ratio", "2:1", "--dataset-dir", str(d), "--write", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "fc: 30 rows, 24 kept by LLaMA-Factory (6 dropped)" in printed
    assert "Skipping this abnormal example" not in printed  # LLaMA-Factory's per-row warnings are muted
    assert "interleave_probs: 0.615385,0.384615\n" in printed  # 2 : 1 / (24/30) = 2 : 1.25
    written = OmegaConf.to_container(OmegaConf.load(out))
    base = load_recipe("recipes/fc_lora.yaml")
    assert written == {**base, "dataset": "chat,fc", "mix_strategy": "interleave_under",
                       "interleave_probs": "0.615385,0.384615"}  # fmt: skip
    assert "# fc_lora.yaml" in out.read_text(encoding="utf-8")  # the base recipe's comments are kept

    assert fc_main(["mix", "chat,fc", "--ratio", "2:1:1", "--dataset-dir", str(d)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "3 parts but 2 datasets" in err
    assert fc_main(["mix", "chat,fc", "--ratio", "2:1", "--dataset-dir", str(d), "--size", "chat=lots"]) == 2
    assert "expected NAME=ROWS" in capsys.readouterr().err


def test_set_recipe_keys_keeps_comments_and_order() -> None:
    text = "# header\ndataset: a  # x\ntemplate: t\nmix_strategy: concat\n"
    out = set_recipe_keys(text, {"dataset": "a,b", "interleave_probs": "0.5,0.5", "mix_strategy": "interleave_under"})
    assert out == "# header\ndataset: a,b\ninterleave_probs: 0.5,0.5\ntemplate: t\nmix_strategy: interleave_under\n"


@pytest.mark.parametrize("recipe", ["recipes/fc_mix_2to1.yaml", "recipes/fc_mix_3to1.yaml",
                                    "recipes/stages/fc_stage3_joint.yaml"])  # fmt: skip
def test_mix_recipes_hold_what_the_helper_computes(recipe: str) -> None:
    cfg = load_recipe(recipe)
    names = cfg["dataset"].split(",")
    ratio = {"2to1": [2, 1], "3to1": [3, 1], "joint": [2, 1]}[Path(recipe).stem.split("_")[-1]]
    plan = plan_mix(dataset_sizes(names, ROOT), ratio, cfg["mix_strategy"])
    assert plan.recipe_overrides()["interleave_probs"] == cfg["interleave_probs"]
    assert names[0].startswith("general_chat") and math.fsum(map(float, cfg["interleave_probs"].split(","))) == 1.0


# -- general chat data -----------------------------------------------------------------------------
def test_general_chat_is_deterministic_and_shipped_as_generated() -> None:
    info = json.loads((ROOT / "dataset_info.json").read_text(encoding="utf-8"))
    for lang in general_chat.LANGS:
        rows = general_chat.general_chat_rows(lang)
        assert rows == general_chat.general_chat_rows(lang)
        shipped = json.loads((ROOT / "data" / f"general_chat_{lang}.json").read_text(encoding="utf-8"))
        assert shipped == rows, "data/general_chat_*.json must be regenerated with python -m fc_plugin.general_chat"
        assert len({json.dumps(r["conversations"]) for r in rows}) == len(rows) == general_chat.DEFAULT_ROWS
        assert all("tools" not in r and r["conversations"][-1]["from"] == "gpt" for r in rows)
        assert info[f"general_chat_{lang}"] == {"file_name": f"data/general_chat_{lang}.json",
                                                **general_chat.GENERAL_CHAT_ENTRY}  # fmt: skip
        (size,) = dataset_sizes([f"general_chat_{lang}"], ROOT)
        assert size.valid == size.rows == len(rows)  # LLaMA-Factory keeps every row
    for name, entry in general_chat.HUB_ENTRIES.items():
        assert info[name] == entry and "hf_hub_url" in entry
    with pytest.raises(ValueError, match="unknown language"):
        general_chat.general_chat_rows("fr")


def test_general_chat_answers_are_computed() -> None:
    rows = general_chat.general_chat_rows("en", 300)
    checked = 0
    for row in rows:
        for q, a in zip(row["conversations"][::2], row["conversations"][1::2], strict=True):
            if q["value"].startswith("What is ") and " + " in q["value"]:
                x, y = q["value"][8:-1].split(" + ")
                assert a["value"] == f"{x} + {y} = {int(x) + int(y)}."
                checked += 1
            if q["value"].startswith("Spell '"):
                word = q["value"].split("'")[1]
                assert a["value"] == f"'{word}' backwards is '{word[::-1]}'."
                checked += 1
    assert checked > 10


# -- split by category -----------------------------------------------------------------------------
def test_split_by_category(tmp_path: Path) -> None:
    rows = json.loads((ROOT / "data" / "fc_demo.json").read_text(encoding="utf-8"))
    broken = {"conversations": [{"from": "human", "value": "hi"}, {"from": "function_call", "value": "{not json"}],
              "system": "", "tools": "[]"}  # fmt: skip
    src = tmp_path / "mine.json"
    src.write_text(json.dumps([*rows, broken]), encoding="utf-8")
    info = tmp_path / "dataset_info.json"
    result = split_by_category(src, tmp_path / "out", info_path=info, progress=False)
    expected = Counter(categorize(from_sharegpt(r)) for r in rows)
    assert result.counts == dict(expected) and result.rejected == 1
    reject = json.loads(result.rejects_path.read_text(encoding="utf-8"))
    assert reject["index"] == len(rows) and reject["code"] and reject["raw"] == broken
    registered = json.loads(info.read_text(encoding="utf-8"))
    for category, count in expected.items():
        written = json.loads(result.paths[category].read_text(encoding="utf-8"))
        assert len(written) == count and {categorize(from_sharegpt(r)) for r in written} == {category}
        assert registered[f"mine_{category}"]["file_name"] == f"out/mine_{category}.json"
    # the shipped fc_demo_* stage data is exactly what the split produces
    for category, path in result.paths.items():
        assert json.loads((ROOT / "data" / f"fc_demo_{category}.json").read_text()) == json.loads(path.read_text())


def test_split_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert fc_main(["split", str(tmp_path / "missing.json"), "--info", str(tmp_path / "i.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing.json" in err
    bad = tmp_path / "bad.json"
    bad.write_text('[{"conversations": [{"from": "gpt", "value": "x"}], "tools": "[]"}]', encoding="utf-8")
    assert fc_main(["split", str(bad), "--from", "sharegpt", "--out-dir", str(tmp_path), "--info", str(tmp_path / "i.json"),
                    "--no-progress"]) == 2  # fmt: skip
    assert "no valid sample" in capsys.readouterr().err
    assert (tmp_path / "bad_split.rejects.jsonl").read_text().count("\n") == 1


# -- real runs on the tiny model (e2e) ---------------------------------------------------------------
def _lf(command: str, recipe: str, env: dict[str, str], *overrides: str) -> subprocess.CompletedProcess[str]:
    cmd = ["llamafactory-cli", command, recipe, *overrides]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def _losses(out: Path) -> list[float]:
    lines = (out / "trainer_log.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["loss"] for line in lines if '"loss"' in line]


def _ok(run: subprocess.CompletedProcess[str]) -> None:
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]


@pytest.mark.e2e
@pytest.mark.parametrize("recipe", SINGLE_RUNS)
def test_cpu_recipe_trains_two_steps(recipe: str, tiny_model: Path, lf_env: dict[str, str], tmp_path: Path) -> None:
    cfg = load_recipe(recipe)
    out = tmp_path / "out"
    run = _lf("train", recipe, lf_env, f"model_name_or_path={tiny_model}", f"output_dir={out}", *CPU_OVERRIDES)
    _ok(run)
    losses = _losses(out)
    assert len(losses) == 2 and all(math.isfinite(x) and x > 0 for x in losses)
    assert (out / "training_loss.png").exists()
    if cfg["finetuning_type"] == "lora":
        adapter = json.loads((out / "adapter_config.json").read_text())
        assert adapter["r"] == cfg["lora_rank"] and adapter["lora_alpha"] == cfg["lora_alpha"]
        assert set(adapter["target_modules"]) == set(cfg["lora_target"].split(","))
    else:
        assert (out / "model.safetensors").exists() and not (out / "adapter_config.json").exists()
    if "interleave_probs" in cfg:
        assert "We recommend using `mix_strategy=concat`" in run.stdout + run.stderr  # interleaving was used


def _adapter_weights(path: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(path / "adapter_model.safetensors")


@pytest.mark.e2e
def test_stages_predict_export_chain(tiny_model: Path, lf_env: dict[str, str], tmp_path: Path) -> None:
    """Stage 1 -> 2 -> 3 each continue the previous adapter; predict and export use the stage-3 one."""
    import torch

    model = f"model_name_or_path={tiny_model}"
    outs = [tmp_path / f"stage{i}" for i in (1, 2, 3)]
    previous = None
    for recipe, out in zip(CHAINED[:3], outs, strict=True):
        extra = [f"adapter_name_or_path={previous}"] if previous else []
        run = _lf("train", recipe, lf_env, model, f"output_dir={out}", *CPU_OVERRIDES, *extra)
        _ok(run)
        assert len(_losses(out)) == 2
        if previous:
            assert f"Loaded adapter(s): {previous}" in run.stdout + run.stderr
            before, after = _adapter_weights(previous), _adapter_weights(out)
            assert before.keys() == after.keys()  # the same adapter, trained further
            assert any(not torch.equal(before[k], after[k]) for k in before)
        previous = out

    pred = tmp_path / "predict"
    run = _lf("train", "recipes/fc_predict.yaml", lf_env, model, f"adapter_name_or_path={outs[2]}",
              f"output_dir={pred}", "max_samples=4", "max_new_tokens=8", "per_device_eval_batch_size=2")  # fmt: skip
    _ok(run)
    predictions = [json.loads(line) for line in (pred / "generated_predictions.jsonl").read_text().splitlines()]
    demo = json.loads((ROOT / "data" / "fc_demo.json").read_text(encoding="utf-8"))
    assert len(predictions) == 4 and all({"prompt", "predict", "label"} <= p.keys() for p in predictions)
    # the label is the sample's last turn as the template renders it: parse it back into the call
    label_calls = templates.parse_calls(load_recipe("recipes/fc_predict.yaml")["template"], predictions[0]["label"]).calls
    expected = json.loads(demo[0]["conversations"][-1]["value"])
    assert [(c.name, c.arguments) for c in label_calls] == [(expected["name"], expected["arguments"])]

    merged = tmp_path / "merged"
    _ok(_lf("export", "recipes/fc_export.yaml", lf_env, model, f"adapter_name_or_path={outs[2]}", f"export_dir={merged}"))
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    ids = torch.tensor([[1, 5, 9, 14, 30, 2]])
    with torch.no_grad():
        exported = AutoModelForCausalLM.from_pretrained(merged, torch_dtype=torch.float32)(ids).logits
        base = AutoModelForCausalLM.from_pretrained(tiny_model, torch_dtype=torch.float32)
        with_adapter = PeftModel.from_pretrained(base, outs[2])(ids).logits
    assert torch.allclose(exported, with_adapter, atol=1e-4)


@pytest.mark.e2e
@pytest.mark.parametrize(("ratio", "strategy"), [("2:1", "interleave_under"), ("3:1", "interleave_over")])
def test_mix_ratio_holds_in_llamafactory_training_data(
    ratio: str, strategy: str, tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """`fc-plugin mix` probabilities -> LLaMA-Factory's real loading, interleaving, dropping of
    invalid rows and tokenisation -> the trained samples follow the ratio within 2 points of share."""
    from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
    from llamafactory.hparams import get_train_args
    from llamafactory.model import load_tokenizer

    d = _mix_dir(tmp_path, chat_rows=4000, fc_rows=2500, invalid_every=3)  # 1 fc row in 3 is dropped
    recipe = tmp_path / "mix.yaml"
    args = ["mix", "chat,fc", "--ratio", ratio, "--strategy", strategy, "--dataset-dir", str(d), "--write", str(recipe)]
    assert fc_main(args) == 0
    capsys.readouterr()
    cfg = OmegaConf.to_container(OmegaConf.load(recipe))
    cfg.update(model_name_or_path=str(tiny_model), dataset_dir=str(d), output_dir=str(tmp_path / "out"),
               bf16=False, val_size=0.0, eval_strategy="no", cutoff_len=1024)  # fmt: skip
    monkeypatch.delenv("ALLOW_EXTRA_ARGS", raising=False)
    model_args, data_args, training_args, _, _ = get_train_args(cfg)
    tokenizer_module = load_tokenizer(model_args)
    tokenizer = tokenizer_module["tokenizer"]
    template = get_template_and_fix_tokenizer(tokenizer, data_args)
    train = get_dataset(template, model_args, data_args, training_args, stage="sft", **tokenizer_module)["train_dataset"]
    texts = [tokenizer.decode(row["input_ids"]) for row in train]
    fc = sum("get_weather" in t or "search_stock" in t for t in texts)
    chat = len(texts) - fc
    want_chat, want_fc = parse_ratio(ratio)
    share = chat / (chat + fc)
    target = want_chat / (want_chat + want_fc)
    print(f"{ratio} {strategy}: chat:fc = {chat}:{fc} = {chat / fc:.3f}, chat share {share:.4f} (target {target:.4f})")
    assert chat + fc > 4000
    assert abs(share - target) <= 0.02, f"chat:fc = {chat}:{fc} = {chat / fc:.3f}, share {share:.3f} vs {target:.3f}"
    # the correction matters: probabilities = the ratio alone would give a share this far off
    naive = want_chat / (want_chat + want_fc * (2 / 3))
    assert abs(naive - target) > 0.04

    # One run scatters by ~1/sqrt(samples) around the ratio (here ~2.5% of the ratio); over seeds the
    # ratio itself holds within 2%: LLaMA-Factory's merge_dataset on its aligned datasets, 10 seeds,
    # counting the rows its processor keeps (odd prompt, one response) per source.
    from llamafactory.data.data_utils import merge_dataset
    from llamafactory.data.loader import _get_merged_dataset

    sources = _get_merged_dataset(data_args.dataset, model_args, data_args, training_args, "sft", return_dict=True)
    ratios = []
    for seed in range(10):
        merged = merge_dataset(list(sources.values()), data_args, seed=seed)
        kept = [bool(tools) for tools, prompt, response in zip(merged["_tools"], merged["_prompt"], merged["_response"], strict=True)
                if len(prompt) % 2 == 1 and len(response) == 1]  # fmt: skip
        ratios.append((len(kept) - sum(kept)) / sum(kept))
    mean_ratio = sum(ratios) / len(ratios)
    print(f"{ratio} {strategy}: chat/fc over 10 seeds = {mean_ratio:.4f} (runs {min(ratios):.3f}..{max(ratios):.3f})")
    assert abs(mean_ratio / (want_chat / want_fc) - 1) <= 0.02
