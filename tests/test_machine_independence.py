"""Nothing the tests pin may depend on which BLAS kernel the CPU selects.

OpenBLAS picks its kernels per CPU; ``OPENBLAS_CORETYPE`` forces another machine's choice,
so these runs stand in for "a clean clone on another machine of the same kind".
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from factory import DEMO_OPTIONS

from handeval.runner import LOG_SUFFIX

KERNELS = ("Prescott", "Haswell")  # SSE3-only and AVX2/FMA kernels: different summation orders and FMA use
ROOT = Path(__file__).resolve().parents[1]


def _run(args, kernel, tmp_path):
    env = {**os.environ, "OPENBLAS_CORETYPE": kernel, "HANDEVAL_CACHE_DIR": str(tmp_path / f"cache-{kernel}")}
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize("kernel", KERNELS)
def test_standin_fingerprint_under_another_blas_kernel(kernel, tmp_path):
    _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
          "tests/mano/test_standin.py::test_fingerprint_is_pinned_to_the_version"], kernel, tmp_path)


@pytest.mark.slow
def test_demo_prints_the_same_scores_under_two_blas_kernels(tmp_path):
    printed = {}
    for kernel in KERNELS:
        out = tmp_path / f"demo-{kernel}"
        text = _run(["handeval", "demo", "--out", str(out), "--frames", "12", "--cameras", "2"], kernel, tmp_path)
        scores = [re.sub(r"\s+", " ", line.strip()) for line in text.splitlines()
                  if re.match(r"\s+\S+/\S+\s+\S+\s+.* (mm|cm|px|\d\.\d{4})", line)]
        assert len(scores) >= 20, text  # one line per scored result
        printed[kernel] = [line.replace(str(out), "OUT") for line in scores]
    assert printed[KERNELS[0]] == printed[KERNELS[1]]


@pytest.mark.slow
def test_the_demo_into_another_folder_writes_the_same_bytes(demo, tmp_path, monkeypatch, handeval):
    """Every output (scene, native files, shards, labels, submissions, results, leaderboard) depends on
    content only: a second run, into a relative folder typed with a trailing slash, is byte-identical."""
    monkeypatch.chdir(tmp_path)
    code, _, err = handeval("demo", "--out", "again/", *DEMO_OPTIONS, "--json")
    assert code == 0, err
    def outputs(folder):  # the jobs' logs say when and where each unit ran: not outputs
        return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file() and
                      not p.name.endswith(LOG_SUFFIX))

    files = outputs(demo)
    assert outputs(tmp_path / "again") == files
    differ = [f for f in files if _unmeasured(demo / f) != _unmeasured(tmp_path / "again" / f)]
    assert not differ


#: What the zoo measured (speeds, timings, memory: this run's, not the content's) in its records and results.
MEASURED = {"speed", "timing", "wall_s", "peak_memory", "samples_per_s", "latency_ms_p50", "latency_ms_p95",
            "throughput", "units"}


def _unmeasured(path: Path):
    """A file's bytes, or for the files that carry a measurement, the content without it: JSON without
    the :data:`MEASURED` keys, a leaderboard without its measured-speed cells."""
    import json

    from test_demo_values import _SPEED

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in MEASURED}
        return [strip(v) for v in value] if isinstance(value, list) else value

    if path.suffix == ".json":
        return strip(json.loads(path.read_text()))
    if path.parent.name == "leaderboard" and path.suffix in (".md", ".csv", ".html"):
        return _SPEED.sub("", path.read_text())
    return path.read_bytes()
