"""handeval's GEMM-batched skinning (handeval.mano.lbs) against smplx.MANO's own forward: both hands,
random poses, shapes and translations, batch sizes on both sides of a chunk boundary, values and
gradients. Tolerances are float32 (float64) round-off, not bits: which bits BLAS returns is the
machine's."""

import pytest
import torch

from handeval.mano import ManoConvention, load_mano
from handeval.mano.lbs import CHUNK

CONVENTIONS = {"relative": dict(flat_hand_mean=False, fix_left_shapedirs=True),
               "flat": dict(flat_hand_mean=True, fix_left_shapedirs=False)}


def _params(rng, batch, dtype):
    return [torch.as_tensor(rng.normal(0, s, (batch, n)), dtype=dtype)
            for s, n in ((0.6, 3), (0.4, 45), (1.5, 10), (0.4, 3))]


def _smplx(layer, orient, pose, betas, transl):
    """smplx.MANO's forward, with the layer's fingertips and joint order put on its 16 joints."""
    out = layer.smplx(global_orient=orient, hand_pose=pose, betas=betas, transl=transl)
    tips = out.vertices.index_select(1, layer.tip_vertices)
    return out.vertices, torch.cat([out.joints, tips], dim=1).index_select(1, layer.canonical_index)


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("convention", sorted(CONVENTIONS))
@pytest.mark.parametrize("dtype, atol", [(torch.float32, 1e-6), (torch.float64, 1e-14)])
def test_forward_matches_smplx(side, convention, dtype, atol, standin_dir, rng):
    layer = load_mano(side, ManoConvention(**CONVENTIONS[convention]), dtype=dtype)
    for batch in (1, 3, CHUNK, CHUNK + 1, 3 * CHUNK + 5):
        params = _params(rng, batch, dtype)
        with torch.no_grad():
            ours = layer(*params)
            vertices, joints = _smplx(layer, *params)
        assert ours.vertices.is_contiguous()
        torch.testing.assert_close(ours.vertices, vertices, rtol=0, atol=atol)
        torch.testing.assert_close(ours.joints, joints, rtol=0, atol=atol)


@pytest.mark.parametrize("side", ["right", "left"])
def test_gradients_match_smplx(side, standin_dir, rng):
    """What the zoo's refinement and fitting backpropagate: every parameter's gradient of a loss on
    vertices and joints."""
    layer = load_mano(side, ManoConvention(**CONVENTIONS["relative"]))
    params = _params(rng, CHUNK + 3, torch.float32)
    w_v = torch.as_tensor(rng.normal(size=(CHUNK + 3, 778, 3)), dtype=torch.float32)
    w_j = torch.as_tensor(rng.normal(size=(CHUNK + 3, 21, 3)), dtype=torch.float32)
    grads = []
    for forward in (lambda *p: (lambda o: (o.vertices, o.joints))(layer(*p)), lambda *p: _smplx(layer, *p)):
        leaves = [p.clone().requires_grad_() for p in params]
        vertices, joints = forward(*leaves)
        ((vertices * w_v).sum() + (joints * w_j).sum()).backward()
        grads.append([p.grad for p in leaves])
    for ours, theirs in zip(*grads):
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-4 * float(theirs.abs().max()))
