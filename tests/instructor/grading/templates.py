"""A small chapter template (setup, one exercise, its test, a demo cell), shared by the worker's and the
coordinator's tests."""

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
