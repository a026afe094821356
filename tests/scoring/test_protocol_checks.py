"""Protocol validation is strict: a field the engine does not read, or a value of the wrong type, is one
user error naming the field, never ignored (a misspelt field would score another definition) nor a crash."""

import copy
import json

import pytest
from commandline import user_error

from handeval.scoring.protocols import load_protocol, protocol_names, validate_spec
from handeval.scoring.quantities import QUANTITY_KINDS
from handeval.util.errors import HandevalError


def _spec(name: str) -> dict:
    return copy.deepcopy(load_protocol(name).spec)


def _rename(obj: dict, old: str, new: str) -> None:
    obj[new] = obj.pop(old)


HO3D, DEXYCB, IH = "ho3d-v3/official", "dexycb-s0/toolkit", "interhand26m-5fps/official"
CASES = [
    # unknown fields, at every level, with the known ones and a likely fix
    (DEXYCB, lambda s: s.update(comment="x"), "comment: unknown field; the fields of a protocol are schema, name"),
    (DEXYCB, lambda s: _rename(s["dataset"], "split", "splits"), "dataset.split: missing"),
    (IH, lambda s: _rename(s["dataset"], "fps", "fsp"), "dataset.fsp: unknown field; the fields of `dataset` are "
     "name, version, fps, split: did you mean 'fps'?"),
    (DEXYCB, lambda s: s["select"].update(hands=2), "select.hands: unknown field; selections are hand_types"),
    (DEXYCB, lambda s: _rename(s["ground_truth"], "joints", "joint"), "ground_truth.joint: unknown field; the "
     "fields of `ground_truth` are joints, tips, regressor, valid: did you mean 'joints'?"),
    (DEXYCB, lambda s: _rename(s["quantities"]["root_relative"], "align", "alignment"),
     "quantities.root_relative.alignment: unknown field; the fields of a 'points' quantity are kind, both_hands, "
     "points, align, per_point: did you mean 'align'?"),
    (IH, lambda s: s["quantities"]["mrrpe"].update(align="root:0"), "quantities.mrrpe.align: unknown field; the "
     "fields of a 'mrrpe' quantity are kind, both_hands, root, absent_root"),
    (DEXYCB, lambda s: s["metrics"][0].update(official_name="x"), "metrics[0].official_name: unknown field; the "
     "fields of a metric are name, quantity, reduce, scale, unit, description, thresholds, at, where"),
    (IH, lambda s: s["metrics"][1].update(where={"hand_types": ["left"]}), "metrics[1].where.hand_types: unknown "
     "field; filters are hand_type, subset, hand, fingers: did you mean 'hand_type'?"),
    (DEXYCB, lambda s: _rename(s["metrics"][1]["thresholds"], "stop", "end"), "metrics[1].thresholds.stop: missing"),
    (DEXYCB, lambda s: s["metrics"][0].update(at=0.02), "metrics[0].at: only pck reads 'at', not "
     "per_point_then_mean: remove it"),
    # bad values: each one user error, none a crash
    (HO3D, lambda s: s["quantities"]["f_5"].update(threshold="abc"),
     'quantities.f_5.threshold: a distance in metres, e.g. 0.005 (got "abc")'),
    (HO3D, lambda s: s["quantities"]["f_5"].pop("threshold"),
     "quantities.f_5.threshold: a distance in metres, e.g. 0.005 (got nothing: it is missing)"),
    (IH, lambda s: s["quantities"]["mrrpe"].update(root="wrist"), 'quantities.mrrpe.root: a joint index, 0 to 20'),
    (HO3D, lambda s: s["quantities"]["mesh"].update(per_point="yes"), 'quantities.mesh.per_point: true or false'),
    (DEXYCB, lambda s: s["quantities"]["absolute"].update(both_hands=1), "quantities.absolute.both_hands: must be "
     "true or false, got 1"),
    (DEXYCB, lambda s: s["quantities"]["root_relative"].update(align="root:x"), 'quantities.root_relative.align: '
     '"root:x": alignments are none, root,'),
    (DEXYCB, lambda s: s["metrics"][0].update(scale="1000"), 'metrics[0].scale: must be a positive number, got '
     '"1000"'),
    (DEXYCB, lambda s: s["metrics"][1]["thresholds"].update(num=1.5), "metrics[1].thresholds.num: must be an "
     "integer, 2 or more, got 1.5"),
    (DEXYCB, lambda s: s["metrics"][0].update(reduce=["pooled"]), 'metrics[0].reduce: must be one of '
     '"per_point_then_mean", '),
    (DEXYCB, lambda s: s["metrics"][0].update(name=None), "metrics[0].name: must be a string, got null"),
    (IH, lambda s: s["select"].update(hand_types="left"), 'select.hand_types: must be a list, each one of "right"'),
    (DEXYCB, lambda s: s.update(version="1"), 'version: must be an integer, 1 or more, got "1"'),
    (DEXYCB, lambda s: s["ground_truth"].update(tips="intaghand"), "ground_truth.tips: regresses joints from the "
     "meshes: set ground_truth.joints to 'from_vertices', or remove it"),
    (DEXYCB, lambda s: s.update(requires_labels="occlusion"), 'requires_labels: must be a list of label-set names, '
     'e.g. ["occlusion"], got "occlusion"'),
    (DEXYCB, lambda s: s["quantities"]["absolute"].pop("kind"), "quantities.absolute.kind: missing; kinds are points, "
     "f_score,"),
    (DEXYCB, lambda s: s["quantities"]["absolute"].update(kind=["points"]), "quantities.absolute.kind: ['points'] is "
     "not one of points"),
]


@pytest.mark.parametrize("name, change, message", CASES, ids=[c[2].split(":")[0] + "-" + str(i)
                                                               for i, c in enumerate(CASES)])
def test_an_unknown_field_or_a_bad_value_is_refused_naming_it(name, change, message):
    spec = _spec(name)
    change(spec)
    with pytest.raises(HandevalError) as exc:
        validate_spec(spec, "p.json")
    assert str(exc.value).startswith(f"p.json: {message}"), str(exc.value)
    assert str(exc.value).endswith("(see data_specs/protocols/README.md)")


def test_every_shipped_protocol_and_its_fields_pass():
    for name in protocol_names():
        validate_spec(_spec(name), name)  # the hashes are pinned by the demo's leaderboard (test_demo_values)


def test_the_kinds_fields_are_their_documented_ones():
    for kind in QUANTITY_KINDS.values():
        for field in kind.field_names:
            assert f"`{field}`" in kind.fields, (kind.name, field)


@pytest.mark.parametrize("change, culprit", [
    (lambda s: _rename(s["quantities"]["xyz"], "align", "alignment"), "quantities.xyz.alignment: unknown field"),
    (lambda s: s["quantities"]["f_5"].update(threshold="abc"), "quantities.f_5.threshold: a distance in metres"),
], ids=["misspelt", "threshold"])
def test_score_refuses_a_bad_protocol_file_in_one_line(labelled_shards, baseline_submissions, tmp_path, handeval,
                                                      change, culprit):
    spec = _spec(HO3D)
    change(spec)
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(spec))
    code, _, err = handeval("score", "--gt", labelled_shards("ho3d"), "--pred",
                            baseline_submissions("ho3d")["oracle-noise"], "--protocol", path,
                            "--out", tmp_path / "r.json", "--bootstrap", 0)
    user_error(code, err, f"{path}: {culprit}")
    assert not (tmp_path / "r.json").exists()
