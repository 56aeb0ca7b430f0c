"""`make grade`'s coordinator (autograder/instructor/grading/coordinator.py): its command line (a progress
bar, an existing Dask cluster (SCHEDULER=), the warning that --no-sandbox grades carry) and a batch that
goes on when a notebook kills its workers. Whole batches: test_batch_boundary.py, test_resume.py."""

from __future__ import annotations

import json

import nbformat
import pytest

from autograder.instructor.grading import coordinator as grading
from autograder.instructor.grading.staging import Found
from autograder.instructor.grading.worker import GradingRelease
from tests.instructor.demo_course import CHAPTER, make_demo_course, submit, with_cell

from .templates import graded_result, template

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("grade-cli")]


def test_grading_on_an_existing_cluster_with_a_progress_bar(tmp_path, capsys):
    from distributed import LocalCluster

    course, solution, _ = make_demo_course(tmp_path)
    submit(tmp_path / "subs", "ada", solution)
    submit(tmp_path / "subs", "bob", with_cell(solution, "square", "def square(x):\n    return x * 2\n"))
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        code = grading.main([str(tmp_path / "subs"), "--out", str(tmp_path / "grading"), "--course",
                             str(course.root), "--scheduler", cluster.scheduler_address,
                             "--timeout", "10", "--no-feedback"])
    out, err = capsys.readouterr()
    assert code == 0, out
    assert "2/2" in err and "notebook" in err and "not_graded=" in err, "the progress bar"
    assert err.count("2/2") == 1, f"the bar prints its 100 % line once: {err!r}"
    record = json.loads((tmp_path / "grading" / "records" / CHAPTER / "bob.json").read_text())
    assert record["sandboxed"] and sum(t["score"] for t in record["tests"].values()) == 1
    assert "WARNING" not in out


def test_no_sandbox_is_said_in_the_summary_and_the_records(tmp_path, capsys):
    course, solution, _ = make_demo_course(tmp_path)
    submit(tmp_path / "subs", "ada", solution)
    code = grading.main([str(tmp_path / "subs"), "--out", str(tmp_path / "grading"), "--course",
                         str(course.root), "--workers", "0", "--no-sandbox", "--no-progress",
                         "--no-feedback", "--timeout", "10"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "WARNING: graded WITHOUT the sandbox" in out
    record = json.loads((tmp_path / "grading" / "records" / CHAPTER / "ada.json").read_text())
    assert record["sandboxed"] is False


def test_a_second_local_cluster_does_not_fight_for_the_dashboard_port():
    """Issue #19: a second `make grade` warned "Port 8787 is already in use"."""
    import socket
    import warnings

    taken = socket.socket()
    try:
        taken.bind(("127.0.0.1", 8787))
    except OSError:
        pass  # already taken by something else: the same situation
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client, cluster = grading.make_client(None, 1)
        client.close()
        cluster.close()
    taken.close()
    assert not [w for w in caught if "8787" in str(w.message)], [str(w.message) for w in caught]


def killing_task():
    """A grading task whose "killer" ends its worker and whose others are graded."""

    def kill_or_grade(task, release):  # pickled by value; graded_result by reference (tests/ is importable)
        import os

        if task["student"] == "killer":
            os._exit(1)
        return graded_result(task)

    return kill_or_grade


def graded_beside_a_killer(tmp_path, workers: int) -> dict:
    """``run_tasks`` on a local cluster of ``workers``: "killer" ends its worker each time it runs, "fine"
    is graded; the records it would have saved, by student."""
    import dask
    from distributed import Client, LocalCluster

    release = GradingRelease(chapter="00_demo", template=nbformat.writes(template()), policy={},
                             sandbox=False)
    todo = [Found(name, "00_demo", notebook=name.encode()) for name in ("killer", "fine")]
    dask.config.set(grading.DASK_CONFIG)
    saved = []
    original = grading.save
    grading.save = lambda root, stored: saved.append(stored.record)
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    try:
        grading.run_tasks(todo, {"00_demo": release}, tmp_path, client,
                          grading.Progress(2, enabled=False), task_function=killing_task())
    finally:
        grading.save = original
        client.close()
        try:
            cluster.close()
        except AssertionError:  # distributed's nanny may still be restarting a killed worker
            pass
    return {r.student: r for r in saved}


@pytest.mark.slow
def test_a_notebook_that_kills_its_workers_is_scored_crashed_and_the_batch_goes_on(tmp_path):
    by_student = graded_beside_a_killer(tmp_path, workers=2)
    assert by_student["fine"].status == "graded"
    assert by_student["killer"].status == "crashed"
    assert f"killed {grading.MAX_CRASHES} workers" in by_student["killer"].reason


@pytest.mark.slow
def test_an_honest_notebook_queued_behind_a_killer_on_the_one_worker_is_still_graded(tmp_path):
    """A batch of two on one worker: Dask sends both to the worker at once, and a worker's death counts
    against every task it held; the killer's three deaths must not score the other crashed
    (coordinator.DASK_CONFIG's comment)."""
    by_student = graded_beside_a_killer(tmp_path, workers=1)
    assert by_student["killer"].status == "crashed"
    assert by_student["fine"].status == "graded", by_student["fine"].reason


@pytest.mark.slow
def test_a_worker_of_a_large_batch_holds_only_the_notebook_it_grades(tmp_path, monkeypatch):
    """Dask queues a batch on the scheduler only when it sees more tasks than twice the cluster's
    threads in one graph. Submitted one by one, the first four of a batch went two to a worker, and a
    worker's death or restart (backstop.py) counts against every task it holds: an honest notebook
    queued behind a crashing one was one step nearer "crashed". The batch now goes in one graph."""
    import threading

    import dask
    from distributed import Client, LocalCluster

    release = GradingRelease(chapter="00_demo", template=nbformat.writes(template()), policy={},
                             sandbox=False)
    todo = [Found(f"s{n}", "00_demo", notebook=str(n).encode()) for n in range(6)]

    def slow_grade(task, release):  # nested, so pickled by value
        import time

        time.sleep(1.5)
        return killing_task()(task, release)

    dask.config.set(grading.DASK_CONFIG)
    monkeypatch.setattr(grading, "save", lambda root, stored: None)
    held, done = [], threading.Event()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        def watch() -> None:
            while not done.is_set():
                held.extend(len(keys) for keys in client.processing().values())
                done.wait(0.1)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            grading.run_tasks(todo, {"00_demo": release}, tmp_path, client,
                              grading.Progress(len(todo), enabled=False), task_function=slow_grade)
        finally:
            done.set()
            watcher.join()
    assert held and max(held) == 1, f"tasks a worker held at once: {sorted(set(held))}"
