"""Synthetic scenes written in each dataset's exact native layout (test fixtures and demo data)."""

from __future__ import annotations

from pathlib import Path

from handeval.synth.scene import SyntheticScene, make_scene


def write_native(scene: SyntheticScene, root: str | Path, mano_dir: str | None = None,
                 progress: bool = False) -> dict[str, tuple[Path, str | None]]:
    """Write ``scene`` in every supported native layout; returns {dataset: (root, variant)}.

    Dex-YCB's left hands follow the unfixed left model and HIC has one fixed camera, so
    those two get a scene made with the same seed and settings under their conventions.
    """
    from handeval.synth.native.dexycb import DexYCBSequence, write_dexycb
    from handeval.synth.native.hic import HICSequence, hic_rig, write_hic
    from handeval.synth.native.ho3d import HO3DSequence, write_ho3d
    from handeval.synth.native.interhand26m import InterHandSequence, write_interhand26m

    root = Path(root)
    kinds = tuple(o.name.rstrip("0123456789") for o in scene.objects)
    common = dict(seed=scene.seed, num_frames=scene.num_frames, fps=scene.fps, objects=kinds, mano_dir=mano_dir,
                  progress=progress)
    out = {}
    ih = write_interhand26m(root / "InterHand2.6M", [InterHandSequence(scene, "test", 0, "0000_synthetic_demo")])
    out["interhand26m"] = (ih, "5fps")
    hic_scene = make_scene(rig=hic_rig(), fix_left_shapedirs=False, **common)
    out["hic"] = (write_hic(root / "HIC", [HICSequence(hic_scene, 1)]), None)
    dex_scene = make_scene(num_cameras=scene.cameras.num_cameras,
                           image_size=(scene.cameras.width, scene.cameras.height), fix_left_shapedirs=False, **common)
    dex = [DexYCBSequence(dex_scene, 0, f"20200709_1400{i:02d}", side=side) for i, side in enumerate(("right", "left"))]
    out["dexycb"] = (write_dexycb(root / "DexYCB", dex), None)
    if scene.objects and scene.objects[0].held_by == "right":
        seqs = [HO3DSequence(scene, "train", "SM1", 0),
                HO3DSequence(scene, "evaluation", "AP10", 1 % scene.cameras.num_cameras)]
        out["ho3d"] = (write_ho3d(root / "HO3D_v3", seqs), "v3")
    return out
