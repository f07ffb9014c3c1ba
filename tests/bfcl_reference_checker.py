"""Run BFCL's own checker (pip package `bfcl-eval`) over predictions; used by test_bfcl_agreement.py.

Runs inside the separate bfcl-eval virtualenv (its pins conflict with ours), never imports fc_plugin.
Input JSONL rows: {"key", "id", "category", "calls": [{"name", "arguments"}] | null (decode failed)}.
Output JSONL rows: {"key", "valid", "error_type"}. Cases and possible answers come from
bfcl-eval's own loaders, so the data path is BFCL's too.

Usage: python bfcl_reference_checker.py IN.jsonl OUT.jsonl
"""

import json
import sys

from bfcl_eval.constants.enums import Language
from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker
from bfcl_eval.utils import (
    is_empty_output,
    is_function_calling_format_output,
    load_dataset_entry,
    load_ground_truth_entry,
)

MODEL = "gorilla-openfunctions-v2"  # a registered model that keeps dots in function names


def main(src: str, dst: str) -> None:
    rows = [json.loads(line) for line in open(src, encoding="utf-8")]
    categories = sorted({r["category"] for r in rows})
    prompts, truths = {}, {}
    for category in categories:
        for entry in load_dataset_entry(category, include_prereq=False, include_language_specific_hint=False):
            prompts[entry["id"]] = entry
        if "relevance" not in category:
            for entry in load_ground_truth_entry(category):
                truths[entry["id"]] = entry["ground_truth"]
    with open(dst, "w", encoding="utf-8") as out:
        for row in rows:
            decoded = None if row["calls"] is None else [{c["name"]: c["arguments"]} for c in row["calls"]]
            category = row["category"]
            if "relevance" in category:  # same logic as bfcl_eval.eval_checker.eval_runner's relevance runner
                has_call = decoded is not None and not is_empty_output(decoded)
                valid = has_call if "irrelevance" not in category else not has_call
                error_type = "" if valid else "relevance"
            elif decoded is None:
                valid, error_type = False, "ast_decoder:decoder_failed"
            elif not is_function_calling_format_output(decoded):
                valid, error_type = False, "ast_decoder:decoder_wrong_output_format"
            else:
                result = ast_checker(
                    prompts[row["id"]]["function"], decoded, truths[row["id"]], Language.PYTHON, category, MODEL
                )
                valid, error_type = result["valid"], result.get("error_type", "")
            out.write(json.dumps({"key": row["key"], "valid": valid, "error_type": error_type}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
