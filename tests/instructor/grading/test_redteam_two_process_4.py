"""Red team on the two-process grader, fourth pass: the values of a name a test and a locked cell share.

Since commit 9828ef0, a name bound by a locked or plain cell may be sent to a student's cell even when
a test cell binds it too; the bridge (``proxy.Bridge``) never sends a VALUE a test cell bound, known
from IPython's ``pre_run_cell``/``post_run_cell`` events. Each attack goes through the real worker
(``grade_task``, isolation "two-process") on the demo chapter (tests/fixtures/00_demo.py) with a few
instructor cells added to its template, and is compared with its control.

The attacks share one notebook (they read different names):

- a test adds its expected values into a locked cell's array (``acc += ...``): the array is the same
  object, so no name changed, and a student's cell after the test read the test's values; with them
  the student's ``cube`` answered the next test (3 points against the control's 2) (fixed: what a test
  cell's source binds or stores into is the test's, ``Bridge.after_cell``);
- a test writes into a locked cell's dict (``box["n"] = ...``) (fixed, likewise);
- a locked cell after the test gives the test's array another name, or puts it in a list, or takes a
  view of it: T sent it under that name (fixed: a value that holds a test's object is not sent,
  ``Bridge.holds_a_tests_value``);
- a test's helper binds a ``global`` when a locked cell calls it later (the name a locked cell binds
  too): the value was bound outside any test cell (fixed, likewise: the helper's value is the test's);
- S lost and replayed: a student's cell that read the array before the test is replayed with T's
  CURRENT values (fixed with the first: the array is the test's then);
- names only a test binds (``for`` targets, ``with`` bodies, imports) are never sent (defended);
- a locked cell that fails before rebinding a test's name leaves the test's value: not sent (defended);
- a test cell whose ``post_run_cell`` never came: the next cell's ``pre_run_cell`` settles it first
  (IPython and ipykernel fire it in a ``finally``, so this is hardening).

The honest learner (part B): a name a demo in S bound and a cell in T bound again later (chapter 2's
``params``: a demo in S, then the timing cell, which reads torch and runs in T) was shown to a learner's
cell with S's older value (fixed: ``Bridge.t_newer``, the last cell to bind a name wins, as in
JupyterLab); chapter 2 explored after its data, timing and ablation cells prints and draws what
JupyterLab does.

Runtime: about 3 minutes (four demo-chapter notebooks, one of chapter 2).
"""

from __future__ import annotations

import json

import nbformat
import pytest

from autograder.instructor.grading.coordinator import build_releases
from autograder.instructor.grading.worker import grade_task
from tests.instructor.demo_course import add_after, demo_grader, locked_cell, outputs
from tests.instructor.demo_course import graded_score as score
from tests.instructor.demo_course import with_cell as answer

pytestmark = [pytest.mark.slow, pytest.mark.two_process_suite, pytest.mark.xdist_group("redteam_two_process")]

WRONG_CUBE = "def cube(x):\n    return x * 0.0\n"










# ---- one notebook: a test's values in names a locked cell binds too ---------------------------------

DATA = "acc = np.zeros(1)  # the tests add into it\nbox = {'n': 0.0}\nstashed = None\nbroken = None\n"
# The square test (unchanged checks) binds its own values in every way Python has.
SQUARE_TEST = """hidden_in = np.array([7.0])  # the next test's input
acc += hidden_in**3  # its expected value, added into the locked cell's array
box["n"] = 2468.0
broken = np.array([1122.0])
for loop_secret in [np.array([3579.0])]:
    pass
import fractions as imported_secret
def stash():
    global stashed
    stashed = np.array([9753.0])
with exercise("square"):
    in_with = np.array([8642.0])
    check_close(square(np.array([2.0])), np.array([4.0]), name="square([2])")
"""
AFTER = """alias = hidden_in  # the test's array under another name
bag = [in_with]
view = hidden_in[:]
stash()  # the test's helper binds `stashed`, in this cell
"""
FAILS_FIRST = "raise RuntimeError('the locked cell fails before it rebinds')\nbroken = np.zeros(1)\n"
CUBE_TEST = 'with exercise("cube"):\n    check_close(cube(hidden_in), acc, name="cube(hidden)")\n'
NAMES = ["acc", "box", "alias", "bag", "view", "stashed", "broken", "hidden_in", "in_with", "loop_secret",
         "imported_secret", "stash"]
SHOW = ("def show(name, get):\n    try:\n        print('GOT', name, repr(get()))\n"
        "    except NameError:\n        print('NONE', name)\n"
        + "".join(f"show({name!r}, lambda: {name})\n" for name in NAMES))
LEAK_CUBE = "leak = acc.copy()\ndef cube(x):\n    return leak + 0.0 * x\n"
EARLY = "early = acc  # read before the test\n"
LOSE_S = "while True:  # S is lost at its call limit, and replayed\n    pass\n"
REPLAYED = "print('replayed', early)\n"
# With a dot: the tracebacks T shows hold line numbers such as 343.
SECRETS = ["343.", "2468.", "1122.", "3579.", "9753.", "8642.", "[7.", "fractions"]


def test_no_value_a_test_bound_or_wrote_into_reaches_a_students_cell(tmp_path):
    grade, template = demo_grader(
        tmp_path,
        {"setup": [locked_cell(DATA, "data")],
         "square__tests": [locked_cell(AFTER, "after"), locked_cell(FAILS_FIRST, "fails")]},
        {"square__tests": SQUARE_TEST, "cube__tests": CUBE_TEST})
    control = answer(template, "cube", WRONG_CUBE)
    attack = add_after(add_after(add_after(control, "square", EARLY), "fails", SHOW, LOSE_S, REPLAYED),
                       "cube", LEAK_CUBE)
    assert score(grade(template)) == 3, "the solution earns full marks"
    assert score(grade(control)) == 2
    result = grade(attack)
    shown = outputs(result)
    assert "NONE stash" in shown, ("the attack ran", shown)
    assert score(result) == 2, ("a test's expected values answered it", result["record"]["tests"])
    # S keeps the copy of ``acc`` it was given before the test (zeros): nothing else is given.
    got = [line.split("GOT ")[-1] for line in shown.split("\\n") if "GOT" in line]
    assert got == ["acc array([0.])"], ("a test's values reached a student's cell", got)
    theirs = outputs(result, (EARLY, SHOW, LOSE_S, REPLAYED, LEAK_CUBE))
    assert not [s for s in SECRETS if s in theirs], ("a test's values reached S's output", theirs)



# ---- an honest learner: the last cell to bind a name wins, as in JupyterLab ---------------------------

def test_a_learners_cell_reads_ts_newer_value_not_ss_older_one(tmp_path):
    """Chapter 2's ``params`` and ``b``: a demo in S bound the name, a later instructor cell in T bound
    it again; a learner's cell after that read S's older value (JupyterLab shows the newer one)."""
    demo = nbformat.v4.new_code_cell("grid = square(np.arange(3.0))  # a demo: it runs in S\n")
    in_t = locked_cell("grid = np.arange(5.0)\n", "grid")
    in_t.metadata["tags"] = ["runs-in-t"]  # as chapter 2's timing cell, which reads torch
    grade, template = demo_grader(tmp_path, {"square": [demo], "cube": [in_t]}, {})
    from autograder.instructor.grading.placement import demo_cells

    assert template.cells.index(demo) in demo_cells(template, template, set(), 0).in_s, "the demo runs in S"
    look = "print('the learner sees', grid.tolist())\n"
    learner = add_after(template, "grid", look)
    learner.cells.insert(1 + template.cells.index(demo), nbformat.v4.new_code_cell(look))
    result = grade(learner)
    assert score(result) == 3, result["record"]
    shown = outputs(result)
    assert "the learner sees [0.0, 1.0, 4.0]" in shown, shown
    assert "the learner sees [0.0, 1.0, 2.0, 3.0, 4.0]" in shown, ("S's older value", shown)



# Chapter 2 as a curious learner explores it in JupyterLab: cells after the instructor's data, timing
# and ablation cells read their variables, print and draw. Each line is what JupyterLab printed.
CHAPTER_2 = "02_deep_learning"
EXPLORING_2 = {
    "flops_timing": ("print('timing input', X_timing.shape, len(seconds), 'widths', len(flops))\n"
                     "print('its first weights', np.round(params[0][0][0, :2], 4).tolist())\n"
                     "plt.figure(figsize=(3, 2))\nplt.plot(seconds)\nplt.show()\n"),
    "data_hunger": ("print('digits', X_train.shape, X_test.shape, y_train.shape)\n"
                    "print('pixels', round(float(X_train.sum()), 4))\n"
                    "plt.figure(figsize=(2, 2))\nplt.imshow(X_train[0].reshape(8, 8), cmap='gray')\n"
                    "plt.show()\n"),
    "weight_images": "print('hidden weights', hidden_weights.shape, digit)\n",
    "ablation_demo": ("print('ablation', drops.shape, round(float(test_accuracy), 4), len(mlp_params))\n"
                      "plt.figure(figsize=(3, 2))\nplt.bar(range(len(drops)), drops)\nplt.show()\n"),
}
SEEN_2 = ["timing input (512, 64) 6 widths 6",
          "its first weights [-0.1384, 0.2257]",  # the timing cell's, not an older demo's in S
          "digits (1347, 64) (450, 64) (1347,)",
          "pixels 26312.8125",
          "hidden weights (64, 32) 9",
          "ablation (32,) 0.9711 2"]


def test_a_learner_explores_chapter_2_as_in_jupyterlab(tmp_path):
    from tests.chapters import COURSE, read

    options = {"cell_timeout": 30, "notebook_timeout": 600, "isolation": "two-process", "call_timeout": 5.0,
               "limits": {"memory_bytes": 3 * 2**30, "output_bytes": 2_000_000}}
    release = build_releases(tmp_path / "build", [CHAPTER_2], COURSE.solutions, options)[CHAPTER_2]
    solution = read(COURSE.solutions / CHAPTER_2 / f"{CHAPTER_2}.ipynb")
    learner = solution
    for grade_id, source in EXPLORING_2.items():
        learner = add_after(learner, grade_id, source)
    task = {"student": "s", "chapter": CHAPTER_2, "notebook": nbformat.writes(learner).encode()}
    result = grade_task(task, release.to_dict())
    assert score(result) == sum(t["points"] for t in result["record"]["tests"].values()), result["record"]
    cells = json.loads(result["notebook"])["cells"]
    theirs = [c for c in cells if "".join(c.get("source", "")) in EXPLORING_2.values()]
    printed = "".join("".join(o.get("text", "")) for c in theirs for o in c.get("outputs", []))
    errors = [o for c in theirs for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, [(e["ename"], e["evalue"]) for e in errors]
    assert [line for line in SEEN_2 if line not in printed] == [], printed
    figures = sum("image/png" in o.get("data", {}) for c in theirs for o in c.get("outputs", []))
    assert figures == 3, f"the learner drew 3 figures, the feedback shows {figures}"


# ---- the bridge's bookkeeping, alone (no process) ----------------------------------------------------

class Info:
    def __init__(self, source: str) -> None:
        self.raw_cell = source


def bridge_with(tests: list[str], namespace: dict):
    """A ``proxy.Bridge`` without its socket: the cell events and ``from_a_test`` only."""
    import numpy as np  # noqa: F401  (the namespace's arrays)

    from autograder.instructor.grading.proxy import Bridge
    from autograder.instructor.grading.student_cells import written_names

    bridge = Bridge.__new__(Bridge)
    bridge.namespace, bridge.test_sources = namespace, frozenset(tests)
    bridge.tainted, bridge.test_objects = {}, {}
    bridge.tests_write = frozenset().union(*(written_names(s) for s in tests))
    bridge._before, bridge._states, bridge._cell = None, {}, ""
    bridge.s_names, bridge.t_newer, bridge.setup_names = set(), set(), frozenset()
    return bridge


def run(bridge, source: str, effect, event_after: bool = True) -> None:
    bridge.before_cell(Info(source))
    effect(bridge.namespace)
    if event_after:
        bridge.after_cell(None)


def test_what_a_test_writes_into_is_named_statically():
    from autograder.instructor.grading.student_cells import written_names

    source = "acc += h\nbox['n'] = 1\nm.w[0].x = 3\nlst.append(1)\nnp.add(a, b, out=c)\n(p[0], q.r) = 1, 2\n"
    assert written_names(source) >= {"acc", "box", "m", "lst", "c", "p", "q"}
    assert not written_names("print(X_train.shape, model.predict(X_train))\n") & {"X_train", "model"}


def test_a_test_that_only_names_the_instructors_data_leaves_it_sendable():
    import numpy as np

    digits = np.arange(6.0)[:4]  # itself a view
    test = "x = X_train\npair = (X_train, y)\nfew = X_train[:2]\ncheck_close(f(x), x)\n"
    bridge = bridge_with([test], {"X_train": digits, "y": np.ones(2)})
    run(bridge, test, lambda ns: ns.update(x=ns["X_train"], pair=(ns["X_train"], ns["y"]),
                                           few=ns["X_train"][:2]))
    assert bridge.from_a_test("x") and bridge.from_a_test("pair") and bridge.from_a_test("few")
    assert not bridge.from_a_test("X_train") and not bridge.from_a_test("y"), "the instructor's digits"


def test_a_test_whose_end_event_never_came_is_still_a_test():
    """A cell interrupted in a way IPython's ``post_run_cell`` did not see: the next cell's start
    settles its bindings first."""
    import numpy as np

    test = "hidden = np.array([7.0])\n"
    bridge = bridge_with([test], {"hidden": np.zeros(1)})
    run(bridge, test, lambda ns: ns.update(hidden=np.array([7.0])), event_after=False)
    run(bridge, "alias = hidden\n", lambda ns: ns.update(alias=ns["hidden"]))
    assert bridge.from_a_test("hidden") and bridge.from_a_test("alias")


def test_a_generator_a_test_drew_from_is_the_tests():
    import numpy as np

    test = "inputs = draw(3)\n"
    bridge = bridge_with([test], {"rng": np.random.default_rng(0)})
    bridge.namespace["draw"] = bridge.namespace["rng"].normal
    run(bridge, test, lambda ns: ns.update(inputs=ns["draw"](3)))
    assert bridge.from_a_test("rng"), "S could step the generator back to the test's draws"
