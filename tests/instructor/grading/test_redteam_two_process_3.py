"""Red team on the two-process grader (issue #18), third pass: the demos that run in S, the claims' checks.

Since two-process grading became the default, the instructor's demos that no test depends on run
in S (``placement.demo_cells``), the names such a demo binds are bound back into T, and S may
call five of the harness's comparisons (``protocol.CLAIM_CHECKS``). Each attack goes through the
real worker (``grade_task``, isolation "two-process") on the demo chapter (tests/fixtures/00_demo.py)
with a few instructor cells added to its template, and is compared with its control: the same
submission without the attack (a wrong ``cube``, which loses ``cube__tests``: 2 of 3 points).

- a test reads a name through the globals of a locked helper (``expected_cube`` reads ``SCALE``): the
  placement counted the helper's name, not what its body reads, so the demo that binds ``SCALE`` ran
  in S, ``SCALE`` was S's to bind in T, and a student's cell after the demo set it (fixed: a test's
  helper's globals are the test's inputs, ``_feeding_the_tests``);
- an instructor's array sent to S as data (a student's cell reads ``expected``) was mirrored: S
  writing into it in place wrote into T's copy, the one the test compares with (fixed: names are
  sent as copies, ``Bridge._exec``); a random generator the tests draw from likewise;
- an instance of the course's class a locked cell made (``reference = Reference(3)``, the test's
  reference) was given to a student's cell by name as a handle, and instances are writable from S:
  ``reference.power = 0`` changed the test's expected value (fixed: only the course's functions and
  classes are given by name, ``Bridge._exec``);
- a name bound by S in the demo's run (a student's function, called by the demo, assigns a global):
  T binds only what is not the template's to bind, and a test's names stay T's (defended);
- the claims' checks called from S: their private attributes, writes into them, a failing check
  caught, a check asked to compare T's own objects: nothing of T is read or changed (defended).

Each attack was first seen to score 3 of 3 against its control's 2 (the generator's: to move T's
draws); the fixes are in student_cells.py and proxy.py.

Runtime: about 3 minutes (a dozen demo-chapter notebooks).
"""

from __future__ import annotations

import copy
import json

import nbformat
import numpy as np
import pytest

from tests.instructor.demo_course import demo_grader, index_of
from tests.instructor.demo_course import graded_score as score
from tests.instructor.demo_course import with_cell as answer

from .templates import nbgrader_v3_cell as code

pytestmark = [pytest.mark.slow, pytest.mark.two_process_suite, pytest.mark.xdist_group("redteam_two_process")]

WRONG_CUBE = "def cube(x):\n    return x * 0.0\n"




def instructor_cell(source: str, grade_id: str | None = None, cell_id: str | None = None):
    cell = nbformat.v4.new_code_cell(source)
    if grade_id:  # a locked cell
        cell.metadata["nbgrader"] = {"grade_id": grade_id, "locked": True, "solution": False, "grade": False,
                                     "schema_version": 3}
    if cell_id:
        cell.id = cell_id
    return cell




def grader(tmp_path, after: dict[str, list], cube_test: str):
    """The demo chapter with ``after`` cells inserted and ``cube__tests`` replaced by ``cube_test``."""
    return demo_grader(tmp_path, after, {"cube__tests": cube_test})


def add_after_cell(nb, cell_id: str, source: str):
    nb = copy.deepcopy(nb)
    at = 1 + next(i for i, c in enumerate(nb.cells) if c.get("id") == cell_id)
    nb.cells.insert(at, nbformat.v4.new_code_cell(source))
    return nb



def outputs(result: dict) -> str:
    cells = json.loads(result["notebook"] or '{"cells": []}')["cells"]
    return json.dumps([c.get("outputs", []) for c in cells])


# ---- a test's helper reads a global that a demo in S binds ------------------------------------------

HELPER = "def expected_cube(x):\n    \"\"\"The test's reference.\"\"\"\n    return x**3 * SCALE\n"
SCALE_DEMO = ("SCALE = 1.0  # the units of the figure below\n"
              "print('the demo squares', square(np.array([3.0])))\n")
CUBE_BY_HELPER = ('with exercise("cube"):\n'
                  '    two = np.array([2.0])\n'
                  '    check_close(cube(two), expected_cube(two), name="cube([2])")\n')


def test_a_global_a_tests_helper_reads_is_never_s_to_bind(tmp_path):
    grade, template = grader(tmp_path, {"setup": [instructor_cell(HELPER, grade_id="reference")],
                                        "square": [instructor_cell(SCALE_DEMO, cell_id="scale-demo")]},
                             CUBE_BY_HELPER)
    control = answer(template, "cube", WRONG_CUBE)
    attack = add_after_cell(control, "scale-demo", "SCALE = 0.0\n")
    assert score(grade(template)) == 3, "the solution earns full marks"
    assert score(grade(control)) == 2
    result = grade(attack)
    assert score(result) == 2, ("a student's cell set the global the test's helper reads",
                                result["record"]["tests"]["cube__tests"])


# ---- an instructor's array or generator sent to S as data -----------------------------------------

DATA = "x_cube = np.array([2.0])\nexpected = x_cube**3\nrng_tests = np.random.default_rng(0)\n"
CUBE_BY_DATA = ('with exercise("cube"):\n'
                '    check_close(cube(x_cube), expected, name="cube([2])")\n')


def test_an_instructors_array_given_to_s_is_a_copy(tmp_path):
    grade, template = grader(tmp_path, {"setup": [instructor_cell(DATA, grade_id="data")]}, CUBE_BY_DATA)
    control = answer(template, "cube", WRONG_CUBE)
    # The student's cell reads T's arrays (sent as data) and writes into them in place.
    attack = add_after_cell(control, template.cells[index_of(template, "cube")].id,
                            "expected[...] = 0.0\nx_cube[...] = 0.0\nprint('wrote', expected, x_cube)\n")
    assert score(grade(template)) == 3, "the solution earns full marks"
    assert score(grade(control)) == 2
    result = grade(attack)
    assert "wrote [0.] [0.]" in outputs(result), "the attack ran"
    assert score(result) == 2, ("S wrote into T's arrays", result["record"]["tests"]["cube__tests"])


RNG_PROBE = ('with exercise("cube"):\n'
             '    print("drawn in T:", np.round(rng_tests.normal(size=2), 6).tolist())\n'
             '    check_close(cube(x_cube), expected, name="cube([2])")\n')


def test_a_generator_given_to_s_does_not_advance_ts(tmp_path):
    """S drawing from the tests' generator must not choose what T draws next (a test's inputs)."""
    grade, template = grader(tmp_path, {"setup": [instructor_cell(DATA, grade_id="data")]}, RNG_PROBE)
    honest = grade(template)
    drawn = np.round(np.random.default_rng(0).normal(size=2), 6).tolist()
    assert f"drawn in T: {drawn}" in outputs(honest)
    attack = add_after_cell(template, template.cells[index_of(template, "cube")].id,
                            "skipped = rng_tests.normal(size=1000)\n")
    assert f"drawn in T: {drawn}" in outputs(grade(attack)), "S advanced the generator T's test draws from"


# ---- a demo in S: a student's function binds names in T ---------------------------------------------

BINDING_DEMO = ("figure_data = [square(np.array([k])) for k in (1.0, 2.0)]\n"
                "print('the demo squares', figure_data)\n")
# The test binds its own `tolerance`, and reads the locked cell's `x_cube` and `expected`.
CUBE_WITH_OWN_NAMES = ('with exercise("cube"):\n'
                       '    tolerance = 1e-12\n'
                       '    check_close(cube(x_cube), expected, name="cube([2])", atol=tolerance)\n')
SQUARE_THAT_BINDS = ("def square(x):\n"
                     "    g = globals()\n"
                     "    g['expected'] = np.zeros(1)\n"
                     "    g['x_cube'] = np.zeros(1)\n"
                     "    g['tolerance'] = 1e9\n"
                     "    g['exercise'] = None\n"
                     "    g['check_close'] = lambda *a, **k: None\n"
                     "    return x**2\n")


def test_names_a_students_function_binds_during_a_demo_in_s_stay_out_of_the_tests(tmp_path):
    grade, template = grader(tmp_path, {"setup": [instructor_cell(DATA.split("rng")[0], grade_id="data")],
                                        "square": [instructor_cell(BINDING_DEMO, cell_id="binding-demo")]},
                             CUBE_WITH_OWN_NAMES)
    from autograder.instructor.grading.placement import demo_cells

    demo_at = next(i for i, c in enumerate(template.cells) if c.get("id") == "binding-demo")
    assert demo_at in demo_cells(template, template, set(), 0).in_s, "the demo runs in S"
    control = answer(template, "cube", WRONG_CUBE)
    attack = answer(control, "square", SQUARE_THAT_BINDS)
    assert score(grade(control)) == 2
    result = grade(attack)
    assert result["record"]["tests"]["cube__tests"]["score"] == 0, result["record"]["tests"]


# ---- the claims' checks, called from S -------------------------------------------------------------

CLAIM_PROBE = '''found = {}
for what, attempt in [
        ("globals", lambda: check_close.__globals__),
        ("code", lambda: check_close.__code__),
        ("write", lambda: setattr(check_close, "redteam", 1)),
        ("defaults", lambda: setattr(check_close, "__defaults__", (None,))),
        ("module", lambda: check_close.__module__),
        ("dir", lambda: [n for n in dir(check_close) if not n.startswith("__")]),
        ("fails", lambda: check_close(np.ones(1), np.zeros(1), name="probe")),
        ("passes", lambda: check_equal(3, 3)),
]:
    try:
        found[what] = repr(attempt())[:80]
    except BaseException as error:
        found[what] = type(error).__name__
print("CLAIMS", found)
'''


def test_the_claims_checks_share_only_their_calls(tmp_path):
    grade, template = grader(tmp_path, {}, 'with exercise("cube"):\n'
                             '    check_close(cube(np.array([2.0])), np.array([8.0]), name="cube([2])")\n')
    control = answer(template, "cube", WRONG_CUBE)
    probe = CLAIM_PROBE.replace("check_equal", "check_close")  # the demo chapter imports only check_close
    attack = add_after_cell(control, template.cells[index_of(template, "cube")].id, probe)
    result = grade(attack)
    assert score(result) == 2, result["record"]["tests"]
    shown = outputs(result)
    start = shown.find("CLAIMS")
    found = shown[start:start + 1000]
    assert start >= 0, shown[:2000]
    for refused in ("'globals': 'AttributeError'", "'code': 'AttributeError'", "'write': 'AttributeError'",
                    "'defaults': 'AttributeError'"):
        assert refused in found, found
    assert "'fails': 'StudentCodeError'" in found and "'passes': 'None'" in found, "a check runs, on S's data"


# ---- an instance of the course's class, held by T, given to a student's cell by name ------------------

REFERENCE = ("class Reference:\n"
             "    \"\"\"x ** power, the test's reference.\"\"\"\n"
             "    def __init__(self, power):\n"
             "        self.power = power\n"
             "        self.seen = []\n"
             "    def __call__(self, x):\n"
             "        self.seen.append(len(x))\n"
             "        return x ** self.power\n"
             "\n"
             "reference = Reference(3)\n")
CUBE_BY_REFERENCE = ('with exercise("cube"):\n'
                     '    two = np.array([2.0])\n'
                     '    check_close(cube(two), reference(two), name="cube([2])")\n')
ONES_CUBE = "def cube(x):\n    return np.ones_like(x)\n"
WRITE_REFERENCE = '''done = []
for what, attempt in [("power", lambda: setattr(reference, "power", 0)),
                      ("list", lambda: reference.seen.append(1)),
                      ("class", lambda: setattr(Reference, "__call__", lambda self, x: x ** 0))]:
    try:
        attempt()
        done.append(what)
    except Exception as error:
        done.append(type(error).__name__)
print("WROTE", done)
'''


def test_a_locked_cells_object_given_by_name_is_not_s_to_change(tmp_path):
    grade, template = grader(tmp_path, {"setup": [instructor_cell(REFERENCE, grade_id="reference")]},
                             CUBE_BY_REFERENCE)
    control = answer(template, "cube", ONES_CUBE)
    attack = add_after_cell(control, template.cells[index_of(template, "cube")].id, WRITE_REFERENCE)
    assert score(grade(template)) == 3, "the solution earns full marks"
    assert score(grade(control)) == 2
    result = grade(attack)
    shown = outputs(result)
    assert "WROTE" in shown, shown[:2000]
    assert score(result) == 2, ("S changed the test's reference object", shown[shown.find("WROTE"):][:300])


def test_the_placement_follows_a_tests_helper_into_its_globals():
    """Unit view of the first attack: the demo that binds what a locked helper reads stays in T, and so
    does the cell that binds what that helper's own helper reads (transitively); a demo that binds
    nothing a test can reach still runs in S."""
    from autograder.instructor.grading.placement import demo_cells

    nb = nbformat.v4.new_notebook()
    nb.cells = [code("import numpy as np\nfrom autograder import check_close, exercise", grade_id="setup"),
                code("def cube(x):\n    raise NotImplementedError", grade_id="cube", solution=True),
                code("def expected_cube(x):\n    return power_of(x) * SCALE", grade_id="ref", locked=True),
                code("def power_of(x):\n    return x**POWER", grade_id="ref2", locked=True),
                code("SCALE = 1.0\nprint(cube(np.ones(1)))"),
                code("POWER = 3\nprint(cube(np.ones(1)))"),
                code("figure = cube(np.arange(3.0))"),
                code("with exercise('cube'):\n    check_close(cube(np.ones(1)), expected_cube(np.ones(1)))",
                     grade_id="cube__tests", grade=True, points=1)]
    placed = demo_cells(nb, nb, set(), 0)
    assert placed.in_s == (6,), placed
    assert set(placed.also_in_s) == {2, 3}, placed
