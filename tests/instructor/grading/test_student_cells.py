"""What S is given and what it may bind in T, worked out from the template (issue #18, red team 2-4)."""

from __future__ import annotations

import nbformat

from autograder.instructor.grading.proxy import Bridge
from autograder.instructor.grading.student_cells import bound_names, instructor_names


def cell(source: str, **nbgrader) -> nbformat.NotebookNode:
    code = nbformat.v4.new_code_cell(source)
    if nbgrader:
        code.metadata["nbgrader"] = nbgrader
    return code


def template() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        cell("import numpy as np\nfrom ipywidgets import FloatSlider\nX_train = np.ones(3)",
             grade_id="setup"),
        cell("def sigmoid(z):\n    raise NotImplementedError", grade_id="sigmoid", solution=True),
        cell("def check_same_distribution(a, b):\n    return None\nz = np.zeros(2)", grade_id="harness",
             locked=True),
        cell("z = np.linspace(-40, 40, 161)\nsecret = sigmoid(z)\ncheck_same_distribution(secret, z)",
             grade_id="sigmoid__tests", grade=True, points=1),
        cell("demo = sigmoid(X_train)\n_hidden = 1"),
    ]
    return nb


def test_bound_names_are_the_module_level_bindings():
    source = ("import numpy as np\nfrom a.b import c as d\nx, (y, *w) = 1, (2, 3)\nfor i in []: pass\n"
              "def f(q):\n    global g\n    local = q\nclass K:\n    attr = 1\nwith open('f') as h: pass\n")
    assert bound_names(source) == {"np", "d", "x", "y", "w", "i", "f", "g", "K", "h"}
    assert bound_names("%timeit f()\nv = 1") == {"v"}, "IPython lines are left out, the rest is read"


def test_s_is_given_only_names_of_non_test_cells_and_never_rebinds_an_instructors():
    sendable, protected = instructor_names(template())
    assert "z" not in sendable and "secret" not in sendable, "a test's variables stay in T"
    assert {"np", "X_train", "FloatSlider", "check_same_distribution", "demo"} <= set(sendable)
    assert "_hidden" not in sendable and "sigmoid" not in sendable
    assert {"check_same_distribution", "np", "z", "secret", "X_train"} <= set(protected)
    assert "demo" not in protected and "sigmoid" not in protected, "a plain cell's and an answer's names"


def test_a_tests_only_cells_helpers_are_never_sent_to_s():
    """A locked cell tagged ``tests-only`` holds the tests' own helpers (a torch reference model):
    sent to S, they would answer the exercise for the student (red team 2, chapters 4 and 6)."""
    nb = template()
    helpers = cell("def reference_forward(x):\n    return x\nclass TorchModel:\n    pass",
                   grade_id="test_models", locked=True)
    helpers.metadata["tags"] = ["tests-only"]
    nb.cells.insert(3, helpers)
    sendable, protected = instructor_names(nb)
    assert "reference_forward" not in sendable and "TorchModel" not in sendable
    assert {"reference_forward", "TorchModel"} <= set(protected), "and S may not rebind them either"
    assert "check_same_distribution" in sendable, "an untagged locked cell's names are still sent"


def test_bindable_keeps_instructor_names_and_values_t_rebound():
    bridge = object.__new__(Bridge)
    _, protected = instructor_names(template())
    bridge.protected, bridge.namespace, bridge.s_bound = frozenset(protected), {}, {}
    assert bridge.bindable("sigmoid") and not bridge.bindable("check_same_distribution")
    assert not bridge.bindable("In") and not bridge.bindable("_private") and not bridge.bindable("len")
    mine = object()
    bridge.namespace["demo"] = bridge.s_bound["demo"] = mine
    assert bridge.bindable("demo"), "S rebinds the value it bound itself"
    bridge.namespace["demo"] = object()  # an instructor's cell (a plain one) rebound it in T
    assert not bridge.bindable("demo")
