"""The demo pipeline: a synthetic scene -> every dataset's native files -> shards -> labels ->
validation -> baselines scored under each dataset's demo protocols -> the model zoo on InterHand2.6M
(a network run, both temporal filters, the IHMR-OPT refinement, one architecture's profile), scored
too -> one leaderboard.

The CLI's ``handeval demo`` prints what :func:`run_demo` reports; the tests call it directly.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from handeval.runner import Executor

#: Protocols the demo scores on each of its datasets.
DEMO_PROTOCOLS = {
    "interhand26m": ["interhand26m-5fps-ih/intaghand-occlusion", "interhand26m-5fps-ih/dir",
                     "interhand26m-5fps/official", "interhand26m-30fps/temporal", "interhand26m/ihmr-inter"],
    "hic": ["hic/interwild"],
    "dexycb": ["dexycb-s0/toolkit-occlusion"],
    "ho3d": ["ho3d-v3/official"],
}
#: The split each dataset's baselines are scored on when its protocols' own split is not in the demo:
#: Dex-YCB's demo sequences all fall in S0's train split (scored there, marked not comparable).
DEMO_SPLITS = {"dexycb": "s0_train"}
#: What the demo's zoo step makes on its InterHand2.6M test split, and the protocols each is scored under.
ZOO_PROTOCOLS = {
    "tiny": ["interhand26m-5fps/official"],
    "oracle-noise+one-euro": ["interhand26m-30fps/temporal"],
    "oracle-noise+savitzky-golay": ["interhand26m-30fps/temporal"],
    "mano-noise": ["interhand26m/ihmr-inter"],
    "mano-noise+ihmr-opt": ["interhand26m/ihmr-inter"],
}
#: The filters' parameters at the demo's InterHand2.6M release rate (5 fps), whose tracks run 4 frames between
#: gaps: Savitzky-Golay over 3 frames.
ZOO_FILTERS = {"one-euro": {"min_cutoff_hz": 1.0, "beta": 0.0}, "savitzky-golay": {"window_s": 0.6, "polyorder": 1}}
#: The refinement's iterations per stage in the demo (the paper's 300 take minutes on a CPU).
ZOO_REFINE_ITERATIONS = 10
#: The architecture the demo profiles on the CPU, with a short timing run.
ZOO_PROFILED = "internet"


@dataclass
class DemoOutputs:
    """Where the demo wrote what, and what it found."""

    out: Path
    synthetic_mano: bool
    mano_files: dict[str, Path]
    frames: int
    cameras: int
    objects: list[str]
    scene: dict[str, Path]                                  # scene_arrays, scene_meta, picture
    datasets: dict[str, dict] = field(default_factory=dict)  # per dataset: raw, shards, problems, ...
    results: list[Path] = field(default_factory=list)
    zoo: dict[str, str] = field(default_factory=dict)        # what the zoo step wrote: submissions, records
    leaderboard: dict[str, Path] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "synthetic": True, "synthetic_mano": self.synthetic_mano,
            "mano_files": {k: str(v) for k, v in self.mano_files.items()},
            "frames": self.frames, "cameras": self.cameras,
            "outputs": {k: str(v) for k, v in self.scene.items()},
            "datasets": self.datasets,
            "results": [str(r) for r in self.results],
            "zoo": self.zoo,
            "leaderboard": {k: str(v) for k, v in self.leaderboard.items()},
        }


def run_demo(out: str | Path = "handeval-demo", frames: int = 45, fps: float = 30.0, cameras: int = 4, seed: int = 0,
             objects: tuple[str, ...] = ("box",), mano_dir: str | None = None, progress: bool = True,
             on_step: Callable[[str, dict], None] | None = None, executor: Executor | None = None) -> DemoOutputs:
    """Run the whole pipeline into ``out``; ``executor`` runs the conversion, label and scoring units
    (``handeval.runner``: the same files on every backend). ``on_step(step, facts)`` is called as each step ends:
    ``scene`` (the scene written), ``dataset`` (one dataset converted, labelled with every label set of
    ``handeval.labels.registry``, named under ``labels``, and validated), ``scoring`` (a dataset's
    baselines about to be scored), ``score`` (one result written), ``zoo`` (one zoo output written)
    and ``profile`` (the architecture profiled)."""
    from handeval.runner import Executor

    def step(name: str, facts: dict) -> None:
        if on_step is not None:
            on_step(name, facts)

    with executor or Executor() as shared:  # one set of workers for every job of the demo
        return _run(out, frames, fps, cameras, seed, objects, mano_dir, progress, step, shared)


def _run(out, frames, fps, cameras, seed, objects, mano_dir, progress, step, executor) -> DemoOutputs:
    from handeval.api import convert
    from handeval.labels.registry import LABEL_SETS
    from handeval.labels.summary import plot_summary, summarise_labels
    from handeval.leaderboard import write_leaderboard
    from handeval.mano import mano_files
    from handeval.scoring.protocols import load_protocol
    from handeval.scoring.score import score
    from handeval.shards import ShardDataset
    from handeval.shards.layout import SUMMARY_PLOT
    from handeval.shards.validate import validate_dataset
    from handeval.synth.native import write_native
    from handeval.synth.picture import scene_picture
    from handeval.synth.scene import make_scene
    from handeval.zoo.baselines import write_baselines

    out_dir = Path(out).resolve()
    files = mano_files(mano_dir)
    scene = make_scene(seed=seed, num_frames=frames, fps=fps, num_cameras=cameras, objects=objects,
                       mano_dir=mano_dir, progress=progress)
    paths = scene.save(out_dir / "scene")
    picture = scene_picture(scene, out_dir / "scene.png")
    outputs = DemoOutputs(out_dir, scene.synthetic_mano, files, scene.num_frames, scene.cameras.num_cameras,
                          [o.name for o in scene.objects],
                          {"scene_arrays": paths["arrays"], "scene_meta": paths["meta"], "picture": picture})
    step("scene", {"outputs": outputs})
    object_meshes = out_dir / "raw" / "DexYCB" / "models"  # the YCB-layout meshes of the demo's objects
    for name, (raw_root, variant) in write_native(scene, out_dir / "raw", mano_dir, progress=progress).items():
        shards = out_dir / "shards" / name
        manifest = convert(name, raw_root, shards, variant, progress=progress, overwrite=True, synthetic=True,
                           executor=executor)
        for label in LABEL_SETS.values():
            label.run(shards, mano_dir, object_meshes, raw_root, progress=False, executor=executor)
        summary = plot_summary(summarise_labels(shards), shards / SUMMARY_PLOT)
        problems, _ = validate_dataset(shards, mano_dir=str(files["right"].parent))
        outputs.datasets[name] = {"raw": str(raw_root), "shards": str(shards), "problems": len(problems),
                                  "labels_plot": str(summary),
                                  "frames": sum(s.frames for s in manifest.splits.values()),
                                  "views": sum(s.views for s in manifest.splits.values())}
        step("dataset", {"name": name, **outputs.datasets[name], "labels": list(LABEL_SETS)})
    for name, protocols in DEMO_PROTOCOLS.items():
        ds = ShardDataset(out_dir / "shards" / name)
        split = DEMO_SPLITS.get(name)
        subs = write_baselines(ds, split or load_protocol(protocols[0]).split, out_dir / "submissions" / name,
                               mano_dir=mano_dir)
        step("scoring", {"name": name, "results": out_dir / "results"})
        for protocol in protocols:
            for baseline, path in subs.items():
                out_json = out_dir / "results" / protocol.replace("/", "__") / f"{name}-{baseline}.json"
                result = score(ds.root, path, protocol, out_json, name=f"{baseline} (demo)", split=split,
                               mano_dir=mano_dir, allow_deviation=True, replicates=200, progress=False,
                               executor=executor)
                outputs.results.append(out_json)
                step("score", {"protocol": protocol, "baseline": baseline, "result": result})
        outputs.datasets[name]["results"] = str(out_dir / "results")
    _zoo(outputs, mano_dir, progress, step, executor)
    outputs.leaderboard, _ = write_leaderboard(outputs.results, out_dir / "leaderboard", executor=executor)
    return outputs


def _zoo(outputs: DemoOutputs, mano_dir, progress, step, executor) -> None:
    """The zoo on the demo's InterHand2.6M test split: the tiny network through the runner, both
    filters on the oracle-noise baseline, the ground truth's MANO with noise refined by IHMR-OPT,
    each scored; and one architecture's cost on the CPU."""
    from handeval.scoring.score import score
    from handeval.scoring.submissions import write_submission
    from handeval.shards import ShardDataset
    from handeval.util.atomic import write_text_atomic
    from handeval.zoo.baselines import ground_truth_mano, mano_noise
    from handeval.zoo.postprocess import filter_file, refine_file
    from handeval.zoo.profile import profile_model
    from handeval.zoo.registry import get_entry, provenance
    from handeval.zoo.run import build_model, run_entry

    facts = outputs.datasets["interhand26m"]
    gt, raw, zoo = Path(facts["shards"]), Path(facts["raw"]), outputs.out / "zoo"
    made = {"tiny": zoo / "tiny.parquet"}
    run_entry("tiny", gt, "test", made["tiny"], raw, batch=16, workers=0, mano_dir=mano_dir, executor=executor,
              progress=progress)
    noisy = outputs.out / "submissions" / "interhand26m" / "oracle-noise.parquet"
    for name, params in ZOO_FILTERS.items():
        made[f"oracle-noise+{name}"] = zoo / f"oracle-noise+{name}.parquet"
        filter_file(name, noisy, made[f"oracle-noise+{name}"], gt, params=params)
    start = mano_noise(ground_truth_mano(ShardDataset(gt), "test", mano_dir), 0.1, 0.005, seed=0, mano_dir=mano_dir)
    start.provenance = provenance(get_entry("mano-noise"), params={"pose_sigma": 0.1, "trans_sigma": 0.005, "seed": 0},
                                  placement="camera")
    made["mano-noise"] = write_submission(zoo / "mano-noise.parquet", start)
    made["mano-noise+ihmr-opt"] = zoo / "mano-noise+ihmr-opt.parquet"
    # IHMR fits an independent joint estimate; here the oracle-noise baseline's joints (so: an oracle).
    refined = refine_file(made["mano-noise"], gt, "test", made["mano-noise+ihmr-opt"], ZOO_REFINE_ITERATIONS,
                          "cpu", 512, mano_dir, targets=noisy)
    outputs.zoo = {name: str(path) for name, path in made.items()}
    outputs.zoo["refine record"] = refined["record"]
    for name, path in made.items():
        step("zoo", {"name": name, "path": path})
        for protocol in ZOO_PROTOCOLS[name]:
            out_json = outputs.out / "results" / protocol.replace("/", "__") / f"interhand26m-zoo-{name}.json"
            result = score(gt, path, protocol, out_json, name=f"{name} (demo)", mano_dir=mano_dir,
                           allow_deviation=True, replicates=200, progress=False, executor=executor)
            outputs.results.append(out_json)
            step("score", {"protocol": protocol, "baseline": name, "result": result})
    model, _ = build_model(get_entry(ZOO_PROFILED), random_weights=True, mano_dir=mano_dir)
    profiled = profile_model(model, batch=2, warmup=1, repeats=3)
    profile_path = zoo / f"profile-{ZOO_PROFILED}.json"
    write_text_atomic(profile_path, json.dumps(profiled.to_dict(), indent=1) + "\n")
    outputs.zoo["profile"] = str(profile_path)
    step("profile", {"path": profile_path, "text": profiled.text()})
