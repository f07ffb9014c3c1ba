"""Evaluation: does the tuned model call tools correctly?

- `scorer`: per-sample verdicts (call decision, names, arguments, hallucinations, types, slot
  filling) and aggregates, offline and model-free.
- `bfcl`: Berkeley Function Calling Leaderboard question/possible-answer files and its AST rules.
- `generate`: runs a model through LLaMA-Factory's chat engine and times it.
- `runtime`: executes parsed calls against registered Python callables (validated arguments).
- `report`: report.json / report.md / report.png and the A/B comparison.
"""
