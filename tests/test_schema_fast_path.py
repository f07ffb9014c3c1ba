"""`surely_valid_schema` (which lets simple tool schemas skip jsonschema's ~1 ms metaschema check) never
accepts a schema the metaschema refuses, and accepts the tool schemas real data has."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from fc_plugin.validate import compiled_schema, surely_valid_schema

ROOT = Path(__file__).resolve().parents[1]
VALUES: list[Any] = [True, False, None, 0, 1, -1, 2.5, float("inf"), "", "x", "string", "object", "integer", "strin",
                     [], ["string"], ["string", "string"], ["null", "integer"], [1, "a"], {}, {"type": "string"}]  # fmt: skip
KEYS = ["type", "description", "title", "default", "const", "enum", "examples", "required", "properties", "items",
        "additionalProperties", "not", "minimum", "maximum", "exclusiveMinimum", "minLength", "maxItems",
        "uniqueItems", "deprecated", "format", "pattern", "$ref", "anyOf", "$comment", "minProperties"]  # fmt: skip


def random_schema(rng: random.Random, depth: int = 0) -> Any:
    if rng.random() < 0.1:
        return rng.choice([True, False, None, "string", [], 3])
    schema: dict[str, Any] = {}
    for key in rng.sample(KEYS, rng.randint(0, 5)):
        if key in ("properties",) and depth < 3 and rng.random() < 0.8:
            schema[key] = {f"p{i}": random_schema(rng, depth + 1) for i in range(rng.randint(0, 3))}
        elif key in ("items", "additionalProperties", "not") and depth < 3 and rng.random() < 0.7:
            schema[key] = random_schema(rng, depth + 1)
        elif key == "pattern":
            schema[key] = rng.choice(["^a+$", "(", "[a-"])
        else:
            schema[key] = rng.choice(VALUES)
    return schema


def metaschema_accepts(schema: Any) -> bool:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError:
        return False
    return True


def test_never_accepts_what_the_metaschema_refuses() -> None:
    rng = random.Random(0)
    accepted = refused = 0
    for _ in range(3000):
        schema = random_schema(rng)
        if surely_valid_schema(schema):
            accepted += 1
            assert metaschema_accepts(schema), json.dumps(schema, default=repr)
        elif not metaschema_accepts(schema):
            refused += 1
    assert accepted > 300 and refused > 300  # both sides were exercised


def test_accepts_the_tool_schemas_of_real_data() -> None:
    from fc_plugin.convert import convert_record, get_format

    schemas = []
    for name in ("xlam", "glaive", "openai", "hermes", "toolace"):
        raw = ROOT / "data" / "raw" / f"{name}.json"
        records = (json.loads(raw.read_text()) if raw.exists()
                   else [json.loads(x) for x in raw.with_suffix(".jsonl").read_text().splitlines() if x.strip()])
        for record in records:
            for sample in convert_record(get_format(name), record):
                schemas += [tool["parameters"] for tool in sample.tools]
    schemas += [t.get("function", t)["parameters"] for t in json.loads((ROOT / "data/tools/seed_tools.json").read_text())]
    assert len(schemas) > 30
    assert sum(map(surely_valid_schema, schemas)) >= 0.9 * len(schemas)
    for schema in schemas:
        assert surely_valid_schema(schema) <= metaschema_accepts(schema)


def test_compiled_schema_reports_the_same_problems_with_the_fast_path() -> None:
    bad = {"type": "object", "properties": {"a": {"type": "strin"}}, "required": ["a", "a"]}
    problem, _ = compiled_schema(json.dumps(bad, sort_keys=True))
    assert problem and problem.startswith("parameters are not valid JSON Schema")
    good = {"type": "object", "properties": {"a": {"type": "string", "enum": ["x"]}}, "required": ["a"]}
    problem, compiled = compiled_schema(json.dumps(good, sort_keys=True))
    assert problem is None and not list(compiled.iter_errors({"a": "x"})) and compiled.fast is not None
