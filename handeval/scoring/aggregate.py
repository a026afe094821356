"""From the per-view error table to numbers: a protocol's aggregation rules, breakdowns,
bootstrap confidence intervals and paired comparisons.

Every rule is computed from per-group sufficient statistics of the table's *slots* (a
quantity's values per view, flattened: 42 for two hands' joints, 2 for per-hand values,
1 for a per-view value): sums and counts, and for AUC the number of values at or under
each threshold. A metric is a function of the totals, so re-aggregating by sequence,
subset or joint, and resampling for the bootstrap, are matrix products over groups, never
a pass over frames. Definitions: ``data_specs/metrics.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handeval.conventions import FINGER_JOINTS, FINGERS, JOINT_NAMES
from handeval.metrics.errors import nanmean
from handeval.scoring.protocols import Protocol
from handeval.util.errors import HandevalError

MEAN_RULES = ("pooled", "per_point_then_mean", "hands_pooled_then_mean", "accuracy")
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


def _slots(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R, *shape) -> (R, S) float64 and each slot's hand (-1 when the quantity has no hand axis)."""
    R = len(values)
    flat = values.reshape(R, -1).astype(np.float64)
    per_hand = flat.shape[1] // 2
    hand = np.repeat([0, 1], per_hand) if values.ndim > 1 and values.shape[1] == 2 else np.full(flat.shape[1], -1)
    return flat, hand


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


@dataclass
class Stats:
    """Per-group sums, counts and (for AUC) threshold hits of a metric's slots."""

    sums: np.ndarray            # (G, S)
    counts: np.ndarray          # (G, S)
    hits: np.ndarray | None     # (G, S, K)
    hand: np.ndarray            # (S,)


def _thresholds(protocol: Protocol, metric: dict) -> np.ndarray | None:
    """The threshold grid an AUC metric needs its hit counts on (None for the other rules)."""
    return protocol.thresholds(metric) if metric["reduce"] == "auc" else None


def _bootstrappable(table: ErrorTable, metric: dict, n_groups: int, thresholds: np.ndarray | None) -> bool:
    """An AUC bootstrap needs per-group hit counts (groups x slots x thresholds); above
    MAX_HISTOGRAM_CELLS it is skipped before anything that large is allocated."""
    values = table.columns.get(metric["quantity"])
    if values is None or n_groups < 2:
        return False
    slots = values[0].size if values.ndim > 1 else 1
    return thresholds is None or n_groups * slots * len(thresholds) <= MAX_HISTOGRAM_CELLS


def group_stats(table: ErrorTable, metric: dict, groups: np.ndarray, n_groups: int,
                thresholds: np.ndarray | None = None, extra: dict | None = None) -> Stats | None:
    """Statistics of ``metric`` per group (``groups`` (R,) in 0..n_groups-1); None if the quantity is absent."""
    values = table.columns.get(metric["quantity"])
    if values is None:
        return None
    flat, hand = _slots(values)
    flat = _filtered(table, {**metric, "where": {**metric.get("where", {}), **(extra or {})}}, flat, hand)
    if metric["reduce"] == "pck":
        flat = np.where(np.isfinite(flat), (flat <= metric["at"]).astype(np.float64), np.nan)
    ok = np.isfinite(flat)
    S = flat.shape[1]
    idx = (groups[:, None] * S + np.arange(S)[None, :])[ok]
    sums = np.bincount(idx, weights=flat[ok], minlength=n_groups * S).reshape(n_groups, S)
    counts = np.bincount(idx, minlength=n_groups * S).reshape(n_groups, S).astype(np.float64)
    hits = None
    if metric["reduce"] == "auc":
        K = len(thresholds)
        first = np.searchsorted(thresholds, flat[ok], side="left")  # counts towards every threshold >= value
        inside = first < K
        cell = idx[inside] * K + first[inside]
        hits = np.cumsum(np.bincount(cell, minlength=n_groups * S * K).reshape(n_groups, S, K), axis=-1)
    return Stats(sums, counts, hits, hand)


def value_from_totals(reduce: str, sums: np.ndarray, counts: np.ndarray, hand: np.ndarray,
                      hits: np.ndarray | None = None, thresholds: np.ndarray | None = None) -> np.ndarray:
    """A metric from totals (..., S), vectorised over leading axes (groups, bootstrap replicates)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if reduce in ("pooled", "accuracy"):
            return sums.sum(-1) / counts.sum(-1)
        if reduce in ("per_point_then_mean", "pck"):
            per = np.where(counts > 0, sums / counts, np.nan)
            return nanmean(per, axis=-1)
        if reduce == "hands_pooled_then_mean":
            per_hand = np.stack([sums[..., hand == h].sum(-1) / counts[..., hand == h].sum(-1) for h in (0, 1)], -1)
            return nanmean(per_hand, axis=-1)
        if reduce == "auc":
            pck = hits / counts[..., None]
            area = np.trapezoid(pck, thresholds, axis=-1) / (thresholds[-1] - thresholds[0])
            return nanmean(np.where(counts > 0, area, np.nan), axis=-1)
    raise HandevalError(f"unknown reduction {reduce!r}")


def metric_value(table: ErrorTable, protocol: Protocol, metric: dict,
                 extra: dict | None = None) -> tuple[float | None, int]:
    """The metric over the whole table (in its unit) and the number of values it averages."""
    th = _thresholds(protocol, metric)
    st = group_stats(table, metric, np.zeros(len(table), dtype=np.int64), 1, th, extra)
    if st is None:
        return None, 0
    v = float(value_from_totals(metric["reduce"], st.sums[0], st.counts[0], st.hand,
                                None if st.hits is None else st.hits[0], th))
    return (None if not np.isfinite(v) else v * _scale(metric)), int(st.counts.sum())


def _scale(metric: dict) -> float:
    return 1.0 if metric["reduce"] in ("auc", "pck", "accuracy") else float(metric.get("scale", 1))


def pck_curve(table: ErrorTable, protocol: Protocol, metric: dict) -> dict | None:
    """Mean over slots of the per-slot PCK at each threshold (the curve under an AUC metric)."""
    th = protocol.thresholds(metric)
    st = group_stats(table, metric, np.zeros(len(table), dtype=np.int64), 1, th)
    if st is None or st.counts.sum() == 0:
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        pck = st.hits[0] / st.counts[0][:, None]
    return {"thresholds_mm": (th * 1000).round(6).tolist(), "pck": nanmean(pck[st.counts[0] > 0], axis=0).tolist()}


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


def bootstrap_replicates(stats: list[Stats], metric: dict, thresholds, n_groups: int, replicates: int,
                         seed: int) -> list[np.ndarray]:
    """Replicate values of a metric for each of several tables resampled with the same weights
    (one table: a confidence interval; two row-aligned tables: a paired comparison)."""
    out = [[] for _ in stats]
    for w in bootstrap_weights(n_groups, replicates, seed):
        for i, st in enumerate(stats):
            hits = (None if st.hits is None
                    else (w @ st.hits.reshape(n_groups, -1)).reshape((len(w),) + st.hits.shape[1:]))
            out[i].append(value_from_totals(metric["reduce"], w @ st.sums, w @ st.counts, st.hand, hits, thresholds))
    return [np.concatenate(o) * _scale(metric) for o in out]


def confidence_interval(table: ErrorTable, protocol: Protocol, metric: dict, unit: str, replicates: int,
                        seed: int) -> list[float] | None:
    """Percentile bootstrap 95% interval over resampled ``unit`` clusters."""
    groups, G = clusters(table, unit)
    th = _thresholds(protocol, metric)
    if not _bootstrappable(table, metric, G, th):
        return None
    reps = bootstrap_replicates([group_stats(table, metric, groups, G, th)], metric, th, G, replicates, seed)
    r = reps[0][np.isfinite(reps[0])]
    return None if len(r) == 0 else [float(np.percentile(r, 2.5)), float(np.percentile(r, 97.5))]


def by_group(table: ErrorTable, protocol: Protocol, metric: dict, labels: np.ndarray) -> dict[str, float | None]:
    """The metric within each value of ``labels`` (R,): one pass, every group at once."""
    import pandas as pd

    codes, uniques = pd.factorize(labels, sort=True)
    th = _thresholds(protocol, metric)
    st = group_stats(table, metric, codes.astype(np.int64), len(uniques), th)
    if st is None:
        return {}
    v = value_from_totals(metric["reduce"], st.sums, st.counts, st.hand, st.hits, th) * _scale(metric)
    return {str(u): (float(x) if np.isfinite(x) else None) for u, x in zip(uniques, v)}


def breakdowns(table: ErrorTable, protocol: Protocol, metric: dict) -> dict:
    """The metric by hand type, hand side, interaction subset, finger occlusion, joint and finger."""
    if metric["reduce"] not in MEAN_RULES or table.columns.get(metric["quantity"]) is None:
        return {}
    out: dict = {"hand_type": by_group(table, protocol, metric, table.hand_type)}
    values = table.columns[metric["quantity"]]
    if values.ndim > 1 and values.shape[1] == 2 and "hand" not in metric.get("where", {}):
        # Every per-hand metric by hand side, under the metric's own rule (e.g. the official
        # per-joint mean over one hand's 21 joints).
        out["hand"] = {side: metric_value(table, protocol, metric, {"hand": side})[0] for side in ("right", "left")}
    for subset in ("interacting", "close", "single_hand"):
        if subset in table.labels:
            out.setdefault("subset", {})[subset] = metric_value(table, protocol, metric, {"subset": subset})[0]
    if values.ndim == 3 and values.shape[1:] == (2, 21):
        if "fingers_occluded" in table.labels:
            out["fingers"] = {f: metric_value(table, protocol, metric, {"fingers": f})[0]
                              for f in ("visible", "occluded")}
        st = group_stats(table, {**metric, "reduce": "pooled"}, np.zeros(len(table), dtype=np.int64), 1)
        sums, counts = st.sums[0].reshape(2, 21).sum(0), st.counts[0].reshape(2, 21).sum(0)
        scale = _scale(metric)

        def pooled(joints) -> float | None:
            n = counts[list(joints)].sum()
            return float(sums[list(joints)].sum() / n * scale) if n else None

        out["joint"] = {name: pooled([j]) for j, name in enumerate(JOINT_NAMES)}
        out["finger"] = {finger: pooled(FINGER_JOINTS[finger]) for finger in FINGERS}
    return out


def paired_comparison(a: ErrorTable, b: ErrorTable, protocol: Protocol, metric: dict, unit: str, replicates: int,
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
    va, vb = metric_value(ta, protocol, metric)[0], metric_value(tb, protocol, metric)[0]
    if va is None or vb is None:
        return None
    groups, G = clusters(ta, unit)
    out = {"a": va, "b": vb, "difference": vb - va, "views": len(j), "clusters": G, "ci95": None, "p_value": None}
    th = _thresholds(protocol, metric)
    if _bootstrappable(ta, metric, G, th):
        reps = bootstrap_replicates([group_stats(t, metric, groups, G, th) for t in (ta, tb)], metric, th, G,
                                    replicates, seed)
        d = reps[1] - reps[0]
        d = d[np.isfinite(d)]
        if len(d):
            out["ci95"] = [float(np.percentile(d, 2.5)), float(np.percentile(d, 97.5))]
            out["p_value"] = float(min(1.0, 2 * min((d <= 0).mean(), (d >= 0).mean())))
    return out
