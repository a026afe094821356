import numpy as np
import pytest
import torch
import trimesh

from handeval.mano import PARTS, seal_wrist
from handeval.mano.standin import OFFICIAL_WRIST_RING
from handeval.mano.watertight import boundary_loop, signed_volume


@pytest.mark.parametrize("side", ["right", "left"])
def test_sealed_hand_is_closed_and_outward(flat_layers, side, rng):
    layer = flat_layers[side]
    poses = np.concatenate([np.zeros((1, 45)), rng.normal(0, 0.3, (3, 45))])
    with torch.no_grad():
        verts = layer(rng.normal(0, 1, (4, 3)), poses).vertices.double().numpy()
    assert layer.seal.faces.shape == (1554, 3) and layer.seal.num_vertices == 779
    assert layer.seal.flipped == (side == "left")  # the mirrored left model's faces point inward
    for v in verts:
        mesh = trimesh.Trimesh(layer.seal.close(v), layer.seal.faces, process=False)
        assert mesh.is_watertight and mesh.is_winding_consistent and mesh.euler_number == 2
        assert mesh.volume > 1e-4 and mesh.is_volume
        # Outward: every face normal points away from a point just inside it.
        assert signed_volume(mesh.vertices, mesh.faces) > 0


def test_seal_ring_and_torch_close(flat_layers):
    layer = flat_layers["right"]
    assert set(layer.seal.ring.tolist()) == set(OFFICIAL_WRIST_RING)
    v = torch.rand(2, 778, 3, dtype=torch.float64)
    closed = layer.seal.close(v)
    np.testing.assert_allclose(closed[:, 778].numpy(), v[:, layer.seal.ring].mean(1).numpy())
    np.testing.assert_allclose(layer.seal.close(v.numpy()), closed.numpy())


def test_seal_on_a_cube_with_a_hole():
    cube = trimesh.creation.box()
    side = cube.face_normals[:, 0] > 0.5
    open_faces = cube.faces[~side]  # drop the two triangles of the +x side: a 4-edge hole
    seal = seal_wrist(open_faces, cube.vertices)
    assert len(boundary_loop(open_faces)) == 4
    closed = trimesh.Trimesh(seal.close(cube.vertices), seal.faces, process=False)
    assert closed.is_watertight and closed.volume == pytest.approx(1.0)
    inward = seal_wrist(open_faces[:, ::-1], cube.vertices)
    assert inward.flipped and trimesh.Trimesh(inward.close(cube.vertices), inward.faces).volume == pytest.approx(1.0)


def test_part_map_from_weights(flat_layers):
    layer = flat_layers["right"]
    parts = layer.parts
    assert parts.shape == (778,) and set(np.unique(parts)) == set(range(len(PARTS)))
    v = layer.smplx.v_template.numpy()
    with torch.no_grad():
        joints = layer(np.zeros((1, 3)), np.zeros((1, 45))).joints[0].numpy()
    # Each finger's vertices lie nearest that finger's chain (independent of the weights).
    from handeval.conventions import FINGER_JOINTS
    for k, finger in enumerate(PARTS[1:], start=1):
        chain = joints[list(FINGER_JOINTS[finger])]
        own = np.linalg.norm(v[parts == k][:, None] - chain[None], axis=2).min(1)
        assert np.median(own) < 0.015, finger  # within a digit's radius of its own bones
