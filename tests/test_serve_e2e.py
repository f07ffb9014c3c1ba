"""The plugin's templates reach `llamafactory-cli api` (real HTTP on 127.0.0.1) and `chat`."""

from __future__ import annotations

import json
import socket
import subprocess
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from fc_plugin import templates

pytestmark = pytest.mark.e2e

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(port: int, body: dict) -> dict:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        assert resp.status == 200
        return json.loads(resp.read())


def test_api_server_uses_plugin_template(
    tiny_model: Path, lf_env: dict[str, str], tmp_path: Path, api_ready: Callable[..., None]
) -> None:
    port = _free_port()
    env = {**lf_env, "API_PORT": str(port), "API_HOST": "127.0.0.1"}
    template = templates.names()[0]
    cmd = ["llamafactory-cli", "api", "--model_name_or_path", str(tiny_model), "--template", template]
    log = (tmp_path / "api.log").open("w")
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        api_ready(server, port, tmp_path / "api.log", timeout=120)
        messages = [{"role": "user", "content": "What's the weather in Paris?"}]
        plain = _post(port, {"model": "tiny", "messages": messages, "max_tokens": 4})
        with_tools = _post(port, {"model": "tiny", "messages": messages, "tools": TOOLS, "max_tokens": 4})
        # the tool schema is rendered into the prompt by the plugin's template
        assert with_tools["usage"]["prompt_tokens"] > plain["usage"]["prompt_tokens"] + 20
        assert with_tools["choices"][0]["message"]["role"] == "assistant"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_chat_cli_uses_plugin_template(tiny_model: Path, lf_env: dict[str, str]) -> None:
    template = templates.names()[0]
    cmd = ["llamafactory-cli", "chat", "--model_name_or_path", str(tiny_model), "--template", template,
           "--max_new_tokens", "4"]  # fmt: skip
    run = subprocess.run(cmd, input="hello\nexit\n", env=lf_env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Assistant:" in run.stdout
    off = subprocess.run(
        cmd,
        input="exit\n",
        env={**lf_env, "FC_PLUGIN_DISABLE": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert f"Template {template} does not exist" in off.stdout + off.stderr
