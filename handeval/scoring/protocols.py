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
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from handeval.labels.registry import LABEL_SETS
from handeval.labels.subsets import SUBSET_NAMES
from handeval.metrics.reductions import REDUCTIONS, Auc, Pck, Reduction
from handeval.scoring.quantities import ALIGNMENTS, QUANTITY_KINDS, kind_of
from handeval.util.errors import HandevalError

SCHEMA = "handeval-protocol/1"
#: Per-view selections (data_specs/protocols/README.md).
SELECT_KEYS = ("hand_types", "hand_type_valid", "both_hands", "mano", "subset", "min_image_mean")
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
    if metric["reduce"] == "auc":
        t = metric["thresholds"]
        return Auc(np.linspace(t["start"], t["stop"], t["num"]))
    if metric["reduce"] == "pck":
        return Pck(metric["at"])
    return REDUCTIONS[metric["reduce"]]()


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
    """Structural checks with the field at fault named; see data_specs/protocols/README.md."""

    def fail(field: str, msg: str):
        raise HandevalError(f"{where}: {field}: {msg} (see data_specs/protocols/README.md)")

    if spec.get("schema") != SCHEMA:
        fail("schema", f"must be {SCHEMA!r}")
    for key in ("name", "version", "title", "source", "dataset", "quantities", "metrics"):
        if key not in spec:
            fail(key, "missing")
    for key in ("name", "split"):
        if key not in spec["dataset"]:
            fail(f"dataset.{key}", "missing")
    select = spec.get("select", {})
    for t in select.get("hand_types") or []:
        if t not in HAND_TYPES:
            fail("select.hand_types", f"{t!r} is not one of {HAND_TYPES}")
    if select.get("subset") not in (None,) + SUBSET_NAMES:
        fail("select.subset", f"must be one of {SUBSET_NAMES} or null")
    for key in select:
        if key not in SELECT_KEYS:
            fail(f"select.{key}", f"unknown; selections are {SELECT_KEYS}")
    for name in spec.get("requires_labels", []):
        if name not in LABEL_SETS:
            fail("requires_labels", f"{name!r} is not a label set; label sets are {tuple(LABEL_SETS)}")
    if "min_image_mean" in select and "images" not in spec.get("requires_labels", []):
        fail("requires_labels", "select.min_image_mean reads the 'images' labels: list them")
    for qname, q in spec["quantities"].items():
        kind = q.get("kind")
        if kind not in QUANTITY_KINDS:
            fail(f"quantities.{qname}.kind", f"{kind!r} is not one of {tuple(QUANTITY_KINDS)}")
        align = q.get("align", "none")
        if align.split(":")[0] not in ALIGNMENTS:
            fail(f"quantities.{qname}.align", f"{align!r}: alignments are {ALIGNMENTS} (root and bone_scale take "
                 "':<joint>', e.g. root:9)")
        problem = QUANTITY_KINDS[kind].check(q)
        if problem is not None:
            fail(f"quantities.{qname}.{problem[0]}", problem[1])
    names = set()
    for i, m in enumerate(spec["metrics"]):
        where_m = f"metrics[{i}]"
        if m.get("name") in names:
            fail(f"{where_m}.name", f"duplicate metric name {m.get('name')!r}")
        names.add(m.get("name"))
        if m.get("quantity") not in spec["quantities"]:
            fail(f"{where_m}.quantity", f"{m.get('quantity')!r} is not a quantity of this protocol")
        if m.get("reduce") not in REDUCTIONS:
            fail(f"{where_m}.reduce", f"{m.get('reduce')!r} is not one of {tuple(REDUCTIONS)}")
        if m["reduce"] in ("auc", "pck") and "thresholds" not in m:
            fail(f"{where_m}.thresholds", "auc and pck need {start, stop, num} in metres")
        if m["reduce"] == "pck" and "at" not in m:
            fail(f"{where_m}.at", "pck needs the threshold 'at' (metres) to report")
        for key in m.get("where", {}):
            if key not in ("hand_type", "subset", "hand", "fingers"):
                fail(f"{where_m}.where.{key}", "filters are hand_type, subset, hand, fingers")
        subset = m.get("where", {}).get("subset")
        if subset is not None and subset not in SUBSET_NAMES:
            fail(f"{where_m}.where.subset", f"{subset!r} is not one of {SUBSET_NAMES}")
