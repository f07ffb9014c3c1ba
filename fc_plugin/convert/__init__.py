"""Source-format converters: one module per format, each raw record -> canonical `Sample`s.

A format module `fc_plugin/convert/<format>.py` exposes:

- `NAME: str` - the `--from` name (e.g. "xlam"), `LF_NAME: str` - "fc_" + NAME, the
  LLaMA-Factory `formatting` name its on-the-fly converter is registered under;
- `detect(record: dict) -> bool` - does this raw record look like this format;
- `convert(record: dict) -> list[Sample]` - raising `ConvertError(code, message)` on a bad record;
- optionally `load_context(paths) -> dict`, then `convert(record, context)` is called instead
  (formats that need a second file, e.g. BFCL possible answers).

This package only holds the registry; the streaming pipeline lives in `fc_plugin.convert.pipeline`.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterable, Iterator, Mapping
from types import ModuleType
from typing import Any

# Detection order matters only for ties: more specific formats first, generic chat formats last.
FORMAT_MODULES = [
    "bfcl",
    "xlam",
    "toolace",
    "hermes",
    "glaive",
    "toolbench",
    "seed003",
    "alpaca_fc",
    "lf_v1",
    "openai",
    "sharegpt",
]


class ConvertError(ValueError):
    """A raw record that cannot be converted; `code` is a short snake_case reason code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:  # picklable for worker processes
        return (type(self), (self.code, self.message))


class _Formats(Mapping[str, ModuleType]):
    """`NAME -> module` for every format module present, imported on first use."""

    def __init__(self) -> None:
        self._modules: dict[str, ModuleType] | None = None

    def _load(self) -> dict[str, ModuleType]:
        if self._modules is None:
            modules: dict[str, ModuleType] = {}
            for mod_name in FORMAT_MODULES:
                full = f"{__name__}.{mod_name}"
                if importlib.util.find_spec(full) is None:
                    continue  # format not written (yet)
                module = importlib.import_module(full)
                modules[getattr(module, "NAME", mod_name)] = module
            self._modules = modules
        return self._modules

    def __getitem__(self, name: str) -> ModuleType:
        return self._load()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


FORMATS: Mapping[str, ModuleType] = _Formats()


def get_format(name: str) -> ModuleType:
    """The format module registered as `name` (the `--from` name or its `fc_` LLaMA-Factory name)."""
    key = name[3:] if name.startswith("fc_") and name not in FORMATS else name
    if key not in FORMATS:
        raise ValueError(f"unknown source format {name!r}; known: {', '.join(FORMATS)} (or 'auto')")
    return FORMATS[key]


def detect_format(records: Iterable[Any]) -> str:
    """Name of the format most of `records` (raw dicts, e.g. the first few hundred) look like.

    Non-dict records and detectors that raise are ignored; ties go to the more specific format.
    Raises ValueError when no format recognises any record.
    """
    records = [r for r in records if isinstance(r, dict)]
    best, best_hits = None, 0
    for name, module in FORMATS.items():
        hits = 0
        for record in records:
            try:
                hits += bool(module.detect(record))
            except Exception:  # a detector must never take auto-detection down
                continue
        if hits > best_hits:
            best, best_hits = name, hits
    if best is None:
        keys = sorted({k for r in records[:20] for k in r})[:12]
        raise ValueError(
            f"could not detect the source format of {len(records)} sampled record(s) "
            f"(keys seen: {', '.join(keys) or 'none'}); pass --from FORMAT ({', '.join(FORMATS)})"
        )
    return best


def convert_record(module: ModuleType, record: Any, context: dict[str, Any] | None = None) -> list:
    """Run one format's converter on one raw record, with or without its context."""
    if not isinstance(record, dict):
        raise ConvertError("not_an_object", f"record is a JSON {type(record).__name__}, not an object")
    if context is not None:
        return module.convert(record, context)
    return module.convert(record)


__all__ = ["FORMATS", "FORMAT_MODULES", "ConvertError", "convert_record", "detect_format", "get_format"]
