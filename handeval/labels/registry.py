"""The label sets: one entry each, read by everything that names a label set.

``handeval.label`` and ``handeval labels`` run a set by its name, ``handeval labels all`` and the demo
run every set, scoring decodes the sets protocols select and filter by, and protocol validation
checks ``requires_labels`` against these names. An entry says where the set's :class:`LabelSet`
(name, version, table, features) and its runner live, both imported on first use (penetration and
occlusion need torch and Open3D), and which inputs the runner takes besides the dataset. Adding a
set is one entry here (``data_specs/extending.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from handeval.util.errors import HandevalError
from handeval.util.lazy import resolve

if TYPE_CHECKING:
    from handeval.labels.store import LabelSet
    from handeval.shards.manifest import LabelSetEntry

#: What a runner may be given besides the dataset folder (an entry's ``inputs``).
INPUTS = {
    "mano_dir": "the MANO model files (the synthetic stand-in without them)",
    "objects": "a folder of object meshes",
    "source_root": "the folder the dataset was converted from, with its images (and hand masks)",
}


@dataclass(frozen=True)
class LabelGenerator:
    """One label set. ``declared`` and ``runner`` are ``"module:attribute"``: its :class:`LabelSet`, and
    the function that computes it, ``runner(directory, **inputs, resume=, progress=, executor=, on_job=,
    **parameters)``, which returns the set's manifest entry. ``inputs``: which of :data:`INPUTS` the
    runner takes; ``requires``: those of them it cannot do without, so that a run of every set skips it,
    saying why, when they are not there. ``parameters``: the runner's own parameters that ``handeval labels
    all`` also takes (its options of those names). ``description``: its ``handeval labels`` help."""

    name: str
    declared: str
    runner: str
    description: str
    inputs: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    parameters: tuple[str, ...] = ()

    def __post_init__(self):
        unknown = [name for name in (*self.inputs, *self.requires) if name not in INPUTS]
        if unknown or not set(self.requires) <= set(self.inputs):
            raise ValueError(f"label set {self.name}: inputs and requires must be among {', '.join(INPUTS)}, and "
                             f"requires among inputs (got inputs {self.inputs}, requires {self.requires})")

    @property
    def label(self) -> LabelSet:
        return resolve(self.declared)

    def run(self, directory, mano_dir=None, objects=None, source_root=None, **options) -> LabelSetEntry:
        """Compute the set beside the shards in ``directory``; the inputs it does not take are dropped,
        so one call shape runs every set. ``options``: ``resume``, ``progress``, ``executor``, ``on_job`` and the
        runner's own parameters. Returns the set's entry in the manifest."""
        given = {"mano_dir": mano_dir, "objects": objects, "source_root": source_root}
        return resolve(self.runner)(directory, **{k: given[k] for k in self.inputs}, **options)


#: Every label set by name, in the order they are computed.
LABEL_SETS: dict[str, LabelGenerator] = {e.name: e for e in (
    LabelGenerator("subsets", "handeval.labels.subsets:SUBSETS", "handeval.labels.run:run_subsets",
                  "Interacting, closely interacting (< 40 mm) and single-hand frames."),
    LabelGenerator("penetration", "handeval.labels.penetration:PENETRATION", "handeval.labels.run:run_penetration",
                  "Hand-hand and hand-object penetration: per vertex, per frame, and volume.",
                  inputs=("mano_dir", "objects")),
    LabelGenerator("occlusion", "handeval.labels.occlusion:OCCLUSION", "handeval.labels.run:run_occlusion",
                  "Per image: vertex, finger, joint and hand visibility (ray casting, plus hand masks where they "
                  "exist).", inputs=("mano_dir", "objects", "source_root"), parameters=("preset",)),
    LabelGenerator("images", "handeval.labels.images:IMAGES", "handeval.labels.run:run_images",
                  "Per-image statistics from the source images (mean intensity: IntagHand's dark-image filter).\n\n"
                  "Reads every image once (a progress bar per shard), under --root; protocols that select by them "
                  "then need no second pass.", inputs=("source_root",), requires=("source_root",)),
)}


def label_set(name: str) -> LabelGenerator:
    """The entry of the label set ``name``; an unknown name is refused with the list of sets."""
    if name not in LABEL_SETS:
        raise HandevalError(f"unknown label set {name!r}; choose one of {', '.join(LABEL_SETS)}")
    return LABEL_SETS[name]
