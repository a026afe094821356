"""Geometry on closed meshes: inside tests, penetration depth, contact, intersection volume, visibility.

See ``data_specs/geometry.md`` §3 and §4 for the definitions and the choice of methods.
"""

from handeval.geometry.inside import inside_parity, inside_winding, winding_numbers
from handeval.geometry.penetration import Penetration, intersection_volume, mutual_penetration, penetration
from handeval.geometry.scene import import_open3d, lazy_scene, raycasting_scene, signed_distance

__all__ = ["Penetration", "import_open3d", "inside_parity", "inside_winding", "intersection_volume",
           "lazy_scene", "mutual_penetration", "penetration", "raycasting_scene", "signed_distance", "winding_numbers"]
