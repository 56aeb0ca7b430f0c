"""The class list: load a roster CSV into the gradebook, and compare it with what was handed in.

    make roster FILE=students.csv
    python -m autograder.instructor.classroom.roster students.csv [--out grading]

The CSV has the columns ``id, first_name, last_name, email``, with or without a header row
(a header may list them in any order; ``email`` may be left out). Each student is created or
updated in the gradebook (nbgrader's ``Gradebook.update_or_create_student``), so the
formgrader shows names instead of "None, None". The roster as loaded is also kept in
``grading/roster.csv``: the gradebook alone cannot tell a roster student from one that
``make grade`` created for an unexpected submission folder.

A student id becomes a folder name and a glob pattern in nbgrader, so it follows the rule
``make grade`` applies to submission folders (``studentid.py``: Unicode letters and digits,
NFC-normalised, and ``. _ @ + -``, starting with a letter or a digit); the message names the
character refused and states the rule.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from autograder.instructor.classroom import studentid
from autograder.instructor.course import parse_grading_args
from autograder.instructor.grading.backup import backup_gradebook
from autograder.instructor.grading.opengradebook import open_gradebook

COLUMNS = ("id", "first_name", "last_name", "email")
ROSTER_FILE = "roster.csv"


class RosterError(ValueError):
    """A roster that cannot be loaded; the message names the file and line."""


@dataclass(frozen=True)
class Student:
    id: str
    first_name: str
    last_name: str
    email: str = ""


def id_problem(student_id: str) -> str | None:
    """Why ``student_id`` cannot be used as a student id, or None when it can (``studentid.RULE``)."""
    return studentid.id_problem(student_id)


def parse_roster(text: str, source: str = "roster") -> list[Student]:
    """Students from CSV ``text``; raise ``RosterError`` naming ``source`` and the line."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    numbered = [(number, [cell.strip() for cell in row]) for number, row in enumerate(rows, 1)
                if any(cell.strip() for cell in row)]
    if not numbered:
        raise RosterError(f"{source}: no students (expected CSV columns {', '.join(COLUMNS)})")
    columns = list(COLUMNS)
    first_line, first = numbered[0]
    if first and first[0].lower().lstrip("#").strip() in {"id", "student_id", "student"} or \
            {cell.lower() for cell in first} & {"first_name", "last_name"}:
        header = [cell.lower().replace(" ", "_") for cell in first]
        aliases = {"student_id": "id", "student": "id", "first": "first_name", "last": "last_name"}
        header = [aliases.get(name, name) for name in header]
        missing = [name for name in COLUMNS[:3] if name not in header]
        if missing:
            raise RosterError(f"{source}, line {first_line}: the header lacks {', '.join(missing)} "
                              f"(expected {', '.join(COLUMNS)})")
        columns = header
        numbered = numbered[1:]
    students: list[Student] = []
    seen: dict[str, int] = {}
    for number, row in numbered:
        if len(row) < 3 or len(row) > len(columns):
            raise RosterError(f"{source}, line {number}: expected {len(columns)} columns "
                              f"({', '.join(columns)}), found {len(row)}: {','.join(row)!r}")
        fields = dict(zip(columns, row))
        problem = id_problem(fields["id"])
        if problem:
            raise RosterError(f"{source}, line {number}: {problem}")
        student_id = studentid.normalise_id(fields["id"])
        if student_id in seen:
            raise RosterError(f"{source}, line {number}: the id {student_id!r} is already on "
                              f"line {seen[student_id]}")
        seen[student_id] = number
        for column in ("first_name", "last_name", "email"):
            value = fields.get(column, "")
            if set(value) & set(',"\n\r'):
                raise RosterError(f"{source}, line {number}: {column} {value!r} contains a comma, "
                                  "a quote or a line break, which nbgrader's grades.csv cannot quote")
        students.append(Student(student_id, fields.get("first_name", ""),
                                fields.get("last_name", ""), fields.get("email", "")))
    if not students:
        raise RosterError(f"{source}: a header but no students")
    return students


def read_roster(path: Path) -> list[Student]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise RosterError(f"{path}: not UTF-8 text ({error.reason}); save it as CSV UTF-8") from None
    return parse_roster(text, str(path))


def load_roster(course_root: Path, students: list[Student]) -> None:
    """Create or update ``students`` in ``course_root/gradebook.db`` and keep the roster file.

    The gradebook is backed up first. A student already in the gradebook keeps their
    submissions and grades; only the names and email change.
    """
    course_root.mkdir(parents=True, exist_ok=True)
    gradebook_path = course_root / "gradebook.db"
    backup_gradebook(gradebook_path)
    with open_gradebook(course_root) as gradebook:
        for student in students:
            gradebook.update_or_create_student(student.id, first_name=student.first_name or None,
                                               last_name=student.last_name or None,
                                               email=student.email or None)
    write_roster(course_root / ROSTER_FILE, students)


def write_roster(path: Path, students: Iterable[Student]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for student in students:
            writer.writerow([student.id, student.first_name, student.last_name, student.email])


def roster_ids(course_root: Path) -> list[str] | None:
    """The ids of the loaded roster, in its order; None when no roster was loaded."""
    path = Path(course_root) / ROSTER_FILE
    if not path.is_file():
        return None
    return [student.id for student in read_roster(path)]


def roster_warnings(course_root: Path, submitted: Iterable[tuple[str, str]],
                    chapters: Iterable[str]) -> list[str]:
    """Warnings for ``make grade`` on one folder: submissions from ids not on the roster, and,
    per chapter graded, roster students with neither a submission in this folder nor a record
    from an earlier run (exactly those summary.csv lists as missing). Empty without a roster."""
    roster = roster_ids(Path(course_root))
    if roster is None:
        return []
    pairs = set(submitted)
    warnings = []
    strangers = sorted({student for student, _ in pairs} - set(roster))
    if strangers:
        warnings.append(f"not on the roster ({len(strangers)}): {', '.join(strangers)} "
                        "(a typo in a folder name? add them with make roster FILE=...)")
    for chapter in sorted(set(chapters)):
        records = Path(course_root) / "records" / chapter
        absent = [student for student in roster if (student, chapter) not in pairs
                  and (student, "-") not in pairs and not (records / f"{student}.json").is_file()]
        if absent:
            warnings.append(f"{chapter}: on the roster, no submission in this folder or an earlier "
                            f"run ({len(absent)}): {', '.join(absent)} (listed as missing in summary.csv)")
    return warnings


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(description="Load a class roster into the gradebook.")
    parser.add_argument("file", type=Path, help="CSV: id, first_name, last_name, email")
    args, _ = parse_grading_args(parser, argv, out=out)
    if args is None:
        return 2
    if not args.file.is_file():
        out(f"error: no roster file at {args.file}. Usage: make roster FILE=students.csv "
            f"(columns {', '.join(COLUMNS)})")
        return 2
    try:
        students = read_roster(args.file)
    except RosterError as error:
        out(f"error: {error}")
        return 2
    before = roster_ids(args.out) or []
    load_roster(args.out, students)
    dropped = [student for student in before if student not in {s.id for s in students}]
    out(f"roster: {len(students)} students loaded into {args.out / 'gradebook.db'}")
    if dropped:
        out(f"no longer on the roster (kept in the gradebook with their grades): {', '.join(dropped)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
