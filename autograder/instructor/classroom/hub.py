"""The class's exchange: release chapters to it, collect submissions from it.

    python -m autograder.instructor.classroom.hub release [CHAPTER ...] [--force]
    python -m autograder.instructor.classroom.hub collect [CHAPTER ...]
    python -m autograder.instructor.classroom.hub student-config DIR

The exchange is nbgrader's own: one folder every student's server can reach
(``--exchange``, or ``$BACKPROP_HUB_EXCHANGE``, default ``/srv/nbgrader/exchange``),
holding ``backprop-lab/outbound/<chapter>/`` (released chapters, read by all) and
``backprop-lab/inbound/`` (submissions, written by all, read by the instructor).
See ``deploy/README.md`` for the hub around it.

The instructor's side of it is a course folder (``--course-dir``, default ``hub/course``):

* ``release`` builds ``source/`` and ``release/`` there from ``solutions/`` (nbgrader
  ``generate_assignment``, as ``make release`` does: the student versions are exactly
  ``chapters/``), so the gradebook knows each chapter, then copies ``release/<chapter>/``
  to the exchange (nbgrader's ``release_assignment``);
* ``collect`` copies each student's latest submission to
  ``submitted/<student>/<chapter>/<chapter>.ipynb`` (nbgrader's ``collect``), the
  layout ``make grade`` reads: ``make grade SUBMISSIONS=hub/course/submitted``.

Both go through nbgrader's Python API (``NbGraderAPI``), not its command line.

``student-config DIR`` writes what a student's server needs to find the exchange:
``nbgrader_config.py`` (the course id and the exchange root) and
``jupyter_server_config.json`` (the formgrader and course list, instructor tools,
switched off). The hub puts DIR on each server's ``JUPYTER_CONFIG_PATH``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from autograder.instructor.authoring.release import make_course
from autograder.instructor.config import COURSE_ID, configure
from autograder.instructor.course import Course, CourseNotFound

EXCHANGE_ENV = "BACKPROP_HUB_EXCHANGE"
DEFAULT_EXCHANGE = "/srv/nbgrader/exchange"
DEFAULT_COURSE_DIR = Path("hub") / "course"


class HubError(RuntimeError):
    """An exchange operation failed; the message carries nbgrader's log."""


def default_exchange() -> Path:
    return Path(os.environ.get(EXCHANGE_ENV) or DEFAULT_EXCHANGE)


def exchange_config(course_dir: Path, exchange: Path, force: bool = False) -> Any:
    """The instructor's nbgrader configuration: the course's settings, and the exchange."""
    from traitlets.config import Config

    config = configure(Config(), root=course_dir, source="source", release="release")
    config.Exchange.root = str(exchange)
    config.Exchange.path_includes_course = False
    config.ExchangeReleaseAssignment.force = force
    return config


def nbgrader_api(course_dir: Path, exchange: Path, force: bool = False) -> Any:
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config = exchange_config(course_dir, exchange, force)
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def resolve_chapters(course: Course, names: list[str]) -> list[str]:
    """Chapter ids from ids or their numbers (``01`` or ``1``); all chapters when none is named."""
    known = course.chapter_ids()
    if not names:
        return known
    chosen = []
    for name in names:
        matches = [c for c in known if c == name or (name.isdigit() and int(c.split("_")[0]) == int(name))]
        if len(matches) != 1:
            raise HubError(f"no such chapter: {name} (chapters: {', '.join(known)})")
        chosen.append(matches[0])
    return chosen


def _checked(result: dict[str, Any], what: str) -> str:
    log = result.get("log", "")
    if not result.get("success"):
        raise HubError(f"{what} failed:\n{log}{result.get('error', '')}")
    return log


def _note_exchange(course_dir: Path, exchange: Path) -> None:
    """Name the exchange in the course folder's nbgrader_config.py, so that nbgrader's own
    commands run there by hand (``nbgrader list``) find it too."""
    path = course_dir / "nbgrader_config.py"
    line = f"get_config().Exchange.root = {str(exchange)!r}\n"
    if line not in path.read_text():
        path.write_text(path.read_text() + line)


def release(course: Course, chapters: list[str], course_dir: Path, exchange: Path,
            force: bool = False, out=print) -> list[Path]:
    """Generate ``chapters`` into ``course_dir`` and release them to ``exchange``; the released folders.

    A chapter already in the exchange is replaced only with ``force`` (students who
    fetched it keep their copy; a fresh fetch gets the new one)."""
    course_dir = course_dir.resolve()
    exchange = exchange.resolve()
    course_dir.mkdir(parents=True, exist_ok=True)
    course_dir.chmod(0o700)  # source/ holds the solutions, submitted/ students' work
    make_course(course_dir, chapters, course.solutions)
    _note_exchange(course_dir, exchange)
    api = nbgrader_api(course_dir, exchange, force)
    released = []
    for chapter in chapters:
        _checked(api.release_assignment(chapter), f"nbgrader release_assignment {chapter}")
        target = exchange / COURSE_ID / "outbound" / chapter
        out(f"released {chapter} to {target}")
        released.append(target)
    return released


def collect(chapters: list[str], course_dir: Path, exchange: Path, out=print) -> list[Path]:
    """Copy each student's latest submission of ``chapters`` into ``course_dir/submitted``;
    the notebooks collected there (new or updated ones and those collected before)."""
    course_dir = course_dir.resolve()
    course_dir.mkdir(parents=True, exist_ok=True)
    api = nbgrader_api(course_dir, exchange.resolve())
    for chapter in chapters:
        log = _checked(api.collect(chapter, update=True), f"nbgrader collect {chapter}")
        for line in log.strip().split("\n["):  # one entry per log record, warnings included
            if line.lstrip("[").startswith(("WARNING", "ERROR")) or "submission" in line.lower():
                out(" ".join(line.lstrip("[").replace("] ", ": ", 1).split()))
    submitted = course_dir / "submitted"
    return sorted(p for chapter in chapters for p in submitted.glob(f"*/{chapter}/{chapter}.ipynb"))


# nbgrader names a submission after the unix user its server runs as (pwd, not $USER), or
# after $JUPYTERHUB_USER when that user is "jovyan" (Docker images). Where every server runs
# as one unix user (SimpleLocalProcessSpawner), the hub user's name must be given explicitly.
HUB_USER_AS_STUDENT = """import os
if os.environ.get("JUPYTERHUB_USER"):
    c.CourseDirectory.student_id = os.environ["JUPYTERHUB_USER"]
"""


def write_student_config(folder: Path, exchange: Path, hub_user_as_student: bool = False) -> list[Path]:
    """A Jupyter config folder for students' servers: the exchange, and no instructor tools.

    ``hub_user_as_student``: submit as ``$JUPYTERHUB_USER`` rather than as the unix user. Only
    for servers that share one unix user (test mode): a student can change their environment,
    so a class runs each student's server as their own unix user (or container) instead."""
    folder.mkdir(parents=True, exist_ok=True)
    nbgrader = folder / "nbgrader_config.py"
    nbgrader.write_text(
        "# Written by autograder.instructor.classroom.hub: where students fetch and submit chapters.\n"
        "c = get_config()\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
        f"c.Exchange.root = {str(exchange)!r}\n"
        "c.Exchange.path_includes_course = False\n"
        + (HUB_USER_AS_STUDENT if hub_user_as_student else "")
    )
    server = folder / "jupyter_server_config.json"
    server.write_text(json.dumps({"ServerApp": {"jpserver_extensions": {
        "nbgrader.server_extensions.formgrader": False,
        "nbgrader.server_extensions.course_list": False,
        "nbgrader.server_extensions.assignment_list": True,
        "nbgrader.server_extensions.validate_assignment": True,
    }}}, indent=1) + "\n")
    for path in (folder, nbgrader, server):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return [nbgrader, server]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The class's nbgrader exchange: release and collect.")
    parser.add_argument("--course", default=None, help="the course folder (default: found from here)")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("release", "release chapters to the exchange"),
                       ("collect", "collect the latest submissions into COURSE_DIR/submitted")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("chapters", nargs="*", help="chapter ids or numbers (default: all)")
        sub.add_argument("--exchange", type=Path, default=None,
                         help=f"the exchange folder (default: ${EXCHANGE_ENV} or {DEFAULT_EXCHANGE})")
        sub.add_argument("--course-dir", type=Path, default=None,
                         help=f"the instructor's nbgrader course folder (default: {DEFAULT_COURSE_DIR} "
                         "in the course)")
        if name == "release":
            sub.add_argument("--force", action="store_true", help="replace a chapter already released")
    sub = commands.add_parser("student-config", help="write students' Jupyter config folder")
    sub.add_argument("folder", type=Path)
    sub.add_argument("--exchange", type=Path, default=None)
    sub.add_argument("--hub-user-as-student", action="store_true",
                     help="submit as $JUPYTERHUB_USER (only where all servers share one unix user)")
    args = parser.parse_args(argv)
    exchange = (args.exchange or default_exchange()).resolve()
    if args.command == "student-config":
        for path in write_student_config(args.folder, exchange, args.hub_user_as_student):
            print(f"wrote {path}")
        return 0
    try:
        course = Course.find(args.course)
        chapters = resolve_chapters(course, args.chapters)
        course_dir = args.course_dir or course.root / DEFAULT_COURSE_DIR
        if args.command == "release":
            release(course, chapters, course_dir, exchange, force=args.force)
        else:
            notebooks = collect(chapters, course_dir, exchange)
            students = sorted({p.parts[-3] for p in notebooks})
            print(f"{len(notebooks)} submissions from {len(students)} students in {course_dir / 'submitted'}")
            if notebooks:
                print(f"Grade them: make grade SUBMISSIONS={course_dir / 'submitted'}")
    except (CourseNotFound, HubError) as error:
        print(f"error: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
