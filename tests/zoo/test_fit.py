"""Joints-to-MANO fitting (handeval.zoo.fit): joints of known MANO hands are fitted back to a mesh."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from handeval.zoo.fit import FitConfig, fit_to_joints, initial_params
from handeval.zoo.optimise import two_hands
from handeval.zoo.refine import mano_params

OFFSET = np.array([0.0, 0.0, 0.6])


@pytest.fixture(scope="module")
def layers(standin_dir):
    from handeval.mano import load_mano
    from handeval.zoo.entry import ZOO_MANO

    return {side: load_mano(side, ZOO_MANO) for side in ("right", "left")}


@pytest.fixture(scope="module")
def truth(layers):
    """Four frames of a synthetic scene (articulated fingers, random β, both hands), camera frame."""
    from handeval.synth.scene import make_scene

    scene = make_scene(seed=2, num_frames=4, num_cameras=1, render=False, layers=layers)
    f = lambda x: torch.as_tensor(x, dtype=torch.float32)  # noqa: E731
    pose = np.concatenate([scene.global_orient, scene.hand_pose], -1)
    params = mano_params(f(pose), f(np.broadcast_to(scene.betas, (4, 2, 10)).copy()), f(scene.transl + OFFSET))
    with torch.no_grad():
        return two_hands(layers, params)


def test_the_initial_fit_puts_each_wrist_on_its_target(layers, truth):
    _, joints = truth
    with torch.no_grad():
        _, start = two_hands(layers, initial_params(joints, torch.ones(4, 2, dtype=torch.bool), layers))
    torch.testing.assert_close(start[:, :, 0], joints[:, :, 0], atol=1e-6, rtol=0)


def test_fitting_recovers_known_hands_from_their_joints_alone(layers, truth):
    """A quarter of the default iterations (150 in all). Measured: joint residual mean 1.49, max 1.62 mm; MPVPE
    mean 2.12, max 2.73 mm."""
    vertices, joints = truth
    present = np.ones((4, 2), dtype=bool)
    present[0, 1] = False  # a single right hand
    present[1, 0] = False  # a single left hand
    res = fit_to_joints(joints.numpy(), present, None, layers, FitConfig().with_iterations(0.25))
    residual = res.residual_mm.numpy()
    assert np.isnan(residual[~present]).all() and torch.isnan(res.vertices[0, 1]).all()
    assert (residual[present] < 2.5).all()  # mm
    mpvpe = (res.vertices - vertices).norm(dim=-1).mean(dim=-1).numpy() * 1000
    assert (mpvpe[present] < 4.0).all()  # mm
    assert res.pose.shape == (4, 2, 48) and res.accepted.shape == (4, 4)
    torch.testing.assert_close(res.sample_residual_mm, torch.as_tensor(np.nanmean(residual, axis=1)))
