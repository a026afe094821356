"""Scoring: protocols, closed forms, agreement with per-frame reference loops of the official
scripts, the cached error table, bootstrap, comparison and re-aggregation."""

import json

import numpy as np
import oracles
import pytest
from handeval.cli import main

from handeval.conventions import CV_FROM_GL, HAND_SIDES, MANO, canonical_to_interhand42
from handeval.scoring import aggregate as agg
from handeval.scoring.protocols import canonical_hash, load_protocol, protocol_names, validate_spec
from handeval.scoring.score import STAND_IN_DEVIATION, compare, regroup, score
from handeval.scoring.submissions import write_submission
from handeval.scoring.table import read_table
from handeval.shards import ShardDataset
from handeval.shards.meshes import HandMeshes
from handeval.util.errors import HandevalError
from handeval.zoo.baselines import ground_truth_submission, hand_scores_from_truth, mean_pose, oracle_noise

SIGMA = 0.004


def _f32(a):
    """What the submission file and the shards store."""
    return a.astype(np.float32).astype(np.float64)


def _table_rows(gt, table):
    """Rows of the ground-truth submission in the order of an error table's views."""
    index = {k: i for i, k in enumerate(zip(gt.sequence, gt.frame, gt.camera))}
    return np.array([index[k] for k in zip(table.sequence, table.frame, table.camera)])


def _assert_agrees(result, want):
    for k, v in want.items():
        assert result["metrics"][k]["value"] == pytest.approx(v, rel=1e-6), k


def _write(sub, path, scores=True):
    if scores:
        sub.hand_scores = hand_scores_from_truth(sub)
    return write_submission(path, sub)


def test_every_shipped_protocol_loads_and_hashes_canonically():
    names = protocol_names()
    for required in ("interhand26m-5fps-ih/intaghand", "interhand26m-5fps/official", "interhand26m-30fps/temporal",
                     "interhand26m/ihmr-all", "interhand26m/ihmr-inter", "interhand26m/ihmr-close", "hic/interwild",
                     "dexycb-s0/toolkit", "ho3d-v2/official", "ho3d-v3/official"):
        assert required in names
    for n in names:
        p = load_protocol(n)
        assert p.sha256 == canonical_hash(json.loads(json.dumps(p.spec, sort_keys=True)))
        # The prose is not the definition: a corrected citation keeps the hash, a changed threshold does not.
        assert canonical_hash({**p.spec, "source": "corrected", "title": "renamed"}) == p.sha256
        assert canonical_hash({**p.spec, "version": p.version + 1}) != p.sha256
    ho3d = load_protocol("ho3d-v3/official")
    assert [m["name"] for m in ho3d.metrics][:2] == ["xyz_mean3d", "xyz_auc3d"]
    assert {m["unit"] for m in ho3d.metrics if m["name"].endswith("mean3d")} == {"cm"}


def test_protocol_errors_name_the_field(tmp_path):
    spec = dict(load_protocol("dexycb-s0/toolkit").spec)
    spec["metrics"] = [dict(spec["metrics"][0], reduce="median")]
    with pytest.raises(HandevalError, match=r"metrics\[0\]\.reduce"):
        validate_spec(spec, "x.json")
    with pytest.raises(HandevalError, match="handeval protocols"):
        load_protocol("dexycb-s0/nope")


def test_ground_truth_scores_zero_and_noise_gives_the_closed_form(labelled_shards, tmp_path):
    ds = ShardDataset(labelled_shards("dexycb"))
    gt = ground_truth_submission(ds, "s0_train", vertices=False)
    r0 = score(ds.root, _write(gt, tmp_path / "gt.parquet"), "dexycb-s0/toolkit", tmp_path / "gt.json",
               split="s0_train", allow_deviation=True, replicates=0, progress=False)
    for k in ("absolute/mpjpe", "root-relative/mpjpe", "procrustes/mpjpe"):
        assert r0["metrics"][k]["value"] < 1e-4  # float32 storage only
    noisy = oracle_noise(gt, SIGMA, seed=3)
    r = score(ds.root, _write(noisy, tmp_path / "n.parquet"), "dexycb-s0/toolkit", tmp_path / "n.json",
              split="s0_train", allow_deviation=True, replicates=200, progress=False)
    m = r["metrics"]["absolute/mpjpe"]
    expected = SIGMA * 2 * np.sqrt(2 / np.pi) * 1000
    assert m["value"] == pytest.approx(expected, rel=0.03)
    assert m["ci95"][0] < m["value"] < m["ci95"][1]
    assert r["comparable"] is False and "s0_test" in r["deviations"][0]


def test_dexycb_and_ho3d_agree_with_the_official_loops(labelled_shards, tmp_path):
    ds = ShardDataset(labelled_shards("dexycb"))
    gt = ground_truth_submission(ds, "s0_train", vertices=False)
    noisy = oracle_noise(gt, SIGMA, seed=4)
    noisy.joints[..., 2] += 0.01  # an offset so absolute and root-relative differ
    r = score(ds.root, _write(noisy, tmp_path / "d.parquet"), "dexycb-s0/toolkit", tmp_path / "d.json",
              split="s0_train", allow_deviation=True, replicates=0, progress=False)
    has = np.isfinite(gt.joints).all(axis=(-1, -2))
    rows, hands = np.nonzero(has)
    want = oracles.dexycb_hpe_eval(_f32(gt.joints)[rows, hands] * 1000, _f32(noisy.joints)[rows, hands] * 1000)
    _assert_agrees(r, want)

    ds = ShardDataset(labelled_shards("ho3d"))
    gt = ground_truth_submission(ds, "evaluation")
    noisy = oracle_noise(gt, SIGMA, seed=5)
    r = score(ds.root, _write(noisy, tmp_path / "h.parquet"), "ho3d-v3/official", tmp_path / "h.json",
              replicates=0, progress=False)

    def to_ho3d(j):  # HO3D's own frame and joint order
        return MANO.from_canonical(j @ CV_FROM_GL.T)

    want = oracles.ho3d_eval(to_ho3d(_f32(gt.joints[:, 0])), _f32(gt.vertices[:, 0]) @ CV_FROM_GL.T,
                         to_ho3d(_f32(noisy.joints[:, 0])), _f32(noisy.vertices[:, 0]) @ CV_FROM_GL.T)
    for k, v in want.items():
        assert r["metrics"][k]["value"] == pytest.approx(v, rel=1e-6, abs=1e-9), k


def test_interhand_official_and_intaghand_agree_with_the_loops(labelled_shards, tmp_path):
    ds = ShardDataset(labelled_shards("interhand26m"))
    gt = ground_truth_submission(ds, "test")
    noisy = oracle_noise(gt, SIGMA, seed=6)
    noisy.joints[:, 1] += 0.02  # the left hand moved by 2 cm on each axis: MRRPE is about 20 sqrt(3) mm
    r = score(ds.root, _write(noisy, tmp_path / "o.parquet"), "interhand26m-5fps/official", tmp_path / "o.json",
              replicates=0, progress=False)
    views = ds.read("views", "test", columns=["sequence", "frame", "camera", "joints_image_valid"]).to_pandas()
    frames = ds.read("frames", "test", columns=["sequence", "frame", "hand_type"]).to_pandas()
    keyed = views.merge(frames, on=["sequence", "frame"])
    order = {k: i for i, k in enumerate(zip(gt.sequence, gt.frame, gt.camera))}
    rows = np.array([order[k] for k in zip(keyed.sequence, keyed.frame, keyed.camera)])
    valid = np.stack(keyed.joints_image_valid.map(lambda v: np.asarray(v, dtype=bool)).to_list()).reshape(-1, 2, 21)
    gt42 = canonical_to_interhand42(_f32(gt.joints[rows]) * 1000)
    pred42 = canonical_to_interhand42(_f32(noisy.joints[rows]) * 1000)
    valid42 = canonical_to_interhand42(valid[..., None])[..., 0].astype(float)
    want = oracles.interhand_official(gt42, pred42, valid42, keyed.hand_type.to_numpy())
    for k, v in want.items():
        if np.isfinite(v):
            assert r["metrics"][k]["value"] == pytest.approx(v, rel=1e-6), k
    assert r["metrics"]["MRRPE"]["value"] == pytest.approx(20 * np.sqrt(3), rel=0.1)

    r = score(ds.root, _write(noisy, tmp_path / "i.parquet"), "interhand26m-5fps-ih/intaghand", tmp_path / "i.json",
              replicates=0, progress=False)
    rows = _table_rows(gt, read_table(tmp_path / "i.errors.parquet"))
    meshes = HandMeshes(ds)
    regs = np.stack([meshes.layers[s].joint_regressor("intaghand") for s in HAND_SIDES])
    _assert_agrees(r, oracles.intaghand_eval(_f32(gt.vertices[rows]), _f32(noisy.vertices[rows]), regs))


def test_ihmr_agrees_with_the_loop(labelled_shards, tmp_path):
    ds = ShardDataset(labelled_shards("interhand26m"))
    gt = ground_truth_submission(ds, "test")
    noisy = oracle_noise(gt, SIGMA, seed=7)
    noisy.joints[:, 1] *= 1.05  # the left hand scaled: a relative error I-MPJPE keeps
    r = score(ds.root, _write(noisy, tmp_path / "p.parquet"), "interhand26m/ihmr-inter", tmp_path / "r.json",
              replicates=0, progress=False)
    table = read_table(tmp_path / "r.errors.parquet")
    rows = _table_rows(gt, table)
    valid = np.isfinite(table.columns["joints_i"])  # the annotated joints of the selected views
    _assert_agrees(r, oracles.ihmr_eval(_f32(gt.joints[rows]), _f32(noisy.joints[rows]), valid))


def test_error_table_is_cached_and_results_are_idempotent(labelled_shards, tmp_path):
    ds = ShardDataset(labelled_shards("hic"))
    gt = ground_truth_submission(ds, "test")
    path = _write(oracle_noise(gt, SIGMA), tmp_path / "p.parquet")
    reused = []
    score(ds.root, path, "hic/interwild", tmp_path / "r.json", replicates=50, progress=False,
          on_table=lambda _, hit: reused.append(hit))
    first = (tmp_path / "r.json").read_bytes()
    score(ds.root, path, "hic/interwild", tmp_path / "r.json", replicates=50, progress=False,
          on_table=lambda _, hit: reused.append(hit))
    assert reused == [False, True]
    assert (tmp_path / "r.json").read_bytes() == first  # a rerun writes the same bytes
    assert not (tmp_path / "r.errors.parquet.parts").exists()


def test_compare_and_regroup(labelled_shards, tmp_path):
    ds = ShardDataset(labelled_shards("interhand26m"))
    gt = ground_truth_submission(ds, "test")
    good = _write(oracle_noise(gt, SIGMA), tmp_path / "good.parquet")
    bad = _write(mean_pose(gt), tmp_path / "bad.parquet")
    for name, path in (("good", good), ("bad", bad)):
        score(ds.root, path, "interhand26m/ihmr-all", tmp_path / f"{name}.json", replicates=0, progress=False)
    same = compare(tmp_path / "good.json", tmp_path / "good.json", replicates=200)
    assert same["metrics"]["MPJPE"]["difference"] == 0 and same["metrics"]["MPJPE"]["p_value"] == 1.0
    diff = compare(tmp_path / "good.json", tmp_path / "bad.json", replicates=200)
    assert diff["metrics"]["MPJPE"]["difference"] > 10 and diff["metrics"]["MPJPE"]["p_value"] < 0.01
    by_cam = regroup(tmp_path / "good.json", "camera")["MPJPE"]
    overall = json.loads((tmp_path / "good.json").read_text())["metrics"]["MPJPE"]["value"]
    assert min(by_cam.values()) <= overall <= max(by_cam.values())
    with pytest.raises(HandevalError, match="different protocols"):
        score(ds.root, good, "interhand26m-5fps/official", tmp_path / "other.json", replicates=0, progress=False)
        compare(tmp_path / "good.json", tmp_path / "other.json")


def test_aggregation_rules_from_statistics_match_the_direct_definitions(rng):
    errors = rng.gamma(2.0, 0.004, (50, 2, 21))
    errors[rng.random(errors.shape) < 0.2] = np.nan
    table = agg.ErrorTable(np.array(["s"] * 50), np.arange(50), np.array(["0"] * 50), np.array(["interacting"] * 50),
                           {}, {"e": errors})
    cases = {
        "pooled": np.nanmean(errors),
        "per_point_then_mean": np.nanmean(np.nanmean(errors.reshape(50, -1), axis=0)),
        "hands_pooled_then_mean": np.mean([np.nanmean(errors[:, h]) for h in (0, 1)]),
    }
    for reduce, want in cases.items():
        got, _ = agg.metric_value(table, {"name": reduce, "quantity": "e", "reduce": reduce, "scale": 1})
        assert got == pytest.approx(want, rel=1e-12)
    got, _ = agg.metric_value(table, {"name": "a", "quantity": "e", "reduce": "auc", "scale": 1,
                                      "thresholds": {"start": 0, "stop": 0.05, "num": 100}})
    assert got == pytest.approx(oracles.JointAccumulator.of_errors(errors.reshape(50, -1)).auc(0, 0.05, 100),
                                rel=1e-12)
    # A per-vertex AUC over many clusters would need a huge histogram: its interval is skipped, not attempted.
    verts = agg.ErrorTable(np.array(["s"] * 2000), np.arange(2000), np.array(["0"] * 2000),
                           np.array(["right"] * 2000), {}, {"v": np.full((2000, 2, 778), 0.01, dtype=np.float32)})
    vauc = {"name": "v", "quantity": "v", "reduce": "auc", "thresholds": {"start": 0, "stop": 0.05, "num": 100}}
    assert agg.confidence_interval(verts, vauc, "frame", 100, 0) is None
    assert agg.confidence_interval(verts, {**vauc, "reduce": "pooled"}, "frame", 100, 0) is not None


def test_score_refuses_bad_submissions_without_a_traceback(labelled_shards, tmp_path, capsys):
    ds = ShardDataset(labelled_shards("interhand26m"))
    gt = ground_truth_submission(ds, "test", vertices=False)
    gt.joints = gt.joints * 1000  # millimetres
    path = _write(gt, tmp_path / "mm.parquet")
    with pytest.raises(SystemExit) as exit_:
        main(["score", "--gt", str(ds.root), "--pred", str(path), "--protocol", "interhand26m/ihmr-all",
              "--out", str(tmp_path / "r.json")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "units" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as exit_:
        main(["score", "--gt", str(labelled_shards("hic")), "--pred", str(path), "--protocol",
              "interhand26m/ihmr-all", "--out", str(tmp_path / "r.json")])
    assert "choose a HIC protocol" in capsys.readouterr().err


def test_demo_results_follow_the_schema(all_results, capsys):
    from handeval.scoring.result import Result

    results = sorted(all_results.rglob("*.json"))
    assert len(results) == 30  # 8 protocols x 3 baselines, and swapped hands where there are two
    for path in results:
        assert Result.from_file(path).synthetic is True  # validated against the schema on load
    temporal = json.loads((all_results / "interhand26m-30fps__temporal" /
                           "interhand26m-smoothed-noise.json").read_text())
    noisy = json.loads((all_results / "interhand26m-30fps__temporal" /
                        "interhand26m-oracle-noise.json").read_text())
    # Smoothing over time lowers the acceleration error, as it is meant to.
    assert temporal["metrics"]["Accel_E"]["value"] < noisy["metrics"]["Accel_E"]["value"]
    assert temporal["series"]["Accel_E"]["frame"]
    with pytest.raises(SystemExit):
        main(["protocols", "--json"])
    assert "ho3d-v3/official" in capsys.readouterr().out


def test_penetration_metrics_agree_with_the_labels_and_gt_scores_zero_pixels(interhand_shards, tmp_path):
    from handeval.labels.penetration import PENETRATION
    from handeval.labels.store import read_label_arrays
    from handeval.metrics.penetration import HandPairPenetration

    ds = ShardDataset(interhand_shards)
    gt = ground_truth_submission(ds, "test")
    first = gt.camera == gt.camera[0]
    meshes = HandMeshes(ds)
    measures = HandPairPenetration((meshes.seal(0), meshes.seal(1)))(gt.vertices[first],
                                                                     np.isfinite(gt.vertices[first]).all(axis=(-1, -2)))
    labels = read_label_arrays(ds, PENETRATION, ["sequence", "frame", "hh_max_depth", "hh_volume"])
    index = {k: i for i, k in enumerate(zip(labels["sequence"], labels["frame"]))}
    rows = np.array([index[k] for k in zip(gt.sequence[first], gt.frame[first])])
    both = np.isfinite(measures["mmpd"])
    assert both.sum() > 5 and (measures["mmpd"][both] > 0).any()  # the demo's hands interpenetrate
    # A rigid change of frame (world -> camera) leaves depths unchanged: the same numbers as the labels.
    np.testing.assert_allclose(measures["mmpd"][both], labels["hh_max_depth"][rows[both], 0], atol=2e-5)
    assert (measures["max_p"][both] >= measures["mmpd"][both] - 1e-9).all()
    assert (measures["ave_p"][both] <= measures["max_p"][both] + 1e-12).all()
    far = gt.vertices[first].copy()
    far[:, 1] += np.array([1.0, 0.0, 0.0])  # the left hand a metre away: no collision at all
    apart = HandPairPenetration((meshes.seal(0), meshes.seal(1)))(far[both][:3], np.ones((3, 2), dtype=bool))
    for v in apart.values():
        np.testing.assert_array_equal(v, 0.0)
    r = score(ds.root, _write(gt, tmp_path / "gt.parquet"), "interhand26m-5fps-ih/dir", tmp_path / "gt.json",
              replicates=0, progress=False)
    assert r["metrics"]["MIAA"]["value"] < 1e-3 and r["metrics"]["MRRPE"]["value"] < 1e-3


def test_acceleration_tracks_skip_gaps_and_cameras():
    from handeval.scoring.quantities import _acceleration
    from handeval.shards.views import ViewTruth

    frames = np.array([0, 1, 2, 3, 5, 6, 7] * 2)  # frame 4 missing: frames 3 and 5 are not neighbours
    cams = np.repeat(["a", "b"], 7)
    order = np.random.default_rng(0).permutation(14)  # rows in any order
    t = frames.astype(float)[:, None, None, None]
    gt = np.broadcast_to(np.zeros(3), (14, 2, 21, 3)).copy()
    pred = gt + t ** 2 * np.array([0.001, 0, 0])  # acceleration 0.002 per frame^2 where frames are consecutive
    truth = ViewTruth(np.array(["s"] * 14)[order], frames[order], cams[order], np.ones((14, 2), bool), gt[order],
                      np.ones((14, 2, 21), bool))
    e = _acceleration(truth, pred[order], gt[order], truth.valid)[:, 0, 0]
    counted = {(c, f) for c, f, v in zip(cams[order], frames[order], e) if np.isfinite(v)}
    assert counted == {(c, f) for c in "ab" for f in (1, 2, 6)}
    np.testing.assert_allclose(e[np.isfinite(e)], 0.002)


def test_warnings_are_scored_recorded_and_strict_refuses(interhand_shards, baseline_submissions, tmp_path, capsys):
    sub = baseline_submissions("interhand26m")["swapped-hands"]
    gt = interhand_shards
    args = ["score", "--gt", str(gt), "--pred", str(sub), "--protocol", "interhand26m-5fps/official", "--bootstrap",
            "0", "--out", str(tmp_path / "r.json")]
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 0 and "Warning: [hands]" in capsys.readouterr().err
    assert json.loads((tmp_path / "r.json").read_text())["warnings"][0]["check"] == "hands"
    with pytest.raises(SystemExit) as e:
        main(args + ["--strict"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "refused under --strict" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as e:
        main(["check-submission", "--gt", str(gt), "--pred", str(sub), "--split", "test", "--strict"])
    assert e.value.code == 1 and "WARNING [hands]" in capsys.readouterr().out


def test_ground_truth_from_the_stand_in_is_not_comparable(interhand_shards, baseline_submissions, tmp_path, capsys):
    sub = baseline_submissions("interhand26m")["oracle-noise"]
    with pytest.raises(SystemExit) as e:
        main(["score", "--gt", str(interhand_shards), "--pred", str(sub), "--protocol",
              "interhand26m-5fps-ih/dir", "--bootstrap", "0", "--out", str(tmp_path / "r.json")])
    assert e.value.code == 0 and "synthetic MANO stand-in" in capsys.readouterr().err
    result = json.loads((tmp_path / "r.json").read_text())
    assert not result["comparable"] and any("stand-in" in d for d in result["deviations"])


def test_nan_in_streamed_vertices_is_refused_as_check_submission_does(interhand_shards, baseline_submissions, tmp_path,
                                                                     capsys):
    """Scoring checks a large file's vertices as it reads them, and the sequences it did not need
    afterwards, so score and check-submission refuse the same files and no table is left behind."""
    from handeval.scoring.submissions import SubmissionSource, read_submission

    gt = interhand_shards
    noisy = baseline_submissions("interhand26m")["oracle-noise"]
    sub = read_submission(noisy)
    frames = np.unique(sub.frame)
    for name, frame in (("scored", frames[0]), ("unscored", frames[2])):  # frame 2's left hand has no MANO fit
        bad = read_submission(noisy)
        bad.vertices = bad.vertices.copy()  # arrays read from Parquet are read-only views
        bad.vertices[np.flatnonzero(bad.frame == frame)[0], 0, 7] = np.nan  # the right hand: fitted in both
        path = write_submission(tmp_path / f"{name}.parquet", bad)
        with pytest.raises(SystemExit) as e:
            main(["check-submission", "--gt", str(gt), "--pred", str(path), "--split", "test"])
        assert e.value.code == 1 and "ERROR [finite]" in capsys.readouterr().out
        out = tmp_path / f"{name}.json"
        with pytest.raises(SystemExit) as e:
            main(["score", "--gt", str(gt), "--pred", str(path), "--protocol", "interhand26m-5fps-ih/intaghand",
                  "--bootstrap", "0", "--out", str(out)])
        assert e.value.code == 2 and "[finite]" in capsys.readouterr().err, name
        assert not out.is_file() and not out.with_name(f"{name}.errors.parquet").is_file()
        with pytest.raises(HandevalError, match=r"\[finite\]"):  # a sequence scoring never read is checked too
            SubmissionSource(path).verify_unread(read=set())


def test_source_meshes_are_not_marked_as_stand_in_meshes(baseline_results):
    """HO3D's evaluation vertices come from evaluation_verts.json: no MANO builds them, so no stand-in
    deviation; InterWild's joints are regressed with MANO's regressor, so the stand-in marks them."""
    ho3d = json.loads((baseline_results("ho3d-v3/official") / "ho3d-oracle-noise.json").read_text())
    assert STAND_IN_DEVIATION not in ho3d["deviations"]
    hic = json.loads((baseline_results("hic/interwild") / "hic-oracle-noise.json").read_text())
    assert STAND_IN_DEVIATION in hic["deviations"] and not hic["comparable"]
