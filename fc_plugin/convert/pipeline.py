"""The streaming conversion pipeline: raw files -> records -> canonical samples -> normalised ->
validated -> ShareGPT rows, written atomically with a rejects file, stats and a dataset_info.json entry.

Memory stays flat: records are read one at a time (see `reader`), rows are streamed to temp files
that are renamed at the end; only 8-byte hashes (dedup) and one length per sample (percentiles)
are kept. Big inputs are converted by worker processes, chunk by chunk, in input order (a bounded
number of chunks in flight), so the output is the same byte for byte with any number of workers.
Every bad record is counted, explained and kept in the rejects file.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import Any

from fc_plugin.categories import categorize
from fc_plugin.convert import ConvertError, convert_record, detect_format, get_format
from fc_plugin.convert.reader import (
    INPUT_SUFFIXES,
    MAX_RECORD_BYTES,
    RawRecord,
    expand_inputs,
    iter_records,
    resolve_dataset,
)
from fc_plugin.io import dumps, json_key, loads
from fc_plugin.normalize import normalize_sample
from fc_plugin.sample import Sample
from fc_plugin.sharegpt import DatasetWriter, core_json, row_json, to_sharegpt
from fc_plugin.stats import StatsCollector
from fc_plugin.validate import LengthChecker, utf8_or_problem, validate_sample

DETECT_SAMPLE = 200  # records looked at by --from auto
PARALLEL_MIN_BYTES = 16 * 1024 * 1024  # auto workers: below this one process is faster
CHUNK_RECORDS = 256  # records per task sent to a worker


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
    workers: int = 0  # 0 (auto): one process for small inputs or < 4 cores, else cores - 1 (max 8)


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


@dataclass
class Outcome:
    """What became of one sample (or of a record that gave none): a row, a reject, or skipped.

    Small and picklable: workers send these back instead of samples.
    """

    ref: dict[str, Any]  # file, index, line of the record
    size: int  # bytes of the record (progress)
    sample: int | None = None  # sample number within the record
    line: str | None = None  # the ShareGPT row as one line of JSON
    digest: bytes | None = None  # dedup key: hash of the row's conversations, system and tools
    summary: tuple[str, tuple[str, ...], int] | None = None  # category, called tools, turns
    length: int = 0  # tokens (with a tokenizer) or characters of the row
    problems: list[tuple[str, str]] | None = None  # (code, message) of a reject, first = its reason
    reject: str | None = None  # the rejects-file line
    skipped: bool = False  # a context-only record (e.g. a BFCL possible answer)

    @property
    def code(self) -> str | None:
        return self.problems[0][0] if self.problems else None


@functools.lru_cache(maxsize=1024)
def _tools_text(key: str) -> str:
    """The tools' JSON as written in rows (json module, `", "` separators), from their `json_key`."""
    return dumps(loads(key))


class RecordProcessor:
    """Convert + normalise + validate (+ measure) one raw record; one per process."""

    def __init__(self, format_name: str, context: dict[str, Any] | None, options: ConvertOptions) -> None:
        self.module = get_format(format_name)
        self.context = context
        self.length: LengthChecker | None = None
        if options.tokenizer is not None:
            self.length = LengthChecker(options.tokenizer, options.cutoff_len, options.template)

    def process(self, rec: RawRecord) -> list[Outcome]:
        """Every outcome of one record, in sample order. Never raises on bad data."""
        try:
            value = rec.parse()
            samples = convert_record(self.module, value, self.context)
            if not isinstance(samples, list) or not all(isinstance(s, Sample) for s in samples):
                raise ConvertError("convert_error", f"converter returned {type(samples).__name__}, not a list of samples")
        except ConvertError as exc:
            return [self._reject(rec, None, None, [(exc.code, exc.message)])]
        except RecursionError:
            return [self._reject(rec, None, None, [("convert_error", "record nested too deeply")])]
        except Exception as exc:  # a converter bug must not lose the rest of the file
            return [self._reject(rec, None, None, [("convert_error", f"{type(exc).__name__}: {exc}")])]
        if not samples:
            return [Outcome(rec.ref(), rec.size, skipped=True)]
        return [self._sample(rec, k, s) for k, s in enumerate(samples)]

    def _sample(self, rec: RawRecord, k: int, sample: Sample) -> Outcome:
        try:
            sample = normalize_sample(sample)
            try:
                tools_json = _tools_text(json_key(sample.tools))
            except (TypeError, ValueError):
                tools_json = None  # validation reports what is wrong with the tools
            problems = [(p.code, p.message) for p in validate_sample(sample, tools_json=tools_json)]
            if problems:
                return self._reject(rec, k, sample, problems)
            row = to_sharegpt(sample, tools_json)
            core = core_json(row)
            encoded, issues = utf8_or_problem(core)
            if issues:
                return self._reject(rec, k, sample, [(p.code, p.message) for p in issues])
            length = len(core)
            if self.length is not None:
                length, issues = self.length.measure(row)
                if issues:
                    return self._reject(rec, k, sample, [(p.code, p.message) for p in issues])
            digest = hashlib.blake2b(encoded, digest_size=8).digest()
            calls = tuple(c.name for m in sample.messages for c in m.tool_calls)
            turns = sum(m.role != "system" for m in sample.messages)
            return Outcome(rec.ref(), rec.size, k, row_json(row, core), digest, (categorize(sample), calls, turns), length)
        except Exception as exc:  # e.g. a value in the arguments that is not JSON
            return self._reject(rec, k, sample, [("wrong_type", f"{type(exc).__name__}: {exc}")])

    @staticmethod
    def _reject(rec: RawRecord, k: int | None, sample: Sample | None, problems: list[tuple[str, str]]) -> Outcome:
        entry = rec.ref()
        if k is not None:
            entry["sample"] = k
        entry["code"], entry["message"] = problems[0]
        if len(problems) > 1:
            entry["problems"] = [{"code": c, "message": m} for c, m in problems]
        if isinstance(sample, Sample):
            try:
                entry["converted"] = sample.to_dict()
            except Exception:  # noqa: BLE001 - a broken sample is still rejected, just without this
                pass
        entry["raw"] = rec.raw()
        line = json.dumps(entry, ensure_ascii=False, default=repr)
        if utf8_or_problem(line)[1]:  # lone surrogates (from \\udXXX escapes) are kept as escapes
            line = json.dumps(entry, ensure_ascii=True, default=repr)
        return Outcome(rec.ref(), rec.size, k, problems=problems, reject=line)


# -- worker processes -----------------------------------------------------------------------------
_WORKER: RecordProcessor | None = None
_WORKER_ERROR: BaseException | None = None


def _init_worker(format_name: str, context: dict[str, Any] | None, options: ConvertOptions) -> None:
    global _WORKER, _WORKER_ERROR
    try:
        _WORKER = RecordProcessor(format_name, context, options)
    except Exception as exc:  # reported by the first task (a failing initializer would respawn forever)
        _WORKER_ERROR = exc


def _work(chunk: list[RawRecord]) -> list[list[Outcome]]:
    if _WORKER is None:
        raise _WORKER_ERROR or RuntimeError("worker not initialised")
    return [_WORKER.process(rec) for rec in chunk]


def _parallel(records: Iterator[RawRecord], args: tuple, workers: int) -> Iterator[list[Outcome]]:
    """`RecordProcessor(*args).process` over `records` in `workers` processes, in input order."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=args)
    try:
        pending: deque = deque()
        records = iter(records)
        while True:
            chunk = list(islice(records, CHUNK_RECORDS))
            for rec in chunk:  # send text only: the worker parses (cheaper than pickling values)
                if rec.parsed and rec.text is not None:
                    rec.value, rec.parsed = None, False
            if chunk:
                pending.append(pool.submit(_work, chunk))
            while pending and (len(pending) >= workers * 3 or not chunk):
                try:
                    yield from pending.popleft().result()
                except BrokenProcessPool:
                    raise OSError("a worker process died (out of memory?); try --workers 1") from None
            if not chunk:
                break
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _workers(options: ConvertOptions, total_bytes: int) -> int:
    if options.workers:
        return max(1, options.workers)
    cores = os.cpu_count() or 1
    if total_bytes < PARALLEL_MIN_BYTES or cores < 4:  # the main process reads and writes: it needs a core
        return 1
    return min(8, cores - 1)


def _open_format(path: Path, options: ConvertOptions) -> tuple[str, dict[str, Any] | None, Iterator[RawRecord]]:
    records: Iterator[RawRecord] = iter_records(path, options.max_record_bytes, parse=False)
    if options.source_format == "auto":
        head = list(islice(records, DETECT_SAMPLE))
        records = chain(head, records)
        try:
            name = detect_format(r.value for r in head if r.check().error is None)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        module = get_format(name)
    else:
        module = get_format(options.source_format)
    context = None
    if hasattr(module, "load_context"):
        context = module.load_context(list(options.context_paths) or [str(path)])
    return module.NAME, context, records


def iter_outcomes(
    inputs: Sequence[str | Path], options: ConvertOptions | None = None, formats: dict[str, str] | None = None
) -> Iterator[list[Outcome]]:
    """The outcomes of every record of `inputs`, record by record, in input order (writes nothing).

    `formats`, when given, receives `file -> source format` as files are opened.
    """
    options = options or ConvertOptions()
    paths = expand_inputs(inputs)
    if options.tokenizer is None and (options.cutoff_len or options.template):
        raise ValueError("--cutoff-len and --template need --tokenizer PATH")
    workers = _workers(options, sum(p.stat().st_size for p in paths))
    for path in paths:
        format_name, context, records = _open_format(path, options)
        if formats is not None:
            formats[str(path)] = format_name
        if workers > 1:
            yield from _parallel(records, (format_name, context, options), workers)
        else:
            processor = RecordProcessor(format_name, context, options)
            for rec in records:
                yield processor.process(rec)


def valid_outcomes(
    outcomes: Iterable[list[Outcome]],
    writer: DatasetWriter,
    stats: StatsCollector,
    on_record: Callable[[list[Outcome]], None] | None = None,
) -> Iterator[Outcome]:
    """The outcomes of `outcomes` (from `iter_outcomes`) that are valid samples, in order; every
    record counted in `stats` (`on_record` called with its outcomes, e.g. for progress), skipped ones
    counted, rejects written to `writer`'s rejects file and counted by code."""
    for record in outcomes:
        stats.records += 1
        if on_record is not None:
            on_record(record)
        for o in record:
            if o.skipped:
                stats.skipped += 1
            elif o.problems:
                writer.add_reject_line(o.code or "unknown", o.reject or "{}")
                stats.reject(o.code or "unknown")
            else:
                yield o


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
    stats = StatsCollector("tokens" if options.tokenizer is not None else "chars")
    result = ConvertResult(stats)
    writer = DatasetWriter(
        out_path, name, info_path=info_path, eval_fraction=options.eval_fraction, seed=options.seed, dedup=options.dedup
    )
    disable = None if options.progress is None else not options.progress  # None: only on a terminal
    total = sum(p.stat().st_size for p in paths)
    bar = tqdm(total=total, unit="B", unit_scale=True, desc=f"convert {name}", disable=disable)
    done = [0]  # bytes read since the bar was last updated

    def progress(outcomes: list[Outcome]) -> None:
        done[0] += outcomes[0].size
        if done[0] > 1 << 20:
            bar.update(done[0])
            done[0] = 0

    try:
        for o in valid_outcomes(iter_outcomes(paths, options, result.formats), writer, stats, progress):
            split = writer.add_line(o.line or "", o.digest or b"", ref={**o.ref, "sample": o.sample})
            if split is None:
                stats.reject("duplicate")
            elif o.summary is not None:
                stats.add_summary(*o.summary, length=o.length, split=split)
        bar.update(done[0])
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


__all__ = [
    "INPUT_SUFFIXES",
    "ConvertOptions",
    "ConvertResult",
    "Outcome",
    "RawRecord",
    "RecordProcessor",
    "convert_files",
    "expand_inputs",
    "iter_outcomes",
    "iter_records",
    "resolve_dataset",
    "valid_outcomes",
]
