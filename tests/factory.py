"""Test data built straight from the library, a stage at a time: a synthetic scene, the datasets'
native files, converted shards, labels, baseline submissions and scored results.

:class:`DemoData` builds the demo's data (:data:`SCENE`: 12 frames, 3 cameras, seed 0, one box)
in the demo's layout, each piece the first time a test asks for it, with the demo's own calls
and parameters: the files are those ``handeval demo`` writes with :data:`DEMO_OPTIONS`
(``tests/test_demo_values.py`` holds them to ``tests/golden/demo_values.json``), and the numbers
the tests expect of them hold, without running the demo. The functions build single pieces
for tests that make their own scenes.
"""

from __future__ import annotations

from pathlib import Path

from handeval.demo.pipeline import DEMO_PROTOCOLS, DEMO_SPLITS

#: The demo's scene at the size the tests pin.
SCENE = {"seed": 0, "num_frames": 12, "fps": 30.0, "num_cameras": 3, "objects": ("box",)}
#: ``handeval demo``'s options for that scene (seed, frame rate and objects are its defaults).
DEMO_OPTIONS = ("--frames", str(SCENE["num_frames"]), "--cameras", str(SCENE["num_cameras"]))
#: The demo's scores: 200 bootstrap replicates, deviations from the protocols' splits allowed.
SCORING = {"replicates": 200, "allow_deviation": True}


def scene(**changes):
    """:data:`SCENE`, with ``changes`` to :func:`handeval.synth.scene.make_scene`'s arguments."""
    from handeval.synth.scene import make_scene

    return make_scene(**{**SCENE, "progress": False, **changes})


def converted_interhand(root: Path, scene):
    """Write ``scene`` as InterHand2.6M sequence ``test/Capture0/s`` under root/raw; convert it into root/out."""
    from handeval.api import convert
    from handeval.shards import ShardDataset
    from handeval.synth.native.interhand26m import InterHandSequence, write_interhand26m

    write_interhand26m(root / "raw", [InterHandSequence(scene, "test", 0, "s")], images=False)
    convert("interhand26m", root / "raw", root / "out", progress=False)
    return ShardDataset(root / "out")


def label(directory: Path, raw_root: Path, objects: Path) -> None:
    """Every label set, as the demo computes them: ``objects`` holds the object meshes, ``raw_root``
    is the folder the dataset was converted from (its hand masks and images)."""
    from handeval.labels.run import run_images, run_occlusion, run_penetration, run_subsets

    run_subsets(directory, progress=False)
    run_penetration(directory, None, objects, progress=False)
    run_occlusion(directory, None, objects, source_root=raw_root, progress=False)
    run_images(directory, raw_root, progress=False)


class DemoData:
    """The demo's data under ``root``, in the demo's layout (``raw/``, ``shards/``, ``submissions/``,
    ``results/``); each method builds what it returns, and what that needs, once."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._built: dict[tuple, object] = {}

    def _once(self, key: tuple, build):
        if key not in self._built:
            self._built[key] = build()
        return self._built[key]

    def scene(self):
        return self._once(("scene",), scene)

    def native(self, dataset: str) -> tuple[Path, str | None]:
        """The folder ``dataset``'s native files are in, and its variant (every dataset is written at once)."""
        from handeval.synth.native import write_native

        return self._once(("native",), lambda: write_native(self.scene(), self.root / "raw"))[dataset]

    @property
    def objects(self) -> Path:
        """The demo's object meshes, in the YCB layout Dex-YCB's native files hold."""
        return self.native("dexycb")[0] / "models"

    def shards(self, dataset: str) -> Path:
        """``dataset`` converted (marked synthetic) and labelled."""
        return self._once(("shards", dataset), lambda: self._shards(dataset))

    def _shards(self, dataset: str) -> Path:
        from handeval.api import convert

        raw, variant = self.native(dataset)
        out = self.root / "shards" / dataset
        convert(dataset, raw, out, variant, progress=False, overwrite=True, synthetic=True)
        label(out, raw, self.objects)
        return out

    def submissions(self, dataset: str) -> dict[str, Path]:
        """The baselines of ``dataset``'s scored split: {baseline: Parquet submission}."""
        return self._once(("submissions", dataset), lambda: self._submissions(dataset))

    def _submissions(self, dataset: str) -> dict[str, Path]:
        from handeval.scoring.protocols import load_protocol
        from handeval.shards import ShardDataset
        from handeval.zoo.baselines import write_baselines

        split = DEMO_SPLITS.get(dataset) or load_protocol(DEMO_PROTOCOLS[dataset][0]).split
        return write_baselines(ShardDataset(self.shards(dataset)), split, self.root / "submissions" / dataset)

    def results(self, protocol: str) -> Path:
        """The folder of every baseline's result under ``protocol`` (each with its error table)."""
        return self._once(("results", protocol), lambda: self._results(protocol))

    def _results(self, protocol: str) -> Path:
        from handeval.scoring.score import score

        dataset = next(name for name, names in DEMO_PROTOCOLS.items() if protocol in names)
        folder = self.root / "results" / protocol.replace("/", "__")
        for baseline, path in self.submissions(dataset).items():
            score(self.shards(dataset), path, protocol, folder / f"{dataset}-{baseline}.json",
                  name=f"{baseline} (demo)", split=DEMO_SPLITS.get(dataset), progress=False, **SCORING)
        return folder

    def all_results(self) -> Path:
        """The folder of every protocol's results, one folder per protocol."""
        for names in DEMO_PROTOCOLS.values():
            for protocol in names:
                self.results(protocol)
        return self.root / "results"

