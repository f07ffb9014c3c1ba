"""`fc-plugin synth --teacher` against a fake OpenAI-compatible server on 127.0.0.1 (real HTTP).

The fake server answers like a chat-completions endpoint, and can be scripted to fail: 429 with
Retry-After, 500, replies slower than the client's timeout, garbled bodies, prose instead of JSON,
and conversations that call tools which do not exist.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from fc_plugin.convert import ConvertError
from fc_plugin.sharegpt import from_sharegpt
from fc_plugin.synth import allocate, parse_mix
from fc_plugin.synth.teacher import TeacherConfig, parse_items
from fc_plugin.validate import validate_sample

ROOT = Path(__file__).resolve().parents[1]
TOOLS_FILE = ROOT / "data" / "tools" / "seed_tools.json"
FC_PLUGIN = str(Path(sys.executable).parent / "fc-plugin")
SECRET = "sk-test-DO-NOT-LEAK-5f3a9c"
CITIES = ["Beijing", "Shanghai", "Paris", "Tokyo", "London", "Berlin", "Madrid", "Rome", "Seoul", "Sydney",
          "Dubai", "Toronto", "Chicago", "Osaka", "Mumbai", "Wuhan", "Nanjing", "Chengdu", "Hangzhou", "Singapore"]  # fmt: skip


def conversation(category: str, k: int) -> dict[str, Any]:
    """A valid conversation of `category` about get_weather (k varies the values)."""
    city, other = CITIES[k % len(CITIES)], CITIES[(k + 7) % len(CITIES)]
    call = {"name": "get_weather", "arguments": {"city": city}}
    ask = {"role": "user", "content": f"What's the weather in {city}? (#{k})"}
    if category == "single":
        messages = [ask, {"role": "assistant", "content": "", "thought": f"Weather for {city}.", "tool_calls": [call]}]
    elif category == "parallel":  # OpenAI wire shape: arguments as a JSON string
        calls = [{"type": "function", "function": {"name": "get_weather", "arguments": json.dumps({"city": c})}}
                 for c in (city, other)]  # fmt: skip
        messages = [{"role": "user", "content": f"Weather in {city} and {other}? (#{k})"},
                    {"role": "assistant", "content": "", "tool_calls": calls}]  # fmt: skip
    elif category == "no_call":
        messages = [{"role": "user", "content": f"Hello there, friend number {k}!"},
                    {"role": "assistant", "content": "Hello! How can I help you today?"}]  # fmt: skip
    elif category == "multi_round":
        messages = [ask, {"role": "assistant", "content": "", "tool_calls": [call]},
                    {"role": "tool", "name": "get_weather", "content": {"condition": "sunny", "temperature": 20 + k % 9}},
                    {"role": "assistant", "content": f"It is sunny and {20 + k % 9} degrees in {city}."}]  # fmt: skip
    else:  # slot_filling
        messages = [{"role": "user", "content": f"What's the weather like? (#{k})"},
                    {"role": "assistant", "content": "Which city?"}, {"role": "user", "content": city},
                    {"role": "assistant", "content": "", "tool_calls": [call]}]  # fmt: skip
    return {"category": category, "messages": messages}


class FakeTeacher:
    """A chat-completions server on a free port; `script(key, attempt)` decides each reply.

    `key` identifies the request (category/lang/batch, parsed from our prompt); `attempt` counts
    how often that request was made. A reply is ("ok", None) for valid conversations, ("content",
    text), ("status", code, headers), ("sleep", seconds) or ("garbage", body).
    """

    def __init__(self, script: Callable[[str, int], tuple] | None = None, delay: float = 0.0) -> None:
        self.script = script or (lambda key, attempt: ("ok", None))
        self.delay = delay
        self.calls: list[dict[str, Any]] = []
        self.attempts: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer.lock:
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                try:
                    outer.handle(self, body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout)
                finally:
                    with outer.lock:
                        outer.in_flight -= 1

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def handle(self, http: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        prompt = body["messages"][0]["content"]
        category = re.search(r'conversations of category "(\w+)"', prompt).group(1)
        count = int(re.search(r"Write (\d+) different", prompt).group(1))
        batch = int(re.search(r"This is batch (\d+)", prompt).group(1))
        lang = "zh" if "Simplified Chinese" in prompt else "en"
        key = f"{category}/{lang}/{batch}"
        with self.lock:
            attempt = self.attempts[key]
            self.attempts[key] += 1
            self.calls.append({"key": key, "auth": http.headers.get("Authorization"), "body": body})
        if self.delay:
            time.sleep(self.delay)
        reply = self.script(key, attempt)
        if reply[0] == "sleep":
            time.sleep(reply[1])
            reply = ("ok", None)
        if reply[0] == "status":
            http.send_response(reply[1])
            for name, value in (reply[2] if len(reply) > 2 else {}).items():
                http.send_header(name, value)
            http.end_headers()
            http.wfile.write(b'{"error": {"message": "try later"}}')
            return
        if reply[0] == "garbage":
            data = reply[1].encode()
        else:
            content = reply[1]
            if content is None:
                items = [conversation(category, 100 * batch + i + (0 if lang == "en" else 50)) for i in range(count)]
                content = "```json\n" + json.dumps(items) + "\n```"
            data = json.dumps({"id": "x", "object": "chat.completion", "model": body["model"],
                               "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                            "finish_reason": "stop"}]}).encode()  # fmt: skip
        http.send_response(200)
        http.send_header("Content-Type", "application/json")
        http.send_header("Content-Length", str(len(data)))
        http.end_headers()
        http.wfile.write(data)

    def __enter__(self) -> FakeTeacher:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def synth(tmp_path: Path, url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("FC_TEACHER_API_KEY", "OPENAI_API_KEY")}
    cmd = [FC_PLUGIN, "synth", "--tools", str(TOOLS_FILE), "--out", "data/t.json", "--info", "info.json",
           "--teacher", url, "--model", "fake-teacher", "--cache-dir", "cache", "--backoff", "0.01", *args]  # fmt: skip
    return subprocess.run(cmd, cwd=tmp_path, env={**base, **(env or {})}, capture_output=True, text=True, timeout=300)


def rows(tmp_path: Path) -> list[dict[str, Any]]:
    return json.loads((tmp_path / "data" / "t.json").read_text())


def rejects(tmp_path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (tmp_path / "data" / "t.rejects.jsonl").read_text().splitlines()]


# --- happy path, resume ---------------------------------------------------------------------------------

def test_teacher_dataset_is_validated_categorised_and_resumes_from_the_cache(tmp_path: Path) -> None:
    with FakeTeacher() as server:
        run = synth(tmp_path, server.url, "--n", "20", "--lang", "en,zh", "--batch-size", "2")
        assert run.returncode == 0, run.stderr
        first_calls = len(server.calls)
        out = rows(tmp_path)
        assert len(out) == 20 and rejects(tmp_path) == []
        samples = [from_sharegpt(r) for r in out]
        assert all(not validate_sample(s) for s in samples)
        cats = Counter(json.loads(r["meta"])["requested"] for r in out)
        assert set(cats) == {"single", "parallel", "no_call", "multi_round", "slot_filling"}
        assert "categories: single 6 (30%), parallel 3 (15%), multi_round 4 (20%), no_call 4 (20%), slot_filling 3 (15%)" in run.stdout
        assert first_calls == 12 and f"{first_calls} request(s) sent, 0 answered from the cache" in run.stdout
        prompt = server.calls[0]["body"]["messages"][0]["content"]
        assert '"name": "book_meeting_room"' in prompt and "Today is 2025-06-04" in prompt and "Example item:" in prompt
        assert len(list((tmp_path / "cache").glob("*.json"))) == first_calls
        before = (tmp_path / "data" / "t.json").read_bytes()

        again = synth(tmp_path, server.url, "--n", "20", "--lang", "en,zh", "--batch-size", "2")
        assert again.returncode == 0, again.stderr
        assert len(server.calls) == first_calls  # nothing paid twice
        assert f"0 request(s) sent, {first_calls} answered from the cache" in again.stdout
        assert (tmp_path / "data" / "t.json").read_bytes() == before
    assert json.loads((tmp_path / "info.json").read_text())["t"]["file_name"] == "data/t.json"


def test_interrupted_run_resumes_only_the_missing_requests(tmp_path: Path) -> None:
    failing = {"no_call/en/0", "slot_filling/en/0"}
    with FakeTeacher(lambda key, attempt: ("status", 500) if key in failing else ("ok", None)) as server:
        run = synth(tmp_path, server.url, "--n", "10", "--lang", "en", "--retries", "1")
        assert run.returncode == 0, run.stderr
        assert {r["request"] for r in rejects(tmp_path)} == failing
        assert {r["code"] for r in rejects(tmp_path)} == {"teacher_unavailable"}
        counts = allocate(10, parse_mix(None))
        assert len(rows(tmp_path)) == 10 - counts["no_call"] - counts["slot_filling"]
        sent = len(server.calls)
        failing.clear()  # the outage is over
        again = synth(tmp_path, server.url, "--n", "10", "--lang", "en", "--retries", "1")
        assert again.returncode == 0 and len(rows(tmp_path)) == 10 and rejects(tmp_path) == []
        assert len(server.calls) == sent + 2  # only the two failed requests were asked again


def test_ctrl_c_mid_run_leaves_no_dataset_and_the_rerun_pays_only_for_the_rest(tmp_path: Path) -> None:
    """A real interruption (SIGINT while requests are in flight): answered requests stay cached,
    no partial dataset or temp file is left, and the next run asks only for what is missing."""
    import signal

    base = {k: v for k, v in os.environ.items() if k not in ("FC_TEACHER_API_KEY", "OPENAI_API_KEY")}
    with FakeTeacher(delay=0.3) as server:
        cmd = [FC_PLUGIN, "synth", "--tools", str(TOOLS_FILE), "--out", "data/t.json", "--info", "info.json",
               "--teacher", server.url, "--model", "fake-teacher", "--cache-dir", "cache", "--n", "24",
               "--mix", "single=1", "--lang", "en", "--batch-size", "2", "--concurrency", "2"]  # fmt: skip
        (tmp_path / "data").mkdir()
        # A shell without job control starts background jobs with SIGINT ignored, and Python then never
        # installs its KeyboardInterrupt handler: give the child the default disposition, as a terminal does.
        proc = subprocess.Popen(cmd, cwd=tmp_path, env=base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
        deadline = time.monotonic() + 60
        while len(server.calls) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
        cached = len(list((tmp_path / "cache").glob("*.json")))
        assert 4 <= cached < 12 and len(server.calls) < 12
        assert not (tmp_path / "data" / "t.json").exists() and list((tmp_path / "data").iterdir()) == []
        assert not (tmp_path / "info.json").exists()

        sent = len(server.calls)
        again = synth(tmp_path, server.url, "--n", "24", "--mix", "single=1", "--lang", "en", "--batch-size", "2")
        assert again.returncode == 0, again.stderr
        assert len(server.calls) - sent == 12 - cached  # only the unanswered requests are paid for
        assert f"{12 - cached} request(s) sent, {cached} answered from the cache" in again.stdout
    assert len(rows(tmp_path)) == 24 and rejects(tmp_path) == []


# --- failures -----------------------------------------------------------------------------------------

def test_retries_through_429_500_timeout_and_garbage(tmp_path: Path) -> None:
    plan = [("status", 429, {"Retry-After": "0"}), ("status", 500), ("sleep", 2.0), ("garbage", "<<<not json"),
            ("status", 503), ("ok", None)]  # fmt: skip
    with FakeTeacher(lambda key, attempt: plan[min(attempt, len(plan) - 1)]) as server:
        start = time.monotonic()
        run = synth(tmp_path, server.url, "--n", "4", "--mix", "single=0.5,multi_round=0.5", "--lang", "en",
                    "--timeout", "0.5", "--retries", "5")  # fmt: skip
        assert run.returncode == 0, run.stderr
        assert set(server.attempts.values()) == {6}  # each request: 5 failures, then success
        assert len(rows(tmp_path)) == 4 and rejects(tmp_path) == []
        assert time.monotonic() - start < 60


def test_gives_up_after_the_retries_and_says_why(tmp_path: Path) -> None:
    with FakeTeacher(lambda key, attempt: ("status", 500)) as server:
        run = synth(tmp_path, server.url, "--n", "3", "--mix", "single=1", "--lang", "en", "--retries", "2")
        assert run.returncode == 1
        assert "no valid sample" in run.stderr and "Traceback" not in run.stderr
        assert not (tmp_path / "data" / "t.json").exists()
        assert [r["code"] for r in rejects(tmp_path)] == ["teacher_unavailable"]
        assert "gave up after 3 attempt(s): HTTP 500" in rejects(tmp_path)[0]["message"]
        assert server.attempts["single/en/0"] == 3
        assert not list((tmp_path / "cache").glob("*.json"))  # failures are not cached


def test_invalid_conversations_are_rejected_with_their_reason(tmp_path: Path) -> None:
    good = conversation("single", 1)
    bad = [
        {"messages": [{"role": "user", "content": "AAPL price?"},
                      {"role": "assistant", "tool_calls": [{"name": "get_stock_price", "arguments": {"symbol": "AAPL"}}]}]},
        {"messages": [{"role": "user", "content": "Weather in Paris, France?"},
                      {"role": "assistant", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris", "country": "FR"}}]}]},
        {"messages": [{"role": "user", "content": "Weather tomorrow?"},
                      {"role": "assistant", "tool_calls": [{"name": "get_weather", "arguments": {"date": "2025-06-05"}}]}]},
        {"messages": [{"role": "user", "content": "Weather in Rome?"},
                      {"role": "assistant", "tool_calls": [{"name": "get_weather", "arguments": "{city: Rome"}]}]},
        {"messages": [{"role": "user", "content": "Weather in Oslo in kelvin?"},
                      {"role": "assistant", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo", "unit": "kelvin"}}]}]},
        "not a conversation",
    ]  # fmt: skip
    replies = {"single/en/0": ("content", "Here you go:\n" + json.dumps([good, *bad]) + "\nEnjoy!"),
               "single/en/1": ("content", "Sorry, I cannot help with that.")}  # fmt: skip
    with FakeTeacher(lambda key, attempt: replies.get(key, ("ok", None))) as server:
        run = synth(tmp_path, server.url, "--n", "10", "--mix", "single=1", "--lang", "en", "--batch-size", "5")
        assert run.returncode == 0, run.stderr
        assert len(server.calls) == 2
    out = rows(tmp_path)
    assert len(out) == 1 and "What's the weather in Shanghai" in out[0]["conversations"][0]["value"]
    codes = Counter(r["code"] for r in rejects(tmp_path))
    assert codes == Counter({"hallucinated_function": 1, "unknown_argument": 1, "missing_required": 1,
                             "invalid_json": 2, "invalid_enum": 1, "missing_field": 1})  # fmt: skip
    whole = [r for r in rejects(tmp_path) if r["request"] == "single/en/1"]
    assert whole[0]["code"] == "invalid_json" and "Sorry" in whole[0]["raw"]
    hallucinated = next(r for r in rejects(tmp_path) if r["code"] == "hallucinated_function")
    assert "get_stock_price" in hallucinated["message"] and hallucinated["raw"]["messages"]
    assert "reject reasons:" in run.stdout and "hallucinated_function 1" in run.stdout


def test_concurrency_is_limited(tmp_path: Path) -> None:
    with FakeTeacher(delay=0.3) as server:
        run = synth(tmp_path, server.url, "--n", "24", "--mix", "single=1", "--lang", "en", "--batch-size", "2",
                    "--concurrency", "3")  # fmt: skip
        assert run.returncode == 0, run.stderr
        assert len(server.calls) == 12
        assert server.max_in_flight == 3  # used, and never exceeded


def test_conversations_of_another_category_are_rejected(tmp_path: Path) -> None:
    """Asked for slot filling, the teacher calls at once: valid, but it would skew the requested mix."""
    replies = {"slot_filling/en/0": ("content", json.dumps([conversation("slot_filling", 1), conversation("single", 2),
                                                            conversation("no_call", 3)]))}  # fmt: skip
    with FakeTeacher(lambda key, attempt: replies.get(key, ("ok", None))) as server:
        run = synth(tmp_path, server.url, "--n", "6", "--mix", "single=0.5,slot_filling=0.5", "--lang", "en",
                    "--batch-size", "3")  # fmt: skip
        assert run.returncode == 0, run.stderr
    out = rows(tmp_path)
    assert Counter(json.loads(r["meta"])["requested"] for r in out) == Counter({"single": 3, "slot_filling": 1})
    bad = rejects(tmp_path)
    assert [(r["code"], r["request"], r["item"]) for r in bad] == [("category_mismatch", "slot_filling/en/0", 1),
                                                                  ("category_mismatch", "slot_filling/en/0", 2)]  # fmt: skip
    assert "asked for a slot_filling conversation, the teacher wrote a single one" in bad[0]["message"]
    assert bad[1]["raw"]["messages"] and "category_mismatch 2" in run.stdout


def test_backoff_doubles_and_honours_retry_after() -> None:
    """The client's real HTTP retries: the delays it sleeps grow exponentially, at least Retry-After."""
    from fc_plugin.synth import load_tools
    from fc_plugin.synth.dates import REFERENCE_DATE
    from fc_plugin.synth.teacher import TeacherClient, plan_requests

    plan = [("status", 429, {"Retry-After": "3"}), ("status", 500), ("garbage", "{oops"), ("status", 503), ("ok", None)]
    slept: list[float] = []
    with FakeTeacher(lambda key, attempt: plan[min(attempt, len(plan) - 1)]) as server:
        config = TeacherConfig(server.url, "fake-teacher", retries=4, backoff=0.5, timeout=5, batch_size=2)
        requests = plan_requests(load_tools(TOOLS_FILE), {"single": 2}, ("en",), config, {}, REFERENCE_DATE)
        client = TeacherClient(config, sleep=slept.append)
        ((request, content, error),) = list(client.run(requests))
        assert error is None and len(parse_items(content)) == 2
        assert server.attempts["single/en/0"] == 5 and client.requests_sent == 5
    # Retry-After 3 s beats the first back-off (0.5 s); then 1, 2, 4 s; up to 10% jitter on top
    for got, want in zip(slept, [3.0, 1.0, 2.0, 4.0], strict=True):
        assert want <= got <= want * 1.1, slept
    assert TeacherClient(TeacherConfig("u", "m", backoff=30))._delay(5, None) <= 60 * 1.1  # capped


# --- the API key ----------------------------------------------------------------------------------------

def test_api_key_is_sent_but_never_printed_or_written(tmp_path: Path) -> None:
    plan = [("status", 429, {"Retry-After": "0"}), ("ok", None)]
    replies = {"single/en/0": ("content", json.dumps([{"messages": [{"role": "user", "content": "x"},
               {"role": "assistant", "tool_calls": [{"name": "nope", "arguments": {}}]}]}]))}  # fmt: skip
    with FakeTeacher(lambda key, attempt: replies.get(key) if key in replies else plan[min(attempt, 1)]) as server:
        run = synth(tmp_path, server.url, "--n", "6", "--lang", "en", env={"FC_TEACHER_API_KEY": SECRET})
        assert run.returncode == 0, run.stderr
        assert {c["auth"] for c in server.calls} == {f"Bearer {SECRET}"}
    assert SECRET not in run.stdout + run.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) >= 5  # dataset, rejects, info, cache entries
    for path in written:
        assert SECRET not in path.read_text(encoding="utf-8", errors="replace"), path


def test_refused_key_is_one_clear_error_without_the_key(tmp_path: Path) -> None:
    with FakeTeacher(lambda key, attempt: ("status", 401)) as server:
        run = synth(tmp_path, server.url, "--n", "5", "--lang", "en", "--api-key-env", "MY_KEY", env={"MY_KEY": SECRET})
        assert run.returncode == 2
        assert "HTTP 401" in run.stderr and "MY_KEY" in run.stderr
        assert SECRET not in run.stdout + run.stderr and "Traceback" not in run.stderr
        assert server.calls and all(c["auth"] == f"Bearer {SECRET}" for c in server.calls)
    assert not (tmp_path / "data" / "t.json").exists()


def test_teacher_needs_a_model(tmp_path: Path) -> None:
    run = subprocess.run([FC_PLUGIN, "synth", "--tools", str(TOOLS_FILE), "--n", "5", "--out", "d.json",
                          "--teacher", "http://127.0.0.1:9"], cwd=tmp_path, capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 2 and "--teacher needs --model NAME" in run.stderr


# --- units ----------------------------------------------------------------------------------------------

def test_parse_items_finds_the_list_in_fences_prose_and_wrappers() -> None:
    item = {"messages": []}
    assert parse_items(json.dumps([item])) == [item]
    assert parse_items("Sure!\n```json\n" + json.dumps([item]) + "\n```") == [item]
    assert parse_items(json.dumps({"samples": [item, item]})) == [item, item]
    for bad in ("no list here", "[1, 2", '"a string"'):
        with pytest.raises(ConvertError) as err:
            parse_items(bad)
        assert err.value.code == "invalid_json"


def test_endpoint_and_key_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    for url in ("http://h:1", "http://h:1/", "http://h:1/v1", "http://h:1/v1/chat/completions"):
        assert TeacherConfig(url, "m").endpoint == "http://h:1/v1/chat/completions"
    monkeypatch.delenv("FC_TEACHER_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "b")
    assert TeacherConfig("u", "m").api_key() == "b"
    monkeypatch.setenv("FC_TEACHER_API_KEY", "a")
    assert TeacherConfig("u", "m").api_key() == "a"
    assert TeacherConfig("u", "m", api_key_env="NOPE_NOT_SET").api_key() is None
