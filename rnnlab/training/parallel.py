"""Independent runs in parallel: one code path for every sweep, on joblib.

Each task is a call ``fn(*args)`` that seeds everything it draws, so results do not
depend on which worker ran it or in which order. joblib's default backend (loky) runs
the tasks in worker processes and gives each worker ``cores / jobs`` BLAS threads, so
``jobs = cores`` means one BLAS thread per worker. The same sweep runs on a cluster
through joblib's Dask backend::

    from dask.distributed import Client
    from joblib import parallel_config

    client = Client("scheduler-address:8786")
    with parallel_config(backend="dask"):
        frn_lag_sweep("results/frn_lag.json")

See the *Performance* page.
"""

import os

from joblib import Parallel, delayed
from tqdm import tqdm

__all__ = ["default_jobs", "run_parallel"]


def default_jobs():
    """Workers to use by default: one per core this process may run on.

    See the *Performance* page.
    """
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def run_parallel(fn, tasks, jobs=None, progress=True, desc=None):
    """``[fn(*task) for task in tasks]``, computed by ``jobs`` workers, in the order of ``tasks``.

    See the *Performance* page.

    Parameters
    ----------
    fn : callable
        A module-level function (workers import it by name).
    tasks : list of tuple
        Arguments of each call.
    jobs : int, optional
        Number of workers (default: :func:`default_jobs`); 1 runs in this process.
    progress : bool, default True
        A tqdm bar over finished tasks.
    desc : str, optional
        Label of the bar.

    Returns
    -------
    list
        The results, in the order of ``tasks``.
    """
    tasks = list(tasks)
    jobs = jobs or default_jobs()
    results = Parallel(n_jobs=jobs, return_as="generator")(delayed(fn)(*task) for task in tasks)
    return list(tqdm(results, total=len(tasks), desc=desc, disable=not progress))
