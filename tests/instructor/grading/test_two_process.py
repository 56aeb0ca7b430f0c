"""Two-process grading through the real worker (``grade_task``, isolation="two-process"), issue #18.

The student's cells run in S, a plain Python in its own sandbox; the test cells run in T and reach
the student's names through handles. Proved here on the tiny demo chapter (tests/fixtures/00_demo.py):

- every attack of #18 earns no more than its control (the same notebook without the attack):
  a ``global`` in a class body or in dead code, IPython's prefilter and shell aliases, reading
  ``In``, ``linecache`` or the hidden tests, patching numpy in S, objects that lie (``__eq__``,
  ndarray subclasses, object arrays), S exiting or segfaulting mid-test, 1 GB of output;
- nothing of T (test code, expected values, torch, the harness) is readable or importable in S;
- an exercise that loops forever loses only its own tests, and the notebook is still "graded";
- the honest code that the one-kernel policy refused scores full marks, and the policy's
  findings are advice only (recorded, never a zero).
"""

from __future__ import annotations

import copy
import json

import nbformat
import pytest

from autograder.instructor.grading.coordinator import build_releases
from autograder.instructor.grading.worker import GradingRelease, grade_task
from tests.instructor.demo_course import (
    CHAPTER,
    TWO_PROCESS_OPTIONS,
    add_after,
    demo_grader,
    graded_score,
    index_of,
    locked_cell,
    make_demo_course,
    outputs,
)
from tests.instructor.demo_course import with_cell as answer

from .templates import nbgrader_v3_cell as cell

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("two_process")]

OPTIONS = TWO_PROCESS_OPTIONS
HIDDEN_CODE = "np.array([-3.0])"  # a line of the demo's hidden test; never in a message
SQUARE = "def square(x):\n    return x**2\n"
WRONG_SQUARE = "def square(x):\n    return x * 2\n"


def add_cell(nb, source: str, after: str = "setup"):
    return add_after(nb, after, source)


def attacks(solution, untouched) -> dict[str, tuple[object, float]]:
    """name -> (notebook, the most it may score: its control's score)."""
    wrong = answer(solution, "square", WRONG_SQUARE)
    quiet = "import contextlib\nQuiet = lambda name: contextlib.suppress(BaseException)\n"
    lying = ("class Liar:\n    def __eq__(self, other):\n        return True\n"
             "    def __array__(self, *args, **kwargs):\n        return np.array([4.0])\n"
             "    __hash__ = None\n")
    return {
        "class_body_global": (add_cell(untouched, quiet + "class X:\n    global exercise\n"
                                       "    exercise = Quiet\n"), 0),
        "dead_code_global": (add_cell(untouched, quiet + "def f():\n    return\n"
                                      "    global exercise, exec, In\nf()\nexercise = Quiet\n"), 0),
        "rebind_harness": (add_cell(untouched, "class Pass:\n    def __enter__(self):\n        return self\n"
                                    "    def __exit__(self, *exc):\n        return True\n"
                                    "def exercise(name):\n    return Pass()\n"
                                    "check_close = lambda *a, **k: None\nlen = lambda x: 3\n"), 0),
        "prefilter_magic": (add_cell(untouched, "pwd {__import__('builtins').exec('exercise = None')}\n"), 0),
        "shell_alias": (add_cell(untouched, "ls -la\n"), 0),
        "shell_escape": (add_cell(untouched, "!kill -9 $PPID\n%run /etc/passwd\n"), 0),
        "read_history": (answer(untouched, "square", "def square(x):\n    print(In, Out, _ih)\n"
                                "    return x * 2\n"), 0),
        "read_linecache": (answer(wrong, "square", "import linecache\n"
                                  "def square(x):\n    print(list(linecache.cache))\n    return x * 2\n"), 1),
        "harness": (add_cell(untouched, "import autograder\nautograder.exercise = None\n"
                             "from autograder import checks\n"
                             "checks.check_close = lambda *a, **k: None\n"), 0),
        "torch": (answer(wrong, "square", "import torch\ndef square(x):\n    return x**2\n"), 1),
        "patch_numpy": (add_cell(wrong, "np.isclose = lambda *a, **k: True\nnp.allclose = np.isclose\n"
                                 "np.array_equal = np.isclose\n"), 1),
        "liar_eq": (answer(wrong, "square", lying + "def square(x):\n    return Liar()\n"), 1),
        "liar_subclass": (answer(wrong, "square", "class Sub(np.ndarray):\n"
                                 "    def __eq__(self, other):\n        return np.ones(1, bool)\n"
                                 "def square(x):\n    return (x * 2).view(Sub)\n"), 1),
        "liar_object_array": (answer(wrong, "square", lying + "def square(x):\n"
                                     "    out = np.empty(1, dtype=object)\n    out[0] = Liar()\n"
                                     "    return out\n"), 1),
        "exit_mid_test": (answer(wrong, "square", "import os\ndef square(x):\n    os._exit(0)\n"), 1),
        "segfault_mid_test": (answer(wrong, "square", "import ctypes\ndef square(x):\n"
                                     "    return ctypes.string_at(0)\n"), 1),
        "raise_exit": (answer(wrong, "square", "import sys\ndef square(x):\n    sys.exit(0)\n"), 1),
        "snoop": (answer(wrong, "square", SNOOP), 1),
    }


# The student's code looks everywhere it can for T's test code, and prints what it finds.
SNOOP = '''import os, glob
# What only the demo chapter's tests hold (the hidden test's marker, input and name, a test's call):
# not words that S's own library may hold (its drawings' HIDDEN_COLOR, a coordinate -3.0).
MARKS = (b"BEGIN HIDDEN TESTS", b"np.array([-3.0])", b"square of a negative number", b"check_close(square")
def square(x):
    found = []
    places = ["/tmp/**", "/proc/*/cmdline", "/proc/*/environ", os.getcwd() + "/**",
              os.path.dirname(os.getcwd()) + "/**", "/run/**", "/home/**"]
    for pattern in places:
        for path in glob.glob(pattern, recursive=True)[:5000]:
            try:
                with open(path, "rb") as handle:
                    data = handle.read(2_000_000)
            except OSError:
                continue
            if any(mark in data for mark in MARKS):
                found.append(path)
    print("found:", found, dict(os.environ))
    return x * 2
'''

HONEST = {
    "square": ("from __future__ import annotations\nfrom builtins import range\nimport sys\n"
               "from numpy.lib.stride_tricks import sliding_window_view\n\n"
               "def square(x: np.ndarray) -> np.ndarray:\n"
               "    with np.errstate(over='ignore'):\n"
               "        power = getattr(np, 'square')\n"
               "        return Squarer(power)(x)\n"),
    "cube": ("def cube(x):\n    windows = sliding_window_view(np.arange(3.0), 2)  # a library call, unused\n"
             "    return x * square(x) + 0 * windows.sum() * len(vars(Squarer(np.square)))\n"),
}
HELPER = ("class Squarer:\n    def __init__(self, f):\n        self.f = f\n"
          "    def __repr__(self):\n        return self.__class__.__name__\n"
          "    def __call__(self, x):\n        return self.f(x)\n")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    base = tmp_path_factory.mktemp("two_process")
    course, solution, untouched = make_demo_course(base)
    releases = build_releases(base / "build", [CHAPTER], course.solutions, dict(OPTIONS))
    release = releases[CHAPTER]
    assert release.isolation == "two-process"

    def grade(nb) -> dict:
        task = {"student": "s", "chapter": CHAPTER, "notebook": nbformat.writes(nb).encode()}
        return grade_task(task, release.to_dict())

    return grade, solution, untouched



def score(result: dict) -> float:
    return sum(t["score"] for t in result["record"]["tests"].values())


def test_control_full_marks_and_untouched_zero(demo):
    grade, solution, untouched = demo
    full, none = grade(solution), grade(untouched)
    assert full["record"]["status"] == "graded" and score(full) == 3, full["record"]
    assert none["record"]["status"] == "graded" and score(none) == 0, none["record"]
    assert full["record"]["isolation"] == "two-process"


ATTACKS = ["class_body_global", "dead_code_global", "rebind_harness", "prefilter_magic", "shell_alias",
           "shell_escape", "read_history", "read_linecache", "harness", "torch", "patch_numpy", "liar_eq",
           "liar_subclass", "liar_object_array", "exit_mid_test", "segfault_mid_test", "raise_exit", "snoop"]


def test_the_attack_list_is_complete(demo):
    _, solution, untouched = demo
    assert sorted(ATTACKS) == sorted(attacks(solution, untouched)), (
        "every attack is run by test_each_attack_earns_no_more_than_its_control")


@pytest.mark.parametrize("name", ATTACKS)
def test_each_attack_earns_no_more_than_its_control(demo, name):
    grade, solution, untouched = demo
    nb, most = attacks(solution, untouched)[name]
    result = grade(nb)
    record = result["record"]
    assert record["status"] == "graded", record
    assert score(result) <= most, (name, record["tests"])
    shown = outputs(result)  # the graded notebook keeps the tests' source; feedback.py strips it
    assert HIDDEN_CODE not in shown and "BEGIN HIDDEN" not in shown, f"{name}: a hidden test line was printed"


def test_nothing_of_t_is_readable_from_s(demo):
    grade, solution, untouched = demo
    result = grade(answer(answer(solution, "square", WRONG_SQUARE), "square", SNOOP))
    printed = outputs(result)
    assert "found: []" in printed, printed[:2000]


def test_a_pasted_copy_of_an_answer_cell_counts_as_in_jupyterlab(demo):
    # JupyterLab's copy keeps the cell's metadata: the learner left the stub and pasted a copy of
    # the answer cell below it with the answer. There the later definition wins, and so here.
    grade, _, untouched = demo
    nb = copy.deepcopy(untouched)
    pasted = copy.deepcopy(nb.cells[index_of(nb, "square")])
    pasted.id, pasted.source = "pasted-square", "def square(x):\n    return x * x\n"
    nb.cells.insert(index_of(nb, "square") + 1, pasted)
    result = grade(nb)
    assert result["record"]["tests"]["square__tests"]["score"] == 2, result["record"]["tests"]


def test_a_loop_loses_only_its_exercise(demo):
    grade, solution, untouched = demo
    result = grade(answer(solution, "cube", "def cube(x):\n    while True:\n        pass\n"))
    record = result["record"]
    assert record["status"] == "graded", record
    assert record["tests"]["square__tests"]["score"] == 2 and record["tests"]["cube__tests"]["score"] == 0
    assert "ran past" in record["tests"]["cube__tests"]["message"], record["tests"]["cube__tests"]


def test_a_loop_in_the_last_cell_costs_its_limit_and_no_replay(demo):
    # After a call past its limit, S is started again and every cell replayed, so that later cells
    # find the student's names; after the notebook's last cell nothing would use them.
    grade, solution, untouched = demo
    looping = copy.deepcopy(solution)
    looping.cells.append(nbformat.v4.new_code_cell("while True:\n    pass\n"))
    result = grade(looping)
    record = result["record"]
    assert record["status"] == "graded" and score(result) == 3, record
    assert record["student_restarts"] == 0, "no fresh S after the last cell"
    last = nbformat.reads(result["notebook"], as_version=4).cells[-1]
    (error,) = [o for o in last.outputs if o.output_type == "error"]
    # What happened, not the bridge's frames in T (no part of the learner's code)
    said = "StudentTimeout: ran past the 4 s limit for one call (an infinite loop?)"
    assert error.traceback == [said], error
    # The same loop one cell earlier: S is started again, and the last cell still finds the answers.
    earlier = copy.deepcopy(looping)
    earlier.cells.append(nbformat.v4.new_code_cell("print(square(3.0), cube(2.0))\n"))
    result = grade(earlier)
    assert result["record"]["student_restarts"] == 1 and score(result) == 3, result["record"]
    assert "9.0 8.0" in str(nbformat.reads(result["notebook"], as_version=4).cells[-1].outputs)


def test_what_a_cell_printed_before_it_was_stopped_is_shown_before_the_stop(demo):
    # The broker asks S for its output not yet sent (SIGUSR1) before it stops the call: JupyterLab
    # would have shown it, and it is often what tells a learner where the loop is (redteam 10).
    grade, solution, _ = demo
    printing = "for epoch in range(3):\n    print(f'epoch {epoch}')\nwhile True:\n    pass\n"
    in_a_call = "def square(x):\n    print('squaring', x)\n    while True:\n        pass\n"
    nb = add_after(answer(solution, "square", in_a_call), "cube__tests", printing)
    nb.cells.append(nbformat.v4.new_code_cell("print(cube(2.0))\n"))
    result = grade(nb)
    record = result["record"]
    assert record["status"] == "graded" and score(result) == 1, record  # square's 2 points lost, cube's kept
    graded = nbformat.reads(result["notebook"], as_version=4)
    cells = graded.cells
    shown = {i: json.dumps(c.get("outputs", [])) for i, c in enumerate(cells) if c.cell_type == "code"}
    stopped = next(i for i, c in enumerate(cells) if c.source == printing)
    assert "epoch 0\\nepoch 1\\nepoch 2" in shown[stopped], shown[stopped]
    assert "StudentTimeout" in shown[stopped], shown[stopped]
    square_test = index_of(graded, "square__tests")
    assert "squaring" in shown[square_test] and "ran past" in shown[square_test], shown[square_test]
    assert "8.0" in shown[len(cells) - 1], "S was started again and the later cells ran"


@pytest.mark.slow
def test_a_loop_variable_a_test_also_uses_gets_no_note_and_an_assigned_name_does(tmp_path):
    # A trailing `for name in ...` of the learner's is not meant to replace a test's `name`: no
    # "(grading: the tests keep their own name ...)" note, which puzzled honest learners (redteam 10).
    looped = ('with exercise("square"):\n    for name in ["square([2])"]:\n'
              '        check_close(square(np.array([2.0])), np.array([4.0]), name=name)\n')
    grade, template = demo_grader(tmp_path, after={}, tests={"square__tests": looped})
    solution = copy.deepcopy(template)
    loop = "for name in ['a', 'b']:\n    print(name.upper())\n"
    assigned = "name = 'mine'\nprint(name)\n"
    result = grade(add_after(solution, "cube__tests", loop, assigned))
    assert graded_score(result) == 3
    assert "A" in outputs(result, (loop,)) and "keep their own" not in outputs(result, (loop,))
    assert "the tests keep their own name" in outputs(result, (assigned,)), outputs(result, (assigned,))


def test_a_crash_fails_only_the_test_that_needed_it(demo):
    grade, solution, untouched = demo
    crash = "import ctypes\ndef square(x):\n    return ctypes.string_at(0)\n"
    result = grade(answer(solution, "square", crash))
    record = result["record"]
    assert record["tests"]["cube__tests"]["score"] == 1 and record["tests"]["square__tests"]["score"] == 0
    assert record["student_restarts"] >= 1


def test_a_gigabyte_of_output_is_cut_and_costs_nothing_else(demo):
    grade, solution, untouched = demo
    flood = "def square(x):\n    for _ in range(1024):\n        print('x' * 2**20)\n    return x**2\n"
    result = grade(answer(solution, "square", flood))
    assert score(result) == 3, result["record"]
    assert len(result["notebook"]) < 8_000_000


def test_honest_code_the_old_policy_refused_scores_full_marks(demo):
    grade, solution, untouched = demo
    nb = add_cell(answer(answer(solution, "square", HONEST["square"]), "cube", HONEST["cube"]), HELPER)
    nb = add_cell(nb, "%timeit square(np.ones(3))\nprint('timed')\n", after="square")
    result = grade(nb)
    record = result["record"]
    assert record["status"] == "graded" and score(result) == 3, record["tests"]
    assert record["policy"] == [], "two-process grading zeroes nothing for the policy"
    assert record["advice"], "what the policy finds is kept as advice"
    assert "IPython syntax" in result["notebook"], "the skipped %timeit line is named in the feedback"


def test_a_learners_own_cell_draws_with_the_course_figures(demo):
    """The setup's ``draw_network`` and friends work in a learner's own cell at grading as in
    JupyterLab: S has the course's drawing code (the figure comes back, no error in the feedback)."""
    grade, solution, _ = demo
    drawing = ("import matplotlib.pyplot as plt\nfrom autograder.diagrams.networks import draw_network\n"
               "fig, ax = plt.subplots()\ndraw_network(ax, [2, 3, 1], ['in', 'hidden', 'out'])\nplt.show()\n"
               "print('my network is drawn')\n")
    result = grade(add_cell(solution, drawing, after="square"))
    assert result["record"]["status"] == "graded" and score(result) == 3, result["record"]
    shown = outputs(result)
    assert "my network is drawn" in shown and '"output_type": "error"' not in shown, shown[:2000]
    assert "image/png" in shown, "the learner's figure comes back"


def test_a_figure_comes_back_whole_when_its_cell_calls_into_t_midway(demo):
    """A cell in S that calls into T while it draws (a claim check, a callback) still shows its one
    figure as drawn at plt.show(): the frame to T carried the half-drawn figure and closed it, so
    the labels set after the call were lost and plt.show() showed an extra, empty figure (chapter
    5's schedule demo); and two plt.show() in a cell show two figures, as in JupyterLab."""
    grade, solution, _ = demo
    drawing = ("import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([0, 1], [0, 1])\n"
               "check_close(np.array([1.0]), np.array([1.0]), name='a claim, checked in T')\n"
               "ax.set_title('titled after the call')\nplt.tight_layout()\nplt.show()\n"
               "print('figure', len(fig.axes[0].get_title()) > 0)\n")
    twice = "plt.plot([1, 2])\nplt.show()\nplt.plot([2, 1])\nplt.show()\n"
    # pyplot imported in a cell before the first figure: matplotlib then picks its backend inside a
    # cell where S's show is already in place (and sets show.__signature__)
    nb = add_cell(add_cell(solution, twice, after="square"), drawing, after="square")
    result = grade(add_cell(nb, "import matplotlib.pyplot as plt\n", after="setup"))
    assert result["record"]["status"] == "graded" and score(result) == 3, result["record"]
    cells = json.loads(result["notebook"])["cells"]
    drawn = next(c for c in cells if "titled after the call" in "".join(c["source"]))
    shown = next(c for c in cells if "".join(c["source"]).startswith("plt.plot([1, 2])"))

    def pngs(cell) -> int:
        return sum("image/png" in o.get("data", {}) for o in cell["outputs"])

    assert pngs(drawn) == 1 and "figure True" in json.dumps(drawn["outputs"]), drawn["outputs"]
    assert pngs(shown) == 2, shown["outputs"]


def test_make_grade_with_two_process_grades_the_honest_styles_full_marks(tmp_path, monkeypatch):
    """Through make grade's own path (coordinator.grade, isolation from BACKPROP_LAB_ISOLATION, as
    an instructor selects it today): a helper class from another cell, `from builtins import
    range`, `import sys`, `from __future__ import annotations`."""
    monkeypatch.setenv("BACKPROP_LAB_ISOLATION", "two-process")
    from autograder.instructor.grading.coordinator import GradeSettings
    from autograder.instructor.grading.coordinator import grade as make_grade

    course, solution, _ = make_demo_course(tmp_path / "demo")
    nb = add_cell(answer(answer(solution, "square", HONEST["square"]), "cube", HONEST["cube"]), HELPER)
    folder = tmp_path / "submitted" / "learner" / CHAPTER
    folder.mkdir(parents=True)
    nbformat.write(nb, str(folder / f"{CHAPTER}.ipynb"))
    options = {k: v for k, v in OPTIONS.items() if k in ("cell_timeout", "notebook_timeout", "limits")}
    [record] = make_grade(tmp_path / "submitted", tmp_path / "grading", course,
                          GradeSettings(workers=0, feedback=False, progress=False, **options))
    assert record.isolation == "two-process", "BACKPROP_LAB_ISOLATION selects it"
    assert record.status == "graded" and record.policy == [], record
    assert record.code_score == 3, record.tests


def test_a_slow_instructor_cell_is_interrupted_and_the_notebook_goes_on():
    """T runs only trusted code, so a T cell past its limit is interrupted, not the run ended."""
    from autograder.instructor.grading.policy import facts_from_source
    from autograder.instructor.grading.sandbox import bwrap_problem

    template = nbformat.v4.new_notebook()
    template.cells = [
        cell("import numpy as np\nfrom autograder import check_close, exercise", grade_id="setup",
             locked=True, solution=False, grade=False),
        cell("def f(x):\n    raise NotImplementedError()", grade_id="f", solution=True, grade=False,
             locked=False),
        cell("import time\ntime.sleep(600)  # a demo that takes too long"),
        cell("with exercise('f'):\n    check_close(f(np.array([2.0])), np.array([4.0]), name='f(2)')",
             grade_id="f__tests", solution=False, grade=True, locked=True, points=1),
    ]
    release = GradingRelease(chapter="00_demo", template=nbformat.writes(template), cell_timeout=1,
                             policy=facts_from_source(template, 0).to_dict(), isolation="two-process",
                             sandbox=bwrap_problem() is None)
    submitted = copy.deepcopy(template)
    submitted.cells[1].source = "def f(x):\n    return x**2"
    task = {"student": "s", "chapter": "00_demo", "notebook": nbformat.writes(submitted).encode()}
    result = grade_task(task, release)
    record = result["record"]
    assert record["status"] == "graded" and record["tests"]["f__tests"]["score"] == 1, record
    shown = outputs(result)
    # The demo ran where it was placed (S here: its limit is a call's) and its cell says it was stopped
    assert "ran past the 1 s limit" in shown or "KeyboardInterrupt" in shown, shown[:500]


WHERE = "'T' if 'exercise' in globals() else 'S'"  # the harness is T's alone


def test_a_demo_runs_in_s_beside_the_students_code_and_a_tests_input_stays_in_t(tmp_path):
    """The instructor's demo that calls the student's code runs in S, where that code is (no round
    trip a call: chapter 6's capstone); a demo whose result a test reads runs in T (S could forge it)."""
    _, solution, _ = make_demo_course(tmp_path / "plain")
    tests = solution.cells[index_of(solution, "cube__tests")].source
    grade, _ = demo_grader(tmp_path, after={"square": [
        nbformat.v4.new_code_cell(f"print('the demo runs in', {WHERE})\n"
                                  "squares = [square(float(k)) for k in range(2000)]"),
        nbformat.v4.new_code_cell(f"print('the input is made in', {WHERE})\ngiven = np.array([5.0])"),
    ]}, tests={"cube__tests": tests.replace(
        "with exercise(\"cube\"):", "with exercise(\"cube\"):\n    check_close(given, np.array([5.0]))")})
    result = grade(solution)
    assert result["record"]["status"] == "graded" and score(result) == 3, result["record"]
    shown = outputs(result)
    assert "the demo runs in S" in shown and "the input is made in T" in shown, shown


def test_a_learners_cell_reads_the_instructors_data_but_never_a_tests_value_of_the_same_name(tmp_path):
    """Chapter 2's ``X_train`` is a test's own input, then the digits a locked cell splits: a
    learner's cell after the digits reads the digits (it used to get a NameError in the feedback);
    one between the test and the digits is never given the test's value."""
    _, solution, _ = make_demo_course(tmp_path / "plain")
    tests = solution.cells[index_of(solution, "cube__tests")].source
    data = nbformat.v4.new_code_cell("data = np.arange(3.0)  # the instructor's data")
    grade, template = demo_grader(tmp_path, after={"cube__tests": [data]}, tests={
        "cube__tests": "data = np.array([7.0, 11.0])  # the test's own input\n" + tests})
    at = 1 + index_of(template, "cube__tests")
    submitted = copy.deepcopy(template)
    submitted.cells.insert(at + 1, nbformat.v4.new_code_cell("print('after the data:', data.sum())"))
    submitted.cells.insert(at, nbformat.v4.new_code_cell("print('after the test:', data)"))
    result = grade(submitted)
    assert result["record"]["status"] == "graded" and score(result) == 3, result["record"]
    shown = outputs(result)
    assert "after the data: 3.0" in shown, shown
    assert "NameError" in shown and "name 'data' is not defined" in shown, shown
    assert "7. 11." not in shown, "the test's input reached S"


def test_a_learners_cell_after_a_locked_cells_import_has_that_import(tmp_path):
    """Chapter 2's locked cell imports ``load_digits``: a learner's own cell after it that calls
    ``load_digits()`` got a NameError at grading (a library's function is not data T can send).
    S now makes the import itself, once T ran it; before T ran it the name is unknown, as in
    JupyterLab. A test cell's import is never given."""
    _, solution, _ = make_demo_course(tmp_path / "plain")
    tests = solution.cells[index_of(solution, "cube__tests")].source
    # (in T, as chapter 2's is: a test reads the data it loads)
    imports = locked_cell("from fractions import Fraction\nimport statistics as stats", "imports",
                          tags=("runs-in-t",))
    grade, template = demo_grader(tmp_path, after={"cube__tests": [imports]},
                                  tests={"cube__tests": "from decimal import Decimal\n" + tests})
    at = 1 + index_of(template, "cube__tests")
    submitted = copy.deepcopy(template)
    submitted.cells.insert(at + 1, nbformat.v4.new_code_cell(
        "print('after:', Fraction(1, 3) + stats.median_low([1, 3]))\nprint(Decimal)"))
    submitted.cells.insert(at, nbformat.v4.new_code_cell("print('before:', Fraction(1, 3))"))
    result = grade(submitted)
    assert result["record"]["status"] == "graded" and score(result) == 3, result["record"]
    shown = outputs(result)
    assert "after: 4/3" in shown, shown
    assert "name 'Fraction' is not defined" in shown, "before the locked cell, as in JupyterLab"
    assert "name 'Decimal' is not defined" in shown, "a test's import is the test's"
    # ... and the learner sees their own cell's frames, not the grader's (proxy.student_frames)
    assert 'File \\"<cell' in shown and "run_cell" not in shown and "student_process.py" not in shown, shown


def test_a_timing_cell_is_not_run_at_grading_and_says_why(tmp_path):
    """A cell tagged ``timing`` would time the grader (the sandbox, the load, a round trip to S at
    every call: chapter 6's epoch took 6,600 ms instead of 10): it prints a note instead, and the
    feedback still shows its code."""
    timing = nbformat.v4.new_code_cell("import time\nprint('TIMED', time.perf_counter())",
                                       metadata={"tags": ["timing"]})
    grade, template = demo_grader(tmp_path, after={"square": [timing]}, tests={})
    result = grade(template)
    assert result["record"]["status"] == "graded" and score(result) == 3, result["record"]
    graded = json.loads(result["notebook"])["cells"]
    cell = next(c for c in graded if "TIMED" in "".join(c["source"]))
    assert cell["metadata"]["tags"] == ["timing"], "the feedback shows the cell as written"
    shown = json.dumps(cell["outputs"])
    assert "It is not run at grading" in shown and "TIMED" not in shown, shown


def test_a_demo_in_t_calling_a_demos_function_leaves_that_demo_and_the_later_ones_in_s(tmp_path):
    """Chapter 5's widget stays in T (S has no ipywidgets) and calls ``plot_history``, which a demo
    that trains defines: T defines its own copy of the function, so that demo, and every later one
    that calls it, still runs in S (chapter 5: 8,152 round trips -> 4,489)."""
    in_t = nbformat.v4.new_code_cell("print('T draws', draw(1.0))", metadata={"tags": ["runs-in-t"]})
    grade, template = demo_grader(tmp_path, after={"square": [
        nbformat.v4.new_code_cell(f"def draw(value):\n    return f'{{value}} in ' + ({WHERE})\n\n\n"
                                  f"print('the first demo runs in', {WHERE}, draw(square(2.0)))"),
        in_t, nbformat.v4.new_code_cell(f"print('the later demo runs in', {WHERE}, draw(3.0))")]}, tests={})
    result = grade(template)
    assert result["record"]["status"] == "graded" and score(result) == 3, result["record"]
    shown = outputs(result)
    for said in ("the first demo runs in S 4.0 in S", "T draws 1.0 in T",
                 "the later demo runs in S 3.0 in S"):
        assert said in shown, shown


def test_a_demo_in_s_binds_in_t_only_what_a_cell_of_t_reads(tmp_path):
    """Every array T binds is mirrored and compared at every message (chapter 5: 270 arrays, 3 MB,
    about 2 ms a round trip): a demo in S sends T only the names a cell of T reads, and names the
    rest, so S's later cells still use S's own values and are never sent T's older ones."""
    in_t = nbformat.v4.new_code_cell("print('T has', sorted({'big', 'only_s', 'small'} & set(globals())),"
                                     " small)", metadata={"tags": ["runs-in-t"]})
    grade, template = demo_grader(tmp_path, after={"square": [
        nbformat.v4.new_code_cell("big = np.ones(3)", metadata={"tags": ["runs-in-t"]}),  # T binds big
        nbformat.v4.new_code_cell(f"print('the demo runs in', {WHERE})\nbig = np.full(3, 5.0)\nsmall = 3\n"
                                  "only_s = np.ones(2)"),  # first: S's is newer
        in_t, nbformat.v4.new_code_cell(f"print('S keeps', {WHERE}, big.sum(), only_s.sum())")]}, tests={})
    result = grade(template)
    assert result["record"]["status"] == "graded" and score(result) == 3, result["record"]
    shown = outputs(result)
    for said in ("the demo runs in S", "T has ['big', 'small'] 3", "S keeps S 15.0 2.0"):
        assert said in shown, shown
