"""A throwaway course holding the tiny demo chapter (tests/fixtures/00_demo.py), for grading tests."""

from __future__ import annotations

import atexit
import copy
import functools
import json
import shutil
import tempfile
from pathlib import Path

import nbformat

from autograder.instructor.authoring.notebooks import py_to_notebook
from autograder.instructor.authoring.release import generate
from autograder.instructor.course import Course

FIXTURE = Path(__file__).parents[1] / "fixtures" / "00_demo.py"
CHAPTER = "00_demo"
REPO = Path(__file__).resolve().parents[2]


def make_demo_course(base: Path) -> tuple[Course, nbformat.NotebookNode, nbformat.NotebookNode]:
    """``(course, solution, untouched student version)`` under ``base``: ``course/`` and ``student/``,
    a copy of the one built in this process, and notebooks of their own."""
    built, solution, untouched = _built()
    (base / "course" / "solutions" / CHAPTER).mkdir(parents=True)  # as before: an error if it is there
    for folder in ("course", "student"):
        # shutil.copy, not copy2: fresh files, as a build here would have written them
        shutil.copytree(built / folder, base / folder, copy_function=shutil.copy, dirs_exist_ok=True)
    return Course(base / "course"), copy.deepcopy(solution), copy.deepcopy(untouched)


@functools.cache
def _built() -> tuple[Path, nbformat.NotebookNode, nbformat.NotebookNode]:
    # Built once per test process: nbgrader's generate_assignment takes a second or more, and some
    # forty tests start from this same course. Nothing writes into this copy.
    base = Path(tempfile.mkdtemp(prefix="backprop-demo-course-"))
    atexit.register(shutil.rmtree, base, True)
    course = Course(base / "course")
    solution = py_to_notebook(FIXTURE.read_text())
    (course.solutions / CHAPTER).mkdir(parents=True)
    nbformat.write(solution, str(course.solutions / CHAPTER / f"{CHAPTER}.ipynb"))
    (course.root / "nbgrader_config.py").write_text((REPO / "nbgrader_config.py").read_text())
    generate(base / "student", course.solutions)
    untouched = nbformat.read(str(base / "student" / CHAPTER / f"{CHAPTER}.ipynb"), as_version=4)
    return base, solution, untouched


def with_cell(nb: nbformat.NotebookNode, grade_id: str, source: str) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    cell.source = source
    return nb


def submit(folder: Path, student: str, nb: nbformat.NotebookNode) -> Path:
    path = folder / student / CHAPTER / f"{CHAPTER}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


# -- the demo chapter graded two-process, with the instructor's cells a test adds ---------------------

TWO_PROCESS_OPTIONS = {"cell_timeout": 20, "notebook_timeout": 240, "isolation": "two-process",
                       "call_timeout": 4.0, "limits": {"memory_bytes": 2 * 2**30, "output_bytes": 2_000_000}}


def index_of(nb: nbformat.NotebookNode, grade_id: str) -> int:
    return next(i for i, cell in enumerate(nb.cells)
                if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def demo_grader(base: Path, after: dict[str, list], tests: dict[str, str]):
    """The demo chapter with ``after[grade_id]`` cells inserted after that cell and each test cell
    ``tests[grade_id]`` replaced, released two-process; ``(grade(nb) -> grade_task's result, the
    template)``."""
    from autograder.instructor.grading.coordinator import build_releases
    from autograder.instructor.grading.worker import grade_task

    course, _, _ = make_demo_course(base)
    path = course.solutions / CHAPTER / f"{CHAPTER}.ipynb"
    template = nbformat.read(str(path), as_version=4)
    for grade_id, source in tests.items():
        template.cells[index_of(template, grade_id)].source = source
    for grade_id, cells in after.items():
        at = 1 + index_of(template, grade_id)
        template.cells[at:at] = cells
    nbformat.write(template, str(path))
    release = build_releases(base / "build", [CHAPTER], course.solutions, dict(TWO_PROCESS_OPTIONS))[CHAPTER]
    assert release.isolation == "two-process"

    def grade(nb: nbformat.NotebookNode) -> dict:
        task = {"student": "s", "chapter": CHAPTER, "notebook": nbformat.writes(nb).encode()}
        return grade_task(task, release.to_dict())

    return grade, template


def graded_score(result: dict) -> float:
    assert result["record"]["status"] == "graded", result["record"]
    return sum(t["score"] for t in result["record"]["tests"].values())


def locked_cell(source: str, grade_id: str, tags: tuple[str, ...] = ()) -> nbformat.NotebookNode:
    """An instructor's locked code cell (no points), with ``tags`` (``runs-in-t``, ``tests-only``)."""
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "locked": True, "solution": False, "grade": False,
                                 "schema_version": 3}
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def add_after(nb: nbformat.NotebookNode, grade_id: str, *sources: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` with a learner's code cell of each source inserted after the cell ``grade_id``."""
    nb = copy.deepcopy(nb)
    at = 1 + index_of(nb, grade_id)
    nb.cells[at:at] = [nbformat.v4.new_code_cell(source) for source in sources]
    return nb


def outputs(result: dict, sources: tuple[str, ...] = ()) -> str:
    """The outputs of the graded notebook's cells (of those with one of ``sources`` if given)."""
    cells = json.loads(result["notebook"] or '{"cells": []}')["cells"]
    return json.dumps([c.get("outputs", []) for c in cells
                       if not sources or "".join(c.get("source", "")) in sources])
