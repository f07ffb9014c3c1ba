"""The .pth hook registers the plugin in fresh processes, can be disabled, and never breaks start-up."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

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


def _shadow_plugin(tmp_path: Path, hook_body: str) -> Path:
    """Hook module and package copies, found before the installed ones; `register()` is broken."""
    pkg = tmp_path / "fc_plugin"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("def register():\n    raise RuntimeError('registry exploded')\n")
    (tmp_path / "_fc_plugin_hook.py").write_text(textwrap.dedent(hook_body))
    return tmp_path


def test_broken_hook_import_keeps_python_working(tmp_path: Path, lf_env: dict[str, str]) -> None:
    root = _shadow_plugin(tmp_path, "raise ImportError('No module named fc_plugin_missing_dep')\n")
    env = {**lf_env, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", "print(1)"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert out.returncode == 0
    assert out.stdout == "1\n"
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("fc-plugin: warning:") and "fc_plugin_missing_dep" in lines[0]
    assert "FC_PLUGIN_DISABLE=1" in lines[0]


def test_broken_registration_keeps_llamafactory_working(tmp_path: Path, lf_env: dict[str, str]) -> None:
    """A failure at registration time (inside the post-import hook) warns once; LF still imports."""
    import _fc_plugin_hook

    installed = Path(_fc_plugin_hook.__file__).read_text()
    root = _shadow_plugin(tmp_path, installed)
    env = {**lf_env, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "qwen" in json.loads(out.stdout.strip().splitlines()[-1])["templates"]
    warnings = [line for line in out.stderr.splitlines() if line.startswith("fc-plugin: warning:")]
    assert len(warnings) == 1 and "registry exploded" in warnings[0], out.stderr[-2000:]


def test_register_is_idempotent() -> None:
    first = fc_plugin.register()
    second = fc_plugin.register()
    assert first == second == templates.names()
    from llamafactory.data.template import TEMPLATES

    assert set(first) <= set(TEMPLATES)


@pytest.mark.e2e
def test_non_editable_wheel_install(tmp_path: Path, lf_env: dict[str, str]) -> None:
    """`pip install fc_plugin-*.whl` (not editable) ships the .pth hook, the hook module and the Jinja files."""
    root = Path(__file__).resolve().parents[1]
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(root)],
        check=True,
        env=lf_env,
        capture_output=True,
    )
    wheel = next(wheels.glob("fc_plugin-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [py, "-c", "import site; print(site.getsitepackages()[0])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # dependencies come from the project venv as a plain path entry (its .pth files are not run)
    (site / "zz_deps.pth").write_text(str(Path(sysconfig_purelib())) + "\n")
    subprocess.run(
        [py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    assert (site / "fc_plugin_autoload.pth").exists() and (site / "_fc_plugin_hook.py").exists()
    code = (
        PROBE
        + "import fc_plugin, fc_plugin.templates as t; print(fc_plugin.__file__); print(len(t.chat_template(t.names()[0])))\n"
    )
    env = {k: v for k, v in lf_env.items() if k != "PYTHONPATH"}
    out = subprocess.run([py, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    seen = json.loads(lines[-3])
    assert lines[-2].startswith(str(site)), "the wheel's package is used, not the editable checkout"
    assert int(lines[-1]) > 0
    import fc_plugin.templates

    assert set(fc_plugin.templates.names()) <= set(seen["templates"])


def sysconfig_purelib() -> str:
    import sysconfig

    return sysconfig.get_paths()["purelib"]


def test_cli_sends_llamafactory_logs_to_stderr(lf_env: dict[str, str]) -> None:
    """`fc-plugin ... --json` must print only JSON on stdout, even when LLaMA-Factory logs a warning."""
    code = (
        "from fc_plugin.cli import _llamafactory_logs_to_stderr\n"
        "_llamafactory_logs_to_stderr()\n"
        "from llamafactory.extras.misc import check_version\n"
        "check_version('transformers>=0')\n"  # DISABLE_VERSION_CHECK=1 makes LF log a warning
        "print('RESULT')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env={**lf_env, "DISABLE_VERSION_CHECK": "1"},
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert proc.stdout == "RESULT\n"
    assert "Version checking has been disabled" in proc.stderr
