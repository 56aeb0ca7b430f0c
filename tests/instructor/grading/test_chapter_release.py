"""A chapter's grading release as plain data (autograder/instructor/grading/chapter_release.py).
release_fields through nbgrader's generate_assignment: test_coordinator.py and test_selfcheck.py."""

from __future__ import annotations

import copy

import nbformat

from autograder.instructor.grading.chapter_release import chapter_number, grading_template


def _test_cell(source: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade_id": "f__tests", "grade": True, "solution": False, "locked": True,
                                 "points": 1, "schema_version": 3}
    return cell


def test_the_template_is_the_student_version_with_the_hidden_tests_back():
    full = "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(2) == 3\n### END HIDDEN TESTS"
    source = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("def f(x): return x + 1"),
                                             _test_cell(full)])
    student = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("raise NotImplementedError()"),
                                              _test_cell("assert f(1) == 2")])
    kept = copy.deepcopy(student)
    template = grading_template(source, student)
    assert [c.source for c in template.cells] == ["raise NotImplementedError()", full]
    assert student == kept, "the student version itself is left as it was"


def test_a_chapters_number_is_its_folders_prefix():
    assert chapter_number("04_backprop_in_practice") == 4
