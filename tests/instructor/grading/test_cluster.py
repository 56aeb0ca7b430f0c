"""The batch's cluster starts while the coordinator builds the releases, and starts T's warm parent
on each worker (autograder/instructor/grading/cluster.py)."""

from __future__ import annotations

import time

import pytest

from autograder.instructor.grading import cluster as cluster_module
from autograder.instructor.grading import coordinator as grading
from autograder.instructor.grading.cluster import ClusterStart
from autograder.instructor.grading.sandbox import Limits
from autograder.instructor.grading.warm_kernels import Kind
from tests.instructor.demo_course import make_demo_course, submit

from .templates import graded_result

pytestmark = pytest.mark.slow
KIND = Kind(Limits(), False, "cpu", True)  # unsandboxed: the test needs no bubblewrap


def warm_kinds() -> list:
    from autograder.instructor.grading import warm_kernels

    return [kind for kind, parent in warm_kernels._PARENTS.items() if parent.alive()]


def worker_instruments() -> tuple:
    import dask
    from dask.utils import parse_timedelta

    return (dask.config.get("distributed.worker.profile.enabled"),
            parse_timedelta(dask.config.get("distributed.admin.tick.interval")),
            parse_timedelta(dask.config.get("distributed.admin.system-monitor.interval")),
            dask.config.get("distributed.admin.system-monitor.disk"))


def test_a_started_cluster_has_a_warm_parent_on_its_worker_without_a_task() -> None:
    starting = ClusterStart(None, 1, KIND)  # returns before the cluster is up
    client, cluster = starting.get()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            kinds = list(client.run(warm_kinds).values())
            if kinds == [[KIND]]:
                break
            time.sleep(0.2)
        assert kinds == [[KIND]]
        # the dashboard's instruments are off on the worker itself (cluster.DASK_CONFIG), not only here
        settings = client.run(worker_instruments)
        assert list(settings.values()) == [(False, 0.5, 2.0, False)], settings
    finally:
        starting.close()
    assert cluster.status.name == "closed"


def test_a_batch_with_nothing_new_starts_no_cluster_and_a_new_one_starts_it_early(tmp_path, monkeypatch):
    course, solution, _ = make_demo_course(tmp_path)
    submit(tmp_path / "subs", "ada", solution)
    settings = grading.GradeSettings(workers=0, sandbox=False, feedback=False, progress=False,
                                     cell_timeout=10)
    grading.grade(tmp_path / "subs", tmp_path / "grading", course, settings, out=lambda *_: None)
    started = []

    class Recorded(ClusterStart):
        def __init__(self, *args):
            started.append(args)
            super().__init__(*args)

    monkeypatch.setattr(grading, "ClusterStart", Recorded)
    on_cluster = grading.GradeSettings(workers=1, sandbox=False, feedback=False, progress=False,
                                       cell_timeout=10)
    grading.grade(tmp_path / "subs", tmp_path / "grading", course, on_cluster, out=lambda *_: None)
    assert started == []
    submit(tmp_path / "subs", "bob", solution)
    records = grading.grade(tmp_path / "subs", tmp_path / "grading", course, on_cluster, out=lambda *_: None)
    assert started == [(None, 1, grading.warm_kind(on_cluster))]
    assert {r.student: r.status for r in records} == {"ada": "graded", "bob": "graded"}

    def own_task(task, release):  # pickled by value; graded_result by reference (tests/ is importable)
        return graded_result(task)

    submit(tmp_path / "subs", "cy", solution)
    grading.grade(tmp_path / "subs", tmp_path / "grading", course, on_cluster, out=lambda *_: None,
                  task_function=own_task)
    assert started[1] == (None, 1, None)  # tasks that grade without T: no warm parent to start


def test_the_one_kernel_path_warms_nothing() -> None:
    assert grading.warm_kind(grading.GradeSettings(isolation="kernel")) is None
    assert grading.warm_kind(grading.GradeSettings(sandbox=False)) == KIND
    assert cluster_module.MAX_CRASHES == grading.MAX_CRASHES


def test_an_interrupted_batch_whose_cluster_closed_in_time_leaves_no_stack_dump_armed(tmp_path, monkeypatch):
    """Ctrl-C arms a faulthandler timer while the cluster closes (a close that hangs says where); a close
    that finished disarms it, so a caller that goes on (a test, a notebook) gets no stacks 30 s later."""
    course, solution, _ = make_demo_course(tmp_path)
    submit(tmp_path / "subs", "ada", solution)
    calls = []

    class Client:
        def close(self):
            calls.append("client closed")

    class Started:
        def __init__(self, *args):
            pass

        def get(self):
            return Client(), None

    class Handler:  # the coordinator's faulthandler, recorded
        def dump_traceback_later(self, *args, **kwargs):
            calls.append("armed")

        def cancel_dump_traceback_later(self):
            calls.append("disarmed")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(grading, "ClusterStart", Started)
    monkeypatch.setattr(grading, "run_tasks", interrupted)
    monkeypatch.setattr(grading, "faulthandler", Handler())
    settings = grading.GradeSettings(workers=1, sandbox=False, feedback=False, progress=False)
    with pytest.raises(KeyboardInterrupt):
        grading.grade(tmp_path / "subs", tmp_path / "grading", course, settings, out=lambda *_: None)
    assert calls == ["armed", "client closed", "disarmed"]
