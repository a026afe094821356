"""Temporal post-processors over any submission: One-Euro (causal, online) and Savitzky–Golay (centred,
not causal), with parameters in Hz and seconds relative to the sequence's frame rate
(``data_specs/zoo_filters.md``).

The cores (:func:`one_euro`, :func:`savgol`) work on arrays shaped (T, ...), time first, NaN for a
point absent at a time step; :func:`filter_submission` applies one of :data:`FILTERS` to a
:class:`~handeval.scoring.submissions.Submission`, track by track, where a track is a (sequence,
camera) sorted by frame, cut into segments wherever its frame step differs from its smallest one.
Time is the row's position within its segment divided by the release frame rate ``fps``, not the
frame number: InterHand2.6M's frame numbers count capture frames at 30 or 90 Hz depending on the
capture, so their step is not a fixed number of released frames.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.signal import savgol_coeffs, savgol_filter

from handeval.scoring.submissions import Submission
from handeval.shards.views import track_steps
from handeval.util.errors import HandevalError, did_you_mean
from handeval.zoo.registry import get_entry, input_provenance, provenance

#: Released frame rates (frames per second) per dataset name and the variant's leading words, as the
#: manifest's ``dataset`` records them. Sources: data_specs/zoo_filters.md; a dataset not listed needs --fps.
RELEASE_FPS: dict[str, dict[str, float]] = {"InterHand2.6M": {"5 fps": 5.0, "30 fps": 30.0}}
#: Floats per padded chunk the filters work on at once: bounds memory for submissions with vertices.
_CHUNK_ELEMENTS = 1 << 24


def release_fps(name: str, variant: str) -> float | None:
    """The released frame rate of a dataset as its manifest names it (``dataset.name``, ``dataset.variant``),
    or None when :data:`RELEASE_FPS` does not know it."""
    for prefix, fps in RELEASE_FPS.get(name, {}).items():
        if re.match(re.escape(prefix) + r"\b", variant):
            return fps
    return None


def resolve_fps(fps: float | None, name: str | None = None, variant: str = "") -> float:
    """``fps`` when given, else the released frame rate of the dataset ``name`` (``variant``)."""
    if fps is None:
        fps = release_fps(name, variant) if name is not None else None
        if fps is None:
            known = "; ".join(f"{n} {', '.join(v)}" for n, v in RELEASE_FPS.items())
            what = f"{name} ({variant})" if name is not None else "the submission's dataset"
            raise HandevalError(f"the frame rate of {what} is not recorded in the converted data nor known to handeval "
                                f"(known: {known}); pass --fps with the released frames per second of the sequences")
    if not (np.isfinite(fps) and fps > 0):
        raise HandevalError(f"--fps {fps}: the frame rate must be a positive number of frames per second")
    return float(fps)


def _alpha(cutoff_hz, dt):
    """The smoothing factor of a first-order low-pass at ``cutoff_hz`` sampled every ``dt`` seconds."""
    tau = 1.0 / (2.0 * np.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt)


def one_euro(x: np.ndarray, t: np.ndarray, min_cutoff_hz: float = 1.0, beta: float = 0.0,
             d_cutoff_hz: float = 1.0, share_axes: tuple[int, ...] = ()) -> np.ndarray:
    """The One-Euro filter (Casiez, Roussel, Vogel, CHI 2012) of ``x`` (T, ...) sampled at times ``t`` (T,)
    in seconds: a first-order low-pass whose cutoff is ``min_cutoff_hz + beta * |speed|``, the speed being
    the derivative low-passed at ``d_cutoff_hz`` (``beta`` in Hz per unit of x per second). Causal: output
    t reads inputs up to t only. A NaN input gives NaN and forgets that element's state, so the filter
    restarts at the next finite value. ``share_axes``: axes of ``x`` (not 0) over which the speed is
    averaged, so that those elements share one cutoff and the filter is the same linear map on all of them.
    """
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    if t.shape != x.shape[:1]:
        raise HandevalError(f"one_euro: t has shape {t.shape}, expected ({x.shape[0]},), one time per row of x")
    dts = np.diff(t)
    if (dts <= 0).any():
        raise HandevalError("one_euro: the times t must increase strictly (seconds)")
    out = np.empty_like(x)
    if not len(x):
        return out
    x_hat = x[0].copy()
    dx_hat = np.where(np.isfinite(x_hat), 0.0, np.nan)
    out[0] = x_hat
    for i, dt in enumerate(dts, start=1):
        xi = x[i]
        fresh = np.isnan(x_hat)
        a_d = _alpha(d_cutoff_hz, dt)
        dx_hat = a_d * (xi - x_hat) / dt + (1.0 - a_d) * dx_hat
        speed = np.abs(dx_hat)
        if share_axes:
            known = np.isfinite(speed)
            axes = tuple(a - 1 for a in share_axes)
            speed = (np.where(known, speed, 0.0).sum(axis=axes, keepdims=True)
                     / np.maximum(known.sum(axis=axes, keepdims=True), 1))
        a = _alpha(min_cutoff_hz + beta * speed, dt)
        # x_hat + a (x - x_hat) rather than a x + (1 - a) x_hat: a constant input stays exactly constant.
        x_hat = np.where(fresh, xi, x_hat + a * (xi - x_hat))
        dx_hat = np.where(fresh & np.isfinite(xi), 0.0, dx_hat)
        out[i] = x_hat
    return out


def savgol_window(window_s: float, fps: float) -> int:
    """The odd number of frames nearest to ``window_s`` seconds at ``fps`` frames per second (a tie: the larger)."""
    return max(1, 2 * int(np.floor((window_s * fps - 1.0) / 2.0 + 0.5)) + 1)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True in a 1-D mask."""
    edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(np.int8), 0]))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _mask_groups(finite: np.ndarray) -> np.ndarray:
    """(C,) the group of each column of ``finite`` (T, C), columns of a group having the same mask. A random
    projection sorts far faster than the rows themselves; the groups are then checked, so they are exact."""
    packed = np.packbits(finite, axis=0)                                   # (ceil(T / 8), C)
    projection = np.random.default_rng(0).random(len(packed)) @ packed
    _, first, which = np.unique(projection, return_index=True, return_inverse=True)
    if (packed[:, first[which]] == packed).all():
        return which
    return np.unique(packed.T, axis=0, return_inverse=True)[1].ravel()


def _savgol_interp(x: np.ndarray, window: int, polyorder: int) -> np.ndarray:
    """``savgol_filter(x, window, polyorder, axis=0, mode="interp")``, its edges as one matrix product each
    (the polynomial fitted to the first or last window, evaluated there): scipy fits them with a least-squares
    solve over every column, far slower on the thousands of columns of a hand's vertices."""
    half = window // 2
    if not half:
        return x.copy()
    out = savgol_filter(x, window, polyorder, axis=0, mode="nearest")
    head = np.stack([savgol_coeffs(window, polyorder, pos=i, use="dot") for i in range(half)])
    tail = np.stack([savgol_coeffs(window, polyorder, pos=half + 1 + i, use="dot") for i in range(half)])
    out[:half] = head @ x[:window]
    out[len(x) - half:] = tail @ x[len(x) - window:]
    return out


def savgol(x: np.ndarray, window: int, polyorder: int) -> np.ndarray:
    """The centred Savitzky–Golay filter of ``x`` (T, ...) along time (``scipy.signal.savgol_filter``,
    ``mode="interp"``: the edges take the polynomial fitted to the first or last window). Not causal.

    Each run of finite values of an element is filtered alone, NaN stays NaN; a run shorter than
    ``window`` gets the largest odd window it holds, and one of at most ``polyorder + 1`` frames is
    returned as it is (the polynomial through it is exact). Elements with the same runs are filtered in
    one call.
    """
    if window < 1 or window % 2 == 0 or window <= polyorder:
        raise HandevalError(f"savgol: window {window} must be an odd number of frames greater than polyorder "
                            f"{polyorder}")
    x = np.asarray(x, dtype=np.float64)
    flat = x.reshape(len(x), -1)
    out = np.full_like(flat, np.nan)
    finite = np.isfinite(flat)
    if not flat.size:
        return out.reshape(x.shape)
    which = _mask_groups(finite)
    for p in range(which.max() + 1):
        cols = np.flatnonzero(which == p)
        first = cols[0]
        if len(cols) == flat.shape[1]:
            cols = slice(None)   # a basic slice: no copy of the whole array
        for start, stop in _runs(finite[:, first]):
            n = stop - start
            w = min(window, n if n % 2 else n - 1)
            part = flat[start:stop, cols]
            out[start:stop, cols] = part if w <= polyorder else _savgol_interp(part, w, polyorder)
    return out.reshape(x.shape)


def _positive(name: str, value, integer: bool = False, zero: bool = False) -> float:
    ok = isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and np.isfinite(value) \
        and (value >= 0 if zero else value > 0) and (not integer or float(value).is_integer())
    if not ok:
        kind = "integer" if integer else "number"
        raise HandevalError(f"filter parameter {name}={value!r}: expected a {'non-negative' if zero else 'positive'} "
                            f"{kind}")
    return int(value) if integer else float(value)


def _one_euro_settings(fps: float, p: dict) -> dict:
    return {"min_cutoff_hz": _positive("min_cutoff_hz", p["min_cutoff_hz"]),
            "beta": _positive("beta", p["beta"], zero=True),
            "d_cutoff_hz": _positive("d_cutoff_hz", p["d_cutoff_hz"]),
            "beta_units": "Hz per (m/s): the speed is in metres per second",
            "cutoff_shared": "per hand and frame, from the mean |speed| over the hand's coordinates"}


def _one_euro_run(x: np.ndarray, fps: float, s: dict) -> np.ndarray:
    # x is (L, S, 2, P, 3): one cutoff per hand (axis 2) of each segment (axis 1), shared by its P points.
    return one_euro(x, np.arange(len(x)) / fps, s["min_cutoff_hz"], s["beta"], s["d_cutoff_hz"], share_axes=(3, 4))


def _savgol_settings(fps: float, p: dict) -> dict:
    window_s = _positive("window_s", p["window_s"])
    polyorder = _positive("polyorder", p["polyorder"], integer=True, zero=True)
    window = savgol_window(window_s, fps)
    if window <= polyorder:
        raise HandevalError(f"filter parameter window_s={window_s}: at {fps:g} fps it spans {window} frame(s), "
                            f"which polyorder {polyorder} needs more than; give window_s of at least "
                            f"{(polyorder + 2) / fps:.3g} s")
    return {"window_s": window_s, "window_frames": window, "polyorder": polyorder, "mode": "interp"}


def _savgol_run(x: np.ndarray, fps: float, s: dict) -> np.ndarray:
    return savgol(x, s["window_frames"], s["polyorder"])


@dataclass(frozen=True)
class TemporalFilter:
    """A filter of :data:`FILTERS`: ``causal`` (reads no future frame), its parameters with their
    defaults (a starting point, to be tuned on a validation split only)."""

    name: str
    causal: bool
    defaults: dict
    summary: str
    _settings: Callable[[float, dict], dict]
    _run: Callable[[np.ndarray, float, dict], np.ndarray]

    def settings(self, fps: float, **params) -> dict:
        """The validated parameters, with what they derive at ``fps``, as the provenance records them."""
        for key in params:
            if key not in self.defaults:
                close = did_you_mean(key, self.defaults)
                raise HandevalError(f"{self.name} has no parameter {key!r}"
                                    + (f" (did you mean {close!r}?)" if close else "")
                                    + f"; its parameters are {', '.join(self.defaults)}")
        return self._settings(fps, {**self.defaults, **params})


FILTERS: dict[str, TemporalFilter] = {
    "one-euro": TemporalFilter(
        "one-euro", True, {"min_cutoff_hz": 1.0, "beta": 0.0, "d_cutoff_hz": 1.0},
        "One-Euro (Casiez et al. CHI 2012): adaptive first-order low-pass, online", _one_euro_settings, _one_euro_run),
    "savitzky-golay": TemporalFilter(
        "savitzky-golay", False, {"window_s": 0.3, "polyorder": 2},
        "Savitzky–Golay (scipy.signal.savgol_filter): centred local polynomial fit", _savgol_settings, _savgol_run),
}


def _segments(sub: Submission) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows sorted by (sequence, camera, frame), and the [start, stop) of each segment in that order:
    a track cut wherever its frame step is not the track's smallest (a gap, missing frames)."""
    order, even = track_steps(sub.sequence, sub.camera, sub.frame)
    same = np.r_[False, (sub.sequence[order][1:] == sub.sequence[order][:-1])
                 & (sub.camera[order][1:] == sub.camera[order][:-1])]
    dup = np.flatnonzero(same & (np.r_[0, np.diff(sub.frame[order])] == 0))
    if len(dup):
        i = order[dup[0]]
        raise HandevalError(f"{sub.path or 'the submission'}: view (sequence {sub.sequence[i]!r}, frame "
                            f"{sub.frame[i]}, camera {sub.camera[i]!r}) is on {len(dup) + 1}+ rows; give one row per "
                            "view (handeval check-submission lists the duplicates)")
    starts = np.flatnonzero(~even)
    return order, starts, np.r_[starts[1:], len(order)]


def _chunks(starts: np.ndarray, stops: np.ndarray, per_row: int):
    """Segments, longest first, in groups whose NaN-padded array stays near :data:`_CHUNK_ELEMENTS`."""
    lengths = stops - starts
    by = np.argsort(-lengths, kind="stable")
    group: list[int] = []
    for s in by.tolist():
        if group and lengths[group[0]] * (len(group) + 1) * per_row > _CHUNK_ELEMENTS:
            yield group
            group = []
        group.append(s)
    if group:
        yield group


def filter_submission(sub: Submission, name: str, fps: float, **params) -> Submission:
    """``sub`` with its joints and vertices filtered by ``FILTERS[name]`` along each (sequence, camera)
    track, at ``fps`` released frames per second (:func:`resolve_fps`); ``params``: the filter's
    (:attr:`TemporalFilter.defaults`). Rows keep their order; NaN stays NaN; hand scores are kept.

    MANO parameters are dropped: the filtered vertices and joints are no longer the MANO layer's output
    of any parameters, and a linear filter of axis-angle poses is not a rotation filter. Every point of a
    hand goes through the same linear filter at each frame, so joints derived from the vertices by a
    linear regressor equal the filtered joints.
    """
    spec = FILTERS.get(name)
    if spec is None:
        close = did_you_mean(name, FILTERS)
        raise HandevalError(f"unknown filter {name!r}" + (f" (did you mean {close!r}?)" if close else "")
                            + f"; the filters are {', '.join(FILTERS)}")
    fps = resolve_fps(fps)
    settings = spec.settings(fps, **params)
    if sub.vertices_unread:
        raise HandevalError(f"{sub.path}: its vertices were left unread; read the whole submission "
                            "(handeval.scoring.read_submission) before filtering it")
    parts = ([sub.joints] if sub.has_joints else []) + ([sub.vertices] if sub.vertices is not None else [])
    sizes = [p.shape[2] for p in parts]
    filtered = [np.full(p.shape, np.nan, dtype=p.dtype) for p in parts]
    order, starts, stops = _segments(sub)
    for group in _chunks(starts, stops, 2 * sum(sizes) * 3):
        length = int(stops[group[0]] - starts[group[0]])
        pos = starts[group][None, :] + np.arange(length)[:, None]           # (L, S) rows in sorted order
        inside = pos < stops[group][None, :]
        rows = order[np.where(inside, pos, 0)]
        x = np.concatenate([np.where(inside[..., None, None, None], p[rows], np.nan) for p in parts], axis=3)
        y = spec._run(x, fps, settings)
        for out, (lo, hi) in zip(filtered, zip(np.cumsum([0] + sizes[:-1]), np.cumsum(sizes))):
            out[rows[inside]] = y[inside][:, :, lo:hi]
    joints = filtered.pop(0) if sub.has_joints else sub.joints
    vertices = filtered.pop(0) if sub.vertices is not None else None
    mano = any(getattr(sub, f) is not None for f in ("mano_pose", "mano_shape", "mano_trans"))
    made = provenance(get_entry(name), params={"fps": fps, **settings}, input=input_provenance(sub),
                      time="row position within a segment / fps; a segment ends where the track's frame step "
                           "differs from its smallest", mano="dropped" if mano else "none in the input")
    return Submission(None, f"{sub.format}+{name}", sub.sequence, sub.frame, sub.camera, joints, vertices,
                      sub.hand_scores, sub.has_joints, provenance=made)
