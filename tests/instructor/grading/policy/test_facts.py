"""What a chapter allows, read from its source, and which cells a student may edit
(autograder/instructor/grading/policy/facts.py)."""

from __future__ import annotations

import json

import nbformat

from autograder.instructor.grading.policy import (
    PolicyFacts,
    check_cell,
    check_notebook,
    editable,
    facts_from_source,
)

from .checks import SOURCES, check, facts


def test_facts_travel_as_json():
    original = facts(4)
    again = PolicyFacts.from_dict(json.loads(json.dumps(original.to_dict())))
    assert again == original


def test_facts_of_chapter_one():
    f = facts(1)
    assert {"exercise", "check_close", "torch", "F", "to_torch", "reference_device"} <= f.harness_names
    assert {"np", "plt"} <= f.provided_names
    assert {"sigmoid", "relu", "mlp_forward", "conv1d_forward"} <= f.exercise_names
    assert "reference_sigmoid" in f.test_only_names
    assert "autograder.reference.activations" not in f.allowed_imports
    assert "z" not in f.protected_names  # test cells bind z before they read it
    assert {"len", "isinstance", "np", "exercise"} <= f.protected_names


def test_earlier_chapters_reference_modules_are_allowed():
    assert "autograder.reference.activations" in facts(3).allowed_imports
    assert "autograder.reference.losses" not in facts(3).allowed_imports
    assert "autograder.reference.layers" not in facts(4).allowed_imports
    assert "autograder.reference.layers" in facts(5).allowed_imports


def test_editable_cells():
    code = nbformat.v4.new_code_cell
    assert editable(code("x = 1"))
    assert editable(code("x = 1", metadata={"nbgrader": {"solution": True, "grade_id": "a"}}))
    assert not editable(code("x", metadata={"nbgrader": {"grade": True, "solution": False, "locked": True}}))
    assert not editable(code("import numpy", metadata={"nbgrader": {"locked": True, "solution": False}}))
    assert not editable(nbformat.v4.new_markdown_cell("text"))


def test_a_cell_posing_as_a_test_cell_is_checked():
    """Locked metadata is believed only for a grade_id the source has, once (nbgrader restores it)."""
    notebook = nbformat.read(SOURCES[0], as_version=4)
    fake = {"nbgrader": {"grade": True, "solution": False, "locked": True, "grade_id": "my_tests"}}
    notebook.cells.append(nbformat.v4.new_code_cell("import os", metadata=fake))
    copied = dict(next(c.metadata for c in notebook.cells
                       if c.metadata.get("nbgrader", {}).get("grade_id") == "sigmoid__tests"))
    notebook.cells.append(nbformat.v4.new_code_cell("import inspect", metadata=copied))
    imports = [(v.cell, v.construct) for v in check_notebook(notebook, facts(1)) if "import" in v.construct]
    assert imports == [("my_tests", "import os"), ("sigmoid__tests", "import inspect")]


def test_a_module_a_demo_cell_imports_is_the_instructors():
    """A plain demo cell may import what students may not (warnings, sklearn); they still may not."""
    notebook = nbformat.v4.new_notebook()
    setup = nbformat.v4.new_code_cell("import numpy as np")
    setup.metadata["nbgrader"] = {"grade_id": "setup", "locked": True, "grade": False, "solution": False}
    notebook.cells = [setup, nbformat.v4.new_code_cell("import warnings\nwarnings.simplefilter('ignore')")]
    violations = check_cell("warnings.filterwarnings('ignore')", facts_from_source(notebook, 2), "answer")
    assert [(v.line, v.construct) for v in violations] == [(1, "reads warnings")]


def test_data_a_locked_demo_cell_assigns_is_not_protected_unless_a_test_reads_it():
    """Chapter 1's locked conv1d demo binds rng; the tests bind their own: a student's rng is fine."""
    assert check("rng = np.random.default_rng(0)", chapter=1) == []


def test_a_releases_facts_run_no_code_of_the_packages_its_setup_imports(tmp_path, monkeypatch):
    """`from pkg import sub` binds a module, `from pkg.sub import thing` does not: found on disk, as
    the import system would, without importing pkg (scikit-learn's took 2 s of every `make grade`)."""
    package = tmp_path / "slowpkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('imported')\n")
    (package / "sub" / "__init__.py").write_text("def thing():\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    notebook = nbformat.v4.new_notebook()
    setup = nbformat.v4.new_code_cell("from slowpkg import sub\nfrom slowpkg.sub import thing\n"
                                      "from slowpkg import missing\n")
    setup.metadata["nbgrader"] = {"grade_id": "setup", "locked": True, "grade": False, "solution": False}
    notebook.cells = [setup]
    origins = facts_from_source(notebook, 1).setup_origins
    assert dict(origins) == {"sub": "slowpkg.sub", "thing": "slowpkg.sub:thing", "missing": "slowpkg:missing"}
