"""A batch survives a killed Dask worker, and a rerun after Ctrl-C resumes where it stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from tests.instructor.demo_course import CHAPTER, make_demo_course, submit

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("resume")]
STUDENTS = [f"s{n}" for n in range(6)]


def slow_class(tmp_path: Path, blocking: set[str] = frozenset(),
               seconds: float = 4) -> tuple[Path, Path, Path, nbformat.NotebookNode]:
    """Six submissions of the demo chapter, each with a cell that waits: ``seconds`` long, or for
    the students in ``blocking`` until ten minutes have passed (the test rewrites them first)."""
    course, solution, _ = make_demo_course(tmp_path)
    deadline = time.time() + 600
    for student in STUDENTS:
        wait = (f"while time.time() < {deadline!r}:\n    time.sleep(0.2)" if student in blocking
                else f"time.sleep({seconds})")
        submit(tmp_path / "subs", student, with_wait(solution, wait))
    return course.root, tmp_path / "subs", tmp_path / "grading", solution


def with_wait(solution: nbformat.NotebookNode, wait: str) -> nbformat.NotebookNode:
    slow = nbformat.from_dict(json.loads(json.dumps(solution)))
    setup = next(i for i, c in enumerate(slow.cells)
                 if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    slow.cells.insert(setup + 1, nbformat.v4.new_code_cell("import time\n\n" + wait))
    return slow


def start(course: Path, subs: Path, root: Path, timeout: float = 30, out=subprocess.PIPE) -> subprocess.Popen:
    """The coordinator, as `make grade` in a terminal starts it: Ctrl-C (SIGINT) in its default state.
    A process started in the background by a shell without job control (as a CI runner may start
    this suite) inherits SIGINT ignored, and Python then leaves it ignored: a Ctrl-C would do nothing."""
    return subprocess.Popen(
        [sys.executable, "-m", "autograder.instructor.grading.coordinator", str(subs), "--out", str(root),
         "--course", str(course), "--workers", "2", "--no-progress", "--no-feedback",
         "--timeout", str(timeout)],
        stdout=out, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def signal_masks(pid: int) -> str:
    """The kernel's view of ``pid``'s signals (which it ignores, catches, blocks): for a failure message."""
    try:
        lines = (Path("/proc") / str(pid) / "status").read_text().splitlines()
    except OSError:
        return "(gone)"
    wanted = ("SigBlk", "SigIgn", "SigCgt")
    return ", ".join(line.replace("\t", " ") for line in lines if line.startswith(wanted))


def records(root: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (root / "records" / CHAPTER).glob("*.json")}


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def children(pid: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                found.append(int(proc.name))
    return found


def cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_a_killed_worker_costs_nothing(tmp_path):
    course, subs, root, _ = slow_class(tmp_path)
    # Output to a file, and wait for the coordinator itself: once, in a fresh clone's CI run, a
    # process outlived the coordinator (exit 0, every record written) and held an inherited pipe
    # open for 600 s, so `communicate` never saw its end (issue #19's note: find that survivor).
    log = (tmp_path / "coordinator.log").open("w")
    process = start(course, subs, root, out=log)
    try:
        def busy_worker() -> int | None:
            for pid in children(process.pid):
                if "multiprocessing" in cmdline(pid) and any("bwrap" in cmdline(k) or "sandbox" in cmdline(k)
                                                             for k in children(pid)):
                    return pid
            return None

        # Keep the pid that was found: asked twice, the worker may have finished its notebook in between
        # (CI once saw None on the second call).
        victim: list[int | None] = [None]

        def found_one() -> bool:
            victim[0] = busy_worker()
            return victim[0] is not None

        wait_for(found_one, 240, "a worker grading a notebook")
        os.kill(victim[0], signal.SIGKILL)
        process.wait(timeout=600)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
    output = (tmp_path / "coordinator.log").read_text()
    assert process.returncode == 0, output
    got = records(root)
    assert sorted(got) == STUDENTS
    assert all(r["status"] == "graded" and sum(t["score"] for t in r["tests"].values()) == 3
               for r in got.values()), got


def test_a_rerun_after_ctrl_c_resumes_where_it_stopped(tmp_path):
    # No race with the clock: four notebooks wait (for ten minutes) until the test has sent Ctrl-C,
    # so exactly the two quick ones can be recorded by then, however loaded the machine is.
    blocking = set(STUDENTS[2:])
    course, subs, root, solution = slow_class(tmp_path, blocking=blocking, seconds=0)
    process = start(course, subs, root, timeout=900)
    try:
        wait_for(lambda: len(records(root)) >= 1, 300, "a first record")
        masks = signal_masks(process.pid)
        process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:  # its threads' stacks: after 60 s (SLOW_CLOSE_S), or asked now
            process.send_signal(signal.SIGUSR1)
            time.sleep(3)
            os.killpg(process.pid, signal.SIGKILL)
            said, _ = process.communicate()
            pytest.fail(f"the coordinator had not exited 120 s after Ctrl-C (its signals then: {masks}; "
                        f"this test's: {signal_masks(os.getpid())}); it said:\n{said[-8000:]}")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    kept = sorted(records(root))
    assert process.returncode == 130 and "run the same command again" in output, output
    assert 1 <= len(kept) <= 2 and not blocking & set(kept), kept
    for student in blocking:  # they stop waiting: changed notebooks, graded on the rerun
        submit(subs, student, with_wait(solution, "time.sleep(0)"))
    again = start(course, subs, root, timeout=900)  # the same limits: the same release, records kept
    output, _ = again.communicate(timeout=600)
    assert again.returncode == 0, output
    assert f"{len(kept)} of {len(STUDENTS)} submissions unchanged" in output
    assert sorted(records(root)) == STUDENTS
