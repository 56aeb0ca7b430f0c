"""Return finished feedback to students: ``grading/return/<student>/<chapter>.html``.

    make release-feedback
    python -m autograder.instructor.handback [--out grading]

Only finished feedback goes out: a submission whose written answers are all graded
(the gradebook's ``needs_manual_grade`` is false) and whose feedback page shows the
scores the gradebook holds now. Feedback written before the manual grading shows an
ungraded answer as "Score: 0.0 / 2.0"; such a page is regenerated first (nbgrader
``generate_feedback``: HTML only, no notebook is executed). Everything held back is
listed with the reason.

The ``return/`` folder has one folder per student, ready to zip, upload to an LMS or
copy into each student's home. It is rebuilt on every run, so a page held back now is
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

RETURN_DIR = "return"
# nbgrader's feedback template heads each notebook with "<name> (Score: X / Y)".
_SCORE = re.compile(r"<h4>\s*(?P<name>[^<(]*?)\s*\(Score:\s*(?P<score>[-\d.]+)\s*/\s*(?P<max>[-\d.]+)\)")


@dataclass
class Handback:
    returned: list[tuple[str, str]]  # (student, chapter)
    held_back: list[tuple[str, str, str]]  # (student, chapter, why)


def feedback_path(course_root: Path, student: str, chapter: str) -> Path:
    return course_root / "feedback" / student / chapter / f"{chapter}.html"


def shown_score(page: str) -> float | None:
    """The notebook score a feedback page shows, or None if it shows none we can read."""
    match = _SCORE.search(page)
    return float(match.group("score")) if match else None


def _notebook_scores(course_root: Path) -> dict[tuple[str, str], tuple[float, bool]]:
    """``(student, chapter) -> (score, needs_manual_grade)`` for every submission."""
    from nbgrader.api import Gradebook

    from .config import COURSE_ID

    scores = {}
    with Gradebook(f"sqlite:///{course_root / 'gradebook.db'}", COURSE_ID) as gradebook:
        for assignment in gradebook.assignments:
            for entry in gradebook.submission_dicts(assignment.name):
                scores[(entry["student"], assignment.name)] = (
                    float(entry["score"]), bool(entry["needs_manual_grade"]))
    return scores


def _is_current(path: Path, score: float) -> bool:
    if not path.is_file():
        return False
    shown = shown_score(html.unescape(path.read_text(encoding="utf-8", errors="replace")))
    return shown is None or abs(shown - round(score, 2)) < 1e-6


def regenerate_feedback(course_root: Path, chapter: str, student: str) -> bool:
    """nbgrader ``generate_feedback`` for one submission; True when a page was written."""
    from .release import run_nbgrader

    result = run_nbgrader(course_root, "generate_feedback", chapter, "--student", student, "--force")
    return result.returncode == 0 and feedback_path(course_root, student, chapter).is_file()


def hand_back(course_root: Path, regenerate: Callable[[Path, str, str], bool] | None = regenerate_feedback,
              out: Callable[[str], None] = print) -> Handback:
    """Copy finished feedback into ``course_root/return/<student>/<chapter>.html``.

    ``regenerate(course_root, chapter, student)`` refreshes a finished submission's page
    that is missing or shows an older score (None: hold such pages back instead).
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
    for (student, chapter), (score, needs_manual_grade) in sorted(_notebook_scores(course_root).items()):
        if needs_manual_grade:
            result.held_back.append((student, chapter, "written answers not graded yet "
                                     "(make formgrade)"))
            continue
        page = feedback_path(course_root, student, chapter)
        autograded = course_root / "autograded" / student / chapter / f"{chapter}.ipynb"
        if not _is_current(page, score) and regenerate is not None and autograded.is_file():
            regenerate(course_root, chapter, student)
        if not page.is_file():
            result.held_back.append((student, chapter, "no feedback page (the notebook was not "
                                     "graded: see summary.csv)"))
            continue
        if not _is_current(page, score):
            result.held_back.append((student, chapter, f"the feedback page shows an older score "
                                     f"than the gradebook's {score:g}: regenerate it"))
            continue
        (staging / student).mkdir(exist_ok=True)
        shutil.copy2(page, staging / student / f"{chapter}.html")
        result.returned.append((student, chapter))
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
    parser = argparse.ArgumentParser(description="Copy finished feedback into grading/return/.")
    parser.add_argument("--out", type=Path, default=None,
                        help="the grading folder holding gradebook.db (default: grading/)")
    args = parser.parse_args(argv)
    if args.out is None:
        from .course import Course, CourseNotFound

        try:
            args.out = Course.find().grading
        except CourseNotFound as error:
            out(f"error: {error}")
            return 2
    hand_back(args.out, out=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
