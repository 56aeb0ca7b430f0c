"""worker.py in pieces: the merge that keeps the instructor's cells, execution limits, safe outputs,
and the coordinator's handling of a notebook that kills its workers."""

from __future__ import annotations

import copy

import nbformat
import pytest

from autograder.instructor.grading.worker import GradingRelease, execute, merge

from .templates import cell, template


def test_merge_takes_answers_and_added_cells_but_never_the_students_tests():
    t = template()
    s = copy.deepcopy(t)
    s.cells[1].source = "def f(x):\n    return x * x"
    s.cells[2].source = "pass"  # an edited test: ignored
    s.cells.insert(2, cell("helper = 1"))  # an added cell, after the answer
    s.cells.append(cell("pass", "free", solution=False, grade=True, locked=True, points=100))
    del s.cells[4]  # the demo cell, deleted: the template's comes back
    merged, written = merge(t, s)
    sources = [c.source for c in merged.cells]
    # the forged cell followed the test cell (the demo cell after it was deleted)
    assert sources == ["import numpy as np", "def f(x):\n    return x * x", "helper = 1",
                       "assert f(2) == 4", "pass", "print('a demo')"]
    assert written == {1, 2, 4}
    assert "nbgrader" not in merged.cells[4].metadata, "forged test metadata is dropped"


def test_a_deleted_test_comes_back_and_an_unchanged_answer_is_not_the_students():
    t = template()
    s = copy.deepcopy(t)
    del s.cells[2]
    merged, written = merge(t, s)
    assert [c.source for c in merged.cells] == [c.source for c in t.cells]
    assert written == set()


def test_a_second_copy_of_an_answer_cell_runs_where_it_is_as_the_learners_own():
    # JupyterLab's copy and paste keeps a cell's metadata: a learner who copied the answer cell
    # below its test to try a fix has two cells of grade id "f". In JupyterLab both run, in order,
    # and the later definition wins; so it does at grading, the first copy being the answer.
    t = template()
    s = copy.deepcopy(t)
    s.cells[1].source = "def f(x):\n    return x + x"
    fixed = copy.deepcopy(s.cells[1])
    fixed.id, fixed.source = "pasted", "def f(x):\n    return x * x"
    s.cells.insert(3, fixed)  # after the test
    merged, written = merge(t, s)
    sources = [c.source for c in merged.cells]
    assert sources == ["import numpy as np", "def f(x):\n    return x + x", "assert f(2) == 4",
                       "def f(x):\n    return x * x", "print('a demo')"]
    assert written == {1, 3}
    assert "nbgrader" not in merged.cells[3].metadata, "the copy is not a second answer cell"


def run(sources, **options):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    release = GradingRelease(chapter="00_demo", template=nbformat.writes(nb), policy={},
                             sandbox=False, **options)
    return execute(nb, release, scratch=_scratch()), nb


def _scratch():
    import tempfile
    from pathlib import Path

    return Path(tempfile.mkdtemp(prefix="backprop-test-scratch-"))


@pytest.mark.slow
def test_a_crashing_kernel_is_an_error_with_the_reason():
    (status, reason), _ = run(["x = 1", "import os\nos._exit(1)", "y = 2"], cell_timeout=20)
    assert status == "error" and "kernel died" in reason, reason


@pytest.mark.slow
def test_a_notebook_past_its_own_limit_is_a_timeout_even_if_each_cell_is_quick():
    sleep = "import time\ntime.sleep(3)"
    (status, reason), _ = run([sleep] * 6, cell_timeout=20, notebook_timeout=8)
    assert status == "timeout" and "notebook ran past its 8 s limit" in reason, reason


@pytest.mark.slow
def test_without_figures_the_kernel_draws_nothing_and_warns_of_nothing():
    """``make check`` grades with ``figures=False``: matplotlib's do-nothing backend, and 25 figures
    left open inside a warnings-as-errors block change nothing (no RuntimeWarning from the 21st)."""
    draw = ("import warnings\nimport matplotlib.pyplot as plt\nwith warnings.catch_warnings():\n"
            "    warnings.simplefilter('error')\n    for _ in range(25):\n        plt.plot([1, 2])\n"
            "        plt.figure()\n    plt.show()\nprint(plt.get_backend())")
    (status, reason), nb = run([draw], cell_timeout=60, figures=False)
    outputs = nb.cells[0].outputs
    assert status == "graded", reason
    assert [o.get("text", "").strip() for o in outputs] == ["template"], outputs
    (status, reason), nb = run([draw], cell_timeout=60)
    assert status == "graded", reason
    assert any("image/png" in o.get("data", {}) for o in nb.cells[0].outputs), "figures are drawn by default"


def test_nbgrader_metadata_that_is_not_a_mapping_makes_an_added_cell_not_a_crash():
    """A submission is valid nbformat with ``"nbgrader": "x"`` in a cell's metadata (the schema
    allows any value there): reading it raised AttributeError out of merge, and the whole notebook
    lost its grade. The cell is one the student added, like any cell with forged metadata."""
    t = template()
    s = copy.deepcopy(t)
    for broken in ("x", ["grade_id"], 3):
        s.cells[1].metadata["nbgrader"] = broken
        s.cells[1].source = "def f(x):\n    return x * x"
        merged, written = merge(t, s)
        assert [c.source for c in merged.cells] == [
            "import numpy as np", "def f(x):\n    return x * x", "def f(x):\n    raise NotImplementedError()",
            "assert f(2) == 4", "print('a demo')"], broken
        assert written == {1} and "nbgrader" not in merged.cells[1].metadata, broken


def test_the_policys_advice_stops_at_its_limit_on_the_code_it_reads():
    """The advice runs before any time limit (about 0.2 ms a line): a submission of megabytes of code
    must not hold its worker for minutes, so past ADVICE_MAX_CHARS it says it did not check."""
    from autograder.instructor.grading.worker import ADVICE_MAX_CHARS, advise

    huge = nbformat.v4.new_code_cell("x = 1\n" * (ADVICE_MAX_CHARS // 6 + 1))
    nb = nbformat.v4.new_notebook(cells=[huge])
    assert advise(nb, {0}, facts=None) == [  # the facts are not even read
        {"cell": "", "line": 0, "construct": "policy", "message": "not checked: too much code"}]


@pytest.mark.slow
def test_a_process_that_runs_many_notebooks_keeps_no_thread_or_descriptor_of_them():
    """nbclient stops a kernel client's channels only for a kernel manager it made itself: every
    notebook run_cells ran left its heartbeat thread, event loop and ZeroMQ context (about 12
    descriptors) behind, and a grading process past ~80 notebooks (a Dask worker, a test run) held
    descriptors over 1023, which select() refuses: CI failed so, twice. Cold and warm kernels."""
    import os
    import threading
    from pathlib import Path
    from tempfile import TemporaryDirectory

    from autograder.instructor.grading.sandbox import Limits, Sandbox, bwrap_problem
    from autograder.instructor.grading.warm_kernels import WarmSandbox
    from autograder.instructor.grading.worker import run_cells

    release = GradingRelease(chapter="00_demo", template="{}", policy={}, sandbox=bwrap_problem() is None)
    counts = []
    for _ in range(4):
        for warm in (True, False):
            nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
            with TemporaryDirectory() as scratch:
                box = (WarmSandbox(limits=Limits(), enabled=release.sandbox) if warm
                       else Sandbox(scratch=Path(scratch), limits=Limits(), enabled=release.sandbox))
                with box:
                    assert run_cells(nb, release, box) == ("graded", "")
        counts.append((threading.active_count(), len(os.listdir("/proc/self/fd"))))
    assert counts[-1] == counts[0], counts  # the first round may start a warm parent; none after
