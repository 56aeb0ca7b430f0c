"""Finding and reading submissions: ``<student>/<chapter>/<chapter>.ipynb``, literally.

A student folder's name must be a valid id (``studentid.RULE``): an invalid one is reported and
never graded, so never enrolled. Symlinks are never followed; a missing or odd notebook becomes a
``problem`` the record carries; files beside the notebook are listed as ignored, never read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.instructor.classroom import studentid
from autograder.instructor.grading.boundary import shown_name

# What nbgrader's exchange adds to every collected submission: not the student's files.
NBGRADER_FILES = ("timestamp.txt", "submission_secret.txt")
# A notebook larger than this is not read: the worker parses and checks all of it before any time
# limit runs (a chapter's solution with every output is about 2 MB).
MAX_NOTEBOOK_BYTES = 64 << 20


@dataclass
class Found:
    student: str
    chapter: str
    notebook: bytes | None = None
    problem: str = ""
    problem_status: str = "invalid"
    ignored_files: tuple[str, ...] = ()
    # the instructor's decisions on this submission (overrides.Override.entries): the worker gets
    # only the cells they allow; the record gets them whole, from the coordinator
    decisions: tuple[dict[str, Any], ...] = ()

    @property
    def sha256(self) -> str:
        if self.notebook is None:
            return hashlib.sha256(self.problem.encode()).hexdigest()
        return hashlib.sha256(self.notebook).hexdigest()

    def task(self) -> dict[str, Any]:
        return {"student": self.student, "chapter": self.chapter, "notebook": self.notebook,
                "problem": self.problem, "problem_status": self.problem_status,
                "submission_sha256": self.sha256, "ignored_files": list(self.ignored_files),
                "allow": [decision["cell"] for decision in self.decisions]}


def find_submissions(submissions: Path, known: list[str]) -> tuple[list[Found], list[str]]:
    """Every ``<student>/<chapter>`` found, with the notebook's bytes or the reason it has none;
    and warnings: folders that fit no chapter, and folders whose name is not a student id
    (``studentid.RULE``), which are reported and never graded, so never enrolled."""
    found, notes = [], []
    base = submissions.resolve()
    seen: dict[str, str] = {}
    for student_dir in sorted(submissions.iterdir(), key=lambda p: p.name):
        if not (student_dir.is_dir() or student_dir.is_symlink()):
            continue
        problem = studentid.id_problem(student_dir.name)
        if problem:
            notes.append(f"{shown_name(student_dir.name)}/: not graded: {problem}; rename the folder "
                         "to the student's id")
            continue
        student = studentid.normalise_id(student_dir.name)
        if student in seen:
            notes.append(f"{shown_name(student_dir.name)}/: not graded: the same id as the folder "
                         f"{seen[student]}/ (they differ only in Unicode normalisation); merge them")
            continue
        seen[student] = student_dir.name
        if student_dir.is_symlink():
            found.append(Found(student, "-", problem=f"the student folder {student} is a symbolic "
                                                       "link; submissions must be real folders"))
            continue
        chapters = sorted(p for p in student_dir.iterdir() if p.is_dir() or p.is_symlink())
        if not chapters:
            found.append(Found(student, "-", problem="no chapter folder in the submission",
                               problem_status="missing"))
        for chapter_dir in chapters:
            if chapter_dir.name not in known:
                notes.append(f"{student}/{shown_name(chapter_dir.name)}: not a chapter of this course "
                             f"(chapters: {', '.join(known)}); skipped")
                continue
            found.append(read_submission(base, student, chapter_dir))
    return found, notes


def read_submission(base: Path, student: str, chapter_dir: Path) -> Found:
    chapter = chapter_dir.name
    expected = f"{chapter}.ipynb"
    item = Found(student, chapter)
    notebook = chapter_dir / expected
    if chapter_dir.is_symlink() or notebook.is_symlink():
        item.problem = f"{student}/{chapter}/{expected} is (in) a symbolic link; submit the notebook itself"
        return item
    if not notebook.resolve().is_relative_to(base):
        item.problem = f"{expected} resolves outside the submissions folder"
        return item
    item.ignored_files = tuple(sorted(shown_name(p.name) for p in chapter_dir.rglob("*")
                                      if (p.is_file() or p.is_symlink()) and p != notebook
                                      and p.name not in NBGRADER_FILES))
    if not notebook.is_file():
        item.problem, item.problem_status = f"no {expected} in the submission", "missing"
        return item
    size = notebook.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        item.problem = (f"{expected} is {size / 2**20:.0f} MiB; the grader reads notebooks up to "
                        f"{MAX_NOTEBOOK_BYTES >> 20} MiB. Clear its outputs (Edit > Clear Outputs of All "
                        "Cells), save it, and submit it again")
        return item
    item.notebook = notebook.read_bytes()
    return item


# -- the grading release --------------------------------------------------------------------
