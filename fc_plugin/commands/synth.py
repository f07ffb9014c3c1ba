"""`fc-plugin synth`: a validated synthetic function-calling dataset from tool schemas (rules or a teacher)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fc_plugin.commands.convert import add_length_args

if TYPE_CHECKING:
    from fc_plugin.sample import Sample


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "synth",
        help="generate a synthetic function-calling dataset from tool schemas",
        description="Generate single, parallel, no-call, multi-round and slot-filling samples for the "
        "given tools (rule-based, or with --teacher an OpenAI-compatible model), validate every sample, "
        "write a LLaMA-Factory ShareGPT dataset, merge its dataset_info.json entry and print the stats.",
    )
    p.add_argument("--tools", required=True, help="JSON file: a list of tool (function) schemas")
    p.add_argument("--n", type=int, required=True, help="number of samples")
    p.add_argument("--out", required=True, help="output dataset, e.g. data/NAME.json (.jsonl for JSON lines)")
    p.add_argument("--name", help="dataset name in dataset_info.json (default: the --out file's stem)")
    p.add_argument("--mix", help="category shares, e.g. single=0.4,no_call=0.2 (categories: single, parallel, "
                   "no_call, multi_round, slot_filling; left-out ones share the rest)")  # fmt: skip
    p.add_argument("--lang", default="en,zh", help="languages, comma separated: en, zh (default en,zh)")
    p.add_argument("--seed", type=int, default=0, help="random seed: same seed, same dataset")
    p.add_argument("--templates", help="user template file (requests/asks/answers per tool and language)")
    p.add_argument("--today", help="reference date for relative dates, YYYY-MM-DD (default 2025-06-04)")
    p.add_argument("--thought-rate", type=float, default=0.3, help="share of calls with a thought (default 0.3)")
    p.add_argument("--max-tools", type=int, help="tools shown per sample (the needed ones + random others)")
    p.add_argument("--unavailable-rate", type=float, default=0.2, help="share of near-miss no-call samples that "
                   "ask for a tool the sample does not list (default 0.2; the rest are cancelled or hypothetical)")
    p.add_argument("--exclude", action="append", default=[], metavar="DATASET",
                   help="ShareGPT dataset (.json/.jsonl) whose samples this run must not repeat, e.g. another "
                        "run's held-out split when adding training data; repeatable")
    p.add_argument("--split-eval", type=float, default=0.0, metavar="FRACTION", help="eval share, e.g. 0.1")
    p.add_argument("--info", default="dataset_info.json", help="dataset_info.json to merge into")
    p.add_argument("--json", action="store_true", help="print the stats as JSON")
    p.add_argument("--no-progress", dest="progress", action="store_const", const=False, default=None)
    add_length_args(p)
    t = p.add_argument_group("teacher model (instead of rules)")
    t.add_argument("--teacher", metavar="URL", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1")
    t.add_argument("--model", help="teacher model name")
    t.add_argument("--api-key-env", help="environment variable holding the API key "
                   "(default: FC_TEACHER_API_KEY, then OPENAI_API_KEY)")  # fmt: skip
    t.add_argument("--concurrency", type=int, default=4, help="requests in flight at once (default 4)")
    t.add_argument("--retries", type=int, default=5, help="retries per request on 429/5xx/timeouts (default 5)")
    t.add_argument("--backoff", type=float, default=1.0, help="first retry delay in seconds, doubling (default 1)")
    t.add_argument("--timeout", type=float, default=120.0, help="seconds per request (default 120)")
    t.add_argument("--temperature", type=float, default=0.8)
    t.add_argument("--batch-size", type=int, default=5, help="conversations per request (default 5)")
    t.add_argument("--cache-dir", help="response cache, so a re-run does not pay twice "
                   "(default: $XDG_CACHE_HOME/fc-plugin/teacher)")  # fmt: skip
    p.set_defaults(func=run)


def excluded_samples(path: str | Path) -> list[Sample]:
    """The samples of a ShareGPT dataset given to `--exclude`; a bad row raises ValueError naming file and record
    (an exclusion that silently skipped rows could let held-out samples into training)."""
    from fc_plugin.evaluate.inputs import _BadLine, read_records
    from fc_plugin.sharegpt import from_sharegpt

    samples = []
    for label, row in read_records(path):
        try:
            if isinstance(row, _BadLine):
                raise ValueError(f"invalid JSON: {row.reason}")
            samples.append(from_sharegpt(row))
        except ValueError as exc:  # ConvertError included
            raise ValueError(f"--exclude {path}: record {label}: {exc}") from None
    return samples


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from fc_plugin.sharegpt import DatasetWriter
    from fc_plugin.stats import StatsCollector
    from fc_plugin.synth import (
        Generator,
        SynthConfig,
        allocate,
        load_templates,
        load_tools,
        parse_langs,
        parse_mix,
    )
    from fc_plugin.validate import LengthChecker

    if args.n < 1:
        raise ValueError(f"--n must be >= 1, got {args.n}")
    if not 0.0 <= args.thought_rate <= 1.0:
        raise ValueError(f"--thought-rate must be in [0, 1], got {args.thought_rate}")
    if not 0.0 <= args.unavailable_rate <= 1.0:
        raise ValueError(f"--unavailable-rate must be in [0, 1], got {args.unavailable_rate}")
    name = args.name or Path(args.out).stem
    tools = load_tools(args.tools)
    templates = load_templates(args.templates, tools) if args.templates else None
    try:
        today = dt.date.fromisoformat(args.today) if args.today else None
    except ValueError:
        raise ValueError(f"--today: {args.today!r} is not a YYYY-MM-DD date") from None
    config = SynthConfig(n=args.n, mix=parse_mix(args.mix), langs=parse_langs(args.lang), seed=args.seed,
                         thought_rate=args.thought_rate, max_tools=args.max_tools,
                         unavailable_rate=args.unavailable_rate)  # fmt: skip
    if today:
        config.today = today
    generator = Generator(tools, config, templates)
    for path in args.exclude:
        print(f"excluding {generator.exclude(excluded_samples(path))} sample(s) of {path}", file=sys.stderr)
    if args.mix is None and generator.impossible():
        config.mix = generator.feasible_mix(config.mix)
        print(f"note: {'; '.join(generator.impossible().values())}: left out of the default mix", file=sys.stderr)
    generator.check_mix(config.mix)
    if (args.cutoff_len or args.template) and not args.tokenizer:
        raise ValueError("--cutoff-len and --template need --tokenizer PATH")
    length = LengthChecker(args.tokenizer, args.cutoff_len, args.template) if args.tokenizer else None
    disable = None if args.progress is None else not args.progress
    if args.teacher:  # progress: requests answered
        items, client = _teacher_items(args, tools, templates, config, generator, disable)
        loop_bar = {"disable": True}
    else:  # progress: samples generated, validated and written
        items, client = generator.iter_samples(), None
        loop_bar = {"total": config.n, "desc": f"synth {name}", "unit": "sample", "disable": disable}

    stats = StatsCollector("tokens" if length else "chars")
    with DatasetWriter(args.out, name, info_path=args.info, eval_fraction=args.split_eval, seed=args.seed) as writer:
        for index, item in enumerate(tqdm(items, **loop_bar)):
            stats.records += 1
            if isinstance(item, dict):  # a teacher request or conversation that failed before validation
                writer.add_reject({"index": index, **item})
                stats.reject(item["code"])
                continue
            sample, row, size, problems = check(item, length, normalize=client is not None)
            if client is not None and not problems:
                problems = category_problems(sample)
            ref = {"index": index, "id": sample.id, **{k: sample.meta[k] for k in ("request", "item") if k in sample.meta}}
            if problems:
                writer.add_reject({**ref, "code": problems[0].code, "message": problems[0].message,
                                   "problems": [p.to_dict() for p in problems], "raw": sample.to_dict()})  # fmt: skip
                stats.reject(problems[0].code)
                continue
            split = writer.add_row(row, ref=ref)
            if split is None:
                stats.reject("duplicate")
            else:
                stats.add(sample, size, split=split)
        ok = writer.written > 0
        writer.commit(keep_data=ok)

    report = stats.to_dict()
    report["requested_mix"] = {c: round(w, 4) for c, w in config.mix.items()}
    report["requested_counts"] = allocate(config.n, config.mix)
    if client is not None:
        report["teacher"] = {"model": args.model, "requests_sent": client.requests_sent, "cache_hits": client.cache_hits}
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(stats.render(f"{name} (synth{', teacher ' + args.model if client else ''})"))
        got = report["categories"]
        total = max(report["samples"], 1)
        print("  mix (requested -> got): " + ", ".join(
            f"{c} {100 * w:.1f}% -> {100 * got.get(c, 0) / total:.1f}%" for c, w in config.mix.items()))  # fmt: skip
        if client is not None:
            print(f"  teacher {args.model}: {client.requests_sent} request(s) sent, {client.cache_hits} answered from the cache")
    rejects = Path(args.out).with_name(f"{name}.rejects.jsonl")
    if ok:
        print(f"wrote {args.out} ({writer.written} samples); registered {name!r} in {args.info}", file=sys.stderr)
    print(f"rejects: {rejects} ({writer.rejected})", file=sys.stderr)
    if not ok:
        print("fc-plugin synth: no valid sample was produced; the dataset was not written", file=sys.stderr)
        return 1
    return 0


def check(sample: Any, length: Any, *, normalize: bool) -> tuple[Any, dict[str, Any] | None, int, list[Any]]:
    """(sample, ShareGPT row or None, length, problems): validate, convert and measure one sample.

    Teacher samples are normalised first (e.g. text beside a call becomes its thought); rule-based
    ones are canonical already. The length is in tokens with a LengthChecker, else row characters.
    """
    from fc_plugin.normalize import normalize_sample
    from fc_plugin.sharegpt import core_json, to_sharegpt
    from fc_plugin.validate import validate_sample

    if normalize:
        sample = normalize_sample(sample)
    problems = validate_sample(sample)
    if problems:
        return sample, None, 0, problems
    row = to_sharegpt(sample)
    if length is not None:
        size, problems = length.measure(row)
        return sample, (None if problems else row), size, problems
    return sample, row, len(core_json(row)), []


def category_problems(sample: Any) -> list[Any]:
    """A teacher conversation whose category is not the one its request asked for (so the requested
    proportions hold): [Problem("category_mismatch", ...)], else []."""
    from fc_plugin.categories import categorize
    from fc_plugin.validate import Problem

    requested, got = sample.meta.get("requested"), categorize(sample)
    if requested is None or got == requested:
        return []
    return [Problem("category_mismatch", f"asked for a {requested} conversation, the teacher wrote a {got} one")]


def _teacher_items(args: argparse.Namespace, tools: list[dict[str, Any]], templates: dict[str, Any] | None,
                   config: Any, generator: Any, disable: bool | None) -> tuple[Any, Any]:  # fmt: skip
    """The teacher's samples/rejects (a lazy stream) and its client."""
    from tqdm import tqdm

    from fc_plugin.synth import Generator, SynthConfig, allocate
    from fc_plugin.synth.teacher import TeacherClient, TeacherConfig, plan_requests, teacher_samples

    if not args.model:
        raise ValueError("--teacher needs --model NAME")
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {args.batch_size}")
    cache_dir = Path(args.cache_dir) if args.cache_dir else _default_cache()
    tconfig = TeacherConfig(url=args.teacher, model=args.model, api_key_env=args.api_key_env,
                            concurrency=args.concurrency, retries=args.retries, backoff=args.backoff,
                            timeout=args.timeout, temperature=args.temperature, batch_size=args.batch_size,
                            cache_dir=cache_dir)  # fmt: skip
    counts = allocate(config.n, config.mix)
    examples = {}
    for category, count in counts.items():
        for lang in config.langs:
            if not count:
                continue
            one = SynthConfig(n=1, mix={category: 1.0}, langs=(lang,), seed=config.seed, today=config.today,
                              thought_rate=1.0)  # fmt: skip
            try:
                examples[category, lang] = Generator(tools, one, templates).generate()[0]
            except ValueError:
                examples[category, lang] = None  # the tools cannot show this category; no example
    requests = plan_requests(tools, counts, config.langs, tconfig, examples, config.today)
    client = TeacherClient(tconfig)
    system = {lang: generator.system_prompt(lang) for lang in config.langs}
    bar = tqdm(total=len(requests), desc=f"teacher {args.model}", unit="request", disable=disable)

    def stream() -> Any:
        try:
            yield from teacher_samples(tools, requests, client, system, bar.update)
        finally:
            bar.close()

    return stream(), client


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fc-plugin" / "teacher"
