"""What a zoo entry declares: its inputs, its outputs, its weights and its flags, as frozen data
that imports neither torch nor the entry's code (``handeval zoo list`` reads only this).

A network entry's ``build`` gives a :class:`~handeval.zoo.model.ZooModel`; the runner
(``handeval.zoo.run``) crops each view by the entry's :class:`Inputs` rule and writes what the
model decodes as a canonical submission, with the placement rule recorded (``data_specs/zoo.md``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from handeval.mano.convention import ManoConvention

#: Where a crop's box comes from, before the entry's rule grows it: the ground truth's 2D joints, the
#: annotation's box around the hands (InterHand2.6M's ``bbox``; elsewhere the per-hand boxes' union),
#: the whole image, or a detector's boxes read from a file (``--boxes``).
BOX_SOURCES = ("gt", "annotation", "image", "detector")
#: What produced an entry's predictions.
KINDS = ("network", "baseline", "filter", "optimizer")
#: The MANO parameterisation of the zoo's submissions (``mano_pose``/``mano_shape``/``mano_trans``):
#: 45 axis-angle values relative to the mean hand, the left hand's shapedirs fixed.
ZOO_MANO = ManoConvention(pose_space="axis_angle", flat_hand_mean=False, fix_left_shapedirs=True, tips="manopth")
#: What an entry's weights are: none needed, a user's checkpoint file, or random weights (cost only).
WEIGHT_KINDS = ("none", "checkpoint", "random")


@dataclass(frozen=True)
class BoxRule:
    """A crop box from 2D joints: the tight box of ``hands`` ("both" or "each"), grown by ``expand``
    about its centre, made ``aspect`` (width / height) by growing the short side."""

    hands: str = "both"
    expand: float = 1.25
    aspect: float = 1.0


@dataclass(frozen=True)
class Inputs:
    """What the network reads. ``crop``: (height, width) in pixels, None for entries that read no image.
    ``mean``/``std``: per RGB channel, applied to pixels scaled to [0, 1]. ``window``/``gap``: a video
    model reads ``window`` frames taken every ``gap`` rows of a sequence (1, 1 for single frames)."""

    crop: tuple[int, int] | None = (256, 256)
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    box: str = "gt"
    box_rule: BoxRule = field(default_factory=BoxRule)
    window: int = 1
    gap: int = 1


@dataclass(frozen=True)
class Outputs:
    """What the model predicts. ``frame``: "root-relative" (placed by the runner, see ``placement``)
    or "camera"; ``units``: of the network's raw output ("m" or "mm"); ``root``: the canonical joint
    a root-relative output is relative to."""

    joints: bool = True
    vertices: bool = False
    mano: bool = False
    frame: str = "root-relative"
    units: str = "m"
    root: int = 0
    mano_convention: ManoConvention = ZOO_MANO


@dataclass(frozen=True)
class Weights:
    """``kind``: see :data:`WEIGHT_KINDS`. ``file``: the official file's name, ``key``: where its
    state_dict sits inside it (e.g. "network"), ``origin``: where users get it (never fetched),
    ``sha256``: the official file's, when known. ``renames``: (regex, replacement) pairs applied in
    order to the file's keys before the strict load (e.g. ``(r"^module\\.", "")`` for a checkpoint
    saved from ``DataParallel``). ``parity``: how the adapter was checked."""

    kind: str = "none"
    file: str | None = None
    key: str | None = None
    renames: tuple[tuple[str, str], ...] = ()
    origin: str | None = None
    sha256: str | None = None
    licence: str | None = None
    parity: str | None = None


@dataclass(frozen=True)
class ModelEntry:
    """One zoo entry. ``build``: "module:function" giving the :class:`ZooModel` (networks) or the
    callable (baselines, filters, optimizers). ``oracle``: ground truth enters the prediction;
    ``causal``: a temporal method that reads no future frame (None: not temporal)."""

    name: str
    kind: str
    build: str
    summary: str
    paper: str | None = None
    code_licence: str | None = None
    datasets: tuple[str, ...] = ()
    inputs: Inputs = field(default_factory=Inputs)
    outputs: Outputs = field(default_factory=Outputs)
    weights: Weights = field(default_factory=Weights)
    oracle: bool = False
    causal: bool | None = None
    reported: dict = field(default_factory=dict)   # the paper's speed/cost claims with their hardware
    notes: str = ""

    def flags(self) -> list[str]:
        """The markers a leaderboard row carries."""
        out = ["oracle"] if self.oracle else []
        if self.causal is not None:
            out.append("causal" if self.causal else "non-causal")
        if self.weights.kind == "random":
            out.append("random weights")
        if self.weights.parity:
            out.append(self.weights.parity)
        return out

    def to_dict(self) -> dict:
        return asdict(self)
