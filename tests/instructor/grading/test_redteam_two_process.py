"""Red team on the two-process grader (issue #18), on the course's own chapters, through the real worker.

Each graded notebook is chapter 1's untouched student version (or its solution) with one answer
changed or a few cells added, graded by ``grade_task`` under ``isolation="two-process"`` exactly as
``make grade`` does, and compared with its control (the same notebook without the attack):

- defended: rebinding the harness from S, importing or snooping for T (``torch``, the harness,
  ``sys.modules``, ``gc``, frames, ``/proc``, the environment, ``argv``, sockets, files), objects
  that lie (``__eq__``, ``__array__``, ndarray and NumPy-scalar subclasses, object arrays,
  ``__float__``/``__index__``, ``__class__`` spoofing, recursive containers, NaN), exceptions that
  lie, and tricks that must cost only their own exercise (an endless loop, a memory bomb, a
  segfault, ``KeyboardInterrupt``/``SystemExit``, ``os._exit``, signals, forks, threads that keep
  writing to fd 1 and 2 after the call, 1 GB printed): each earns no more than its control, shows
  no hidden-test line, and every other exercise keeps its points;
- chapters 3 and 4, where T's objects cross: a test's callback probed from S (private attributes,
  crafted arguments) shares only its calls; a locked helper of chapter 4 can be shadowed (xfail);
- succeeded (``xfail(strict=True)``, each with what it does and why it works): T's objects reached
  through a widget handle (the kernel, hence T's namespace), ``In`` and the tests' variables sent to
  S as data, an argument mutated so that the reference computed after the call agrees, a helper
  shadowed. Each says what the grader must still fix; when one is fixed its xfail fails: drop it.

Runtime: about 15 minutes on two cores (10 graded notebooks).
"""

from __future__ import annotations

import copy
import json

import nbformat
import pytest

from autograder.instructor.grading.coordinator import build_releases
from autograder.instructor.grading.worker import grade_task
from tests.chapters import COURSE, nbgrader_meta, read, source_path, student_path

pytestmark = [pytest.mark.slow, pytest.mark.two_process_suite, pytest.mark.xdist_group("redteam_two_process")]

CHAPTER = "01_neural_network_basics"
OPTIONS = {"cell_timeout": 30, "notebook_timeout": 600, "isolation": "two-process", "call_timeout": 5.0,
           "limits": {"memory_bytes": 3 * 2**30, "output_bytes": 2_000_000}}
# Lines of chapter 1's hidden tests (never in a student's output): sigmoid's and relu's.
HIDDEN_LINES = ("np.linspace(-40.0, 40.0, 161), [-1e4, -709.0, 709.0, 1e4]", "BEGIN HIDDEN")


def add_after(nb, grade_id: str, source: str):
    nb = copy.deepcopy(nb)
    at = 1 + next(i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("grade_id") == grade_id)
    nb.cells.insert(at, nbformat.v4.new_code_cell(source))
    return nb


def answer(nb, grade_id: str, source: str):
    nb = copy.deepcopy(nb)
    next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id).source = source
    return nb


class Graded:
    def __init__(self, result: dict) -> None:
        self.record = result["record"]
        self.tests = self.record["tests"]
        self.score = sum(t["score"] for t in self.tests.values())
        cells = json.loads(result["notebook"] or '{"cells": []}')["cells"]
        self.outputs = json.dumps([c.get("outputs", []) for c in cells])  # streams, values, errors

    def failed(self) -> set[str]:
        return {name for name, t in self.tests.items() if t["score"] < t["points"]}

    def leaked(self) -> list[str]:
        return [line for line in HIDDEN_LINES if line in self.outputs]


@pytest.fixture(scope="module")
def grade(tmp_path_factory):
    base = tmp_path_factory.mktemp("redteam_two_process")
    release = build_releases(base / "build", [CHAPTER], COURSE.solutions, dict(OPTIONS))[CHAPTER]
    assert release.isolation == "two-process"
    cache: dict[str, Graded] = {}

    def run(nb) -> Graded:
        text = nbformat.writes(nb)
        if text not in cache:
            task = {"student": "redteam", "chapter": CHAPTER, "notebook": text.encode()}
            cache[text] = Graded(grade_task(task, release.to_dict()))
        return cache[text]

    return run


@pytest.fixture(scope="module")
def untouched():
    return read(student_path(CHAPTER))


@pytest.fixture(scope="module")
def solution():
    return read(source_path(CHAPTER))


# ---- defended: the verdict and T's contents are out of S's reach ---------------------------------

REBIND = '''import builtins, contextlib
class Pass:
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return True
def exercise(name):
    return Pass()
def no_numpy_warnings(*args, **kwargs):
    return Pass()
check_close = check_shape = check_dtype = check_own_code = check_equal = lambda *a, **k: None
check_no_mutation = lambda f, *a, **k: f(*a)
to_numpy = to_torch = lambda t: t
np.isclose = lambda *a, **k: True
np.allclose = np.array_equal = np.isclose
builtins.abs = lambda x: 0
len = lambda x: 3
print("REBIND done")
'''
IMPORTS = '''refused = []
for name in ["torch", "autograder.checks", "autograder.torch_ref", "autograder.progress", "IPython",
             "ipykernel", "ipywidgets", "nbgrader", "autograder.instructor"]:
    try:
        __import__(name)
    except ImportError:
        refused.append(name)
print("IMPORTS refused", refused)
'''
# Looks everywhere S can for chapter 1's hidden tests (the needle is joined at run time, so this
# cell's own source and constants do not hold it) and for T's names; prints what it finds.
SNOOP = '''import gc, glob, inspect, os, socket, stat, sys, time, linecache
needle = "".join(["linspace(-40.0, ", "40.0, 161)"]).encode()
found, stop = [], time.monotonic() + 3.0
for pattern in ["/tmp/**", "/run/**", "/home/**", "/proc/*/cmdline", "/proc/*/environ",
                os.getcwd() + "/**", os.path.dirname(os.getcwd()) + "/**", "/dev/shm/**"]:
    for path in glob.glob(pattern, recursive=True)[:1000]:
        if time.monotonic() > stop:
            break
        if path.endswith((".sock", ".ipynb", "cells.json")):
            found.append("file " + path)
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                continue
            with open(path, "rb") as handle:
                if needle in handle.read(1_000_000):
                    found.append(path)
        except OSError:
            continue
for obj in gc.get_objects():
    items = obj.values() if type(obj) is dict else obj if type(obj) in (list, tuple) else ()
    if any(type(item) is str and needle.decode() in item for item in items):
        found.append("gc")
for frame in inspect.stack():
    if {"In", "__bridge__", "get_ipython", "torch"} & set(frame.frame.f_globals):
        found.append("frame " + frame.filename)
found += [m for m in sys.modules if m.startswith(("torch", "autograder.checks", "IPython", "ipykernel"))]
found += [k for k in linecache.cache if needle.decode() in "".join(linecache.cache[k][2])]
found += [k for k, v in os.environ.items() if needle.decode() in v or "TORCH" in k or "JPY" in k]
found += [a for a in sys.argv if ".ipynb" in a or ".sock" in a]
for fd in range(3, 64):
    try:
        family = socket.socket(fileno=os.dup(fd)).family
        found.append(f"socket fd {fd} {family}")
    except OSError:
        pass
print("SNOOP found:", found, "in time:", time.monotonic() < stop + 1)
'''
LIARS = {
    "count_parameters": "class Int(int):\n    def __eq__(self, other):\n        return True\n"
                        "    __hash__ = int.__hash__\n    def __index__(self):\n        return 21\n"
                        "def count_parameters(layer_sizes):\n    return Int(0)\n",
    "sigmoid": "class Liar:\n    def __eq__(self, other):\n        return True\n    __hash__ = None\n"
               "    def __array__(self, *args, **kwargs):\n        return np.array([0.5])\n"
               "    def __float__(self):\n        return 0.5\n"
               "    def __lt__(self, other):\n        return True\n"
               "    __le__ = __gt__ = __ge__ = __lt__\n"
               "def sigmoid(z):\n    return Liar()\n",
    "relu": "class Sub(np.ndarray):\n    def __eq__(self, other):\n        return np.ones(1, bool)\n"
            "    def __sub__(self, other):\n        return np.zeros(self.shape)\n"
            "def relu(z):\n    return np.zeros_like(z).view(Sub)\n",
    "tanh": "class Liar:\n    def __eq__(self, other):\n        return True\n    __hash__ = None\n"
            "def tanh(z):\n    out = np.empty(np.shape(z), dtype=object)\n"
            "    out[...] = Liar()\n    return out\n",
    "sigmoid_grad": "class F(np.float64):\n    def __eq__(self, other):\n        return True\n"
                    "    def __sub__(self, other):\n        return F(0.0)\n    __rsub__ = __sub__\n"
                    "def sigmoid_grad(z):\n    return F(0.25)\n",
    "relu_grad": "class Spoof:\n    @property\n    def __class__(self):\n        return np.ndarray\n"
                 "    shape = (3,)\n    dtype = np.dtype('float64')\n"
                 "def relu_grad(z):\n    return Spoof()\n",
    "tanh_grad": "def tanh_grad(z):\n    loop = []\n    loop.append(loop)\n    return loop\n",
    "neuron": "def neuron(x, w, b, activation):\n    return activation  # a handle of T's own, sent back\n",
    "dense_forward": "def dense_forward(X, W, b):\n"
                     "    return np.full((np.shape(X)[0], np.shape(W)[1]), np.nan)\n",
    "mlp_forward": "class StudentTimeout(Exception):\n    def __str__(self):\n        raise RuntimeError\n"
                   "def mlp_forward(X, params, activation):\n    raise StudentTimeout()\n",
    "rnn_step": "class Lie(AssertionError):\n"
                "    @property\n    def __class__(self):\n        return StopIteration\n"
                "def rnn_step(x_t, h_prev, Wx, Wh, b):\n    raise Lie('all tests passed')\n",
    "conv1d_forward": "def conv1d_forward(x, w, b, stride=1):\n    return np.zeros(40_000_000)  # 320 MB\n",
}


def cheating_notebook(untouched):
    nb = untouched
    for exercise, source in LIARS.items():
        nb = answer(nb, exercise, source)
    for cell in (SNOOP, IMPORTS, REBIND):
        nb = add_after(nb, "setup", cell)
    return nb


def test_the_untouched_notebook_scores_zero(grade, untouched):
    graded = grade(untouched)
    assert (graded.record["status"], graded.score) == ("graded", 0), graded.record


def test_rebinding_snooping_and_lying_objects_earn_nothing(grade, untouched):
    """Control: the untouched notebook, 0. Every answer lies and three added cells attack."""
    graded = grade(cheating_notebook(untouched))
    assert graded.record["status"] == "graded", graded.record
    assert graded.score == 0, {name: t for name, t in graded.tests.items() if t["score"]}
    assert not graded.leaked(), f"hidden-test lines in the outputs: {graded.leaked()}"
    assert "REBIND done" in graded.outputs, graded.outputs[:3000]
    refused = ("IMPORTS refused ['torch', 'autograder.checks', 'autograder.torch_ref', "
               "'autograder.progress', 'IPython', 'ipykernel', 'ipywidgets', 'nbgrader', "
               "'autograder.instructor']")
    assert refused in graded.outputs, graded.outputs[graded.outputs.find("IMPORTS"):][:500]
    assert "SNOOP found: []" in graded.outputs, graded.outputs[graded.outputs.find("SNOOP"):][:2000]


@pytest.mark.parametrize("exercise", sorted(LIARS))
def test_each_lying_answer_is_refused_with_a_message(grade, untouched, exercise):
    """Every test of each lying answer failed with a message (none passed by the lie)."""
    graded = grade(cheating_notebook(untouched))
    for name, test in graded.tests.items():
        if name.split("__")[0] == exercise:
            assert test["score"] == 0 and test["message"], (name, test)


# ---- defended: a trick costs only its own exercise ------------------------------------------------

# Started once, replayed after every restart of S: a thread that keeps writing to descriptors 1 and 2
# and to sys.stdout after each call, signals ignored, a forked child left sleeping, 1 GB printed.
NOISE = '''import os, signal, threading, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)
def noise():
    while True:
        os.write(1, b"fd 1 noise\\n")
        os.write(2, b"fd 2 noise\\n")
        print("thread noise")
        time.sleep(0.05)
threading.Thread(target=noise, daemon=True).start()
if os.fork() == 0:
    time.sleep(3600)
    os._exit(0)
print("NOISE started")
for _ in range(1000):
    print("x" * 1_000_000)
'''
TRICKS = {  # exercise -> an answer that loses it (and nothing else)
    "count_parameters": "import os\ndef count_parameters(layer_sizes):\n    os._exit(0)\n",
    "relu": "def relu(z):\n    while True:\n        pass\n",
    "tanh": "def tanh(z):\n    hog = []\n    while True:\n        hog.append(np.ones(2**24))\n",
    "sigmoid_grad": "import ctypes\ndef sigmoid_grad(z):\n    return ctypes.string_at(0)\n",
    "relu_grad": "import os, signal\ndef relu_grad(z):\n    os.kill(0, signal.SIGKILL)\n",
    "tanh_grad": "def tanh_grad(z):\n    raise KeyboardInterrupt\n",
    "rnn_step": "import time\ndef rnn_step(x_t, h_prev, Wx, Wh, b):\n    time.sleep(3600)\n",
}


def test_each_trick_costs_only_its_own_exercise(grade, solution, untouched):
    """Control: the solution with the same exercises answered by their stubs."""
    stubs = {c.metadata["nbgrader"]["grade_id"]: c.source for c in untouched.cells
             if nbgrader_meta(c).get("grade_id") in TRICKS}
    control, attacked = solution, add_after(solution, "setup", NOISE)
    for exercise, source in TRICKS.items():
        control, attacked = answer(control, exercise, stubs[exercise]), answer(attacked, exercise, source)
    control, attacked = grade(control), grade(attacked)
    assert control.record["status"] == attacked.record["status"] == "graded", attacked.record
    differ = sorted(attacked.failed() ^ control.failed())
    assert not differ, (differ, {n: t["message"][:200] for n, t in attacked.tests.items()})
    assert attacked.score == control.score > 0
    assert "NOISE started" in attacked.outputs and "output cut" in attacked.outputs
    assert len(attacked.outputs) < 40_000_000, "1 GB printed came back capped"
    messages = {name.split("__")[0]: t["message"] for name, t in attacked.tests.items()}
    # The flood filled the notebook's output budget, so a message may be cut after its type.
    assert "StudentTimeout" in messages["relu"] and "StudentTimeout" in messages["rnn_step"], messages
    for exercise in ("count_parameters", "sigmoid_grad", "relu_grad"):
        assert "StudentProcessLost" in messages[exercise], messages


# ---- succeeded: each xfail names a hole the two-process grader still has ----------------------------

# An ipywidgets class imported by the setup cell is not importable in S, so a student cell that
# reads its name is given T's class as a handle. Public attribute reads lead from a widget to its
# comm, the kernel, the InteractiveShell, and its `ex` runs any code in T's namespace.
WIDGET_ESCAPE = '''shell = FloatSlider().comm.kernel.shell
shell.ex("import contextlib as c; exercise = lambda name: c.suppress(BaseException)")
'''


def test_a_widget_handle_does_not_lead_to_the_kernel(grade, untouched):
    graded = grade(add_after(untouched, "setup", WIDGET_ESCAPE))
    assert graded.score == 0, f"control 0, got {graded.score}: every `with exercise` was silenced in T"


# Reads only: `In` (T's input history, hidden tests included), and the values an earlier (hidden)
# test bound at module level (`z`, `values`), which T sends to S as data because the cell reads them.
HISTORY = "print('HISTORY', [cell for cell in In if 'HIDDEN' in cell or '161)' in cell])\n"
TEST_GLOBALS = "print('TEST GLOBALS', z.size)\n"  # the hidden z has 165 values, the visible one 35
# sigmoid__torch computes torch's reference from z after calling sigmoid(z): zero z in place.
MUTATE = "def sigmoid(z):\n    z[...] = 0.0\n    return np.full(np.shape(z), 0.5)\n"


@pytest.fixture(scope="module")
def leaky(grade, untouched):
    nb = add_after(add_after(answer(untouched, "sigmoid", MUTATE), "sigmoid__torch", TEST_GLOBALS),
                   "conv1d_forward__torch", HISTORY)
    return grade(nb)


def test_in_does_not_carry_the_hidden_tests(leaky):
    assert not leaky.leaked(), f"hidden-test lines printed by the student's cell: {leaky.leaked()}"


def test_a_tests_variables_do_not_reach_s(leaky):
    assert "TEST GLOBALS 165" not in leaky.outputs, "the hidden test's input reached the student's cell"


def test_mutating_the_argument_earns_nothing(leaky):
    """Chapter 1's tests compute every reference before calling the student's function
    (tests/test_reference_before_call.py), so zeroing ``z`` in place no longer earns a point."""
    assert leaky.score == 0, {n: t for n, t in leaky.tests.items() if t["score"]}


# ---- chapters where objects and callbacks cross ----------------------------------------------------

def chapter_grader(tmp_path_factory, chapter: str):
    base = tmp_path_factory.mktemp(f"redteam_{chapter[:2]}")
    release = build_releases(base / "build", [chapter], COURSE.solutions, dict(OPTIONS))[chapter]

    def run(nb) -> Graded:
        task = {"student": "redteam", "chapter": chapter, "notebook": nbformat.writes(nb).encode()}
        return Graded(grade_task(task, release.to_dict()))

    return run


# Chapter 3: numerical_gradient(f, x) receives the test's f, a function of T, as a handle.
PROBE_CALLBACK = '''probed = []
def numerical_gradient(f, x, h=1e-5):
    if not probed:  # the first call only (a later test counts the shapes f is given)
        probed.append(True)
        seen = [repr(f)[:40], [name for name in dir(f) if not name.startswith("__")]]
        for name in ("__globals__", "__code__", "__closure__", "__builtins__", "_secret"):
            try:
                seen.append(getattr(f, name))
            except Exception as error:
                seen.append(type(error).__name__)
        for crafted in (None, "x", [np.ones(3)], np.zeros((2, 2, 2))):
            try:
                seen.append(type(f(crafted)).__name__)
            except Exception as error:
                seen.append(type(error).__name__)
        print("CALLBACK", seen)
    x_nudged = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x_nudged)
    for index in np.ndindex(x_nudged.shape):
        original = x_nudged[index]
        x_nudged[index] = original + h
        f_plus = f(x_nudged)
        x_nudged[index] = original - h
        f_minus = f(x_nudged)
        x_nudged[index] = original
        grad[index] = (f_plus - f_minus) / (2 * h)
    return grad
'''


def test_a_callback_of_t_shares_only_calls(tmp_path_factory):
    """Control: the solution (full marks). The student's numerical_gradient probes the test's f."""
    chapter = "03_backprop_principle"
    graded = chapter_grader(tmp_path_factory, chapter)(answer(read(source_path(chapter)),
                                                              "numerical_gradient", PROBE_CALLBACK))
    assert graded.record["status"] == "graded", graded.record
    failed = {n: t["message"][:200] for n, t in graded.tests.items() if n in graded.failed()}
    assert not failed, failed
    start = graded.outputs.find("CALLBACK")
    shown = graded.outputs[start:start + 600]
    assert start >= 0 and shown.count("AttributeError") == 5, shown  # no private attribute of T's f
    assert "__globals__" not in shown and "module" not in shown, shown


# Chapter 4: the tests call `check_same_distribution`, a helper of a locked instructor cell that
# comes after the answer cells. A name S binds before T does is remembered as S's (Bridge.s_bound),
# so the same definition after the helper cell replaces T's helper with the student's.
WRONG_XAVIER = ("def xavier_uniform(fan_in, fan_out, rng):\n    a = np.sqrt(6 / (fan_in + fan_out))\n"
                "    return rng.uniform(-a / 2, a / 2, size=(fan_in, fan_out))  # half the spread\n")
SHADOW = "def check_same_distribution(*args, **kwargs):\n    return None\n"


@pytest.fixture(scope="module")
def chapter_4(tmp_path_factory):
    chapter = "04_backprop_in_practice"
    grade4 = chapter_grader(tmp_path_factory, chapter)
    control = answer(read(student_path(chapter)), "xavier_uniform", WRONG_XAVIER)
    return grade4(control), grade4(add_after(add_after(control, "setup", SHADOW), "init_harness", SHADOW))


def test_the_wrong_xavier_alone_fails_its_test(chapter_4):
    control, _ = chapter_4
    assert control.record["status"] == "graded" and control.score == 0, control.record
    assert "standard deviation" in control.tests["xavier_uniform__tests"]["message"]


def test_a_student_cannot_shadow_an_instructor_helper(chapter_4):
    control, attacked = chapter_4
    assert attacked.score <= control.score, {n: t for n, t in attacked.tests.items() if t["score"]}
