"""The MANO layer: smplx.MANO's model, posed by :mod:`handeval.mano.lbs` (smplx's formula, batched as
GEMMs), plus the conventions datasets differ on, with typed outputs.

What a dataset must state to recompute its meshes exactly (:class:`ManoConvention`):
axis-angle or PCA hand pose, ``flat_hand_mean``, whether the left-hand ``shapedirs`` fix
is applied, and which vertices serve as fingertips. Nothing is applied silently: a left
layer refuses to build until the fix is chosen (``data_specs/geometry.md`` §1.4).
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import smplx
import torch
from smplx.utils import Struct

from handeval.conventions import MANO as MANO_ORDER
from handeval.conventions import hand_side
from handeval.mano.convention import TIP_PRESETS, ManoConvention
from handeval.mano.lbs import pose_mano
from handeval.mano.model_file import ModelFile, find_model_file, read_model_file, resolve_mano_dir
from handeval.mano.parts import vertex_parts
from handeval.mano.standin import ensure_standin
from handeval.mano.watertight import WristSeal, seal_wrist
from handeval.util.errors import HandevalError


@dataclass
class ManoOutput:
    """Batched MANO output in metres, in the frame of ``global_orient``/``transl``."""

    vertices: torch.Tensor  # (B, 778, 3)
    joints: torch.Tensor    # (B, 21, 3), canonical joint order


class ManoLayer(torch.nn.Module):
    """One hand's MANO model under a :class:`ManoConvention`; batched, CPU or GPU."""

    def __init__(self, model: ModelFile, convention: ManoConvention, dtype=torch.float32,
                 right_model: ModelFile | None = None):
        super().__init__()
        side = hand_side(model.side)
        arrays = dict(model.arrays)
        if side == "left":
            if convention.fix_left_shapedirs is None:
                raise HandevalError(
                    "a left MANO layer needs an explicit left-shapedirs choice: set "
                    "fix_left_shapedirs=True (InterHand2.6M, IntagHand) or False (Dex-YCB, ARCTIC)"
                )
            if convention.fix_left_shapedirs:
                arrays["shapedirs"] = _fixed_left_shapedirs(model, right_model)
        self.side, self.convention, self.model_path = side, convention, model.path
        self.synthetic = model.synthetic
        with contextlib.redirect_stdout(io.StringIO()):  # smplx prints a warning for 10 betas
            self.smplx = smplx.MANO(
                model_path=str(model.path), data_struct=Struct(**arrays), is_rhand=side == "right",
                use_pca=False, flat_hand_mean=convention.flat_hand_mean, num_betas=10, dtype=dtype,
                create_global_orient=False, create_hand_pose=False, create_betas=False, create_transl=False,
            )
        comps = torch.as_tensor(np.asarray(arrays["hands_components"])[: convention.num_pca_comps], dtype=dtype)
        self.register_buffer("pca_components", comps)
        tips = torch.as_tensor(TIP_PRESETS[convention.tips][side], dtype=torch.long)
        self.register_buffer("tip_vertices", tips)
        self.register_buffer("canonical_index", torch.as_tensor(MANO_ORDER.source_of_canonical))
        self.faces = np.asarray(arrays["f"], dtype=np.int64)
        self.weights = np.asarray(arrays["weights"])
        self.seal: WristSeal = seal_wrist(self.faces, np.asarray(arrays["v_template"]))
        self.parts = vertex_parts(self.weights)

    def joint_regressor(self, tips: str | None = None) -> np.ndarray:
        """(21, 778) matrix giving the canonical joints from vertices: MANO's 16 regressor rows plus
        one-hot fingertip rows (``tips``: a TIP_PRESETS key, default this layer's), as IntagHand and
        InterWild re-regress joints from meshes."""
        tip_ids = TIP_PRESETS[tips or self.convention.tips][self.side]
        reg = self.smplx.J_regressor.double().numpy()
        rows = np.concatenate([reg, np.eye(reg.shape[1])[list(tip_ids)]], axis=0)
        return rows[self.canonical_index.numpy()]

    @property
    def dtype(self) -> torch.dtype:
        return self.pca_components.dtype

    @property
    def device(self) -> torch.device:
        return self.pca_components.device

    def forward(self, global_orient, hand_pose, betas=None, transl=None) -> ManoOutput:
        """Pose the hand. Arguments are (B, 3), (B, hand_pose_dim), (B, 10) or (10,), (B, 3)."""
        global_orient = self._tensor(global_orient, "global_orient", 3)
        batch = global_orient.shape[0]
        hand_pose = self._tensor(hand_pose, "hand_pose", self.convention.hand_pose_dim, batch)
        if self.convention.pose_space == "pca":
            # smplx silently drops PCA when all 45 components are used; project here instead.
            hand_pose = hand_pose @ self.pca_components
        betas = (torch.zeros(batch, 10, dtype=self.dtype, device=self.device) if betas is None
                 else self._tensor(betas, "betas", 10, batch))
        transl = (torch.zeros(batch, 3, dtype=self.dtype, device=self.device) if transl is None
                  else self._tensor(transl, "transl", 3, batch))
        full_pose = torch.cat([global_orient, hand_pose], dim=1) + self.smplx.pose_mean
        vertices, mano_joints = pose_mano(self.smplx, full_pose, betas, transl)
        tips = vertices.index_select(1, self.tip_vertices)
        joints = torch.cat([mano_joints, tips], dim=1).index_select(1, self.canonical_index)
        return ManoOutput(vertices=vertices, joints=joints)

    def absolute_hand_pose(self, hand_pose) -> torch.Tensor:
        """(B, hand_pose_dim) in this convention -> (B, 45) axis-angle per joint, mean hand added: what
        the model poses, so that parameters can move between conventions."""
        hand_pose = self._tensor(hand_pose, "hand_pose", self.convention.hand_pose_dim)
        if self.convention.pose_space == "pca":
            hand_pose = hand_pose @ self.pca_components
        return hand_pose + self.smplx.hand_mean

    def _tensor(self, value, name: str, width: int, batch: int | None = None) -> torch.Tensor:
        if isinstance(value, np.ndarray) and not value.flags.writeable:
            value = value.copy()  # arrays read from Parquet are read-only views
        t = torch.as_tensor(value, dtype=self.dtype, device=self.device)
        if t.ndim == 1 and batch is not None:
            t = t.expand(batch, -1)
        if t.ndim != 2 or t.shape[1] != width or (batch is not None and t.shape[0] != batch):
            want = f"({batch if batch is not None else 'B'}, {width})"
            raise HandevalError(f"MANO {name} must have shape {want}, got {tuple(t.shape)}")
        return t


def left_shapedirs_state(left: ModelFile, right: ModelFile) -> str:
    """'same-as-right' (the official file's bug), 'mirrored' (already fixed) or 'other'."""
    lx, rx = left.arrays["shapedirs"][:, 0, :], right.arrays["shapedirs"][:, 0, :]
    scale = max(float(np.abs(rx).sum()), 1e-12)
    if float(np.abs(lx - rx).sum()) < 1e-6 * scale:
        return "same-as-right"
    if float(np.abs(lx + rx).sum()) < 1e-6 * scale:
        return "mirrored"
    return "other"


def _fixed_left_shapedirs(left: ModelFile, right: ModelFile | None) -> np.ndarray:
    if right is not None and left_shapedirs_state(left, right) != "same-as-right":
        raise HandevalError(
            f"{left.path}: its shapedirs are not the right hand's, so the left-shapedirs fix "
            "was already applied to this file; use fix_left_shapedirs=False with it"
        )
    shapedirs = np.array(left.arrays["shapedirs"], dtype=np.float64, copy=True)
    shapedirs[:, 0, :] *= -1.0
    return shapedirs


def mano_files(mano_dir: str | os.PathLike | None = None) -> dict[str, Path]:
    """Paths of MANO_RIGHT / MANO_LEFT: the user's (option or env) or the synthetic stand-in."""
    folder = resolve_mano_dir(mano_dir)
    if folder is None:
        folder = ensure_standin()
    return {side: find_model_file(folder, side) for side in ("right", "left")}


def load_mano(side: str, convention: ManoConvention, mano_dir: str | os.PathLike | None = None,
              dtype=torch.float32) -> ManoLayer:
    """Build a :class:`ManoLayer` from the user's MANO files, or the stand-in if none are given."""
    side = hand_side(side)
    files = mano_files(mano_dir)
    model = read_model_file(files[side], side=side)
    right = read_model_file(files["right"], side="right") if side == "left" and convention.fix_left_shapedirs else None
    return ManoLayer(model, convention, dtype=dtype, right_model=right)
