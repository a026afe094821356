"""What the demo writes, pinned by value: the safety net for refactoring (issue 11).

Every shard, label file, manifest, result, error table and leaderboard table the demo writes
(12 frames, 3 cameras, seed 0: the session's ``demo`` fixture) is decoded and summarised, and the
summary is compared with the committed one (``tests/golden/demo_values.json``):

* Parquet: per column, its strings, integers and booleans exactly (as a sha256), and its floats as
  count, NaN count, sum, sum of squares and an order-sensitive weighted sum;
* JSON: every leaf, numbers as numbers, long number lists (curves, series) as those statistics (keys
  holding file hashes are left out: they hash bytes);
* Markdown and CSV: the text with its numbers taken out (as a sha256), the numbers as statistics.

Measured speed is not a value of the demo's inputs: the zoo rows' speed cells and the results'
``submission.provenance.speed`` (throughput, device) are left out. So is what the IHMR-OPT refinement
makes (its files, its leaderboard rows): Adam's path, and each stage's accept/reject test at a
threshold, follow the last bits of float32 sums, which the machine's kernels pick; its claim is
tested with tolerances instead (tests/zoo/test_refine.py, tests/test_demo.py).

Values, not file bytes, so that a new pyarrow or zstd release does not break the test; floats with
a tolerance, because the demo computes in float32 where the datasets store float32, and the last
bits a machine's BLAS kernel picks then move the sixth digit. Refresh after a change that is meant to
change numbers with ``python tests/test_demo_values.py DEMO_DIR``.

The factory's data (``tests/factory.py``), on which the other tests run, is held to the same values:
it is the demo's, built without the demo.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

GOLDEN = Path(__file__).parent / "golden" / "demo_values.json"
PATTERNS = ("shards/*/data/*/*.parquet", "shards/*/labels/*/*/*.parquet", "shards/*/meta/info.json",
            "results/*/*.json", "results/*/*.errors.parquet", "leaderboard/leaderboard.md",
            "leaderboard/leaderboard.csv")
REL, ABS = 1e-4, 1e-6  # float32 differences of nearby numbers carry ~1e-5 relative noise
_NUMBER = re.compile(r"-?\d+\.\d+(?:e[-+]?\d+)?|-?\d+e[-+]?\d+")
#: A leaderboard's measured-speed cell (``handeval.leaderboard.build.speed_text``): this machine's, not the demo's.
#: Outputs of an optimiser, held to their claims instead of their values (see above).
_UNPINNED = "ihmr-opt"
_SPEED = re.compile(r"[-+.\de]+/s(?:, model alone [-+.\de]+/s)? \(.*?, batch \d+\)")


def _stats(values: np.ndarray) -> list:
    """Floats as count, NaN count, sum, sum of squares and an order-sensitive weighted sum."""
    v = np.asarray(values, dtype=np.float64).ravel()
    finite = np.isfinite(v)
    x, weights = v[finite], np.flatnonzero(finite) % 97 + 1.0
    return [len(v), int((~finite).sum()), float(x.sum()), float((x * x).sum()), float((x * weights).sum())]


def _column(column: pa.ChunkedArray) -> object:
    array = column.combine_chunks()
    while pa.types.is_list(array.type) or pa.types.is_fixed_size_list(array.type):
        array = pc.list_flatten(array)
    values = array.to_numpy(zero_copy_only=False)
    if values.dtype.kind != "f":
        return hashlib.sha256("\n".join(map(str, values.tolist())).encode()).hexdigest()
    return _stats(values)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _json(value) -> object:
    if isinstance(value, dict):
        return {k: _json(v) for k, v in sorted(value.items()) if "sha256" not in k and k != "speed"}
    if isinstance(value, list):
        if len(value) > 8 and all(v is None or _is_number(v) for v in value):  # a curve, a series
            return {"stats": _stats([np.nan if v is None else v for v in value])}
        return [_json(v) for v in value]
    return value


def _text(text: str) -> dict:
    """The text with its numbers taken out; the numbers as statistics (a printed digit that a rounding
    boundary moves changes a sum by far less than REL)."""
    text = _SPEED.sub("<measured speed>", "".join(line for line in text.splitlines(keepends=True)
                                                  if _UNPINNED not in line))
    return {"text": hashlib.sha256(_NUMBER.sub("#", text).encode()).hexdigest(),
            "numbers": _stats([float(x) for x in _NUMBER.findall(text)])}


def summary(path: Path) -> object:
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        return {name: _column(table.column(name)) for name in table.column_names}
    if path.suffix == ".json":
        return _json(json.loads(path.read_text()))
    return _text(path.read_text())


def summaries(demo: Path) -> dict[str, object]:
    files = sorted({p for pattern in PATTERNS for p in demo.glob(pattern) if _UNPINNED not in p.name})
    return {p.relative_to(demo).as_posix(): summary(p) for p in files}


def differences(got, want, where: str = "") -> list[str]:
    """Where ``got`` differs from ``want``: exact for text, integers and hashes; floats to REL/ABS."""
    if isinstance(want, dict):
        if not isinstance(got, dict) or set(got) != set(want):
            return [f"{where}: keys {sorted(set(got or {}) ^ set(want))}"]
        return [d for k in want for d in differences(got[k], want[k], f"{where}.{k}")]
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return [f"{where}: length"]
        return [d for i, (g, w) in enumerate(zip(got, want)) for d in differences(g, w, f"{where}[{i}]")]
    if isinstance(want, float) and _is_number(got):
        same = math.isclose(got, want, rel_tol=REL, abs_tol=ABS) or (math.isnan(got) and math.isnan(want))
        return [] if same else [f"{where}: {got!r} != {want!r}"]
    return [] if got == want else [f"{where}: {got!r} != {want!r}"]


def _changed(folder: Path, want: dict) -> list[str]:
    got = json.loads(json.dumps(summaries(folder)))  # the same JSON round trip as the committed file
    assert sorted(got) == sorted(want), f"{folder} holds other files than the pinned ones"
    return [d for f in want for d in differences(got[f], want[f], f)]


def test_the_demo_writes_the_pinned_values(demo):
    changed = _changed(demo, json.loads(GOLDEN.read_text()))
    assert not changed, changed[:20]


def test_the_factory_builds_the_demos_values(all_results):
    """Every shard, label file, manifest, result and error table; the factory writes no leaderboard and
    runs no zoo entry (their results are ``*-zoo-*``)."""
    want = {f: v for f, v in json.loads(GOLDEN.read_text()).items()
            if not f.startswith("leaderboard/") and "-zoo-" not in f}
    changed = _changed(all_results.parent, want)
    assert not changed, changed[:20]


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(summaries(Path(sys.argv[1])), indent=0, sort_keys=True) + "\n")
    print(f"{GOLDEN}: {len(json.loads(GOLDEN.read_text()))} files")
