"""Hatch build hook: ship the autoload .pth file and the Jinja templates.

The .pth file must sit at the root of site-packages for both `pip install .` and
`pip install -e .`; hatchling only does that for editable wheels via `force_include_editable`.
"""

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict) -> None:
        if version == "editable":
            build_data["force_include_editable"]["fc_plugin_autoload.pth"] = "fc_plugin_autoload.pth"
        else:
            build_data["force_include"]["fc_plugin_autoload.pth"] = "fc_plugin_autoload.pth"
            build_data["force_include"]["templates"] = "fc_plugin/jinja"
