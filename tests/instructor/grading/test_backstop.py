"""The coordinator's last limit (autograder/instructor/grading/backstop.py): a notebook still being graded
long after its own limit is stopped, its worker restarted, its record says so, and the batch goes on."""

from __future__ import annotations

import os
import time

import nbformat
import pytest

from autograder.instructor.grading import backstop
from autograder.instructor.grading import coordinator as grading
from autograder.instructor.grading.backstop import Backstop
from autograder.instructor.grading.staging import Found
from autograder.instructor.grading.worker import GradingRelease

from .templates import graded_result, template


class FakeClient:
    """What the workers say they execute, and what was asked of the cluster."""

    def __init__(self) -> None:
        self.executing: dict[str, list[str]] = {}
        self.asked = 0
        self.cancelled: list = []
        self.restarted: list[str] = []
        self.restart_status = "OK"

    def run_on_scheduler(self, function) -> dict[str, list[str]]:
        """What the scheduler heard from each worker (``Backstop._ask``'s function, run on a fake)."""
        self.asked += 1
        if isinstance(self.executing, Exception):
            raise self.executing

        class Task:
            def __init__(self, key: str) -> None:
                self.key = key

        class Scheduler:
            workers = {worker: type("WorkerState", (), {"executing": {Task(k): 0.0 for k in keys}})
                       for worker, keys in self.executing.items()}

        return function(Scheduler())

    def cancel(self, futures, force=False) -> None:
        self.cancelled += list(futures)

    def restart_workers(self, workers, raise_for_error=True) -> dict[str, str]:
        self.restarted += workers
        return {worker: self.restart_status for worker in workers}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_task_is_overdue_only_after_its_own_limit_on_the_same_worker():
    watch = Backstop(FakeClient(), {"a": 10.0, "b": 50.0})
    assert watch.look({"w1": ["a"], "w2": ["b"]}, 0.0) == {}, "first seen now"
    assert watch.look({"w1": ["a"], "w2": ["b"]}, 11.0) == {"a": "w1"}, "a ran 11 s of its 10; b 11 of 50"
    assert watch.look({"w2": ["b", "a"]}, 16.0) == {}, "w1 died; a runs again on w2: a new clock"
    assert watch.look({"w2": ["b", "a"]}, 26.5) == {"a": "w2"}
    assert watch.look({"w2": ["b"]}, 30.0) == {}
    assert watch.look({"w2": ["b", "a"]}, 60.0) == {"b": "w2"}, "a stopped and came back: a new clock"


def test_a_task_the_coordinator_did_not_submit_is_never_stopped():
    watch = Backstop(FakeClient(), {"a": 1.0})
    watch.look({"w1": ["someone-elses-task"]}, 0.0)
    assert watch.look({"w1": ["someone-elses-task"]}, 100.0) == {}


def wait_for_answer(watch: Backstop) -> None:
    """Until the asking thread has answered (the answer may already have been read)."""
    for _ in range(2000):  # up to 20 s: a loaded machine may be slow to run the thread
        if watch.answer != []:
            return
        time.sleep(0.01)
    raise AssertionError("the workers' answer never came")


def ask_and_read(watch: Backstop) -> dict[str, str]:
    """One look: ask, wait for the answer, read it (it may be read by the call that asked)."""
    found = watch.overdue()
    wait_for_answer(watch)
    return found | watch.overdue()


def test_the_workers_are_asked_on_a_thread_at_most_once_per_poll_and_a_failed_ask_is_no_verdict():
    client, clock = FakeClient(), Clock()
    watch = Backstop(client, {"a": 1.0}, clock=clock)
    client.executing = {"w1": ["a"]}
    assert ask_and_read(watch) == {} and ("a", "w1") in watch.seen, "the answer read: a first seen"
    assert watch.answer is None and client.asked == 1
    clock.now += backstop.POLL_S / 2
    assert watch.overdue() == {} and client.asked == 1, "not asked again within POLL_S"
    clock.now += backstop.POLL_S
    assert ask_and_read(watch) == {"a": "w1"} and client.asked == 2
    client.executing = OSError("the cluster is closing")
    clock.now += backstop.POLL_S
    assert ask_and_read(watch) == {} and ("a", "w1") in watch.seen, "no answer: nothing decided or forgotten"
    assert client.asked == 3


def test_a_worker_that_does_not_answer_holds_up_only_the_next_look():
    class Wedged(FakeClient):
        def run_on_scheduler(self, function):
            self.asked += 1
            time.sleep(3600)

    client, clock = Wedged(), Clock()
    watch = Backstop(client, {"a": 1.0}, clock=clock)
    started = time.monotonic()
    for _ in range(5):
        assert watch.overdue() == {}
        clock.now += 10 * backstop.POLL_S
    # the question takes an hour; five looks take no time (5 s: a loaded machine)
    assert time.monotonic() - started < 5 and client.asked == 1, "one question outstanding, never waited on"


def test_stop_cancels_first_then_restarts_and_names_the_workers_it_could_not_restart():
    client = FakeClient()
    watch = Backstop(client, {})
    assert watch.stop(["future"], {"w2", "w1"}) == []
    assert client.cancelled == ["future"] and client.restarted == ["w1", "w2"]
    client.restart_status = "timed out"
    assert watch.stop(["other"], {"w3"}) == ["w3"]


def test_the_reason_names_both_limits_and_what_to_do():
    reason = backstop.stuck_reason(1200, 900)
    assert "1200 s" in reason and "900 s" in reason and "again alone" in reason


def stuck_or_grade(task, release):  # the workers import this module (tests/ is on their path)
    import os
    import time

    if task["student"] == "stuck":
        with open(task["pid_file"], "w") as out:
            out.write(str(os.getpid()))
        time.sleep(3600)  # a worker that never comes back, whatever the cause
    return graded_result(task)


@pytest.mark.slow
@pytest.mark.xdist_group("grade-cli")
def test_a_notebook_that_never_ends_is_stopped_recorded_and_the_batch_goes_on(tmp_path, monkeypatch):
    """One worker: "fine" waits behind "stuck", so the batch ends only if the backstop stops it."""
    import dask
    from distributed import Client, LocalCluster

    release = GradingRelease(chapter="00_demo", template=nbformat.writes(template()), policy={},
                             sandbox=False, notebook_timeout=1.0)
    pid_file = tmp_path / "pid"

    class WithPidFile(Found):
        def task(self):
            return {**super().task(), "pid_file": str(pid_file)}

    todo = [WithPidFile(name, "00_demo", notebook=b"{}") for name in ("stuck", "fine")]
    dask.config.set(grading.DASK_CONFIG)
    saved = []
    monkeypatch.setattr(grading, "save", lambda root, stored: saved.append(stored.record))
    started = time.monotonic()
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        grading.run_tasks(todo, {"00_demo": release}, tmp_path, client,
                          grading.Progress(2, enabled=False), task_function=stuck_or_grade, margin=2.0)
        took = time.monotonic() - started
        client.wait_for_workers(1, timeout=60)
    by_student = {r.student: r for r in saved}
    assert by_student["fine"].status == "graded"
    assert by_student["stuck"].status == "timeout"
    assert "had not ended 3 s after it started" in by_student["stuck"].reason
    assert all(t["score"] == 0 for t in by_student["stuck"].tests.values()) and by_student["stuck"].tests
    assert took < 60, f"the batch took {took:.0f} s"
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the stuck worker's process was ended, not left running


@pytest.mark.slow
@pytest.mark.xdist_group("grade-cli")
def test_a_feedback_page_that_hangs_or_fails_becomes_a_page_that_says_so_and_the_rest_are_rendered(
        monkeypatch):
    """The feedback pass on the cluster (``backstop.render_on``): one worker, so the pages after the
    hanging one are rendered only if the backstop stops it."""
    from distributed import Client, LocalCluster

    def render(page):  # nested, so pickled by value
        import time

        if page == "hang":
            time.sleep(3600)
        if page == "raise":
            raise RecursionError("too deep")
        return f"page of {page}"

    monkeypatch.setattr(backstop, "PAGE_LIMIT_S", 2.0)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        started = time.monotonic()
        texts = backstop.render_on(client)(render, ["a", "hang", "raise", "b"])
        took = time.monotonic() - started
    assert texts[0] == "page of a" and texts[3] == "page of b"
    assert "could not be made (ran too long)" in texts[1]
    assert "could not be made (RecursionError)" in texts[2]
    assert took < 60, f"the pass took {took:.0f} s"
