"""Names a cell binds and reads: its own may shadow and change what it owns
(autograder/instructor/grading/policy/scopes.py)."""

from __future__ import annotations

import nbformat

from autograder.instructor.grading.policy import check_notebook

from .checks import SOURCES, check, facts


def test_a_cell_may_use_names_other_cells_define():
    notebook = nbformat.read(SOURCES[0], as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("import math\ndef my_helper(z):\n    return z"))
    notebook.cells.append(nbformat.v4.new_code_cell("print(my_helper(math.pi), grid.shape)"))
    assert check_notebook(notebook, facts(1)) == []


def test_honest_rebinding_is_allowed():
    """Test cells bind z, x, rng before use: a student's own z is harmless; np re-imported is np."""
    assert check("import numpy as np\nz = np.zeros(3)\nx = 1\nrng = np.random.default_rng(0)") == []
    assert check("from autograder.reference.activations import sigmoid\n_ = sigmoid(0.0)", chapter=3) == []


def test_own_objects_may_be_changed():
    """x is also a test temporary; the student's own x is theirs to change."""
    assert check("x = np.zeros(3)\nx.flags.writeable = False\nx[0] = 1") == []


def test_locals_may_shadow_protected_names():
    assert check("def f(np, exercise):\n    len = 3\n    return np + exercise + len") == []
