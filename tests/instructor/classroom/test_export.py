"""`make export`: grades.csv and summary.csv from the gradebook and the records, nothing run (export.py)."""

from __future__ import annotations

import csv
import time

import pytest

from autograder.instructor.classroom.export import NothingGraded, export, main, summarize
from autograder.instructor.classroom.roster import main as roster_main

from ..gradebooks import CHAPTER, autograde, grade_by_hand, make_assignment, write_record


def read_csv(path, key):
    with open(path, newline="") as handle:
        return {row[key]: row for row in csv.DictReader(handle)}


@pytest.fixture
def course(tmp_path):
    """ada passed every test, bob failed one, cy's notebook was invalid (a record, no grades);
    dee is on the roster and handed nothing in. Written answers are not graded yet."""
    root = tmp_path / "grading"
    make_assignment(root)
    roster = tmp_path / "students.csv"
    roster.write_text("id,first_name,last_name,email\nada,Ada,Lovelace,ada@example.org\n"
                      "bob,Bob,Smith,\ncy,Cy,Young,\ndee,Dee,Jones,\n")
    roster_main([str(roster), "--out", str(root)], out=lambda *_: None)
    autograde(root, "ada", {})
    autograde(root, "bob", {"square__tests": False})
    write_record(root, "ada", ignored=("autograder.py",))
    write_record(root, "bob", failed=("square__tests",), policy=2)
    write_record(root, "cy", status="invalid", reason="00_demo.ipynb is not valid JSON (line 3)")
    return root


def test_summary_before_manual_grading(course):
    said = []
    started = time.perf_counter()
    rows = {row.student: row for row in export(course, out=said.append)}
    assert time.perf_counter() - started < 10, "an export reads the gradebook; it runs nothing"
    assert (rows["ada"].tests_score, rows["ada"].written, rows["ada"].status) == (3, "to grade", "graded")
    assert rows["ada"].ignored_files == ["autograder.py"]
    assert (rows["bob"].tests_score, rows["bob"].failed_cells, rows["bob"].policy_violations) == \
        (1, ["square__tests"], ["square line 1: import os (imports os)"] * 2)
    assert (rows["cy"].status, rows["cy"].score, rows["cy"].max_score) == ("invalid", 0, 4)
    assert "not valid JSON" in rows["cy"].reason
    assert (rows["dee"].status, rows["dee"].reason, rows["dee"].max_score) == ("missing", "no submission", 4)
    assert (rows["dee"].first_name, rows["dee"].last_name) == ("Dee", "Jones")
    table = "\n".join(said)
    assert "2 submissions with written answers to grade" in table
    assert "failed: square__tests (2 policy violations: square line 1: import os (imports os), ...)" in table

    summary = read_csv(course / "summary.csv", "student")
    assert set(summary) == {"ada", "bob", "cy", "dee"}
    assert summary["ada"]["written_score"] == "to grade" and summary["ada"]["needs_manual_grade"] == "True"
    assert summary["cy"]["status"] == "invalid" and summary["dee"]["status"] == "missing"
    assert summary["bob"]["failed_cells"] == "square__tests"
    assert summary["bob"]["policy_violations"] == "; ".join(["square line 1: import os (imports os)"] * 2), \
        "the rules broken, not a bare count"
    grades = read_csv(course / "grades.csv", "student_id")
    assert set(grades) == {"ada", "bob", "cy", "dee"}, "nbgrader's export lists every student"
    assert float(grades["ada"]["score"]) == 3.0 and grades["ada"]["last_name"] == "Lovelace"
    with open(course / "summary.csv", newline="") as a, open(course / "grades.csv", newline="") as b:
        assert sorted((r["student"], r["chapter"]) for r in csv.DictReader(a)) == \
            sorted((r["student_id"], r["assignment"]) for r in csv.DictReader(b)), "the same rows"


def test_a_manual_grade_shows_in_both_csvs_without_regrading(course):
    export(course, out=lambda *_: None)
    grade_by_hand(course, "ada", 1.0)
    assert main(["--out", str(course)], out=lambda *_: None) == 0
    summary = read_csv(course / "summary.csv", "student")
    assert (summary["ada"]["written_score"], summary["ada"]["needs_manual_grade"], summary["ada"]["score"]) \
        == ("1", "False", "4")
    assert float(read_csv(course / "grades.csv", "student_id")["ada"]["score"]) == 4.0
    assert not (course / "autograded").exists(), "nothing was executed"


def test_without_records_the_gradebook_alone_gives_the_status(tmp_path):
    root = tmp_path / "grading"
    make_assignment(root)
    autograde(root, "ada", {"cube__tests": False})
    [row] = summarize(root)
    assert (row.student, row.chapter, row.status, row.failed_cells) == ("ada", CHAPTER, "graded",
                                                                       ["cube__tests"])


def test_a_record_that_cannot_be_read_is_reported_not_fatal(course):
    (course / "records" / CHAPTER / "bob.json").write_text("{not json")
    rows = {row.student: row for row in summarize(course)}
    assert rows["bob"].status == "error" and "unreadable record" in rows["bob"].reason
    assert rows["bob"].tests_score == 1, "the scores still come from the gradebook"


def test_no_gradebook_is_a_clear_error(tmp_path):
    with pytest.raises(NothingGraded):
        export(tmp_path)
    said = []
    assert main(["--out", str(tmp_path)], out=said.append) == 2
    assert "run make grade" in said[0]
