"""LLaMA-Factory's own ShareGPT tool format, read back for validation and re-writing.

`{"conversations": [{"from": "human"|"gpt"|"function_call"|"observation", "value"}], "system", "tools"}`;
the mapping itself is `fc_plugin.sharegpt.from_sharegpt` (the writer's inverse), so a dataset
written by `fc-plugin convert` converts back to the same canonical samples.
"""

from __future__ import annotations

from fc_plugin.convert import ConvertError, hermes
from fc_plugin.sample import Sample

NAME = "sharegpt"
LF_NAME = "fc_" + NAME

_TAGS = {"human", "gpt", "function_call", "observation", "system"}


def detect(record: dict) -> bool:
    """`conversations` using only LLaMA-Factory's ShareGPT tags (and not Hermes' tagged text)."""
    conv = record.get("conversations")
    if not isinstance(conv, list) or not conv:
        return False
    if not all(isinstance(t, dict) and t.get("from") in _TAGS for t in conv):
        return False
    return not hermes.detect(record)


def convert(record: dict) -> list[Sample]:
    """One ShareGPT row -> one canonical sample (via `fc_plugin.sharegpt.from_sharegpt`)."""
    from fc_plugin.sharegpt import from_sharegpt

    try:
        return [from_sharegpt(record)]
    except ConvertError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise ConvertError("invalid_sharegpt", str(exc)) from None
