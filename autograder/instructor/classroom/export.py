"""Grades out of the gradebook, in seconds: ``grades.csv``, ``summary.csv`` and a table.

    make export
    python -m autograder.instructor.classroom.export [--out grading]

Nothing is executed and nothing is re-graded: scores come from the gradebook as it
is now (manual scores from the formgrader included), the grading status of each
submission from the records ``make grade`` leaves in ``grading/records/<chapter>/<student>.json``.

- ``grades.csv``: nbgrader's own CSV export (``CsvExportPlugin``, called through its
  Python API), one row per student and chapter, the format LMS import scripts expect.
- ``summary.csv``: the same rows as ``grades.csv`` (every student in the gradebook, on the
  roster or with a record, for every chapter), with what grades.csv lacks: the scores split
  (tests, written answers, or "to grade" while a written answer waits for the formgrader),
  the status and its reason, the test cells that failed, the policy rules broken (cell,
  line, construct and why) and the files that were ignored. A student who handed nothing in
  for a chapter is listed with status ``missing``.

``make grade`` calls ``export(course_root)`` at the end; run ``make export`` after
grading written answers in the formgrader.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.instructor.classroom.roster import roster_ids
from autograder.instructor.course import parse_grading_args
from autograder.instructor.grading.boundary import load_record
from autograder.instructor.grading.opengradebook import open_gradebook
from autograder.instructor.grading.records import Record

RECORDS = "records"
SUMMARY_COLUMNS = ["student", "first_name", "last_name", "chapter", "score", "max_score",
                   "tests_score", "tests_max_score", "written_score", "written_max_score",
                   "needs_manual_grade", "status", "reason", "failed_cells", "policy_violations",
                   "ignored_files"]
ZERO_COMMENT = "Scored zero by the grader: "  # grade.py's instructor comment for a zero
TO_GRADE = "to grade"


@dataclass
class SummaryRow:
    """One student's standing in one chapter."""

    student: str
    chapter: str
    first_name: str = ""
    last_name: str = ""
    score: float = 0.0
    max_score: float = 0.0
    tests_score: float = 0.0
    tests_max_score: float = 0.0
    written_score: float = 0.0
    written_max_score: float = 0.0
    needs_manual_grade: bool = False
    status: str = "missing"
    reason: str = ""
    failed_cells: list[str] = field(default_factory=list)
    policy_violations: list[str] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)

    @property
    def written(self) -> str:
        """The written score, or "to grade" while an answer waits for the instructor."""
        return TO_GRADE if self.needs_manual_grade else f"{self.written_score:g}"

    def csv_row(self) -> list[str]:
        return [self.student, self.first_name, self.last_name, self.chapter, f"{self.score:g}",
                f"{self.max_score:g}", f"{self.tests_score:g}", f"{self.tests_max_score:g}",
                self.written, f"{self.written_max_score:g}", str(self.needs_manual_grade),
                self.status, self.reason, " ".join(self.failed_cells),
                "; ".join(self.policy_violations), " ".join(self.ignored_files)]


class NothingGraded(RuntimeError):
    """There is no gradebook in the grading folder yet."""


def read_records(course_root: Path) -> dict[tuple[str, str], Record]:
    """``(student, chapter) -> record`` from ``records/<chapter>/<student>.json``; a record that
    cannot be read is reported as such rather than stopping the export."""
    found: dict[tuple[str, str], Record] = {}
    folder = Path(course_root) / RECORDS
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*/*.json")):
        record = load_record(path) or Record(
            path.stem, path.parent.name, status="error",
            reason=f"unreadable record {path.name} (not a JSON record); make grade grades it again")
        found[(record.student, record.chapter)] = record
    return found


def violation_rule(violation: dict[str, Any]) -> str:
    """A policy violation as the rule it broke: where, the construct, and why it is refused."""
    message = str(violation.get("message") or "").strip()
    return (f"{violation.get('cell', '?')} line {violation.get('line', '?')}: "
            f"{violation.get('construct', '?')}" + (f" ({message})" if message else ""))


def _failed_tests(record: Record) -> list[str]:
    return [grade_id for grade_id, test in record.tests.items() if test["score"] < test["points"]]


def _from_gradebook_only(gradebook, row: SummaryRow) -> None:
    """Status, reason and failed cells for a submission without a record (graded by an older
    ``make grade``): read off the gradebook's cells and the grader's zero comment."""
    submission = gradebook.find_submission(row.chapter, row.student)
    row.status = "graded"
    for notebook in submission.notebooks:
        for comment in notebook.comments:
            text = comment.manual_comment or ""
            if text.startswith(ZERO_COMMENT):
                row.status, row.reason = "zero", text[len(ZERO_COMMENT):]
        for grade in notebook.grades:
            if grade.cell_type == "code" and grade.auto_score is not None \
                    and grade.auto_score < grade.max_score:
                row.failed_cells.append(grade.name)


def summarize(course_root: Path) -> list[SummaryRow]:
    """Every student's standing in every chapter, from the gradebook and the records."""
    course_root = Path(course_root)
    if not (course_root / "gradebook.db").is_file():
        raise NothingGraded(f"No gradebook in {course_root}: run make grade SUBMISSIONS=... first.")
    records = read_records(course_root)
    roster = roster_ids(course_root)
    rows: dict[tuple[str, str], SummaryRow] = {}
    with open_gradebook(course_root) as gradebook:
        names = {s.id: (s.first_name or "", s.last_name or "") for s in gradebook.students}
        assignments = {a.name: a for a in gradebook.assignments}
        chapters = sorted(set(assignments) | {chapter for _, chapter in records})
        for chapter in chapters:
            if chapter not in assignments:
                continue
            for entry in gradebook.submission_dicts(chapter):
                row = SummaryRow(entry["student"], chapter, status="graded",
                                 score=float(entry["score"]), max_score=float(entry["max_score"]),
                                 tests_score=float(entry["code_score"]),
                                 tests_max_score=float(entry["max_code_score"]),
                                 written_score=float(entry["written_score"]),
                                 written_max_score=float(entry["max_written_score"]),
                                 needs_manual_grade=bool(entry["needs_manual_grade"]))
                rows[(row.student, chapter)] = row
                if (row.student, chapter) not in records:
                    _from_gradebook_only(gradebook, row)
        students = set(roster or []) | set(names) | {student for student, _ in rows} | \
            {student for student, _ in records}
        for student in sorted(students):
            for chapter in chapters:
                row = rows.get((student, chapter))
                record = records.get((student, chapter))
                if row is None:  # every student and chapter, as grades.csv has them
                    row = rows[(student, chapter)] = SummaryRow(student, chapter)
                    assignment = assignments.get(chapter)
                    if assignment is not None:
                        row.max_score = float(assignment.max_score)
                        row.tests_max_score = float(assignment.max_code_score)
                        row.written_max_score = float(assignment.max_written_score)
                    row.reason = "no submission"
                if record is not None:
                    row.status, row.reason = record.status, record.reason
                    row.failed_cells = _failed_tests(record)
                    row.policy_violations = [violation_rule(v) for v in record.policy]
                    row.ignored_files = list(record.ignored_files)
                row.first_name, row.last_name = names.get(student, ("", ""))
    return sorted(rows.values(), key=lambda r: (r.chapter, r.student))


def write_grades_csv(course_root: Path, path: Path) -> None:
    """nbgrader's own CSV export of the gradebook, through its Python API."""
    from nbgrader.plugins.export import CsvExportPlugin

    partial = path.with_name(path.name + ".partial")
    with open_gradebook(course_root) as gradebook:
        CsvExportPlugin(to=str(partial)).export(gradebook)
    partial.replace(path)


def write_summary_csv(rows: list[SummaryRow], path: Path) -> None:
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(SUMMARY_COLUMNS)
        writer.writerows(row.csv_row() for row in rows)
    partial.replace(path)


def print_table(rows: list[SummaryRow], course_root: Path, out: Callable[[str], None] = print) -> None:
    """The summary as a table, then where the files are and what is left to do."""
    header = f"{'student':16} {'chapter':22} {'tests':>9} {'written':>8}  {'status':8} reason"
    out("\n" + header + "\n" + "-" * len(header))
    for row in rows:
        detail = row.reason or (f"failed: {', '.join(row.failed_cells)}" if row.failed_cells else "")
        if row.policy_violations:
            count = len(row.policy_violations)
            detail += f" ({count} policy violation{'s' * (count > 1)}: {row.policy_violations[0]}"
            detail += ", ...)" if count > 1 else ")"
        if row.ignored_files:
            detail += f" (ignored: {', '.join(row.ignored_files)})"
        tests = f"{row.tests_score:g}/{row.tests_max_score:g}"
        out(f"{row.student:16} {row.chapter:22} {tests:>9} {row.written:>8}  {row.status:8} "
            f"{detail}".rstrip())
    waiting = sum(row.needs_manual_grade for row in rows)
    if waiting:
        out(f"\n{waiting} submission{'s' * (waiting > 1)} with written answers to grade in the "
            "formgrader (make formgrade); then run make export to refresh the CSVs.")
    out(f"\ngrades:   {course_root / 'grades.csv'}\nsummary:  {course_root / 'summary.csv'}\n"
        f"feedback: {course_root / 'feedback'}/<student>/<chapter>/")


def export(course_root: Path, out: Callable[[str], None] = print) -> list[SummaryRow]:
    """Write ``grades.csv`` and ``summary.csv`` into ``course_root`` and print the table.

    Raises ``NothingGraded`` when ``course_root`` holds no gradebook.
    """
    course_root = Path(course_root).resolve()
    rows = summarize(course_root)
    write_grades_csv(course_root, course_root / "grades.csv")
    write_summary_csv(rows, course_root / "summary.csv")
    print_table(rows, course_root, out=out)
    return rows


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    # The shape every classroom command opens with (handback.py's too), kept on purpose: what they
    # share, the grading folder, is parse_grading_args; the rest is each command's own.
    parser = argparse.ArgumentParser(description="Export grades.csv and summary.csv from the gradebook.")
    args, _ = parse_grading_args(parser, argv, out=out)
    if args is None:
        return 2
    try:
        export(args.out, out=out)
    except NothingGraded as error:
        out(str(error))
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
