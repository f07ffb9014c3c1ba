"""LlamaBoard (LLaMA-Factory's WebUI) with our templates and datasets, driven in headless Chromium.

The browser test starts `fc-plugin webui` on a free loopback port in a temp copy of the project's
datasets, picks the tiny model, one of our templates and a project dataset, previews it, trains
for three steps from the UI and checks the adapter that the WebUI's own `llamafactory-cli train`
subprocess wrote. Screenshots land in outputs/test-artifacts/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from fc_plugin import templates
from fc_plugin.webui import resolve_dataset_dir

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "outputs" / "test-artifacts"
DATASET = "fc_demo"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gradio_config(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/config", timeout=5) as response:
        return json.load(response)


@contextmanager
def _webui(cmd: list[str], env: dict[str, str], cwd: Path, port: int) -> Iterator[str]:
    """Run a WebUI server until it answers on 127.0.0.1:port; stop it and its children afterwards."""
    env = {
        **env,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "BROWSER": "true",
    }  # never open a real browser window
    log_path = cwd / "webui.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (
                f"WebUI exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}"
            )
            assert time.monotonic() < deadline, f"WebUI not up after 120 s:\n{log_path.read_text()[-3000:]}"
            try:
                _gradio_config(url)
                break
            except OSError:
                time.sleep(1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and the training run it may have started
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _template_choices(config: dict) -> list[str]:
    """Choices of the dropdown that lists LLaMA-Factory's templates (the one offering `default`)."""
    for component in config["components"]:
        choices = [
            c[1] if isinstance(c, list) else c for c in component.get("props", {}).get("choices") or []
        ]
        if "default" in choices and "qwen" in choices:
            return choices
    raise AssertionError("no template dropdown in the WebUI config")


def _copy_project_datasets(dest: Path) -> None:
    """dataset_info.json and the local files it names, as in the project root."""
    shutil.copy(ROOT / "dataset_info.json", dest / "dataset_info.json")
    for entry in json.loads((ROOT / "dataset_info.json").read_text()).values():
        source = ROOT / entry.get("file_name", "")
        if entry.get("file_name") and source.is_file():
            (dest / entry["file_name"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, dest / entry["file_name"])


def test_default_dataset_dir_needs_dataset_info(tmp_path: Path) -> None:
    assert resolve_dataset_dir(ROOT) == ROOT
    with pytest.raises(ValueError, match=re.escape(f"no dataset_info.json in {tmp_path}")):
        resolve_dataset_dir(tmp_path)


@pytest.mark.e2e
def test_plain_llamafactory_webui_lists_our_templates(lf_env: dict[str, str], tmp_path: Path) -> None:
    """`llamafactory-cli webui` itself (no wrapper): the autoload hook put our templates in the dropdown."""
    with _webui(["llamafactory-cli", "webui"], lf_env, tmp_path, _free_port()) as url:
        choices = _template_choices(_gradio_config(url))
    assert set(templates.names()) <= set(choices)


@pytest.mark.e2e
def test_webui_previews_and_trains_our_dataset_in_a_browser(
    tiny_model: Path, lf_env: dict[str, str], tmp_path: Path
) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (Debian's chromium package)")
    from playwright.sync_api import expect, sync_playwright

    project = tmp_path / "project"
    project.mkdir()
    _copy_project_datasets(project)
    rows = json.loads(
        (project / json.loads((project / "dataset_info.json").read_text())[DATASET]["file_name"]).read_text()
    )
    template = next((name for name in templates.names() if name.endswith("_qwen")), templates.names()[0])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def visible(locator):  # LlamaBoard repeats labels across its tabs; act on the one on screen
        return locator.filter(visible=True).first

    def pick(page, label: str, value: str) -> None:
        box = visible(page.get_by_label(label, exact=True))
        box.click()
        box.fill(value)
        page.get_by_role("option", name=value, exact=True).click()
        expect(box).to_have_value(value)

    with _webui(["fc-plugin", "webui"], lf_env, project, _free_port()) as url, sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # fresh user-data-dir
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1100},
        )
        page = browser.new_page()
        page.set_default_timeout(30_000)  # generous: CI machines are small and shared
        expect.set_options(timeout=30_000)
        try:
            page.goto(url)
            # LlamaBoard sets its labels in the first load event: wait for them before anything else
            visible(page.get_by_label("Data dir")).wait_for(timeout=90_000)
            data_dir = visible(page.get_by_label("Data dir"))
            expect(data_dir).to_have_value(str(project))  # our default, not LlamaBoard's "data"

            visible(page.get_by_label("Chat template")).click()
            offered = page.get_by_role("option").all_inner_texts()
            assert set(templates.names()) <= set(offered), offered
            page.keyboard.press("Escape")

            pick(page, "Model name", "Custom")
            # LlamaBoard answers a model choice by resetting the path and template, then warns that
            # "default" is no instruct template: fill the path only after that round trip
            expect(page.get_by_text("non-instruct model").first).to_be_visible()
            visible(page.get_by_label("Model path")).fill(str(tiny_model))
            pick(page, "Chat template", template)

            visible(page.get_by_label("Dataset", exact=True)).click()
            expect(page.get_by_role("option", name=DATASET, exact=True)).to_be_visible()
            # gradio can leave the template dropdown's chosen option in the DOM next to the dataset
            # list: compare dataset names only
            options = {" ".join(t.replace("✓", "").split()) for t in page.get_by_role("option").all_inner_texts()}
            listed = options - set(templates.names())
            info = json.loads((project / "dataset_info.json").read_text())
            assert listed == {name for name, entry in info.items() if not entry.get("ranking")}  # SFT stage
            page.get_by_role("option", name=DATASET, exact=True).click()
            page.keyboard.press("Escape")

            visible(page.get_by_role("button", name="Preview dataset")).click()
            expect(visible(page.get_by_role("spinbutton", name="Count"))).to_have_value(str(len(rows)))
            first_user_turn = rows[0]["conversations"][0]["value"]
            expect(page.get_by_text(first_user_turn, exact=False).first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "webui-preview.png"))
            visible(page.get_by_role("button", name="Close")).click()

            pick(page, "Compute type", "fp32")  # CPU: no bf16
            visible(page.get_by_label("Epochs")).fill("1.0")
            visible(page.get_by_label("Max samples")).fill("8")
            page.get_by_text("Extra configurations").click()
            extra = {
                "optim": "adamw_torch",
                "max_steps": 3,
                "logging_steps": 1,
                "gradient_accumulation_steps": 1,
                "preprocessing_num_workers": 1,
            }
            visible(page.get_by_label("Extra arguments")).fill(json.dumps(extra))
            output_dir = visible(page.get_by_label("Output dir")).input_value()
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(ARTIFACTS / "webui-setup.png"))  # model, template, dataset, fp32

            page.get_by_role("button", name="Start", exact=True).click()
            outcome = page.get_by_text(re.compile(r"^(Finished|Failed)\.")).first  # LlamaBoard's output box
            expect(outcome).to_be_visible(timeout=150_000)
            assert outcome.inner_text().startswith("Finished"), page.locator("body").inner_text()[-4000:]
            visible(page.get_by_role("button", name="Start", exact=True)).scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "webui-train.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "webui-failure.png"))
            raise
        finally:
            browser.close()

    run = project / "saves" / "Custom" / "lora" / output_dir
    args = yaml.safe_load(
        (run / "training_args.yaml").read_text()
    )  # what the WebUI passed to `llamafactory-cli train`
    assert (args["template"], args["dataset"], args["dataset_dir"]) == (template, DATASET, str(project))
    assert args["model_name_or_path"] == str(tiny_model) and args["max_steps"] == 3
    assert (run / "adapter_model.safetensors").stat().st_size > 0
    losses = [
        json.loads(line)["loss"]
        for line in (run / "trainer_log.jsonl").read_text().splitlines()
        if '"loss"' in line
    ]
    assert len(losses) == 3 and all(loss > 0 for loss in losses)


def test_every_project_dataset_is_listed_and_previewable() -> None:
    """LlamaBoard's own dataset list and preview functions, on the folder `fc-plugin webui` points at."""
    from llamafactory.webui.components.data import can_preview, get_preview
    from llamafactory.webui.control import list_datasets

    folder = str(resolve_dataset_dir(ROOT))
    info = json.loads((ROOT / "dataset_info.json").read_text())
    listed = list_datasets(folder, "Supervised Fine-Tuning").choices
    listed = {c[0] if isinstance(c, (list, tuple)) else c for c in listed}
    assert listed == {name for name, entry in info.items() if not entry.get("ranking")}
    local = {name: entry["file_name"] for name, entry in info.items() if "file_name" in entry}
    assert {"fc_demo", "fc_synth_seed_tools", "fc_glaive_sample"} <= set(local)  # synth and convert outputs
    for name, file_name in local.items():
        assert can_preview(folder, [name]).interactive, f"{name}: preview button disabled ({file_name})"
        count, page, _ = get_preview(folder, [name], 0)
        rows = json.loads((ROOT / file_name).read_text())
        assert count == len(rows) > 0 and page == rows[:2], name
