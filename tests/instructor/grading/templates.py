"""Small chapter templates shared by the grading tests: one for the worker and the coordinator (setup, one
exercise, its test, a demo cell), one for two-process grading (what S is given and may bind)."""

from __future__ import annotations

import nbformat


def cell(source, grade_id=None, kind="code", **nbgrader):
    new = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    c = new(source)
    if grade_id:
        c.metadata["nbgrader"] = {"grade_id": grade_id, "schema_version": 3, **nbgrader}
    return c


def template():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        cell("import numpy as np", "setup", solution=False, grade=False, locked=True),
        cell("def f(x):\n    raise NotImplementedError()", "f", solution=True, grade=False, locked=False),
        cell("assert f(2) == 4", "f__tests", solution=False, grade=True, locked=True, points=1),
        cell("print('a demo')"),
    ]
    nb.cells[3].id = "demo-1"
    return nb


def nbgrader_cell(source: str, **nbgrader) -> nbformat.NotebookNode:
    """A code cell with exactly the nbgrader metadata given (none if none)."""
    code = nbformat.v4.new_code_cell(source)
    if nbgrader:
        code.metadata["nbgrader"] = nbgrader
    return code


def nbgrader_v3_cell(source: str, **nbgrader) -> nbformat.NotebookNode:
    """A code cell with the nbgrader metadata given, as nbgrader writes it (``schema_version`` 3)."""
    return nbgrader_cell(source, **({"schema_version": 3, **nbgrader} if nbgrader else {}))


def two_process_template() -> nbformat.NotebookNode:
    """Setup, an answer, a harness cell, its test, a plain demo cell: what S is given and may bind."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbgrader_cell("import numpy as np\nfrom ipywidgets import FloatSlider\nX_train = np.ones(3)",
                      grade_id="setup"),
        nbgrader_cell("def sigmoid(z):\n    raise NotImplementedError", grade_id="sigmoid", solution=True),
        nbgrader_cell("def check_same_distribution(a, b):\n    return None\nz = np.zeros(2)",
                      grade_id="harness", locked=True),
        nbgrader_cell("z = np.linspace(-40, 40, 161)\nsecret = sigmoid(z)\n"
                      "check_same_distribution(secret, z)", grade_id="sigmoid__tests", grade=True, points=1),
        nbgrader_cell("demo = sigmoid(X_train)\n_hidden = 1"),
    ]
    return nb


def graded_result(task: dict) -> dict:
    """What ``worker.grade_task`` returns for a notebook graded with nothing in it: the stand-in result of
    the fake grading tasks that the coordinator's cluster tests give ``run_tasks``."""
    return {"record": {"student": task["student"], "chapter": task["chapter"], "status": "graded",
                       "reason": "", "submission_sha256": task["submission_sha256"],
                       "release_sha256": "x", "sandboxed": False, "tests": {}, "answers": {},
                       "policy": [], "ignored_files": [], "seconds": 0.0}, "notebook": None}
