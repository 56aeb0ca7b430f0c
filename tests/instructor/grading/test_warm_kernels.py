"""T's kernels forked from a warm parent are as fresh as cold ones, sandboxed, and stopped with their
notebook (autograder/instructor/grading/warm_kernels.py).

Each test runs notebooks through ``WarmSandbox`` as ``worker.execute_two_process`` does, with
nbclient, and reads what the kernel printed.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_code_cell, new_notebook

from autograder.i18n import language
from autograder.instructor.grading import warm_kernels
from autograder.instructor.grading.sandbox import SANDBOX_UID, Limits, bwrap_problem, iter_sandbox_processes
from autograder.instructor.grading.warm_kernels import (
    WarmSandbox,
    close_all,
    parent_for,
    preloads,
    without_language,
)
from tests.chapters import chapter_ids, read, source_path

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("warm")]
needs_bwrap = pytest.mark.skipif(bwrap_problem() is not None, reason=str(bwrap_problem()))


def run(sources: list[str], *, figures: bool = True, sandbox: bool = True,
        timeout: int = 60, preload: tuple[str, ...] = ()) -> tuple[list[dict], dict]:
    """Run one notebook in a warm T; (each cell's JSON answer or None, its outputs by cell)."""
    nb = new_notebook(cells=[new_code_cell(source) for source in sources])
    with WarmSandbox(limits=Limits(), enabled=sandbox, figures=figures, preload=preload) as box:
        NotebookClient(nb, km=box.kernel_manager(), timeout=timeout, allow_errors=True,
                       shutdown_kernel="immediate").execute(cleanup_kc=True)
    answers = []
    for cell in nb.cells:
        texts = [o.get("text", "") for o in cell.outputs if o.get("name") == "stdout"]
        answers.append(json.loads("".join(texts)) if texts else None)
    return answers, {i: cell.outputs for i, cell in enumerate(nb.cells)}


PROBE = """
import json, os, resource, sys, warnings
import numpy as np, torch, matplotlib, sklearn.datasets
print(json.dumps({
    "cwd": os.getcwd(), "home": os.environ.get("HOME"), "uid": os.getuid(),
    "cpu": resource.getrusage(resource.RUSAGE_SELF).ru_utime,
    "marker": getattr(np, "left_by_an_earlier_kernel", None),
    "torch_marker": hasattr(torch, "left_behind"),
    "divide": np.geterr()["divide"], "filters": len(warnings.filters),
    "linewidth": matplotlib.rcParams["lines.linewidth"], "module": "planted_module" in sys.modules,
    "home_files": sorted(os.listdir(os.environ["HOME"])), "lang": os.environ.get("BACKPROP_LAB_LANG", ""),
    "draw": float(np.random.rand()), "backend": os.environ.get("MPLBACKEND", ""),
    "sklearn_marker": hasattr(sklearn.datasets, "left_behind"),
    "kmp": os.environ.get("KMP_INIT_AT_FORK"),  # set by scikit-learn's import, as in a cold kernel
}))
"""
DIRTY = """
import sys, types, warnings
import numpy as np, torch, matplotlib
np.left_by_an_earlier_kernel = 1
torch.left_behind = True
import sklearn.datasets
sklearn.datasets.left_behind = True
np.seterr(all="raise")
warnings.simplefilter("error")
matplotlib.rcParams["lines.linewidth"] = 9.0
sys.modules["planted_module"] = types.ModuleType("planted_module")
open(os.path.join(os.environ["HOME"], "left.txt"), "w").write("x")
sum(i * i for i in range(3_000_000))  # some CPU time of its own
"""


@needs_bwrap
def test_a_kernel_sees_nothing_an_earlier_kernel_of_the_same_parent_changed() -> None:
    (first, _, _), _ = run([PROBE, "import os\n" + DIRTY, PROBE])
    (second, _), _ = run([PROBE, "print(1)"])
    assert first["marker"] is None and first["divide"] == "warn"
    assert second["marker"] is None and not second["torch_marker"] and not second["module"]
    assert not second["sklearn_marker"] and first["kmp"] == second["kmp"] == "FALSE"
    assert second["divide"] == "warn" and second["filters"] == first["filters"]
    assert second["linewidth"] == first["linewidth"]
    assert "left.txt" not in second["home_files"]
    assert second["cwd"] != first["cwd"] and second["home"] != first["home"]
    assert second["cpu"] < 1.0  # its own CPU clock (RLIMIT_CPU counts from zero), not the parent's
    assert second["draw"] != first["draw"]  # NumPy's global generator reseeded, as at a cold import
    assert second["uid"] == SANDBOX_UID


@needs_bwrap
def test_each_kernel_gets_the_language_of_its_own_notebook_and_its_figures_setting() -> None:
    with language("zh_CN"):
        (chinese,), _ = run([PROBE])
    (english, _), outputs = run([PROBE, "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()"])
    plot = "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()"
    (quiet, _), quiet_outputs = run([PROBE, plot], figures=False)
    assert (chinese["lang"], english["lang"]) == ("zh_CN", "")
    assert english["backend"] == warm_kernels.INLINE_BACKEND and quiet["backend"] == "template"
    assert any("image/png" in o.get("data", {}) for o in outputs[1])
    assert not any("image/png" in o.get("data", {}) for o in quiet_outputs[1])


def test_the_parents_command_does_not_fix_one_notebooks_language() -> None:
    command = ["bwrap", "--setenv", "HOME", "/tmp", "--", "python", "sandbox_exec.py", "--setenv",
               "BACKPROP_LAB_LANG=zh_CN", "--setenv", "LANG=C.UTF-8", "--", "python", "warm_parent.py"]
    kept = ["bwrap", "--setenv", "HOME", "/tmp", "--", "python", "sandbox_exec.py", "--setenv",
            "LANG=C.UTF-8", "--", "python", "warm_parent.py"]
    assert without_language(command) == kept


@needs_bwrap
def test_stopping_a_notebook_ends_its_kernel_and_the_processes_it_started() -> None:
    marker = f"{os.getpid() % 1000 + 7000}.5"  # one argument: /proc/*/cmdline separates them with NULs
    run([f"import subprocess\nsubprocess.Popen(['sleep', {marker!r}])\nprint(1)"])
    deadline = time.monotonic() + 10
    while list(iter_sandbox_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list(iter_sandbox_processes(marker)) == []


@needs_bwrap
def test_a_parent_that_died_ends_its_kernels_and_the_next_notebook_gets_a_new_one() -> None:
    parent = parent_for(warm_kernels.Kind(Limits(), True, "cpu", True))
    nb = new_notebook(cells=[new_code_cell("import time\ntime.sleep(2)"), new_code_cell("print(1)")])
    with WarmSandbox(limits=Limits(), enabled=True, figures=True) as box:
        client = NotebookClient(nb, km=box.kernel_manager(), timeout=30, shutdown_kernel="immediate")
        with client.setup_kernel():
            os.killpg(parent._process.pid, signal.SIGKILL)  # bwrap and everything in its namespace
            with pytest.raises(DeadKernelError):
                client.execute_cell(nb.cells[0], 0)
    (answer,), _ = run([PROBE])
    assert answer["marker"] is None
    assert parent_for(warm_kernels.Kind(Limits(), True, "cpu", True)) is not parent


@needs_bwrap
def test_the_parent_forks_with_one_thread_after_all_its_imports() -> None:
    """A fork copies only the thread that forks: a lock another thread held stays locked in every
    kernel. So the parent's imports (ipykernel's debugger and pydevd included) must start no thread."""
    close_all()
    try:
        (answer,), _ = run([PROBE], sandbox=False)  # the parent has imported, and forked once
        parent = parent_for(warm_kernels.Kind(Limits(), False, "cpu", True))
        pid = parent._process.pid
        assert b"warm_parent" in open(f"/proc/{pid}/cmdline", "rb").read()
        assert os.listdir(f"/proc/{pid}/task") == [str(pid)], "the warm parent runs a second thread"
    finally:
        close_all()


def test_unsandboxed_kernels_are_forked_too_and_close_all_ends_every_parent() -> None:
    (answer,), _ = run([PROBE], sandbox=False)
    assert answer["uid"] == os.getuid() and answer["home"].endswith("/home")
    parents = [parent_for(warm_kernels.Kind(Limits(), enabled, "cpu", True)) for enabled in (False, True)]
    assert all(parent.alive() for parent in parents)
    close_all()
    assert not any(parent.alive() or parent.folder.exists() for parent in parents)


def test_an_answer_nobody_waited_for_is_skipped_and_a_parent_that_does_not_answer_is_replaced(monkeypatch):
    kind = warm_kernels.Kind(Limits(), False, "cpu", True)  # unsandboxed: its PID is the parent's own
    parent = parent_for(kind)
    parent.request(op="poll", pid=1)  # imports done
    os.write(parent._process.stdin.fileno(), b'{"op": "poll", "pid": 1, "id": -5}\n')  # an asker gone
    answer = parent.request(op="poll", pid=1)
    assert answer["id"] == parent._asked and answer["returncode"] == 0
    monkeypatch.setattr(warm_kernels, "REQUEST_TIMEOUT_S", 1)
    os.kill(parent._process.pid, signal.SIGSTOP)
    with pytest.raises(warm_kernels.WarmParentGone, match="did not answer in 1 s"):
        parent.request(op="poll", pid=1)
    assert parent._process.wait(timeout=10) == -signal.SIGKILL
    (answer,), _ = run([PROBE], sandbox=False)  # the next notebook: a new parent
    assert answer["marker"] is None and parent_for(kind) is not parent


def test_a_parent_still_importing_is_not_asked_whether_it_is_worn_out(monkeypatch) -> None:
    # Asking waits for its imports while holding the parents' lock: a worker's event loop (warm_up)
    # or the next notebook would wait with it.
    asked: list = []
    monkeypatch.setattr(warm_kernels.WarmParent, "worn_out", lambda self: asked.append(self) or False)
    kind = warm_kernels.Kind(Limits(), False, "cpu", False)  # unsandboxed: no bwrap needed
    close_all()
    try:
        first = parent_for(kind)
        assert parent_for(kind) is first and asked == [], "still importing: not asked"
        first.request(op="usage")  # answered once its imports are done
        assert parent_for(kind) is first and asked == [first]
    finally:
        close_all()


LAZY_PROBE = """
import json, os, sys
print(json.dumps({"dynamo": "torch._dynamo" in sys.modules,
                  "cache": os.environ.get("TORCHINDUCTOR_CACHE_DIR")}))
"""


@needs_bwrap
def test_a_template_that_names_torch_optim_gets_a_kernel_with_torch_dynamo_already_imported() -> None:
    """torch's first optimizer imports torch._dynamo (1.2 s of CPU in every T of chapters 4 to 6): the
    parent imports it once, before it forks a kernel whose template names torch.optim. What that import
    set in the parent's environment is not the kernel's; a module the parent cannot import is left to
    the kernel."""
    close_all()  # a parent of this test's own: an earlier test's may have imported it already
    try:
        (plain,), _ = run([LAZY_PROBE])
        assert plain == {"dynamo": False, "cache": None}
        optimizer = "import torch\ntorch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)\nprint(1)"
        (warm, made), _ = run([LAZY_PROBE, optimizer], preload=("torch._dynamo", "no_such_module_anywhere"))
        assert warm == {"dynamo": True, "cache": None} and made == 1
        (later,), _ = run([LAZY_PROBE])  # once imported, every later kernel of the parent has it
        assert later["dynamo"] is True
    finally:
        close_all()


def test_the_chapters_whose_tests_build_torch_optimizers_are_those_whose_kernels_get_torch_dynamo() -> None:
    wanted = {chapter: preloads(read(source_path(chapter))) for chapter in chapter_ids()}
    uses = {chapter: "torch.optim" in "".join(c.source for c in read(source_path(chapter)).cells)
            for chapter in chapter_ids()}
    assert wanted == {chapter: ("torch._dynamo",) if uses[chapter] else () for chapter in chapter_ids()}
    assert sum(map(bool, wanted.values())) >= 3, wanted  # chapters 4 to 6 today
