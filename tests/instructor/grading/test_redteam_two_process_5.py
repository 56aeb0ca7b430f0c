"""Red team on the two-process grader, fifth pass: T's copies of a demo's functions, a test's name S's again.

Branch speed5 (commit abe1f67) lets a demo that stays in T call the functions of a demo that runs in
S: T defines its own copy of them (``placement.definitions_for_t``, run by the bridge before S runs the
demo), and a name a test bound is S's again once a demo in S surely binds it (``assigned_names``).
Each attack goes through the real worker (``grade_task``, isolation "two-process") on the demo chapter
(tests/fixtures/00_demo.py) with a few instructor cells added to its template, and is compared with
its control: the same submission without the attack (a wrong ``cube``: 2 of 3 points).

- T's copy of a function reads T's globals, not the demo's (S ran the demo, and bound its data into T
  only where no test binds the name). A demo in S redefines the tests' reference ``expected_cube`` to
  read its ``SCALE``; a demo in T calls it, so T defined the copy over the locked helper the test calls,
  and ``SCALE`` (bound by a demo in S alone) was S's to bind in T: a student's cell set ``SCALE = 0``
  and a ``cube`` that returns zeros passed (3 points against the control's 2). The demo in T used to
  pull that demo into T, where ``SCALE`` is the instructor's (fixed: T copies only functions whose
  bodies read the setup's names, builtins and each other, ``definitions_for_t``);
- the same copy read a test's input: the demo in S binds ``hidden_in`` (its own zeros, a test's name
  too), T kept the test's ``hidden_in`` (protected), and T's copy of ``shown()`` returned the test's
  hidden input; the demo in T computed ``echo`` from it, a new array, sent to a student's cell: the
  student printed the test's input (fixed likewise). JupyterLab shows zeros there;
- a test's name S's again: the student's ``cube`` makes the demo that rebinds ``probe_in`` fail before
  the assignment, so S never binds it, and the demo after it, placed in S by the new rule, reads
  ``probe_in``: T does not send the test's value (defended: ``Bridge.from_a_test``).

- the instructor's ``ALLOW=`` (main's fb89014, ``allowed_limit``): a grade id forged into an added cell's
  metadata gets nothing (defended: ``worker.merge`` keeps the template's metadata); but after S was
  lost the allowed cell was replayed under the call limit, left out, and its answer lost with it: an
  honest learner whose experiment looped got 1 of 3 (fixed: ``Bridge.restart`` replays a cell under
  the limit it first ran with).

- a demo that stays in T read a test's name that a demo in S bound again: T held the test's hidden
  input there, and a name the demo in T made from it was sent to a student's cell (fixed: that demo
  in S runs in T, ``placement._place``; chapter 3's bowl demo runs in T again, as before speed5).

Chapter 5's widget (the pattern speed5 was made for) keeps its copy of ``plot_history``: its body reads
only the setup's ``np``, ``plt`` and ``tr`` (checked on its placement, no grading).

Runtime: about 2 minutes (six demo-chapter notebooks).
"""

from __future__ import annotations

import copy

import nbformat
import pytest

from autograder.instructor.grading.placement import definitions_for_t, demo_cells
from tests.instructor.demo_course import add_after, demo_grader, index_of, locked_cell, outputs
from tests.instructor.demo_course import graded_score as score
from tests.instructor.demo_course import with_cell as answer

pytestmark = [pytest.mark.slow, pytest.mark.two_process_suite, pytest.mark.xdist_group("redteam_two_process")]





# ---- one notebook: T's copies of a demo's functions, a test's names S's again ----------------------

REFERENCE = "def expected_cube(x):\n    return x**3\n"  # the cube test's reference, locked
# The square test binds its own inputs (hidden: 7 and 3579), names the demos below bind too.
SQUARE_TEST = """with exercise("square"):
    hidden_in = np.array([7.0])
    probe_in = np.array([3579.0])
    check_close(square(np.array([2.0])), np.array([4.0]), name="square([2])")
    check_close(square(hidden_in + probe_in - probe_in), np.array([49.0]), name="square(hidden)")
"""
CUBE_TEST = ('with exercise("cube"):\n'
             '    check_close(cube(np.array([2.0])), expected_cube(np.array([2.0])), name="cube([2])")\n')
# A demo no test depends on (S runs it), that redefines the reference with a scale and reads its own
# ``hidden_in``; then a demo that stays in T (chapter 5's widget: ipywidgets) calls both functions.
SCALED = """SCALE = 1.0
hidden_in = np.zeros(1)  # the demo's own input


def expected_cube(x):
    return SCALE * x**3


def shown():
    return hidden_in + 0.0


print('demo', expected_cube(np.array([1.0])), shown())
"""
WIDGET = "echo = shown() * 1.0\nprint('widget', expected_cube(np.array([1.0])), echo)\n"
# A demo that calls the student's cube, then binds a test's name; the demo after it reads that name.
REBINDS = "first = cube(np.ones(1))\nprobe_in = np.zeros(1)\n"
READS = "print('probe', probe_in)\n"
WRONG_CUBE = "def cube(x):\n    return x * 0.0\n"
# The attack's cube: zeros as the control's, but it fails when REBINDS calls it (before probe_in).
ATTACK_CUBE = ("def cube(x):\n    if x.shape == (1,) and x[0] == 1.0:\n"
               "        raise RuntimeError('REBINDS fails here')\n    return x * 0.0\n")
ATTACK = "SCALE = 0.0  # T's copy of expected_cube reads it\nprint('LEAK', echo)\n"
SECRETS = ["7.", "3579."]


def test_ts_copy_of_a_demos_functions_reads_no_value_s_or_a_test_chose(tmp_path):
    grade, template = demo_grader(
        tmp_path,
        {"setup": [locked_cell(REFERENCE, "reference")],
         "square__tests": [locked_cell(SCALED, "scaled"), locked_cell(WIDGET, "widget", ("runs-in-t",))],
         "cube": [locked_cell(REBINDS, "rebinds"), locked_cell(READS, "reads")]},
        {"square__tests": SQUARE_TEST, "cube__tests": CUBE_TEST})
    placed = demo_cells(template, template, set(), 0)
    scaled, widget, reads = (index_of(template, g) for g in ("scaled", "widget", "reads"))
    assert reads in placed.in_s and widget not in placed.in_s, ("the rule under attack applies", placed)
    control = answer(template, "cube", WRONG_CUBE)
    attack = add_after(answer(template, "cube", ATTACK_CUBE), "cube", ATTACK)
    assert score(grade(template)) == 3, "the solution earns full marks"
    honest, result = grade(control), grade(attack)
    assert score(honest) == 2
    theirs = outputs(result, (ATTACK, READS))
    print("attack:", score(result), theirs)
    assert "LEAK" in theirs and "REBINDS fails here" in outputs(result), ("the attack ran", theirs)
    assert score(result) == 2, ("S chose the reference's scale", result["record"]["tests"], scaled)
    assert not [s for s in SECRETS if s in theirs], ("a test's input reached S's output", theirs)
    # The honest learner: the widget shows the demo's values, as in JupyterLab (not the test's input)
    assert "widget [1.] [0.]" in outputs(honest), outputs(honest)


def test_t_copies_only_functions_whose_bodies_read_the_setups_names():
    """The fix's rule, alone: a body that reads a name the demo binds (S's, or a test's in T) is not
    copied (the demo runs in T, as before speed5); one that reads the setup's names is."""
    setup = frozenset({"np", "plt"})
    assert definitions_for_t(SCALED, setup) is None
    assert definitions_for_t("def plot(h):\n    plt.plot(np.asarray(h))\n\n\nh = [1]\nplot(h)", setup) \
        == "def plot(h):\n    plt.plot(np.asarray(h))"
    # S's copy reads the cell's np, T's the setup's
    rebinds = "np = None\n\n\ndef a(x):\n    return np.abs(x)\n"
    assert definitions_for_t(rebinds, setup) is None
    two = "def a(x):\n    return b(x)\n\n\ndef b(x):\n    return np.abs(x)\n\n\nprint(a(1))"
    assert definitions_for_t(two, setup) == "def a(x):\n    return b(x)\n\n\ndef b(x):\n    return np.abs(x)"


def test_chapter_5s_widget_keeps_its_copy_of_plot_history():
    """What speed5 was made for still holds: the moons demos run in S, T copies ``plot_history``."""
    from tests.chapters import COURSE, read

    chapter = "05_training_and_tuning"
    nb = read(COURSE.solutions / chapter / f"{chapter}.ipynb")
    placed = demo_cells(nb, nb, set(), 5)
    copies = dict(placed.definitions_in_t)
    assert any("def plot_history(" in source for source in copies.values()), placed
    assert all(index in placed.in_s for index in copies), placed


# ---- the instructor's ALLOW= (cells.json allowed_limit) ------------------------------------------------

# On the CPU (S's limit is its CPU time; sleeping gets up to four times the limit).
BURN = "import time\nstart = time.process_time()\nwhile time.process_time() - start < 6.0:\n    pass\n"
SLOW_SQUARE = BURN + "\n\ndef square(x):  # past the 4 s call limit: allowed\n    return x**2\n"
FORGED = BURN + "print('FORGED FINISHED')\n"
LOOP = "while True:  # the learner's experiment: it loses S, which is replayed\n    pass\n"


def allowed_grader(tmp_path, allow: list[str]):
    """The demo chapter two-process, graded with the instructor's ``allow`` (``make regrade ALLOW=``)."""
    from autograder.instructor.grading.coordinator import build_releases
    from autograder.instructor.grading.worker import grade_task
    from tests.instructor.demo_course import CHAPTER, TWO_PROCESS_OPTIONS, make_demo_course

    course, _, _ = make_demo_course(tmp_path)
    options = dict(TWO_PROCESS_OPTIONS)
    release = build_releases(tmp_path / "build", [CHAPTER], course.solutions, options)[CHAPTER]

    def grade(nb: nbformat.NotebookNode) -> dict:
        task = {"student": "s", "chapter": CHAPTER, "notebook": nbformat.writes(nb).encode(), "allow": allow}
        return grade_task(task, release.to_dict())

    template = nbformat.read(str(course.solutions / CHAPTER / f"{CHAPTER}.ipynb"), as_version=4)
    return grade, template


def test_an_allowed_cell_keeps_its_limit_when_s_is_replayed_and_no_other_cell_takes_it(tmp_path):
    """The instructor allowed the learner's ``square`` cell (6 s, past the 4 s call limit). A cell with
    that grade id forged into its metadata gets nothing (the merge keeps the template's metadata and
    drops a second answer cell of the same id). An honest learner's experiment that loops loses S;
    the replay ran the allowed cell under the call limit, so it was left out and ``square`` was lost
    with it (2 points): fixed, the replay gives a cell its allowed limit (``Bridge.restart``)."""
    grade, template = allowed_grader(tmp_path, ["square"])
    slow = answer(template, "square", SLOW_SQUARE)
    forged = add_after(slow, "cube", FORGED)
    cell = forged.cells[1 + index_of(forged, "cube")]
    square = template.cells[index_of(template, "square")]
    cell.metadata["nbgrader"] = copy.deepcopy(square.metadata["nbgrader"])
    result = grade(forged)
    assert score(result) == 3, result["record"]
    assert "FORGED FINISHED" not in outputs(result), "a forged grade id took the allowed limit"
    result = grade(add_after(slow, "square", LOOP))
    assert score(result) == 3, ("the allowed cell was lost in the replay", result["record"]["tests"])


# ---- a demo in T reads a test's name that a demo in S bound again ---------------------------------------

OWN_INPUT = "hidden_in = np.zeros(1)  # the demo's own input (a test's name too)\n"
READS_IN_T = "echo = hidden_in * 1.0\nprint('widget', echo)\n"
LOOK = "print('LEAK', echo)\n"


def test_a_demo_in_t_reads_the_demos_value_not_the_tests(tmp_path):
    """A test binds ``hidden_in`` (its hidden input); a demo in S binds it again (its own zeros), and a
    demo that stays in T reads it: T held the test's value (S's is not bound where a test binds the
    name), so the demo in T showed the test's input, and ``echo``, a new array made from it, was sent
    to a student's cell: "LEAK [7.]" (on main before speed5 too; chapter 3's widget read the test's
    ``curvatures`` so, the same values there). Fixed: a cell that T runs and reads a test's name that a
    cell in S bound again pulls that cell into T (``placement._place``). JupyterLab shows zeros."""
    grade, template = demo_grader(
        tmp_path,
        {"square__tests": [locked_cell(OWN_INPUT, "own"), locked_cell(READS_IN_T, "in_t", ("runs-in-t",))]},
        {"square__tests": SQUARE_TEST})
    result = grade(add_after(template, "cube", LOOK))
    assert score(result) == 3, result["record"]
    assert "LEAK" in outputs(result, (LOOK,)), outputs(result)
    assert not [s for s in SECRETS if s in outputs(result, (LOOK, READS_IN_T))], outputs(result)
