"""Reading raw input files one record at a time: JSONL, a JSON array (parsed incrementally) or one
JSON object. Damage never raises: truncated records, invalid UTF-8, bad JSON, records over the size
limit or nested too deeply come back as RawRecords carrying a ConvertError with its reason code.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fc_plugin.convert import ConvertError
from fc_plugin.io import loads

MAX_RECORD_BYTES = 32 * 1024 * 1024  # bigger records are rejected (record_too_large)
RAW_CLIP = 1024 * 1024  # raw text kept in the rejects file for unparsable / oversized records
INPUT_SUFFIXES = (".json", ".jsonl", ".ndjson")
_CHUNK = 1 << 20
_SURROGATE = re.compile("[\udc80-\udcff]")


@dataclass
class RawRecord:
    """One record of an input file: its text, parsed lazily (`parse()`), or the `error` that spoiled it."""

    file: str
    index: int
    line: int | None
    text: str | None = None
    value: Any = None
    parsed: bool = False
    error: ConvertError | None = None
    size: int = 0
    complete: bool = True  # False when the file ended before the record's line did

    def ref(self) -> dict[str, Any]:
        return {"file": self.file, "index": self.index, "line": self.line}

    def parse(self) -> Any:
        """The record's JSON value; raises its ConvertError (invalid_json, truncated_record, ...)."""
        if self.error is not None:
            raise self.error
        if not self.parsed:
            self.value, self.parsed = _loads(self.text or "", self.complete), True
        return self.value

    def check(self) -> RawRecord:
        """Parse now, keeping a failure in `error` instead of raising it."""
        try:
            self.parse()
        except ConvertError as exc:
            self.error = exc
        return self

    def raw(self) -> Any:
        """What the rejects file keeps: the parsed record, else the (clipped) raw text."""
        if self.error is None and self.parsed:
            return self.value
        text = self.text or ""
        return text if len(text) <= RAW_CLIP else text[:RAW_CLIP] + f"... [{len(text) - RAW_CLIP} chars clipped]"


def _loads(text: str, complete: bool = True) -> Any:
    try:
        return loads(text)
    except RecursionError:
        raise ConvertError("invalid_json", "the record is nested too deeply to parse") from None
    except ValueError as exc:
        if (isinstance(exc, json.JSONDecodeError) and exc.pos >= len(text.rstrip())) or not complete:
            raise ConvertError("truncated_record", f"the record ends mid-JSON ({exc})") from None
        raise ConvertError("invalid_json", str(exc)) from None


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
    """A JSONL line as an unparsed RawRecord (invalid UTF-8 is an error right away)."""
    complete = raw.endswith(b"\n")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = raw.decode("utf-8", "backslashreplace")
        err = ConvertError("invalid_utf8", f"invalid UTF-8 byte at offset {exc.start} of the line")
        return RawRecord(path, index, lineno, text, error=err, size=len(raw), complete=complete)
    return RawRecord(path, index, lineno, text, size=len(raw), complete=complete)


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
            yield RawRecord(path, index, lineno, head.decode("utf-8", "replace"), error=err, size=size)
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
            yield RawRecord(path, index, line, text, value=value, parsed=True, size=len(text))
        index += 1
        line += text.count("\n")
        pos, after_element = end, True
        if pos > _CHUNK:
            buf, pos = buf[pos:], 0


def iter_records(path: str | Path, max_record_bytes: int = MAX_RECORD_BYTES, *, parse: bool = True) -> Iterator[RawRecord]:
    """Raw records of one file: JSONL (one object per line), a JSON array, or one JSON object.

    Never raises on bad content: unparsable parts come back as RawRecords with an `error`. With
    parse=False JSONL lines are left unparsed (`RawRecord.parse()` later, e.g. in a worker).
    """
    records = _iter_file(path, max_record_bytes)
    return (r.check() for r in records) if parse else records


def _iter_file(path: str | Path, max_record_bytes: int) -> Iterator[RawRecord]:
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
