"""Canonical `Sample` <-> LLaMA-Factory ShareGPT row, and the atomic dataset writer.

A row is `{"conversations": [{"from", "value"}], "system": str, "tools": JSON str}` (+ optional
`"id"` and `"meta"` (JSON str)). Roles: `human`, `gpt`, `function_call` (value: JSON call object,
or a list of them for a parallel call, optionally after `<thought>...</thought>`), `observation`
(a tool result; several results of one parallel call are one observation holding a JSON list of
`{"name", "content"}`). Tool results get their function name back from the calls, by position.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from array import array
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from fc_plugin.convert import ConvertError
from fc_plugin.formats.lf_messages import split_thought, with_thought
from fc_plugin.io import dumps as _dumps
from fc_plugin.io import encode_string, merge_dataset_info, publish, read_dataset_info
from fc_plugin.normalize import parse_arguments, parse_json_value
from fc_plugin.sample import Message, Sample, ToolCall

SHAREGPT_ENTRY: dict[str, Any] = {
    "formatting": "sharegpt",
    "columns": {"messages": "conversations", "system": "system", "tools": "tools"},
    "tags": {
        "role_tag": "from",
        "content_tag": "value",
        "user_tag": "human",
        "assistant_tag": "gpt",
        "observation_tag": "observation",
        "function_tag": "function_call",
        "system_tag": "system",
    },
}

_RESULT_KEYS = {"name", "content"}

_TURN_KEYS = ("from", "value")
_encoded_tools = functools.lru_cache(maxsize=1024)(encode_string)  # rows of a dataset share few tool lists


def _call_json(call: ToolCall) -> str:
    """`_dumps(call.to_dict())`, assembled (the name is a string in every valid sample)."""
    name = call.name
    if type(name) is not str:
        return _dumps(call.to_dict())
    return '{"name": ' + encode_string(name) + ', "arguments": ' + _dumps(call.arguments) + "}"


def to_sharegpt(sample: Sample, tools_json: str | None = None) -> dict[str, Any]:
    """The ShareGPT row for a (valid) sample. Raises ConvertError("bad_role_order") if it has none.

    `tools_json`: `sample.tools` already encoded as JSON, if the caller has it."""
    turns: list[dict[str, str]] = []
    pending: list[Message] = []  # consecutive tool results -> one observation
    last_calls: list[ToolCall] = []

    def flush() -> None:
        if not pending:
            return
        single_name = last_calls[0].name if len(last_calls) == 1 else None
        if len(pending) == 1 and pending[0].name in (None, single_name):
            turns.append({"from": "observation", "value": pending[0].content})
        else:
            results = [{"name": m.name, "content": m.content} for m in pending]
            turns.append({"from": "observation", "value": _dumps(results)})
        pending.clear()

    for i, m in enumerate(sample.messages):
        if m.role == "system":
            if turns or pending:
                raise ConvertError("bad_role_order", f"system message at position {i} (only allowed first)")
            continue
        if m.role == "tool":
            pending.append(m)
            continue
        if pending:
            flush()
        if m.role == "user":
            turns.append({"from": "human", "value": m.content})
        elif m.role == "assistant" and m.tool_calls:
            thought = "\n".join(t for t in (m.thought, m.content) if t) or None  # text beside calls
            calls = [_call_json(c) for c in m.tool_calls]
            payload = calls[0] if len(calls) == 1 else "[" + ", ".join(calls) + "]"
            turns.append({"from": "function_call", "value": with_thought(thought, payload)})
            last_calls = list(m.tool_calls)
        elif m.role == "assistant":
            turns.append({"from": "gpt", "value": with_thought(m.thought, m.content)})
        else:
            raise ConvertError("unknown_role", f"message {i} has role {m.role!r}")
    flush()
    tools = tools_json if tools_json is not None else _dumps(sample.tools)
    row: dict[str, Any] = {"conversations": turns, "system": sample.system, "tools": tools}
    if sample.id is not None:
        row["id"] = str(sample.id)
    if sample.meta:
        row["meta"] = _dumps(sample.meta)
    return row


def _parse_calls(value: str, index: int) -> tuple[str | None, list[ToolCall]]:
    thought, payload = split_thought(value)
    try:
        parsed = parse_json_value(payload)
    except ConvertError as exc:
        raise ConvertError("invalid_json", f"function_call turn {index}: {exc.message}") from None
    items = parsed if isinstance(parsed, list) else [parsed]
    calls = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ConvertError("invalid_json", f"function_call turn {index}: a call needs a string 'name': {item!r:.120}")
        try:
            calls.append(ToolCall(item["name"], parse_arguments(item.get("arguments"))))
        except ConvertError as exc:
            raise ConvertError("invalid_json", f"function_call turn {index}: {exc.message}") from None
    if not calls:
        raise ConvertError("invalid_json", f"function_call turn {index} holds no call")
    return thought, calls


def _parse_results(value: str, last_calls: list[ToolCall]) -> list[Message]:
    if value.startswith("[") and len(value) > 2:
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if (
            isinstance(parsed, list)
            and parsed
            and all(isinstance(r, dict) and set(r) == _RESULT_KEYS and isinstance(r["content"], str) for r in parsed)
        ):
            return [Message("tool", r["content"], name=r["name"]) for r in parsed]
    name = last_calls[0].name if len(last_calls) == 1 else None
    return [Message("tool", value, name=name)]


def from_sharegpt(row: Any) -> Sample:
    """The canonical sample of a ShareGPT row (inverse of `to_sharegpt`). Raises ConvertError."""
    if not isinstance(row, dict):
        raise ConvertError("not_an_object", f"row is a JSON {type(row).__name__}, not an object")
    turns = row.get("conversations")
    if not isinstance(turns, list):
        raise ConvertError("wrong_type", f"'conversations' must be a list, got {type(turns).__name__}")
    system = row.get("system") or ""
    if not isinstance(system, str):
        raise ConvertError("wrong_type", f"'system' must be a string, got {type(system).__name__}")
    tools = row.get("tools") or []
    if isinstance(tools, str):
        tools = parse_json_value(tools) if tools.strip() else []
    if not isinstance(tools, list):
        raise ConvertError("invalid_tool_schema", f"'tools' must be a JSON list, got {type(tools).__name__}")
    messages: list[Message] = []
    last_calls: list[ToolCall] = []
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise ConvertError("wrong_type", f"turn {i} is a {type(turn).__name__}, not an object")
        role, value = turn.get("from", turn.get("role")), turn.get("value", turn.get("content"))
        if not isinstance(value, str):
            raise ConvertError("wrong_type", f"turn {i} ({role}) value must be a string, got {type(value).__name__}")
        if role == "system":
            if messages:
                raise ConvertError("bad_role_order", f"system turn at position {i} (only allowed first)")
            system = value
        elif role in ("human", "user"):
            messages.append(Message("user", value))
        elif role in ("gpt", "assistant"):
            thought, text = split_thought(value)
            messages.append(Message("assistant", text, thought=thought))
        elif role == "function_call":
            thought, last_calls = _parse_calls(value, i)
            messages.append(Message("assistant", "", list(last_calls), thought=thought))
        elif role in ("observation", "tool"):
            messages.extend(_parse_results(value, last_calls))
        else:
            raise ConvertError("unknown_role", f"turn {i} has unknown role {role!r}")
    if system:
        messages.insert(0, Message("system", system))
    meta = row.get("meta") or {}
    if isinstance(meta, str):
        try:
            meta = json.loads(meta) if meta.strip() else {}
        except ValueError:
            meta = {"raw_meta": meta}
    row_id = row.get("id")
    return Sample(messages, tools, None if row_id is None else str(row_id), meta if isinstance(meta, dict) else {})


def core_json(row: dict[str, Any]) -> str:
    """The JSON text of a row's training content (conversations, system, tools): the dedup key.

    Assembled from the strings of a row as `to_sharegpt` builds it (the same text as `_dumps` of
    the three fields, at a third of its cost); any other shape goes through `_dumps`."""
    turns, system, tools = row["conversations"], row["system"], row["tools"]
    if type(turns) is list and type(system) is str and type(tools) is str:
        try:
            parts = []
            for turn in turns:
                if type(turn) is not dict or tuple(turn) != _TURN_KEYS:
                    break
                parts.append('{"from": ' + encode_string(turn["from"]) + ', "value": ' + encode_string(turn["value"]) + "}")
            else:
                body = ", ".join(parts)
                return '{"conversations": [' + body + '], "system": ' + encode_string(system) + ', "tools": ' + encode_string(tools) + "}"
        except TypeError:  # a value that is not a string
            pass
    return _dumps({"conversations": turns, "system": system, "tools": tools})


def row_json(row: dict[str, Any], core: str | None = None) -> str:
    """One row as compact JSON (reuses `core` = core_json(row) when given)."""
    core = core if core is not None else core_json(row)
    extra = {k: row[k] for k in ("id", "meta") if k in row}
    return core if not extra else core[:-1] + ", " + _dumps(extra)[1:]


class DigestSet:
    """A set of 64-bit content digests in one flat array (open addressing): ~16-32 bytes per
    sample instead of ~70 for a Python set of ints, so dedup memory stays small on huge inputs."""

    def __init__(self, capacity: int = 1024) -> None:
        size = 1 << max(10, (capacity * 2 - 1).bit_length())
        self._table = array("Q", bytes(8 * size))
        self._mask = size - 1
        self.count = 0

    def add(self, digest: bytes) -> bool:
        """Add `digest` (8 bytes); False when it was already there."""
        key = int.from_bytes(digest, "little") or 1  # 0 marks an empty slot
        table, mask = self._table, self._mask
        i = key & mask
        while True:
            slot = table[i]
            if slot == 0:
                table[i] = key
                self.count += 1
                if self.count * 2 > mask:
                    self._grow()
                return True
            if slot == key:
                return False
            i = (i + 1) & mask

    def _grow(self) -> None:
        old = self._table
        self._table = array("Q", bytes(16 * len(old)))
        self._mask = len(self._table) - 1
        table, mask = self._table, self._mask
        for key in old:
            if key:
                i = key & mask
                while table[i]:
                    i = (i + 1) & mask
                table[i] = key

    def __len__(self) -> int:
        return self.count


class _AtomicFile:
    """A temp file next to `path`, renamed over it on commit (the old file stays until then)."""

    def __init__(self, path: Path, *, json_array: bool) -> None:
        self.path = path
        self.json_array = json_array
        self.count = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        self.file: IO[str] = os.fdopen(fd, "w", encoding="utf-8")
        if json_array:
            self.file.write("[")

    def write(self, line: str) -> None:
        if self.json_array:
            self.file.write(",\n" if self.count else "\n")
            self.file.write(line)
        else:
            self.file.write(line + "\n")
        self.count += 1

    def commit(self) -> None:
        if self.json_array:
            self.file.write("\n]\n" if self.count else "]\n")
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        publish(self.tmp, self.path)

    def abort(self) -> None:
        if not self.file.closed:
            self.file.close()
        Path(self.tmp).unlink(missing_ok=True)


def rejects_path(out_path: str | Path, name: str) -> Path:
    """Where the rejects of dataset `name` written to `out_path` go: `NAME.rejects.jsonl` beside it."""
    return Path(out_path).with_name(f"{name}.rejects.jsonl")


def eval_path(out_path: str | Path) -> Path:
    """The eval split file beside `out_path`: `data/x.json` -> `data/x_eval.json`."""
    out_path = Path(out_path)
    return out_path.with_name(f"{out_path.stem}_eval{out_path.suffix}")


def dataset_entry(out_path: str | Path, info_path: str | Path) -> dict[str, Any]:
    """The dataset_info.json entry for a ShareGPT file (file_name relative to the info file's folder)."""
    rel = os.path.relpath(Path(out_path).resolve(), Path(info_path).resolve().parent)
    return {"file_name": Path(rel).as_posix(), **json.loads(json.dumps(SHAREGPT_ENTRY))}


class DatasetWriter:
    """Streams ShareGPT rows into a dataset (+ optional eval split) and a rejects file, atomically.

    Rows go to temp files; `commit()` renames them over the targets and merges the dataset_info.json
    entries; `abort()` (or an exception inside `with`) leaves every previous file untouched.
    Duplicate rows (same conversations, system and tools) are rejected with code `duplicate`.
    With `eval_fraction` > 0 a seeded hash of the row content sends it to the eval split.
    """

    def __init__(
        self,
        out_path: str | Path,
        name: str,
        *,
        info_path: str | Path | None = "dataset_info.json",
        eval_fraction: float = 0.0,
        seed: int = 0,
        dedup: bool = True,
    ) -> None:
        if not 0.0 <= eval_fraction < 1.0:
            raise ValueError(f"eval fraction must be in [0, 1), got {eval_fraction}")
        self.out_path = Path(out_path)
        self.name = name
        self.info_path = None if info_path is None else Path(info_path)
        self.eval_fraction = eval_fraction
        self.seed_bytes = str(seed).encode()
        self.dedup = dedup
        self._seen = DigestSet()
        array = self.out_path.suffix != ".jsonl"
        self.train = _AtomicFile(self.out_path, json_array=array)
        self.eval = _AtomicFile(eval_path(self.out_path), json_array=array) if eval_fraction > 0 else None
        self.rejects = _AtomicFile(rejects_path(self.out_path, name), json_array=False)
        self.reject_codes: dict[str, int] = {}
        self.duplicates = 0

    # -- writing ---------------------------------------------------------------------------
    def add_row(self, row: dict[str, Any], *, ref: dict[str, Any] | None = None) -> str | None:
        """Write one row. Returns "train"/"eval", or None when it duplicates an earlier row."""
        core = core_json(row)
        digest = hashlib.blake2b(core.encode("utf-8"), digest_size=8).digest()
        return self.add_line(row_json(row, core), digest, ref=ref)

    def add_line(self, line: str, digest: bytes, *, ref: dict[str, Any] | None = None) -> str | None:
        """Write one row already encoded (`row_json`) with its content digest; see `add_row`.

        A duplicate is recorded in the rejects file with `ref` (where it came from)."""
        if self.dedup and not self._seen.add(digest):
            message = "same conversations, system and tools as an earlier sample"
            self.add_reject({**(ref or {}), "code": "duplicate", "message": message})
            self.duplicates += 1
            return None
        if self.eval is not None and self._is_eval(digest):
            self.eval.write(line)
            return "eval"
        self.train.write(line)
        return "train"

    def add_sample(self, sample: Sample, *, ref: dict[str, Any] | None = None) -> str | None:
        """Write one (already validated) sample as a ShareGPT row; see `add_row`."""
        return self.add_row(to_sharegpt(sample), ref=ref)

    def add_reject(self, reject: dict[str, Any]) -> None:
        """Keep one rejected record: {"file", "index", "code", "message", "raw", ...}."""
        self.add_reject_line(str(reject.get("code", "unknown")), json.dumps(reject, ensure_ascii=False, default=repr))

    def add_reject_line(self, code: str, line: str) -> None:
        """Keep one rejected record already encoded as one line of JSON."""
        self.reject_codes[code] = self.reject_codes.get(code, 0) + 1
        self.rejects.write(line)

    def _is_eval(self, digest: bytes) -> bool:
        h = hashlib.blake2b(digest + self.seed_bytes, digest_size=8).digest()
        return int.from_bytes(h, "little") / 2**64 < self.eval_fraction

    # -- finishing -------------------------------------------------------------------------
    @property
    def written(self) -> int:
        return self.train.count + (self.eval.count if self.eval else 0)

    @property
    def rejected(self) -> int:
        return self.rejects.count

    def commit(self, *, keep_data: bool = True) -> None:
        """Rename the temp files over the targets and register the dataset(s) in dataset_info.json.

        With keep_data=False only the rejects file is committed; the dataset files and their
        dataset_info entries are left as they were (used when a run fails or is --strict).
        """
        if not keep_data:
            self.train.abort()
            if self.eval:
                self.eval.abort()
            self.rejects.commit()
            return
        if self.info_path is not None:
            read_dataset_info(self.info_path)  # a broken dataset_info.json fails before any file is replaced
        self.train.commit()
        entries = {}
        if self.info_path is not None:
            entries[self.name] = dataset_entry(self.out_path, self.info_path)
        if self.eval and self.eval.count:
            self.eval.commit()
            if self.info_path is not None:
                entries[f"{self.name}_eval"] = dataset_entry(self.eval.path, self.info_path)
        elif self.eval:  # an empty eval split would make LLaMA-Factory fail: not written
            self.eval.abort()
        self.rejects.commit()
        if entries and self.info_path is not None:
            merge_dataset_info(self.info_path, entries)

    def abort(self) -> None:
        """Drop every temp file; previous outputs stay intact."""
        for f in (self.train, self.eval, self.rejects):
            if f is not None:
                f.abort()

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:  # noqa: ANN001
        if exc_type is not None:
            self.abort()


def write_dataset(
    samples: Iterable[Sample],
    out_path: str | Path,
    name: str,
    info_path: str | Path | None = "dataset_info.json",
    rejects: Iterable[dict[str, Any]] = (),
    *,
    eval_fraction: float = 0.0,
    seed: int = 0,
    **validate_kwargs: Any,
) -> dict[str, int]:
    """Validate `samples` and write the valid ones as a ShareGPT dataset registered as `name`.

    Invalid samples and the given `rejects` (dicts) go to `NAME.rejects.jsonl` with their reason.
    `validate_kwargs` go to `validate_sample` (tokenizer, cutoff_len, template). Everything is
    written atomically. Returns {"written", "rejected", "duplicates"}.
    """
    from fc_plugin.validate import validate_sample

    with DatasetWriter(out_path, name, info_path=info_path, eval_fraction=eval_fraction, seed=seed) as writer:
        for reject in rejects:
            writer.add_reject(reject)
        for index, sample in enumerate(samples):
            problems = validate_sample(sample, **validate_kwargs)
            ref = {"index": index, "id": getattr(sample, "id", None)}
            if problems:
                raw = sample.to_dict() if isinstance(sample, Sample) else repr(sample)
                writer.add_reject({**ref, "code": problems[0].code, "message": problems[0].message,
                                   "problems": [p.to_dict() for p in problems], "raw": raw})  # fmt: skip
                continue
            writer.add_sample(sample, ref=ref)
        writer.commit(keep_data=writer.written > 0)
        return {"written": writer.written, "rejected": writer.rejected, "duplicates": writer.duplicates}


__all__ = [
    "SHAREGPT_ENTRY",
    "DatasetWriter",
    "DigestSet",
    "core_json",
    "dataset_entry",
    "eval_path",
    "from_sharegpt",
    "rejects_path",
    "row_json",
    "to_sharegpt",
    "write_dataset",
]
