"""Compiled (Cython) builds of the convert path and of template encoding: the same Python source, faster
(`fc-plugin convert` about 1.7x).

`make install` runs `fc-plugin compile` (`build()`): Cython compiles each module of `MODULES`
unchanged (plain Python semantics: annotations are not turned into C types) into
`fc_plugin/_compiled/`, with a manifest holding the SHA-256 of every source it compiled.
`enable()` (run when `fc_plugin` is imported) puts a finder first on `sys.meta_path` that imports
a listed module from its compiled file only while its source still has that hash: an edited
module is imported from its `.py` until the next build (every `make` target rebuilds first).
Without Cython or a C compiler nothing is built and everything runs as Python, with the same
outputs. `FC_PLUGIN_PURE=1` switches the compiled modules off; `fc-plugin compile --status` lists them.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
COMPILED_DIR = PACKAGE_DIR / "_compiled"
MANIFEST = COMPILED_DIR / "manifest.json"
PURE_ENV = "FC_PLUGIN_PURE"

# What `fc-plugin convert` runs per record: reading, every source-format converter, normalising,
# validating, ShareGPT rows, dedup and stats; then what LLaMA-Factory runs per sample through our
# templates: the fc_* and fc_native encoders, their tool checks and call formats.
MODULES = (
    "fc_plugin.io",
    "fc_plugin.sample",
    "fc_plugin.normalize",
    "fc_plugin.validate",
    "fc_plugin.sharegpt",
    "fc_plugin.categories",
    "fc_plugin.stats",
    "fc_plugin.formats.lf_messages",
    "fc_plugin.convert._common",
    "fc_plugin.convert.reader",
    "fc_plugin.convert.pipeline",
    "fc_plugin.convert.alpaca_fc",
    "fc_plugin.convert.bfcl",
    "fc_plugin.convert.glaive",
    "fc_plugin.convert.hermes",
    "fc_plugin.convert.lf_v1",
    "fc_plugin.convert.openai",
    "fc_plugin.convert.seed003",
    "fc_plugin.convert.sharegpt",
    "fc_plugin.convert.toolace",
    "fc_plugin.convert.toolbench",
    "fc_plugin.convert.xlam",
    "fc_plugin.formats.native",
    "fc_plugin.formats.native_calls",
    "fc_plugin.formats.llamafactory",
    "fc_plugin.formats.checks",
)
# Python semantics kept: no C types from annotations, introspectable functions (lru_cache, pickling).
DIRECTIVES = {"language_level": 3, "annotation_typing": False, "binding": True}


def source_path(module: str) -> Path:
    """The `.py` file of a module of `MODULES`."""
    return PACKAGE_DIR.parent.joinpath(*module.split(".")).with_suffix(".py")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _extension_suffix() -> str:
    return importlib.machinery.EXTENSION_SUFFIXES[0]  # e.g. .cpython-311-x86_64-linux-gnu.so


def read_manifest(path: Path = MANIFEST) -> dict[str, dict[str, str]]:
    """`module -> {"file", "sha256"}` of the last build ({} when there is none or it is unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    modules = data.get("modules") if isinstance(data, dict) else None
    return modules if isinstance(modules, dict) else {}


def module_state(module: str, manifest: dict[str, dict[str, str]], folder: Path = COMPILED_DIR) -> str:
    """"compiled" (its compiled file is used), "stale" (the source changed since the build),
    "other-python" (built for another interpreter) or "missing" (never built)."""
    entry = manifest.get(module)
    if not isinstance(entry, dict) or not (folder / str(entry.get("file", ""))).is_file():
        return "missing"
    if not str(entry["file"]).endswith(_extension_suffix()):
        return "other-python"
    try:
        return "compiled" if _sha256(source_path(module)) == entry.get("sha256") else "stale"
    except OSError:
        return "missing"


class CompiledFinder:
    """Meta-path finder: a module of the manifest comes from its compiled file while its source is unchanged."""

    def __init__(self, folder: Path = COMPILED_DIR) -> None:
        self.folder = folder
        self.manifest = read_manifest(folder / MANIFEST.name)

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:  # importlib protocol
        if fullname not in self.manifest or module_state(fullname, self.manifest, self.folder) != "compiled":
            return None
        binary = str(self.folder / self.manifest[fullname]["file"])
        loader = importlib.machinery.ExtensionFileLoader(fullname, binary)
        return importlib.util.spec_from_file_location(fullname, binary, loader=loader)


def pure() -> bool:
    """True when FC_PLUGIN_PURE asks for every module to run as Python."""
    return os.environ.get(PURE_ENV, "") not in ("", "0")


def enable() -> bool:
    """Install the finder (once) unless FC_PLUGIN_PURE is set or nothing was built; True when installed."""
    if pure():
        return False
    if any(isinstance(f, CompiledFinder) for f in sys.meta_path):
        return True
    finder = CompiledFinder()
    if not finder.manifest:
        return False
    sys.meta_path.insert(0, finder)
    return True


def active_modules() -> list[str]:
    """The modules of `MODULES` imported in this process from their compiled file."""
    suffix = _extension_suffix()
    return [m for m in MODULES if m in sys.modules and str(getattr(sys.modules[m], "__file__", "")).endswith(suffix)]


def build(jobs: int = 2, force: bool = False, quiet: bool = False) -> dict[str, str]:
    """Compile the modules whose source changed since the last build (all with `force`) into
    `COMPILED_DIR`; returns `module -> state`. Without Cython or a C compiler nothing is built (a
    note says so) and the modules stay Python."""
    import shutil
    import tempfile

    say = (lambda *_: None) if quiet else (lambda msg: print(f"fc_plugin.compiled: {msg}", file=sys.stderr))
    manifest = read_manifest()
    states = lambda: {m: module_state(m, manifest) for m in MODULES}  # noqa: E731
    todo = [m for m in MODULES if force or module_state(m, manifest) != "compiled"]
    if not todo:
        say(f"{len(MODULES)} modules up to date")
        return states()
    try:
        import Cython
        from Cython.Build import cythonize
        from setuptools import Distribution, Extension
        from setuptools.command.build_ext import build_ext
    except ImportError as exc:
        say(f"not compiled ({exc.name} is not installed); the Python modules are used")
        return states()
    hashes = {m: _sha256(source_path(m)) for m in todo}  # before compiling: an edit meanwhile reads stale
    with tempfile.TemporaryDirectory(prefix="fc_compiled_") as tmp:
        say(f"compiling {len(todo)} module(s) with Cython ({jobs} jobs)")
        quiet_cc = [] if sys.platform == "win32" else ["-w"]  # Cython's C draws -Warray-bounds noise from GCC
        extensions = [Extension(m, [str(source_path(m))], extra_compile_args=quiet_cc) for m in todo]
        try:
            modules = cythonize(extensions, build_dir=str(Path(tmp) / "c"), nthreads=jobs, quiet=True,
                                compiler_directives=DIRECTIVES)  # fmt: skip
            command = build_ext(Distribution({"ext_modules": modules}))
            command.build_lib, command.build_temp, command.parallel = str(Path(tmp) / "lib"), str(Path(tmp) / "o"), jobs
            command.ensure_finalized()
            command.run()
        except Exception as exc:  # noqa: BLE001 - no compiler, Cython error: Python still works
            say(f"not compiled ({type(exc).__name__}: {exc}); the Python modules are used")
            return states()
        COMPILED_DIR.mkdir(exist_ok=True)
        for m in todo:
            built = Path(command.get_ext_fullpath(m))
            name = m + _extension_suffix()
            partial = COMPILED_DIR / (name + ".tmp")
            shutil.copyfile(built, partial)
            os.replace(partial, COMPILED_DIR / name)  # a process that has the old file mapped keeps it
            manifest[m] = {"file": name, "sha256": hashes[m]}
    manifest = {m: manifest[m] for m in MODULES if m in manifest}
    from fc_plugin.io import atomic_write_json

    atomic_write_json(MANIFEST, {"cython": Cython.__version__, "modules": manifest})
    built = states()
    say(f"{sum(s == 'compiled' for s in built.values())} of {len(MODULES)} modules compiled")
    return built
