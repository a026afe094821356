"""Synthetic scenes: determinism, smooth motion, exact overlap schedule, render/camera consistency."""

import numpy as np
import open3d as o3d
import pytest
import trimesh

from handeval.conventions import HAND_SIDES
from handeval.synth.cameras import look_at_rig
from handeval.synth.scene import EPISODE_KINDS, SyntheticScene, make_scene


@pytest.fixture(scope="module")
def scene(standin_dir):
    return make_scene(seed=3, num_frames=24, fps=30.0, num_cameras=3, image_size=(96, 72), objects=("box",))


def test_deterministic_by_seed(scene):
    again = make_scene(seed=3, num_frames=24, fps=30.0, num_cameras=3, image_size=(96, 72), objects=("box",))
    for key in ("hand_pose", "global_orient", "transl", "vertices", "segmentation", "depth", "rgb"):
        np.testing.assert_array_equal(getattr(scene, key), getattr(again, key))
    other = make_scene(seed=4, num_frames=24, num_cameras=3, image_size=(96, 72), render=False)
    assert not np.allclose(other.hand_pose, scene.hand_pose)


def test_motion_is_smooth_and_frame_rate_independent(standin_dir):
    s30 = make_scene(seed=1, num_frames=30, fps=30.0, render=False)
    s60 = make_scene(seed=1, num_frames=60, fps=60.0, render=False)
    np.testing.assert_allclose(s60.hand_pose[::2], s30.hand_pose, atol=1e-12)
    np.testing.assert_allclose(s60.global_orient[::2], s30.global_orient, atol=1e-12)
    # Joint acceleration stays small: no jumps between frames (mm per frame^2 at 60 fps).
    accel = np.linalg.norm(s60.joints[2:] - 2 * s60.joints[1:-1] + s60.joints[:-2], axis=-1)
    assert accel.max() < 0.004
    # Mid-episode the reached depth follows the schedule within a few millimetres.
    for k in range(3):
        frames = np.flatnonzero(s60.episode == k)
        t = frames[len(frames) // 2]
        assert abs(s60.contact_depth[t] - s60.scheduled_depth[t]) < 0.004


def test_episodes_and_contact_depth(scene, flat_layers):
    """The stored contact depth matches trimesh's signed distance (independent of Open3D),
    and follows the schedule: a gap when apart, touching on contact, penetration after."""
    assert set(np.unique(scene.episode)) == {0, 1, 2}
    obj = scene.objects[0]
    assert obj.held_by == "right"
    seal = flat_layers["right"].seal
    for kind, value in zip(EPISODE_KINDS, (-0.04, 0.0, 0.008)):
        frames = np.flatnonzero(scene.episode == EPISODE_KINDS.index(kind))
        t = frames[len(frames) // 2]
        assert np.isclose(scene.scheduled_depth[t], value), kind
        hand = trimesh.Trimesh(seal.close(scene.vertices[t, 0]), seal.faces, process=False)
        box = trimesh.Trimesh(obj.world_vertices()[t], obj.faces, process=False)
        # trimesh: positive inside. Depth of the left side = max over its vertices and meshes.
        sd = np.maximum(trimesh.proximity.signed_distance(hand, scene.vertices[t, 1]),
                        trimesh.proximity.signed_distance(box, scene.vertices[t, 1]))
        assert sd.max() == pytest.approx(scene.contact_depth[t], abs=2e-5), kind
    # Short episodes (8 frames here) blur into each other through the smoothing; still a
    # clear gap, touching, and real penetration.
    mid = {k: scene.contact_depth[np.flatnonzero(scene.episode == i)[-3]] for i, k in enumerate(EPISODE_KINDS)}
    assert mid["apart"] < -0.025 and abs(mid["contact"]) < 0.004 and mid["penetrate"] > 0.004


def _inside_right(scene, layers_seal, t):
    """Occupancy of left-hand vertices in the right hand and the held object (Open3D)."""
    rc = o3d.t.geometry.RaycastingScene()
    seal = layers_seal
    rc.add_triangles(seal["right"].close(scene.vertices[t, 0]).astype(np.float32),
                     seal["right"].faces.astype(np.uint32))
    obj = scene.objects[0]
    rc.add_triangles(obj.world_vertices()[t].astype(np.float32), obj.faces.astype(np.uint32))
    return rc.compute_occupancy(o3d.core.Tensor(scene.vertices[t, 1].astype(np.float32))).numpy() > 0


def test_penetration_episodes_really_penetrate(scene, flat_layers):
    seals = {s: flat_layers[s].seal for s in HAND_SIDES}
    for kind, expect in (("apart", False), ("penetrate", True)):
        frames = np.flatnonzero(scene.episode == EPISODE_KINDS.index(kind))
        t = frames[len(frames) // 2]
        assert _inside_right(scene, seals, t).any() == expect, kind


def test_depth_unprojects_onto_the_surfaces(scene, flat_layers):
    """Depth + intrinsics + extrinsics put every hit pixel back on a mesh surface."""
    rig, t = scene.cameras, 10
    rc = o3d.t.geometry.RaycastingScene()
    for h, side in enumerate(HAND_SIDES):
        seal = flat_layers[side].seal
        rc.add_triangles(seal.close(scene.vertices[t, h]).astype(np.float32), seal.faces.astype(np.uint32))
    rc.add_triangles(scene.objects[0].world_vertices()[t].astype(np.float32), scene.objects[0].faces.astype(np.uint32))
    for c in range(rig.num_cameras):
        v, u = np.nonzero(scene.depth[t, c] > 0)
        z = scene.depth[t, c, v, u]
        cam = np.stack([(u + 0.5 - rig.K[c, 0, 2]) / rig.K[c, 0, 0] * z,
                        (v + 0.5 - rig.K[c, 1, 2]) / rig.K[c, 1, 1] * z, z], 1)
        world = (cam - rig.t[c]) @ rig.R[c]  # R^T (x - t)
        dist = rc.compute_distance(o3d.core.Tensor(world.astype(np.float32))).numpy()
        assert len(z) > 50 and np.percentile(dist, 99) < 2e-4


def test_segmentation_instances(scene):
    seen = np.unique(scene.segmentation)
    assert set(seen) == {0, 1, 2, 3}
    assert scene.instance_names() == ["background", "right", "left", "box0"]
    assert ((scene.depth > 0) == (scene.segmentation > 0)).all()


def test_cameras_are_calibrated(scene):
    rig = scene.cameras
    for c in range(rig.num_cameras):
        np.testing.assert_allclose(rig.R[c] @ rig.R[c].T, np.eye(3), atol=1e-12)
        assert np.isclose(np.linalg.det(rig.R[c]), 1.0)
    cam = rig.world_to_camera(rig.centres)
    np.testing.assert_allclose(cam[np.arange(rig.num_cameras), np.arange(rig.num_cameras)], 0, atol=1e-12)
    single = look_at_rig(np.array([[0.0, -1.0, 0.0]]), np.zeros(3), np.array([0.0, 0.0, 1.0]), 100.0, 64, 48)
    np.testing.assert_allclose(single.project(np.zeros((1, 3)))[0, 0], [32.0, 24.0])
    # World up (+z) is image up (smaller v): OpenCV's y points down.
    assert single.project(np.array([[0.0, 0.0, 0.1]]))[0, 0, 1] < 24.0


def test_save_load_round_trip(scene, tmp_path):
    paths = scene.save(tmp_path / "s")
    back = SyntheticScene.load(tmp_path / "s")
    for key in ("hand_pose", "vertices", "joints", "segmentation", "depth", "rgb", "episode"):
        np.testing.assert_array_equal(getattr(back, key), getattr(scene, key))
    np.testing.assert_array_equal(back.cameras.K, scene.cameras.K)
    assert back.objects[0].name == "box0" and back.convention == scene.convention
    import json
    meta = json.loads(paths["meta"].read_text())
    assert meta["synthetic"] and meta["synthetic_mano"] and meta["units"] == "metres"


def test_two_objects_one_per_hand(standin_dir):
    s = make_scene(seed=2, num_frames=6, num_cameras=1, image_size=(48, 36), objects=("sphere", "cylinder"), rgb=False)
    assert [o.held_by for o in s.objects] == ["right", "left"] and s.rgb is None
    with pytest.raises(ValueError, match="at most 2"):
        make_scene(num_frames=3, objects=("box", "box", "box"), render=False)
