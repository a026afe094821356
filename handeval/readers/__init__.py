"""Dataset readers: official on-disk layouts -> canonical sequence records."""

from __future__ import annotations

import re
from pathlib import Path

from handeval.util.errors import HandevalError


def _tokens(variant: str | None) -> list[str]:
    """``--variant`` split on commas, colons, slashes or spaces."""
    return [t for t in re.split(r"[,:/ ]+", variant or "") if t]


def _interhand(root: Path, variant: str | None, progress: bool):
    from handeval.readers.interhand26m import InterHand26M

    opts = {"version": "v1.0", "fps": 5, "subset": "H+M"}
    for token in _tokens(variant):
        if re.fullmatch(r"\d+fps", token):
            opts["fps"] = int(token[:-3])
        elif token in ("v1.0", "v0.0"):
            opts["version"] = token
        elif token in ("H", "M", "H+M"):
            opts["subset"] = token
        else:
            raise HandevalError(f"unknown InterHand2.6M variant token {token!r}: use 5fps|30fps, v1.0|v0.0, "
                                "H|M|H+M, e.g. --variant 30fps or --variant v0.0:H")
    return InterHand26M(root, progress=progress, **opts)


def _dexycb(root: Path, variant: str | None, progress: bool):
    from handeval.readers.dexycb import DexYCB

    tokens = _tokens(variant)
    for token in tokens:
        if token != "toolkit-hpe":
            raise HandevalError(f"unknown Dex-YCB variant token {token!r}: the only one is toolkit-hpe "
                                "(drop frames without a hand, as the official HPE evaluator does)")
    return DexYCB(root, toolkit_hpe="toolkit-hpe" in tokens)


def _ho3d(root: Path, variant: str | None, progress: bool):
    from handeval.readers.ho3d import HO3D

    tokens = _tokens(variant)
    if len(tokens) > 1 or (tokens and tokens[0] not in ("v2", "v3")):
        raise HandevalError(f"HO3D variant must be v2 or v3, not {variant!r}")
    return HO3D(root, version=tokens[0] if tokens else None)  # None: detected from the tree


def _hic(root: Path, variant: str | None, progress: bool):
    from handeval.readers.hic import HIC

    if variant:
        raise HandevalError(f"HIC has no variants (got {variant!r})")
    return HIC(root)


READERS = {"interhand26m": _interhand, "hic": _hic, "dexycb": _dexycb, "ho3d": _ho3d}
#: What each reader's ``default_splits`` converts when ``--split`` is not given (for ``convert --help``).
DEFAULT_SPLITS = {"interhand26m": "every split present (train, val, test)", "hic": "test (its only split)",
                  "dexycb": "the S0 setup present (s0_train, s0_val, s0_test)",
                  "ho3d": "train and evaluation, those present"}


def open_reader(dataset: str, root: str | Path, variant: str | None = None, progress: bool = False):
    """The reader of ``dataset`` at ``root``; ``progress`` shows bars while it parses large indexes."""
    if dataset not in READERS:
        raise HandevalError(f"unknown dataset {dataset!r}; choose one of {', '.join(READERS)}")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise HandevalError(f"--root {root} does not exist or is not a folder")
    return READERS[dataset](root, variant, progress)
