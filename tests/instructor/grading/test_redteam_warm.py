"""Red team on T's warm kernels (warm_kernels.py, warm_parent.py): what one notebook's T leaves for
the next T of the same grading process, and whether a forked T behaves as a cold one.

The consecutive T's of one process share the warm parent's sandbox (PID namespace, ``/tmp``, its
folder ``W``). The attacks: a submission graded through the real worker (``grade_task``,
two-process, sandboxed) that tries to change the next student's grade or feedback, or its own, by
what its S sends T (outputs, figures, errors, crashes, deaths mid-call); the parent's own CPU
(RLIMIT_CPU, 600 s for the whole life of the grading process); and a warm kernel compared with a
cold one (signal dispositions, seeds, leftover processes of a kernel that died on its own).

Found and fixed on this branch (warm_parent.py's ``child``):

- A forked kernel had SIGPIPE at SIG_DFL, where every cold Python has it ignored (CPython ignores it
  at start, so a write to a closed pipe or socket raises ``BrokenPipeError``). The child reset it
  with SIGINT and SIGTERM: a T writing to its bridge socket after the broker had closed it died
  silently (the whole notebook "error", no message) instead of failing that cell.
- Every kernel of one parent had the same ``torch.initial_seed()`` (the parent's, drawn once at
  its ``import torch``), where each cold kernel draws its own: a template's unseeded
  ``torch.randn`` gave every student of a worker the same "random" inputs. The child now reseeds
  torch as it reseeds ``random`` and NumPy.
- A kernel that ended on its own (a crash, its CPU limit, ``os._exit``) left what it had started
  running in the parent's PID namespace, which the next notebooks' T's share, until the grading
  process ended: the worker's stop asks the parent to signal a kernel only while it runs. The
  parent now kills a kernel's process group as soon as it sees the kernel ended, before reaping it
  (its zombie keeps the group's number from being reused). test_warm_kernels.py's test of the same
  for a stopped kernel looked for ``"sleep 7xxx"`` in ``/proc/*/cmdline``, where the arguments are
  separated by NULs: it could never see the process, and passed whatever happened.
- The parent's own CPU (its polls: about 0.2 ms per second a notebook runs, a few ms a notebook)
  counts against its RLIMIT_CPU for the grading process's whole life: a worker of a standing
  cluster (``--scheduler``) would reach the 600 s after weeks, and SIGXCPU would end the parent with
  a kernel running in it. A parent past half its limit is now replaced when no notebook uses it.
- A parent that stopped answering (SIGSTOP here; stuck in a fork) was waited for forever, in
  nbclient's event loop where no cell limit fires: the notebook, and under ``make check`` or
  ``--workers 0`` (no backstop) the batch, stalled. A request now waits ``REQUEST_TIMEOUT_S``; then
  the parent is killed with its kernels, the notebook's kernel reads as dead, the next gets a new one.
- A grading process killed outright (the nanny restarting a worker for the backstop) left its
  parent's folder ``W`` in the host's /tmp with the running notebook's files (cells.json: the
  student's code; the folder is 0o777): bwrap dies with the grader, nothing removes it. ``W``'s name
  now holds its grader's PID, and a new parent removes those of graders that no longer run.

Held (each a test below): an attacker's S sending escapes, control codes, a degenerate figure, an
exception naming T's files, dying with its sandbox midway through T's calls, and writing files
wherever S can: the next student on the same process gets the same record and outputs as before,
the parent lives on with no process or folder left; each notebook gets its own language; a T cell
past its limit is interrupted and the next cell runs; the parent spends a few ms of its CPU a
notebook.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_code_cell, new_notebook

from autograder.instructor.grading import warm_kernels
from autograder.instructor.grading.coordinator import build_releases
from autograder.instructor.grading.sandbox import Limits, bwrap_problem, iter_sandbox_processes
from autograder.instructor.grading.warm_kernels import WarmSandbox, parent_for
from autograder.instructor.grading.worker import grade_task
from tests.instructor.demo_course import CHAPTER, TWO_PROCESS_OPTIONS, make_demo_course, outputs
from tests.instructor.demo_course import with_cell as answer

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("warm"),
              pytest.mark.skipif(bwrap_problem() is not None, reason=str(bwrap_problem()))]


def run(sources: list[str]) -> list:
    """Run one notebook in a warm T; each cell's printed JSON (or None)."""
    nb = new_notebook(cells=[new_code_cell(source) for source in sources])
    with WarmSandbox(limits=Limits(), enabled=True, figures=True) as box:
        NotebookClient(nb, km=box.kernel_manager(), timeout=60, allow_errors=True,
                       shutdown_kernel="immediate").execute(cleanup_kc=True)
    found = []
    for cell in nb.cells:
        texts = [o.get("text", "") for o in cell.outputs if o.get("name") == "stdout"]
        found.append(json.loads("".join(texts)) if texts else None)
    return found


# ---- a warm kernel against a cold one ----------------------------------------------------------

BROKEN_PIPE = """
import json, signal, socket
a, b = socket.socketpair()
b.close()
try:
    a.sendall(b"x" * 100_000)
    said = "sent"
except BrokenPipeError:
    said = "BrokenPipeError"
print(json.dumps({"pipe": int(signal.getsignal(signal.SIGPIPE)),
                  "xfsz": int(signal.getsignal(signal.SIGXFSZ)), "said": said}))
"""


def test_a_warm_kernel_writing_to_a_closed_socket_gets_an_error_as_a_cold_python_does() -> None:
    (got,) = run([BROKEN_PIPE])
    assert got is not None, "the kernel died of SIGPIPE (a cold Python ignores it and raises BrokenPipeError)"
    assert got == {"pipe": int(signal.SIG_IGN), "xfsz": int(signal.SIG_IGN), "said": "BrokenPipeError"}


def test_each_warm_kernel_draws_its_own_torch_seed_as_a_cold_import_does() -> None:
    seed = "import json, torch\nprint(json.dumps(torch.initial_seed()))"
    (first,), (second,) = run([seed]), run([seed])
    assert first != second, "two kernels of one parent drew the same torch seed (the parent's)"


# ---- through the real worker: one student, then another, on the same process ------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    base = tmp_path_factory.mktemp("warm")
    course, solution, untouched = make_demo_course(base)
    release = build_releases(base / "build", [CHAPTER], course.solutions, dict(TWO_PROCESS_OPTIONS))[CHAPTER]

    def grade(nb, student: str = "s") -> dict:
        task = {"student": student, "chapter": CHAPTER, "notebook": nbformat.writes(nb).encode()}
        return grade_task(task, release.to_dict())

    return grade, solution, untouched


# What S may send T: escapes and a terminal's control codes, a figure of odd size, an exception whose
# text is a path of T's parent's folder, a death of its own sandbox's first process midway through T's
# call, and files in every place S can write.
ATTACKER_SQUARE = r'''
import glob, os, signal, sys
import matplotlib.pyplot as plt
for place in ["/tmp", os.environ.get("HOME", "/tmp"), os.getcwd()]:
    for name in ["bridge.sock", "cells.json", "kernel-0.json", "matplotlibrc", "n1", "../n1"]:
        try:
            open(os.path.join(place, name), "w").write("backend: agg\n")
        except OSError:
            pass
class Weird(Exception):
    def __str__(self):
        return "/tmp/backprop-warm-x/n1/cells.json\x1b]0;title\x07\x1b[2J" + "\x00" * 10
def square(x):
    print("\x1b[2J\r\x1b[1A score: 2/2 \x00\ufeff" * 50)
    fig = plt.figure(figsize=(0.01, 30))
    plt.plot([float("nan"), float("inf")])
    plt.show()
    sys.stderr.write("x" * 10_000)
    raise Weird()
'''
ATTACKER_CUBE = ("import os, signal\ndef cube(x):\n    os.kill(1, signal.SIGKILL)\n"
                 "    os.kill(os.getppid(), signal.SIGKILL)\n")


def parent_processes(parent: warm_kernels.WarmParent) -> dict[int, str]:
    """That warm parent's processes (bwrap, the parent, its kernels): PID -> command line."""
    found = {}
    for pid in iter_sandbox_processes("warm_parent.py"):
        try:
            said = Path(f"/proc/{pid}/cmdline").read_bytes() + Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if str(parent.folder).encode() in said:
            found[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:80]
    return found


def shared_files(parent: warm_kernels.WarmParent) -> dict[str, tuple[int, int]]:
    """What every T of that parent sees alike: its sandbox's /tmp and /dev/shm (read through
    /proc/PID/root) and its matplotlib folder; path -> (size, mtime)."""
    python = [pid for pid in parent_processes(parent)
              if Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0] == sys.executable.encode()]
    assert len(python) == 1, python
    inside = Path(f"/proc/{python[0]}/root")
    own = inside / str(parent.folder).lstrip("/")  # W is bound at its own path, in the sandbox's /tmp
    found = {}
    for root in (inside / "tmp", inside / "dev/shm", parent.matplotlib_dir):
        for path in [root, *root.rglob("*")]:
            if path.is_relative_to(own):
                continue
            info = path.lstat()
            found[str(path).split("/root/", 1)[-1]] = (info.st_size, info.st_mtime_ns)
    return found


def own_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime, not children's


def comparable(result: dict) -> tuple:
    record = result["record"]
    tests = {k: {f: v for f, v in t.items() if f != "seconds"} for k, t in record["tests"].items()}
    cells = json.loads(result["notebook"])["cells"]
    shown = [[{k: v for k, v in o.items() if k != "execution_count"} for o in c.get("outputs", [])]
             for c in cells]
    return record["status"], tests, shown


def test_an_attacker_graded_first_changes_nothing_for_the_next_student(demo) -> None:
    grade, solution, untouched = demo
    before = grade(solution, "honest")
    parent = parent_for(warm_kernels.Kind(Limits(**TWO_PROCESS_OPTIONS["limits"]), True, "cpu", True))
    processes = parent_processes(parent)
    shared = shared_files(parent)
    attacker = grade(answer(answer(untouched, "square", ATTACKER_SQUARE), "cube", ATTACKER_CUBE), "attacker")
    assert attacker["record"]["status"] == "graded", attacker["record"]
    assert sum(t["score"] for t in attacker["record"]["tests"].values()) == 0, attacker["record"]["tests"]
    after = grade(solution, "honest")
    assert comparable(after) == comparable(before)
    assert parent.alive() and parent_for(parent.kind) is parent, "the warm parent lived on, unchanged"
    assert parent_processes(parent) == processes, "no kernel or process of the attacker's T is left"
    assert shared_files(parent) == shared, "the parent's /tmp, /dev/shm and matplotlib folder are unchanged"
    assert sorted(p.name for p in parent.folder.iterdir() if p.name.startswith("n")) == [], (
        "each notebook's folder is removed")
    assert "score: 2/2" in outputs(attacker), "the attacker's output is shown, as text, in its own page"


def test_the_warm_parent_uses_almost_none_of_its_cpu_limit(demo) -> None:
    grade, solution, _ = demo
    grade(solution)
    parent = parent_for(warm_kernels.Kind(Limits(**TWO_PROCESS_OPTIONS["limits"]), True, "cpu", True))
    python = [pid for pid in parent_processes(parent)
              if Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0] == sys.executable.encode()]
    assert len(python) == 1, python
    start, began = own_cpu_seconds(python[0]), time.monotonic()
    for _ in range(3):
        grade(solution)
    spent = own_cpu_seconds(python[0]) - start
    per_notebook = spent / 3
    # 600 s of RLIMIT_CPU at this rate: how many notebooks one grading process may grade.
    lasts = 600 / max(per_notebook, 1e-6)
    print(f"warm parent: {per_notebook * 1000:.1f} ms of its own CPU a notebook "
          f"({time.monotonic() - began:.1f} s for 3); 600 s lasts {lasts:,.0f} notebooks")
    assert per_notebook < 0.05, f"the parent spent {per_notebook:.3f} s of CPU on one notebook"


def test_a_parent_past_its_share_of_cpu_is_replaced_but_only_once_no_notebook_uses_it(monkeypatch) -> None:
    kind = warm_kernels.Kind(Limits(), True, "cpu", True)
    parent = parent_for(kind)
    usage = parent.request(op="usage")
    assert usage["limit"] == Limits().cpu_seconds and 0 <= usage["cpu"] < 5, usage
    with WarmSandbox(limits=Limits()) as box:
        assert box._parent is parent
        monkeypatch.setattr(warm_kernels, "RETIRE_AT_CPU_SHARE", 0.0)  # as if it had graded for weeks
        assert parent_for(kind) is parent and parent.alive(), "a parent in use is kept"
    fresh = parent_for(kind)
    assert fresh is not parent and not parent.alive() and not parent.folder.exists()
    monkeypatch.setattr(warm_kernels, "RETIRE_AT_CPU_SHARE", 0.5)
    assert parent_for(kind) is fresh


def test_each_notebook_gets_its_own_language_whatever_the_one_before_it_spoke(demo) -> None:
    grade, solution, _ = demo
    wrong = answer(solution, "square", "def square(x):\n    return x * 2\n")
    chinese = nbformat.from_dict(json.loads(nbformat.writes(wrong)))
    chinese.metadata["language"] = "zh_CN"

    def message(nb) -> str:
        return grade(nb)["record"]["tests"]["square__tests"]["message"]

    first, english, second = message(chinese), message(wrong), message(chinese)
    assert first == second and any("\u4e00" <= c <= "\u9fff" for c in first), first
    assert not any("\u4e00" <= c <= "\u9fff" for c in english), english


# ---- a kernel that ends on its own, and a cell past its limit ------------------------------------

def test_a_kernel_that_died_on_its_own_leaves_no_process_of_its_group_behind() -> None:
    marker = f"{os.getpid() % 1000 + 8000}.25"  # one argument: /proc/*/cmdline separates them with NULs
    nb = new_notebook(cells=[new_code_cell(f"import subprocess\nsubprocess.Popen([\"sleep\", {marker!r}])"),
                             new_code_cell("import os\nos._exit(3)")])
    with WarmSandbox(limits=Limits(), enabled=True, figures=True) as box, pytest.raises(DeadKernelError):
        NotebookClient(nb, km=box.kernel_manager(), timeout=30, allow_errors=True,
                       shutdown_kernel="immediate").execute(cleanup_kc=True)
    deadline = time.monotonic() + 10
    while list(iter_sandbox_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = list(iter_sandbox_processes(marker))
    for pid in left:  # not to leave it for the next test
        os.kill(pid, signal.SIGKILL)
    assert left == [], "the kernel's child outlived its notebook (the next T shares its PID namespace)"


def test_a_cell_past_its_limit_is_interrupted_and_the_next_runs_as_in_a_cold_kernel() -> None:
    from autograder.instructor.execute import RobustNotebookClient

    nb = new_notebook(cells=[new_code_cell("import time\ntime.sleep(600)"), new_code_cell("print('after')")])
    with WarmSandbox(limits=Limits(), enabled=True, figures=True) as box:
        RobustNotebookClient(nb, km=box.kernel_manager(), timeout=2, allow_errors=True,  # as run_cells
                             interrupt_on_timeout=True, shutdown_kernel="immediate",
                             error_on_timeout={"ename": "NotFinished", "evalue": "",
                                               "traceback": []}).execute(cleanup_kc=True)
    assert any(o.get("ename") == "KeyboardInterrupt" for o in nb.cells[0].outputs), nb.cells[0].outputs
    assert [o.get("text") for o in nb.cells[1].outputs] == ["after\n"]


def test_a_warning_from_a_t_cell_reads_the_same_in_every_notebook_as_in_a_cold_kernel() -> None:
    warn = "import json, warnings\nwith warnings.catch_warnings(record=True) as seen:\n" \
           "    warnings.simplefilter('always')\n    warnings.warn('x')\nprint(json.dumps(seen[0].filename))"
    (first,), (second,) = run([warn]), run([warn])
    # Was an xfail: each fork named its cells after its own temp folder and PID. The spawn request
    # now names the folder a cold sandboxed kernel (PID 2 of its namespace) gives them.
    assert first == second == "/tmp/ipykernel_2/" + first.rsplit("/", 1)[1], (first, second)


# ---- the backstop: a grading process killed with a kernel running -------------------------------

KILLED_GRADER = """
import os
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook
from autograder.instructor.grading.sandbox import Limits
from autograder.instructor.grading.warm_kernels import WarmSandbox
marker = os.environ["MARKER"]  # not in this process's command line, where the test looks for it
nb = new_notebook(cells=[new_code_cell(f"import subprocess\\nsubprocess.Popen(['sleep', {marker!r}], "
                                       "start_new_session=True)\\nimport time\\ntime.sleep(600)")])
with WarmSandbox(limits=Limits()) as box:
    print(box._parent.folder, flush=True)
    client = NotebookClient(nb, km=box.kernel_manager(), timeout=600)
    client.execute()
"""


def test_a_grading_process_killed_mid_notebook_leaves_no_parent_kernel_or_process() -> None:
    import subprocess

    marker = f"{os.getpid() % 1000 + 9000}.75"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3]), "MARKER": marker}
    grader = subprocess.Popen([sys.executable, "-c", KILLED_GRADER], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    assert grader.stdout is not None
    folder = Path(grader.stdout.readline().decode().strip())  # the parent's W
    deadline = time.monotonic() + 60
    while not list(iter_sandbox_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list(iter_sandbox_processes(marker)), "the kernel never started its process: this proves nothing"
    grader.kill()  # as the nanny restarts a worker the backstop gave up on
    grader.wait()
    deadline = time.monotonic() + 10
    while list(iter_sandbox_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = list(iter_sandbox_processes(marker))
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == [], "a process of the killed grader's T outlived it"
    assert (folder / "n0" / "work").is_dir(), "killed outright, the grader left its notebook's folder"
    warm_kernels.close_all()
    parent_for(warm_kernels.Kind(Limits(), True, "cpu", True))  # as the restarted worker's first notebook
    kept = folder.exists()
    shutil.rmtree(folder, ignore_errors=True)
    assert not kept, "the killed grader's notebook files (the student's cells) stayed in the host's /tmp"


def test_a_stuck_parent_costs_its_notebook_not_the_batch(monkeypatch) -> None:
    """A parent that stops answering (stopped, stuck in a fork) was waited for forever, inside
    nbclient's event loop where no time limit fires: the batch stalled (no backstop under make check)."""
    monkeypatch.setattr(warm_kernels, "REQUEST_TIMEOUT_S", 2.0)
    kind = warm_kernels.Kind(Limits(), True, "cpu", True)
    parent = parent_for(kind)
    run(["print(1)"])
    python = [pid for pid in parent_processes(parent)
              if Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0] == sys.executable.encode()]
    assert len(python) == 1, python
    nb = new_notebook(cells=[new_code_cell("import time\ntime.sleep(30)")])
    began = time.monotonic()
    with WarmSandbox(limits=Limits()) as box, pytest.raises(DeadKernelError):
        client = NotebookClient(nb, km=box.kernel_manager(), timeout=60, shutdown_kernel="immediate")
        with client.setup_kernel():
            os.kill(python[0], signal.SIGSTOP)
            client.execute_cell(nb.cells[0], 0)
    assert time.monotonic() - began < 20 and not parent.alive()
    (answer,) = run(["import json\nprint(json.dumps(1))"])
    assert answer == 1 and parent_for(kind) is not parent
