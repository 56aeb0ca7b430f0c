"""A throwaway course holding the tiny demo chapter (tests/fixtures/00_demo.py), for grading tests."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from autograder.instructor.authoring.notebooks import py_to_notebook
from autograder.instructor.authoring.release import generate
from autograder.instructor.course import Course

FIXTURE = Path(__file__).parents[1] / "fixtures" / "00_demo.py"
CHAPTER = "00_demo"
REPO = Path(__file__).resolve().parents[2]


def make_demo_course(base: Path) -> tuple[Course, nbformat.NotebookNode, nbformat.NotebookNode]:
    """``(course, solution, untouched student version)`` under ``base``."""
    course = Course(base / "course")
    solution = py_to_notebook(FIXTURE.read_text())
    (course.solutions / CHAPTER).mkdir(parents=True)
    nbformat.write(solution, str(course.solutions / CHAPTER / f"{CHAPTER}.ipynb"))
    (course.root / "nbgrader_config.py").write_text((REPO / "nbgrader_config.py").read_text())
    generate(base / "student", course.solutions)
    untouched = nbformat.read(str(base / "student" / CHAPTER / f"{CHAPTER}.ipynb"), as_version=4)
    return course, solution, untouched


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
