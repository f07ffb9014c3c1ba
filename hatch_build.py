"""Hatch build hook: ship the autoload .pth + hook module and the Jinja templates.

The .pth file and `_fc_plugin_hook.py` must sit at the root of site-packages for both
`pip install .` and `pip install -e .` (hatchling only does that for editable wheels via
`force_include_editable`). templates/ ships inside the package as fc_plugin/jinja for
non-editable installs; editable installs read the repo's templates/ directly.
"""

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

AUTOLOAD_FILES = ("fc_plugin_autoload.pth", "_fc_plugin_hook.py")


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict) -> None:
        key = "force_include_editable" if version == "editable" else "force_include"
        for name in AUTOLOAD_FILES:
            build_data[key][name] = name
        if version != "editable":
            build_data["force_include"]["templates"] = "fc_plugin/jinja"
