"""`template: fc_native`: training ids equal the model's own `apply_chat_template`, token for token.

The chat templates below are our own, written from the facts of the published ones (DESIGN.md; the
models' tokenizer_config.json): a Qwen2.5-style one (ChatML, default system prompt, text beside calls
written plainly, `<tool_call>` JSON), a Qwen3-style thinking one (`reasoning_content`, reasoning kept
only after the last user query, `<think>\\n\\n</think>\\n\\n` on the last assistant turn), a Llama
3.1-style one (tools in the first user turn, `{"name", "parameters"}`, raises on parallel calls, tool
results as `ipython` turns), a Mistral-Nemo-style one (system prompt and tools moved to the last user
turn, 9-character call ids required) and a Phi-4-mini-style one (renders no tool calls). Every case goes
through LLaMA-Factory's real ShareGPT converter and SupervisedDatasetProcessor on the tiny tokenizer.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fc_plugin.formats.native import NativeTemplateError
from fc_plugin.formats.native_calls import detect_format, parse_native

IGNORE = -100
WEATHER = {"name": "get_weather", "description": "Weather of a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
BOOK = {"name": "book_room", "description": "Book a meeting room",
        "parameters": {"type": "object", "properties": {"room": {"type": "string"}, "time": {"type": "string"}},
                       "required": ["room", "time"]}}
TOOLS = [WEATHER, BOOK]

QWEN25 = r"""{%- set default_system = 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' %}
{%- if tools %}
{{- '<|im_start|>system\n' }}
{{- messages[0].content if messages[0].role == 'system' else default_system }}
{{- '\n\n# Tools\n\nYou can call these functions (signatures inside <tools></tools>):\n<tools>' }}
{%- for tool in tools %}{{- '\n' + tool | tojson }}{%- endfor %}
{{- '\n</tools>\n\nPut each call inside <tool_call></tool_call>:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n' }}
{%- else %}
{{- '<|im_start|>system\n' + (messages[0].content if messages[0].role == 'system' else default_system) + '<|im_end|>\n' }}
{%- endif %}
{%- for message in messages %}
{%- if message.role == 'user' or (message.role == 'system' and not loop.first) or (message.role == 'assistant' and not message.tool_calls) %}
{{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' }}
{%- elif message.role == 'assistant' %}
{{- '<|im_start|>assistant' }}
{%- if message.content %}{{- '\n' + message.content }}{%- endif %}
{%- for call in message.tool_calls %}
{%- set call = call.function if call.function is defined else call %}
{{- '\n<tool_call>\n{"name": "' + call.name + '", "arguments": ' + call.arguments | tojson + '}\n</tool_call>' }}
{%- endfor %}
{{- '<|im_end|>\n' }}
{%- elif message.role == 'tool' %}
{%- if loop.first or messages[loop.index0 - 1].role != 'tool' %}{{- '<|im_start|>user' }}{%- endif %}
{{- '\n<tool_response>\n' + message.content + '\n</tool_response>' }}
{%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}{{- '<|im_end|>\n' }}{%- endif %}
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}"""

QWEN3 = r"""{%- if tools %}
{{- '<|im_start|>system\n' }}
{%- if messages[0].role == 'system' %}{{- messages[0].content + '\n\n' }}{%- endif %}
{{- '# Tools\n\nFunctions you may call, in <tools></tools>:\n<tools>' }}
{%- for tool in tools %}{{- '\n' + tool | tojson }}{%- endfor %}
{{- '\n</tools>\n\nWrite each call as <tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n' }}
{%- elif messages[0].role == 'system' %}
{{- '<|im_start|>system\n' + messages[0].content + '<|im_end|>\n' }}
{%- endif %}
{%- set ns = namespace(searching=true, last_query=messages|length - 1) %}
{%- for message in messages[::-1] %}
{%- if ns.searching and message.role == 'user' and not (message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
{%- set ns.searching = false %}{%- set ns.last_query = messages|length - 1 - loop.index0 %}
{%- endif %}
{%- endfor %}
{%- for message in messages %}
{%- set content = message.content if message.content is string else '' %}
{%- if message.role == 'user' or (message.role == 'system' and not loop.first) %}
{{- '<|im_start|>' + message.role + '\n' + content + '<|im_end|>\n' }}
{%- elif message.role == 'assistant' %}
{%- set reasoning = '' %}
{%- if message.reasoning_content is string %}{%- set reasoning = message.reasoning_content %}
{%- elif '</think>' in content %}
{%- set reasoning = content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') %}
{%- set content = content.split('</think>')[-1].lstrip('\n') %}
{%- endif %}
{%- if loop.index0 > ns.last_query and (loop.last or reasoning) %}
{{- '<|im_start|>assistant\n<think>\n' + reasoning.strip('\n') + '\n</think>\n\n' + content.lstrip('\n') }}
{%- else %}
{{- '<|im_start|>assistant\n' + content }}
{%- endif %}
{%- for call in message.tool_calls or [] %}
{%- if not loop.first or content %}{{- '\n' }}{%- endif %}
{%- set call = call.function if call.function is defined else call %}
{{- '<tool_call>\n{"name": "' + call.name + '", "arguments": ' + (call.arguments if call.arguments is string else call.arguments | tojson) + '}\n</tool_call>' }}
{%- endfor %}
{{- '<|im_end|>\n' }}
{%- elif message.role == 'tool' %}
{%- if loop.first or messages[loop.index0 - 1].role != 'tool' %}{{- '<|im_start|>user' }}{%- endif %}
{{- '\n<tool_response>\n' + content + '\n</tool_response>' }}
{%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}{{- '<|im_end|>\n' }}{%- endif %}
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}
{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\n\n</think>\n\n' }}{%- endif %}
{%- endif %}"""

LLAMA31 = r"""{{- '<|begin_of_text|>' }}
{%- if not tools is defined %}{%- set tools = none %}{%- endif %}
{%- if not date_string is defined %}{%- set date_string = '26 Jul 2024' %}{%- endif %}
{%- if messages[0].role == 'system' %}
{%- set system_message = messages[0].content | trim %}{%- set messages = messages[1:] %}
{%- else %}{%- set system_message = '' %}{%- endif %}
{{- '<|start_header_id|>system<|end_header_id|>\n\n' }}
{%- if tools is not none %}{{- 'Environment: ipython\n' }}{%- endif %}
{{- 'Cutting Knowledge Date: December 2023\nToday Date: ' + date_string + '\n\n' + system_message + '<|eot_id|>' }}
{%- if tools is not none %}
{%- if messages | length == 0 %}{{- raise_exception('Cannot put tools in the first user message without one!') }}{%- endif %}
{{- '<|start_header_id|>user<|end_header_id|>\n\n' }}
{{- 'Answer with a JSON function call that serves the request best, in the format {"name": function name, "parameters": dictionary of argument name and its value}. Do not use variables.\n\n' }}
{%- for t in tools %}{{- t | tojson(indent=4) + '\n\n' }}{%- endfor %}
{{- messages[0].content | trim + '<|eot_id|>' }}
{%- set messages = messages[1:] %}
{%- endif %}
{%- for message in messages %}
{%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
{{- '<|start_header_id|>' + message.role + '<|end_header_id|>\n\n' + message.content | trim + '<|eot_id|>' }}
{%- elif 'tool_calls' in message %}
{%- if message.tool_calls | length != 1 %}{{- raise_exception('This model only supports single tool-calls at once!') }}{%- endif %}
{%- set call = message.tool_calls[0].function %}
{{- '<|start_header_id|>assistant<|end_header_id|>\n\n{"name": "' + call.name + '", "parameters": ' + call.arguments | tojson + '}<|eot_id|>' }}
{%- else %}
{{- '<|start_header_id|>ipython<|end_header_id|>\n\n' }}
{%- if message.content is mapping or message.content is iterable %}{{- message.content | tojson }}{%- else %}{{- message.content }}{%- endif %}
{{- '<|eot_id|>' }}
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{%- endif %}"""

MISTRAL = r"""{%- if messages[0].role == 'system' %}
{%- set system_message = messages[0].content %}{%- set loop_messages = messages[1:] %}
{%- else %}{%- set loop_messages = messages %}{%- endif %}
{%- set user_messages = loop_messages | selectattr('role', 'equalto', 'user') | list %}
{{- '<s>' }}
{%- for message in loop_messages %}
{%- if message.role == 'user' %}
{%- if tools and message == user_messages[-1] %}
{{- '[AVAILABLE_TOOLS]' + tools | tojson + '[/AVAILABLE_TOOLS]' }}
{%- endif %}
{%- if message == user_messages[-1] and system_message is defined %}
{{- '[INST]' + system_message + '\n\n' + message.content + '[/INST]' }}
{%- else %}
{{- '[INST]' + message.content + '[/INST]' }}
{%- endif %}
{%- elif message.tool_calls is defined and message.tool_calls is not none %}
{{- '[TOOL_CALLS][' }}
{%- for call in message.tool_calls %}
{%- if call.id is not defined or call.id | length != 9 %}{{- raise_exception('Tool call IDs should be alphanumeric strings with length 9!') }}{%- endif %}
{{- (call.function | tojson)[:-1] + ', "id": "' + call.id + '"}' }}
{%- if not loop.last %}{{- ', ' }}{%- endif %}
{%- endfor %}
{{- ']' + eos_token }}
{%- elif message.role == 'assistant' %}
{{- message.content + eos_token }}
{%- elif message.role == 'tool' %}
{%- if message.tool_call_id is not defined or message.tool_call_id | length != 9 %}{{- raise_exception('Tool call IDs should be alphanumeric strings with length 9!') }}{%- endif %}
{{- '[TOOL_RESULTS]{"content": ' + message.content + ', "call_id": "' + message.tool_call_id + '"}[/TOOL_RESULTS]' }}
{%- endif %}
{%- endfor %}"""

PHI4_MINI = r"""{%- for message in messages %}
{%- if message.role == 'system' and message.tools is defined and message.tools is not none %}
{{- '<|system|>' + message.content + '<|tool|>' + message.tools + '<|/tool|><|end|>' }}
{%- else %}
{{- '<|' + message.role + '|>' + message.content + '<|end|>' }}
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|assistant|>' }}{%- else %}{{- eos_token }}{%- endif %}"""

STYLES = {"qwen25": QWEN25, "qwen3": QWEN3, "llama31": LLAMA31, "mistral": MISTRAL, "phi4_mini": PHI4_MINI}
END = {"qwen25": "<|im_end|>\n", "qwen3": "<|im_end|>\n", "llama31": "<|eot_id|>", "mistral": "<|endoftext|>"}


def _think(thought: str | None, value: str) -> str:
    return f"<think>\n{thought}\n</think>\n\n{value}" if thought else value


def _calls(*calls: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": n, "arguments": a} for n, a in calls]


# (kind, thought, payload): user text / call list / result list / answer text
CASES: dict[str, tuple[str, list[tuple[str, str | None, Any]]]] = {
    "single": ("", [("user", None, "Weather in Beijing?"),
                    ("calls", None, _calls(("get_weather", {"city": "Beijing"})))]),
    "parallel": ("You are a weather bot.", [
        ("user", None, "Weather in Beijing and Shanghai?"),
        ("calls", "Two cities, two calls.", _calls(("get_weather", {"city": "Beijing"}), ("get_weather", {"city": "上海"}))),
        ("results", None, ['{"temperature": 21}', '{"temperature": 18}']),
        ("answer", None, "Beijing 21, Shanghai 18.")]),
    "no_call": ("", [("user", None, "Hello! Who are you?"), ("answer", None, "I am an assistant. How can I help?")]),
    "multi_round": ("Be brief.", [
        ("user", None, "Weather in Beijing?"),
        ("calls", None, _calls(("get_weather", {"city": "Beijing"}))),
        ("results", None, ['{"temperature": 21, "condition": "sunny"}']),
        ("answer", "Summarise the result.", "Sunny, 21 degrees."),
        ("user", None, "And Paris?"),
        ("calls", "Same tool, new city.", _calls(("get_weather", {"city": "Paris"}))),
        ("results", None, ['{"temperature": 12, "condition": "rain"}']),
        ("answer", None, "Rain, 12 degrees.")]),
    "slot_filling": ("", [
        ("user", None, "Book a meeting room for me."),
        ("answer", "Room and time are missing.", "Which room, and when?"),
        ("user", None, "Room A at 14:00."),
        ("calls", None, _calls(("book_room", {"room": "A", "time": "14:00"})))]),
}


def row(case: str) -> dict[str, Any]:
    """The case as a ShareGPT row, thoughts in LLaMA-Factory's convention (as fc-plugin writes data)."""
    system, turns = CASES[case]
    conversations, last_calls = [], []
    for kind, thought, payload in turns:
        if kind == "user":
            conversations.append({"from": "human", "value": payload})
        elif kind == "answer":
            conversations.append({"from": "gpt", "value": _think(thought, payload)})
        elif kind == "calls":
            last_calls = [c["name"] for c in payload]
            body = json.dumps(payload[0] if len(payload) == 1 else payload, ensure_ascii=False)
            conversations.append({"from": "function_call", "value": _think(thought, body)})
        else:
            value = json.dumps([{"name": n, "content": r} for n, r in zip(last_calls, payload, strict=True)])
            conversations.append({"from": "observation", "value": value})
    return {"conversations": conversations, "system": system, "tools": json.dumps(TOOLS, ensure_ascii=False)}


def reference_messages(case: str, style: str) -> list[dict[str, Any]]:
    """The same conversation as an OpenAI client sends it to the model (no fc-plugin code involved):
    a thought is Qwen3's `reasoning_content`, elsewhere the assistant's text (beside the calls)."""
    system, turns = CASES[case]
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    names: list[str] = []
    for kind, thought, payload in turns:
        if kind == "user":
            messages.append({"role": "user", "content": payload})
        elif kind == "results":
            messages += [{"role": "tool", "content": r, "name": n} for r, n in zip(payload, names, strict=True)]
        else:
            content = payload if kind == "answer" else ""
            message: dict[str, Any] = {"role": "assistant", "content": content}
            if kind == "calls":
                names = [c["name"] for c in payload]
                message["tool_calls"] = [{"type": "function", "function": c} for c in payload]
            if thought and style == "qwen3":
                message["reasoning_content"] = thought
            elif thought:
                message["content"] = f"{thought}\n\n{content}" if content else thought
            messages.append(message)
    return messages


def openai_tools() -> list[dict[str, Any]]:
    return [{"type": "function", "function": t} for t in TOOLS]


@pytest.fixture(scope="module")
def models(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tiny model's tokenizer with each test chat template, one folder per style."""
    from transformers import AutoTokenizer

    root = tmp_path_factory.mktemp("native_tokenizers")
    folders = {}
    for style, source in STYLES.items():
        tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
        tokenizer.chat_template = source
        tokenizer.save_pretrained(str(root / style))
        folders[style] = root / style
    return folders


def tokenizer_of(models: dict[str, Path], style: str) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(models[style]))


def reference(models: dict[str, Path], style: str, messages: list[dict[str, Any]], prompt: bool = False
              ) -> tuple[str, list[int]]:
    tokenizer = tokenizer_of(models, style)
    text = tokenizer.apply_chat_template(messages, tools=openai_tools(), tokenize=False, add_generation_prompt=prompt)
    ids = tokenizer.apply_chat_template(messages, tools=openai_tools(), tokenize=True, add_generation_prompt=prompt)
    return text, list(ids["input_ids"] if not isinstance(ids, list) else ids)


def lf_encode(models: dict[str, Path], style: str, sharegpt: dict[str, Any]) -> tuple[list[int], list[int], Any]:
    """input_ids and labels exactly as `llamafactory-cli train` builds them (converter + processor)."""
    from llamafactory.data.converter import get_dataset_converter
    from llamafactory.data.parser import DatasetAttr
    from llamafactory.data.processor import SupervisedDatasetProcessor
    from llamafactory.data.template import get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments

    tokenizer = tokenizer_of(models, style)
    data_args = DataArguments(template="fc_native", cutoff_len=4096)
    attr = DatasetAttr("file", "case", formatting="sharegpt")
    attr.system, attr.tools = "system", "tools"
    example = get_dataset_converter("sharegpt", attr, data_args)(sharegpt)
    assert example["_prompt"], "LLaMA-Factory dropped the example"
    template = get_template_and_fix_tokenizer(tokenizer, data_args)
    processor = SupervisedDatasetProcessor(template=template, tokenizer=tokenizer, processor=None, data_args=data_args)
    out = processor.preprocess_dataset({k: [v] for k, v in example.items()})
    return out["input_ids"][0], out["labels"][0], tokenizer


def labelled_runs(tokenizer: Any, ids: list[int], labels: list[int]) -> list[str]:
    """The text of each contiguous run of labelled tokens (labels equal to the ids there)."""
    runs, current = [], []
    for token, label in zip(ids, labels, strict=True):
        if label == IGNORE:
            if current:
                runs.append(current)
            current = []
        else:
            assert label == token
            current.append(token)
    runs += [current] if current else []
    return [tokenizer.decode(run) for run in runs]


def assistant_turns(messages: list[dict[str, Any]]) -> list[int]:
    return [i for i, m in enumerate(messages) if m["role"] == "assistant"]


# --- every category, three families -------------------------------------------------------------------

@pytest.mark.parametrize(("style", "case"), [(s, c) for s in ("qwen25", "qwen3", "llama31") for c in CASES
                                             if (s, c) != ("llama31", "parallel")])  # refused: see below
def test_ids_labels_and_eos_equal_the_models_own_template(models, style, case):
    messages = reference_messages(case, style)
    text, expected = reference(models, style, messages)
    ids, labels, tokenizer = lf_encode(models, style, row(case))
    assert tokenizer.decode(ids) == text
    assert ids == expected, case

    runs = labelled_runs(tokenizer, ids, labels)
    turns = assistant_turns(messages)
    assert len(runs) == len(turns)
    for run, index in zip(runs, turns, strict=True):
        message = messages[index]
        assert run.endswith(END[style]), run  # the end-of-turn token right after the call / answer is labelled
        for call in message.get("tool_calls", []):
            assert f'"name": "{call["function"]["name"]}"' in run
        if message["content"] and "tool_calls" not in message:
            assert message["content"].split("\n\n")[-1] in run
        assert "<|im_start|>" not in run and "<|start_header_id|>" not in run  # no prompt text labelled
        if style != "qwen3":  # prefix-stable: the exact definition of a turn's tokens
            before = reference(models, style, messages[:index], prompt=True)[0]
            through = reference(models, style, messages[: index + 1])[0]
            assert through.startswith(before) and run == through[len(before) :]


def test_qwen3_thinking_turns(models):
    """Qwen3: the last turn carries `<think>\\n\\n</think>\\n\\n` (labelled), reasoning after the last user
    query is trained as `<think>` text, a call turn without it before the last turn has no think block,
    and reasoning before the last query is dropped as the template drops it."""
    ids, labels, tokenizer = lf_encode(models, "qwen3", row("multi_round"))
    runs = labelled_runs(tokenizer, ids, labels)
    assert runs[0].startswith("<tool_call>\n")  # before the last query, no reasoning: plain
    assert runs[1] == "Sunny, 21 degrees.<|im_end|>\n"  # its thought came before the last query: dropped
    assert runs[2].startswith("<think>\nSame tool, new city.\n</think>\n\n<tool_call>\n")
    assert runs[3] == "<think>\n\n</think>\n\nRain, 12 degrees.<|im_end|>\n"
    assert "Summarise the result." not in tokenizer.decode(ids)

    ids, labels, tokenizer = lf_encode(models, "qwen3", row("single"))
    assert labelled_runs(tokenizer, ids, labels)[0].startswith("<think>\n\n</think>\n\n<tool_call>\n")


def test_mistral_call_ids_and_moved_system_prompt(models):
    """Mistral: calls get deterministic 9-character alphanumeric ids matched by their results, and a
    template that moves the system prompt and tools to the last user turn still gives the full ids."""
    for case in ("parallel", "slot_filling", "multi_round"):
        ids, labels, tokenizer = lf_encode(models, "mistral", row(case))
        text = tokenizer.decode(ids)
        call_ids = re.findall(r'"id": "([^"]+)"', text)
        assert call_ids and all(re.fullmatch(r"[0-9A-Za-z]{9}", i) for i in call_ids)
        assert re.findall(r'"call_id": "([^"]+)"', text) == call_ids[: text.count("[TOOL_RESULTS]")]
        assert len(set(call_ids)) == len(call_ids)
        messages = reference_messages(case, "mistral")  # with the ids fc_native gave, as a client sends them back
        given = iter(call_ids)
        for message in messages:
            for call in message.get("tool_calls", []):
                call["id"] = next(given)
        results = iter(call_ids)
        for message in messages:
            if message["role"] == "tool":
                message["tool_call_id"] = next(results)
        assert ids == reference(models, "mistral", messages)[1], case
        runs = labelled_runs(tokenizer, ids, labels)
        assert len(runs) == len(assistant_turns(messages)) and all(r.endswith("<|endoftext|>") for r in runs)
        assert all("[INST]" not in r for r in runs)
    first = lf_encode(models, "mistral", row("parallel"))[0]
    assert first == lf_encode(models, "mistral", row("parallel"))[0]


# --- refusals -------------------------------------------------------------------------------------------

def test_llama_refuses_parallel_calls(models):
    with pytest.raises(NativeTemplateError, match=r"fc_native.*sample starting 'Weather in Beijing and Shanghai\?'"
                       r".*refuses it: This model only supports single tool-calls"):
        lf_encode(models, "llama31", row("parallel"))


def test_template_without_tool_calls_is_refused_once_naming_the_model(models):
    with pytest.raises(NativeTemplateError, match=rf"{re.escape(str(models['phi4_mini']))} does not render tool "
                       r"calls.*template: fc_json_phi4 instead"):
        lf_encode(models, "phi4_mini", row("no_call"))


def test_template_that_reads_tools_elsewhere_is_refused_naming_the_model(models, tmp_path):
    """A Phi-4-mini-style template that renders calls as `<|tool_call|>` but reads the tool definitions from
    the system message's `tools` key (ignoring `tools=`) would train every sample without its tools."""
    from transformers import AutoTokenizer

    from fc_plugin.formats.native import native_profile

    tokenizer = AutoTokenizer.from_pretrained(str(models["phi4_mini"]))
    tokenizer.chat_template = PHI4_MINI.replace(
        "{%- else %}",
        "{%- elif message.tool_calls is defined and message.tool_calls %}\n"
        "{{- '<|assistant|><|tool_call|>' + message.tool_calls | map(attribute='function') | list | tojson"
        " + '<|/tool_call|><|end|>' }}\n{%- else %}", 1)
    folder = tmp_path / "phi4_calls"
    tokenizer.save_pretrained(str(folder))
    text = tokenizer.apply_chat_template(reference_messages("single", "qwen25"), tools=openai_tools(), tokenize=False)
    assert '<|tool_call|>[{"name": "get_weather"' in text and "Weather of a city" not in text
    with pytest.raises(NativeTemplateError, match=rf"{re.escape(str(folder))} does not render the tool definitions "
                       r"passed as `tools=`.*template: fc_json_phi4 instead"):
        native_profile(AutoTokenizer.from_pretrained(str(folder)))
    with pytest.raises(NativeTemplateError, match="does not render the tool definitions"):
        lf_encode({"phi4_calls": folder}, "phi4_calls", row("single"))


def test_tokenizer_without_chat_template_is_refused(tiny_model):
    from llamafactory.data.template import get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    tokenizer.chat_template = None
    with pytest.raises(NativeTemplateError, match="has no chat template"):
        get_template_and_fix_tokenizer(tokenizer, DataArguments(template="fc_native"))


def test_bad_call_names_the_sample(models):
    bad = row("single")
    bad["conversations"][1]["value"] = json.dumps({"name": "send_mail", "arguments": {}})
    with pytest.raises(ValueError, match=r"sample starting 'Weather in Beijing\?'.*send_mail"):
        lf_encode(models, "qwen25", bad)


def test_validate_reports_template_error_before_training(models, tmp_path):
    data = tmp_path / "data.jsonl"
    data.write_text("\n".join(json.dumps(row(c), ensure_ascii=False) for c in ("single", "parallel")) + "\n")
    run = subprocess.run([str(Path(sys.executable).parent / "fc-plugin"), "validate", str(data), "--template", "fc_native",
                          "--tokenizer", str(models["llama31"])], capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stdout + run.stderr
    assert re.search(r"data\.jsonl:1.*template_error: fc_native:.*Weather in Beijing and Shanghai.*single tool-calls",
                     run.stdout), run.stdout + run.stderr
    assert "data.jsonl:0" not in run.stdout


# --- the template object: stop words, inference prompts, the tokenizer's template kept ----------------------

def test_template_keeps_the_tokenizer_template_and_stops_at_its_end_of_turn(models):
    from llamafactory.data.template import get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments

    for style, stop, fmt in (("qwen3", "<|im_end|>", "hermes"), ("llama31", "<|eot_id|>", "llama3_json"),
                             ("mistral", "<|endoftext|>", "mistral")):
        tokenizer = tokenizer_of(models, style)
        template = get_template_and_fix_tokenizer(tokenizer, DataArguments(template="fc_native"))
        assert tokenizer.chat_template == STYLES[style]
        assert template._get_jinja_template(tokenizer) == STYLES[style]
        assert tokenizer.convert_tokens_to_ids(stop) in template.get_stop_token_ids(tokenizer)
        assert template.native_format == fmt

        messages = [{"role": "user", "content": "Weather in Beijing?"}, {"role": "assistant", "content": ""}]
        prompt, response = template.encode_oneturn(tokenizer, messages, "", json.dumps(TOOLS))
        assert response == []
        assert prompt == reference(models, style, [{"role": "user", "content": "Weather in Beijing?"}], prompt=True)[1]


def test_named_output_format_and_extract_tool(models):
    from llamafactory.data.template import TEMPLATES, get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments

    template = TEMPLATES["fc_native"]
    saved = (template.format_function, template.format_tools)
    try:
        get_template_and_fix_tokenizer(tokenizer_of(models, "qwen25"), DataArguments(template="fc_native",
                                                                                    tool_format="fc_native_mistral"))
        assert template.native_format == "mistral"
        calls = template.extract_tool('[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Oslo"}}]')
        assert [(c.name, json.loads(c.arguments)) for c in calls] == [("get_weather", {"city": "Oslo"})]
        with pytest.raises(NativeTemplateError, match="tool_format.*fc_native_hermes"):
            get_template_and_fix_tokenizer(tokenizer_of(models, "qwen25"),
                                           DataArguments(template="fc_native", tool_format="qwen"))
    finally:
        template.format_function, template.format_tools = saved
    get_template_and_fix_tokenizer(tokenizer_of(models, "llama31"), DataArguments(template="fc_native"))
    calls = template.extract_tool('<|python_tag|>{"name": "get_weather", "parameters": {"city": "Oslo"}}<|eot_id|>')
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [("get_weather", {"city": "Oslo"})]
    assert template.extract_tool("It is sunny.") == "It is sunny."


# --- reading native output ----------------------------------------------------------------------------------

CALL = {"name": "get_weather", "arguments": {"city": "Oslo", "days": 2}}
OUTPUTS = {
    "hermes": [
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo", "days": 2}}\n</tool_call><|im_end|>',
        '<think>\nOslo.\n</think>\n\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo", "days": 2}}\n'
        "</tool_call>",
    ],
    "llama3_json": [
        '{"name": "get_weather", "parameters": {"city": "Oslo", "days": 2}}<|eot_id|>',
        '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Oslo", "days": 2}}<|eom_id|>',
    ],
    "mistral": ['[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Oslo", "days": 2}, "id": "a1B2c3D4e"}]</s>'],
    "phi4_mini_json": ['<|tool_call|>[{"name": "get_weather", "arguments": {"city": "Oslo", "days": 2}}]<|/tool_call|>'],
}


@pytest.mark.parametrize("fmt", list(OUTPUTS))
def test_native_parsers_read_each_family(fmt):
    from fc_plugin import templates

    for text in OUTPUTS[fmt]:
        for result in (parse_native(text, fmt, strict=True), parse_native(text), templates.parse_calls(f"fc_native_{fmt}", text)):
            assert [c.to_dict() for c in result.calls] == [CALL], (text, result)
        assert parse_native(text, fmt, strict=True).errors == []
    assert parse_native("Which city?", fmt, strict=True).calls == []
    assert parse_native("Which city?", fmt).content == "Which city?"


def test_parallel_calls_and_strict_errors():
    two = [CALL, {"name": "get_weather", "arguments": {"city": "Rome"}}]
    texts = {
        "hermes": "\n".join(f"<tool_call>\n{json.dumps(c)}\n</tool_call>" for c in two),
        "llama3_json": "; ".join(json.dumps({"name": c["name"], "parameters": c["arguments"]}) for c in two),
        "mistral": "[TOOL_CALLS]" + json.dumps(two),
        "phi4_mini_json": "<|tool_call|>" + json.dumps(two) + "<|/tool_call|>",
    }
    for fmt, text in texts.items():
        result = parse_native(text, fmt, strict=True)
        assert [c.to_dict() for c in result.calls] == two and result.errors == [], fmt
    assert parse_native('{"name": "f", "arguments": {}}', "llama3_json", strict=True).errors  # not `parameters`
    assert parse_native('[TOOL_CALLS]{"name": "f", "arguments": {}}', "mistral", strict=True).errors  # not a list
    assert parse_native('<tool_call>{"name": "f", "arguments": {}}</tool_call> trailing', "hermes", strict=True).errors
    lenient = parse_native("[TOOL_CALLS]get_weather[ARGS]" + json.dumps(CALL["arguments"]), "mistral")
    assert [c.to_dict() for c in lenient.calls] == [CALL]
    assert parse_native("<|python_tag|>{broken", "llama3_json").errors


def test_native_calls_survive_decoding_as_eval_decodes(models):
    """`<|tool_call|>`, `<|python_tag|>` (tiny tokenizer, as Phi-4-mini's / Llama 3's) and `[TOOL_CALLS]` (added
    here, as in Mistral's) are special tokens: skip_special_tokens=True drops them and the calls read as
    content. fc-plugin eval's decoding of fc_native output keeps them (and drops end-of-turn tokens)."""
    from types import SimpleNamespace

    from fc_plugin.evaluate.generate import ChatEngineGenerator

    tokenizer = tokenizer_of(models, "phi4_mini")
    tokenizer.add_special_tokens({"additional_special_tokens": ["[TOOL_CALLS]"]})
    outputs = {
        "phi4_mini_json": OUTPUTS["phi4_mini_json"][0] + "<|end|>",
        "llama3_json": 'Looking it up.<|python_tag|>{"name": "get_weather", "parameters": {"city": "Oslo", "days": 2}}'
                       "<|eom_id|>",
        "mistral": '[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Oslo", "days": 2}}]<|endoftext|>',
        "hermes": OUTPUTS["hermes"][0],  # `<tool_call>` is no special token: decoded as before
    }
    for fmt, text in outputs.items():
        ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
        plain = tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=True)
        generator = ChatEngineGenerator.__new__(ChatEngineGenerator)
        generator.template = "fc_native"
        generator.engine = SimpleNamespace(tokenizer=tokenizer, template=SimpleNamespace(native_format=fmt))
        generator.markers = generator._native_markers()
        decoded = generator.decode(ids)
        assert "<|end|>" not in decoded and "<|eom_id|>" not in decoded and "<|endoftext|>" not in decoded
        calls = parse_native(decoded, fmt).calls
        assert [c.to_dict() for c in calls] == [CALL], (fmt, decoded)
        if fmt == "hermes":
            assert generator.markers == {} and decoded == plain
        else:
            assert not parse_native(plain, fmt).calls, (fmt, plain)  # what skip_special_tokens=True gave
    generator.template = "fc_json_qwen"
    assert generator._native_markers() == {}


def test_format_is_detected_from_each_template(models):
    from fc_plugin.formats.native import native_profile

    expected = {"qwen25": ("hermes", "content"), "qwen3": ("hermes", "reasoning_content"),
                "llama31": ("llama3_json", "content"), "mistral": ("mistral", "content")}
    for style, (fmt, reasoning) in expected.items():
        profile = native_profile(tokenizer_of(models, style))
        assert (profile.output_format, profile.reasoning) == (fmt, reasoning)
    assert detect_format(PHI4_MINI.replace("<|end|>", "<|end|><|tool_call|>")) == "phi4_mini_json"


def test_parse_calls_fc_native_uses_the_bound_format(models):
    from llamafactory.data.template import get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments

    from fc_plugin import templates

    get_template_and_fix_tokenizer(tokenizer_of(models, "llama31"), DataArguments(template="fc_native"))
    text = '{"name": "get_weather", "parameters": {"city": "Oslo", "days": 2}}'
    assert [c.to_dict() for c in templates.parse_calls("fc_native", text, strict=True).calls] == [CALL]


# --- a real llamafactory-cli train + export ---------------------------------------------------------------

@pytest.mark.e2e
def test_llamafactory_cli_train_and_export_with_fc_native(tiny_model, lf_env, tmp_path):
    """`llamafactory-cli train ... template=fc_native` on a Qwen3-style tiny model: it trains, LLaMA-Factory
    prints the exact apply_chat_template text of a sample, and train and export keep the model's template."""
    from transformers import AutoTokenizer

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    tokenizer = AutoTokenizer.from_pretrained(str(model))
    tokenizer.chat_template = QWEN3
    tokenizer.save_pretrained(str(model))
    rows = [row(case) for case in CASES] * 3
    (tmp_path / "native.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    entry = {"file_name": "native.json", "formatting": "sharegpt",
             "columns": {"messages": "conversations", "system": "system", "tools": "tools"}}
    (tmp_path / "dataset_info.json").write_text(json.dumps({"native": entry}), encoding="utf-8")
    out = tmp_path / "adapter"
    config = {
        "model_name_or_path": str(model), "stage": "sft", "do_train": True, "finetuning_type": "lora",
        "lora_target": "all", "lora_rank": 4, "dataset_dir": str(tmp_path), "dataset": "native",
        "template": "fc_native", "cutoff_len": 2048, "output_dir": str(out), "max_steps": 3,
        "per_device_train_batch_size": 2, "learning_rate": 1e-3, "logging_steps": 1, "save_steps": 1000,
        "report_to": "none", "bf16": False, "overwrite_cache": True, "preprocessing_num_workers": 1,
    }
    (tmp_path / "train.yaml").write_text(json.dumps(config), encoding="utf-8")
    run = subprocess.run(["llamafactory-cli", "train", str(tmp_path / "train.yaml")], cwd=tmp_path, env=lf_env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    losses = [json.loads(line)["loss"] for line in (out / "trainer_log.jsonl").read_text().splitlines()
              if '"loss"' in line]
    assert len(losses) == 3 and all(0 < loss < 100 for loss in losses)
    first = reference_messages(next(iter(CASES)), "qwen3")
    text = tokenizer.apply_chat_template(first, tools=openai_tools(), tokenize=False)
    assert text in run.stdout  # LLaMA-Factory's "inputs:" print of the first example
    assert AutoTokenizer.from_pretrained(str(out)).chat_template == QWEN3

    export = {"model_name_or_path": str(model), "adapter_name_or_path": str(out), "template": "fc_native",
              "finetuning_type": "lora", "export_dir": str(tmp_path / "exported"), "export_size": 1,
              "export_device": "cpu"}
    (tmp_path / "export.yaml").write_text(json.dumps(export), encoding="utf-8")
    run = subprocess.run(["llamafactory-cli", "export", str(tmp_path / "export.yaml")], cwd=tmp_path, env=lf_env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    assert AutoTokenizer.from_pretrained(str(tmp_path / "exported")).chat_template == QWEN3
    assert 'PARAMETER stop "<|im_end|>"' in (tmp_path / "exported" / "Modelfile").read_text()


@pytest.mark.e2e
def test_llamafactory_cli_api_prompts_are_the_models_own(tiny_model, models, lf_env, tmp_path, api_ready):
    """`llamafactory-cli api --template fc_native`: a request with tools and a call history is prompted with
    exactly apply_chat_template(..., add_generation_prompt=True) of the model's own template."""
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    tokenizer_of(models, "qwen3").save_pretrained(str(model))
    env = {**lf_env, "API_PORT": str(port), "API_HOST": "127.0.0.1"}
    log_path = tmp_path / "api.log"
    messages = [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "call_1", "type": "function", "function": {
            "name": "get_weather", "arguments": json.dumps({"city": "Paris"})}}]},
        {"role": "tool", "content": '{"temperature": 12}', "tool_call_id": "call_1"},
    ]
    body = {"model": "tiny", "messages": messages, "tools": openai_tools(), "max_tokens": 4}
    with log_path.open("w") as log:
        server = subprocess.Popen(["llamafactory-cli", "api", "--model_name_or_path", str(model), "--template",
                                   "fc_native"], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            api_ready(server, port, log_path, timeout=180)
            request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions",
                                             data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=120) as response:
                answer = json.loads(response.read())
        finally:
            server.terminate()
            server.wait(timeout=30)
    reference_chat = [messages[0], {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
        {"role": "tool", "content": '{"temperature": 12}', "name": "get_weather"}]
    assert answer["usage"]["prompt_tokens"] == len(reference(models, "qwen3", reference_chat, prompt=True)[1])
    assert answer["choices"][0]["message"]["role"] == "assistant"


def test_sample_without_tools_gets_the_templates_default_system_prompt(models):
    sharegpt = {**row("no_call"), "tools": ""}
    ids, labels, tokenizer = lf_encode(models, "qwen25", sharegpt)
    messages = reference_messages("no_call", "qwen25")
    expected = tokenizer.apply_chat_template(messages, tokenize=True)
    assert ids == list(expected["input_ids"] if not isinstance(expected, list) else expected)
    assert tokenizer.decode(ids).startswith("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud.")
    assert labelled_runs(tokenizer, ids, labels) == ["I am an assistant. How can I help?<|im_end|>\n"]


def test_a_turn_rendered_beyond_alignment_is_refused(models, tmp_path):
    """A template that writes the last user message differently (upper case) than earlier ones: the cut
    after the first user turn cannot be found in the full rendering, so the sample is refused."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(models["qwen25"]))
    tokenizer.chat_template = QWEN25.replace(
        "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}",
        "{{- '<|im_start|>' + message.role + '\\n' + (message.content | upper if loop.last else message.content)"
        " + '<|im_end|>\\n' }}")
    assert tokenizer.chat_template != QWEN25
    tokenizer.save_pretrained(str(tmp_path / "upper"))
    with pytest.raises(NativeTemplateError, match=r"sample starting 'Book a meeting room for me.'.*cannot find the end "
                       r"of message 0"):
        lf_encode({"upper": tmp_path / "upper"}, "upper", row("slot_filling"))


# --- fc_native's renderer is apply_chat_template's ------------------------------------------------------

PROBING = r"""{%- for message in messages %}
{{- message.role + ':' + (message.content if message.content is defined else '-') }}
{{- '|' + (message['name'] if message.name is defined else 'no-name') }}
{{- '|' + (message.items() | list | length) | string + '|' + message.get('role', '?') + '|' + (message.keys | string)[:9] }}
{{- '|' + (message.__class__ | string) + '|' + (message.missing | default('undefined')) + '\n' }}
{%- endfor %}
{%- if tools %}{{- tools | map(attribute='function') | map(attribute='name') | join(',') + '|' + bos_token | string }}{%- endif %}
{%- if add_generation_prompt %}{{- 'PROMPT' }}{%- endif %}"""


@pytest.mark.parametrize("prompt", [False, True])
def test_render_is_apply_chat_template_on_dict_attributes(tiny_model, prompt):
    """Dict keys read as attributes, dict methods, missing keys, an unsafe attribute and the special tokens:
    fc_native's renderer (a copy of transformers' sandbox without its AttributeError detour) gives
    apply_chat_template's text, and refuses what the sandbox refuses, with the same reason."""
    from transformers import AutoTokenizer

    from fc_plugin.formats.native import _render, _sandboxed_template

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    tokenizer.chat_template = PROBING
    assert _sandboxed_template(PROBING) is not None  # the fast renderer applies to transformers' environment
    chat = [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi", "name": "ann", "keys": "k"},
            {"role": "tool", "name": "get_weather"}, {"role": "assistant", "content": "ok", "items": 3}]
    tools = [{"type": "function", "function": WEATHER}, {"type": "function", "function": BOOK}]
    expected = tokenizer.apply_chat_template(chat, tools=tools, tokenize=False, add_generation_prompt=prompt)
    assert _render(tokenizer, chat, tools, prompt, "test") == expected
    assert "get_weather,book_room|" in expected and "|3|" in expected  # the probe reads what it should

    tokenizer.chat_template = "{{ messages[0].update({'role': 'x'}) }}"  # the immutable sandbox refuses it
    with pytest.raises(Exception) as stock:
        tokenizer.apply_chat_template(chat, tokenize=False)
    with pytest.raises(NativeTemplateError, match="refuses it") as ours:
        _render(tokenizer, chat, None, prompt, "test")
    assert str(stock.value) in str(ours.value)


def test_tojson_writes_each_object_once_per_sample_and_never_a_stale_text(tiny_model):
    """While one sample renders (in full and up to each turn), `tojson` writes each tool object once and
    reuses the text; outside that, an object changed between renderings gets its new text."""
    from transformers import AutoTokenizer

    from fc_plugin.formats.native import _render, _TojsonTexts

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    tokenizer.chat_template = "{%- for tool in tools %}{{ tool | tojson }}|{% endfor %}{{ messages[0].content }}"
    chat = [{"role": "user", "content": "hi"}]
    tools = [{"type": "function", "function": json.loads(json.dumps(WEATHER))}]
    first = _render(tokenizer, chat, tools, False, "test")
    assert first == tokenizer.apply_chat_template(chat, tools=tools, tokenize=False)
    tools[0]["function"]["name"] = "get_forecast"  # changed between two samples' renderings
    assert '"get_forecast"' in _render(tokenizer, chat, tools, False, "test")
    with _TojsonTexts.remembering():
        again = _render(tokenizer, chat, tools, False, "test")
        assert len(_TojsonTexts.texts) == 1
        assert _render(tokenizer, chat, tools, False, "test") == again  # the kept text, written once
        assert len(_TojsonTexts.texts) == 1
        other = [{"type": "function", "function": json.loads(json.dumps(BOOK))}]
        assert '"book_room"' in _render(tokenizer, chat, other, False, "test")  # another object: its own text
    assert _TojsonTexts.texts is None
