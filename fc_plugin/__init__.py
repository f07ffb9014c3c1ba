"""fc-plugin: function-calling fine-tuning for LLaMA-Factory.

Importing this package is cheap: it only puts the finder of the compiled modules on
`sys.meta_path` (`fc_plugin.compiled`; a manifest read, no compiling); everything heavy is imported
lazily by `register()` and the submodules.
"""

__version__ = "0.1.0"


def register() -> list[str]:
    """Register the plugin's templates, tool formats and dataset converters with LLaMA-Factory.

    Idempotent: calling it again changes nothing. Returns the registered template names.
    """
    from fc_plugin.registry import register_all

    return register_all()


def _enable_compiled() -> None:
    from fc_plugin.compiled import enable

    enable()


_enable_compiled()
