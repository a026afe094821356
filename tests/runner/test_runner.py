"""The unit runner on a toy job: every backend gives the same files and results, finished units are
skipped, a failing unit is retried and then named while the rest finish, a killed worker's unit runs
again elsewhere, and the cluster config is checked and turned into a batch script."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from runner_tasks import toy_job

from handeval.runner import Executor, UnitsFailed, run_job
from handeval.runner.backends import read_cluster_config
from handeval.runner.cluster import make_cluster
from handeval.util.errors import HandevalError

TESTS = Path(__file__).resolve().parents[1]
BACKENDS = {"serial": lambda: Executor(), "pool": lambda: Executor(workers=2),
            "dask": lambda: Executor("dask", workers=2)}


@pytest.fixture(autouse=True)
def _workers_find_the_toy_task(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))


def files(root: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(root.glob("unit-*.txt"))}


def test_every_backend_writes_the_same_files_and_results_in_plan_order(tmp_path):
    seen = {}
    for name, executor in BACKENDS.items():
        report = run_job(toy_job(tmp_path / name), executor(), progress=False)
        seen[name] = (files(tmp_path / name), [r["value"] for r in report.results])
        summary = report.summary()
        assert (summary["units"], summary["done"], summary["skipped"], summary["retried"], summary["failed"]) == \
            (6, 6, 0, 0, [])
        assert summary["backend"] == ("dask" if name == "dask" else "local") and summary["workers"] >= 1
    assert seen["serial"] == seen["pool"] == seen["dask"]
    assert seen["serial"][1] == [i * i for i in range(6)]


def test_the_log_has_each_units_time_memory_and_worker(tmp_path):
    job = toy_job(tmp_path, units=3)
    run_job(job, Executor(workers=2), progress=False)
    lines = [json.loads(x) for x in job.log.read_text().splitlines()]
    assert lines[0]["job"]["units"] == 3 and [x["name"] for x in lines[1:]] == ["toy 0", "toy 1", "toy 2"]
    for unit in lines[1:]:
        assert unit["status"] == "done" and unit["attempts"] == 1 and unit["seconds"] >= 0
        assert unit["peak_rss_mib"] > 0 and unit["peak_rss_of"] == "unit" and ":" in unit["worker"]


def test_the_context_is_built_once_per_worker(tmp_path):
    report = run_job(toy_job(tmp_path, units=8), Executor(workers=2), progress=False)
    builders = {r["context_built_in"] for r in report.results}
    assert 1 <= len(builders) <= 2  # one context per worker process, never one per unit


def test_a_rerun_skips_finished_units_and_no_resume_runs_them_all(tmp_path):
    job = toy_job(tmp_path)
    run_job(job, progress=False)
    again = run_job(job, progress=False)
    assert (again.summary()["done"], again.summary()["skipped"]) == (0, 6)
    (tmp_path / "unit-2.txt").write_text("edited")  # a unit whose file changed is not finished
    again = run_job(job, progress=False)
    assert (again.summary()["done"], again.summary()["skipped"]) == (1, 5) and files(tmp_path)["unit-2.txt"] != "edited"
    fresh = run_job(job, progress=False, resume=False)
    assert (fresh.summary()["done"], fresh.summary()["skipped"]) == (6, 0)


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_a_failing_unit_is_retried_then_named_and_the_others_finish(tmp_path, backend):
    job = toy_job(tmp_path, raises=3)
    with pytest.raises(UnitsFailed) as failed:
        run_job(job, BACKENDS[backend](), progress=False)
    error = failed.value
    assert error.internal and error.finished == 5 and [r["name"] for r in error.failed] == ["toy 3"]
    message = str(error).splitlines()
    assert message[:2] == ["RuntimeError: unit 3 is broken", "(in toy, toy 3)"]
    assert "run the same command again" in str(error)
    assert sorted(files(tmp_path)) == [f"unit-{i}.txt" for i in (0, 1, 2, 4, 5)]
    log = [json.loads(x) for x in job.log.read_text().splitlines()]
    assert log[0]["job"]["failed"] == [{"unit": "toy 3", "error": "RuntimeError: unit 3 is broken"}]
    assert log[4]["attempts"] == 3 and "Traceback" in log[4]["traceback"]  # 1 + 2 retries
    fixed = run_job(toy_job(tmp_path), BACKENDS[backend](), progress=False)  # the cause fixed: the rest only
    assert (fixed.summary()["done"], fixed.summary()["skipped"]) == (1, 5)


def test_a_bad_input_is_not_retried_and_is_a_user_error(tmp_path):
    with pytest.raises(UnitsFailed) as failed:
        run_job(toy_job(tmp_path, bad_input=1), Executor(workers=2), progress=False)
    assert not failed.value.internal and "input 1.txt is corrupt" in str(failed.value).splitlines()[0]
    assert json.loads(toy_job(tmp_path).log.read_text().splitlines()[2])["attempts"] == 1


@pytest.mark.parametrize("backend", ["pool", "dask"])
def test_a_worker_killed_mid_unit_has_its_unit_run_again(tmp_path, backend):
    job = toy_job(tmp_path, killed=2)
    report = run_job(job, BACKENDS[backend](), progress=False)
    summary = report.summary()
    # Besides the killed unit, a broken local pool loses the unit its other worker was running, and Dask
    # recomputes a finished unit whose result the dead worker held before the client had it.
    assert summary["failed"] == [] and summary["done"] == 6 and 1 <= summary["retried"] <= 2
    assert (tmp_path / "killed-2").exists() and files(tmp_path) == files_of_a_clean_run(tmp_path / "clean")
    assert report.records[2]["attempts"] == 2


def files_of_a_clean_run(root: Path) -> dict[str, str]:
    run_job(toy_job(root), progress=False)
    return files(root)


def test_executor_options_are_checked():
    for kwargs, words in [({"backend": "spark"}, "--executor spark"), ({"workers": 0}, "--workers 0"),
                          ({"backend": "dask", "scheduler": "tcp://a:1", "cluster": "slurm",
                            "cluster_config": "c.yaml"}, "exclude each other"),
                          ({"scheduler": "tcp://a:1"}, "needs --executor dask"),
                          ({"backend": "dask", "cluster": "slurm"}, "go together"),
                          ({"backend": "dask", "cluster": "htcondor", "cluster_config": "c.yaml"},
                           "--cluster htcondor")]:
        with pytest.raises(HandevalError, match=words):
            Executor(**kwargs)


def test_an_unreachable_scheduler_is_named(tmp_path):
    with pytest.raises(HandevalError, match="--scheduler tcp://127.0.0.1:9"):
        run_job(toy_job(tmp_path), Executor("dask", scheduler="tcp://127.0.0.1:9"), progress=False)


CLUSTERS = Path(__file__).resolve().parents[2] / "data_specs" / "clusters"
#: Lines each shipped example config must put in its batch script.
SCRIPTS = {
    "slurm": ["#SBATCH -p cpu", "#SBATCH -A my-lab", "#SBATCH -n 1", "#SBATCH --cpus-per-task=8", "#SBATCH --mem=30G",
              "#SBATCH -t 04:00:00", "#SBATCH -o /shared/handeval-logs/"],
    "pbs": ["#PBS -q workq", "#PBS -A my-lab", "#PBS -l select=1:ncpus=8:mem=30GB", "#PBS -l walltime=04:00:00"],
    "lsf": ["#BSUB -q normal", "#BSUB -P \"my-lab\"", "#BSUB -n 8", "#BSUB -W 04:00"],
}


@pytest.mark.parametrize("kind", sorted(SCRIPTS))
def test_the_example_cluster_configs_become_batch_scripts(kind):
    """No batch system here: the script dask-jobqueue would submit is checked instead."""
    cluster = make_cluster(kind, read_cluster_config(CLUSTERS / f"{kind}.yaml"))
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    for line in SCRIPTS[kind] + ["source /shared/venvs/handeval/bin/activate"]:
        assert line in script, script
    assert "--nworkers 8" in script and "--nthreads 1" in script and "--death-timeout 60" in script


@pytest.mark.parametrize("text, words", [
    ("cores: 8\nmemory: 32GB\nwalltme: '01:00:00'\n", "unknown key 'walltme' (did you mean 'walltime'?)"),
    ("cores: eight\nmemory: 32GB\n", "cores is 'eight'"),
    ("memory: 32GB\n", "cores is missing"),
    ("cores: 8\nmemory: 32GB\njobs: 2\nadaptive: {maximum: 4}\n", "not both"),
    ("cores: 8\nmemory: 32GB\nadaptive: {minimum: 5, maximum: 4}\n", "0 <= N <= M"),
    ("- cores\n", "expected a mapping"),
    ("cores: [8\n", "not valid YAML"),
])
def test_a_bad_cluster_config_names_the_file_and_key(tmp_path, text, words):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(HandevalError) as error:
        read_cluster_config(path)
    assert str(path) in str(error.value) and words in str(error.value)


def test_a_batch_system_that_is_not_there_is_named(tmp_path, monkeypatch):
    """Without `sbatch`, dask-jobqueue would retry in the background while the job waited for workers."""
    monkeypatch.setenv("PATH", str(tmp_path))
    executor = Executor("dask", cluster="slurm", cluster_config=str(CLUSTERS / "slurm.yaml"))
    with pytest.raises(HandevalError, match="`sbatch` is not on this machine's PATH"):
        run_job(toy_job(tmp_path / "job"), executor, progress=False)


def test_a_running_cluster_is_joined_by_its_address(tmp_path):
    """--scheduler tcp://HOST:PORT: the units run on a cluster the runner did not start, which it leaves up."""
    import distributed

    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        report = run_job(toy_job(tmp_path / "job", units=3), Executor("dask", scheduler=cluster.scheduler_address),
                         progress=False)
        assert [r["value"] for r in report.results] == [0, 1, 4] and report.summary()["backend"] == "dask"
        with distributed.Client(cluster) as client:
            assert len(client.scheduler_info()["workers"]) == 1  # still up
