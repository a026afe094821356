"""Metric reductions: from per-view values to one number, split as torchmetrics splits a metric.

``update`` turns a batch of per-view values into sufficient statistics: per *slot* (a value's
position within a view, flattened: 42 for two hands' joints, 2 for per-hand values, 1 for a
per-view value) and optionally per group of views, the sum and the count of the values that
count (NaN does not), and for AUC how many are at or under each threshold. Statistics of two
batches add (``+``); ``compute`` turns statistics into the value, vectorised over leading
axes, so every group of a regrouping, or every bootstrap replicate (``Statistics.resampled``),
is computed at once, never by a pass over the values. Definitions and sources:
``data_specs/metrics.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from handeval.metrics.errors import nanmean


def slot_hands(shape: tuple[int, ...]) -> np.ndarray:
    """Each slot's hand (0 right, 1 left) for per-view values of ``shape``; -1 without a hand axis."""
    size = int(np.prod(shape))
    if len(shape) and shape[0] == 2:
        return np.repeat([0, 1], size // 2)
    return np.full(size, -1)


def slots(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R, *shape) per-view values -> (R, S) float64 and each slot's hand."""
    return values.reshape(len(values), -1).astype(np.float64), slot_hands(values.shape[1:])


@dataclass(frozen=True, eq=False)
class Statistics:
    """Sufficient statistics of values per slot, (..., S): one group, groups (G, S) or replicates (B, S)."""

    sums: np.ndarray
    counts: np.ndarray
    hand: np.ndarray                 # (S,): the slots' layout, which statistics share rather than add
    hits: np.ndarray | None = None   # (..., S, K): values <= each threshold (AUC)

    def __add__(self, other: "Statistics") -> "Statistics":
        if not np.array_equal(self.hand, other.hand) or (self.hits is None) != (other.hits is None):
            raise ValueError("statistics of different slots or reductions do not add")
        return Statistics(self.sums + other.sums, self.counts + other.counts, self.hand,
                          None if self.hits is None else self.hits + other.hits)

    def __getitem__(self, group) -> "Statistics":
        return Statistics(self.sums[group], self.counts[group], self.hand,
                          None if self.hits is None else self.hits[group])

    @property
    def n(self) -> int:
        """How many values were counted."""
        return int(self.counts.sum())

    def resampled(self, weights: np.ndarray) -> "Statistics":
        """Per-group statistics (G, S) weighted by (B, G) resampling counts: (B, S), one per replicate."""
        G = len(self.sums)
        hits = None if self.hits is None else \
            (weights @ self.hits.reshape(G, -1)).reshape((len(weights),) + self.hits.shape[1:])
        return Statistics(weights @ self.sums, weights @ self.counts, self.hand, hits)


class Reduction:
    """One rule from per-view values to a number (``REDUCTIONS``); see the module docstring."""

    name: ClassVar[str]
    #: True where a larger value is better whatever the values are (a share of hits); None where
    #: the value is a mean of the values, as good as they are (an error's mean is an error).
    higher_is_better: ClassVar[bool | None] = None
    #: The value is in the values' unit, so a protocol's ``scale`` applies; a share is unitless.
    in_units: ClassVar[bool] = True
    #: The values are compared with thresholds instead of averaged (AUC, PCK).
    thresholded: ClassVar[bool] = False

    @classmethod
    def of_metric(cls, metric: dict) -> "Reduction":
        """The reduction of a protocol's metric, with the parameters it sets (thresholds in metres)."""
        return cls()

    @property
    def bins(self) -> int:
        """Threshold bins per slot in the statistics (the histogram's size per group and slot)."""
        return 0

    def counted(self, values: np.ndarray) -> np.ndarray:
        """The values the statistics sum (NaN: not counted)."""
        return values

    def update(self, values: np.ndarray, groups: np.ndarray | None = None, n_groups: int = 1,
               hand: np.ndarray | None = None) -> Statistics:
        """Statistics of (R, *shape) per-view values, per group of ``groups`` (R,) in 0..n_groups-1
        ((G, S)) or of them all ((S,)). ``hand``: the slots' hands, when ``values`` are already (R, S)."""
        if hand is None:
            hand = slot_hands(values.shape[1:])
        flat = self.counted(np.asarray(values, dtype=np.float64).reshape(len(values), -1))
        ok = np.isfinite(flat)
        S = flat.shape[1]
        cells = S if groups is None else n_groups * S
        idx = np.broadcast_to(np.arange(S), flat.shape) if groups is None else groups[:, None] * S + np.arange(S)
        idx = idx[ok]
        shape = (S,) if groups is None else (n_groups, S)
        sums = np.bincount(idx, weights=flat[ok], minlength=cells).reshape(shape)
        counts = np.bincount(idx, minlength=cells).reshape(shape).astype(np.float64)
        return Statistics(sums, counts, hand, self.histogram(flat[ok], idx, cells, shape))

    def histogram(self, values: np.ndarray, idx: np.ndarray, cells: int, shape: tuple) -> np.ndarray | None:
        """Threshold hits of the counted ``values`` in their cells ``idx``: (*shape, K), or None."""
        return None

    def compute(self, stats: Statistics) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, values: np.ndarray) -> float:
        """The value of one batch of per-view values: ``compute(update(values))``."""
        return float(self.compute(self.update(values)))


class Pooled(Reduction):
    """The mean of every counted value (mmpose)."""

    name = "pooled"

    def compute(self, stats: Statistics) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return stats.sums.sum(-1) / stats.counts.sum(-1)


class PerPointThenMean(Reduction):
    """The mean per slot, then the mean over the slots with values (InterHand2.6M's ``evaluate``, EvalUtil)."""

    name = "per_point_then_mean"

    def compute(self, stats: Statistics) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            per = np.where(stats.counts > 0, stats.sums / stats.counts, np.nan)
        return nanmean(per, axis=-1)


class HandsPooledThenMean(Reduction):
    """Pooled per hand, then the mean over the hands with values (IntagHand, DIR)."""

    name = "hands_pooled_then_mean"

    def compute(self, stats: Statistics) -> np.ndarray:
        s, c, hand = stats.sums, stats.counts, stats.hand
        with np.errstate(invalid="ignore", divide="ignore"):
            per_hand = np.stack([s[..., hand == h].sum(-1) / c[..., hand == h].sum(-1) for h in (0, 1)], -1)
        return nanmean(per_hand, axis=-1)


@dataclass(frozen=True)
class Pck(PerPointThenMean):
    """Per slot, the share of values at or under ``at``, then the mean over slots."""

    at: float
    name = "pck"
    higher_is_better = True
    in_units = False
    thresholded = True

    @classmethod
    def of_metric(cls, metric: dict) -> "Pck":
        return cls(metric["at"])

    def counted(self, values: np.ndarray) -> np.ndarray:
        return np.where(np.isfinite(values), (values <= self.at).astype(np.float64), np.nan)


class Accuracy(Pooled):
    """The pooled mean of 0/1 values (1: correct)."""

    name = "accuracy"
    higher_is_better = True
    in_units = False


@dataclass(frozen=True, eq=False)
class Auc(Reduction):
    """Per slot, the trapezoid area under the PCK curve over ``thresholds`` divided by their range,
    then the mean over slots (EvalUtil)."""

    thresholds: np.ndarray
    name = "auc"
    higher_is_better = True
    in_units = False
    thresholded = True

    @classmethod
    def of_metric(cls, metric: dict) -> "Auc":
        t = metric["thresholds"]
        return cls(np.linspace(t["start"], t["stop"], t["num"]))

    @property
    def bins(self) -> int:
        return len(self.thresholds)

    def histogram(self, values: np.ndarray, idx: np.ndarray, cells: int, shape: tuple) -> np.ndarray:
        K = len(self.thresholds)
        first = np.searchsorted(self.thresholds, values, side="left")  # counts towards every threshold >= value
        inside = first < K
        cell = idx[inside] * K + first[inside]
        return np.cumsum(np.bincount(cell, minlength=cells * K).reshape(shape + (K,)), axis=-1)

    def pck(self, stats: Statistics) -> np.ndarray:
        """(..., S, K): per slot, the share of its values at or under each threshold."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return stats.hits / stats.counts[..., None]

    def curve(self, stats: Statistics) -> np.ndarray:
        """(K,) the mean over slots with values of their PCK at each threshold (the curve under the AUC)."""
        return nanmean(self.pck(stats)[stats.counts > 0], axis=0)

    def compute(self, stats: Statistics) -> np.ndarray:
        th = self.thresholds
        area = np.trapezoid(self.pck(stats), th, axis=-1) / (th[-1] - th[0])
        return nanmean(np.where(stats.counts > 0, area, np.nan), axis=-1)


#: Every reduction by its protocol name (``reduce`` in data_specs/protocols/README.md).
REDUCTIONS: dict[str, type[Reduction]] = {r.name: r for r in (PerPointThenMean, Pooled, HandsPooledThenMean, Auc,
                                                                   Pck, Accuracy)}
