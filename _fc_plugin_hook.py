"""fc-plugin's post-import hook, run by `fc_plugin_autoload.pth` in every Python process.

This is a top-level module installed at the root of site-packages (see hatch_build.py) so that
start-up does not even import the `fc_plugin` package; after editing it, re-run `make install`.

`install()` only puts a tiny finder on `sys.meta_path` (microseconds). The first time any
process imports `llamafactory.data.template` (train, torchrun workers, webui and the training
subprocess it spawns, chat, api, export), the finder wraps that module's loader so that, right
after the module has executed, `fc_plugin.register()` adds our templates, tool formats and
dataset converters. Set FC_PLUGIN_DISABLE=1 to switch it off.
"""

import os
import sys

TARGET = "llamafactory.data.template"


class _Finder:
    """Meta-path finder that fires once, when module `target` is imported, and then runs `callback`."""

    def __init__(self, target=TARGET, callback=None):  # noqa: ANN001
        self.target = target
        self.callback = callback or _register_safely

    def find_spec(self, fullname, path=None, target=None):  # noqa: ANN001 - importlib protocol
        if fullname != self.target:
            return None
        sys.meta_path.remove(self)  # fire once; also lets the real finders run below
        import importlib.util

        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        real_exec = spec.loader.exec_module

        def exec_module(module):  # noqa: ANN001
            real_exec(module)
            self.callback()

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _register_safely() -> None:
    try:
        import fc_plugin

        fc_plugin.register()
    except Exception as exc:  # never take LLaMA-Factory down with us
        sys.stderr.write(
            f"fc-plugin: warning: could not register templates ({type(exc).__name__}: {exc}); "
            "set FC_PLUGIN_DISABLE=1 to silence\n"
        )


def install() -> None:
    """Install the hook (no-op when disabled, already installed or TARGET already imported)."""
    if os.environ.get("FC_PLUGIN_DISABLE"):
        return
    if TARGET in sys.modules:
        _register_safely()
        return
    if not any(isinstance(f, _Finder) and f.target == TARGET for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


def after_import(target, callback) -> None:  # noqa: ANN001
    """Run `callback()` right after module `target` is first imported (now, if it already is)."""
    if target in sys.modules:
        callback()
    else:
        sys.meta_path.insert(0, _Finder(target, callback))
