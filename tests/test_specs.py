"""The machine-readable specifications in data_specs/ are generated from the code's schemas, and so is the
quantity table of data_specs/protocols/README.md, from the quantity registry.

After changing a schema or a quantity kind, regenerate them with ``python tests/test_specs.py``.
"""

import json
import sys
from pathlib import Path

SPECS = Path(__file__).parents[1] / "data_specs"


def generated() -> dict[str, str]:
    """File name under data_specs/ -> the text the code generates for it."""
    from handeval.records.schema import SHARD_FORMAT_VERSION, features_dict
    from handeval.scoring.result import RESULT_JSON_SCHEMA
    from handeval.scoring.submissions import submission_schema

    specs = {"shards.schema.json": {"format_version": SHARD_FORMAT_VERSION, "tables": features_dict()},
             "submission.schema.json": submission_schema(),
             "result.schema.json": RESULT_JSON_SCHEMA}
    out = {name: json.dumps(spec, indent=1, ensure_ascii=False) + "\n" for name, spec in specs.items()}
    out["protocols/README.md"] = _with_quantity_table((SPECS / "protocols" / "README.md").read_text())
    return out


def _with_quantity_table(readme: str) -> str:
    """The protocol README with its quantity table (from its header row to the blank line) regenerated."""
    from handeval.scoring.quantities import quantity_table

    start = readme.index("| `kind` |")
    end = readme.index("\n\n", start) + 1
    return readme[:start] + quantity_table() + readme[end:]


def test_committed_specs_are_the_generated_ones():
    for name, text in generated().items():
        assert (SPECS / name).read_text() == text, f"data_specs/{name} is stale: run python tests/test_specs.py"


def test_the_result_schema_is_a_valid_json_schema():
    from jsonschema import Draft202012Validator

    from handeval.scoring.result import RESULT_JSON_SCHEMA, RESULT_KEYS

    Draft202012Validator.check_schema(RESULT_JSON_SCHEMA)
    assert list(RESULT_KEYS) == RESULT_JSON_SCHEMA["required"] == list(RESULT_JSON_SCHEMA["properties"])


if __name__ == "__main__":
    for name, text in generated().items():
        (SPECS / name).write_text(text)
        print(f"wrote data_specs/{name}", file=sys.stderr)
