"""Geometry core against closed-form answers and against each other."""

import numpy as np
import pytest
import torch
import trimesh

from handeval.geometry import inside_parity, inside_winding, intersection_volume, penetration, winding_numbers


def sphere(r=0.05, centre=(0, 0, 0), sub=5):
    m = trimesh.creation.icosphere(sub, radius=r)
    m.apply_translation(centre)
    return np.asarray(m.vertices), np.asarray(m.faces)


def test_sphere_lens_volume_converges_to_closed_form():
    r, d = 0.05, 0.06
    exact = np.pi * (4 * r + d) * (2 * r - d) ** 2 / 12  # lens of two equal spheres
    a, b = sphere(r), sphere(r, (d, 0, 0))
    errors = [abs(intersection_volume(a, b, pitch) - exact) / exact for pitch in (0.005, 0.002, 0.001)]
    assert errors[-1] < 0.01 and errors[0] < 0.05
    assert intersection_volume(a, sphere(r, (0.2, 0, 0)), 0.005) == 0.0


def test_box_overlap_volume_is_exact_on_aligned_grid():
    a = trimesh.creation.box(extents=(0.04, 0.04, 0.04))
    b = trimesh.creation.box(extents=(0.04, 0.04, 0.04))
    b.apply_translation([0.03, 0.01, 0.0])  # overlap 0.01 x 0.03 x 0.04 m
    v = intersection_volume((a.vertices, a.faces), (b.vertices, b.faces), pitch=0.001)
    assert v == pytest.approx(0.01 * 0.03 * 0.04, rel=1e-9)


def test_grid_origin_is_fixed_in_world_coordinates():
    """Translating both meshes by whole cells leaves the volume unchanged."""
    a, b = sphere(0.05), sphere(0.05, (0.06, 0, 0))
    shift = np.array([0.005 * 7, -0.005 * 3, 0.005 * 11])
    v0 = intersection_volume(a, b, 0.005)
    v1 = intersection_volume((a[0] + shift, a[1]), (b[0] + shift, b[1]), 0.005)
    assert v0 == v1


def test_depth_of_sphere_penetration():
    r, d = 0.05, 0.06
    a, b = sphere(r), sphere(r, (d, 0, 0))
    p = penetration(b[0], *a)
    assert p.max_depth == pytest.approx(2 * r - d, abs=2e-4)  # the deepest vertex of b is 4 cm inside a
    deep = p.inside
    radial = r - np.linalg.norm(b[0][deep], axis=1)
    np.testing.assert_allclose(p.depth[deep], radial, atol=2e-4)  # depth = distance to a's surface
    assert (p.depth[~deep] == 0).all() and p.contact[deep].all()


def test_points_on_the_surface_are_not_inside():
    v, f = sphere(0.05, sub=3)
    assert not inside_parity(v, v, f).any()
    assert not inside_winding(v, v, f).any()
    p = penetration(v, v, f, tau=1e-3)
    assert p.max_depth == 0 and p.contact.all()


def test_self_overlapping_mesh_winding_vs_parity():
    """Two overlapping spheres stored as one mesh: inside both, parity says outside."""
    a, b = sphere(0.05), sphere(0.05, (0.03, 0, 0))
    v = np.concatenate([a[0], b[0]])
    f = np.concatenate([a[1], b[1] + len(a[0])])
    q = np.array([[0.015, 0.0, 0.0], [0.015, 0.01, 0.0]])
    np.testing.assert_allclose(winding_numbers(q, v, f), 2.0, atol=1e-9)
    assert inside_winding(q, v, f).all()
    assert not inside_parity(q, v, f).any()


def test_open_wrist_region_needs_the_seal(flat_layers):
    """Points just inside the wrist are inside the sealed hand by both tests."""
    layer = flat_layers["right"]
    v = layer.smplx.v_template.double().numpy()
    ring = v[layer.seal.ring]
    centre = ring.mean(axis=0)
    inward = np.cross(ring[1] - ring[0], ring[2] - ring[0])
    inward /= np.linalg.norm(inward)
    hand_centre = v.mean(axis=0)
    if inward @ (hand_centre - centre) < 0:
        inward = -inward
    q = centre + np.outer([0.001, 0.002, 0.004], inward) + 0.3 * (ring[:3] - centre)
    closed = layer.seal.close(v)
    assert inside_parity(q, closed, layer.seal.faces, tol=1e-5).all()
    assert inside_winding(q, closed, layer.seal.faces, tol=1e-5).all()


def test_two_inside_tests_agree_on_synthetic_hands(flat_layers, rng):
    """Random poses of two overlapping hands: parity and winding give the same flags."""
    right, left = flat_layers["right"], flat_layers["left"]
    disagreements = 0
    for _ in range(4):
        with torch.no_grad():
            vr = right(rng.normal(0, .3, (1, 3)), rng.normal(0, .2, (1, 45))).vertices[0].double().numpy()
            vl = left(rng.normal(0, .3, (1, 3)), rng.normal(0, .2, (1, 45))).vertices[0].double().numpy()
        vl = vl - vl.mean(0) + vr.mean(0) + rng.normal(0, 0.01, 3)  # overlap the hands
        closed = right.seal.close(vr)
        a = inside_parity(vl, closed, right.seal.faces)
        b = inside_winding(vl, closed, right.seal.faces)
        assert a.sum() > 20
        disagreements += int((a != b).sum())
    assert disagreements <= 2  # at most grazing points where the two round differently
