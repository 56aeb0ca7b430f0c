"""Return finished feedback to students: ``grading/return/<student>/<chapter>.html``.

    make release-feedback
    python -m autograder.instructor.classroom.handback [--out grading]

Only finished feedback goes out: a submission whose written answers are all graded
(the gradebook's ``needs_manual_grade`` is false) and whose feedback page shows the
grades the gradebook holds now. A page written before the manual grading says "not
graded yet" (``feedback.py``), or shows the answer as "Score: 0.0 / 2.0" (nbgrader's own
feedback); such a page is written again first, from the record and the gradebook
(``feedback.write_feedback``; nothing is executed), or by nbgrader ``generate_feedback``
for a submission graded before records existed. Everything held back is listed with
the reason.

The ``return/`` folder has one folder per student, ready to zip, upload to an LMS or
copy into each student's home, and ``_mathjax/`` (MathJax 2, which the pages load to typeset
their maths without the network: ship it with the pages). A comment typed in the formgrader
since a page was rendered makes it render again first. It is rebuilt on every run, so a page held back now is
not left there from an earlier run.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from autograder.instructor.course import parse_grading_args
from autograder.instructor.grading.boundary import load_record
from autograder.instructor.grading.opengradebook import open_gradebook

RETURN_DIR = "return"
# nbgrader's feedback template heads each notebook with "<name> (Score: X / Y)".
_NBGRADER_SCORE = re.compile(r"<h4>\s*[^<(]*?\s*\(Score:\s*(?P<score>[-\d.]+)\s*/\s*[-\d.]+\)")
# feedback.py's header: "Written answers: **X / Y** points", or "N of M not graded yet".
_WRITTEN = re.compile(r"Written answers:\s*<strong>\s*(?P<score>[-\d.]+)\s*/\s*[-\d.]+\s*</strong>")
_PENDING = "not graded yet"


@dataclass
class Standing:
    score: float
    written_score: float
    needs_manual_grade: bool


@dataclass
class Handback:
    returned: list[tuple[str, str]]  # (student, chapter)
    held_back: list[tuple[str, str, str]]  # (student, chapter, why)


def feedback_path(course_root: Path, student: str, chapter: str) -> Path:
    return course_root / "feedback" / student / chapter / f"{chapter}.html"


def shown_score(page: str) -> float | None:
    """The notebook score an nbgrader feedback page shows, or None if it shows none."""
    match = _NBGRADER_SCORE.search(page)
    return float(match.group("score")) if match else None


def is_current(page: str, standing: Standing) -> bool:
    """Whether a feedback page shows the grades of ``standing`` (either page format)."""
    page = html.unescape(page)
    nbgrader_score = shown_score(page)
    if nbgrader_score is not None:
        return abs(nbgrader_score - round(standing.score, 2)) < 1e-6
    if _PENDING in page:
        return False
    written = _WRITTEN.search(page)
    if written is not None:
        return abs(float(written.group("score")) - standing.written_score) < 1e-6
    return True  # a page with no written answers, or a format this does not know


def standings(course_root: Path) -> dict[tuple[str, str], Standing]:
    """``(student, chapter) -> Standing`` for every submission in the gradebook."""
    found = {}
    with open_gradebook(course_root) as gradebook:
        for assignment in gradebook.assignments:
            for entry in gradebook.submission_dicts(assignment.name):
                found[(entry["student"], assignment.name)] = Standing(
                    float(entry["score"]), float(entry["written_score"]),
                    bool(entry["needs_manual_grade"]))
    return found


def regenerate_feedback(course_root: Path, chapter: str, student: str) -> bool:
    """Write one submission's page again; True when there is one."""
    record = load_record(course_root / "records" / chapter / f"{student}.json")
    if record is not None:
        from autograder.instructor.grading.feedback import write_feedback

        write_feedback(course_root, [record])
    elif (course_root / "autograded" / student / chapter / f"{chapter}.ipynb").is_file():
        from autograder.instructor.authoring.release import run_nbgrader

        run_nbgrader(course_root, "generate_feedback", chapter, "--student", student, "--force")
    return feedback_path(course_root, student, chapter).is_file()


def refresh_pages(course_root: Path, keys: list[tuple[str, str]]) -> None:
    """Write again, in one pass, every page of ``(student, chapter)`` that has a record and whose
    record, grades or comments changed since it was rendered (``feedback.write_feedback`` skips
    the rest by their hash): a comment typed in the formgrader reaches the page."""
    from autograder.instructor.grading.feedback import write_feedback

    # A torn record is left out: make grade writes it again.
    loaded = [load_record(course_root / "records" / chapter / f"{student}.json") for student, chapter in keys]
    records = [record for record in loaded if record is not None]
    if records:
        write_feedback(course_root, records)


def copy_page(page: Path, target: Path) -> None:
    """A feedback page into ``return/<student>/``: MathJax is one folder up there, not two."""
    from autograder.instructor.grading.feedback import MATHJAX_DIR

    text = page.read_text(encoding="utf-8", errors="replace")
    target.write_text(text.replace(f'"../../{MATHJAX_DIR}/', f'"../{MATHJAX_DIR}/'), encoding="utf-8")


def _current(page: Path, standing: Standing) -> bool:
    return page.is_file() and is_current(page.read_text(encoding="utf-8", errors="replace"), standing)


def hand_back(course_root: Path, regenerate: Callable[[Path, str, str], bool] | None = regenerate_feedback,
              out: Callable[[str], None] = print) -> Handback:
    """Copy finished feedback into ``course_root/return/<student>/<chapter>.html``.

    ``regenerate(course_root, chapter, student)`` writes again a finished submission's page
    that is missing or shows older grades (None: hold such pages back instead).
    """
    course_root = Path(course_root).resolve()
    if not (course_root / "gradebook.db").is_file():
        out(f"No gradebook in {course_root}: run make grade SUBMISSIONS=... first.")
        return Handback([], [])
    result = Handback([], [])
    target_root = course_root / RETURN_DIR
    staging = course_root / f".{RETURN_DIR}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    from autograder.instructor.classroom.studentid import id_problem
    from autograder.instructor.grading.feedback import MATHJAX_DIR

    found = sorted(standings(course_root).items())
    if regenerate is not None:
        refresh_pages(course_root, [key for key, standing in found if not standing.needs_manual_grade])
    for (student, chapter), standing in found:
        problem = id_problem(student)
        if problem:  # enrolled by an older make grade: no folder is made for it
            result.held_back.append((student, chapter, f"not a student id ({problem})"))
            continue
        if standing.needs_manual_grade:
            result.held_back.append((student, chapter, "written answers not graded yet "
                                     "(make formgrade)"))
            continue
        page = feedback_path(course_root, student, chapter)
        if not _current(page, standing) and regenerate is not None:
            regenerate(course_root, chapter, student)
        if not page.is_file():
            result.held_back.append((student, chapter, "no feedback page (the notebook was not "
                                     "graded: see summary.csv)"))
            continue
        if not _current(page, standing):
            result.held_back.append((student, chapter, "the feedback page shows older grades than "
                                     "the gradebook: write it again (make grade)"))
            continue
        (staging / student).mkdir(exist_ok=True)
        copy_page(page, staging / student / f"{chapter}.html")
        result.returned.append((student, chapter))
    mathjax = course_root / "feedback" / MATHJAX_DIR
    if result.returned and mathjax.is_dir():  # the pages typeset their maths offline
        shutil.copytree(mathjax, staging / MATHJAX_DIR)
    old = course_root / f".{RETURN_DIR}.old"
    shutil.rmtree(old, ignore_errors=True)
    if target_root.exists():
        target_root.rename(old)
    staging.rename(target_root)
    shutil.rmtree(old, ignore_errors=True)
    out(f"returned {len(result.returned)} feedback page{'s' * (len(result.returned) != 1)} "
        f"into {target_root}/<student>/<chapter>.html")
    if result.held_back:
        out(f"held back {len(result.held_back)}:")
        for student, chapter, why in result.held_back:
            out(f"  {student:16} {chapter:22} {why}")
    return result


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    # The shape every classroom command opens with (export.py's too), kept on purpose: see there.
    parser = argparse.ArgumentParser(description="Copy finished feedback into grading/return/.")
    args, _ = parse_grading_args(parser, argv, out=out)
    if args is None:
        return 2
    hand_back(args.out, out=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
