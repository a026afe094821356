"""CPU rendering of synthetic scenes by ray casting (Open3D RaycastingScene, no OpenGL).

One ray per pixel centre and camera; the first hit gives depth (the ray direction has
camera-frame z = 1, so the hit parameter *is* the depth) and the instance. Ray casting is
exact per pixel, unlike a z-buffer, and needs no display (``data_specs/geometry.md`` §5).
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from handeval.conventions import HAND_SIDES
from handeval.geometry import import_open3d

#: Albedo per instance id (background, right, left, objects...), for the optional RGB.
_ALBEDO = np.array([[30, 30, 36], [232, 170, 120], [120, 170, 232], [110, 200, 120], [200, 200, 90]], dtype=np.float64)


def render_scene(scene, layers, rgb: bool = True, progress: bool = False) -> None:
    """Fill ``scene.segmentation``, ``scene.depth`` and optionally ``scene.rgb`` in place."""
    o3d = import_open3d()
    rig = scene.cameras
    origins, dirs = rig.pixel_rays()
    rays = o3d.core.Tensor(np.concatenate([origins, dirs], axis=-1).astype(np.float32))
    seals = [layers[side].seal for side in HAND_SIDES]
    T, C, H, W = scene.num_frames, rig.num_cameras, rig.height, rig.width
    seg = np.zeros((T, C, H, W), dtype=np.uint8)
    depth = np.zeros((T, C, H, W), dtype=np.float32)
    colour = np.zeros((T, C, H, W, 3), dtype=np.uint8) if rgb else None
    object_verts = [obj.world_vertices() for obj in scene.objects]
    view_dirs = dirs / np.linalg.norm(dirs, axis=-1, keepdims=True)
    # A BVH per frame is inherent to moving meshes; each frame's rays are cast in one call.
    for t in tqdm(range(T), desc="rendering", unit="frame", disable=not progress, leave=False):
        rc = o3d.t.geometry.RaycastingScene()
        for h, seal in enumerate(seals):
            rc.add_triangles(seal.close(scene.vertices[t, h]).astype(np.float32), seal.faces.astype(np.uint32))
        for obj, verts in zip(scene.objects, object_verts):
            rc.add_triangles(verts[t].astype(np.float32), obj.faces.astype(np.uint32))
        hit = rc.cast_rays(rays)
        ids = hit["geometry_ids"].numpy()
        valid = ids != rc.INVALID_ID
        seg[t] = np.where(valid, ids + 1, 0).astype(np.uint8)
        depth[t] = np.where(valid, hit["t_hit"].numpy(), 0.0)
        if rgb:
            normals = hit["primitive_normals"].numpy()
            shade = np.abs(np.einsum("chwi,chwi->chw", normals, view_dirs))
            albedo = _ALBEDO[np.minimum(seg[t], len(_ALBEDO) - 1)]
            lit = albedo * np.where(valid, 0.25 + 0.75 * shade, 1.0)[..., None]
            colour[t] = np.clip(lit, 0, 255).astype(np.uint8)
    scene.segmentation, scene.depth, scene.rgb = seg, depth, colour
