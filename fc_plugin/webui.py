"""LlamaBoard (LLaMA-Factory's gradio WebUI) with this project's defaults.

`llamafactory-cli webui` already lists our templates: the autoload hook registers them when the
WebUI imports `llamafactory.data.template`, before the template dropdown is built, and the
`llamafactory-cli train` subprocess the WebUI starts loads the hook too. What it lacks:

- its "Data dir" field defaults to `data`, while this project's dataset_info.json sits at the
  project root. LLaMA-Factory has no setting for that default (no env var, not in the user
  config), so `launch()` sets the module constant `DEFAULT_DATA_DIR` in the few WebUI modules
  that copied it (DATA_DIR_MODULES) before the UI is built. That is the only LF internal touched.
- it binds 0.0.0.0 and opens a browser; we bind 127.0.0.1, print the URL and switch gradio's
  telemetry off unless GRADIO_ANALYTICS_ENABLED is set.
- it starts training with a bare `llamafactory-cli` from PATH; we put this interpreter's bin
  folder first on PATH so that the subprocess is the one with the plugin installed.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import gradio as gr

DATASET_INFO = "dataset_info.json"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860

# WebUI modules that bind `DEFAULT_DATA_DIR` (LLaMA-Factory 0.9.5: `from ..common import DEFAULT_DATA_DIR`).
DATA_DIR_MODULES = (
    "llamafactory.webui.common",
    "llamafactory.webui.control",
    "llamafactory.webui.components.train",
    "llamafactory.webui.components.eval",
)


def resolve_dataset_dir(path: str | os.PathLike[str] = ".") -> Path:
    """Absolute folder holding LLaMA-Factory's dataset_info.json; ValueError when it has none."""
    folder = Path(path).expanduser().resolve()
    if not (folder / DATASET_INFO).is_file():
        raise ValueError(
            f"no {DATASET_INFO} in {folder}: run from the project root or pass --dataset-dir DIR "
            f"(the folder whose {DATASET_INFO} lists your datasets)"
        )
    return folder


def set_default_dataset_dir(folder: str | os.PathLike[str]) -> None:
    """Make LlamaBoard's "Data dir" fields (train and evaluate tabs) default to `folder`."""
    for name in DATA_DIR_MODULES:
        module = importlib.import_module(name)
        if not hasattr(module, "DEFAULT_DATA_DIR"):
            raise RuntimeError(
                f"{name}.DEFAULT_DATA_DIR is gone: this LLaMA-Factory version is not supported"
            )
        module.DEFAULT_DATA_DIR = str(folder)


def use_this_environment_for_training() -> None:
    """Put this interpreter's bin folder first on PATH: the WebUI runs `llamafactory-cli train` from PATH."""
    bin_dir = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if parts[:1] != [bin_dir]:
        os.environ["PATH"] = os.pathsep.join([bin_dir, *[p for p in parts if p != bin_dir]])


def build_ui(dataset_dir: str | os.PathLike[str] = ".") -> gr.Blocks:
    """LlamaBoard with our templates, "Data dir" defaulting to `dataset_dir`, training runs using this venv."""
    from fc_plugin.registry import register_all

    if os.environ.get("FC_PLUGIN_DISABLE"):
        raise ValueError(
            "FC_PLUGIN_DISABLE is set: the WebUI and its training runs would not know our templates"
        )
    folder = resolve_dataset_dir(dataset_dir)
    register_all()  # the autoload hook does it too; explicit so that an in-process caller needs no hook
    set_default_dataset_dir(folder)
    use_this_environment_for_training()
    from llamafactory.webui.interface import create_ui

    return create_ui()


def launch(
    dataset_dir: str | os.PathLike[str] = ".",
    host: str | None = None,
    port: int | None = None,
    open_browser: bool = False,
) -> None:
    """Serve LlamaBoard until interrupted (host/port default to GRADIO_SERVER_NAME/PORT, then 127.0.0.1:7860)."""
    from llamafactory.extras.misc import fix_proxy

    host = host or os.environ.get("GRADIO_SERVER_NAME") or DEFAULT_HOST
    port = port or int(os.environ.get("GRADIO_SERVER_PORT") or DEFAULT_PORT)
    folder = resolve_dataset_dir(dataset_dir)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # read when the Blocks are built
    demo = build_ui(folder)
    fix_proxy(ipv6_enabled=False)  # as `llamafactory-cli webui` does: keep localhost off any proxy
    print(f"fc-plugin webui: LlamaBoard on http://{host}:{port} (datasets from {folder})", flush=True)
    demo.queue().launch(server_name=host, server_port=port, inbrowser=open_browser, share=False)
