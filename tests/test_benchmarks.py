"""Every benchmark still runs, on a tiny input: the figures in the README come from these scripts, and a
script that no longer runs would leave them unreproducible. No timing is asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
TINY = {
    "bench_convert.py": ["--images", "400"],
    "bench_images.py": ["--images", "20", "--work", "{tmp}"],
    "bench_labels.py": ["--frames", "12", "--cameras", "2", "--workers", "1"],
    "bench_mano_forward.py": ["--batches", "8", "--seconds", "0.05", "--threads", "1"],
    "bench_runner.py": ["--sequences", "2", "--frames", "6", "--cameras", "1"],
    "bench_score_ho3d.py": ["--frames", "20", "--loop-frames", "2", "--replicates", "10", "--work", "{tmp}"],
    "bench_score.py": ["--frames", "12", "--cameras", "2", "--loop-views", "8", "--work", "{tmp}"],
    "bench_zoo.py": ["--frames", "6", "--cameras", "2", "--batch", "4", "--loader-workers", "0", "--iterations", "2",
                     "--loop-samples", "2"],
}


def test_every_benchmark_is_listed():
    assert sorted(p.name for p in BENCHMARKS.glob("bench_*.py")) == sorted(TINY)


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(TINY))
def test_a_benchmark_runs_on_a_tiny_input_and_reports_json(script, tmp_path, _isolated_cache):
    args = [a.format(tmp=tmp_path / "work") for a in TINY[script]]
    env = {**os.environ, "HANDEVAL_CACHE_DIR": str(_isolated_cache)}
    run = subprocess.run([sys.executable, str(BENCHMARKS / script), *args, "--json"], capture_output=True,
                         text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout)  # --json prints one JSON document on stdout, nothing else
