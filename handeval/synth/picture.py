"""A PNG contact sheet of a synthetic scene: renders with the projected skeletons on top."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

from handeval.conventions import HAND_SIDES, JOINT_PARENTS
from handeval.synth.scene import EPISODE_KINDS, SyntheticScene
from handeval.util.plots import plt, save_png

_HAND_COLOURS = {"right": "#d9480f", "left": "#1864ab"}
# Instance ids: background, right hand, left hand, then objects.
_SEG_CMAP = matplotlib.colors.ListedColormap(["#1e1e24", "#e8aa78", "#78aae8", "#6ec878", "#c8c85a", "#b4b4b4"])


def scene_picture(scene: SyntheticScene, path: str | Path, max_cameras: int = 4) -> Path:
    """One row per episode (its middle frame), one column per camera, plus a segmentation column."""
    frames = [int(np.flatnonzero(scene.episode == k)[len(np.flatnonzero(scene.episode == k)) // 2])
              for k in np.unique(scene.episode)]
    cams = min(max_cameras, scene.cameras.num_cameras)
    images = scene.rgb if scene.rgb is not None else scene.segmentation
    fig, axes = plt.subplots(len(frames), cams + 1, figsize=(3.2 * (cams + 1), 2.6 * len(frames)), squeeze=False)
    uv = scene.cameras.project(scene.joints[frames].reshape(len(frames), -1, 3).astype(np.float64))
    uv = uv.reshape(len(frames), scene.cameras.num_cameras, 2, 21, 2)
    for r, t in enumerate(frames):
        for c in range(cams):
            ax = axes[r, c]
            if scene.rgb is None:
                ax.imshow(images[t, c], cmap=_SEG_CMAP, vmin=0, vmax=_SEG_CMAP.N - 1, interpolation="nearest")
            else:
                ax.imshow(images[t, c], interpolation="nearest")
            for h, side in enumerate(HAND_SIDES):
                pts = uv[r, c, h]
                for j, p in enumerate(JOINT_PARENTS):
                    if p >= 0:
                        ax.plot(pts[[p, j], 0], pts[[p, j], 1], color=_HAND_COLOURS[side], lw=0.8)
            ax.set_xlim(0, scene.cameras.width)
            ax.set_ylim(scene.cameras.height, 0)
            ax.set_axis_off()
            if r == 0:
                ax.set_title(f"camera {c}", fontsize=9)
        ax = axes[r, cams]
        ax.imshow(scene.segmentation[t, 0], cmap=_SEG_CMAP, vmin=0, vmax=_SEG_CMAP.N - 1, interpolation="nearest")
        ax.set_axis_off()
        ax.set_title(f"frame {t}: {EPISODE_KINDS[scene.episode[t]]}, contact depth "
                     f"{1000 * scene.contact_depth[t]:+.1f} mm", fontsize=8)
    label = "SYNTHETIC scene" + (" (procedural MANO stand-in, not the real MANO model)" if scene.synthetic_mano else "")
    fig.suptitle(f"{label}: seed {scene.seed}, {scene.num_frames} frames at {scene.fps:g} fps", fontsize=10)
    return save_png(fig, path)
