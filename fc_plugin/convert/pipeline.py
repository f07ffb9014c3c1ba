"""The streaming conversion pipeline: raw files -> records -> canonical samples -> validated ->
ShareGPT rows, written atomically with a rejects file, stats and a dataset_info.json entry.

Memory stays flat: records are read one at a time (JSONL line by line, JSON arrays incrementally),
rows are streamed to temp files that are renamed at the end; only 8-byte hashes (dedup) and one
length per sample (percentiles) are kept. Every bad record is counted, explained and kept.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from fc_plugin.convert import ConvertError, convert_record, detect_format, get_format
from fc_plugin.normalize import normalize_sample
from fc_plugin.sample import Sample
from fc_plugin.sharegpt import DatasetWriter, core_json, to_sharegpt
from fc_plugin.stats import StatsCollector
from fc_plugin.validate import LengthChecker, validate_sample

MAX_RECORD_BYTES = 32 * 1024 * 1024  # bigger records are rejected (record_too_large)
RAW_CLIP = 1024 * 1024  # raw text kept in the rejects file for unparsable / oversized records
DETECT_SAMPLE = 200  # records looked at by --from auto
INPUT_SUFFIXES = (".json", ".jsonl", ".ndjson")
_CHUNK = 1 << 20
_SURROGATE = re.compile("[\udc80-\udcff]")


@dataclass
class RawRecord:
    """One record read from an input file: `value` when it parsed, else `error` (+ `text`)."""

    file: str
    index: int
    line: int | None
    value: Any = None
    error: ConvertError | None = None
    text: str | None = None
    size: int = 0

    def ref(self) -> dict[str, Any]:
        return {"file": self.file, "index": self.index, "line": self.line}

    def raw(self) -> Any:
        """What the rejects file keeps: the parsed record, else the (clipped) raw text."""
        if self.error is None:
            return self.value
        text = self.text or ""
        return text if len(text) <= RAW_CLIP else text[:RAW_CLIP] + f"... [{len(text) - RAW_CLIP} chars clipped]"


# -- reading ------------------------------------------------------------------------------------
def expand_inputs(inputs: Iterable[str | Path]) -> list[Path]:
    """Input paths, folders expanded to their *.json/*.jsonl files (sorted). Raises ValueError if missing."""
    out: list[Path] = []
    missing = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in INPUT_SUFFIXES))
        elif path.is_file():
            out.append(path)
        else:
            missing.append(str(path))
    if missing:
        raise ValueError(f"input not found: {', '.join(missing)}")
    if not out:
        raise ValueError("no input files (expected .json / .jsonl files or folders holding them)")
    return out


def resolve_dataset(item: str, info_path: str | Path = "dataset_info.json") -> tuple[Path, str | None]:
    """A file path, or a dataset name in dataset_info.json -> (its file, its source format if known)."""
    path = Path(item)
    if path.exists():
        return path, None
    info_path = Path(info_path)
    entry = None
    if info_path.is_file():
        try:
            entry = json.loads(info_path.read_text(encoding="utf-8")).get(item)
        except ValueError as exc:
            raise ValueError(f"{info_path}: not valid JSON ({exc})") from None
    if not isinstance(entry, dict):
        raise ValueError(f"{item}: no such file, nor a dataset in {info_path}")
    if "file_name" not in entry:
        raise ValueError(f"{item}: dataset in {info_path} is not a local file (hub datasets cannot be read offline)")
    formatting = entry.get("formatting", "alpaca")
    fmt = formatting[3:] if formatting.startswith("fc_") else formatting if formatting == "sharegpt" else None
    return info_path.parent / entry["file_name"], fmt


def _decode_line(raw: bytes, path: str, index: int, lineno: int) -> RawRecord:
    size = len(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = raw.decode("utf-8", "backslashreplace")
        err = ConvertError("invalid_utf8", f"invalid UTF-8 byte at offset {exc.start} of the line")
        return RawRecord(path, index, lineno, error=err, text=text, size=size)
    try:
        return RawRecord(path, index, lineno, value=json.loads(text), size=size)
    except RecursionError:
        err = ConvertError("invalid_json", "the record is nested too deeply to parse")
        return RawRecord(path, index, lineno, error=err, text=text, size=size)
    except ValueError as exc:
        ends_early = isinstance(exc, json.JSONDecodeError) and exc.pos >= len(text.rstrip())
        if ends_early or not raw.endswith(b"\n"):
            err = ConvertError("truncated_record", f"the record ends mid-JSON ({exc})")
        else:
            err = ConvertError("invalid_json", str(exc))
        return RawRecord(path, index, lineno, error=err, text=text, size=size)


def _iter_jsonl(f: Any, path: str, max_bytes: int) -> Iterator[RawRecord]:
    index = 0
    lineno = 0
    while True:
        raw = f.readline(max_bytes + 1)
        if not raw:
            return
        lineno += 1
        if len(raw) > max_bytes and not raw.endswith(b"\n"):
            size, head = len(raw), raw[:RAW_CLIP]
            while raw and not raw.endswith(b"\n"):  # skip the rest of the oversized line
                raw = f.readline(_CHUNK)
                size += len(raw)
            err = ConvertError("record_too_large", f"record of {size} bytes is over the {max_bytes}-byte limit")
            yield RawRecord(path, index, lineno, error=err, text=head.decode("utf-8", "replace"), size=size)
            index += 1
            continue
        if not raw.strip():
            continue
        yield _decode_line(raw, path, index, lineno)
        index += 1


class _TextReader:
    """Incremental UTF-8 text over a binary file; invalid bytes become lone surrogates (flagged later)."""

    def __init__(self, f: Any) -> None:
        self.f = f
        self.decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self.eof = False
        self.chunk = _CHUNK

    def read(self) -> str:
        data = self.f.read(self.chunk)
        self.chunk = min(self.chunk * 2, 64 * _CHUNK)
        if not data:
            self.eof = True
            return self.decoder.decode(b"", final=True)
        return self.decoder.decode(data)


def _iter_json_array(reader: _TextReader, buf: str, pos: int, path: str, max_bytes: int) -> Iterator[RawRecord]:
    """Elements of a JSON array one at a time; `buf[pos]` is just past the opening bracket."""
    decoder = json.JSONDecoder()
    index, line, after_element = 0, 1 + buf.count("\n", 0, pos), False
    while True:
        while True:  # skip whitespace, reading on when the buffer runs out
            j = pos
            while j < len(buf) and buf[j] in " \t\r\n":
                j += 1
            line += buf.count("\n", pos, j)
            pos = j
            if pos < len(buf) or reader.eof:
                break
            buf, pos = buf[pos:] + reader.read(), 0
        if pos >= len(buf):
            err = ConvertError("truncated_record", f"file ends inside the JSON array after {index} record(s)")
            yield RawRecord(path, index, line, error=err, text="")
            return
        if buf[pos] == "]":
            return
        if after_element:
            if buf[pos] != ",":
                rest = buf[pos:] + "".join(iter(reader.read, "")) if not reader.eof else buf[pos:]
                err = ConvertError("invalid_json", f"expected ',' or ']' after record {index - 1} at line {line}")
                yield RawRecord(path, index, line, error=err, text=rest)
                return
            pos, after_element = pos + 1, False
            continue
        while True:  # parse one element, reading more while it is incomplete
            try:
                value, end = decoder.raw_decode(buf, pos)
                if end < len(buf) or reader.eof:
                    break
            except RecursionError:
                err = ConvertError("invalid_json", "a record is nested too deeply to parse; the rest of the array cannot be read")
                yield RawRecord(path, index, line, error=err, text=buf[pos : pos + RAW_CLIP])
                return
            except json.JSONDecodeError as exc:
                if reader.eof:
                    text = buf[pos:]
                    truncated = not buf[exc.pos :].strip() or "Unterminated" in exc.msg
                    where = f"line {line + buf.count(chr(10), pos, exc.pos)}"
                    if truncated:
                        err = ConvertError("truncated_record", f"file ends mid-record ({exc.msg} at {where})")
                    else:
                        err = ConvertError("invalid_json", f"{exc.msg} at {where}; the rest of the array cannot be read")
                    yield RawRecord(path, index, line, error=err, text=text)
                    return
            buf, pos = buf[pos:] + reader.read(), 0
        text = buf[pos:end]
        if _SURROGATE.search(text):
            err = ConvertError("invalid_utf8", "the record holds bytes that are not valid UTF-8")
            raw = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            yield RawRecord(path, index, line, error=err, text=raw)
        elif len(text) > max_bytes:
            err = ConvertError("record_too_large", f"record of {len(text)} characters is over the {max_bytes} limit")
            yield RawRecord(path, index, line, error=err, text=text)
        else:
            yield RawRecord(path, index, line, value=value, size=len(text))
        index += 1
        line += text.count("\n")
        pos, after_element = end, True
        if pos > _CHUNK:
            buf, pos = buf[pos:], 0


def iter_records(path: str | Path, max_record_bytes: int = MAX_RECORD_BYTES) -> Iterator[RawRecord]:
    """Raw records of one file: JSONL (one object per line), a JSON array, or one JSON object.

    Never raises on bad content: unparsable parts come back as RawRecords with an `error`.
    """
    name = str(path)
    with open(path, "rb") as f:
        head = f.read(4096)
        f.seek(0)
        if head.startswith(codecs.BOM_UTF8):
            f.read(len(codecs.BOM_UTF8))
            head = head[len(codecs.BOM_UTF8) :]
        first = head.lstrip()[:1]
        if Path(name).suffix in (".jsonl", ".ndjson") or first not in (b"[", b"{"):
            yield from _iter_jsonl(f, name, max_record_bytes)
            return
        if first == b"{":  # JSONL unless the first line alone is not a whole object
            start = f.tell()
            line = f.readline(max_record_bytes + 1)
            try:
                json.loads(line)
                is_jsonl = True
            except ValueError:
                is_jsonl = False
            f.seek(start)
            if is_jsonl:
                yield from _iter_jsonl(f, name, max_record_bytes)
                return
            raw = f.read()
            yield _decode_line(raw if raw.endswith(b"\n") else raw + b"\n", name, 0, 1)
            return
        reader = _TextReader(f)
        buf = reader.read()
        pos = buf.index("[") + 1
        yield from _iter_json_array(reader, buf, pos, name, max_record_bytes)


def file_size(path: str | Path) -> int:
    return Path(path).stat().st_size


# -- converting ---------------------------------------------------------------------------------
@dataclass
class ConvertOptions:
    """What `convert_files` does besides reading and writing."""

    source_format: str = "auto"
    strict: bool = False
    eval_fraction: float = 0.0
    seed: int = 0
    cutoff_len: int | None = None
    tokenizer: Any = None
    template: str | None = None
    dedup: bool = True
    context_paths: Sequence[str] = ()
    max_record_bytes: int = MAX_RECORD_BYTES
    progress: bool | None = None  # None: a bar when stderr is a terminal


@dataclass
class ConvertResult:
    """Outcome of a run: counts, stats, the files written and the exit code (0 ok, 1 failed)."""

    stats: StatsCollector
    formats: dict[str, str] = field(default_factory=dict)  # file -> detected/used format
    written: int = 0
    rejected: int = 0
    duplicates: int = 0
    out_path: Path | None = None
    rejects_path: Path | None = None
    eval_path: Path | None = None
    committed: bool = False
    exit_code: int = 0
    reason: str = ""


def _peek(records: Iterator[RawRecord], n: int) -> tuple[list[RawRecord], Iterator[RawRecord]]:
    head = []
    for record in records:
        head.append(record)
        if len(head) >= n:
            break

    def chain() -> Iterator[RawRecord]:
        yield from head
        yield from records

    return head, chain()


def _open_format(path: Path, options: ConvertOptions) -> tuple[ModuleType, dict[str, Any] | None, Iterator[RawRecord]]:
    records: Iterator[RawRecord] = iter_records(path, options.max_record_bytes)
    if options.source_format == "auto":
        head, records = _peek(records, DETECT_SAMPLE)
        try:
            name = detect_format(r.value for r in head if r.error is None)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        module = get_format(name)
    else:
        module = get_format(options.source_format)
    context = None
    if hasattr(module, "load_context"):
        context = module.load_context(list(options.context_paths) or [str(path)])
    return module, context, records


class SampleChecker:
    """Normalise + validate one converted sample; measures its length (tokens or row chars)."""

    def __init__(self, options: ConvertOptions) -> None:
        self.length: LengthChecker | None = None
        if options.tokenizer is not None:
            self.length = LengthChecker(options.tokenizer, options.cutoff_len, options.template)
        elif options.cutoff_len or options.template:
            raise ValueError("--cutoff-len and --template need --tokenizer PATH")

    @property
    def unit(self) -> str:
        return "tokens" if self.length else "chars"

    def check(self, sample: Sample) -> tuple[Sample, dict[str, Any] | None, int, list[Any]]:
        """(normalised sample, row or None, length, problems)."""
        sample = normalize_sample(sample)
        problems = validate_sample(sample)
        if problems:
            return sample, None, 0, problems
        row = to_sharegpt(sample)
        if self.length is not None:
            n, problems = self.length.measure(row)
            return sample, (None if problems else row), n, problems
        return sample, row, len(core_json(row)), []


def iter_checked(
    records: Iterable[RawRecord], module: ModuleType, context: dict[str, Any] | None, checker: SampleChecker
) -> Iterator[tuple[RawRecord, int | None, Sample | None, dict[str, Any] | None, int, ConvertError | list[Any] | None]]:
    """(record, sample number, sample, row, length, error) for every sample (or failure) of `records`.

    A record the converter turns into no sample at all gives one item with row and error both None.
    """
    for record in records:
        if record.error is not None:
            yield record, None, None, None, 0, record.error
            continue
        try:
            samples = convert_record(module, record.value, context)
            if not isinstance(samples, list) or not all(isinstance(s, Sample) for s in samples):
                raise ConvertError("convert_error", f"converter returned {type(samples).__name__}, not a list of samples")
        except ConvertError as exc:
            yield record, None, None, None, 0, exc
            continue
        except RecursionError:
            yield record, None, None, None, 0, ConvertError("convert_error", "record nested too deeply")
            continue
        except Exception as exc:  # a converter bug must not lose the rest of the file
            yield record, None, None, None, 0, ConvertError("convert_error", f"{type(exc).__name__}: {exc}")
            continue
        if not samples:  # a context-only record (e.g. a BFCL possible answer): counted as skipped
            yield record, None, None, None, 0, None
        for k, sample in enumerate(samples):
            try:
                sample, row, length, problems = checker.check(sample)
            except Exception as exc:  # e.g. an unserialisable value inside arguments
                yield record, k, sample, None, 0, ConvertError("wrong_type", f"{type(exc).__name__}: {exc}")
                continue
            yield record, k, sample, row, length, (problems or None)


def _reject_entry(record: RawRecord, k: int | None, sample: Sample | None, error: Any) -> dict[str, Any]:
    entry = record.ref()
    if k is not None:
        entry["sample"] = k
    if isinstance(error, ConvertError):
        entry.update(code=error.code, message=error.message)
    else:
        entry.update(code=error[0].code, message=error[0].message)
        if len(error) > 1:
            entry["problems"] = [p.to_dict() for p in error]
        if sample is not None:
            entry["converted"] = sample.to_dict()
    entry["raw"] = record.raw()
    return entry


def convert_files(
    inputs: Sequence[str | Path],
    out_path: str | Path,
    name: str,
    options: ConvertOptions | None = None,
    info_path: str | Path | None = "dataset_info.json",
) -> ConvertResult:
    """Convert `inputs` into the ShareGPT dataset `name` at `out_path` (see module docstring).

    The dataset and its dataset_info.json entry are only replaced when at least one sample is valid
    and, with `strict`, nothing was rejected; the rejects file is always written.
    """
    from tqdm import tqdm

    options = options or ConvertOptions()
    paths = expand_inputs(inputs)
    checker = SampleChecker(options)
    stats = StatsCollector(checker.unit)
    result = ConvertResult(stats)
    writer = DatasetWriter(
        out_path, name, info_path=info_path, eval_fraction=options.eval_fraction, seed=options.seed, dedup=options.dedup
    )
    total = sum(file_size(p) for p in paths)
    disable = None if options.progress is None else not options.progress  # None: only on a terminal
    bar = tqdm(total=total, unit="B", unit_scale=True, desc=f"convert {name}", disable=disable)
    try:
        for path in paths:
            module, context, records = _open_format(path, options)
            result.formats[str(path)] = module.NAME
            last_record = -1
            pending = 0
            for record, k, sample, row, length, error in iter_checked(records, module, context, checker):
                if record.index != last_record:
                    last_record = record.index
                    stats.records += 1
                    pending += record.size
                    if pending > 1 << 20:
                        bar.update(pending)
                        pending = 0
                if row is None and error is None:
                    stats.skipped += 1
                    continue
                if error is not None:
                    entry = _reject_entry(record, k, sample, error)
                    writer.add_reject(entry)
                    stats.reject(entry["code"])
                    continue
                ref = {**record.ref(), "sample": k, "raw": record.value}
                split = writer.add_row(row, ref=ref)
                if split is None:
                    stats.reject("duplicate")
                    continue
                stats.add(sample, length, split=split)
            bar.update(pending)
        result.written, result.rejected, result.duplicates = writer.written, writer.rejected, writer.duplicates
        failing = result.rejected - result.duplicates
        if result.written == 0:
            result.exit_code, result.reason = 1, "no valid sample was produced; the previous dataset (if any) is kept"
        elif options.strict and failing:
            result.exit_code, result.reason = 1, f"--strict: {failing} record(s) rejected; the previous dataset is kept"
        writer.commit(keep_data=result.exit_code == 0)
        result.committed = result.exit_code == 0
    except BaseException:
        writer.abort()
        raise
    finally:
        bar.close()
    result.out_path = writer.out_path
    result.rejects_path = writer.rejects.path
    result.eval_path = writer.eval.path if writer.eval and writer.eval.count else None
    return result


def iter_samples(
    inputs: Sequence[str | Path], options: ConvertOptions | None = None
) -> Iterator[tuple[RawRecord, int | None, Sample | None, dict[str, Any] | None, int, Any]]:
    """Stream (record, sample number, sample, row, length, error) over `inputs` without writing anything."""
    options = options or ConvertOptions()
    checker = SampleChecker(options)
    for path in expand_inputs(inputs):
        module, context, records = _open_format(path, options)
        yield from iter_checked(records, module, context, checker)


__all__ = [
    "ConvertOptions",
    "ConvertResult",
    "RawRecord",
    "SampleChecker",
    "convert_files",
    "expand_inputs",
    "iter_checked",
    "iter_records",
    "iter_samples",
    "resolve_dataset",
]
