"""Loading, composing and rendering the Jinja sources in `templates/` (the single source of truth).

The environment mirrors the one `transformers` uses for `apply_chat_template` (`trim_blocks`,
`lstrip_blocks`, loop controls, `raise_exception`, a `tojson` that keeps unicode and does not escape
HTML), so text rendered here is the text a tokenizer renders from the exported chat template. It is
not sandboxed: it only ever renders our own sources in `templates/` (trusted, and they neither call
unsafe attributes nor change their arguments, so the sandbox's checks cannot change their text - they
only cost time: each call, item and attribute goes through them). The parity tests compare our text
with `apply_chat_template`'s, which renders in the sandbox.
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from fc_plugin import io

FORMATS = ("react", "tags", "json")
FAMILIES = ("qwen", "llama3", "phi4")


def template_dir() -> Path:
    """Folder holding the Jinja sources: `fc_plugin/jinja` in a wheel, `<repo>/templates` in a checkout."""
    import fc_plugin

    package = Path(fc_plugin.__file__).resolve().parent
    shipped = package / "jinja"
    return shipped if shipped.is_dir() else package.parent / "templates"


@cache
def source(relative_path: str) -> str:
    """Text of one Jinja source file, e.g. `formats/json.jinja`."""
    path = template_dir() / relative_path
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OSError(f"fc-plugin: cannot read Jinja template {path}: {exc}") from exc


@lru_cache(maxsize=64)
def compose(format_name: str, family: str, default_system: str = "") -> str:
    """One self-contained chat template: the format's macros, the family's macros, then the message loop."""
    default = json.dumps(default_system, ensure_ascii=False)
    return (
        f"{{#- fc-plugin chat template: format {format_name}, family {family} -#}}\n"
        + source(f"formats/{format_name}.jinja")
        + source(f"families/{family}.jinja")
        + "{%- set fc_default_system = " + default + " -%}\n"
        + source("chat.jinja")
    )


def _tojson(value: Any, ensure_ascii: bool = False, indent: Any = None, separators: Any = None, sort_keys: bool = False) -> str:
    """transformers' `tojson` filter: `json.dumps` with these options (by default `io.dumps`, the same text)."""
    if not ensure_ascii and indent is None and separators is None and not sort_keys:
        return io.dumps(value)
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _raise_exception(message: str) -> None:
    from jinja2.exceptions import TemplateError

    raise TemplateError(message)


@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment
    from jinja2.ext import loopcontrols

    env = Environment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    return env


@lru_cache(maxsize=64)
def compiled(template_source: str) -> Any:
    """Compile (once) one of our Jinja sources (trusted: not sandboxed) with the transformers-compatible
    environment."""
    return _environment().from_string(template_source)


def macro(relative_path: str, name: str, *args: Any) -> str:
    """Call one macro of a Jinja source file, e.g. `macro("formats/json.jinja", "fc_tools", tools)`."""
    return str(getattr(compiled(source(relative_path)).module, name)(*args))


def render(template_source: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None,
           add_generation_prompt: bool, marks: str | None = None) -> str:
    """Render a chat template the way `tokenizer.apply_chat_template(..., tokenize=False)` does.

    `marks`: a sentinel that our chat template writes where LLaMA-Factory's segments may end (its
    `fc_marks` variable; see templates/chat.jinja); None leaves the variable undefined, as in
    `apply_chat_template`.
    """
    context = {"messages": messages, "tools": tools or None, "add_generation_prompt": add_generation_prompt}
    if marks is not None:
        context["fc_marks"] = marks
    return compiled(template_source).render(context)
