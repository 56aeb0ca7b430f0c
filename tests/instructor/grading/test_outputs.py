"""A graded notebook's outputs become safe text, capped with a note (grading/outputs.py).
How the cap meets the executor's own cut: tests/instructor/test_execute.py."""

from __future__ import annotations

import nbformat

from autograder.instructor.grading.outputs import make_outputs_safe


def test_outputs_become_text_and_are_capped_with_a_note():
    nb = nbformat.v4.new_notebook()
    c = nbformat.v4.new_code_cell("x")
    c.outputs = [nbformat.v4.new_output("display_data", data={"text/html": "<script>alert(1)</script>",
                                                              "text/plain": "<HTML object>"}),
                 nbformat.v4.new_output("stream", name="stdout", text="y" * 5000)]
    nb.cells = [c, nbformat.v4.new_markdown_cell("<script>alert(2)</script>")]
    nb.cells[1].metadata["nbgrader"] = {"grade_id": "q", "solution": True, "grade": True, "points": 1}
    make_outputs_safe(nb, max_bytes=1000)
    assert c.outputs[0]["data"] == {"text/plain": "<HTML object>"}
    assert len(c.outputs[1]["text"]) < 1100 and "output cut" in c.outputs[1]["text"]
    assert "<script>" not in nb.cells[1].source


def test_an_html_output_shows_its_text_and_the_instructors_markdown_stays_as_written():
    nb = nbformat.v4.new_notebook()
    c = nbformat.v4.new_code_cell("show_progress()")
    c.outputs = [nbformat.v4.new_output("display_data", data={
        "text/html": "<table><tr><td>sigmoid</td><td>&#10003; passes</td></tr></table><script>x()</script>",
        "text/plain": "<IPython.core.display.HTML object>"})]
    course_text = nbformat.v4.new_markdown_cell("Set `z[z < 0] = 0` -> no: $a \\\\& b$")
    theirs = nbformat.v4.new_markdown_cell("<img src=x onerror=alert(1)>")
    nb.cells = [c, course_text, theirs]
    make_outputs_safe(nb, max_bytes=10_000, student_written={2})
    assert c.outputs[0]["data"] == {"text/plain": "sigmoid ✓ passes"}
    assert nb.cells[1].source == "Set `z[z < 0] = 0` -> no: $a \\\\& b$", \
        "the course's markdown is never escaped"
    assert "<img" not in nb.cells[2].source, "what the student wrote is escaped"
