"""From the per-view error table to numbers: a protocol's metrics, breakdowns, bootstrap
confidence intervals and paired comparisons.

The rules themselves are ``handeval.metrics.reductions``: each metric's values (its quantity's
column, less what its ``where`` excludes) go through its reduction's ``update``, per group of
views where a regrouping or a bootstrap needs them, and the value is its ``compute`` of the
statistics. Re-aggregating by sequence, subset or joint, and resampling for the bootstrap,
are thus operations on per-group statistics, never a pass over frames. This module keeps the
bookkeeping: which rows and slots count, the groups and clusters, the replicates, the scale.
Definitions: ``data_specs/metrics.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handeval.conventions import FINGER_JOINTS, FINGERS, JOINT_NAMES
from handeval.labels.subsets import SUBSET_NAMES
from handeval.metrics.reductions import Pooled, Reduction, Statistics, slot_hands, slots
from handeval.scoring.protocols import reduction
from handeval.util.errors import HandevalError

#: Above this many histogram cells a bootstrap of an AUC is skipped (memory), with the reason recorded.
MAX_HISTOGRAM_CELLS = 50_000_000


@dataclass
class ErrorTable:
    """The per-view error table in memory: keys, labels and one array per quantity."""

    sequence: np.ndarray
    frame: np.ndarray
    camera: np.ndarray
    hand_type: np.ndarray
    labels: dict[str, np.ndarray]
    columns: dict[str, np.ndarray | None]

    def __len__(self) -> int:
        return len(self.frame)

    def take(self, rows: np.ndarray) -> "ErrorTable":
        return ErrorTable(self.sequence[rows], self.frame[rows], self.camera[rows], self.hand_type[rows],
                          {k: v[rows] for k, v in self.labels.items()},
                          {k: None if v is None else v[rows] for k, v in self.columns.items()})


def _filtered(table: ErrorTable, metric: dict, values: np.ndarray, hand: np.ndarray) -> np.ndarray:
    """NaN out what the metric's ``where`` excludes."""
    where = metric.get("where", {})
    keep = np.ones(values.shape, dtype=bool)
    if "hand_type" in where:
        keep &= np.isin(table.hand_type, where["hand_type"])[:, None]
    if "subset" in where:
        if where["subset"] not in table.labels:
            raise HandevalError(f"metric {metric['name']!r} needs the subsets labels; run `handeval labels subsets`")
        keep &= table.labels[where["subset"]][:, None]
    if "hand" in where:
        keep &= (hand == ("right", "left").index(where["hand"]))[None, :]
    if "fingers" in where:
        occ = table.labels.get("fingers_occluded")
        if occ is None or values.shape[1] != occ[0].size:
            raise HandevalError(f"metric {metric['name']!r} needs per-joint errors and the occlusion labels; "
                                "run `handeval labels occlusion`")
        occ = occ.reshape(len(occ), -1)
        keep &= occ if where["fingers"] == "occluded" else ~occ
    return np.where(keep, values, np.nan)


def _bootstrappable(table: ErrorTable, metric: dict, rule: Reduction, n_groups: int) -> bool:
    """An AUC bootstrap needs per-group hit counts (groups x slots x thresholds); above
    MAX_HISTOGRAM_CELLS it is skipped before anything that large is allocated."""
    values = table.columns.get(metric["quantity"])
    if values is None or n_groups < 2:
        return False
    slots = values[0].size if values.ndim > 1 else 1
    return rule.bins == 0 or n_groups * slots * rule.bins <= MAX_HISTOGRAM_CELLS


def statistics(table: ErrorTable, metric: dict, rule: Reduction, groups: np.ndarray | None = None, n_groups: int = 1,
               extra: dict | None = None) -> Statistics | None:
    """``rule``'s statistics of the metric's values that its ``where`` (and ``extra``) keep, per group
    (``groups`` (R,) in 0..n_groups-1) or of the whole table; None if the quantity is absent."""
    values = table.columns.get(metric["quantity"])
    if values is None:
        return None
    flat, hand = slots(values)
    flat = _filtered(table, {**metric, "where": {**metric.get("where", {}), **(extra or {})}}, flat, hand)
    return rule.update(flat, groups, n_groups, hand=hand)


def _scale(metric: dict, rule: Reduction) -> float:
    return float(metric.get("scale", 1)) if rule.in_units else 1.0


def metric_value(table: ErrorTable, metric: dict, extra: dict | None = None) -> tuple[float | None, int]:
    """The metric over the whole table (in its unit) and the number of values it averages."""
    rule = reduction(metric)
    st = statistics(table, metric, rule, extra=extra)
    if st is None:
        return None, 0
    v = float(rule.compute(st))
    return (None if not np.isfinite(v) else v * _scale(metric, rule)), st.n


def pck_curve(table: ErrorTable, metric: dict) -> dict | None:
    """Mean over slots of the per-slot PCK at each threshold (the curve under an AUC metric)."""
    rule = reduction(metric)
    st = statistics(table, metric, rule)
    if st is None or st.n == 0:
        return None
    return {"thresholds_mm": (rule.thresholds * 1000).round(6).tolist(), "pck": rule.curve(st).tolist()}


def clusters(table: ErrorTable, unit: str) -> tuple[np.ndarray, int]:
    """Resampling units for the bootstrap: whole sequences, or frames (all views of a frame together)."""
    import pandas as pd

    keys = [table.sequence] if unit == "sequence" else [table.sequence, table.frame]
    codes, uniques = pd.MultiIndex.from_arrays(keys).factorize() if len(keys) > 1 else pd.factorize(keys[0])
    return codes.astype(np.int64), len(uniques)


def bootstrap_weights(n_groups: int, replicates: int, seed: int, chunk: int = 64):
    """Multinomial resampling counts, (chunk, G) at a time, from one seeded generator."""
    rng = np.random.default_rng(seed)
    done = 0
    while done < replicates:
        b = min(chunk, replicates - done)
        yield rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups), size=b).astype(np.float64)
        done += b


def bootstrap_replicates(stats: list[Statistics], metric: dict, rule: Reduction, n_groups: int, replicates: int,
                         seed: int) -> list[np.ndarray]:
    """Replicate values of a metric for each of several tables' per-cluster statistics resampled with
    the same weights (one table: a confidence interval; two row-aligned tables: a paired comparison)."""
    out = [[] for _ in stats]
    for w in bootstrap_weights(n_groups, replicates, seed):
        for i, st in enumerate(stats):
            out[i].append(rule.compute(st.resampled(w)))
    return [np.concatenate(o) * _scale(metric, rule) for o in out]


def confidence_interval(table: ErrorTable, metric: dict, unit: str, replicates: int, seed: int) -> list[float] | None:
    """Percentile bootstrap 95% interval over resampled ``unit`` clusters."""
    groups, G = clusters(table, unit)
    rule = reduction(metric)
    if not _bootstrappable(table, metric, rule, G):
        return None
    reps = bootstrap_replicates([statistics(table, metric, rule, groups, G)], metric, rule, G, replicates, seed)
    r = reps[0][np.isfinite(reps[0])]
    return None if len(r) == 0 else [float(np.percentile(r, 2.5)), float(np.percentile(r, 97.5))]


def by_group(table: ErrorTable, metric: dict, labels: np.ndarray) -> dict[str, float | None]:
    """The metric within each value of ``labels`` (R,): one pass, every group at once."""
    import pandas as pd

    codes, uniques = pd.factorize(labels, sort=True)
    rule = reduction(metric)
    st = statistics(table, metric, rule, codes.astype(np.int64), len(uniques))
    if st is None:
        return {}
    v = rule.compute(st) * _scale(metric, rule)
    return {str(u): (float(x) if np.isfinite(x) else None) for u, x in zip(uniques, v)}


def breakdowns(table: ErrorTable, metric: dict) -> dict:
    """The metric by hand type, hand side, interaction subset, finger occlusion, joint and finger."""
    rule = reduction(metric)
    if rule.thresholded or table.columns.get(metric["quantity"]) is None:
        return {}  # the breakdowns are of means of the values
    out: dict = {"hand_type": by_group(table, metric, table.hand_type)}
    values = table.columns[metric["quantity"]]
    if values.ndim > 1 and values.shape[1] == 2 and "hand" not in metric.get("where", {}):
        # Every per-hand metric by hand side, under the metric's own rule (e.g. the official
        # per-joint mean over one hand's 21 joints).
        out["hand"] = {side: metric_value(table, metric, {"hand": side})[0] for side in ("right", "left")}
    for subset in SUBSET_NAMES:
        if subset in table.labels:
            out.setdefault("subset", {})[subset] = metric_value(table, metric, {"subset": subset})[0]
    if values.ndim == 3 and values.shape[1:] == (2, 21):
        if "fingers_occluded" in table.labels:
            out["fingers"] = {f: metric_value(table, metric, {"fingers": f})[0] for f in ("visible", "occluded")}
        # Per joint and per finger, both hands' values pooled: the joints' statistics, hands added.
        pooled = Pooled()
        st = statistics(table, metric, pooled)
        joints = Statistics(st.sums.reshape(2, 21).sum(0), st.counts.reshape(2, 21).sum(0), slot_hands((21,)))
        scale = _scale(metric, rule)

        def value(slots) -> float | None:
            part = Statistics(joints.sums[slots], joints.counts[slots], joints.hand[slots])
            return float(pooled.compute(part) * scale) if part.n else None

        out["joint"] = {name: value([j]) for j, name in enumerate(JOINT_NAMES)}
        out["finger"] = {finger: value(list(FINGER_JOINTS[finger])) for finger in FINGERS}
    return out


def paired_comparison(a: ErrorTable, b: ErrorTable, metric: dict, unit: str, replicates: int,
                      seed: int) -> dict | None:
    """Paired bootstrap of ``metric(b) - metric(a)`` over the views both tables score.

    Both tables are resampled with the same cluster weights in each replicate, so the
    variation the two methods share cancels. The p-value is two-sided: twice the smaller
    share of replicates on either side of 0 (at most 1).
    """
    import pandas as pd

    ka = pd.DataFrame({"s": a.sequence, "f": a.frame, "c": a.camera, "ra": np.arange(len(a))})
    kb = pd.DataFrame({"s": b.sequence, "f": b.frame, "c": b.camera, "rb": np.arange(len(b))})
    j = ka.merge(kb, on=["s", "f", "c"], how="inner")
    if j.empty:
        return None
    ta, tb = a.take(j["ra"].to_numpy()), b.take(j["rb"].to_numpy())
    va, vb = metric_value(ta, metric)[0], metric_value(tb, metric)[0]
    if va is None or vb is None:
        return None
    groups, G = clusters(ta, unit)
    out = {"a": va, "b": vb, "difference": vb - va, "views": len(j), "clusters": G, "ci95": None, "p_value": None}
    rule = reduction(metric)
    if _bootstrappable(ta, metric, rule, G):
        reps = bootstrap_replicates([statistics(t, metric, rule, groups, G) for t in (ta, tb)], metric, rule, G,
                                    replicates, seed)
        d = reps[1] - reps[0]
        d = d[np.isfinite(d)]
        if len(d):
            out["ci95"] = [float(np.percentile(d, 2.5)), float(np.percentile(d, 97.5))]
            out["p_value"] = float(min(1.0, 2 * min((d <= 0).mean(), (d >= 0).mean())))
    return out
