"""`fc-plugin webui`: LLaMA-Factory's LlamaBoard on 127.0.0.1, datasets from this project's dataset_info.json."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "webui",
        help="start LLaMA-Factory's WebUI (LlamaBoard) with our templates and datasets",
        description="Start `llamafactory-cli webui` with the plugin active, the Data dir field set to the "
        "folder holding dataset_info.json (default: the current folder) and the server bound to 127.0.0.1. "
        "LlamaBoard keeps its own files (saves/, llamaboard_cache/, llamaboard_config/) in the current folder.",
    )
    p.add_argument(
        "--dataset-dir", default=".", help="folder with dataset_info.json (default: current folder)"
    )
    p.add_argument("--host", default=None, help="address to bind (default: $GRADIO_SERVER_NAME or 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default: $GRADIO_SERVER_PORT or 7860)")
    p.add_argument("--open-browser", action="store_true", help="open the UI in the default browser")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fc_plugin.webui import launch

    launch(dataset_dir=args.dataset_dir, host=args.host, port=args.port, open_browser=args.open_browser)
    return 0
