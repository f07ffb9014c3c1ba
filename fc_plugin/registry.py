"""Registers everything the plugin adds to LLaMA-Factory; called once per process by the hook."""

from __future__ import annotations

_registered: list[str] | None = None


def register_all() -> list[str]:
    """Register templates, tool formats and dataset converters (idempotent). Returns the fc_* template names
    (`templates.names()`; `fc_native` is registered too)."""
    global _registered
    if _registered is None:
        from fc_plugin import labelled_logits, lf_converters, templates
        from fc_plugin.formats import native

        _registered = templates.register_templates()
        native.register_native()  # template: fc_native (the model's own chat template), tool_format: fc_native_*
        lf_converters.register_converters()  # formatting: fc_<format> in dataset_info.json
        if labelled_logits.enabled():  # FC_PLUGIN_LABELLED_LOGITS=1 (make demo): logits only where the loss reads them
            labelled_logits.install()
    return list(_registered)
