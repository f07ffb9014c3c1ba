"""The demo's tiny *base* model: pretrained on generic tasks, so it brings what an Instruct model brings.

A random model does not learn to copy a value from the request into its answer in the few hundred
steps a CPU demo can afford (measured in the `make demo` issue). Real users fine-tune an Instruct model that
already copies spans of its context, writes JSON, follows a chat format and stops at its
end-of-turn token. `build_base_model` gives the demo's tiny Qwen2-shaped model that prior with a
short generic curriculum, in plain PyTorch, deterministic for a seed:

1. a byte-level BPE tokenizer trained on generic text (digits one per token, like Qwen's);
2. copying: random token sequences repeated back;
3. a mix of generic chat tasks over random words, numbers, e-mails, dates, times and ids:
   repeating, extracting named or typed fields into a JSON object, reading a value out of JSON
   in the context into a sentence, follow-up turns, small talk and "not found" replies.

Nothing here knows the demo's tools, call formats, value banks or prompts; the generated text is
checked against the synth banks so none of their values slips in (tests/test_base_model.py).
`fc-plugin base-model OUT_DIR` runs it; `models/fc_tiny_base/` is the shipped result, with a
provenance file naming the command and the weight hash at an early step, so a short run proves
the build reproduces it.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from fc_plugin.tiny_model import SPECIAL_TOKENS, TOOL_TOKENS

SHIPPED = Path(__file__).resolve().parent.parent / "models" / "fc_tiny_base"
PROVENANCE = "fc_plugin_base.json"
CHECK_STEP = 40  # weights are hashed after this step, so a short run can prove the build reproduces

DEFAULTS: dict[str, Any] = dict(
    seed=0, vocab_size=4096, hidden_size=128, layers=4, heads=4, intermediate_size=256,
    copy_steps=2000, mixed_steps=6000, extra_steps=5000, batch_size=16, learning_rate=1e-3,
)  # fmt: skip

# Generic vocabulary: common English words, none of them a tool, a synth bank value or a demo prompt word.
WORDS = """
a about above across after again against all almost alone along already also always among an and
another any anyone anything apart are around as ask at away back bad be because become been before
began behind being below best better between big black blue body book both bright bring brown build
but by call came can car care carry case cat catch cause center chair change child choose circle
clean clear close cold color come common corner could count course cover cross cup cut dark deep
did different do does dog done door down draw dream drive dry during each early earth east easy eat
edge egg eight either else end enough even evening ever every example eye face fact fall family far
farm fast father feel feet few field fill final find fine fire first fish five floor flower fly
follow food foot for form four free friend from front full game garden gave get girl give glass go
gold gone good got grass great green ground group grow had half hand happen hard has have he head
hear heart heavy held help her here high hill him his hold home horse hot hour house how idea if
important in inside into is island it its just keep kept kind king knew know lake land large last
late laugh lay lead learn leave left leg less let letter life light like line list listen little
live long look lost lot loud love low made main make man many map mark may me mean men might mile
milk mind minute miss money moon more morning most mother mountain move much music must my near
need never new next nice night nine no north not nothing now number of off often oil old on once one
only open or order other our out over own page paper part pass past pattern pay people picture piece
place plain plan plant play point poor possible pull push put quick quiet rain ran read ready real
red remember rest ride right ring river road rock room round row run said same sand sat saw say sea
second see seem sentence set seven shape share she ship short should show side sign simple since
sing sit six size sky sleep slow small snow so soft some something song soon sound south space speak
special spring stand star start stay step still stone stop story street strong such summer sun sure
table tail take talk tall teach team tell ten than that the their them then there these they thing
think this those thought three through tie till to together told too took top toward town tree true
try turn two under until up upon us use very voice wait walk wall want warm was watch water wave way
we wear well went were west what wheel when where which while white who whole why wide wild will
wind window winter wish with without wood word work world would write year yellow yes yet you young
""".split()
# Generic programming / JSON vocabulary (what any web-trained tokenizer has seen).
CODE_WORDS = """
name type description properties required string integer number boolean object array enum format
default minimum maximum pattern items value values true false null data info result error message
content text list count total page limit offset sort filter query input output function return
file path start end first last full short long new old min max unit id key
""".split()
KEY_WORDS = """
alpha beta gamma delta item value code label field target kind level score color size shape count
amount price weight height width length speed rank group tag note mode status stage step source
owner author title word number key token part model version region zone route lane seat gate slot
""".split()
FILLER = "so then we can see what you like to do here and there for the next one well ok please now just".split()
TLDS = ("com", "org", "net", "io", "dev", "info")
SYLLABLES = [c + v for c in "bdfghklmnprstvz" for v in "aeiou"] + ["qu", "sh", "ch", "th", "ng", "ri", "lo"]
GREETINGS = [  # none of them is a synth bank's greeting (tests/test_base_model.py)
    ("Hi", "Hello! How can I help you?"),
    ("Hello there, friend", "Hi! What can I do for you?"),
    ("Hi, is anyone here?", "Yes, I am here. What do you need?"),
    ("Thanks a lot", "You are welcome."),
    ("Thank you very much", "Glad to help!"),
    ("Good evening", "Good evening! How can I help?"),
    ("Who am I talking to?", "I am a helpful assistant."),
    ("See you later", "See you! Take care."),
    ("ok", "Sure. Anything else?"),
    ("Can you help me?", "Of course. What do you need?"),
]
SYSTEMS = ["You are a helpful assistant.", "You are a careful assistant. Answer briefly.", ""]


@lru_cache(maxsize=1)
def _bank_values() -> frozenset[str]:
    """Every synth bank value (lower case), e.g. "beijing", "alice", "meeting notes"."""
    from fc_plugin.synth import banks

    found: set[str] = set()

    def add(value: Any) -> None:
        if isinstance(value, str):
            found.add(value.lower())
        elif isinstance(value, dict | tuple | list):
            for v in value.values() if isinstance(value, dict) else value:
                add(v)

    for name in dir(banks):
        if name.isupper():
            add(getattr(banks, name))
    return frozenset(found)


@lru_cache(maxsize=1)
def _blocklist() -> frozenset[str]:
    """Words (3+ letters) of the synth bank values: generated pseudo-words never equal one of them."""
    return frozenset(w for value in _bank_values() for w in re.findall(r"[a-z]+", value) if len(w) >= 3)


class Generic:
    """Random generic values and chat tasks; every draw comes from the given `random.Random`."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.blocked = _blocklist()
        values = _bank_values()
        self.words = [w for w in WORDS if w not in values]
        self.keys = [w for w in KEY_WORDS if w not in values]

    # values -------------------------------------------------------------------------------------
    def pseudo(self) -> str:
        while True:
            word = "".join(self.rng.choice(SYLLABLES) for _ in range(self.rng.randint(2, 3)))
            if word not in self.blocked:
                return word.capitalize() if self.rng.random() < 0.4 else word

    def word(self) -> str:
        return self.rng.choice(self.words) if self.rng.random() < 0.6 else self.pseudo()

    def phrase(self, lo: int = 2, hi: int = 6) -> str:
        text = " ".join(self.word() for _ in range(self.rng.randint(lo, hi)))
        return text[0].upper() + text[1:] if self.rng.random() < 0.5 else text

    def ident(self) -> str:
        while True:
            code = self._ident()
            if code.lower() not in _bank_values():
                return code

    def _ident(self) -> str:
        letters = "".join(self.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(self.rng.randint(1, 4)))
        digits = "".join(self.rng.choice("0123456789") for _ in range(self.rng.randint(2, 7)))
        return letters + self.rng.choice(["", "", "-", "_"]) + digits

    def email(self) -> str:
        local = self.pseudo().lower() + self.rng.choice(["", ".", "_"]) * (self.rng.random() < 0.4)
        if local[-1] in "._":
            local += self.pseudo().lower()
        if self.rng.random() < 0.3:
            local += str(self.rng.randint(1, 99))
        return f"{local}@{self.pseudo().lower()}.{self.rng.choice(TLDS)}"

    def date(self) -> str:
        return f"{self.rng.randint(1990, 2040)}-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}"

    def time(self) -> str:
        return f"{self.rng.randint(0, 23):02d}:{self.rng.randint(0, 59):02d}"

    def integer(self) -> int:
        return self.rng.choice([self.rng.randint(0, 9), self.rng.randint(10, 999), self.rng.randint(1000, 99999)])

    def decimal(self) -> float:
        return round(self.rng.uniform(0, 1000), self.rng.choice([1, 2]))

    def expression(self) -> str:
        parts = [str(self.rng.randint(1, 500))]
        for _ in range(self.rng.randint(1, 2)):
            parts += [self.rng.choice("+-*/"), str(self.rng.randint(1, 500))]
        return " ".join(parts)

    def typed_value(self) -> tuple[str, Any]:
        """A (kind, value) pair of any generic kind."""
        kind = self.rng.choice(["word", "phrase", "ident", "email", "date", "time", "integer", "decimal", "expression"])
        value = {"word": self.word, "phrase": self.phrase, "ident": self.ident, "email": self.email,
                 "date": self.date, "time": self.time, "integer": self.integer, "decimal": self.decimal,
                 "expression": self.expression}[kind]()  # fmt: skip
        return kind, value

    def key(self) -> str:
        r = self.rng.random()
        if r < 0.5:
            return self.rng.choice(self.keys)
        if r < 0.8:
            return f"{self.rng.choice(self.keys)}_{self.rng.choice(self.keys + self.words[:80])}"
        return self.pseudo().lower()

    def filler(self, lo: int, hi: int) -> str:
        return " ".join(self.rng.choice(FILLER + self.words[:60]) for _ in range(self.rng.randint(lo, hi)))

    # tasks: each returns a list of (role, text) with role in system/user/assistant -------------------
    def task_repeat(self) -> list[tuple[str, str]]:
        text = " ".join(str(self.typed_value()[1]) for _ in range(self.rng.randint(1, 5)))
        ask = self.rng.choice(["Repeat this exactly:", "Say it back:", "Copy the text below.", "Echo:", "Write:"])
        quoted = self.rng.random() < 0.3
        return [("user", f'{ask} "{text}"' if quoted else f"{ask}\n{text}"), ("assistant", text)]

    def _fields(self, lo: int, hi: int) -> list[tuple[str, str, Any]]:
        fields, seen = [], set()
        for _ in range(self.rng.randint(lo, hi)):
            key = self.key()
            if key in seen:
                continue
            seen.add(key)
            fields.append((key, *self.typed_value()))
        return fields

    def _mention(self, key: str, value: Any) -> str:
        shown = str(value)
        if isinstance(value, str) and " " in value and self.rng.random() < 0.7:
            shown = f'"{value}"'
        return self.rng.choice([
            f"{key} is {shown}", f"{key}: {shown}", f"{key} = {shown}", f"the {key} is {shown}",
            f"set {key} to {shown}", f"use {shown} as {key}", f"{shown} for {key}", f"{key} {shown}",
        ])  # fmt: skip

    def task_extract_named(self) -> list[tuple[str, str]]:
        fields = self._fields(1, 4)
        asked = list(fields)
        extra = [self.key() for _ in range(self.rng.randint(0, 2))]
        extra = [k for k in extra if k not in {f[0] for f in fields}]
        missing = set(extra)
        names = [f[0] for f in asked] + extra
        self.rng.shuffle(names)
        mentions = [self._mention(k, v) for k, _, v in fields]
        self.rng.shuffle(mentions)
        text = ", ".join(f"{self.filler(0, 4)} {m}".strip() for m in mentions)
        if self.rng.random() < 0.5:
            text += " " + self.filler(1, 10)
        order = [f for n in names if n not in missing for f in fields if f[0] == n]
        answer = json.dumps({k: v for k, _, v in order}, ensure_ascii=False)
        system = self.rng.choice([
            f"Reply with a JSON object with the keys {', '.join(names)}. Leave out keys that are not given.",
            "Extract these fields as JSON: " + json.dumps({n: "value" for n in names}),
            f"Fields: {', '.join(names)}. Answer with JSON only.",
        ])  # fmt: skip
        return [("system", system), ("user", text), ("assistant", answer)]

    def task_extract_schema(self) -> list[tuple[str, str]]:
        """Structured extraction against a JSON Schema: given fields typed, required ones always present."""
        fields = self._fields(1, 4)
        absent = [(self.key(), *self.typed_value()) for _ in range(self.rng.randint(0, 2))]
        absent = [f for f in absent if f[0] not in {k for k, _, _ in fields}]
        listed = fields + absent
        self.rng.shuffle(listed)
        json_type = {"integer": "integer", "decimal": "number"}
        properties = {}
        for key, kind, _ in listed:
            prop: dict[str, Any] = {"type": json_type.get(kind, "string")}
            if self.rng.random() < 0.5:
                prop["description"] = self.phrase(2, 5)
            if kind in ("date", "email", "time") and self.rng.random() < 0.5:
                prop["format"] = {"date": "date", "email": "email", "time": "time"}[kind]
            properties[key] = prop
        required = [k for k, _, _ in fields if self.rng.random() < 0.6]
        schema = {"type": "object", "properties": properties, "required": required}
        mentions = [self._mention(k, v) for k, _, v in fields]
        self.rng.shuffle(mentions)
        text = ", ".join(f"{self.filler(0, 4)} {m}".strip() for m in mentions)
        given = {k: v for k, _, v in fields}
        answer = json.dumps({k: given[k] for k, _, _ in listed if k in given}, ensure_ascii=False)
        system = self.rng.choice(["Answer with a JSON object that follows this schema:", "Output JSON matching:"])
        return [("system", f"{system}\n{json.dumps(schema, ensure_ascii=False)}"), ("user", text), ("assistant", answer)]

    def task_extract_typed(self) -> list[tuple[str, str]]:
        kind, value = self.typed_value()
        described = {"word": "the single word in quotes", "phrase": "the text in quotes", "ident": "the code",
                     "email": "the e-mail address", "date": "the date", "time": "the time", "integer": "the number",
                     "decimal": "the decimal number", "expression": "the arithmetic expression"}[kind]  # fmt: skip
        shown = f'"{value}"' if kind in ("word", "phrase") else str(value)
        text = f"{self.filler(0, 8)} {shown} {self.filler(0, 8)}".strip()
        key = self.key()
        return [
            ("system", f'Find {described} in the message and reply as JSON: {{"{key}": ...}}'),
            ("user", text),
            ("assistant", json.dumps({key: value}, ensure_ascii=False)),
        ]

    def task_lookup(self) -> list[tuple[str, str]]:
        fields = self._fields(2, 6)
        data = {k: v for k, _, v in fields}
        key, _, value = self.rng.choice(fields)
        context = json.dumps(data, ensure_ascii=False)
        if self.rng.random() < 0.5:
            turns = [("user", f"Data: {context}\nWhat is the {key}?")]
        else:
            turns = [("system", f"Known facts: {context}"), ("user", f"Tell me the {key}.")]
        answer = self.rng.choice([f"The {key} is {value}.", f"{value}", f"It is {value}."])
        return [*turns, ("assistant", answer)]

    def task_not_found(self) -> list[tuple[str, str]]:
        fields = self._fields(1, 3)
        key = self.key()
        while key in {f[0] for f in fields}:
            key = self.key()
        context = json.dumps({k: v for k, _, v in fields}, ensure_ascii=False)
        reply = self.rng.choice([f"There is no {key} in the data.", f"Sorry, I do not know the {key}."])
        return [("user", f"Data: {context}\nWhat is the {key}?"), ("assistant", reply)]

    def task_chat(self) -> list[tuple[str, str]]:
        user, reply = self.rng.choice(GREETINGS)
        return [("user", user), ("assistant", reply)]

    def task_follow_up(self) -> list[tuple[str, str]]:
        key = self.key()
        first, second = self.typed_value()[1], self.typed_value()[1]
        other = self.key()
        return [
            ("system", f"Reply with a JSON object with the keys {key}, {other}."),
            ("user", f"{self.filler(0, 4)} {self._mention(key, first)} and {self._mention(other, 1)}"),
            ("assistant", json.dumps({key: first, other: 1}, ensure_ascii=False)),
            ("user", self.rng.choice([f"And {second}?", f"Now {key} {second}.", f"What about {second} instead?"])),
            ("assistant", json.dumps({key: second, other: 1}, ensure_ascii=False)),
        ]

    def task_ask_back(self) -> list[tuple[str, str]]:
        key = self.key()
        value = self.typed_value()[1]
        return [
            ("system", f"Reply with a JSON object with the key {key}. If it is not given, ask for it."),
            ("user", self.filler(2, 10)),
            ("assistant", self.rng.choice([f"What is the {key}?", f"Could you tell me the {key}?"])),
            ("user", str(value)),
            ("assistant", json.dumps({key: value}, ensure_ascii=False)),
        ]

    def sample(self) -> list[tuple[str, str]]:
        """One chat task (with an optional system prompt) from the mix."""
        tasks: list[tuple[float, Callable[[], list[tuple[str, str]]]]] = [
            (0.14, self.task_repeat), (0.16, self.task_extract_named), (0.18, self.task_extract_schema),
            (0.12, self.task_extract_typed), (0.12, self.task_lookup), (0.06, self.task_not_found),
            (0.06, self.task_chat), (0.08, self.task_follow_up), (0.08, self.task_ask_back),
        ]  # fmt: skip
        r, acc, chosen = self.rng.random(), 0.0, tasks[-1][1]
        for weight, task in tasks:
            acc += weight
            if r < acc:
                chosen = task
                break
        turns = chosen()
        if turns[0][0] != "system" and self.rng.random() < 0.7:
            turns = [("system", self.rng.choice(SYSTEMS)), *turns]
        return [t for t in turns if t[0] != "system" or t[1]]


def chatml(turns: list[tuple[str, str]]) -> list[tuple[str, bool]]:
    """ChatML pieces (text, labelled): assistant text and its <|im_end|> are labelled."""
    pieces: list[tuple[str, bool]] = []
    for role, text in turns:
        if role == "assistant":
            pieces += [("<|im_start|>assistant\n", False), (text + "<|im_end|>", True), ("\n", False)]
        else:
            pieces.append((f"<|im_start|>{role}\n{text}<|im_end|>\n", False))
    return pieces


def tokenizer_corpus(seed: int, lines: int = 20000) -> Iterator[str]:
    """Generic text the tokenizer is trained on: rendered generic tasks plus the word lists."""
    rng = random.Random(f"{seed}-tokenizer")
    gen = Generic(rng)
    vocabulary = WORDS + KEY_WORDS + CODE_WORDS
    for _ in range(200):  # real words are frequent in real text: each becomes a token
        yield " ".join(rng.sample(vocabulary, len(vocabulary)))
    yield " ".join(" ".join(toks) for toks in SPECIAL_TOKENS.values())
    for _ in range(lines):
        yield "".join(text for text, _ in chatml(gen.sample()))


def build_tokenizer(out: Path, seed: int, vocab_size: int):
    """Byte-level BPE over letter runs, single digits and punctuation runs, trained on generic text."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = [t for toks in SPECIAL_TOKENS.values() for t in toks]
    tok = Tokenizer(models.BPE())
    split = pre_tokenizers.Split(Regex(r"\p{L}+|\p{N}|[^\p{L}\p{N}]+"), behavior="isolated")
    tok.pre_tokenizer = pre_tokenizers.Sequence([split, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )  # fmt: skip
    tok.train_from_iterator(tokenizer_corpus(seed), trainer=trainer)
    tok.add_tokens(TOOL_TOKENS)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=[t for t in specials if t not in ("<|endoftext|>", "<|im_end|>")],
    )
    fast.model_max_length = 4096
    fast.save_pretrained(out)
    return fast


def cpu_kind() -> str:
    """What float training on this machine depends on: CPU vendor and architecture, the SIMD level PyTorch
    dispatches to, torch version. The same seed gives the same weights on one kind, not across kinds
    (MKL and ATen pick other kernels, which round differently)."""
    import platform

    import torch

    vendor = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            vendor = next((line.split(":", 1)[1].strip() for line in f if line.startswith("vendor_id")), "")
    except OSError:
        pass
    return f"{platform.machine()} {vendor or 'unknown'} {torch.backends.cpu.get_cpu_capability()} torch {torch.__version__}"


def weights_sha256(model) -> str:
    """Hash of every parameter's bytes, in state-dict order."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().contiguous().numpy().tobytes())
    return digest.hexdigest()


def build_base_model(
    out_dir: str | Path,
    stop_after: int | None = None,
    progress: bool = True,
    checkpoint_every: int = 0,
    resume_from: str | Path | None = None,
    held_out: int = 60,
    **overrides: Any,
) -> dict[str, Any]:
    """Build (tokenizer + generic pretraining) the base model into `out_dir`; returns its provenance.

    `stop_after` ends training after that many steps of the same schedule (a short reproducibility check);
    `checkpoint_every` also saves the model every that many steps under `out_dir/checkpoints/`;
    `resume_from` (a build of stages 1-2 with the same settings and `extra_steps=0`) skips to stage 3:
    stage 3 starts with a fresh optimizer and every batch is drawn from its step's seed, so the
    result is the same bytes as a build from scratch. `held_out` fresh samples per generic task are
    answered greedily at the end (the rates go into the provenance; 0 skips it).
    """
    import torch
    from tqdm import tqdm
    from transformers import Qwen2Config, Qwen2ForCausalLM

    cfg = {**DEFAULTS, **overrides}
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown base-model settings: {sorted(unknown)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(cfg["seed"])
    tok = build_tokenizer(out, cfg["seed"], cfg["vocab_size"])
    config = Qwen2Config(
        vocab_size=len(tok), hidden_size=cfg["hidden_size"], intermediate_size=cfg["intermediate_size"],
        num_hidden_layers=cfg["layers"], num_attention_heads=cfg["heads"],
        num_key_value_heads=max(1, cfg["heads"] // 2), max_position_embeddings=4096, tie_word_embeddings=True,
        bos_token_id=None, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
    )  # fmt: skip
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id

    # Copying random tokens (added ones included, so every embedding is trained: a fine-tune can
    # then learn to emit any of them, e.g. another family's end-of-turn token).
    added = sorted(i for t, i in tok.get_vocab().items() if t in set(TOOL_TOKENS) | set(tok.all_special_tokens))
    pool = sorted(i for t, i in tok.get_vocab().items() if t.isalnum() and len(t) >= 2) + added * 8
    prefix, sep = tok("<|im_start|>user\n")["input_ids"], tok("<|im_end|>\n<|im_start|>assistant\n")["input_ids"]
    im_end = tok.convert_tokens_to_ids("<|im_end|>")

    def encode(pieces: list[tuple[str, bool]]) -> tuple[list[int], list[int]]:
        ids, labels = [], []
        for text, labelled in pieces:
            piece = tok(text, add_special_tokens=False)["input_ids"]
            ids += piece
            labels += piece if labelled else [-100] * len(piece)
        return ids, labels

    def copy_task(rng: random.Random) -> tuple[list[int], list[int]]:
        seq = [rng.choice(pool) for _ in range(rng.randint(4, 24))]
        ids = prefix + seq + sep + seq + [im_end]
        return ids, [-100] * (len(prefix) + len(seq) + len(sep)) + seq + [im_end]

    def batch(step: int) -> list[tuple[list[int], list[int]]]:
        rng = random.Random(f"{cfg['seed']}-{step}")
        gen = Generic(rng)
        mixed = step > cfg["copy_steps"]
        return [
            encode(chatml(gen.sample())) if mixed and rng.random() < 0.85 else copy_task(rng)
            for _ in range(cfg["batch_size"])
        ]

    def collate(items: list[tuple[list[int], list[int]]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        length = max(len(i) for i, _ in items)
        ids = torch.full((len(items), length), tok.pad_token_id)
        labels = torch.full((len(items), length), -100)
        mask = torch.zeros((len(items), length), dtype=torch.long)
        for row, (i, lab) in enumerate(items):
            ids[row, : len(i)], labels[row, : len(i)], mask[row, : len(i)] = torch.tensor(i), torch.tensor(lab), 1
        return ids, labels, mask

    stage2 = cfg["copy_steps"] + cfg["mixed_steps"]
    total = stage2 + cfg["extra_steps"]
    steps = total if stop_after is None else min(stop_after, total)
    warm = 100

    def lr_at(step: int) -> float:  # warm-up, then cosine; restarted for each stage
        if step <= cfg["copy_steps"]:
            start, length = 0, cfg["copy_steps"]
        elif step <= stage2:
            start, length = cfg["copy_steps"], cfg["mixed_steps"]
        else:
            start, length = stage2, cfg["extra_steps"]
        s = step - start
        return cfg["learning_rate"] * min(s / warm, 0.5 * (1 + math.cos(math.pi * min(1.0, s / length))) * 0.95 + 0.05)

    def optimizer() -> torch.optim.Optimizer:
        return torch.optim.AdamW(model.parameters(), lr=cfg["learning_rate"], betas=(0.9, 0.98), weight_decay=0.01)

    opt = optimizer()
    first = 1
    resumed: dict[str, Any] = {}
    if resume_from is not None:  # stages 1-2 done by an earlier build: continue with stage 3, bit for bit
        resumed = _check_resumable(Path(resume_from), cfg, out, stage2)
        model.load_state_dict(Qwen2ForCausalLM.from_pretrained(resume_from).state_dict())
        if weights_sha256(model) != resumed["weights_sha256"]:
            raise ValueError(f"{resume_from}: weights do not match its {PROVENANCE}")
        first = stage2 + 1
    provenance: dict[str, Any] = {
        "command": "fc-plugin base-model models/fc_tiny_base" + "".join(
            f" --{k.replace('_', '-')} {v}" for k, v in overrides.items()
        ),
        "settings": cfg,
        "parameters": sum(p.numel() for p in model.parameters()),
        "vocab": len(tok),
        "steps": steps,
        "checkpoint_step": CHECK_STEP,
        "cpu": cpu_kind(),
    }  # fmt: skip
    losses: list[float] = []
    model.train()
    if resumed:
        provenance["checkpoint_sha256"] = resumed["checkpoint_sha256"]
        provenance["stage2_sha256"] = resumed["weights_sha256"]
        provenance["resumed_from_stage2"] = True
    bar = tqdm(range(first, steps + 1), desc="pretraining the base", disable=not progress, mininterval=5)
    for step in bar:
        if step == stage2 + 1:  # stage 3 starts with a fresh optimizer (so a resumed build is the same)
            opt = optimizer()
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        ids, labels, mask = collate(batch(step))
        hidden = model.model(input_ids=ids, attention_mask=mask).last_hidden_state[:, :-1]
        targets = labels[:, 1:]
        labelled = targets != -100  # logits only where there is a label: half the time of full logits
        loss = torch.nn.functional.cross_entropy(model.lm_head(hidden[labelled]), targets[labelled])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
        if step % 50 == 0:
            bar.set_postfix(loss=f"{sum(losses[-50:]) / 50:.3f}")
        if step == CHECK_STEP:
            provenance["checkpoint_sha256"] = weights_sha256(model)
        if step == stage2 and cfg["extra_steps"]:
            provenance["stage2_sha256"] = weights_sha256(model)
        if checkpoint_every and step % checkpoint_every == 0 and step < steps:
            model.save_pretrained(out / "checkpoints" / f"step-{step}", safe_serialization=True)
            tok.save_pretrained(out / "checkpoints" / f"step-{step}")
    provenance["final_loss"] = round(sum(losses[-100:]) / max(1, len(losses[-100:])), 4)
    provenance["weights_sha256"] = weights_sha256(model)
    model.save_pretrained(out, safe_serialization=True)
    checked = stop_after is None and held_out > 0
    provenance["held_out"] = evaluate_generic(model, tok, cfg["seed"], held_out) if checked else {}
    (out / PROVENANCE).write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf-8")
    return provenance


def _check_resumable(folder: Path, cfg: dict[str, Any], out: Path, stage2: int) -> dict[str, Any]:
    """The provenance of a stages-1-2 build that stage 3 of `cfg` can continue; ValueError otherwise."""
    info = json.loads((folder / PROVENANCE).read_text(encoding="utf-8"))
    earlier = {**info["settings"], "extra_steps": cfg["extra_steps"]}
    if earlier != cfg or info["steps"] != stage2 or info["settings"].get("extra_steps", 0):
        raise ValueError(f"{folder}: not a stages-1-2 build of these settings (its settings: {info['settings']})")
    if (folder / "tokenizer.json").read_bytes() != (out / "tokenizer.json").read_bytes():
        raise ValueError(f"{folder}: its tokenizer differs from the one these settings build")
    return info


def evaluate_generic(model, tok, seed: int, n: int = 60) -> dict[str, float]:
    """Greedy exact-answer rate per generic task on fresh samples (a check of what the base brings)."""
    import torch

    gen = Generic(random.Random(f"{seed}-held-out"))
    tasks = ["repeat", "extract_named", "extract_schema", "extract_typed", "lookup", "follow_up", "ask_back"]
    result: dict[str, float] = {}
    model.eval()
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    for name in tasks:
        right = 0
        for _ in range(n):
            turns = getattr(gen, f"task_{name}")()
            *context, (_, answer) = turns
            prompt = "".join(t for t, _ in chatml(context)) + "<|im_start|>assistant\n"
            ids = torch.tensor([tok(prompt)["input_ids"]])
            with torch.no_grad():
                outs = model.generate(ids, max_new_tokens=60, do_sample=False, eos_token_id=im_end,
                                      pad_token_id=tok.pad_token_id)  # fmt: skip
            text = tok.decode(outs[0, ids.shape[1] :], skip_special_tokens=False)
            right += text == answer + "<|im_end|>"
        result[name] = round(right / n, 3)
    model.train()
    return result
