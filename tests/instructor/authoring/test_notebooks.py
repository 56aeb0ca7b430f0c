"""Notebook files: the percent-format round trip and canonical writing
(autograder/instructor/authoring/notebooks.py). Executing a chapter: `make nbval` and test_chapters.py."""

from __future__ import annotations

import pytest

from autograder.instructor.authoring.notebooks import notebook_to_py, py_to_notebook, read, write

SCRIPT = """# %% [markdown]
# # A chapter
# Some prose.

# %% readonly id=setup
import numpy as np

# %% solution id=f
def f(x):
    ### BEGIN SOLUTION
    return x + 1
    ### END SOLUTION

# %% tests id=f__tests points=2
assert f(1) == 2

# %% [markdown] answer id=q1 points=1.5
# Why?

# %% tags=nbval-ignore-output
print(np.pi)
"""


def test_each_header_makes_the_cell_kind_it_names():
    nb = py_to_notebook(SCRIPT)
    kinds = [(c.cell_type, c.id, c.metadata.get("nbgrader", {}).get("points"), c.metadata.get("tags"))
             for c in nb.cells]
    assert kinds == [("markdown", "cell-000", None, None), ("code", "setup", None, None),
                     ("code", "f", None, None), ("code", "f__tests", 2, None),
                     ("markdown", "q1", 1.5, None), ("code", "cell-005", None, ["nbval-ignore-output"])]
    assert nb.cells[0].source == "# A chapter\nSome prose."
    assert nb.cells[2].metadata["nbgrader"] == {"grade_id": "f", "schema_version": 3, "grade": False,
                                                "solution": True, "locked": False}
    assert nb.cells[3].metadata["nbgrader"]["locked"] and nb.cells[1].metadata["nbgrader"]["locked"]


def test_the_script_survives_a_round_trip_through_a_notebook_file(tmp_path):
    write(py_to_notebook(SCRIPT), tmp_path / "sub" / "ch.ipynb")
    assert notebook_to_py(read(tmp_path / "sub" / "ch.ipynb")) == SCRIPT


def test_outputs_of_unchanged_code_cells_are_kept():
    old = py_to_notebook(SCRIPT)
    old.cells[5].outputs, old.cells[5].execution_count = [{"output_type": "stream", "name": "stdout",
                                                           "text": "3.14\n"}], 7
    again = py_to_notebook(SCRIPT, existing=old)
    assert again.cells[5].execution_count == 7 and again.cells[5].outputs[0]["text"] == "3.14\n"
    changed = py_to_notebook(SCRIPT.replace("print(np.pi)", "print(np.e)"), existing=old)
    assert changed.cells[5].outputs == []


def test_an_unknown_cell_kind_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown cell kind 'soluton'"):
        py_to_notebook("# %% soluton id=f\npass\n")


@pytest.mark.slow  # starts a kernel (a few seconds)
def test_make_execute_stores_the_outputs_run_in_the_notebooks_folder(tmp_path, capsys):
    """The README: `make execute NB=solutions/NN_x/NN_x.ipynb` after an edit stores the outputs."""
    from autograder.instructor.authoring.notebooks import main

    folder = tmp_path / "01_x"
    folder.mkdir()
    (folder / "data.txt").write_text("read from the notebook's folder")
    nb = py_to_notebook("# %%\nprint(open('data.txt').read())\n\n# %%\n6 * 7\n")
    nb.metadata["widgets"] = {"state": "changes every run"}
    nb.cells[0].metadata["ExecuteTime"] = {"end_time": "yesterday"}
    write(nb, folder / "01_x.ipynb")
    main(["execute", str(folder / "01_x.ipynb")])
    assert f"executing {folder / '01_x.ipynb'}" in capsys.readouterr().out
    stored = read(folder / "01_x.ipynb")
    assert stored.cells[0].outputs[0]["text"] == "read from the notebook's folder\n", stored.cells[0].outputs
    assert stored.cells[1].outputs[0]["data"]["text/plain"] == "42"
    assert "widgets" not in stored.metadata and not stored.cells[0].metadata, "volatile metadata is stripped"
    assert not any("execution" in cell.metadata for cell in stored.cells)
