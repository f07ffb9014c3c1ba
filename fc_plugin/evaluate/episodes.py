"""Multi-turn evaluation by execution: the model calls, the runtime executes, results go back.

An episode starts at a sample's last user turn. Each step the model answers; parsed calls are
executed by the `ToolRuntime` (invalid ones get its fallback message as their result) and fed back
as tool turns, until the model answers with text or `max_steps` is reached. The episode matches
when the calls it executed return the same results, as a multiset, as the gold calls after that
user turn; it is completed when it ends with a text answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fc_plugin.evaluate.inputs import GoldItem, prediction_from_text
from fc_plugin.evaluate.runtime import ToolResult, ToolRuntime, count_matching
from fc_plugin.sample import Message, ToolCall


@dataclass
class Episode:
    item: GoldItem
    messages: list[Message]
    executed: list[ToolResult] = field(default_factory=list)
    steps: int = 0
    final_answer: str | None = None
    parse_errors: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.final_answer is not None

    def as_item(self) -> GoldItem:
        """The conversation so far as a prompt (the expected turn is an empty placeholder)."""
        return GoldItem(
            self.item.id, self.item.sample, list(self.messages), Message("assistant", ""), self.item.category
        )


def episode_start(item: GoldItem) -> tuple[list[Message], list[ToolCall]] | None:
    """(messages up to the last user turn, gold calls after it), or None when there is nothing to run."""
    if "#" in item.id:
        return None  # slot-filling question cases are judged by AST only
    messages = item.sample.messages
    last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
    if last_user < 0:
        return None
    calls = [c for m in messages[last_user + 1 :] if m.role == "assistant" for c in m.tool_calls]
    return (messages[: last_user + 1], calls) if calls else None


def run_episodes(
    generator: Any,
    items: list[GoldItem],
    runtime: ToolRuntime,
    template: str,
    batch_size: int = 1,
    max_steps: int = 4,
    grammar: Any = None,
) -> dict[str, dict[str, Any]]:
    """Run an episode per eligible item (in lockstep batches); returns `{id: episode verdict}`."""
    from tqdm import tqdm

    episodes: list[tuple[Episode, list[ToolCall]]] = []
    for item in items:
        start = episode_start(item)
        if start is not None:
            episodes.append((Episode(item, list(start[0])), start[1]))
    for begin in tqdm(
        range(0, len(episodes), max(1, batch_size)), desc="episodes", unit="batch", disable=not episodes
    ):
        batch = [e for e, _ in episodes[begin : begin + max(1, batch_size)]]
        for _ in range(max_steps):
            active = [e for e in batch if not e.done]
            if not active:
                break
            outputs = list(
                generator.generate([e.as_item() for e in active], len(active), grammar, progress=False)
            )
            for episode, output in zip(active, outputs, strict=True):
                step(episode, prediction_from_text(output.id, output.text, template), runtime)
    return {e.item.id: verdict(e, gold_calls, runtime) for e, gold_calls in episodes}


def step(episode: Episode, pred: Any, runtime: ToolRuntime) -> None:
    """Apply one model turn: execute its calls and append call + results, or record the final answer."""
    episode.steps += 1
    episode.parse_errors.extend(pred.errors)
    if not pred.calls:
        episode.final_answer = pred.content
        return
    tools = episode.item.sample.tools
    results = [runtime.execute(call, tools) for call in pred.calls]
    episode.executed.extend(results)
    episode.messages.append(Message("assistant", "", list(pred.calls), thought=pred.thought))
    episode.messages.extend(Message("tool", r.message, name=r.name) for r in results)


def verdict(episode: Episode, gold_calls: list[ToolCall], runtime: ToolRuntime) -> dict[str, Any]:
    """Episode verdict: results compared with the gold calls' results (order-free)."""
    tools = episode.item.sample.tools
    want = [runtime.execute(c, tools) for c in gold_calls]
    got = [r for r in episode.executed if r.ok]
    matched = count_matching(want, got)
    gold_ok = all(w.ok for w in want)
    return {
        "episode_match": (matched == len(want) and len(got) == len(want)) if gold_ok else None,
        "episode_completed": episode.done,
        "episode_steps": episode.steps,
        "episode_calls": [r.to_dict() for r in episode.executed],
        "episode_invalid_calls": sum(not r.ok for r in episode.executed),
        "episode_final_answer": episode.final_answer,
    }
