"""The compiled (Cython) convert path: built by `make install`, used only while its source is
unchanged, switched off by FC_PLUGIN_PURE=1, and byte-for-byte the same outputs as the Python source."""

from __future__ import annotations

import filecmp
import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fc_plugin import compiled
from fc_plugin.compiled import MODULES, CompiledFinder, module_state, read_manifest

ROOT = Path(__file__).resolve().parent.parent
ACTIVE = "import fc_plugin.convert.pipeline, fc_plugin.compiled as c, json; print(json.dumps(c.active_modules()))"


def _python(code: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != compiled.PURE_ENV} | env
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ, check=True)
    return proc.stdout


def test_make_install_compiled_every_convert_module() -> None:
    """`make install` (which CI and users run) leaves every module of MODULES compiled from its current
    source, and a new process imports them from the compiled files."""
    pytest.importorskip("Cython", reason="the `compiled` extra is not installed: everything runs as Python")
    manifest = read_manifest()
    states = {m: module_state(m, manifest) for m in MODULES}
    assert set(states.values()) == {"compiled"}, f"run `fc-plugin compile` (make install does): {states}"
    imported = json.loads(_python(ACTIVE))
    assert "fc_plugin.convert.pipeline" in imported and "fc_plugin.validate" in imported
    assert all(m in MODULES for m in imported)


def test_pure_env_runs_the_python_source() -> None:
    assert json.loads(_python(ACTIVE, FC_PLUGIN_PURE="1")) == []


def _fake_build(tmp_path: Path, module: str, sha256: str, suffix: str | None = None) -> Path:
    """A compiled folder holding `module`'s real compiled file under a manifest with the given hash."""
    entry = read_manifest().get(module)
    if entry is None:
        pytest.skip("nothing compiled here (see test_make_install_compiled_every_convert_module)")
    name = module + (suffix or importlib.machinery.EXTENSION_SUFFIXES[0])
    shutil.copyfile(compiled.COMPILED_DIR / entry["file"], tmp_path / name)
    (tmp_path / "manifest.json").write_text(json.dumps({"modules": {module: {"file": name, "sha256": sha256}}}))
    return tmp_path


def test_finder_uses_a_build_only_while_its_source_is_unchanged(tmp_path: Path) -> None:
    module = "fc_plugin.categories"
    current = compiled._sha256(compiled.source_path(module))
    spec = CompiledFinder(_fake_build(tmp_path, module, current)).find_spec(module)
    assert spec is not None and isinstance(spec.loader, importlib.machinery.ExtensionFileLoader)
    assert Path(spec.origin).parent == tmp_path
    # the source was edited after the build: the finder steps aside and the .py is imported
    edited = CompiledFinder(_fake_build(tmp_path, module, "0" * 64))
    assert module_state(module, edited.manifest, tmp_path) == "stale"
    assert edited.find_spec(module) is None
    assert edited.find_spec("fc_plugin.validate") is None  # not in this manifest


def test_finder_ignores_a_build_for_another_python(tmp_path: Path) -> None:
    module = "fc_plugin.categories"
    current = compiled._sha256(compiled.source_path(module))
    folder = _fake_build(tmp_path, module, current, suffix=".cpython-39-x86_64-linux-gnu.so")
    finder = CompiledFinder(folder)
    assert module_state(module, finder.manifest, folder) == "other-python"
    assert finder.find_spec(module) is None


def test_broken_manifest_means_no_compiled_modules(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json")
    assert read_manifest(tmp_path / "manifest.json") == {}
    assert CompiledFinder(tmp_path).find_spec("fc_plugin.categories") is None


def test_build_without_cython_keeps_python(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    before = read_manifest()
    monkeypatch.setitem(sys.modules, "Cython.Build", None)  # `from Cython.Build import ...` raises ImportError
    states = compiled.build(force=True)
    assert "not compiled" in capsys.readouterr().err
    assert read_manifest() == before  # nothing built, nothing removed
    assert set(states) == set(MODULES)


def _hostile_records() -> list[str]:
    """OpenAI-format lines in the shapes real files have, good and bad, for the equivalence check."""
    tools = [{"type": "function", "function": {"name": "get_weather", "description": "天气",
              "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                             "required": ["city"]}}}]  # fmt: skip

    def call(args: str, name: str = "get_weather") -> dict:
        return {"id": "c0", "type": "function", "function": {"name": name, "arguments": args}}

    def record(*calls: dict, extra: list | None = None) -> dict:
        msgs = [{"role": "user", "content": "北京天气？"}, {"role": "assistant", "tool_calls": list(calls)}]
        return {"messages": msgs + (extra or []), "tools": tools}

    good = record(call('{"city": "北京"}'), extra=[{"role": "tool", "tool_call_id": "c0", "content": "晴"},
                                                  {"role": "assistant", "content": "北京晴。"}])  # fmt: skip
    lines = [json.dumps(r, ensure_ascii=False) for r in [
        good, good,  # a duplicate
        record(call('{"city": "Paris", "days": 123456789012345678901234567890}')),  # beyond 64 bits
        record(call("{'city': 'Lima', 'days': 2}")),  # Python literal arguments
        record(call('{"city": "Oslo", "unit": "c"}')),  # invented argument
        record(call('{"days": 2}')),  # missing required
        record(call('{"city": "Rome"}', name="get_wheather")),  # hallucinated function
        record(call('{"city": "Rome", "days": "2"}')),  # wrong type
        record(call('{"city": ')),  # broken JSON
        record(call('{"city": "Oslo"}'), call('{"city": "Bergen"}')),  # parallel
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]},
        {"messages": "not a list"},
        [1, 2, 3],
    ]]  # fmt: skip
    lines.append('{"messages": [{"role": "user", "content": "\\ud800"}, {"role": "assistant", "content": "x"}]}')
    lines.append('{"messages": [{"role": "user", "content": NaN}]}')
    lines.append("[" * 2000 + "]" * 2000)
    lines.append('{"messages": [{"role": "user", "con')  # truncated last line
    return lines


def test_compiled_and_python_write_the_same_bytes(tmp_path: Path) -> None:
    """`make convert` over every raw sample plus a file of hostile records, compiled and as Python:
    the same datasets, rejects, dataset_info.json and reports."""
    if not read_manifest():
        pytest.skip("nothing compiled here (see test_make_install_compiled_every_convert_module)")
    hostile = tmp_path / "hostile.jsonl"
    hostile.write_bytes("\n".join(_hostile_records()).encode("utf-8") + b"\n\xff\xfe{}\n")
    shutil.copytree(ROOT / "data" / "raw", tmp_path / "raw")
    shutil.copyfile(hostile, tmp_path / "raw" / "hostile.jsonl")
    reports = {}
    for mode, env in (("compiled", {}), ("python", {"FC_PLUGIN_PURE": "1"})):
        out = tmp_path / mode
        code = (f"import sys; from fc_plugin.convert.batch import main; sys.argv = ['batch', {str(tmp_path / 'raw')!r}, "
                f"'--out-dir', {str(out)!r}, '--info', {str(out / 'dataset_info.json')!r}]; main()\n"
                f"import fc_plugin.compiled as c; print('ACTIVE', len(c.active_modules()))")  # fmt: skip
        reports[mode] = _python(code, **env)
    assert "ACTIVE 0" in reports["python"] and "ACTIVE 0" not in reports["compiled"]
    assert reports["compiled"].replace(str(tmp_path / "compiled"), "").split("ACTIVE")[0] == (
        reports["python"].replace(str(tmp_path / "python"), "").split("ACTIVE")[0]
    )
    files = sorted(p.name for p in (tmp_path / "python").iterdir())
    assert "fc_hostile_sample.json" in files and "fc_hostile_sample.rejects.jsonl" in files
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "compiled", tmp_path / "python", files, shallow=False)
    assert not mismatch and not errors, (mismatch, errors)
    rejects = (tmp_path / "python" / "fc_hostile_sample.rejects.jsonl").read_text(encoding="utf-8")
    codes = {json.loads(line)["code"] for line in rejects.splitlines()}
    assert {"duplicate", "unknown_argument", "missing_required", "hallucinated_function", "type_mismatch"} <= codes
