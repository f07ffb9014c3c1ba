"""Evaluation: does the tuned model call tools correctly?

- `inputs`: gold datasets (ShareGPT / canonical) and prediction files -> cases and parsed predictions.
- `scorer`: per-sample verdicts (call decision, names, arguments, hallucinations, types, slot
  filling) and aggregates, offline and model-free.
- `bfcl`: Berkeley Function Calling Leaderboard question/possible-answer files and its AST rules.
- `scoring`: `fc-plugin score` (dataset or BFCL files -> report).
- `generate`: runs a model through LLaMA-Factory's chat engine, batched, and times it.
- `grammar`: xgrammar-constrained decoding of calls against the offered tool schemas.
- `runtime`: executes parsed calls against registered Python callables (validated arguments,
  fallback messages); `episodes`: multi-turn evaluation by execution.
- `evaluation`: `fc-plugin eval` (generate -> parse -> score -> report).
- `report`: report.json / report.md / report.png and the A/B comparison.
"""
