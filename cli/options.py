"""Options shared by several commands."""

import functools

import click

mano_dir_option = click.option(
    "--mano-dir", type=str, default=None, metavar="DIR",
    help="Folder with MANO_RIGHT and MANO_LEFT (.npz from `handeval mano import`, or the official .pkl). "
         "Defaults to $HANDEVAL_MANO_DIR; without either, the synthetic MANO stand-in is used.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of text.")


def executor_options(command):
    """--executor, --workers, --scheduler, --cluster, --cluster-config: where a long command's units
    run (``handeval.runner``); the command receives them as one ``executor``."""

    @functools.wraps(command)
    def wrapper(*args, executor, workers, scheduler, cluster, cluster_config, **kwargs):
        from handeval.runner import Executor

        backend = executor or ("dask" if scheduler or cluster else "local")
        return command(*args, executor=Executor(backend, workers, scheduler, cluster, cluster_config), **kwargs)

    for option in reversed((
        click.option("--executor", type=click.Choice(["local", "dask"]), default=None,
                     help="Where the units run: local (default; this machine) or dask (a Dask cluster)."),
        click.option("--workers", type=click.IntRange(1, 1024), default=1, show_default=True,
                     help="Worker processes: the local pool's, or those of the Dask LocalCluster started when "
                          "--executor dask has no --scheduler or --cluster."),
        click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
                     help="Run on the running Dask cluster with this scheduler (implies --executor dask)."),
        click.option("--cluster", type=click.Choice(["slurm", "pbs", "lsf"]), default=None,
                     help="Start Dask workers as batch jobs on SLURM, PBS or LSF (dask-jobqueue; implies "
                          "--executor dask); needs --cluster-config."),
        click.option("--cluster-config", default=None, metavar="FILE.yaml",
                     help="The batch jobs to ask for: cores, memory, walltime, queue, jobs or adaptive bounds "
                          "(data_specs/runner.md)."),
    )):
        wrapper = option(wrapper)
    return wrapper


resume_option = click.option(
    "--resume/--no-resume", default=True, show_default=True,
    help="Keep the units an earlier run of the same command finished (checked against their checksums) and run the "
         "rest; --no-resume runs every unit again.")
