"""Red team 8 against the coordinator's backstop (autograder/instructor/grading/backstop.py,
coordinator.run_tasks and backstop.render_on): can one submission stop, harm or stall another's
grading, or the whole batch? Each test's docstring says BROKE (it failed before its fix) or HELD (it
passed as first written) and what."""

from __future__ import annotations

import time

import nbformat
import pytest

from autograder.instructor.grading import backstop
from autograder.instructor.grading import coordinator as grading
from autograder.instructor.grading.backstop import Backstop
from autograder.instructor.grading.staging import Found
from autograder.instructor.grading.worker import GradingRelease

from .templates import graded_result, template


class Cluster:
    """A client whose ``restart_workers`` does what distributed 2026.8's does in the case at hand."""

    def __init__(self, restart) -> None:
        self.restart = restart
        self.cancelled: list = []

    def cancel(self, futures, force=False) -> None:
        self.cancelled += list(futures)

    def restart_workers(self, workers, raise_for_error=True):
        return self.restart(workers)


def test_stopping_a_task_on_a_worker_without_a_nanny_warns_instead_of_ending_the_batch():
    """BROKE: distributed's ``Client.restart_workers`` raises ValueError ("Restarting workers requires a
    nanny") for a worker started without a nanny, whatever ``raise_for_error`` says. The exception left
    ``finished`` and ``run_tasks``: the grade CLI printed "error: ..." and stopped the class's batch, with
    the stuck notebook unrecorded, so the next run hung on it again. backstop.py's docstring promised a
    warning naming the worker."""

    def no_nanny(workers):
        raise ValueError(f"Restarting workers requires a nanny to be used. Worker {workers[0]} has type "
                         "Worker.")

    client = Cluster(no_nanny)
    assert Backstop(client, {}).stop(["future"], {"tcp://w1"}) == ["tcp://w1"]
    assert client.cancelled == ["future"], "cancelled first, so Dask does not run it again elsewhere"


def test_stopping_a_task_whose_worker_already_left_the_cluster_is_no_error():
    """BROKE: a worker that died between the look that found its task overdue and the stop (the answer is
    read after it came, and a stuck kernel may end its worker) is not in the scheduler any more;
    ``Client.restart_workers`` then raises KeyError (its status map has no entry for it) and the whole
    batch stopped. Nothing is left to restart: no warning either."""

    def gone(workers):
        statuses = {worker: "OK" for worker in workers if worker != "tcp://gone"}  # the scheduler's answer
        return {worker: statuses[worker] for worker in workers}  # the client's: KeyError

    client = Cluster(gone)
    assert Backstop(client, {}).stop(["a", "b"], {"tcp://gone", "tcp://w2"}) == []


def test_a_task_that_finished_just_as_it_was_found_overdue_keeps_its_result():
    """BROKE: the workers' answer is a moment old when it is read; a task that finished in between was
    still cancelled and recorded "timeout" although its result had come. ``finished`` now gives a done
    future as finished, not stopped."""

    class Future:
        def __init__(self, done: bool) -> None:
            self.is_done = done

        def done(self) -> bool:
            return self.is_done

    overdue = {"finished": "tcp://w1", "running": "tcp://w2", "already-given": "tcp://w3"}
    pending = {"finished": Future(True), "running": Future(False)}
    assert backstop.still_running(overdue, pending) == {"running": "tcp://w2"}


def stuck_hog_or_grade(task, release):  # the workers import this module (tests/ is on their path)
    import ctypes
    import time

    if task["student"].startswith("stuck"):
        time.sleep(float(task.get("sleep", 3600)))
    if task["student"] == "hog":
        time.sleep(1.5)  # a kernel starts, the notebook runs: the worker's heartbeats say it executes this
        ctypes.PyDLL(None).sleep(30)  # then C that holds the GIL, as `re` does while it backtracks
    return graded_result(task)


def grade_on(cluster_kwargs: dict, names: list[str], monkeypatch, tmp_path, sleep: float = 3600):
    """Grade ``names`` with ``stuck_hog_or_grade`` (notebook limit 1 s, margin 2 s): the records in the
    order saved, the seconds, the progress bar."""
    import dask
    from distributed import Client, LocalCluster

    release = GradingRelease(chapter="00_demo", template=nbformat.writes(template()), policy={},
                             sandbox=False, notebook_timeout=1.0)

    class Slept(Found):
        def task(self):
            return {**super().task(), "sleep": sleep}

    todo = [Slept(name, "00_demo", notebook=name.encode()) for name in names]
    dask.config.set(grading.DASK_CONFIG)
    saved = []
    monkeypatch.setattr(grading, "save", lambda root, stored: saved.append(stored.record))
    with LocalCluster(threads_per_worker=1, dashboard_address=None, silence_logs=50,
                      **cluster_kwargs) as cluster, Client(cluster) as client:
        started, progress = time.monotonic(), grading.Progress(len(todo))  # drawn on the captured stderr
        grading.run_tasks(todo, {"00_demo": release}, tmp_path, client, progress,
                          task_function=stuck_hog_or_grade, margin=2.0)
        took = time.monotonic() - started
    return saved, took, progress


@pytest.mark.slow
@pytest.mark.xdist_group("grade-cli")
def test_a_worker_too_busy_to_answer_does_not_blind_the_backstop(monkeypatch, tmp_path):
    """BROKE: the backstop asked every worker at once (``client.call_stack``, one gather on the scheduler,
    no timeout) and asked again only once answered. A task holding its worker's GIL (the regex that
    backtracked on 30,000 spaces, review7) keeps that worker from answering, so the backstop saw nothing
    at all: "hog" (30 s of a 3 s limit) ended "graded" at 41 s, and "stuck" on the other worker was
    stopped only at 51 s. With a hog that never lets go the batch never ended. Now the backstop reads
    what the scheduler last heard from each worker (its heartbeats): a wedged worker's clock runs on, and
    its nanny kills it. (A task that wedges its worker before the worker's first heartbeat since it
    started is not seen: the scheduler's worker-ttl, 5 minutes, then removes that worker.)"""
    saved, took, _ = grade_on({"n_workers": 2, "processes": True}, ["hog", "stuck"], monkeypatch, tmp_path)
    records = {record.student: record for record in saved}
    assert records["hog"].status == "timeout", (records["hog"].status, records["hog"].reason)
    assert records["stuck"].status == "timeout"
    assert took < 25, f"the batch took {took:.0f} s: the backstop waited for the wedged worker"


@pytest.mark.slow
@pytest.mark.xdist_group("grade-cli")
def test_a_stuck_task_on_workers_without_a_nanny_is_recorded_and_the_batch_ends(monkeypatch, tmp_path,
                                                                                  capsys):
    """BROKE (through the real path): an external cluster whose workers run without a nanny. run_tasks
    raised ValueError from ``restart_workers``; now "stuck" is recorded "timeout", the warning names the
    worker to restart by hand, and "fine", queued behind it, is graded once the worker is free (here the
    stuck call ends by itself after 8 s; a real one is the instructor's to restart)."""
    from distributed import Worker

    saved, took, _ = grade_on({"n_workers": 1, "processes": False, "worker_class": Worker},
                              ["stuck", "fine"], monkeypatch, tmp_path, sleep=8)
    records = {record.student: record for record in saved}
    assert records["stuck"].status == "timeout" and records["fine"].status == "graded"
    assert "could not be restarted" in capsys.readouterr().err
    assert took < 30


def sleep_forever() -> None:
    import time

    time.sleep(3600)


@pytest.mark.slow
@pytest.mark.xdist_group("grade-cli")
def test_two_stops_of_one_local_worker_within_15_s_do_not_lose_it_for_good():
    """BROKE: distributed's SpecCluster (LocalCluster) closes a worker's nanny for good when, 15 s
    (``distributed.deploy.lost-worker-timeout``) after that worker left, no worker of its name is back.
    A stop makes the worker absent for about 5 s (4 s to close, then killed, then restarted), so a second
    stop (or a death) of the same worker in that window lost it: with one worker the class's batch then
    waited forever with nobody to run it, and ``restart_workers`` blocked 120 s before warning "no
    nanny?". Measured through run_tasks (1 worker, three stuck notebooks and an honest one, limits 3 s):
    the honest one never ran. DASK_CONFIG now keeps lost local workers' nannies for a day."""
    import threading

    import dask
    from distributed import Client, LocalCluster

    dask.config.set(grading.DASK_CONFIG)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster) as client:

        def stop_one() -> list[str]:
            future = client.submit(sleep_forever, pure=False)
            while not any(client.processing().values()):
                time.sleep(0.1)
            time.sleep(0.5)  # executing, not only assigned
            return Backstop(client, {}).stop([future], set(client.scheduler_info()["workers"]))

        first = time.monotonic()
        assert stop_one() == []
        client.wait_for_workers(1, timeout=30)
        # The 15 s check of the first stop falls within the second.
        time.sleep(max(0.0, first + 12.5 - time.monotonic()))
        second = threading.Thread(target=stop_one, daemon=True)
        second.start()
        second.join(timeout=max(1.0, first + 25 - time.monotonic()))
        assert not second.is_alive(), "the second stop waited for a worker that was not coming back"
        client.wait_for_workers(1, timeout=10)
        assert len(cluster.workers) == 1


@pytest.mark.slow
@pytest.mark.xdist_group("grade-cli")
def test_an_honest_notebook_behind_three_stuck_ones_on_the_one_worker_is_graded_once(monkeypatch, tmp_path):
    """HELD once lost-worker-timeout was set (before it, BROKE in 2 runs of 2: the worker was lost at the
    second or third stop and "fine" never ran). Each stop restarts the worker, and Dask counts that
    against every task the worker held (measured: a queued one's "suspicious" count went 0 -> 1); the
    batch now goes to Dask as one graph, so it is queued on the scheduler and the worker holds only the
    task it runs (test_coordinator): "fine" is never held through a stop. Every notebook is recorded
    exactly once, with a true reason, and the progress bar counts four notebooks, three of them
    failures."""
    saved, took, progress = grade_on({"n_workers": 1, "processes": True},
                                     ["stuck1", "stuck2", "stuck3", "fine"], monkeypatch, tmp_path)
    assert sorted(record.student for record in saved) == ["fine", "stuck1", "stuck2", "stuck3"]
    statuses = {record.student: record.status for record in saved}
    assert statuses == {"fine": "graded", "stuck1": "timeout", "stuck2": "timeout", "stuck3": "timeout"}
    stuck = next(record for record in saved if record.student == "stuck1")
    assert "had not ended 3 s after it started (the notebook's own limit is 1 s)" in stuck.reason
    assert all(test["score"] == 0 for test in stuck.tests.values()) and stuck.tests
    assert progress.failures == 3 and progress.bar.n == 4
    assert took < 60, f"the batch took {took:.0f} s"


def test_a_page_that_could_not_be_made_falls_back_to_english_for_any_language_code():
    """HELD: the language code comes from the student's notebook metadata; a path, a number, a huge
    string or a locale with an encoding gives the English page, never an error or a file read."""
    import json

    from autograder.instructor.grading import feedback

    for code in ["../../etc/passwd", 5, "x" * 10_000, None, ["zh"]]:
        page = feedback.unrendered_page(json.dumps({"metadata": {"language": code}}), "ran too long")
        assert "could not be made (ran too long)" in page, code
    assert "未能生成" in feedback.unrendered_page(json.dumps({"metadata": {"language": "zh"}}), "x")
