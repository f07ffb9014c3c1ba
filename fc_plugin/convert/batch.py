"""`make convert`: convert every raw sample under data/raw/ into data/, one dataset per entry.

Each file (or folder) directly under the raw folder is one dataset named `fc_<stem>_sample`,
written to `<out_dir>/fc_<stem>_sample.json` with its format auto-detected; files inside a
`possible_answer/` folder are context for their BFCL question file, not datasets. The hub entries
of `fc_plugin.lf_converters.HUB_DATASETS` are merged into dataset_info.json too.

Usage: python -m fc_plugin.convert.batch [RAW_DIR] [--out-dir data] [--info dataset_info.json]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from fc_plugin.convert.pipeline import INPUT_SUFFIXES, ConvertOptions, convert_files
from fc_plugin.io import merge_dataset_info


def raw_datasets(raw_dir: str | Path) -> dict[str, list[Path]]:
    """`dataset name -> input files` for every entry directly under `raw_dir` (sorted by name)."""
    out: dict[str, list[Path]] = {}
    for entry in sorted(Path(raw_dir).iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            files = sorted(
                p for p in entry.rglob("*")
                if p.is_file() and p.suffix in INPUT_SUFFIXES and "possible_answer" not in p.parts
            )  # fmt: skip
        elif entry.suffix in INPUT_SUFFIXES:
            files = [entry]
        else:
            continue
        if files:
            stem = re.sub(r"[^0-9A-Za-z]+", "_", entry.name.split(".")[0]).strip("_").lower()
            out[f"fc_{stem}_sample"] = files
    return out


def convert_raw_dir(raw_dir: str | Path = "data/raw", out_dir: str | Path = "data",
                    info_path: str | Path = "dataset_info.json") -> int:  # fmt: skip
    """Convert every raw dataset; returns the number of datasets that failed."""
    from fc_plugin.lf_converters import hub_entries

    failed = 0
    datasets = raw_datasets(raw_dir)
    if not datasets:
        raise ValueError(f"no raw datasets (.json/.jsonl files or folders) in {raw_dir}")
    for name, files in datasets.items():
        result = convert_files(files, Path(out_dir) / f"{name}.json", name, ConvertOptions(progress=False), info_path)
        formats = ",".join(sorted(set(result.formats.values())))
        status = "ok" if result.exit_code == 0 else f"FAILED ({result.reason})"
        print(f"{name:<28} {formats:<10} {result.written:>5} written {result.rejected:>4} rejected  {status}")
        failed += result.exit_code != 0
    merge_dataset_info(info_path, hub_entries())
    print(f"dataset_info.json: {len(datasets)} converted dataset(s) + {len(hub_entries())} hub entries -> {info_path}")
    return failed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m fc_plugin.convert.batch", description=__doc__.splitlines()[0])
    p.add_argument("raw_dir", nargs="?", default="data/raw")
    p.add_argument("--out-dir", default="data")
    p.add_argument("--info", default="dataset_info.json")
    args = p.parse_args(argv)
    try:
        return 1 if convert_raw_dir(args.raw_dir, args.out_dir, args.info) else 0
    except (ValueError, OSError) as exc:
        print(f"convert: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
