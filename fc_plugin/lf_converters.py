"""On-the-fly dataset converters for LLaMA-Factory: `"formatting": "fc_<format>"` in dataset_info.json.

`register_converters()` (called by the autoload hook through `registry.register_all`) registers one
`DatasetConverter` per source format under its `LF_NAME` (`fc_xlam`, `fc_glaive`, ...). During
`llamafactory-cli train` / the WebUI each raw row then runs through the same convert + normalise +
validate as `fc-plugin convert` and comes out in LLaMA-Factory's aligned columns (`_prompt`,
`_response`, `_system`, `_tools`, `_images`, `_videos`, `_audios`). An invalid row is logged with
our reason code and turned into an empty example, which LLaMA-Factory then drops - never silently.
A local file with an fc_* formatting is read as raw records (`load_raw_records`): Arrow never types
them, so mixed field types and differently shaped tools reach the converter exactly as written.

`HUB_DATASETS` are dataset_info.json entries for the public sets, trained on with no conversion step.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from fc_plugin.convert import FORMAT_MODULES, ConvertError, convert_record, get_format

# dataset_info.json entries for public function-calling sets (converted on the fly).
HUB_DATASETS: dict[str, dict[str, Any]] = {
    "xlam_function_calling_60k": {"hf_hub_url": "Salesforce/xlam-function-calling-60k", "formatting": "fc_xlam"},
    "glaive_function_calling_v2": {"hf_hub_url": "glaiveai/glaive-function-calling-v2", "formatting": "fc_glaive"},
    "hermes_function_calling_v1": {
        "hf_hub_url": "NousResearch/hermes-function-calling-v1",
        "subset": "func_calling_singleturn",
        "formatting": "fc_hermes",
    },
    "hermes_function_calling_v1_multiturn": {
        "hf_hub_url": "NousResearch/hermes-function-calling-v1",
        "subset": "func_calling",
        "formatting": "fc_hermes",
    },
    "toolace": {"hf_hub_url": "Team-ACE/ToolACE", "formatting": "fc_toolace"},
}

_EMPTY_MEDIA = {"_images": None, "_videos": None, "_audios": None}
RAW_COLUMN = "fc_raw_record"  # a local fc_* file is loaded as one string per record: the record as written
_ROLES = {"human": "user", "gpt": "assistant", "observation": "observation", "function_call": "function"}


def lf_names() -> list[str]:
    """`fc_<format>` for every format module that exists (found without importing them)."""
    import importlib.util

    return [f"fc_{mod}" for mod in FORMAT_MODULES if importlib.util.find_spec(f"fc_plugin.convert.{mod}") is not None]


def _strip_nulls(value: Any) -> Any:
    """Plain dicts without None values: Arrow fills keys missing from a row with None, and
    `datasets` hands rows over as lazy mappings."""
    if isinstance(value, Mapping):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


def aligned_row(row: dict[str, Any]) -> dict[str, Any]:
    """A ShareGPT row in LLaMA-Factory's aligned columns, as its SharegptDatasetConverter makes them."""
    messages = [{"role": _ROLES[t["from"]], "content": t["value"]} for t in row["conversations"]]
    return {"_prompt": messages[:-1], "_response": messages[-1:], "_system": row["system"],
            "_tools": row["tools"], **_EMPTY_MEDIA}  # fmt: skip


def _dropped() -> dict[str, Any]:
    return {"_prompt": [], "_response": [], "_system": "", "_tools": "", **_EMPTY_MEDIA}


def _describe(record: Any) -> str:
    if isinstance(record, dict):
        for key in ("id", "idx", "question_id"):
            if record.get(key) is not None:
                return f"{key}={record[key]}"
    text = json.dumps(record, ensure_ascii=False, default=repr)
    return text[:80] + ("..." if len(text) > 80 else "")


def _base_class() -> type:
    """FcDatasetConverter, built on first use: LLaMA-Factory is imported only then (this module is
    imported by the autoload hook while `llamafactory.data` is still initialising)."""
    base = globals().get("FcDatasetConverter")
    if base is not None:
        return base
    from llamafactory.data.converter import DatasetConverter
    from llamafactory.extras import logging

    from fc_plugin.io import loads
    from fc_plugin.normalize import normalize_sample
    from fc_plugin.sharegpt import core_json, to_sharegpt
    from fc_plugin.validate import utf8_or_problem, validate_sample

    logger = logging.get_logger(__name__)

    class FcDatasetConverter(DatasetConverter):
        """Converts one raw row of `format_name` with fc_plugin's converter + normalisation + validation."""

        format_name = ""  # set by each registered subclass
        lf_name = ""

        def _context(self) -> dict[str, Any] | None:
            module = get_format(self.format_name)
            if not hasattr(module, "load_context"):
                return None
            if not hasattr(self, "_fc_context"):
                paths = []
                if self.dataset_attr.load_from == "file":
                    paths = [os.path.join(self.data_args.dataset_dir, self.dataset_attr.dataset_name)]
                self._fc_context = module.load_context(paths)
            return self._fc_context

        def _drop(self, record: Any, code: str, message: str) -> dict[str, Any]:
            logger.warning_rank0(f"fc-plugin {self.lf_name}: dropped row {_describe(record)}: {code}: {message[:300]}")
            return _dropped()

        def __call__(self, example: dict[str, Any]) -> dict[str, Any]:
            if RAW_COLUMN in example:  # loaded by load_raw_records: parse the record as written
                try:
                    record = loads(example[RAW_COLUMN])
                except ValueError as exc:
                    return self._drop(example[RAW_COLUMN][:80], "invalid_json", str(exc))
            else:  # a hub dataset: the row as Arrow typed it
                record = _strip_nulls(example)
            try:
                samples = convert_record(get_format(self.format_name), record, self._context())
            except ConvertError as exc:
                return self._drop(record, exc.code, exc.message)
            except Exception as exc:  # a converter bug must not stop training on the other rows
                return self._drop(record, "convert_error", f"{type(exc).__name__}: {exc}")
            if not samples:
                return self._drop(record, "skipped", "the record holds no sample (context-only, e.g. a possible answer)")
            if len(samples) > 1:
                logger.warning_rank0_once(
                    f"fc-plugin {self.lf_name}: some rows hold several samples; on the fly only the first is "
                    "used - run `fc-plugin convert` to keep them all"
                )
            sample = normalize_sample(samples[0])
            problems = validate_sample(sample)
            if not problems:
                row = to_sharegpt(sample)
                problems = utf8_or_problem(core_json(row))[1]
            if problems:
                return self._drop(record, problems[0].code, "; ".join(p.message for p in problems))
            return aligned_row(row)

    FcDatasetConverter.__module__ = __name__
    globals()["FcDatasetConverter"] = FcDatasetConverter
    return FcDatasetConverter


def converter_class(lf_name: str) -> type:
    """The converter class of `fc_<format>`, kept as a module attribute (picklable for num_proc)."""
    cls_name = "Fc_" + lf_name[3:] + "_Converter"
    cls = globals().get(cls_name)
    if cls is None:
        attrs = {"format_name": lf_name[3:], "lf_name": lf_name, "__module__": __name__}
        cls = type(cls_name, (_base_class(),), attrs)
        globals()[cls_name] = cls
    return cls


def __getattr__(name: str) -> Any:
    """Build converter classes on demand, e.g. when a worker process unpickles one by name."""
    if name == "FcDatasetConverter":
        return _base_class()
    if name.startswith("Fc_") and name.endswith("_Converter"):
        return converter_class("fc_" + name[3 : -len("_Converter")])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def register_converters() -> list[str]:
    """Register every `fc_<format>` converter with LLaMA-Factory (idempotent), and have local fc_* files
    loaded as raw records (`load_raw_records`). Returns their names."""
    from llamafactory.data import loader
    from llamafactory.data.converter import DATASET_CONVERTERS, register_dataset_converter

    names = []
    for lf_name in lf_names():
        if lf_name not in DATASET_CONVERTERS:
            register_dataset_converter(lf_name, converter_class(lf_name))
        names.append(lf_name)
    if not getattr(loader._load_single_dataset, "fc_raw_records", False):
        loader._load_single_dataset = _raw_records_first(loader._load_single_dataset)
    return names


def _raw_records_first(load_single: Any) -> Any:
    """LLaMA-Factory's `_load_single_dataset`, except that a local file (or folder) with an fc_* formatting
    is read by `load_raw_records`; everything else goes to LLaMA-Factory unchanged."""
    import functools

    @functools.wraps(load_single)
    def load(dataset_attr: Any, model_args: Any, data_args: Any, training_args: Any) -> Any:
        if dataset_attr.load_from != "file" or dataset_attr.formatting not in lf_names():
            return load_single(dataset_attr, model_args, data_args, training_args)
        return load_raw_records(dataset_attr, model_args, data_args, training_args)

    load.fc_raw_records = True  # type: ignore[attr-defined]
    return load


def _raw_texts(paths: list[str], signature: str) -> Any:
    """One `{RAW_COLUMN: text}` row per record of `paths`, as written (`signature`: the files' sizes and
    times, so the datasets cache is rebuilt when a file changes)."""
    from fc_plugin.convert.reader import iter_records

    for path in paths:
        for record in iter_records(path, parse=False):
            text = record.text if record.text is not None else json.dumps(record.value, ensure_ascii=False)
            yield {RAW_COLUMN: text}


def load_raw_records(dataset_attr: Any, model_args: Any, data_args: Any, training_args: Any) -> Any:
    """A local fc_* dataset as one string column, one row per raw record, then LLaMA-Factory's `align_dataset`.

    Arrow never types the records (it dies on a field that is a string in one row and a number in
    another, and pads differently shaped objects such as tool `properties` maps with nulls), so the
    converter parses each record exactly as written: every good row trains and every bad one is
    dropped with our reason in the log. JSONL, JSON arrays and single objects, files or a folder;
    `num_samples`, `max_samples` and `streaming` as LLaMA-Factory applies them.
    """
    import numpy as np
    from datasets import Dataset, Features, Value
    from llamafactory.data.converter import align_dataset
    from llamafactory.extras import logging

    local = os.path.join(data_args.dataset_dir, dataset_attr.dataset_name)
    if os.path.isdir(local):
        paths = sorted(os.path.join(local, name) for name in os.listdir(local) if os.path.isfile(os.path.join(local, name)))
    elif os.path.isfile(local):
        paths = [local]
    else:
        raise ValueError(f"File {local} not found.")
    logging.get_logger(__name__).info_rank0(
        f"fc-plugin {dataset_attr.formatting}: loading {local} as raw records (each parsed as written)"
    )
    signature = ";".join(f"{p}:{os.stat(p).st_size}:{os.stat(p).st_mtime_ns}" for p in paths)
    dataset = Dataset.from_generator(
        _raw_texts, gen_kwargs={"paths": paths, "signature": signature},
        features=Features({RAW_COLUMN: Value("string")}), cache_dir=model_args.cache_dir,
    )  # fmt: skip
    if dataset_attr.num_samples is not None and not data_args.streaming:  # as LLaMA-Factory samples
        target = dataset_attr.num_samples
        indexes = np.random.permutation(len(dataset))[:target]
        if target > len(indexes):
            indexes = np.concatenate((indexes, np.random.choice(len(dataset), target - len(indexes))), axis=0)
        dataset = dataset.select(indexes)
    if data_args.max_samples is not None:
        dataset = dataset.select(range(min(data_args.max_samples, len(dataset))))
    if data_args.streaming:
        dataset = dataset.to_iterable_dataset(num_shards=training_args.dataloader_num_workers)
    return align_dataset(dataset, dataset_attr, data_args, training_args)


def hub_entries() -> dict[str, dict[str, Any]]:
    """The dataset_info.json entries of HUB_DATASETS (a copy)."""
    return json.loads(json.dumps(HUB_DATASETS))


__all__ = [
    "HUB_DATASETS", "RAW_COLUMN", "aligned_row", "converter_class", "hub_entries", "lf_names", "load_raw_records",
    "register_converters",
]  # fmt: skip
