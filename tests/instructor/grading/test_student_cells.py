"""What S is given and what it may bind in T, worked out from the template (issue #18, red team 2-4)."""

from __future__ import annotations

from autograder.instructor.grading.student_cells import (
    bound_names,
    instructor_imports,
    instructor_names,
    loop_variables,
)

from .templates import nbgrader_cell as cell
from .templates import two_process_template as template


def test_bound_names_are_the_module_level_bindings():
    source = ("import numpy as np\nfrom a.b import c as d\nx, (y, *w) = 1, (2, 3)\nfor i in []: pass\n"
              "def f(q):\n    global g\n    local = q\nclass K:\n    attr = 1\nwith open('f') as h: pass\n")
    assert bound_names(source) == {"np", "d", "x", "y", "w", "i", "f", "g", "K", "h"}
    assert bound_names("%timeit f()\nv = 1") == {"v"}, "IPython lines are left out, the rest is read"
    assert bound_names("match p:\n    case [a, *rest]:\n        pass\n    case {'k': b} as whole:\n"
                       "        pass\n") == {"a", "rest", "b", "whole"}, "a match statement's captures"


def test_loop_variables_are_names_bound_only_by_a_for_or_a_with():
    assert loop_variables("for name, (f, p) in items:\n    print(name)\nwith open(q) as h:\n    pass\n") \
        == {"name", "f", "p", "h"}
    assert loop_variables("for name in x:\n    pass\nname = 1\n") == set(), "assigned too: deliberate"
    assert loop_variables("import f\ndef p(): pass\nfor f in x:\n    for p in f: pass\n") == set()
    assert loop_variables("%timeit g()\nfor i in range(3): pass") == {"i"}, "IPython lines are left out"
    assert loop_variables("for i in (") == set(), "a cell that does not parse binds nothing known"


def test_s_is_given_only_names_of_non_test_cells_and_never_rebinds_an_instructors():
    sendable, protected = instructor_names(template())
    assert "secret" not in sendable, "a test's variables stay in T"
    # z: a locked cell's, then a test's. The bridge sends only the locked cell's value (Bridge.tainted,
    # test_two_process.py::test_a_learners_cell_reads_the_instructors_data_but_never_a_tests_value...).
    assert {"np", "X_train", "FloatSlider", "check_same_distribution", "demo", "z"} <= set(sendable)
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


def test_instructor_imports_are_the_locked_and_plain_cells_imports_s_can_make():
    nb = template()
    nb.cells += [
        cell("from sklearn.datasets import load_digits\nimport torch\nimport numpy.linalg as la\n"
             "from autograder import check_close\nfrom .local import thing\nfrom math import *",
             grade_id="data", locked=True, solution=False, grade=False),
        cell("import statistics"),  # a plain cell
        cell("from decimal import Decimal", grade_id="t", grade=True, solution=False, locked=True, points=1),
        cell("from fractions import Fraction", grade_id="helpers", locked=True, solution=False, grade=False),
    ]
    nb.cells[-1].metadata["tags"] = ["tests-only"]
    assert instructor_imports(nb) == {"load_digits": "from sklearn.datasets import load_digits",
                                      "la": "import numpy.linalg as la", "statistics": "import statistics"}


def test_a_long_line_in_a_cell_that_does_not_parse_is_read_in_linear_time():
    """A submission's cell that is not Python is read line by line for IPython syntax. A line of
    spaces made that regex backtrack quadratically (30,000 spaces: 15 s; 80,000: minutes; a megabyte:
    hours), before any time limit, so one notebook held a worker (and the batch waiting on it)."""
    import time

    from autograder.instructor.grading.student_cells import without_ipython

    started = time.perf_counter()
    source, notes = without_ipython("x = (\n" + " " * 30_000 + "y\n%timeit f()\n")
    assert time.perf_counter() - started < 2.0, "reading the cell took quadratic time"
    assert notes and "line 3" in notes[0] and source.endswith("pass"), notes
    assert without_ipython("    x, y  =  !ls\n  !pwd\nvalue?\n# %not\n")[0].split("\n")[:3] == \
        ["    pass", "  pass", "pass"], "the IPython lines are still found"


def test_a_cell_too_deeply_nested_to_parse_is_not_python_not_a_crash_of_the_worker():
    """``ast.parse`` raises MemoryError or RecursionError (not SyntaxError) on a cell nested past
    the parser's limit: uncaught, it ended grade_task, and the whole notebook lost its grade. S
    runs the cell as written, where it fails alone."""
    from autograder.instructor.grading.student_cells import (
        bound_names,
        cells_file,
        global_reads,
        parsed,
        reads,
        without_ipython,
    )

    for deep in ("-" * 100_000 + "1", "1" + "+1" * 100_000):
        assert parsed(deep) is None
        assert without_ipython(deep) == (deep, [])
        assert bound_names(deep) == reads(deep) == global_reads(deep) == frozenset()
    nb = template()
    nb.cells[1].source = "-" * 100_000 + "1"
    assert cells_file(nb, nb, [1])["cells"]["1"]["source"] == nb.cells[1].source


def test_what_only_a_demo_in_s_binds_is_s_s_to_bind_in_t():
    """A locked demo cell that runs in S (placement.demo_cells) binds its results in S; T's later
    cells read them there, so they are not protected from S (``cells_file``), while the names a cell
    of T binds too stay protected."""
    from autograder.instructor.grading.placement import demo_cells
    from autograder.instructor.grading.student_cells import cells_file

    nb = template()
    nb.cells.insert(4, cell("history = sigmoid(X_train)\nz = history", grade_id="curve", locked=True))
    placement = demo_cells(nb, nb, set(), 1)
    assert 4 in placement.in_s, placement
    protected = cells_file(nb, nb, [1], placement)["protected"]
    assert "history" not in protected, "only the demo in S binds it"
    assert {"z", "check_same_distribution"} <= set(protected), "a cell of T binds these too"
