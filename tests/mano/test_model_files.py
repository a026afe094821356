"""Reading, validating and importing MANO model files; bad-input messages."""

import pickle

import numpy as np
import pytest
import smplx
import torch

from handeval.mano import ManoConvention, ManoLayer, import_models, read_model_file
from handeval.mano import model_file as mf
from handeval.util.errors import HandevalError
from handeval.util.safe_pickle import stub_class


def test_standin_is_written_in_the_official_layout(standin_dir):
    raw = (standin_dir / "MANO_RIGHT.pkl").read_bytes()
    assert b"chumpy.reordering" in raw and b"Select" in raw  # shapedirs pickled as chumpy
    assert b"csc_matrix" in raw                                # J_regressor as scipy sparse
    model = read_model_file(standin_dir / "MANO_RIGHT.pkl")
    assert model.had_chumpy and model.synthetic and model.side == "right"
    for key, shape in mf.REQUIRED_SHAPES.items():
        assert model.arrays[key].shape == shape


def test_chumpy_select_with_permuted_indices():
    """Select stubs evaluate a.ravel()[idxs] reshaped, as chumpy computes it."""
    ch = stub_class("chumpy.ch", "Ch")()
    ch.__setstate__({"x": np.arange(6.0), "_dirty_vars": set()})
    sel = stub_class("chumpy.reordering", "Select")()
    sel.__setstate__({"a": ch, "idxs": np.array([5, 0, 3, 1]), "preferred_shape": (2, 2)})
    np.testing.assert_array_equal(mf._materialise(sel, "k"), [[5.0, 0.0], [3.0, 1.0]])


def test_refuses_arbitrary_classes(tmp_path):
    class Evil:
        def __reduce__(self):
            import os
            return (os.system, ("echo pwned",))

    path = tmp_path / "MANO_RIGHT.pkl"
    path.write_bytes(pickle.dumps({"v_template": Evil()}, protocol=2))
    with pytest.raises(HandevalError, match=r"MANO_RIGHT.pkl.*refusing to load class"):
        read_model_file(path)


def _write_npz(path, arrays):
    np.savez(path, **arrays)
    return path


def test_wrong_shape_names_key_expected_and_found(standin_dir, tmp_path):
    arrays = dict(read_model_file(standin_dir / "MANO_RIGHT.pkl").arrays)
    arrays["shapedirs"] = arrays["shapedirs"][..., :9]
    path = _write_npz(tmp_path / "MANO_RIGHT.npz", arrays)
    with pytest.raises(HandevalError) as err:
        read_model_file(path)
    msg = str(err.value)
    assert "shapedirs" in msg and "(778, 3, 10)" in msg and "(778, 3, 9)" in msg and str(path) in msg


def test_missing_key_and_bad_tree(standin_dir, tmp_path):
    arrays = dict(read_model_file(standin_dir / "MANO_RIGHT.pkl").arrays)
    del arrays["posedirs"]
    with pytest.raises(HandevalError, match="'posedirs' is missing"):
        read_model_file(_write_npz(tmp_path / "MANO_RIGHT.npz", arrays))
    arrays = dict(read_model_file(standin_dir / "MANO_RIGHT.pkl").arrays)
    arrays["kintree_table"] = arrays["kintree_table"].copy()
    arrays["kintree_table"][0, 3] = 0
    with pytest.raises(HandevalError, match="kintree_table"):
        read_model_file(_write_npz(tmp_path / "MANO_LEFT.npz", arrays))


@pytest.mark.parametrize("content", [b"", b"not a pickle at all", b"\x80\x02}q\x00(U\x01"])
def test_corrupt_file_is_named(tmp_path, content):
    path = tmp_path / "MANO_LEFT.pkl"
    path.write_bytes(content)
    with pytest.raises(HandevalError, match=f"{path}"):
        read_model_file(path)
    npz = tmp_path / "MANO_LEFT.npz"
    npz.write_bytes(content)
    with pytest.raises(HandevalError, match=f"{npz}"):
        read_model_file(npz)


def test_missing_mano_dir_message(tmp_path, monkeypatch):
    from handeval.mano import mano_files

    with pytest.raises(HandevalError) as err:
        mano_files(tmp_path / "nope")
    msg = str(err.value)
    assert "--mano-dir" in msg and "HANDEVAL_MANO_DIR" in msg and "handeval mano import" in msg
    monkeypatch.setenv("HANDEVAL_MANO_DIR", str(tmp_path / "also-nope"))
    with pytest.raises(HandevalError, match="HANDEVAL_MANO_DIR"):
        mano_files(None)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(HandevalError, match="no MANO_RIGHT.npz or MANO_RIGHT.pkl"):
        mano_files(empty)


def test_import_round_trip_and_smplx_reads_it(standin_dir, tmp_path):
    dst = tmp_path / "mano"
    written = import_models(standin_dir, dst)
    assert sorted(out.name for _, out in written) == ["MANO_LEFT.npz", "MANO_RIGHT.npz"]
    again = import_models(standin_dir, dst)  # idempotent
    assert [o for _, o in again] == [o for _, o in written]
    for side in ("right", "left"):
        original = read_model_file(standin_dir / f"MANO_{side.upper()}.pkl")
        imported = read_model_file(dst / f"MANO_{side.upper()}.npz")
        assert imported.synthetic and not imported.had_chumpy
        for key, value in original.arrays.items():
            np.testing.assert_array_equal(imported.arrays[key], value)
    # smplx's own loader reads the imported file: same mesh as our layer.
    pose = torch.tensor(np.random.default_rng(0).normal(0, 0.3, (2, 45)), dtype=torch.float32)
    theirs = smplx.MANO(str(dst / "MANO_RIGHT.npz"), ext="npz", use_pca=False, flat_hand_mean=True, batch_size=2)
    ours = ManoLayer(read_model_file(dst / "MANO_RIGHT.npz"), ManoConvention(flat_hand_mean=True))
    with torch.no_grad():
        v_theirs = theirs(hand_pose=pose, global_orient=torch.zeros(2, 3), betas=torch.zeros(2, 10)).vertices
        v_ours = ours(torch.zeros(2, 3), pose).vertices
    torch.testing.assert_close(v_ours, v_theirs)


def test_import_bad_source(tmp_path):
    with pytest.raises(HandevalError, match="does not exist"):
        import_models(tmp_path / "missing", tmp_path / "out")
    (tmp_path / "src").mkdir()
    with pytest.raises(HandevalError, match="no MANO_RIGHT or MANO_LEFT"):
        import_models(tmp_path / "src", tmp_path / "out")
