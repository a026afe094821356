"""How a source parameterises MANO (:class:`ManoConvention`), apart from the layer that applies it.

Readers record a convention in every manifest and labels and scoring read it back, so it is plain
data that imports neither torch nor smplx; :mod:`handeval.mano.layer` builds the model from it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from handeval.util.errors import HandevalError

#: Fingertip vertex ids (thumb, index, middle, ring, pinky) used by each source.
TIP_PRESETS: dict[str, dict[str, tuple[int, ...]]] = {
    "manopth": {"right": (745, 317, 444, 556, 673), "left": (745, 317, 445, 556, 673)},
    "interhand": {"right": (745, 317, 445, 556, 673), "left": (745, 317, 445, 556, 673)},
    "intaghand": {"right": (745, 317, 444, 556, 673), "left": (745, 317, 444, 556, 673)},
    "smplx": {"right": (744, 320, 443, 554, 671), "left": (744, 320, 443, 554, 671)},
    "ho3d": {"right": (744, 333, 444, 555, 672), "left": (744, 333, 444, 555, 672)},
}
POSE_SPACES = ("axis_angle", "pca")


@dataclass(frozen=True)
class ManoConvention:
    """How a source parameterises MANO; stored with every set of MANO parameters."""

    pose_space: str = "axis_angle"          # "axis_angle" (45 values) or "pca" (num_pca_comps)
    num_pca_comps: int = 45
    flat_hand_mean: bool = False            # False: hand_pose is relative to hands_mean
    fix_left_shapedirs: bool | None = None  # must be decided for left hands
    tips: str = "manopth"                   # a TIP_PRESETS key

    def __post_init__(self):
        if self.pose_space not in POSE_SPACES:
            raise HandevalError(f"pose_space {self.pose_space!r} is not one of {POSE_SPACES}")
        if not 1 <= self.num_pca_comps <= 45:
            raise HandevalError(f"num_pca_comps must be 1..45, got {self.num_pca_comps}")
        if self.tips not in TIP_PRESETS:
            raise HandevalError(f"unknown fingertip preset {self.tips!r}; choose one of {sorted(TIP_PRESETS)}")

    @property
    def hand_pose_dim(self) -> int:
        return self.num_pca_comps if self.pose_space == "pca" else 45

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ManoConvention":
        return cls(**data)
