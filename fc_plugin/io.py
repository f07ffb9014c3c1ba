"""Small helpers shared by every command: atomic writes, dataset_info.json merging, strict JSON parsing."""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

try:  # 3-5x faster than the json module; a dependency (pinned in constraints.txt)
    import orjson
except ImportError:  # pragma: no cover - the json module does the same, slower
    orjson = None  # type: ignore[assignment]


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# UTF-8 bytes -> "0" for an ASCII digit, "[" for an opening bracket, " " for anything else (the bytes of
# a non-ASCII character are all >= 0x80): one fast bytes.translate serves both scans of `orjson_exact`.
_SCAN_MAP = bytes(48 if 48 <= i <= 57 else 91 if i in (91, 123) else 32 for i in range(256))
_BIG_INT = b"0" * 19  # 19+ digits in a row: maybe an integer beyond 64 bits, which orjson turns into a float
_MAX_BRACKETS = 400  # more: maybe nested deeper than the json module's recursion limit allows


def orjson_exact(text: str) -> bool:
    """True when `orjson.loads(text)` (if it succeeds) is surely the value `json.loads(text)` gives.

    orjson reads every JSON text the json module reads the same way (floats correctly rounded,
    last duplicate key wins, in first-seen order), except integers beyond 64 bits (floats in
    orjson), nesting the json module refuses (RecursionError) and what it rejects itself (NaN,
    1e400, lone surrogates: `loads` then asks the json module). The first two are ruled out by
    cheap scans: no run of 19 digits, fewer than _MAX_BRACKETS opening brackets."""
    scan = text.encode("utf-8", "surrogatepass").translate(_SCAN_MAP)
    return scan.count(b"[") < _MAX_BRACKETS and _BIG_INT not in scan


def loads(text: str) -> Any:
    """`json.loads`, strict: NaN/Infinity are rejected (ValueError: a row holding them is not JSON).

    Parsed by orjson (3x faster) when `orjson_exact(text)`, else (or when orjson refuses the text)
    by the json module, so values, errors and their messages are always the json module's."""
    if orjson is not None and type(text) is str and orjson_exact(text):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text, parse_constant=_no_constant)


_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False)
_C_ENCODE = getattr(json.encoder, "c_make_encoder", None)
if _C_ENCODE is not None:  # the encoder `_JSON_ENCODER.encode` builds on every call, built once
    _C_ENCODE = _C_ENCODE(None, _JSON_ENCODER.default, json.encoder.encode_basestring, None, ": ", ", ", False, False, True)
encode_string = json.encoder.encode_basestring  # a str as JSON text, as `dumps` writes it (C speed)


def dumps(value: Any) -> str:
    """`json.dumps(value, ensure_ascii=False)`, byte for byte, at about half its cost on small values.

    No check for circular references (values read from JSON or Python literals have none): a
    circular value raises RecursionError instead of ValueError."""
    if type(value) is str:
        return encode_string(value)
    if _C_ENCODE is None:  # pragma: no cover - not CPython
        return _JSON_ENCODER.encode(value)
    return "".join(_C_ENCODE(value, 0))


def fresh_loader(text: str) -> Callable[[], Any]:
    """A function that returns a new `loads(text)` on every call (for cached JSON texts whose values
    callers may modify), with the choice of parser made once."""
    if orjson is not None and orjson_exact(text):
        try:
            data = text.encode("utf-8")
            orjson.loads(data)
        except (UnicodeEncodeError, orjson.JSONDecodeError):  # lone surrogates, NaN: the json module's
            pass
        else:
            return functools.partial(orjson.loads, data)
    return functools.partial(loads, text)


def json_key(value: Any) -> str:
    """Compact JSON text of `value`, fast: a cache key (raises TypeError/ValueError if not JSON-able)."""
    if orjson is not None:
        try:
            text = orjson.dumps(value)
        except TypeError:  # big ints, non-str keys, lone surrogates: the json module's text instead
            pass
        else:
            if b"null" not in text:  # orjson writes NaN and infinities as null: the json module decides
                return text.decode("utf-8")
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write `text` to `path` atomically (temp file in the same folder, then rename)."""
    atomic_write_lines(path, [text])


def atomic_write_lines(path: str | Path, chunks: Iterable[str]) -> None:
    """Stream `chunks` into `path` atomically: an interrupted write leaves the old file intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for chunk in chunks:
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def publish(tmp: str | Path, path: str | Path) -> None:
    """Rename a finished temp file over `path`, with normal permissions (mkstemp makes 0600)."""
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_json(path: str | Path, obj: Any) -> None:
    """Write `obj` as pretty UTF-8 JSON, atomically."""
    atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def read_dataset_info(info_path: str | Path) -> dict[str, Any]:
    """LLaMA-Factory's dataset_info.json as a dict ({} when absent); ValueError naming the file if broken."""
    info_path = Path(info_path)
    if not info_path.exists():
        return {}
    try:
        info = json.loads(info_path.read_text(encoding="utf-8") or "{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{info_path}: not valid JSON ({exc}); fix or remove it, nothing was written") from None
    if not isinstance(info, dict):
        raise ValueError(f"{info_path}: must be a JSON object of dataset entries; nothing was written")
    return info


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on `path`.lock (POSIX), so concurrent merges never lose an entry."""
    if fcntl is None:  # pragma: no cover - Windows: no lock, the write itself stays atomic
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def merge_dataset_info(info_path: str | Path, entries: dict[str, dict[str, Any]]) -> None:
    """Merge `entries` into LLaMA-Factory's dataset_info.json (never clobbers other entries)."""
    info_path = Path(info_path)
    with _locked(info_path):
        info = read_dataset_info(info_path)
        info.update(entries)
        atomic_write_json(info_path, dict(sorted(info.items())))
