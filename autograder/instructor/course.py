"""Where the course lives: the folder holding ``nbgrader_config.py``, ``solutions/`` and ``chapters/``.

The instructor's tools never guess from their own install location, so they work
from a regular (non-editable) install and from any working directory. The course
folder is, in order: an explicit argument, ``$BACKPROP_LAB_COURSE``, or the
nearest folder at or above the working directory that holds ``nbgrader_config.py``
and ``solutions/``.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "BACKPROP_LAB_COURSE"


class CourseNotFound(RuntimeError):
    """No course folder could be found; the message says where we looked and what to do."""


def _is_course(folder: Path) -> bool:
    return (folder / "nbgrader_config.py").is_file() and (folder / "solutions").is_dir()


def find_course(explicit: str | Path | None = None, start: str | Path | None = None) -> Path:
    """The course folder, resolved; raise ``CourseNotFound`` with a fix when there is none."""
    if explicit is None:
        explicit = os.environ.get(ENV_VAR) or None
    if explicit is not None:
        folder = Path(explicit).expanduser().resolve()
        if not _is_course(folder):
            raise CourseNotFound(
                f"{folder} is not a Backprop Lab course folder: it needs nbgrader_config.py and "
                "solutions/. Pass the folder of your clone (--course PATH or "
                f"{ENV_VAR}=PATH).")
        return folder
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if _is_course(folder):
            return folder
    raise CourseNotFound(
        f"No course folder at or above {here} (one holding nbgrader_config.py and solutions/). "
        f"Run this from your clone of the course, or pass --course PATH (or set {ENV_VAR}).")


def course_for_cli(explicit: str | Path | None = None, out=print) -> Course | None:
    """``Course.find`` for a command: None, with the reason and the fix printed, when there is none."""
    try:
        return Course.find(explicit)
    except CourseNotFound as error:
        out(f"error: {error}")
        return None


def course_and_chapters(explicit: str | Path | None, chapters: list[str], out=print) -> Course | None:
    """``course_for_cli``, and every chapter named on the command line a chapter of it; None, with
    the reason and the chapters there are printed, when either is not so."""
    course = course_for_cli(explicit, out=out)
    if course is None:
        return None
    unknown = sorted(set(chapters) - set(course.chapter_ids()))
    if unknown:
        out(f"error: no such chapter: {', '.join(unknown)} (chapters: {', '.join(course.chapter_ids())})")
        return None
    return course


def parse_grading_args(parser: argparse.ArgumentParser, argv: list[str] | None, out=print,
                       known: bool = False) -> tuple[argparse.Namespace | None, list[str]]:
    """Parse ``argv`` with ``--out`` added: the grading folder holding gradebook.db, by default the
    course's grading/. ``(args, the arguments left over when known)``; args is None, with the reason
    printed, when no folder was given and there is no course to take it from."""
    parser.add_argument("--out", type=Path, default=None,
                        help="the grading folder holding gradebook.db (default: grading/)")
    args, rest = parser.parse_known_args(argv) if known else (parser.parse_args(argv), [])
    if args.out is None:
        course = course_for_cli(out=out)
        if course is None:
            return None, rest
        args.out = course.grading
    return args, rest


@dataclass(frozen=True)
class Course:
    """The course's folders, derived from its root."""

    root: Path

    @classmethod
    def find(cls, explicit: str | Path | None = None) -> Course:
        return cls(find_course(explicit))

    @property
    def solutions(self) -> Path:
        return self.root / "solutions"

    @property
    def chapters(self) -> Path:
        return self.root / "chapters"

    @property
    def grading(self) -> Path:
        return self.root / "grading"

    def chapter_ids(self) -> list[str]:
        return chapter_ids(self.solutions)


def chapter_ids(solutions: Path) -> list[str]:
    """Chapter folders that hold a notebook of the same name: ``NN_name/NN_name.ipynb``."""
    return sorted(p.name for p in solutions.iterdir()
                  if p.is_dir() and (p / f"{p.name}.ipynb").is_file())
