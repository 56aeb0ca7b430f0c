"""site_pages.py: each page of `make site` is the student version run with the solutions injected,
then shown with the stubs; the pages run one process per core and come back in order."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat

from autograder.instructor.authoring.site import edition_catalogs
from autograder.instructor.authoring.site_pages import (
    STUB_NOTE,
    cached_page,
    inject_solutions,
    prepare_all,
    solution_code,
    stub_for_page,
)
from autograder.instructor.authoring.site_static import PRELUDE_TAG
from autograder.instructor.cells import grade_id, is_solution_code
from autograder.instructor.course import Course

REPO = Path(__file__).resolve().parents[3]
COURSE = Course(REPO)
CHAPTERS = COURSE.chapter_ids()


def test_the_student_version_runs_with_every_solution_and_a_prelude_first():
    chapter = CHAPTERS[0]
    student = nbformat.read(str(COURSE.chapters / chapter / f"{chapter}.ipynb"), as_version=4)
    solution = nbformat.read(str(COURSE.solutions / chapter / f"{chapter}.ipynb"), as_version=4)
    code = solution_code(solution)
    nb = inject_solutions(student, solution)
    assert PRELUDE_TAG in nb.cells[0].metadata["tags"]
    answers = [cell for cell in nb.cells if is_solution_code(cell)]
    assert answers and all(cell.source == code[grade_id(cell)] for cell in answers)
    assert not any("### BEGIN SOLUTION" in cell.source for cell in answers)
    assert len(nb.cells) == len(student.cells) + 1
    assert [c.source for c in student.cells if is_solution_code(c)] != [c.source for c in answers], (
        "the student's copy keeps its stubs")


def test_a_page_shows_the_stub_without_its_raise_and_still_parses():
    stub = stub_for_page('def f(x):\n    """Double x."""\n    # YOUR CODE HERE\n'
                         '    raise NotImplementedError()')
    assert "NotImplementedError" not in stub and STUB_NOTE in stub
    ast.parse(stub)
    assert stub_for_page("raise NotImplementedError()") == STUB_NOTE


def test_pages_are_prepared_in_parallel_processes_and_come_back_in_order(tmp_path, monkeypatch):
    """make site runs the pages' kernels one process per core (prepare_all); each page must come back
    as the page of its own job. Pages already in the cache, so nothing is executed here."""
    chapters = CHAPTERS[:2]
    jobs = [(c, "", None) for c in chapters] + [
        (c, edition, catalog) for edition, catalogs in edition_catalogs(COURSE, chapters).items()
        for c, catalog in catalogs.items()]
    cache = tmp_path / "cache"
    cache.mkdir()
    for chapter, edition, catalog in jobs:
        page = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"{edition or 'en'} {chapter}")])
        nbformat.write(page, str(cached_page(COURSE, chapter, cache, edition, catalog)))
    expected = [f"{edition or 'en'} {chapter}" for chapter, edition, _ in jobs]
    for workers in ("2", "1"):
        monkeypatch.setenv("BACKPROP_LAB_SITE_WORKERS", workers)
        pages = prepare_all(COURSE, jobs, tmp_path / "work", cache)
        assert [page.cells[0].source for page in pages] == expected, f"{workers} workers"
