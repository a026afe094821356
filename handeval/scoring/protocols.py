"""Evaluation protocols: pinned, versioned JSON specifications (``data_specs/protocols/``).

A protocol pins what a number means: the dataset, version and split; which frames count;
how the ground truth's joints are made; per-view *quantities* (an error under one
alignment, an F-score, MRRPE, ...), which go into the per-view error table; and the
*metrics*, each an aggregation of one quantity under a rule (per point then mean, pooled,
per hand then mean of hands, AUC, accuracy), with its unit and its official name. Its
sha256 (of the canonical JSON) is recorded in every result, so two numbers computed under
different definitions can never be put side by side unnoticed. The format is specified in
``data_specs/protocols/README.md``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from handeval.conventions import HAND_SIDES
from handeval.labels.registry import LABEL_SETS
from handeval.labels.subsets import SUBSET_NAMES
from handeval.mano.convention import TIP_PRESETS
from handeval.metrics.reductions import REDUCTIONS, Reduction
from handeval.scoring.quantities import QUANTITY_KINDS, SHARED_FIELDS, alignment_problem, kind_of
from handeval.util.errors import HandevalError, did_you_mean, is_choice, is_integer, is_number, shown

SCHEMA = "handeval-protocol/1"
HAND_TYPES = ("right", "left", "interacting", "none")


@dataclass(frozen=True)
class Protocol:
    spec: dict
    sha256: str
    path: Path | None

    @property
    def name(self) -> str:
        return self.spec["name"]

    @property
    def version(self) -> int:
        return self.spec["version"]

    @property
    def split(self) -> str:
        return self.spec["dataset"]["split"]

    @property
    def quantities(self) -> dict[str, dict]:
        return self.spec["quantities"]

    @property
    def metrics(self) -> list[dict]:
        return self.spec["metrics"]

    @property
    def joints_from_vertices(self) -> bool:
        """Joints re-regressed from the meshes, ground truth's and prediction's (IntagHand, InterWild)."""
        return self.spec.get("ground_truth", {}).get("joints") == "from_vertices"

    @property
    def reads_vertices(self) -> bool:
        """A quantity is measured on the meshes."""
        return any(kind_of(q).reads_vertices(q) for q in self.quantities.values())

    def needs_vertices(self) -> bool:
        """Ground-truth meshes (hence MANO) are needed: a quantity reads vertices, or joints come from them."""
        return self.joints_from_vertices or self.reads_vertices

    def vertex_dtype(self) -> type:
        """float32 vertex arrays halve the memory traffic that bounds scoring speed, and keep means
        to about 1e-8 relative; a threshold on per-vertex errors (AUC, PCK) needs float64, or a
        rounding difference of 1e-8 m can move an error across a threshold."""
        for m in self.metrics:
            q = self.quantities[m["quantity"]]
            if REDUCTIONS[m["reduce"]].thresholded and q.get("points") == "vertices":
                return np.float64
        return np.float32

    def higher_is_better(self, metric: dict) -> bool:
        """Whether a larger value of ``metric`` is better: its reduction's say (a share of hits is), else
        its quantity's (the mean of F-scores is, the mean of errors is not)."""
        rule = REDUCTIONS[metric["reduce"]].higher_is_better
        return kind_of(self.quantities[metric["quantity"]]).higher_is_better if rule is None else rule

    def needs(self) -> dict[str, str]:
        """What a submission must hold: ``required``, ``optional`` or ``unused``, per field."""
        return {"joints": "optional" if self.joints_from_vertices else "required",
                "vertices": "required" if self.joints_from_vertices else ("optional" if self.reads_vertices
                                                                          else "unused"),
                "hand_scores": "optional" if any(kind_of(q).reads_hand_scores for q in self.quantities.values())
                else "unused"}

    def summary(self) -> dict:
        return {"name": self.name, "version": self.version, "sha256": self.sha256, "title": self.spec["title"],
                "dataset": self.spec["dataset"], "submission": self.needs()}


def reduction(metric: dict) -> Reduction:
    """A metric's reduction with its parameters (thresholds in metres)."""
    return REDUCTIONS[metric["reduce"]].of_metric(metric)


def _folder():
    return resources.files("handeval.protocol_specs")


def protocol_names() -> list[str]:
    """Every shipped protocol, e.g. ``ho3d-v3/official``."""
    root = _folder()
    return sorted(f"{d.name}/{f.name[:-5]}" for d in root.iterdir() if d.is_dir() and not d.name.startswith("_")
                  for f in d.iterdir() if f.name.endswith(".json"))


def evaluation_split(dataset: str, available: list[str]) -> str | None:
    """The split every protocol of ``dataset`` scores, if they agree and it is in ``available``."""
    pinned = {load_protocol(n).split for n in protocol_names() if load_protocol(n).spec["dataset"]["name"] == dataset}
    return next(iter(pinned)) if len(pinned) == 1 and next(iter(pinned)) in available else None


#: A protocol's prose: where its definition comes from and what to call it. Left out of its hash, so that
#: correcting a citation never makes the results scored under it incomparable.
PROSE_FIELDS = ("title", "source")


def canonical_hash(spec: dict) -> str:
    """sha256 of the definition's canonical JSON (the spec less its prose): key order and whitespace
    do not change it."""
    definition = {k: v for k, v in spec.items() if k not in PROSE_FIELDS}
    return hashlib.sha256(json.dumps(definition, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def load_protocol(name_or_path: str) -> Protocol:
    """A shipped protocol by name, or a protocol file by path; validated."""
    path = Path(name_or_path)
    if path.suffix == ".json" and path.is_file():
        text, where = path.read_text(), path
    else:
        if "/" not in name_or_path:
            raise HandevalError(f"unknown protocol {name_or_path!r}; names look like dataset/protocol, one of: "
                                f"{', '.join(protocol_names())}")
        folder, base = name_or_path.split("/", 1)
        res = _folder() / folder / f"{base}.json"
        if not res.is_file():
            raise HandevalError(f"unknown protocol {name_or_path!r}; choose one of: {', '.join(protocol_names())} "
                                "(`handeval protocols` lists them), or give a protocol .json file")
        text, where = res.read_text(), Path(str(res))
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HandevalError(f"{where}: not valid JSON ({exc})") from None
    validate_spec(spec, where)
    return Protocol(spec, canonical_hash(spec), where)


def validate_spec(spec: dict, where) -> None:
    """Structural checks with the field at fault named; see data_specs/protocols/README.md. Every field
    is known and well-typed, or the protocol is refused: the engine would ignore a misspelt field and
    score under another definition than the one written."""

    def fail(field: str, msg: str):
        raise HandevalError(f"{where}: {field}: {msg} (see data_specs/protocols/README.md)")

    def known(obj: dict, at: str, allowed, what: str) -> None:
        for key in obj:
            if key not in allowed:
                close = did_you_mean(key, allowed)
                fix = f"did you mean {close!r}?" if close else "correct or remove it"
                fail(f"{at}{key}", f"unknown field; {what} are {', '.join(allowed)}: {fix}")

    def fields(obj: dict, at: str, rules: dict[str, _Rule], what: str, required: tuple = ()) -> None:
        for key in required:
            if key not in obj:
                fail(f"{at}{key}", "missing")
        known(obj, at, rules, what)
        for key, value in obj.items():
            ok, expected = rules[key]
            if not ok(value):
                fail(f"{at}{key}", f"must be {expected}, got {shown(value)}")

    if not isinstance(spec, dict):
        fail("(top level)", f"a protocol is a JSON object, got {shown(spec)}")
    if spec.get("schema") != SCHEMA:
        fail("schema", f"must be {SCHEMA!r}, got {shown(spec.get('schema'))}")
    fields(spec, "", _TOP, "the fields of a protocol", _REQUIRED)
    fields(spec["dataset"], "dataset.", _DATASET, "the fields of `dataset`", ("name", "split"))
    select = spec.get("select", {})
    fields(select, "select.", _SELECT, "selections")
    ground_truth = spec.get("ground_truth", {})
    fields(ground_truth, "ground_truth.", _GROUND_TRUTH, "the fields of `ground_truth`")
    for key in ("tips", "regressor"):
        if key in ground_truth and ground_truth.get("joints") != "from_vertices":
            fail(f"ground_truth.{key}", "regresses joints from the meshes: set ground_truth.joints to "
                 "'from_vertices', or remove it")
    if "valid" in ground_truth and ground_truth.get("joints") == "from_vertices":
        fail("ground_truth.valid", "applies to annotated joints (from_vertices joints are valid with their mesh): "
             "remove it")
    for name in spec.get("requires_labels", []):
        if name not in LABEL_SETS:
            fail("requires_labels", f"{name!r} is not a label set; label sets are {tuple(LABEL_SETS)}")
    if "min_image_mean" in select and "images" not in spec.get("requires_labels", []):
        fail("requires_labels", "select.min_image_mean reads the 'images' labels: list them")
    for qname, q in spec["quantities"].items():
        at = f"quantities.{qname}"
        if not isinstance(q, dict):
            fail(at, f"must be an object with a 'kind', got {shown(q)}")
        if "kind" not in q:
            fail(f"{at}.kind", f"missing; kinds are {', '.join(QUANTITY_KINDS)}")
        kind = q["kind"]
        if not isinstance(kind, str) or kind not in QUANTITY_KINDS:
            fail(f"{at}.kind", f"{kind!r} is not one of {', '.join(QUANTITY_KINDS)}")
        entry = QUANTITY_KINDS[kind]
        known(q, f"{at}.", SHARED_FIELDS + entry.field_names, f"the fields of a {kind!r} quantity")
        if "both_hands" in q and not isinstance(q["both_hands"], bool):
            fail(f"{at}.both_hands", f"must be true or false, got {shown(q['both_hands'])}")
        if "align" in q and (problem := alignment_problem(q["align"])) is not None:
            fail(f"{at}.align", f"{shown(q['align'])}: {problem}")
        problem = entry.check(q)
        if problem is not None:
            field, expected = problem
            fail(f"{at}.{field}", f"{expected} (got {shown(q[field]) if field in q else 'nothing: it is missing'})")
    names = set()
    for i, m in enumerate(spec["metrics"]):
        at = f"metrics[{i}]."
        fields(m, at, _METRIC, "the fields of a metric", ("name", "quantity", "reduce"))
        if m["name"] in names:
            fail(f"{at}name", f"duplicate metric name {m['name']!r}")
        names.add(m["name"])
        if m["quantity"] not in spec["quantities"]:
            fail(f"{at}quantity", f"{m['quantity']!r} is not a quantity of this protocol")
        thresholded = REDUCTIONS[m["reduce"]].thresholded
        if thresholded and "thresholds" not in m:
            fail(f"{at}thresholds", "auc and pck need {start, stop, num} in metres")
        if "thresholds" in m and not thresholded:
            fail(f"{at}thresholds", f"only auc and pck read thresholds, not {m['reduce']}: remove it")
        if m["reduce"] == "pck" and "at" not in m:
            fail(f"{at}at", "pck needs the threshold 'at' (metres) to report")
        if "at" in m and m["reduce"] != "pck":
            fail(f"{at}at", f"only pck reads 'at', not {m['reduce']}: remove it")
        if "thresholds" in m:
            t = m["thresholds"]
            fields(t, f"{at}thresholds.", _THRESHOLDS, "the fields of `thresholds`", tuple(_THRESHOLDS))
            if not t["stop"] > t["start"]:
                fail(f"{at}thresholds.stop", f"must be above start ({t['start']}), got {t['stop']}")
        fields(m.get("where", {}), f"{at}where.", _WHERE, "filters")


#: A field's rule: a test of its value, and what the value should be.
_Rule = tuple[Callable[[object], bool], str]


def _one_of(*choices) -> _Rule:
    return lambda v: is_choice(v, choices), "one of " + ", ".join(map(json.dumps, choices))


def _list_of(*choices) -> _Rule:
    test, expected = _one_of(*choices)
    return lambda v: isinstance(v, list) and all(map(test, v)), f"a list, each {expected}"


_TEXT: _Rule = (lambda v: isinstance(v, str), "a string")
_FLAG: _Rule = (lambda v: isinstance(v, bool), "true or false")
_OBJECT: _Rule = (lambda v: isinstance(v, dict), "an object")
_NUMBER: _Rule = (is_number, "a number")
_POSITIVE: _Rule = (lambda v: is_number(v) and v > 0, "a positive number")

# Every field a protocol may set, per object, with the rule of its value (data_specs/protocols/README.md).
# The quantities' fields are their kinds' (``QuantityKind.field_names``).
_REQUIRED = ("schema", "name", "version", "title", "source", "dataset", "quantities", "metrics")
_TOP: dict[str, _Rule] = {
    "schema": (lambda v: v == SCHEMA, repr(SCHEMA)), "name": _TEXT,
    "version": (lambda v: is_integer(v) and v >= 1, "an integer, 1 or more"),
    "title": _TEXT, "source": _TEXT, "dataset": _OBJECT, "select": _OBJECT, "ground_truth": _OBJECT,
    "requires_labels": (lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
                        'a list of label-set names, e.g. ["occlusion"]'),
    "quantities": (lambda v: isinstance(v, dict) and len(v) > 0, "an object of quantities by name"),
    "metrics": (lambda v: isinstance(v, list) and len(v) > 0 and all(isinstance(m, dict) for m in v),
                "a list of metric objects"),
}
_DATASET: dict[str, _Rule] = {"name": _TEXT, "version": _TEXT, "fps": _POSITIVE, "split": _TEXT}
_SELECT: dict[str, _Rule] = {
    "hand_types": _list_of(*HAND_TYPES), "hand_type_valid": _FLAG, "both_hands": _FLAG, "mano": _FLAG,
    "subset": _one_of(*SUBSET_NAMES, None), "min_image_mean": _NUMBER,
}
_GROUND_TRUTH: dict[str, _Rule] = {
    "joints": _one_of("annotated", "from_vertices"), "tips": _one_of(*TIP_PRESETS), "regressor": _one_of(*HAND_SIDES),
    "valid": _one_of("image_and_root"),
}
_METRIC: dict[str, _Rule] = {
    "name": _TEXT, "quantity": _TEXT, "reduce": _one_of(*REDUCTIONS), "scale": _POSITIVE, "unit": _TEXT,
    "description": _TEXT, "thresholds": _OBJECT, "at": _NUMBER, "where": _OBJECT,
}
_THRESHOLDS: dict[str, _Rule] = {
    "start": _NUMBER, "stop": _NUMBER,
    "num": (lambda v: is_integer(v) and v >= 2, "an integer, 2 or more"),
}
_WHERE: dict[str, _Rule] = {
    "hand_type": _list_of(*HAND_TYPES), "subset": _one_of(*SUBSET_NAMES), "hand": _one_of(*HAND_SIDES),
    "fingers": _one_of("visible", "occluded"),
}
