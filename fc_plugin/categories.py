"""The sample categories of the seeds: single call, parallel, multi-round, no call, slot filling."""

from __future__ import annotations

from fc_plugin.sample import Sample

CATEGORIES = ("single", "parallel", "multi_round", "no_call", "slot_filling")


def categorize(sample: Sample) -> str:
    """The category of a sample, first match wins:

    - `no_call`: no assistant turn calls a tool (greetings, questions the tools cannot answer);
    - `slot_filling`: the assistant answers a user turn without calling (asks for a missing
      argument), the user replies, and a later assistant turn calls;
    - `parallel`: one assistant turn makes several calls;
    - `multi_round`: several call turns, or tool results fed back (e.g. call, result, final answer);
    - `single`: exactly one call and nothing after it.
    """
    call_turns = 0
    asked_before_call = False
    pending_question = False
    parallel = False
    has_results = False
    prev_role = None
    for m in sample.messages:
        if m.role == "assistant":
            if m.tool_calls:
                call_turns += 1
                parallel = parallel or len(m.tool_calls) > 1
                asked_before_call = asked_before_call or pending_question
                pending_question = False
            elif prev_role == "user":
                pending_question = True  # answered without calling; may be asking for a slot
        elif m.role == "tool":
            has_results = True
            pending_question = False
        prev_role = m.role
    if call_turns == 0:
        return "no_call"
    if asked_before_call:
        return "slot_filling"
    if parallel:
        return "parallel"
    if call_turns > 1 or has_results:
        return "multi_round"
    return "single"


__all__ = ["CATEGORIES", "categorize"]
