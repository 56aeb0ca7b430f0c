"""The course's nbgrader preprocessors: a release that repeats byte for byte, feedback that never shows
the hidden tests (autograder/instructor/authoring/preprocessors.py)."""

from __future__ import annotations

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder.instructor.authoring.preprocessors import (
    KERNELSPEC,
    HideHiddenTests,
    StripVolatileMetadata,
    strip_volatile_metadata,
)

WIDGET = "application/vnd.jupyter.widget-view+json"


def _session_notebook():
    session = {"execution": {"iopub.status.idle": "t"}, "scrolled": True}
    cell = new_code_cell("x = 1", metadata={**session, "tags": ["keep"]})
    cell.outputs = [new_output("display_data", data={"text/plain": "w", WIDGET: {"model_id": "m"}})]
    nb = new_notebook(cells=[cell, new_markdown_cell("text", metadata={"collapsed": True})])
    nb.metadata.update(widgets={"state": {}}, nbgrader={"k": 1}, language="zh_CN")
    return nb


def test_strip_volatile_metadata_keeps_the_course_and_drops_the_session():
    nb = strip_volatile_metadata(_session_notebook())
    assert sorted(nb.metadata) == ["kernelspec", "language", "language_info", "nbgrader"], nb.metadata
    assert nb.metadata.kernelspec == KERNELSPEC and nb.metadata.language == "zh_CN"
    assert nb.cells[0].metadata == {"tags": ["keep"]} and nb.cells[1].metadata == {}
    assert nb.cells[0].outputs[0].data == {"text/plain": "w"}, "a widget view outlives its saved state"


def test_the_release_preprocessor_says_which_solution_notebook_it_came_from():
    resources = {"nbgrader": {"assignment": "01_one", "notebook": "01_one"}}
    nb, _ = StripVolatileMetadata().preprocess(_session_notebook(), resources)
    assert nb.metadata.backprop_lab["generated_from"] == "solutions/01_one/01_one.ipynb"
    assert "widgets" not in nb.metadata


def test_feedback_shows_neither_hidden_test_source_nor_its_traceback():
    source = "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(2) == 3\n### END HIDDEN TESTS\nprint('done')"
    cell = new_code_cell(source)
    cell.outputs = [new_output("error", ename="AssertionError", evalue="f(2) should be 3",
                               traceback=["line", "assert f(2) == 3"])]
    out, _ = HideHiddenTests().preprocess_cell(cell, {}, 0)
    assert out.source == "assert f(1) == 2\n# (hidden tests were run here)\nprint('done')", out.source
    assert out.outputs[0].traceback == ["AssertionError: f(2) should be 3"]
    visible = new_code_cell("assert f(1) == 2")
    assert HideHiddenTests().preprocess_cell(visible, {}, 0)[0].source == "assert f(1) == 2"
