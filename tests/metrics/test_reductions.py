"""Metric reductions (handeval.metrics.reductions): statistics that add, values from statistics
equal to the closed forms, regrouping and resampling on statistics, and which way is better."""

import numpy as np
import pytest

from handeval.metrics import REDUCTIONS, Accuracy, Auc, HandsPooledThenMean, Pck, PerPointThenMean, Pooled
from handeval.scoring.protocols import load_protocol, protocol_names, reduction

TH = np.linspace(0.0, 0.05, 11)  # a 5 mm step
RULES = [Pooled(), PerPointThenMean(), HandsPooledThenMean(), Auc(TH), Pck(0.02), Accuracy()]


@pytest.fixture
def errors(rng):
    """(R, 2, 21) per-joint errors of two hands, a fifth of them not counted."""
    e = rng.gamma(2.0, 0.008, (60, 2, 21))
    e[rng.random(e.shape) < 0.2] = np.nan
    return e


def _assert_same(a, b):
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_allclose(a.sums, b.sums, rtol=1e-12)
    np.testing.assert_array_equal(a.hand, b.hand)
    assert (a.hits is None) == (b.hits is None)
    if a.hits is not None:
        np.testing.assert_array_equal(a.hits, b.hits)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_statistics_of_two_batches_add_up_to_those_of_both(rule, errors):
    first, second = errors[:25], errors[25:]
    both = rule.update(errors)
    _assert_same(rule.update(first) + rule.update(second), both)
    assert rule.compute(rule.update(first) + rule.update(second)) == pytest.approx(rule.compute(both), rel=1e-12)
    groups = np.arange(60) % 4
    _assert_same(rule.update(first, groups[:25], 4) + rule.update(second, groups[25:], 4),
                 rule.update(errors, groups, 4))


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_groups_and_resampling_are_operations_on_statistics(rule, errors):
    groups = np.arange(60) % 3
    per_group = rule.update(errors, groups, 3)
    for g in range(3):  # a regrouping: each group's value is the value of its rows
        assert rule.compute(per_group[g]) == pytest.approx(rule(errors[groups == g]), rel=1e-12, nan_ok=True)
    np.testing.assert_allclose(rule.compute(per_group), [rule(errors[groups == g]) for g in range(3)], rtol=1e-12)
    weights = np.array([[1.0, 1.0, 1.0], [2.0, 0.0, 1.0]])  # a bootstrap replicate counts each cluster w times
    resampled = per_group.resampled(weights)
    assert rule.compute(resampled[0]) == pytest.approx(rule(errors), rel=1e-12)
    twice = np.concatenate([errors[groups == 0]] * 2 + [errors[groups == 2]])
    assert rule.compute(resampled[1]) == pytest.approx(rule(twice), rel=1e-12)


def test_values_equal_the_closed_forms(errors):
    finite = np.isfinite(errors)
    assert Pooled()(errors) == pytest.approx(errors[finite].mean(), rel=1e-12)
    per_joint = [col[np.isfinite(col)].mean() for col in errors.reshape(60, -1).T]
    assert PerPointThenMean()(errors) == pytest.approx(np.mean(per_joint), rel=1e-12)
    hands = [errors[:, h][finite[:, h]].mean() for h in (0, 1)]
    assert HandsPooledThenMean()(errors) == pytest.approx(np.mean(hands), rel=1e-12)
    one_hand = errors.copy()
    one_hand[:, 1] = np.nan  # a hand without values does not count
    assert HandsPooledThenMean()(one_hand) == pytest.approx(hands[0], rel=1e-12)
    share = [np.mean(col[np.isfinite(col)] <= 0.02) for col in errors.reshape(60, -1).T]
    assert Pck(0.02)(errors) == pytest.approx(np.mean(share), rel=1e-12)
    assert Pck(0.02)(np.full((5, 3), 0.02)) == 1.0 and Pck(0.02)(np.full((5, 3), 0.0201)) == 0.0
    correct = np.array([1.0, 0.0, 1.0, np.nan, 1.0])
    assert Accuracy()(correct) == 0.75
    # A constant error c with TH[2] < c < TH[3]: PCK is 0 below TH[3] and 1 from it, so the trapezoid
    # area is half a step plus the rest of the range.
    c = np.full((8, 21), 0.0123)
    assert Auc(TH)(c) == pytest.approx((0.05 - 0.015 + 0.0025) / 0.05, rel=1e-12)
    assert Auc(TH)(np.zeros((4, 2))) == 1.0 and Auc(TH)(np.full((4, 2), 0.06)) == 0.0
    auc = Auc(TH)
    np.testing.assert_allclose(auc.curve(auc.update(c)), (TH >= 0.0123).astype(float))


def test_nothing_counted_is_nan():
    nothing = np.full((3, 2, 21), np.nan)
    for rule in RULES:
        assert np.isnan(rule(nothing)), rule.name
        assert rule.update(nothing).n == 0


def test_each_reduction_declares_which_way_is_better():
    assert [name for name, r in REDUCTIONS.items() if r.higher_is_better] == ["auc", "pck", "accuracy"]
    assert all(r.higher_is_better is None for r in (Pooled, PerPointThenMean, HandsPooledThenMean))
    # A metric's direction: its reduction's, else its quantity's (a mean of F-scores is a score).
    higher = set()
    for name in protocol_names():
        protocol = load_protocol(name)
        higher |= {(name, m["name"]) for m in protocol.metrics if protocol.higher_is_better(m)}
    assert {m for _, m in higher} == {"absolute/auc", "root-relative/auc", "procrustes/auc", "xyz_auc3d",
                                      "xyz_procrustes_al_auc3d", "xyz_scale_trans_al_auc3d", "mesh_auc3d",
                                      "mesh_al_auc3d", "f_score_5", "f_al_score_5", "f_score_15", "f_al_score_15",
                                      "PCK@20mm", "AUC", "Handedness accuracy"}
    assert ("interhand26m-5fps-ih/intaghand", "MPJPE") not in higher


def test_a_protocol_metric_becomes_its_reduction():
    spec = load_protocol("interhand26m-30fps/temporal")
    rules = {m["name"]: reduction(m) for m in spec.metrics}
    assert isinstance(rules["PCK@20mm"], Pck) and rules["PCK@20mm"].at == 0.02
    np.testing.assert_array_equal(rules["AUC"].thresholds, np.linspace(0.0, 0.05, 100))
    assert type(rules["MPJPE"]) is Pooled and rules["MPJPE"].in_units and not rules["AUC"].in_units
