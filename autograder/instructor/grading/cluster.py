"""The Dask cluster a batch is graded on: its configuration, and a start that overlaps the coordinator's work.

    from autograder.instructor.grading.cluster import ClusterStart, make_client

    starting = ClusterStart(scheduler, workers, warm=Kind(...) or None)   # returns at once
    ...                                   # the coordinator builds the chapters' releases meanwhile
    client, cluster = starting.get()      # or starting.close() when nothing is left to grade

Starting a LocalCluster (its workers import Dask and the grader) and T's warm parent on each worker
(warm_kernels.py: torch, NumPy, matplotlib, ipykernel) take seconds of CPU that the coordinator,
building the releases with nbgrader on one core, leaves free: so ``grade`` starts them first.
"""

from __future__ import annotations

import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

MAX_CRASHES = 3  # a notebook that kills this many workers scores zero
DASK_CONFIG = {
    # A task that was running on each of MAX_CRASHES dead workers is not retried again.
    "distributed.scheduler.allowed-failures": MAX_CRASHES - 1,
    # A batch of more notebooks than twice the cluster's threads, submitted as one graph (run_tasks),
    # is queued on the scheduler (Dask's "root-ish" rule): a worker holds only the task it runs, so a
    # worker that dies or is restarted (backstop.py) takes no queued task with it, and an honest
    # notebook never gets a count towards MAX_CRASHES from another's crash. A smaller batch may put
    # two on a worker: the second then gets one count from the first's crash; while a worker
    # restarts the cluster has fewer threads, so the rest are queued (test_coordinator).
    "distributed.scheduler.worker-saturation": 1.0,
    # A LocalCluster closes a worker's nanny for good when no worker of its name is back this long
    # after it left (15 s by default): two restarts of one worker within it (the backstop's, a
    # crash's) lost the worker, and with one worker the batch waited forever. Our nannies restart.
    "distributed.deploy.lost-worker-timeout": "1 day",
    # Dask's dashboard instruments, which nothing here reads, each cost every worker CPU on the cores
    # that grade (idle worker: 2.9 % of a core with them, 0.6 % without; SPEED.md): the statistical
    # profiler samples the worker's stacks every 10 ms, the event loop's health tick runs every
    # 20 ms, the system monitor reads psutil (disk included) every 0.5 s. Heartbeats, which the
    # backstop reads, are not among them.
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "500ms",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.system-monitor.disk": False,
}

def make_client(scheduler: str | None, workers: int | None):
    import dask
    from distributed import Client, LocalCluster

    dask.config.set(DASK_CONFIG)
    # Tasks carry their data (each its chapter's release, each feedback page its notebook) on
    # purpose, rather than scattered copies a dying worker would lose: Dask's hint to scatter
    # large graphs does not apply.
    warnings.filterwarnings("ignore", message="Sending large graph")
    if scheduler:
        return Client(scheduler), None
    env = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    # The scheduler's HTTP server starts even without a dashboard, on 8787 unless told: a free
    # port (":0") keeps a second grading run from warning "Port 8787 is already in use".
    cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                           processes=True, dashboard_address=":0", scheduler_kwargs={"dashboard": False},
                           env=env, memory_limit=0, silence_logs=40)
    return Client(cluster), cluster


async def warm_up(kind: Any) -> None:
    """On a worker: start T's warm parent of that kind now (its imports run in its own process).
    A coroutine, as ``Client.run(wait=False)`` requires; the start runs on a daemon thread of its
    own, so the worker's event loop never waits for it (nor a grader's exit)."""
    threading.Thread(target=_head_start, args=(kind,), name="warm-up", daemon=True).start()


def _head_start(kind: Any) -> None:
    from autograder.instructor.grading.warm_kernels import parent_for

    try:
        parent_for(kind)
    except Exception:  # a head start only: the first notebook starts the parent, or says why not
        pass


class ClusterStart:
    """``make_client`` on a thread of its own, then each worker's ``warm_up`` (not waited for)."""

    def __init__(self, scheduler: str | None, workers: int | None, warm: Any = None) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="cluster-start")
        self._future = self._pool.submit(self._start, scheduler, workers, warm)
        self._pool.shutdown(wait=False)

    @staticmethod
    def _start(scheduler: str | None, workers: int | None, warm: Any) -> tuple[Any, Any]:
        client, cluster = make_client(scheduler, workers)
        if warm is not None:
            try:
                client.run(warm_up, warm, wait=False)
            except Exception:  # as warm_up: only a head start
                pass
        return client, cluster

    def get(self) -> tuple[Any, Any]:
        """``(client, cluster)``, the cluster None for ``--scheduler``; waits for the start."""
        return self._future.result()

    def close(self) -> None:
        """Close what was started, unused (nothing was left to grade, or the coordinator failed)."""
        try:
            client, cluster = self._future.result()
        except Exception:
            return
        client.close()
        if cluster is not None:
            cluster.close()
