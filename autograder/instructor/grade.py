"""Grade a folder of submissions with nbgrader: hidden tests, timeouts, feedback, a grades CSV.

    python -m autograder.instructor.grade SUBMISSIONS [--out grading] [--timeout 60]

SUBMISSIONS holds ``<student>/<chapter>/<chapter>.ipynb``. For each one:

1. the notebook is read from SUBMISSIONS and never written there; only the
   notebook travels into nbgrader's ``submitted/`` folder: a student's ``.py``
   files (which could shadow the ``autograder`` package) and other files are
   ignored, and the package comes first on the grading kernel's PYTHONPATH;
2. a file that is not a valid notebook (broken JSON, wrong schema) is reported,
   and that student scores zero for the chapter;
3. ``nbgrader autograde`` runs in its own process: it restores the instructor's
   test cells (hidden tests included, deleted test cells re-added), runs every
   cell with a per-cell timeout, and records the scores in the gradebook;
4. a notebook in which a cell ran past the timeout, or whose grading process ran
   past the per-notebook limit, scores zero, with the reason recorded as an
   instructor comment (an interrupted kernel proves nothing about later cells);
5. ``nbgrader generate_feedback`` writes HTML feedback without hidden-test code;
6. ``nbgrader export`` writes ``grades.csv``, and ``summary.csv`` adds the reason
   for every zero; a summary table is printed.

One submission's failure never stops the batch. The gradebook in ``--out`` is
kept between runs, so manual grades entered in the formgrader survive.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .config import CELL_TIMEOUT_S
from .course import Course, CourseNotFound, chapter_ids
from .release import make_course, run_nbgrader

NOTEBOOK_TIMEOUT_S = 900


@dataclass
class Outcome:
    student: str
    chapter: str
    score: float = 0.0  # autograded code score + written score graded so far
    max_score: float = 0.0
    code_score: float = 0.0  # what the tests gave
    max_code_score: float = 0.0
    max_written_score: float = 0.0  # written answers, graded by hand in the formgrader
    needs_manual_grade: bool = False
    status: str = "graded"
    reason: str = ""
    failed_cells: list[str] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)


def find_submissions(submissions: Path, known: list[str]) -> tuple[list[Outcome], list[str]]:
    """``(student, chapter)`` pairs found, and warnings about folders that fit no chapter."""
    found, warnings = [], []
    for student_dir in sorted(p for p in submissions.iterdir() if p.is_dir()):
        for chapter_dir in sorted(p for p in student_dir.iterdir() if p.is_dir()):
            if chapter_dir.name not in known:
                warnings.append(f"{student_dir.name}/{chapter_dir.name}: not a chapter of this "
                                f"course (chapters: {', '.join(known)}); skipped")
                continue
            found.append(Outcome(student_dir.name, chapter_dir.name))
    return found, warnings


def stage(outcome: Outcome, submissions: Path, root: Path) -> bool:
    """Copy the one notebook nbgrader should see into ``root/submitted``; False if unusable."""
    source_dir = submissions / outcome.student / outcome.chapter
    target_dir = root / "submitted" / outcome.student / outcome.chapter
    if target_dir.exists():
        shutil.rmtree(target_dir)
    target_dir.mkdir(parents=True)
    expected = f"{outcome.chapter}.ipynb"
    outcome.ignored_files = sorted(p.name for p in source_dir.rglob("*")
                                   if p.is_file() and p.name != expected)
    notebook = source_dir / expected
    if not notebook.is_file():
        outcome.status, outcome.reason = "missing", f"no {expected} in the submission"
        return False
    try:
        json.loads(notebook.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as error:
        outcome.status, outcome.reason = "invalid", f"{expected} is not UTF-8 text ({error.reason})"
        return False
    except json.JSONDecodeError as error:
        outcome.status = "invalid"
        outcome.reason = (f"{expected} is not valid JSON (line {error.lineno}, column "
                          f"{error.colno}: {error.msg}); was it edited outside Jupyter?")
        return False
    try:
        nb = nbformat.read(str(notebook), as_version=4)
        nbformat.validate(nb)
    except Exception as error:  # nbformat's ValidationError, NBFormatError...
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        outcome.status, outcome.reason = "invalid", f"{expected} is not a valid notebook: {first}"
        return False
    nbformat.write(nb, str(target_dir / expected))
    return True


def _timed_out_cells(autograded: Path) -> list[str]:
    if not autograded.is_file():
        return []
    nb = nbformat.read(str(autograded), as_version=4)
    names = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and output.get("ename") == "CellTimeoutError":
                names.append(cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {index}"))
    return names


def _failed_cells(autograded: Path) -> list[str]:
    if not autograded.is_file():
        return []
    nb = nbformat.read(str(autograded), as_version=4)
    return [cell.metadata["nbgrader"]["grade_id"] for cell in nb.cells
            if cell.metadata.get("nbgrader", {}).get("grade")
            and any(o.get("output_type") == "error" for o in cell.get("outputs", []))]


def set_zero(root: Path, outcome: Outcome) -> None:
    """Score every cell of the submission zero, with the reason as an instructor comment.

    Creates the submission in the gradebook if nbgrader never got to (an invalid
    notebook), so that the student still appears in grades.csv.
    """
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    from .config import COURSE_ID

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE_ID) as gradebook, \
            warnings.catch_warnings():
        # nbgrader's own code warns when it creates a submission that has no notebook file.
        warnings.simplefilter("ignore", SAWarning)
        gradebook.update_or_create_student(outcome.student)
        submission = gradebook.update_or_create_submission(outcome.chapter, outcome.student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.manual_score = 0
                grade.needs_manual_grade = False
            for comment in notebook.comments:
                comment.manual_comment = ZERO_COMMENT + outcome.reason
        gradebook.db.commit()


ZERO_COMMENT = "Scored zero by the grader: "


def clear_zero(root: Path, outcome: Outcome) -> None:
    """Undo an earlier run's ``set_zero`` (a resubmission is graded afresh); an
    instructor's own manual scores are kept."""
    from nbgrader.api import Gradebook, MissingEntry

    from .config import COURSE_ID

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE_ID) as gradebook:
        try:
            submission = gradebook.find_submission(outcome.chapter, outcome.student)
        except MissingEntry:
            return
        for notebook in submission.notebooks:
            if not any((c.manual_comment or "").startswith(ZERO_COMMENT) for c in notebook.comments):
                continue
            for grade in notebook.grades:
                grade.manual_score = None
            for comment in notebook.comments:
                comment.manual_comment = None
        gradebook.db.commit()


def read_scores(root: Path, outcome: Outcome) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    from .config import COURSE_ID

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE_ID) as gradebook:
        try:
            submission = gradebook.find_submission(outcome.chapter, outcome.student)
        except MissingEntry:  # nothing recorded (the gradebook refused it): zero
            outcome.max_score = outcome.max_code_score = float(
                gradebook.find_assignment(outcome.chapter).max_code_score)
            return
        outcome.score = float(submission.score)
        outcome.max_score = float(submission.max_score)
        outcome.code_score = float(submission.code_score)
        outcome.max_code_score = float(submission.max_code_score)
        outcome.max_written_score = float(submission.max_written_score)
        outcome.needs_manual_grade = bool(submission.needs_manual_grade)


def autograde(outcome: Outcome, root: Path, notebook_timeout: float) -> None:
    log = root / "logs" / f"{outcome.student}__{outcome.chapter}.log"
    log.parent.mkdir(exist_ok=True)
    log.write_text("")
    try:
        result = run_nbgrader(root, "autograde", outcome.chapter, "--student", outcome.student,
                              "--force", timeout=notebook_timeout, log=log)
    except subprocess.TimeoutExpired:
        outcome.status = "timeout"
        outcome.reason = (f"grading ran past the {notebook_timeout:g} s limit for a whole "
                          "notebook (an infinite loop?)")
        return
    autograded = root / "autograded" / outcome.student / outcome.chapter / f"{outcome.chapter}.ipynb"
    timed_out = _timed_out_cells(autograded)
    if timed_out:
        outcome.status = "timeout"
        outcome.reason = (f"cell {timed_out[0]} ran past the per-cell time limit "
                          "(an infinite loop?)")
    elif result.returncode != 0 or not autograded.is_file():
        outcome.status = "error"
        outcome.reason = f"nbgrader autograde failed; see {log.relative_to(root)}"
    outcome.failed_cells = _failed_cells(autograded)


def grade(submissions: Path, root: Path, cell_timeout: int = CELL_TIMEOUT_S,
          notebook_timeout: float = NOTEBOOK_TIMEOUT_S, solutions: Path | None = None,
          feedback: bool = True) -> list[Outcome]:
    """Grade every submission under ``submissions`` into the course folder ``root``."""
    submissions, root = submissions.resolve(), root.resolve()
    solutions = solutions or Course.find().solutions
    if root == submissions or root in submissions.parents:
        raise ValueError("--out must not be inside the submissions folder.")
    known = chapter_ids(solutions)
    outcomes, warnings = find_submissions(submissions, known)
    for warning in warnings:
        print(f"warning: {warning}")
    root.mkdir(parents=True, exist_ok=True)
    chapters = sorted({o.chapter for o in outcomes})
    if not chapters:
        print(f"No submissions found in {submissions} (expected <student>/<chapter>/<chapter>.ipynb).")
        return []
    for folder in ("source", "release"):
        shutil.rmtree(root / folder, ignore_errors=True)
    make_course(root, chapters, solutions, cell_timeout=cell_timeout)
    for number, outcome in enumerate(outcomes, start=1):
        started = time.perf_counter()
        print(f"[{number}/{len(outcomes)}] {outcome.student}/{outcome.chapter} ...", end=" ",
              flush=True)
        clear_zero(root, outcome)
        if stage(outcome, submissions, root):
            autograde(outcome, root, notebook_timeout)
        if outcome.status != "graded":
            try:
                set_zero(root, outcome)
            except Exception as error:  # no submission row: zero anyway
                outcome.reason += f" (gradebook: {error})"
        read_scores(root, outcome)
        print(f"tests {outcome.code_score:g}/{outcome.max_code_score:g} {outcome.status} "
              f"({time.perf_counter() - started:.1f} s)", flush=True)
    if feedback:
        for outcome in outcomes:
            if outcome.status in ("graded", "timeout", "error"):
                run_nbgrader(root, "generate_feedback", outcome.chapter, "--student",
                             outcome.student, "--force")
    result = run_nbgrader(root, "export", "--to", str(root / "grades.csv"))
    if result.returncode != 0:
        print(f"warning: nbgrader export failed:\n{result.stdout}")
    write_summary(outcomes, root / "summary.csv")
    return outcomes


def write_summary(outcomes: list[Outcome], path: Path) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "chapter", "score", "max_score", "tests_score",
                         "tests_max_score", "written_max_score", "needs_manual_grade", "status",
                         "reason", "failed_cells", "ignored_files"])
        for o in outcomes:
            writer.writerow([o.student, o.chapter, f"{o.score:g}", f"{o.max_score:g}",
                             f"{o.code_score:g}", f"{o.max_code_score:g}",
                             f"{o.max_written_score:g}", o.needs_manual_grade, o.status,
                             o.reason, " ".join(o.failed_cells), " ".join(o.ignored_files)])


def print_table(outcomes: list[Outcome], root: Path) -> None:
    header = (f"{'student':16} {'chapter':22} {'tests':>9} {'written':>8}  {'status':8} reason")
    print("\n" + header + "\n" + "-" * len(header))
    for o in outcomes:
        detail = o.reason or (f"failed: {', '.join(o.failed_cells)}" if o.failed_cells else "")
        if o.ignored_files:
            detail += f" (ignored: {', '.join(o.ignored_files)})"
        written = "to grade" if o.needs_manual_grade else f"{o.score - o.code_score:g}"
        tests = f"{o.code_score:g}/{o.max_code_score:g}"
        print(f"{o.student:16} {o.chapter:22} {tests:>9} {written:>8}  {o.status:8} {detail}")
    if any(o.needs_manual_grade for o in outcomes):
        print("\nWritten answers wait for you in the formgrader (`make formgrade`); "
              "grades.csv counts them once graded.")
    print(f"\ngrades:   {root / 'grades.csv'}\nsummary:  {root / 'summary.csv'}\n"
          f"feedback: {root / 'feedback'}/<student>/<chapter>/")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Grade a folder of submissions with nbgrader.")
    parser.add_argument("submissions", type=Path,
                        help="folder of <student>/<chapter>/<chapter>.ipynb")
    parser.add_argument("--out", type=Path, default=None,
                        help="course folder for the gradebook, feedback and CSVs (default: grading/)")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT_S,
                        help=f"seconds a cell may run (default {CELL_TIMEOUT_S})")
    parser.add_argument("--notebook-timeout", type=float, default=NOTEBOOK_TIMEOUT_S,
                        help=f"seconds a whole notebook may take (default {NOTEBOOK_TIMEOUT_S})")
    parser.add_argument("--course", type=Path, default=None,
                        help="the course folder (default: found from the working directory)")
    parser.add_argument("--no-feedback", action="store_true", help="skip the HTML feedback")
    args = parser.parse_args(argv)
    try:
        course = Course.find(args.course)
    except CourseNotFound as error:
        print(f"error: {error}")
        return 2
    args.out = args.out or course.grading
    if not args.submissions.is_dir():
        print(f"error: {args.submissions} is not a folder. Pass a folder holding "
              "<student>/<chapter>/<chapter>.ipynb, e.g. `make grade SUBMISSIONS=path/to/folder`.")
        return 2
    # A stuck kernel is in its own process session; make sure Ctrl-C stops us cleanly.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    outcomes = grade(args.submissions, args.out, args.timeout, args.notebook_timeout,
                     solutions=course.solutions, feedback=not args.no_feedback)
    if outcomes:
        print_table(outcomes, args.out.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
