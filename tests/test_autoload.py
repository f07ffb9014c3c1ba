"""The .pth hook registers the plugin in fresh processes, can be disabled, and never breaks start-up."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import fc_plugin
from fc_plugin import templates

PROBE = (
    "import json\n"
    "from llamafactory.data.template import TEMPLATES\n"
    "from llamafactory.data.tool_utils import TOOLS\n"
    "print(json.dumps({'templates': sorted(TEMPLATES), 'tools': sorted(TOOLS)}))\n"
)


def _probe(env: dict[str, str]) -> dict[str, list[str]]:
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_fresh_process_sees_plugin_templates(lf_env: dict[str, str]) -> None:
    seen = _probe(lf_env)
    assert templates.names(), "the plugin registers at least one template"
    assert set(templates.names()) <= set(seen["templates"])


def test_disable_switch(lf_env: dict[str, str]) -> None:
    seen = _probe({**lf_env, "FC_PLUGIN_DISABLE": "1"})
    assert not set(templates.names()) & set(seen["templates"])
    assert "qwen" in seen["templates"]  # LLaMA-Factory itself is untouched


def test_hook_is_lazy(lf_env: dict[str, str]) -> None:
    """A bare interpreter imports neither LLaMA-Factory nor torch because of us."""
    code = "import sys; print(sorted(m for m in sys.modules if m.split('.')[0] in ('llamafactory', 'torch', 'transformers')))"
    out = subprocess.run([sys.executable, "-c", code], env=lf_env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _shadow_plugin(tmp_path: Path, autoload_body: str) -> Path:
    """A copy of the package, found before the installed one, whose hook code is broken."""
    pkg = tmp_path / "fc_plugin"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("def register():\n    raise RuntimeError('registry exploded')\n")
    (pkg / "_autoload.py").write_text(textwrap.dedent(autoload_body))
    return tmp_path


def test_broken_hook_import_keeps_python_working(tmp_path: Path, lf_env: dict[str, str]) -> None:
    root = _shadow_plugin(tmp_path, "raise ImportError('No module named fc_plugin_missing_dep')\n")
    env = {**lf_env, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", "print(1)"], env=env, capture_output=True, text=True)
    assert out.returncode == 0
    assert out.stdout == "1\n"
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("fc-plugin: warning:") and "fc_plugin_missing_dep" in lines[0]
    assert "FC_PLUGIN_DISABLE=1" in lines[0]


def test_broken_registration_keeps_llamafactory_working(tmp_path: Path, lf_env: dict[str, str]) -> None:
    """A failure at registration time (inside the post-import hook) warns once; LF still imports."""
    installed = Path(fc_plugin.__file__).with_name("_autoload.py").read_text()
    root = _shadow_plugin(tmp_path, installed)
    env = {**lf_env, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "qwen" in json.loads(out.stdout.strip().splitlines()[-1])["templates"]
    warnings = [line for line in out.stderr.splitlines() if line.startswith("fc-plugin: warning:")]
    assert len(warnings) == 1 and "registry exploded" in warnings[0]


def test_register_is_idempotent() -> None:
    first = fc_plugin.register()
    second = fc_plugin.register()
    assert first == second == templates.names()
    from llamafactory.data.template import TEMPLATES

    assert set(first) <= set(TEMPLATES)
