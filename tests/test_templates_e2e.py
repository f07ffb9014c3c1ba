"""Real `llamafactory-cli train` and `export` with an fc template on the tiny model.

Proves that training runs through our template in a fresh LLaMA-Factory process (registered by the
autoload hook), and that the exported tokenizer carries our tool-aware chat template, so that
transformers / vLLM format tool conversations exactly as in training.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from fc_plugin import templates

pytestmark = pytest.mark.e2e
TEMPLATE = "fc_json_llama3"
WEATHER = {
    "name": "get_weather",
    "description": "Weather of a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def _dataset(folder: Path) -> None:
    rows = []
    for city in ["Beijing", "Shanghai", "上海", "Paris"] * 4:
        rows.append({
            "conversations": [
                {"from": "human", "value": f"Weather in {city}?"},
                {"from": "function_call", "value": "<thought>call the tool</thought>"
                 + json.dumps({"name": "get_weather", "arguments": {"city": city}}, ensure_ascii=False)},
                {"from": "observation", "value": '{"temperature": 20}'},
                {"from": "gpt", "value": f"It is 20 degrees in {city}."},
            ],
            "system": "",
            "tools": json.dumps([WEATHER]),
        })
    (folder / "weather.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    entry = {"file_name": "weather.json", "formatting": "sharegpt",
             "columns": {"messages": "conversations", "system": "system", "tools": "tools"}}
    (folder / "dataset_info.json").write_text(json.dumps({"fc_weather": entry}), encoding="utf-8")


def _cli(command: str, config: dict[str, object], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    path = cwd / f"{command}.yaml"  # JSON is YAML (LLaMA-Factory 0.9.5 cannot read .json configs)
    path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    run = subprocess.run(["llamafactory-cli", command, str(path)], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=900)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    return run


@pytest.fixture(scope="module")
def trained(tiny_model: Path, lf_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("fc_train")
    _dataset(work)
    out = work / "adapter"
    _cli("train", {
        "model_name_or_path": str(tiny_model), "stage": "sft", "do_train": True, "finetuning_type": "lora",
        "lora_target": "all", "lora_rank": 4, "dataset_dir": str(work), "dataset": "fc_weather",
        "template": TEMPLATE, "cutoff_len": 1024, "output_dir": str(out), "max_steps": 3,
        "per_device_train_batch_size": 2, "learning_rate": 1e-3, "logging_steps": 1, "save_steps": 1000,
        "report_to": "none", "bf16": False, "overwrite_cache": True,
    }, lf_env, work)
    return out


def test_train_smoke_with_fc_template(trained: Path):
    losses = [json.loads(line)["loss"] for line in (trained / "trainer_log.jsonl").read_text().splitlines()
              if '"loss"' in line]
    assert len(losses) == 3 and all(0 < loss < 100 for loss in losses)
    assert (trained / "adapter_model.safetensors").stat().st_size > 0
    # the tokenizer saved next to the adapter already carries our template and EOS
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(trained))
    assert tokenizer.chat_template == templates.chat_template(TEMPLATE)
    assert tokenizer.eos_token == "<|eot_id|>"


def test_export_writes_our_tool_aware_chat_template(trained: Path, tiny_model: Path, lf_env: dict[str, str]):
    export_dir = trained.parent / "exported"
    _cli("export", {
        "model_name_or_path": str(tiny_model), "adapter_name_or_path": str(trained), "template": TEMPLATE,
        "finetuning_type": "lora", "export_dir": str(export_dir), "export_size": 1, "export_device": "cpu",
    }, lf_env, trained.parent)

    saved = export_dir / "chat_template.jinja"
    config = json.loads((export_dir / "tokenizer_config.json").read_text())
    source = saved.read_text() if saved.exists() else config["chat_template"]
    assert source == templates.chat_template(TEMPLATE)

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(export_dir))
    messages = [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "", "thought": "call the tool",
         "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
        {"role": "tool", "content": '{"temperature": 20}'},
    ]
    text = tokenizer.apply_chat_template(messages, tools=[WEATHER], tokenize=False, add_generation_prompt=True)
    assert '<tools>\n{"type": "function", "function": {"name": "get_weather"' in text
    assert '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|eot_id|>' in text
    assert "<tool_response>\n{\"temperature\": 20}\n</tool_response>" in text
    assert text == templates.render(TEMPLATE, messages, [WEATHER], add_generation_prompt=True)
    assert text.endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")
    assert tokenizer.eos_token == "<|eot_id|>"
    modelfile = (export_dir / "Modelfile").read_text()
    assert 'PARAMETER stop "<|eot_id|>"' in modelfile


def test_tuned_model_stops_right_after_the_call(tiny_model: Path, lf_env: dict[str, str], tmp_path: Path):
    """Overfit the tiny model with fc_react_qwen, then generate: it writes the call, ends with the labelled
    EOS (never a made-up Observation), and the output parses strictly."""
    rows = [{"conversations": [{"from": "human", "value": f"Weather in {city}?"},
                               {"from": "function_call", "value": json.dumps({"name": "get_weather", "arguments": {"city": city}})}],
             "system": "", "tools": json.dumps([WEATHER])} for city in ("Beijing", "Shanghai")]
    rows.append({"conversations": [{"from": "human", "value": "Hello!"}, {"from": "gpt", "value": "Hello! How can I help?"}],
                 "system": "", "tools": json.dumps([WEATHER])})
    (tmp_path / "weather.json").write_text(json.dumps(rows * 4), encoding="utf-8")
    entry = {"file_name": "weather.json", "formatting": "sharegpt",
             "columns": {"messages": "conversations", "system": "system", "tools": "tools"}}
    (tmp_path / "dataset_info.json").write_text(json.dumps({"fc_weather": entry}), encoding="utf-8")
    out = tmp_path / "full"
    _cli("train", {
        "model_name_or_path": str(tiny_model), "stage": "sft", "do_train": True, "finetuning_type": "full",
        "dataset_dir": str(tmp_path), "dataset": "fc_weather", "template": "fc_react_qwen", "cutoff_len": 1024,
        "output_dir": str(out), "max_steps": 80, "per_device_train_batch_size": 4, "learning_rate": 3e-3,
        "lr_scheduler_type": "constant", "logging_steps": 20, "save_steps": 10000, "report_to": "none",
        "bf16": False, "overwrite_cache": True,
    }, lf_env, tmp_path)

    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(out))
    model = AutoModelForCausalLM.from_pretrained(str(out))
    assert tokenizer.eos_token == "<|im_end|>"
    for question, expect_call in (("Weather in Beijing?", True), ("Hello!", False)):
        inputs = tokenizer.apply_chat_template([{"role": "user", "content": question}], tools=[WEATHER],
                                               add_generation_prompt=True, return_tensors="pt", return_dict=True)
        generated = model.generate(**inputs, max_new_tokens=60, do_sample=False, eos_token_id=tokenizer.eos_token_id)
        new = generated[0][inputs["input_ids"].shape[1]:].tolist()
        assert new[-1] == tokenizer.eos_token_id and len(new) < 60, tokenizer.decode(new)
        text = tokenizer.decode(new)
        assert "Observation" not in text
        result = templates.parse_calls("fc_react_qwen", text, strict=True)
        assert result.errors == [], text
        if expect_call:
            assert [c.name for c in result.calls] == ["get_weather"] and "city" in result.calls[0].arguments
        else:
            assert result.calls == [] and result.content
