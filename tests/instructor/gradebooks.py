"""A small gradebook built with nbgrader's API, without running a notebook: for the
instructor's tools that read it (export, handback, roster). One chapter, ``00_demo``,
like tests/fixtures/00_demo.py: two test cells (2 and 1 points) and a written answer (1 point).
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import tempfile
from pathlib import Path

from autograder.instructor.grading.opengradebook import open_gradebook

CHAPTER = "00_demo"
TESTS = {"square__tests": 2.0, "cube__tests": 1.0}
ANSWER = "q_why"


@functools.cache
def _empty_gradebook() -> Path:
    # nbgrader runs `alembic heads` (seconds) whenever it creates a gradebook: once per process.
    folder = Path(tempfile.mkdtemp(prefix="backprop-gradebook-"))
    atexit.register(shutil.rmtree, folder, True)
    open_gradebook(folder).close()
    return folder / "gradebook.db"


def new_gradebook(root: Path) -> Path:
    """An empty gradebook at ``root/gradebook.db`` (a copy of one made once)."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(_empty_gradebook(), root / "gradebook.db")
    return root / "gradebook.db"


def make_assignment(root: Path) -> None:
    """The chapter's cells, as nbgrader generate_assignment would record them."""
    if not (root / "gradebook.db").exists():
        new_gradebook(root)
    with open_gradebook(root) as gradebook:
        gradebook.add_assignment(CHAPTER)
        gradebook.add_notebook(CHAPTER, CHAPTER)
        for name, points in TESTS.items():
            gradebook.add_grade_cell(name, CHAPTER, CHAPTER, max_score=points, cell_type="code")
        gradebook.add_grade_cell(ANSWER, CHAPTER, CHAPTER, max_score=1.0, cell_type="markdown")
        gradebook.add_solution_cell(ANSWER, CHAPTER, CHAPTER)


def autograde(root: Path, student: str, passed: dict[str, bool]) -> None:
    """Record a submission as nbgrader autograde would: test scores; the answer to grade."""
    with open_gradebook(root) as gradebook:
        gradebook.update_or_create_student(student)
        gradebook.add_submission(CHAPTER, student)
        for name, points in TESTS.items():
            grade = gradebook.find_grade(name, CHAPTER, CHAPTER, student)
            grade.auto_score = points if passed.get(name, True) else 0.0
            grade.needs_manual_grade = False
        answer = gradebook.find_grade(ANSWER, CHAPTER, CHAPTER, student)
        answer.auto_score = None
        answer.needs_manual_grade = True
        gradebook.db.commit()


def grade_by_hand(root: Path, student: str, score: float) -> None:
    """What the formgrader does when a score is typed into the written answer's box."""
    with open_gradebook(root) as gradebook:
        answer = gradebook.find_grade(ANSWER, CHAPTER, CHAPTER, student)
        answer.manual_score = score
        answer.needs_manual_grade = False
        gradebook.db.commit()


def write_record(root: Path, student: str, status: str = "graded", reason: str = "",
                 failed: tuple[str, ...] = (), policy: int = 0,
                 ignored: tuple[str, ...] = ()) -> Path:
    """A grading record in the layout of grading/records/<chapter>/<student>.json."""
    record = {
        "student": student, "chapter": CHAPTER, "status": status, "reason": reason,
        "submission_sha256": "0" * 64, "release_sha256": "1" * 64, "sandboxed": True,
        "tests": {name: {"points": points, "score": 0.0 if name in failed else points,
                         "message": "wrong" if name in failed else ""}
                  for name, points in TESTS.items()},
        "answers": {ANSWER: {"points": 1.0, "text_sha256": "2" * 64}},
        "policy": [{"cell": "square", "line": 1, "construct": "import os",
                    "message": "imports os"}] * policy,
        "ignored_files": list(ignored), "seconds": 1.5,
    }
    path = root / "records" / CHAPTER / f"{student}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))
    return path
