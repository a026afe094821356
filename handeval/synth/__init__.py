"""Synthetic ground truth: seeded two-hand scenes, camera rigs, CPU rendering, pictures, native layouts."""

from handeval.util.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "SceneObject": "scene", "SyntheticScene": "scene", "make_scene": "scene",
    "CameraRig": "cameras", "look_at_rig": "cameras", "ring_rig": "cameras",
    "render_scene": "render", "scene_picture": "picture", "write_image": "images", "write_native": "native",
})
