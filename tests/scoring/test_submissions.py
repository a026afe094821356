"""Submissions: canonical and native formats read into per-view camera-frame joints, and their checks."""

import json
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from commandline import user_error
from factory import converted_interhand
from handeval.cli import main

from handeval.conventions import CV_FROM_GL, MM_PER_M
from handeval.readers import open_reader
from handeval.scoring.submissions import check_submission, read_submission
from handeval.shards import ShardDataset
from handeval.shards.convert import convert
from handeval.shards.meshes import HandMeshes
from handeval.shards.views import read_view_truth
from handeval.synth.native.dexycb import DexYCBSequence, write_dexycb
from handeval.synth.native.ho3d import HO3DSequence, write_ho3d
from handeval.synth.scene import make_scene
from handeval.util.errors import HandevalError


@pytest.fixture(scope="module")
def ih(standin_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("sub")
    scene = make_scene(seed=21, num_frames=5, num_cameras=2, image_size=(32, 24), render=False)
    ds = converted_interhand(root, scene)
    return ds, read_view_truth(ds, "test")


def _npz(path, gt, joints):
    np.savez(path, sequence=gt.sequence.astype(str), frame=gt.frame, camera=gt.camera.astype(str), joints=joints)
    return path


def test_perfect_canonical_submissions(ih, tmp_path):
    ds, gt = ih
    joints = np.where(gt.valid[..., None], gt.joints, 0.0)
    sub = read_submission(_npz(tmp_path / "p.npz", gt, joints), ds, "test")
    assert check_submission(sub, gt) == []
    table = pa.table({"sequence": gt.sequence.tolist(), "frame": gt.frame, "camera": gt.camera.tolist(),
                      "joints": pa.FixedSizeListArray.from_arrays(pa.array(joints.ravel()), 126)})
    pq.write_table(table, tmp_path / "p.parquet")
    sub = read_submission(tmp_path / "p.parquet")
    np.testing.assert_allclose(sub.joints, joints)


@pytest.mark.parametrize("mistake,check", [
    (lambda j: j * MM_PER_M, "units"), (lambda j: j @ CV_FROM_GL.T, "frame"), (lambda j: j[:, ::-1], "hands"),
])
def test_common_mistakes_are_named(ih, tmp_path, mistake, check):
    ds, gt = ih
    joints = mistake(np.where(gt.valid[..., None], gt.joints, 0.0))
    problems = check_submission(read_submission(_npz(tmp_path / "p.npz", gt, joints), ds, "test"), gt)
    assert [p["check"] for p in problems] == [check] and problems[0]["fix"]


def test_key_problems(ih, tmp_path):
    ds, gt = ih
    joints = gt.joints.copy()
    joints[~gt.valid] = 0.0
    def rows(a, extra):  # drop row 0, repeat row 1, add an unknown key
        return np.concatenate([np.asarray(a[1:]), np.asarray(a[1:2]), np.asarray(extra)])

    np.savez(tmp_path / "p.npz", sequence=rows(gt.sequence.astype(str), ["nope"]), frame=rows(gt.frame, [0]),
             camera=rows(gt.camera.astype(str), ["0"]), joints=np.concatenate([joints[1:], joints[1:2], joints[:1]]))
    checks = {p["check"] for p in check_submission(read_submission(tmp_path / "p.npz"), gt)}
    assert checks == {"missing", "extra", "duplicates"}
    joints[0, 0, 3] = np.nan
    checks = {p["check"] for p in check_submission(read_submission(_npz(tmp_path / "q.npz", gt, joints)), gt)}
    assert checks == {"finite"}


def test_never_unpickles_and_bad_shapes(ih, tmp_path):
    _, gt = ih
    np.savez(tmp_path / "obj.npz", sequence=np.array(list(gt.sequence), dtype=object), frame=gt.frame,
             camera=gt.camera, joints=gt.joints)
    with pytest.raises(HandevalError, match="never unpickled"):
        read_submission(tmp_path / "obj.npz")
    np.savez(tmp_path / "shape.npz", sequence=gt.sequence.astype(str), frame=gt.frame, camera=gt.camera.astype(str),
             joints=gt.joints[:, 0])
    with pytest.raises(HandevalError, match=r"expected \(10, 2, 21, 3\)"):
        read_submission(tmp_path / "shape.npz")


def _keys(gt) -> dict:
    return {"sequence": gt.sequence.tolist(), "frame": gt.frame, "camera": gt.camera.tolist()}


@pytest.mark.parametrize("column, message", [
    (lambda j: pa.array(j[:, 0, 0, 0]), "column 'joints' must be a list of 126 numbers per row, not double"),
    (lambda j: pa.array([r[:125] for r in j.reshape(len(j), -1).tolist()]),
     "column 'joints' row 0 holds 125 numbers, expected 126 (2 x 21 x 3); every row must have the same shape"),
    (lambda j: pa.array([r if i != 3 else r + [0.0] for i, r in enumerate(j.reshape(len(j), -1).tolist())]),
     "column 'joints' row 3 holds 127 numbers, expected 126"),
    (lambda j: pa.FixedSizeListArray.from_arrays(pa.array(j[:, 0].ravel()), 63),
     "column 'joints' must hold 126 numbers per row (2 x 21 x 3), found 630 for 10 rows"),
    (lambda j: pa.array(j.reshape(len(j), 42, 3).tolist()),
     "column 'joints' must be a list of 126 numbers per row (2 x 21 x 3), not list<|list<|(flatten each row"),
    (lambda j: pa.array([["1"] * 126] * len(j)), "column 'joints' must be a list of 126 numbers per row|string>"),
], ids=["scalar", "short", "one-long-row", "fixed-63", "nested", "strings"])
def test_a_badly_shaped_parquet_column_is_named_with_its_row(ih, tmp_path, column, message):
    _, gt = ih
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({**_keys(gt), "joints": column(np.nan_to_num(gt.joints))}), path)
    with pytest.raises(HandevalError) as err:
        read_submission(path)
    first, *more = message.split("|")  # Parquet spells the types its own way: the rest is only contained
    assert str(err.value).startswith(f"{path}: {first}") and all(m in str(err.value) for m in more), err.value


def test_missing_fields_name_the_submission_format(ih, tmp_path):
    _, gt = ih
    keys = _keys(gt)
    joints = pa.array(gt.joints.reshape(len(gt.frame), -1).tolist())
    pq.write_table(pa.table({"sequence": keys["sequence"], "frame": keys["frame"], "joints": joints}),
                   tmp_path / "c.parquet")
    with pytest.raises(HandevalError, match=r"missing column\(s\) camera; a submission needs sequence, frame, camera "
                       r"and joints \(2 x 21 x 3 = 126 numbers per row\) and/or vertices"):
        read_submission(tmp_path / "c.parquet")
    np.savez(tmp_path / "k.npz", sequence=gt.sequence.astype(str), frame=gt.frame, camera=gt.camera.astype(str))
    with pytest.raises(HandevalError, match=r"missing array\(s\) joints or vertices; "):
        read_submission(tmp_path / "k.npz")


def test_pandas_lists_and_null_rows_read_as_the_canonical_file(ih, tmp_path):
    """Variable-length lists (what pandas writes) read as fixed-size ones; a null row is a view
    not predicted (NaN), which the checks then name."""
    ds, gt = ih
    joints = np.where(gt.valid[..., None], gt.joints, 0.0)
    rows = joints.reshape(len(joints), -1).tolist()
    pq.write_table(pa.table({**_keys(gt), "joints": pa.array(rows)}), tmp_path / "lists.parquet")
    sub = read_submission(tmp_path / "lists.parquet")
    np.testing.assert_allclose(sub.joints, joints)
    assert check_submission(sub, gt) == []
    pq.write_table(pa.table({**_keys(gt), "joints": pa.array([None] + rows[1:])}), tmp_path / "null.parquet")
    sub = read_submission(tmp_path / "null.parquet")
    assert np.isnan(sub.joints[0]).all() and np.isfinite(sub.joints[1:]).all()
    assert [p["check"] for p in check_submission(sub, gt)] == ["missing"]


def test_write_submission_writes_the_schema_and_reads_back(ih, tmp_path):
    from handeval.scoring.submissions import SUBMISSION_FEATURES, write_submission
    from handeval.zoo.baselines import ground_truth_submission

    ds, _ = ih
    full = ground_truth_submission(ds, "test")
    n = len(full.frame)
    full.hand_scores = np.ones((n, 2))
    rng = np.random.default_rng(0)
    full.mano_pose, full.mano_shape, full.mano_trans = (rng.normal(size=(n, 2, k)) for k in (48, 10, 3))
    full.provenance = {"entry": "demo", "flags": ["oracle"]}
    path = write_submission(tmp_path / "s.parquet", full)
    schema = pq.read_schema(path)
    assert schema.names == [f.name for f in SUBMISSION_FEATURES]
    assert all(schema.field(f.name).type == f.arrow_type() for f in SUBMISSION_FEATURES)
    back = read_submission(path)
    np.testing.assert_array_equal(back.joints, full.joints.astype(np.float32))
    np.testing.assert_array_equal(back.vertices, full.vertices.astype(np.float32))
    for name in ("mano_pose", "mano_shape", "mano_trans"):
        np.testing.assert_array_equal(getattr(back, name), getattr(full, name).astype(np.float32))
    assert back.provenance == full.provenance
    full.mano_pose = full.mano_shape = full.mano_trans = full.provenance = None
    full.has_joints = False  # vertex-only: no joints column, so it reads back vertex-only
    back = read_submission(write_submission(tmp_path / "v.parquet", full))
    assert not back.has_joints and "joints" not in pq.read_schema(tmp_path / "v.parquet").names


def test_ho3d_pred_json(standin_dir, tmp_path):
    scene = make_scene(seed=22, num_frames=4, num_cameras=1, image_size=(32, 24), objects=("box",), render=False)
    write_ho3d(tmp_path / "raw", [HO3DSequence(scene, "evaluation", "AP10", 0)], images=False)
    convert(open_reader("ho3d", tmp_path / "raw"), tmp_path / "gt", progress=False)
    ds = ShardDataset(tmp_path / "gt")
    gt = read_view_truth(ds, "evaluation", HandMeshes(ds))
    xyz = json.loads((tmp_path / "raw" / "evaluation_xyz.json").read_text())
    verts = json.loads((tmp_path / "raw" / "evaluation_verts.json").read_text())
    (tmp_path / "pred.json").write_text(json.dumps([xyz, verts]))
    sub = read_submission(tmp_path / "pred.json", ds, "evaluation")
    np.testing.assert_allclose(sub.joints[:, 0], gt.joints[:, 0], atol=1e-6)
    np.testing.assert_allclose(sub.vertices[:, 0], gt.vertices[:, 0], atol=1e-6)
    assert check_submission(sub, gt) == []
    (tmp_path / "short.json").write_text(json.dumps([xyz[:2], verts[:2]]))
    with pytest.raises(HandevalError, match="evaluation.txt lists 4"):
        read_submission(tmp_path / "short.json", ds, "evaluation")


def test_ho3d_pred_json_follows_evaluation_txt_from_the_shards_alone(standin_dir, tmp_path):
    """evaluation.txt interleaves two sequences: pred.json in its order is read right, with no source root."""
    scene = make_scene(seed=22, num_frames=3, num_cameras=2, image_size=(32, 24), objects=("box",), render=False)
    raw = write_ho3d(tmp_path / "raw", [HO3DSequence(scene, "evaluation", "AP10", 0),
                                        HO3DSequence(scene, "evaluation", "MPM11", 1)], images=False)
    lines = (raw / "evaluation.txt").read_text().split()
    order = [0, 3, 1, 4, 2, 5]  # AP10/0000, MPM11/0000, AP10/0001, ...
    (raw / "evaluation.txt").write_text("\n".join(lines[i] for i in order) + "\n")
    gt_files = {n: json.loads((raw / n).read_text()) for n in ("evaluation_xyz.json", "evaluation_verts.json")}
    for name, entries in gt_files.items():
        (raw / name).write_text(json.dumps([entries[i] for i in order]))
    convert(open_reader("ho3d", raw, "v3"), tmp_path / "gt", progress=False)
    shutil.rmtree(raw)
    ds = ShardDataset(tmp_path / "gt")
    (tmp_path / "pred.json").write_text(json.dumps([[gt_files["evaluation_xyz.json"][i] for i in order],
                                                    [gt_files["evaluation_verts.json"][i] for i in order]]))
    sub = read_submission(tmp_path / "pred.json", ds, "evaluation")
    gt = read_view_truth(ds, "evaluation", HandMeshes(ds))
    rows = [dict(zip(sub.keys(), range(len(sub.frame))))[k] for k in gt.keys()]
    np.testing.assert_allclose(sub.joints[rows, 0], gt.joints[:, 0], atol=1e-6)
    np.testing.assert_allclose(sub.vertices[rows, 0], gt.vertices[:, 0], atol=1e-6)


def test_dexycb_result_txt(standin_dir, tmp_path, capsys):
    scene = make_scene(seed=23, num_frames=3, num_cameras=2, image_size=(32, 24), fix_left_shapedirs=False,
                       render=False)
    write_dexycb(tmp_path / "raw", [DexYCBSequence(scene, 0, "20200709_140000", no_hand_frames=())], images=False)
    convert(open_reader("dexycb", tmp_path / "raw"), tmp_path / "gt", progress=False)
    ds = ShardDataset(tmp_path / "gt")
    gt = read_view_truth(ds, "s0_train")
    # The toolkit's sample order: cameras, then frames.
    order = sorted(range(len(gt.frame)), key=lambda i: (gt.camera[i], gt.frame[i]))
    lines = [",".join([str(k)] + [f"{v:.6f}" for v in (gt.joints[i, 0] * MM_PER_M).ravel()])
             for k, i in enumerate(order)]
    (tmp_path / "res.txt").write_text("\n".join(lines) + "\n")
    sub = read_submission(tmp_path / "res.txt", ds, "s0_train")
    assert check_submission(sub, gt) == []
    with pytest.raises(SystemExit) as e:
        main(["check-submission", "--gt", str(tmp_path / "gt"), "--pred", str(tmp_path / "res.txt")])
    assert e.value.code == 0 and "OK" in capsys.readouterr().out
    (tmp_path / "bad.txt").write_text("0,1,2\n")
    with pytest.raises(SystemExit) as e:
        main(["check-submission", "--gt", str(tmp_path / "gt"), "--pred", str(tmp_path / "bad.txt")])
    assert e.value.code == 2 and "bad.txt:1: 3 fields, expected 64" in capsys.readouterr().err


def test_units_are_measured_in_both_directions_with_the_fix_from_the_scale(ih, tmp_path):
    ds, gt = ih
    joints = np.where(gt.valid[..., None], gt.joints, 0.0)
    for factor, fix in ((100.0, "0.01"), (1000.0, "0.001"), (0.001, "1000")):
        problems = check_submission(read_submission(_npz(tmp_path / "p.npz", gt, joints * factor)), gt)
        assert [(p["check"], p["severity"]) for p in problems] == [("units", "error")], factor
        assert f"multiply every joint coordinate by {fix}" in problems[0]["fix"]


def test_heuristics_warn_and_facts_refuse(ih, tmp_path):
    ds, gt = ih
    joints = np.where(gt.valid[..., None], gt.joints, 0.0)
    problems = check_submission(read_submission(_npz(tmp_path / "s.npz", gt, joints[:, ::-1])), gt)
    assert [(p["check"], p["severity"]) for p in problems] == [("hands", "warning")]
    one = joints.copy()
    one[:, 0] = np.nan  # the right hand, annotated, left out
    problems = check_submission(read_submission(_npz(tmp_path / "m.npz", gt, one)), gt)
    assert [(p["check"], p["severity"]) for p in problems] == [("missing", "error")]


def test_vertex_only_submissions(ih, tmp_path):
    from handeval.scoring.protocols import load_protocol
    from handeval.zoo.baselines import ground_truth_submission

    ds, gt = ih
    full = ground_truth_submission(ds, "test")
    # Hands without a MANO fit have no ground-truth mesh; a model predicts them anyway.
    full.vertices = np.where(np.isfinite(full.vertices), full.vertices, np.nanmean(full.vertices, axis=0))
    np.savez(tmp_path / "v.npz", sequence=full.sequence, frame=full.frame, camera=full.camera,
             vertices=full.vertices)
    sub = read_submission(tmp_path / "v.npz")
    assert not sub.has_joints
    assert check_submission(sub, gt, load_protocol("interhand26m-5fps-ih/intaghand")) == []
    problems = check_submission(sub, gt, load_protocol("interhand26m-5fps/official"))
    assert [p["check"] for p in problems] == ["fields"]
    np.savez(tmp_path / "mm.npz", sequence=full.sequence, frame=full.frame, camera=full.camera,
             vertices=full.vertices * 1000)
    problems = check_submission(read_submission(tmp_path / "mm.npz"), gt)
    assert [p["check"] for p in problems] == ["units"] and "vertex coordinate" in problems[0]["fix"]
    np.savez(tmp_path / "both.npz", sequence=full.sequence, frame=full.frame, camera=full.camera,
             joints=full.joints * 1000, vertices=full.vertices * 1000)
    problems = check_submission(read_submission(tmp_path / "both.npz"), gt)
    assert [p["check"] for p in problems] == ["units", "units"]  # each field named with its own fix


def test_native_formats_units_duplicates_and_vertex_counts(standin_dir, tmp_path):
    scene = make_scene(seed=24, num_frames=3, num_cameras=2, image_size=(32, 24), fix_left_shapedirs=False,
                       render=False)
    write_dexycb(tmp_path / "raw", [DexYCBSequence(scene, 0, "20200709_140000", no_hand_frames=(),
                                                   no_hand_views=((1, 0),))], images=False)
    convert(open_reader("dexycb", tmp_path / "raw"), tmp_path / "gt", progress=False)
    ds = ShardDataset(tmp_path / "gt")
    gt = read_view_truth(ds, "s0_train")
    order = sorted(range(len(gt.frame)), key=lambda i: (gt.camera[i], gt.frame[i]))

    def write(name, scale, extra=()):
        rows = []
        for k, i in enumerate(order):
            p = np.zeros((21, 3)) if not gt.present[i].any() else gt.joints[i, 0] * scale
            rows.append(",".join([str(k)] + [f"{v:.9f}" for v in p.ravel()]))
        (tmp_path / name).write_text("\n".join(rows + list(extra)) + "\n")
        return check_submission(read_submission(tmp_path / name, ds, "s0_train"), gt)

    assert write("ok.txt", MM_PER_M) == []  # the no-hand view's line of zeros is ignored, as in hpe_eval
    metres = write("m.txt", 1.0)
    assert [p["check"] for p in metres] == ["units"] and "by 1000" in metres[0]["fix"]
    assert "millimetres" in metres[0]["fix"] and "metres" in metres[0]["message"]
    dup = write("d.txt", MM_PER_M, extra=["0," + ",".join(["0"] * 63)])
    assert [p["check"] for p in dup] == ["duplicates"] and "image_id 0" in dup[0]["message"]

    ho = make_scene(seed=25, num_frames=3, num_cameras=1, image_size=(32, 24), objects=("box",), render=False)
    write_ho3d(tmp_path / "h", [HO3DSequence(ho, "evaluation", "AP10", 0)], images=False)
    convert(open_reader("ho3d", tmp_path / "h"), tmp_path / "hgt", progress=False)
    hds = ShardDataset(tmp_path / "hgt")
    hgt = read_view_truth(hds, "evaluation", HandMeshes(hds))
    xyz = np.asarray(json.loads((tmp_path / "h" / "evaluation_xyz.json").read_text()))
    verts = np.asarray(json.loads((tmp_path / "h" / "evaluation_verts.json").read_text()))
    (tmp_path / "mm.json").write_text(json.dumps([(xyz * 1000).tolist(), (verts * 1000).tolist()]))
    problems = check_submission(read_submission(tmp_path / "mm.json", hds, "evaluation"), hgt)
    assert problems[0]["check"] == "units" and "by 0.001" in problems[0]["fix"]
    bad = verts.tolist()
    bad[1] = bad[1][:700]
    (tmp_path / "v.json").write_text(json.dumps([xyz.tolist(), bad]))
    problems = check_submission(read_submission(tmp_path / "v.json", hds, "evaluation"), hgt)
    assert [p["check"] for p in problems] == ["shapes"] and "entry 1 holds 700" in problems[0]["message"]
    ragged = xyz.tolist()
    ragged[2] = ragged[2][:20]
    (tmp_path / "r.json").write_text(json.dumps([ragged, verts.tolist()]))
    with pytest.raises(HandevalError, match="joint entry 2"):
        read_submission(tmp_path / "r.json", hds, "evaluation")


KNOWN = "the known {kind}s are sequence, frame, camera, joints, vertices, hand_scores"


@pytest.mark.parametrize("suffix", ["parquet", "npz"])
@pytest.mark.parametrize("rename, extra, said", [
    ({}, {"confidence": 1.0}, ["unknown {kind} 'confidence';", KNOWN]),
    ({}, {"hand_score": 1.0}, ["unknown {kind} 'hand_score' (did you mean 'hand_scores'?)", KNOWN]),
    ({"camera": "cam"}, {}, ["missing {kind}(s) camera; unknown {kind} 'cam' (did you mean 'camera'?)", KNOWN]),
], ids=["extra", "misspelt", "renamed-key"])
def test_unknown_fields_are_refused_with_the_likely_one(ih, tmp_path, suffix, rename, extra, said):
    """A field the format lacks would be dropped unnoticed (a misspelt hand_scores makes handedness n/a)."""
    _, gt = ih
    n = len(gt.frame)
    fields = {"sequence": gt.sequence.astype(str), "frame": gt.frame, "camera": gt.camera.astype(str),
              "joints": np.nan_to_num(gt.joints).reshape(n, -1), **{k: np.full((n, 2), v) for k, v in extra.items()}}
    fields = {rename.get(k, k): v for k, v in fields.items()}
    path = tmp_path / f"s.{suffix}"
    if suffix == "npz":
        np.savez(path, **{k: v.reshape((n, 2, 21, 3)) if k == "joints" else v for k, v in fields.items()})
    else:
        pq.write_table(pa.table({k: list(v) if v.ndim > 1 else v for k, v in fields.items()}), path)
    kind = "column" if suffix == "parquet" else "array"
    with pytest.raises(HandevalError) as err:
        read_submission(path)
    assert str(err.value).startswith(f"{path}: ") and all(s.format(kind=kind) in str(err.value) for s in said)


def test_pandas_index_columns_are_not_unknown(ih, tmp_path):
    import pandas as pd

    _, gt = ih
    joints = np.where(gt.valid[..., None], gt.joints, 0.0)
    frame = pd.DataFrame({**_keys(gt), "joints": list(joints.reshape(len(joints), -1))}, index=gt.frame * 10)
    frame.to_parquet(tmp_path / "pd.parquet")
    assert "__index_level_0__" in pq.read_schema(tmp_path / "pd.parquet").names
    np.testing.assert_allclose(read_submission(tmp_path / "pd.parquet").joints, joints)


def test_a_misspelt_column_is_refused_by_check_submission_and_score(interhand_shards, baseline_submissions, handeval,
                                                                    tmp_path):
    table = pq.read_table(baseline_submissions("interhand26m")["oracle-noise"])
    path = tmp_path / "typo.parquet"
    pq.write_table(table.append_column("hand_score", pa.array(np.ones((table.num_rows, 2)).tolist())), path)
    msg = user_error(*handeval("check-submission", "--gt", interhand_shards, "--pred", path)[::2], "hand_score")
    assert "did you mean 'hand_scores'?" in msg
    user_error(*handeval("score", "--gt", interhand_shards, "--pred", path, "--protocol",
                         "interhand26m-5fps/official", "--bootstrap", "0", "--out", tmp_path / "r.json")[::2],
               "unknown column 'hand_score' (did you mean 'hand_scores'?)")
    assert not (tmp_path / "r.json").exists()


def test_the_fields_a_protocol_requires_are_enforced(interhand_shards, baseline_submissions, handeval, tmp_path):
    """Under a protocol that derives joints from the meshes, a submission without vertices is refused
    (its MPJPE would otherwise come from the joints it did submit); a field the protocol does not use
    is fine."""
    from handeval.scoring.protocols import load_protocol
    from handeval.scoring.submissions import SubmissionSource, write_submission

    gt = read_view_truth(ShardDataset(interhand_shards), "test")
    noisy = baseline_submissions("interhand26m")["oracle-noise"]
    intaghand, official = (load_protocol(f"interhand26m-5fps{n}") for n in ("-ih/intaghand", "/official"))
    streamed = SubmissionSource(noisy).all  # its vertices left unread, yet there
    assert streamed.vertices is None and streamed.has_vertices
    assert check_submission(streamed, gt, intaghand) == check_submission(streamed, gt, official) == []
    joints_only = read_submission(noisy)
    joints_only.vertices = None
    problems = check_submission(joints_only, gt, intaghand)
    assert [(p["check"], p["severity"]) for p in problems] == [("fields", "error")]
    assert "no vertices: protocol interhand26m-5fps-ih/intaghand requires them" in problems[0]["message"]
    assert check_submission(joints_only, gt, official) == []
    path = write_submission(tmp_path / "joints.parquet", joints_only)
    code, out, _ = handeval("check-submission", "--gt", interhand_shards, "--pred", path, "--protocol",
                            intaghand.name)
    assert code == 1 and "ERROR [fields] no vertices" in out
    user_error(*handeval("score", "--gt", interhand_shards, "--pred", path, "--protocol", intaghand.name,
                         "--bootstrap", "0", "--out", tmp_path / "r.json")[::2], "[fields] no vertices")
    assert not (tmp_path / "r.json").exists() and not (tmp_path / "r.errors.parquet").exists()
