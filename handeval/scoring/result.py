"""A scored result (``RESULT.json``): its JSON Schema, and the one loader its readers use.

``handeval score`` writes a result; ``compare``, ``regroup`` and the leaderboard read it back
through :meth:`Result.from_file`, which refuses anything that does not follow
:data:`RESULT_JSON_SCHEMA` with one message naming the file and the field.
``data_specs/result.schema.json`` is generated from :data:`RESULT_JSON_SCHEMA` (a test keeps
them equal); ``data_specs/results.md`` says what each field means.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path

import ijson

from handeval import __version__
from handeval.scoring.protocols import REDUCTIONS, Protocol, load_protocol, protocol_names
from handeval.util.errors import HandevalError, shown

RESULT_SCHEMA = "handeval-result/2"

_SHA256 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
_NUMBER_OR_NULL = {"type": ["number", "null"]}
RESULT_JSON_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": RESULT_SCHEMA,
    "title": "handeval score result",
    "type": "object",
    "required": ["schema", "name", "protocol", "dataset", "synthetic", "submission", "deviations", "comparable",
                 "warnings", "metrics", "bootstrap", "curves", "series", "breakdowns", "errors_table",
                 "handeval_version"],
    "additionalProperties": False,
    "properties": {
        "schema": {"const": RESULT_SCHEMA},
        "name": {"type": "string"},
        "protocol": {
            "type": "object",
            "required": ["name", "version", "sha256", "title", "dataset", "submission"],
            "properties": {
                "name": {"type": "string"}, "version": {"type": "integer"}, "sha256": _SHA256,
                "title": {"type": "string"},
                "dataset": {"type": "object", "required": ["name", "split"]},
                "submission": {"type": "object", "required": ["joints", "vertices", "hand_scores"],
                               "additionalProperties": {"enum": ["required", "optional", "unused"]}},
            },
        },
        "dataset": {"type": "object", "required": ["name", "split", "manifest_sha256"],
                    "properties": {"manifest_sha256": _SHA256}},
        "synthetic": {"type": "boolean"},
        "submission": {
            "type": "object",
            "required": ["file", "format", "sha256", "rows", "vertices"],
            "properties": {"format": {"enum": ["parquet", "npz", "ho3d-pred-json", "dexycb-txt"]}, "sha256": _SHA256,
                           "rows": {"type": "integer", "minimum": 0}, "vertices": {"type": "boolean"},
                           "provenance": {"type": "object", "description": "what produced the predictions, as the "
                                          "submission file records it (data_specs/zoo.md)"},
                           "speed": {"type": "object", "description": "the speed the run that wrote the submission "
                                     "measured, from the record beside it (data_specs/zoo.md)"}},
        },
        "deviations": {"type": "array", "items": {"type": "string"}},
        "comparable": {"type": "boolean"},
        "warnings": {
            "type": "array",
            "items": {"type": "object", "required": ["check", "severity", "message", "fix"],
                      "properties": {"check": {"type": "string"}, "severity": {"const": "warning"},
                                     "message": {"type": "string"}, "fix": {"type": "string"}}},
        },
        "metrics": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["value", "unit", "ci95", "n", "quantity", "reduce"],
                "properties": {
                    "value": _NUMBER_OR_NULL, "unit": {"type": "string"},
                    "ci95": {"oneOf": [{"type": "null"},
                                       {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}]},
                    "n": {"type": "integer", "minimum": 0}, "quantity": {"type": "string"},
                    "reduce": {"enum": list(REDUCTIONS)}, "note": {"type": "string"},
                },
            },
        },
        "bootstrap": {"type": "object", "required": ["unit", "replicates", "seed", "clusters", "sequences"],
                      "properties": {"unit": {"enum": ["sequence", "frame"]},
                                     "replicates": {"type": "integer", "minimum": 0}}},
        "curves": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["thresholds_mm", "pck"],
            "properties": {"thresholds_mm": {"type": "array", "items": {"type": "number"}},
                           "pck": {"type": "array", "items": {"type": "number"}}}}},
        "series": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["quantity", "sequence", "camera", "frame", "value", "unit"],
            "properties": {"frame": {"type": "array", "items": {"type": "integer"}},
                           "value": {"type": "array", "items": _NUMBER_OR_NULL}}}},
        "breakdowns": {"type": "object", "additionalProperties": {
            "type": "object",
            "properties": {"hand": {"type": "object", "required": ["right", "left"],
                                    "properties": {"right": _NUMBER_OR_NULL, "left": _NUMBER_OR_NULL}}}}},
        "errors_table": {"type": "object", "required": ["path", "sha256"], "properties": {"sha256": _SHA256}},
        "handeval_version": {"type": "string"},
    },
}


@dataclass(frozen=True)
class Result:
    """A result as ``handeval score`` wrote it: one attribute per top-level field, in the file's order
    (``data_specs/results.md``); nested fields stay JSON values."""

    schema: str
    name: str
    protocol: dict                 # name, version, sha256, title, dataset, submission
    dataset: dict                  # name, version, variant, split, manifest_sha256
    synthetic: bool
    submission: dict               # file, format, sha256, rows, vertices (, provenance, speed)
    deviations: list[str]
    comparable: bool
    warnings: list[dict]           # {check, severity, message, fix}
    metrics: dict[str, dict]       # name -> value, unit, ci95, n, quantity, reduce (, note)
    bootstrap: dict
    curves: dict
    series: dict
    breakdowns: dict
    errors_table: dict             # path (beside the result), sha256
    handeval_version: str
    path: Path | None = field(default=None, compare=False)  # the file it was read from

    @classmethod
    def from_file(cls, path: str | Path) -> Result:
        """The result in ``path``; anything else is refused with one message naming the file, and the
        field where the file is a damaged result."""
        path = Path(path)
        expected = f"not a handeval result (a RESULT.json written by `handeval score`, schema {RESULT_SCHEMA})"
        reason = why_not_a_result(path)
        if reason is None:
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                reason = "it is not valid JSON past its schema key (truncated?)"
        if reason is not None:
            raise HandevalError(f"{path}: {expected}: {reason}")
        damage = _damage(data)
        if damage is not None:
            raise HandevalError(f"{path}: a damaged handeval result: {damage} (data_specs/result.schema.json); "
                                "rescore with `handeval score`")
        return cls(**data, path=path)

    def to_dict(self) -> dict:
        """The fields as ``handeval score`` writes them, in their order."""
        return {k: getattr(self, k) for k in RESULT_KEYS}

    def shipped_protocol(self) -> Protocol:
        """The shipped protocol it was scored under: the one of its name, with its hash. A result scored
        under a protocol file (a name handeval does not ship, or a shipped name with another definition)
        is refused, saying so: its numbers are not those of the shipped definition."""
        name, digest = self.protocol["name"], self.protocol["sha256"]
        if name not in protocol_names():
            raise HandevalError(f"{self.path}: scored under protocol {name!r}, which handeval does not ship "
                                f"(shipped: {', '.join(protocol_names())}); the leaderboard, compare and regroup take "
                                "results under a shipped protocol only: score the submission under one of them")
        shipped = load_protocol(name)
        if shipped.sha256 != digest:
            versions = "" if shipped.version == self.protocol["version"] else \
                f"; version {self.protocol['version']} in the result, {shipped.version} shipped"
            raise HandevalError(
                f"{self.path}: scored under a protocol named {name} that is not the shipped {name} (its sha256 "
                f"{digest[:12]}... differs from the shipped {shipped.sha256[:12]}...{versions}): a protocol file that "
                "reuses the name, or an older definition of it. The leaderboard, compare and regroup recompute a "
                "result with the shipped definition of its protocol, so they take no result of a custom protocol: "
                f"score the submission again with `handeval score --protocol {name}`")
        return shipped

    @property
    def table_path(self) -> Path:
        """Where its per-view error table must be: beside the result (only the base name counts)."""
        return Path(self.path or ".").parent / Path(self.errors_table["path"]).name


#: A result's top-level fields, in the order ``handeval score`` writes them.
RESULT_KEYS = tuple(f.name for f in fields(Result) if f.name != "path")


def why_not_a_result(path: str | Path) -> str | None:
    """Why ``path`` is not a handeval result (to follow "not a handeval result: "), or None if it is
    one. Streams no further than the top-level ``schema`` key, so a large submission or a Parquet
    file is turned down at once."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            events = ijson.parse(fh)
            _, event, _ = next(events)
            if event != "start_map":
                return "it is JSON, but not an object"
            for prefix, event, value in events:
                if prefix == "schema":
                    if value == RESULT_SCHEMA:
                        return None
                    have = _schema_number(value)
                    if have is not None and have > _schema_number(RESULT_SCHEMA):
                        return (f"it is a {value} result, written by a newer handeval than this one ({__version__}, "
                                f"which reads {RESULT_SCHEMA}): upgrade handeval (pip install -U handeval)")
                    if have is not None:
                        return (f"it is a {value} result ({RESULT_SCHEMA} dropped local paths so that results are "
                                "shareable); Score the submission again with this version")
                    return f"its schema is {value!r}"
            return "it is a JSON object without a schema key"
    except OSError as exc:
        return f"it cannot be read ({exc.strerror})"
    except (ijson.JSONError, UnicodeDecodeError):
        return "it is not JSON (or is truncated)" if path.stat().st_size else "it is empty"


def _schema_number(value) -> int | None:
    """``handeval-result/N``'s N: which release wrote a result, older or newer than this one."""
    match = re.fullmatch(r"handeval-result/(\d+)", value) if isinstance(value, str) else None
    return int(match[1]) if match else None


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    return Draft202012Validator(RESULT_JSON_SCHEMA)


_JSON_TYPES = {"string": "a string", "object": "an object", "array": "an array", "number": "a number",
               "integer": "an integer", "boolean": "true or false", "null": "null"}


def _damage(data: dict) -> str | None:
    """Where ``data`` departs from the schema, as "`field` is X, expected Y" (the most telling place)."""
    from jsonschema.exceptions import best_match

    error = best_match(_validator().iter_errors(data))
    if error is None:
        return None
    where = list(error.absolute_path)
    if error.validator == "required":
        missing = next(k for k in error.validator_value if k not in error.instance)
        return f"`{_dotted(where + [missing])}` is missing"
    if error.validator == "additionalProperties" and error.validator_value is False:
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))[0]
        return f"`{_dotted(where + [extra])}` is not a field of a result"
    value = shown(error.instance)
    rule = error.validator_value
    expected = {
        "type": lambda: " or ".join(_JSON_TYPES[t] for t in ([rule] if isinstance(rule, str) else rule)),
        "const": lambda: json.dumps(rule),
        "enum": lambda: "one of " + ", ".join(map(json.dumps, rule)),
        "pattern": lambda: "64 lowercase hex digits (a sha256)" if rule == _SHA256["pattern"] else f"to match {rule}",
        "minimum": lambda: f"at least {rule}",
        "minItems": lambda: f"at least {rule} items",
        "maxItems": lambda: f"at most {rule} items",
    }.get(error.validator, lambda: f"what the schema's {error.validator!r} rule allows")()
    return f"`{_dotted(where)}` is {value}, expected {expected}"


def _dotted(where: list) -> str:
    """``["metrics", "MPJPE", "ci95", 0]`` -> ``metrics.MPJPE.ci95[0]``."""
    return "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in where).lstrip(".")
