"""Run BFCL's own checker (pip package `bfcl-eval`) over predictions; used by test_bfcl_agreement.py.

Runs inside the separate bfcl-eval virtualenv (its pins conflict with ours), never imports fc_plugin.
Input JSONL rows: {"key", "id", "category", "calls": [{"name", "arguments"}] | null (decode failed)}.
Output JSONL rows: {"key", "valid", "error_type"}. Cases and possible answers come from bfcl-eval's
own loaders, and every verdict from bfcl-eval's own per-entry evaluators (the functions its
`relevance_file_runner` / `ast_file_runner` call for each entry); the only stand-in is the model
handler's `decode_ast`, which returns our already decoded calls in BFCL's `[{name: {args}}]` shape
(or raises, as a failed decode does). No verdict logic is written here.

Usage: python bfcl_reference_checker.py IN.jsonl OUT.jsonl
"""

import json
import sys

from bfcl_eval.constants.enums import Language, ReturnFormat
from bfcl_eval.eval_checker.eval_runner import _evaluate_single_ast_entry, _evaluate_single_relevance_entry
from bfcl_eval.utils import is_relevance_or_irrelevance, load_dataset_entry, load_ground_truth_entry

MODEL = "gorilla-openfunctions-v2"  # a registered model that keeps dots in function names


class DecodedHandler:
    """The one method of a BFCL model handler the evaluators use: decode_ast."""

    def decode_ast(self, result, language=None, has_tool_call_tag=False):
        if result is None:
            raise ValueError("the model output did not decode")
        return result


def main(src: str, dst: str) -> None:
    rows = [json.loads(line) for line in open(src, encoding="utf-8")]
    categories = sorted({r["category"] for r in rows})
    prompts, truths = {}, {}
    for category in categories:
        for entry in load_dataset_entry(category, include_prereq=False, include_language_specific_hint=False):
            prompts[entry["id"]] = entry
        if not is_relevance_or_irrelevance(category):
            for entry in load_ground_truth_entry(category):
                truths[entry["id"]] = entry["ground_truth"]
    handler = DecodedHandler()
    with open(dst, "w", encoding="utf-8") as out:
        for row in rows:
            decoded = None if row["calls"] is None else [{c["name"]: c["arguments"]} for c in row["calls"]]
            category, prompt = row["category"], prompts[row["id"]]
            if is_relevance_or_irrelevance(category):
                result = _evaluate_single_relevance_entry(handler, row["id"], decoded, prompt, MODEL, category)
            else:
                result = _evaluate_single_ast_entry(
                    handler, row["id"], decoded, truths[row["id"]], prompt, MODEL, category,
                    Language.PYTHON, ReturnFormat.PYTHON,
                )  # fmt: skip
            out.write(
                json.dumps({"key": row["key"], "valid": result["valid"], "error_type": result.get("error_type", "")})
                + "\n"
            )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
