"""MANO's linear blend skinning (smplx ``lbs``) with the skinning batched as GEMMs over the frames.

The formula and its order of operations are smplx's (``data_specs/mano.md``, "Forward"): the blend
shapes, the joints, the rotations and the kinematic chain are smplx's own functions on smplx's own
buffers. What differs is the skinning, where smplx expands the weights over the batch for ``W @ A``
and then takes one 4×4 matrix-vector product per vertex (778 per frame): here the transforms of a
chunk of frames are one GEMM over the 16 joints, laid out coordinate-major so that applying them is
elementwise over the vertices, term by term in the order smplx's product sums them. Chunks keep every
intermediate in cache instead of one fresh 9.5 MB array per step at 1024 frames.
"""

from __future__ import annotations

import smplx
import torch
from smplx.lbs import batch_rigid_transform, batch_rodrigues, blend_shapes, vertices2joints

#: Frames per chunk: a chunk's 12 transform entries per vertex (32 × 778 × 12 float32, 1.2 MB) stay in
#: cache while they are applied.
CHUNK = 32


def pose_mano(model: smplx.MANO, full_pose: torch.Tensor, betas: torch.Tensor, transl: torch.Tensor):
    """``smplx.MANO.forward``'s vertices (B, V, 3) and 16 joints (B, 16, 3) from ``model``'s arrays:
    ``full_pose`` (B, 48) is axis-angle with the mean pose added, ``betas`` (B, 10), ``transl`` (B, 3)."""
    batch, n_joints = full_pose.shape[0], model.parents.shape[0]
    # Near-equal chunks, so that none is a handful of frames, for which BLAS may take another code path.
    # The chunks are for a CPU's cache: a GPU takes the batch at once rather than launch kernels per chunk.
    n_chunks = max(1, -(-batch // CHUNK)) if full_pose.device.type == "cpu" else 1
    parts = [slice(batch * i // n_chunks, batch * (i + 1) // n_chunks) for i in range(n_chunks)]
    v_shaped = [model.v_template + blend_shapes(betas[p], model.shapedirs) for p in parts]
    rest_joints = torch.cat([vertices2joints(model.J_regressor, v) for v in v_shaped])
    rot_mats = batch_rodrigues(full_pose.reshape(-1, 3)).view(batch, n_joints, 3, 3)
    eye = torch.eye(3, dtype=rot_mats.dtype, device=rot_mats.device)
    pose_feature = (rot_mats[:, 1:] - eye).reshape(batch, -1)
    joints, rel_transforms = batch_rigid_transform(rot_mats, rest_joints, model.parents)
    # (B, 3, 4, J): the affine rows of each joint's transform (the last row is 0 0 0 1), joints last.
    affine = rel_transforms[:, :, :3, :].permute(0, 2, 3, 1)
    vertices = []
    for p, shaped in zip(parts, v_shaped):
        frames = shaped.shape[0]
        v_posed = torch.matmul(pose_feature[p], model.posedirs).view(frames, -1, 3) + shaped
        posed = v_posed.transpose(1, 2).contiguous()  # (frames, 3, V)
        skin = (affine[p].reshape(frames * 12, n_joints) @ model.lbs_weights.T).view(frames, 3, 4, -1)
        # smplx's 4×4 product, ((T0 x + T1 y) + T2 z) + T3, each product rounded on its own: addcmul's
        # CPU kernel fuses the multiply-add, which rounds once and so differs in the last bit.
        v = skin[:, :, 0] * posed[:, None, 0]
        v = v.add_(skin[:, :, 1] * posed[:, None, 1]).add_(skin[:, :, 2] * posed[:, None, 2]).add_(skin[:, :, 3])
        vertices.append(v.add_(transl[p, :, None]).transpose(1, 2))
    # One cat, not writes into slices of one array: under autograd each slice write would copy the whole
    # gradient on the way back.
    return torch.cat(vertices), joints + transl[:, None]
