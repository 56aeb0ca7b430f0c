"""Which of the instructor's cells S runs as well as, or instead of, T (placement.demo_cells, issue #18,
red teams 3 and 4)."""

from __future__ import annotations

import nbformat

from autograder.instructor.grading.placement import demo_cells
from autograder.instructor.grading.student_cells import setup_names_not_in_s

from .templates import nbgrader_cell as cell

# -- which of the instructor's cells S runs (demo_cells) --------------------------------------

def placement_of(*cells, chapter: int = 3):
    nb = nbformat.v4.new_notebook()
    nb.cells = [cell("import numpy as np\nimport torch\nfrom autograder import check_close, exercise\n"
                     "from autograder.reference.layers import linear_forward\n"
                     "from autograder.reference.preprocessing import standardize_fit\nSEED = 0",
                     grade_id="setup"),
                cell("def fit(model, x):\n    raise NotImplementedError", grade_id="fit", solution=True),
                *cells]
    return demo_cells(nb, nb, set(), chapter)


def test_a_demo_that_trains_the_students_model_runs_in_s():
    """Chapter 6's capstone trains the student's layers in a course class: in S, it costs no round
    trip a batch; the class runs in T as well, where the tests build their own models with it."""
    model_class = cell("class Sequential:\n    def __init__(self, layers):\n        self.layers = layers\n",
                       grade_id="model", locked=True)
    demo = cell("model = Sequential([1])\nhistory = fit(model, np.ones(3))")
    test = cell("with exercise('fit'):\n    m = Sequential([2])\n    fit(m, 1)", grade_id="fit__tests",
                grade=True, points=1)
    placed = placement_of(model_class, demo, test)
    assert placed.in_s == (3,) and placed.also_in_s == (2,)


def test_a_demo_that_imports_what_s_cannot_import_runs_in_t():
    """``import torch`` (or the harness, or this chapter's library) inside a demo: S has no such module,
    so the demo would fail there; T runs it, as JupyterLab would. A module S has (SciPy) does not."""
    cells = [cell("import torch\nzero = torch.zeros(1)"),
             cell("def f():\n    from torch.utils.flop_counter import FlopCounterMode\n    return 1\nf()"),
             cell("from autograder.checks import check_close\nok = 1"),
             cell("from autograder.reference.preprocessing import standardize_fit\nfit = standardize_fit"),
             cell("from scipy.stats import ks_2samp\np = ks_2samp([1, 2], [1, 3]).pvalue")]
    placed = placement_of(*cells, chapter=5)
    assert placed.in_s == (6,), placed  # preprocessing is chapter 5's own module: not in S


def test_what_a_test_reads_is_never_made_in_s():
    """A name a test reads before binding it would be S's to forge: its cell stays in T."""
    demo = cell("expected = np.ones(3)")
    own = cell("scratch = 1")
    test = cell("with exercise('fit'):\n    scratch = 2\n    assert fit(None, expected) == scratch",
                grade_id="fit__tests", grade=True, points=1)
    placed = placement_of(demo, own, test)
    assert placed.in_s == (3,), "`scratch` is the test's own (bound before it reads it); `expected` is not"


def test_what_s_cannot_have_keeps_a_demo_in_t():
    """torch, the harness (but its plain comparisons, which S may call), this chapter's library, a
    test's or a tests-only cell's names, a function T defines, and a cell tagged runs-in-t: T runs it."""
    helper = cell("def torch_model():\n    return torch.nn.Linear(2, 2)", grade_id="helpers", locked=True)
    helper.metadata["tags"] = ["tests-only"]
    tagged = cell("x = 1")
    tagged.metadata["tags"] = ["runs-in-t"]
    cells = [helper, cell("a = torch.ones(2)"), cell("with exercise('x'):\n    pass"),
             cell("b = standardize_fit"), cell("c = torch_model()"),
             cell("def f():\n    return torch.ones(1)"), cell("d = f()"), tagged,
             cell("e = linear_forward"), cell("g = SEED + 1")]
    placed = placement_of(*cells, chapter=5)
    assert placed.in_s == (10, 11), placed  # chapter 5 has chapter 4's layers (not its own module)


def test_a_demo_whose_import_t_needs_later_stays_in_t():
    """A class S imported is S's: a later cell in T could not build one (chapter 2's scikit-learn)."""
    imports = cell("from sklearn.linear_model import LogisticRegression\nX = np.ones((2, 2))")
    later = cell("model = LogisticRegression()\nt = torch.ones(1)")
    placed = placement_of(imports, later)
    assert placed.in_s == (), placed


def test_placement_of_every_chapter_sends_its_training_demos_to_s():
    """The chapters as they are: chapter 6's capstone and chapter 5's demos train in S."""
    from tests.chapters import COURSE

    nb = nbformat.read(str(COURSE.solutions / "06_whats_next" / "06_whats_next.ipynb"), as_version=4)
    placed = demo_cells(nb, nb, set(), 6)
    sources = [nb.cells[i].source for i in placed.in_s]
    assert any("capstone" in s and ".fit(" in s for s in sources), "the capstone trains in S"
    assert any(nb.cells[i].source.startswith("class History") for i in placed.also_in_s)


def test_what_a_tests_input_is_made_from_is_never_made_in_s():
    """Transitively: T computes the test's input from a demo's value, so that demo runs in T too;
    and a name the student's cell binds changes nothing (it is the template's answers that count)."""
    data = cell("data = np.ones(3)")
    expected = cell("expected = torch.tensor(data).numpy()")
    test = cell("with exercise('fit'):\n    assert fit(None, expected) is None", grade_id="fit__tests",
                grade=True, points=1)
    unrelated = cell("other = np.zeros(2)")
    placed = placement_of(data, expected, test, unrelated)
    assert placed.in_s == (5,), placed
    nb = nbformat.v4.new_notebook()
    template = nbformat.v4.new_notebook()
    nb.cells = [cell("import numpy as np", grade_id="setup"),
                cell("expected = 1\ndef fit(m, x):\n    return None", grade_id="fit", solution=True),
                cell("expected = np.ones(3)"),
                cell("with exercise('fit'):\n    assert fit(None, expected) is None", grade_id="fit__tests",
                     grade=True, points=1)]
    template.cells = [*nb.cells[:1], cell("def fit(m, x):\n    raise NotImplementedError", grade_id="fit",
                                          solution=True), *nb.cells[2:]]
    assert demo_cells(template, nb, {1}, 3).in_s == (), "the student's `expected` does not free the demo's"


def test_a_demo_that_asserts_its_claims_with_the_harness_comparisons_runs_in_s():
    """check_equal and friends (protocol.CLAIM_CHECKS) are T's, callable from S: a demo that trains
    and then asserts what the prose claims still runs where the student's code is."""
    placed = placement_of(cell("history = fit(None, np.ones(3))\ncheck_close(history, None)"))
    assert placed.in_s == (2,), placed


def test_the_course_drawings_are_s_s_too():
    """The setup's drawing helpers (``draw_network``...) are imported in S as well: a learner's own
    cell that draws with them works as in JupyterLab, and a demo that only draws runs in S."""
    setup = ("import numpy as np\nimport torch\nfrom autograder import exercise\n"
             "from autograder.diagrams.networks import draw_network, draw_neuron\n")
    assert setup_names_not_in_s(setup, 1) == {"torch", "exercise"}
    nb = nbformat.v4.new_notebook()
    nb.cells = [cell(setup, grade_id="setup"),
                cell("def fit(model, x):\n    raise NotImplementedError", grade_id="fit", solution=True),
                cell("fig, ax = plt.subplots()\ndraw_network(ax, [2, 1], ['in', 'out'])", grade_id="sketch",
                     locked=True)]
    assert demo_cells(nb, nb, set(), 1).in_s == (2,)


def test_a_demo_that_only_reads_a_tests_data_runs_in_s_and_one_that_changes_it_in_place_stays_in_t():
    """S is given copies, so a demo that trains on ``X_train`` cannot change what a test reads:
    it runs in S (chapter 4's optimizer race and initialisation demos: 18,000 round trips fewer).
    One that changes that data in place (``X[:] = ...``, ``X.sort()``, ``rng.shuffle(X)``,
    ``np.add.at(X, ...)``, ``out=X``, drawing from the tests' generator) stays in T."""
    data = cell("X = np.ones(3)\nrng = np.random.default_rng(0)", grade_id="data", locked=True)
    trains = cell("history = fit(None, X)\nprint(X.mean())")
    changes = [cell("X[:] = 0"), cell("X.sort()"), cell("np.random.default_rng(1).shuffle(X)"),
               cell("np.add.at(X, [0], 1.0)"), cell("np.exp(X, out=X)"), cell("noise = rng.normal()")]
    test = cell("with exercise('fit'):\n    assert fit(None, X + rng.normal()) is None",
                grade_id="fit__tests", grade=True, points=1)
    placed = placement_of(data, trains, *changes, test)
    assert placed.in_s == (3,), placed


def test_a_demo_in_t_gets_its_own_copy_of_a_demos_functions_when_it_can_define_them():
    """A demo that stays in T (it needs torch; chapter 5's widget, ipywidgets) calling a function a
    demo in S defines: T defines that function too, from its lines alone, so the demo and those
    after it stay in S. Not when defining it reads what only the demo binds (a default), nor when
    the demo imports, nor for a cell that feeds a test: then the demo stays in T, as before."""
    trains = cell("def plot(history, title=''):\n    return len(history)\n\n\n"
                  "history = fit(None, np.ones(3))\nplot(history)")
    in_t = cell("t = torch.ones(1)\nplot([t])")
    later = cell("plot(fit(None, np.ones(2)))")
    placed = placement_of(trains, in_t, later)
    assert placed.in_s == (2, 4) and placed.definitions_in_t == (
        (2, "def plot(history, title=''):\n    return len(history)"),), placed
    own_default = cell("data = np.ones(3)\n\n\ndef plot(history, x=data):\n    return x")
    imports = cell("import math\n\n\ndef plot(history):\n    return math.pi\n\n\nprint(plot([]))")
    for definer in (own_default, imports):
        placed = placement_of(definer, in_t, later)
        assert placed.in_s == () and placed.definitions_in_t == (), placed
    test = cell("with exercise('fit'):\n    assert fit(None, expected) is None", grade_id="fit__tests",
                grade=True, points=1)
    placed = placement_of(trains, cell("expected = plot([torch.ones(1)])"), test)
    assert placed.in_s == () and placed.definitions_in_t == (), "a test's input is T's alone"


def test_a_name_a_test_binds_is_s_s_again_once_a_demo_in_s_binds_it():
    """Chapter 5's ``params_small``: a test's own name, then a demo in S trains a model of that name;
    the demo that reads it after runs in S, on S's value. Before that demo binds it, it stays T's."""
    test = cell("with exercise('fit'):\n    small = 1\n    assert fit(None, small) is None",
                grade_id="fit__tests", grade=True, points=1)
    reads_early = cell("print(small)")
    in_loop = cell("for k in range(2):\n    small = fit(None, k)")  # may not run: not S's for sure
    binds = cell("small = fit(None, np.ones(2))")
    placed = placement_of(test, reads_early, in_loop, cell("print(small)"), binds, cell("print(small)"))
    # The loop's cell runs in T (red team 5): the demo after it reads its ``small`` in T, where S's
    # value is never bound (a test binds that name), so T must bind it itself.
    assert placed.in_s == (6, 7), placed
