"""The zoo's entries by name: the built-in ones below, and those third-party packages add through
the entry-point group ``handeval.models`` (``data_specs/zoo.md``, the README's plug-in example).

An entry point names a :class:`~handeval.zoo.entry.ModelEntry`, a sequence of them, or a function
of no arguments returning either; it is loaded when the registry is first asked, and a broken
plug-in is reported by name, never silently skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import entry_points

from handeval.util.errors import HandevalError, did_you_mean
from handeval.zoo.entry import BoxRule, Inputs, ModelEntry, Outputs, Weights

#: The entry-point group through which other packages add entries.
ENTRY_POINT_GROUP = "handeval.models"
_IHMR = "Rong et al., Monocular 3D Reconstruction of Interacting Hands via Collision-Aware Factorized Refinements"
_CC_BY_NC = "CC-BY-NC-4.0"

BUILTIN: tuple[ModelEntry, ...] = (
    ModelEntry(
        "oracle-noise", "baseline", "handeval.zoo.baselines:oracle_noise",
        "the ground truth's joints and vertices plus i.i.d. Gaussian noise of sigma per axis (MPJPE ~ 1.596 sigma)",
        outputs=Outputs(vertices=True, frame="camera"), oracle=True),
    ModelEntry(
        "mean-pose", "baseline", "handeval.zoo.baselines:mean_pose",
        "every hand replaced by the split's mean root-relative hand, placed at the true wrist: the floor a model "
        "that ignores the image reaches", outputs=Outputs(vertices=True, frame="camera"), oracle=True),
    ModelEntry(
        "smoothed-noise", "baseline", "handeval.zoo.baselines:smoothed_noise",
        "oracle-noise averaged over a centred window of frames along each camera's track",
        outputs=Outputs(vertices=True, frame="camera"), oracle=True, causal=False),
    ModelEntry(
        "swapped-hands", "baseline", "handeval.zoo.baselines:swapped_hands",
        "oracle-noise with right and left exchanged where both hands are there (the hand-order check warns)",
        outputs=Outputs(vertices=True, frame="camera"), oracle=True),
    ModelEntry(
        "mano-noise", "baseline", "handeval.zoo.baselines:mano_noise",
        "the ground truth's MANO fit in each camera plus Gaussian noise on pose and translation, meshed by MANO: "
        "the refinement's starting point", outputs=Outputs(vertices=True, mano=True, frame="camera"), oracle=True),
    ModelEntry(
        "one-euro", "filter", "handeval.zoo.filters:filter_submission",
        "One-Euro filter along each camera's track (Casiez et al. 2012), cut-offs in Hz: online, reads no future "
        "frame", outputs=Outputs(vertices=True, frame="camera"), causal=True),
    ModelEntry(
        "savitzky-golay", "filter", "handeval.zoo.filters:filter_submission",
        "centred Savitzky-Golay filter along each camera's track, window in seconds: reads future frames",
        outputs=Outputs(vertices=True, frame="camera"), causal=False),
    ModelEntry(
        "ihmr-opt", "optimizer", "handeval.zoo.postprocess:refine_file",
        "IHMR-OPT: collision-aware factorised refinement of a prediction's MANO (relative translation, global "
        "orientations, finger poses, shapes; Adam; per-sample verification), fitted to the prediction's own joints",
        paper=_IHMR, outputs=Outputs(vertices=True, mano=True, frame="camera"),
        reported={"speed": {"value": 0.89, "unit": "FPS", "hardware": "not stated; the code runs batch 512 on 2 GPUs",
                            "source": _IHMR}}),
    ModelEntry(
        "fit-mano", "optimizer", "handeval.zoo.postprocess:fit_file",
        "MANO fitted to a joints-only prediction (the refinement's optimiser), so that MPVPE and the penetration "
        "metrics can score it", outputs=Outputs(vertices=True, mano=True, frame="camera")),
    ModelEntry(
        "tiny", "network", "handeval.zoo.nets.tiny:build",
        "a small convolutional regressor of root-relative joints with random weights, placed at the true root: it "
        "exercises the runner, the profiler and the scoring in CI; its accuracy means nothing",
        inputs=Inputs(crop=(64, 64), mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), box="gt",
                      box_rule=BoxRule("both", 1.25, 1.0)),
        outputs=Outputs(frame="root-relative", units="m"), weights=Weights(kind="random")),
    ModelEntry(
        name="internet",
        kind="network",
        build="handeval.zoo.nets.internet:build",
        summary="InterNet: ResNet-50 + per-hand 64^3 2.5D joint heatmaps, relative root depth, handedness",
        paper="Moon et al., InterHand2.6M: A Dataset and Baseline for 3D Interacting Hand Pose Estimation "
              "from a Single RGB Image, ECCV 2020",
        code_licence="CC-BY-NC-4.0",
        datasets=("interhand26m",),
        # Official test with trans_test='gt': the annotation's box (x, y, w, h) made square by growing its
        # short side, then grown 1.25x about its centre (common/utils/preprocessing.py process_bbox); pixels
        # scaled to [0, 1] with no mean/std (data/InterHand2.6M/dataset.py: ToTensor()(img) / 255).
        inputs=Inputs(crop=(256, 256), mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), box="annotation",
                      box_rule=BoxRule(hands="both", expand=1.25, aspect=1.0)),
        outputs=Outputs(joints=True, frame="root-relative", units="mm", root=0),
        weights=Weights(kind="checkpoint", file="snapshot_20.pth.tar", key="network", renames=((r"^module\.", ""),),
                        origin="Google Drive, linked from facebookresearch/InterHand2.6M README.md under "
                               "'Pre-trained InterNet' > 'Trained on InterHand2.6M 5 fps (v1.0)' "
                               "(drive.google.com/file/d/15Akkzf1AvKm6iKYQGPhBfGLSeF9DPiFZ)",
                        licence="CC-BY-NC-4.0", parity="parity on random weights; accuracy unverified"),
        reported={"LWA-HAND Table 1 (GFlops as printed, convention unstated)":
                  {"total": 19.49, "image part": 5.37, "pose part": 14.12}},
        notes="Placement gt-root: each hand's depth is the ground truth's root depth "
              "(the official test with trans_test='gt'); the predicted relative root depth is not used for it.",
    ),
    ModelEntry(
        name="interwild",
        kind="network",
        build="handeval.zoo.nets.interwild:build",
        summary="InterWild: two-hand MANO from a person crop, hand boxes found and cropped inside the network",
        paper="Moon, Bringing Inputs to Shared Domains for 3D Interacting Hands Recovery in the Wild, CVPR 2023",
        code_licence="CC-BY-NC-4.0",
        datasets=("interhand26m", "hic"),
        # The official test crop (data/HIC/HIC.py, data/InterHand26M/InterHand26M.py) is the whole image,
        # sanitised to [0, 0, w - 1, h - 1] and grown to 384:512 with extend_ratio 1.0 (process_bbox).
        inputs=Inputs(crop=(512, 384), box="image", box_rule=BoxRule(hands="both", expand=1.0, aspect=384 / 512)),
        outputs=Outputs(joints=True, vertices=True, mano=True, frame="root-relative"),
        weights=Weights(kind="checkpoint", file="snapshot_6.pth", key="network", renames=((r"^module\.", ""),),
                        origin="Google Drive links in the README of facebookresearch/InterWild (Demo step 3 and "
                               "Test: IH26M (H+M) + MSCOCO, + ReInterHand Mugsy_cameras, + ReInterHand Ego_cameras)",
                        licence="CC-BY-NC-4.0", parity="parity on random weights; accuracy unverified"),
        notes="placement gt-root: the right wrist at the true root, the left wrist at right + predicted rel_trans",
    ),
)


def _loaded(value, where: str) -> list[ModelEntry]:
    if callable(value):
        value = value()
    items = [value] if isinstance(value, ModelEntry) else list(value) if isinstance(value, Iterable) else None
    if items is None or not all(isinstance(e, ModelEntry) for e in items):
        raise HandevalError(f"zoo plug-in {where} gave {type(value).__name__}, expected a handeval.zoo.ModelEntry, a "
                            "list of them, or a function returning either (data_specs/zoo.md)")
    return items


def entries() -> dict[str, ModelEntry]:
    """Every entry by name: the built-in ones, then the plug-ins'. A plug-in that fails to load, or
    names an entry that exists already, is refused with its distribution's name."""
    out = {e.name: e for e in BUILTIN}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        where = f"{point.name!r} ({point.value}" + (f", from {point.dist.name}" if point.dist else "") + ")"
        try:
            value = point.load()
        except Exception as exc:  # a plug-in's import can fail in any way; say whose it was
            raise HandevalError(f"zoo plug-in {where} failed to load: {type(exc).__name__}: {exc}; fix or uninstall "
                                "that package") from exc
        for entry in _loaded(value, where):
            if entry.name in out:
                raise HandevalError(f"zoo plug-in {where} adds the entry {entry.name!r}, which exists already; "
                                    "entries need distinct names")
            out[entry.name] = entry
    return out


def provenance(entry: ModelEntry, **facts) -> dict:
    """What a submission made by ``entry`` records of it (``data_specs/zoo.md``): the entry, its kind
    and flags (oracle, causal, weights), then ``facts`` (parameters, placement, weights, speed, the
    input's provenance for a post-processor). An input made with the ground truth keeps its
    ``oracle`` flag through every post-processor."""
    from handeval import __version__

    flags = entry.flags() + [f for f in (facts.pop("flags", None) or []) if f not in entry.flags()]
    made = facts.get("input") or {}
    for inherited in ("oracle", "GT root"):
        if inherited in made.get("flags", []) and inherited not in flags:
            flags.append(inherited)
    return {"entry": entry.name, "kind": entry.kind, "flags": flags, "oracle": "oracle" in flags,
            "causal": entry.causal, "paper": entry.paper, "code_licence": entry.code_licence, **facts,
            "handeval_version": __version__}


def input_provenance(sub) -> dict:
    """What a post-processor records of the submission it read: its provenance, else its identity."""
    from pathlib import Path

    from handeval.util.checksums import sha256_file

    if sub.provenance is not None:
        return sub.provenance
    if sub.path is not None:
        return {"entry": Path(sub.path).name, "format": sub.format, "sha256": sha256_file(Path(sub.path))}
    return {"entry": sub.format}


def get_entry(name: str) -> ModelEntry:
    known = entries()
    if name not in known:
        close = did_you_mean(name, known)
        raise HandevalError(f"no zoo entry {name!r}" + (f" (did you mean {close!r}?)" if close else "")
                            + f"; `handeval zoo list` shows the {len(known)} entries")
    return known[name]
