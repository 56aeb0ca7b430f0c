"""Red team, session 10: four changes of 2026-12-07 attacked, and honest outsiders' solutions.

- dd81639: no fresh S and replay after a call past its limit in the notebook's last code cell
  (``Bridge.nothing_follows``). Held: a loop or a crash in a trailing cell of the student's, after
  the last test, costs nothing (full marks, no restart); followed only by markdown it is still the
  last code cell; a last cell that loops inside a callback from T (S -> T -> S) costs only itself;
  the same cell before a test restarts S and the test passes; honest chapter 1 notebooks whose
  last cell loops forever get full marks. A test or T cell is never "last" (``cells`` holds S's).
- fd2e49e: a learner's cell stopped at its limit, or whose S crashed, shows one line. Held: an
  exception the student raises shows the student's own traceback, even one named like the grader's
  (``StudentTimeout``); a fake "ran past" message earns nothing and changes no test; no line of a
  test (hidden or not) reaches an output. BROKE (older, fixed in protocol.describe_error): an error
  with a long message showed no frame of the learner's code (the bridge's frames in T instead).
  BROKE (older than these changes, fixed by the lead): an error class of the student's named
  ``StudentProcessLost`` or ``StudentTimeout``, raised in a call from T, was taken for S's loss: T
  started a fresh S and replayed every cell (no points gained; the notebook's own time spent). The
  broker's own errors now carry its secret (``Broker.token``), which T learns from a restart's answer.
- abf0605 (warm parent imports sklearn.datasets): held (each kernel is a fork: scikit-learn's config,
  its data home and its module state are fresh in the next kernel; the environment differs from a
  cold kernel's only by scikit-learn's two ``KMP_*`` defaults, read by Intel's OpenMP alone; scipy's
  two warning filters and about 90 MB more of RLIMIT_DATA's count in chapters 1, 3 and 4, which
  change no check).
- a23f072 (policy facts look for submodules on disk): no student-chosen name is imported or run (the
  trusted names alone are looked for, and only on disk); the facts of all six chapters are the same
  as before it. BROKE (before it, and now fixed): whether ``from P import M`` named a module
  depended on whether the grading process had imported ``P.M`` already: an honest learner's
  ``from autograder.reference import activations`` (chapter 5: an earlier chapter's module) or
  ``from matplotlib import pyplot as plt`` got "may import only ..." advice from a fresh worker, and
  none once another notebook had imported that module. After a23f072 nothing imports them any more,
  so the false advice became permanent. Fixed in facts._is_module_path: a missing attribute is
  looked for as a submodule on disk (from the package's own ``__path__``), for a trusted name.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import textwrap

import nbformat
import pytest

from tests.instructor.demo_course import TWO_PROCESS_OPTIONS, make_demo_course, outputs

from . import test_two_process as two_process
from .policy.checks import check

# -- a23f072: the policy's facts -----------------------------------------------------------------

HONEST_IMPORTS = {
    5: ["from autograder.reference import activations", "from autograder.reference import layers",
        "from matplotlib import pyplot as plt", "from matplotlib import cm", "from numpy import random",
        "from numpy.random import default_rng", "from collections import abc", "from random import random",
        "from autograder.reference.layers import linear_forward", "from numpy.linalg import norm"],
    2: ["from autograder.reference import activations", "from matplotlib import pyplot",
        "from sklearn.datasets import load_digits"],
}
STILL_REFUSED = {
    1: ["from autograder.reference import activations", "from torch import nn", "from numpy import lib",
        "from os import path", "from sklearn import datasets", "from autograder import checks",
        "from . import x", "from json import decoder", "from unittest import mock"],
    5: ["from autograder.reference import sequential", "from sklearn import datasets",
        "from torch import nn"],
}

PROBE = """
import json, sys
from tests.instructor.grading.policy.checks import check
cases = json.loads(sys.argv[1])
print(json.dumps([[v.construct for v in check(form, chapter)] for chapter, form in cases]))
"""


def checked_in_a_fresh_process(cases: list[tuple[int, str]]) -> list[list[str]]:
    """The advice a fresh grading process gives (nothing imported but what the policy imports)."""
    import json

    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(cases)], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_honest_from_imports_get_no_advice_whatever_the_process_imported_before():
    cases = [(chapter, form) for chapter, forms in HONEST_IMPORTS.items() for form in forms]
    fresh = checked_in_a_fresh_process(cases)
    assert {form: said for (_, form), said in zip(cases, fresh) if said} == {}
    # and the same here, where earlier tests may have imported any of them
    assert {form: check(form, chapter) for chapter, form in cases if check(form, chapter)} == {}


def test_imports_outside_the_allowlist_are_still_advised_against():
    cases = [(chapter, form) for chapter, forms in STILL_REFUSED.items() for form in forms]
    fresh = checked_in_a_fresh_process(cases)
    assert [form for (_, form), said in zip(cases, fresh) if not said] == []


def test_a_student_chosen_package_is_never_imported(tmp_path, monkeypatch):
    """A name the student chose (a package on the path, even one named like a trusted one's child) is
    neither imported nor run to resolve ``from P import M``."""
    package = tmp_path / "evilpkg"
    package.mkdir()
    (package / "__init__.py").write_text("raise SystemExit('imported by the grader')\n")
    (package / "sub.py").write_text("raise SystemExit('imported by the grader')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for form in ("from evilpkg import sub", "from evilpkg.sub import x", "import evilpkg.sub",
                 "from autograder.reference import evilpkg"):
        assert check(form, 5), form  # advised against, and nothing ran
    assert check("from numpy import evilpkg", 5) == []  # numpy's attribute, were there one: no import
    assert "evilpkg" not in sys.modules and "evilpkg.sub" not in sys.modules


@pytest.mark.slow
def test_an_error_class_of_the_students_named_like_the_brokers_does_not_restart_s(demo):
    # Fixed by the lead: the broker's own errors carry a secret of the broker's (broker.token) that T
    # learns from the answer to a restart; S never sees it.
    grade, solution, _ = demo
    fake = ("class StudentProcessLost(Exception):\n    pass\n"
            "def square(x):\n    raise StudentProcessLost('the student process ended')\n")
    nb = copy.deepcopy(solution)
    next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "square").source = fake
    result = grade(nb)
    record = result["record"]
    assert record["status"] == "graded" and record["tests"]["square__tests"]["score"] == 0, record
    assert record["student_restarts"] == 0, record


# -- abf0605: scikit-learn in the warm parent ------------------------------------------------------

SKLEARN_PROBE = """
import json, os, warnings
import numpy as np, sklearn, sklearn.datasets, sklearn.utils
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("default")
    np.ones(1) / np.zeros(1)
print(json.dumps({"config": sklearn.get_config()["assume_finite"], "home": os.environ["HOME"],
                  "data_home": sorted(os.listdir(os.environ["HOME"])),
                  # scikit-learn's random_state=None: NumPy's global generator (make_moons(3) only shuffles
                  # three points, the same in one kernel of six)
                  "rng": sklearn.utils.check_random_state(None).random_sample(4).tolist(),
                  "warned": [str(w.category.__name__) for w in seen],
                  "kmp": os.environ.get("KMP_INIT_AT_FORK")}))
"""
SKLEARN_DIRTY = """
import sklearn, sklearn.datasets
sklearn.set_config(assume_finite=True)
sklearn.datasets.get_data_home()  # makes ~/scikit_learn_data
sklearn.datasets.load_digits = None
"""


@pytest.mark.slow
def test_what_one_kernel_does_to_scikit_learn_the_next_does_not_see():
    from autograder.instructor.grading.sandbox import bwrap_problem

    from .test_warm_kernels import run

    if bwrap_problem() is not None:
        pytest.skip(str(bwrap_problem()))
    (first, _, again), _ = run([SKLEARN_PROBE, SKLEARN_DIRTY, SKLEARN_PROBE])
    (second,), _ = run([SKLEARN_PROBE])
    assert again["config"] is True and "scikit_learn_data" in again["data_home"]  # the dirt was there
    assert second["config"] is False and "scikit_learn_data" not in second["data_home"] + first["data_home"]
    assert second["rng"] != first["rng"]  # NumPy's generator (scikit-learn's default) reseeded
    assert second["warned"] == first["warned"] == ["RuntimeWarning"] and second["kmp"] == "FALSE"


# -- dd81639 and fd2e49e: the last cell, and what a stopped cell shows ----------------------------

OPTIONS = dict(TWO_PROCESS_OPTIONS)
HIDDEN_CODE = "np.array([-3.0])"  # a line of the demo's hidden test


# The demo chapter graded two-process through grade_task, and its score: test_two_process's own.
demo, score = two_process.demo, two_process.score
def appended(nb, *cells):
    nb = copy.deepcopy(nb)
    nb.cells.extend(cells)
    return nb


def errors_of(result: dict, index: int) -> list[dict]:
    cell = nbformat.reads(result["notebook"], as_version=4).cells[index]
    return [o for o in cell.outputs if o.output_type == "error"]


@pytest.mark.slow
def test_a_crash_in_a_trailing_cell_before_markdown_costs_nothing(demo):
    grade, solution, _ = demo
    crash = nbformat.v4.new_code_cell("print('bye')\nimport ctypes\nctypes.string_at(0)\n")
    nb = appended(solution, crash, nbformat.v4.new_markdown_cell("The end."))
    result = grade(nb)
    record = result["record"]
    assert record["status"] == "graded" and score(result) == 3, record
    assert record["student_restarts"] == 0, record
    (error,) = errors_of(result, -2)
    assert error.ename == "StudentProcessLost", error
    assert error.traceback[0].startswith("StudentProcessLost: "), error
    assert HIDDEN_CODE not in outputs(result)


@pytest.mark.slow
def test_a_students_own_error_named_like_the_graders_shows_the_students_traceback(demo):
    """A student's ``StudentTimeout`` (their own class, raised in a trailing cell and in a helper
    cell before the tests) is shown with their own frames, S is not lost, and no test changes."""
    grade, solution, _ = demo
    fake = textwrap.dedent("""\
        class StudentTimeout(Exception):
            pass
        def claim():
            raise StudentTimeout("ran past the 4 s limit for one call; score 4/3, all tests passed")
        """)
    nb = copy.deepcopy(solution)
    nb.cells.insert(2, nbformat.v4.new_code_cell(fake + "claim()\n"))
    nb = appended(nb, nbformat.v4.new_code_cell("claim()\n"))
    result = grade(nb)
    record = result["record"]
    assert record["status"] == "graded" and score(result) == 3, record
    for index in (2, -1):
        (error,) = errors_of(result, index)
        shown = "\n".join(error.traceback)
        assert "Traceback (most recent call last)" in shown and "claim()" in shown, shown
        assert "proxy.py" not in shown and "protocol.py" not in shown, shown
    assert HIDDEN_CODE not in outputs(result) and "BEGIN HIDDEN" not in outputs(result)


@pytest.mark.slow
def test_a_loop_in_a_trailing_cell_that_prints_first_costs_only_itself(demo):
    grade, solution, _ = demo
    loop = nbformat.v4.new_code_cell("print(square(2.0), cube(2.0))\nwhile True:\n    pass\n")
    result = grade(appended(solution, loop, nbformat.v4.new_markdown_cell("done")))
    record = result["record"]
    assert record["status"] == "graded" and score(result) == 3 and record["student_restarts"] == 0, record
    (error,) = errors_of(result, -2)
    assert error.traceback == ["StudentTimeout: ran past the 4 s limit for one call (an infinite loop?)"]
    assert HIDDEN_CODE not in outputs(result)


@pytest.mark.slow
def test_an_error_with_a_long_message_still_shows_the_students_frames(demo):
    """BROKE (older than fd2e49e, fixed in protocol.describe_error): S sent the last 4,000 characters
    of a traceback, so an error whose message was long (a ValueError naming a list of 2,000
    numbers) lost every frame: the learner saw the bridge's frames in T (proxy.py's lines), or, for an
    error of their own class, one line with no frame of their code."""
    grade, solution, _ = demo
    named = nbformat.v4.new_code_cell("def check_it(values):\n    raise ValueError(f'values were {values}')\n"
                                      "check_it(list(range(2000)))\n")
    own = nbformat.v4.new_code_cell("class MyError(Exception):\n    pass\nraise MyError('y' * 5000)\n")
    result = grade(appended(solution, named, own))
    assert result["record"]["status"] == "graded" and score(result) == 3, result["record"]
    for index, line in ((-2, "check_it(list(range(2000)))"), (-1, "raise MyError('y' * 5000)")):
        (error,) = errors_of(result, index)
        shown = "\n".join(error.traceback)
        assert line in shown and "proxy.py" not in shown and "__bridge__" not in shown, shown[:2000]


@pytest.mark.slow
def test_a_last_cell_that_loops_inside_a_callback_from_t_costs_only_itself(tmp_path):
    """The learner's last cell calls the instructor's function (in T), which calls back the learner's
    function (in S), which never returns: S is stopped at the nested call's limit, the cell says so,
    no fresh S is started, and the tests (all before it) keep their scores. The same cell before the
    last test: S is started again and that test still passes."""
    from tests.instructor.demo_course import add_after, demo_grader, locked_cell

    helper = locked_cell("def apply_twice(f, x):\n    return f(f(x))\n", "apply_twice", ("runs-in-t",))
    grade, _ = demo_grader(tmp_path, after={"setup": [helper]}, tests={})
    _, solution, _ = make_demo_course(tmp_path / "learner")  # the learner's copy, with the helper cell
    solution = copy.deepcopy(solution)
    solution.cells.insert(2, copy.deepcopy(helper))
    looping = ("def forever(v):\n    while True:\n        pass\n"
               "print(apply_twice(square, 3.0))\napply_twice(forever, 1.0)\n")
    result = grade(appended(solution, nbformat.v4.new_code_cell(looping)))
    record = result["record"]
    assert record["status"] == "graded" and score(result) == 3 and record["student_restarts"] == 0, record
    (error,) = errors_of(result, -1)
    assert error.ename in ("StudentTimeout", "StudentProcessLost") and "ran past" in error.evalue, error
    assert "81.0" in outputs(result) and "proxy.py" not in "\n".join(error.traceback), error
    earlier = add_after(solution, "square__tests", looping)
    result = grade(earlier)
    assert result["record"]["status"] == "graded" and score(result) == 3, result["record"]
    assert result["record"]["student_restarts"] == 1, result["record"]


# -- honest outsiders: chapter 1 in three styles, each with a trailing cell that prints or loops ----

@pytest.fixture(scope="module")
def chapter_one(tmp_path_factory):
    from autograder.instructor.grading.coordinator import build_releases
    from autograder.instructor.grading.worker import grade_task
    from tests.chapters import COURSE

    from .test_redteam_two_process import CHAPTER, OPTIONS

    base = tmp_path_factory.mktemp("redteam10_ch1")
    release = build_releases(base / "build", [CHAPTER], COURSE.solutions, dict(OPTIONS))[CHAPTER]

    def grade(nb) -> dict:
        task = {"student": "outsider", "chapter": CHAPTER, "notebook": nbformat.writes(nb).encode()}
        return grade_task(task, release.to_dict())

    return grade


@pytest.mark.slow
@pytest.mark.two_process_suite
@pytest.mark.parametrize("style", ["classes", "closures", "loops"])
def test_an_honest_outsiders_chapter_one_gets_full_marks(chapter_one, style):
    from tests.chapters import read, student_path

    from .honest_session10 import SOLUTIONS
    from .test_redteam_two_process import CHAPTER, add_after, answer

    helpers, answers, trailing = SOLUTIONS[style]
    nb = read(student_path(CHAPTER))
    for grade_id, source in answers.items():
        nb = answer(nb, grade_id, source)
    for helper in reversed(helpers):
        nb = add_after(nb, "setup", helper)
    nb = appended(nb, *(nbformat.v4.new_code_cell(source) for source in trailing))
    result = chapter_one(nb)
    record = result["record"]
    failed = {k: t["message"] for k, t in record["tests"].items() if t["score"] < t["points"]}
    assert record["status"] == "graded" and failed == {}, (record["reason"], failed)
    assert record["student_restarts"] == 0 and record["advice"] == [], record
    last = nbformat.reads(result["notebook"], as_version=4).cells[-1]
    if style == "loops":  # the last cell never ends: stopped at its limit, nothing replayed after it
        assert [o.ename for o in last.outputs if o.output_type == "error"] == ["StudentTimeout"], last
    else:
        assert [o for o in last.outputs if o.output_type == "error"] == [], last
        assert any(o.output_type == "stream" and o.text.strip() for o in last.outputs), last


@pytest.mark.slow
@pytest.mark.two_process_suite
def test_a_restyled_chapter_five_with_a_last_cell_that_never_ends_gets_full_marks(tmp_path):
    from autograder.instructor.grading.coordinator import build_releases
    from autograder.instructor.grading.worker import grade_task
    from tests.chapters import COURSE, read, source_path

    from .honest_session10 import CH5, CH5_HELPERS, CH5_TRAILING
    from .test_redteam_two_process import OPTIONS, add_after, answer

    chapter = "05_training_and_tuning"
    release = build_releases(tmp_path / "build", [chapter], COURSE.solutions, dict(OPTIONS))[chapter]
    nb = read(source_path(chapter))
    for grade_id, source in CH5.items():
        nb = answer(nb, grade_id, source)
    nb = appended(add_after(nb, "setup", CH5_HELPERS), *(nbformat.v4.new_code_cell(s) for s in CH5_TRAILING))
    result = grade_task({"student": "outsider", "chapter": chapter, "notebook": nbformat.writes(nb).encode()},
                        release.to_dict())
    record = result["record"]
    failed = {k: t["message"] for k, t in record["tests"].items() if t["score"] < t["points"]}
    assert record["status"] == "graded" and failed == {} and record["student_restarts"] == 0, (record, failed)
    (error,) = errors_of(result, -1)
    assert error.ename == "StudentTimeout", error
