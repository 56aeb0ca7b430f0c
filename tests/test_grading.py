"""`make grade` survives a bad batch: wrong, looping, broken-JSON and tampered submissions.

A tiny fixture chapter keeps this fast; tests/test_chapters.py grades the real ones.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import nbformat
import pytest

from autograder.instructor import grade as grading
from autograder.instructor.notebooks import py_to_notebook

# one worker builds the graded course once
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("grading")]

FIXTURE = Path(__file__).parent / "fixtures" / "00_demo.py"
CHAPTER = "00_demo"


def write(nb, folder: Path, student: str) -> Path:
    path = folder / student / CHAPTER / f"{CHAPTER}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def with_source(nb, grade_id: str, old: str, new: str):
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    assert old in cell.source
    cell.source = cell.source.replace(old, new)
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("grading")
    solutions = root / "solutions"
    solution = py_to_notebook(FIXTURE.read_text())
    write(solution, solutions.parent, "solutions")  # solutions/00_demo/00_demo.ipynb
    (solutions / CHAPTER).mkdir(exist_ok=True)
    subs = root / "submissions"
    write(solution, subs, "correct")
    # A student's own autograder.py must not shadow the package during grading.
    (subs / "correct" / CHAPTER / "autograder.py").write_text("raise SystemExit('shadowed!')\n")
    write(with_source(solution, "square", "return x**2", "return x * 2"), subs, "wrong")
    write(with_source(solution, "cube", "return x**3", "while True:\n        pass"), subs, "loop")
    broken = write(solution, subs, "broken_json")
    broken.write_text(broken.read_text()[:400])
    # Tampering: a test cell emptied, and a test cell deleted, on top of a wrong answer.
    tampered = with_source(solution, "square", "return x**2", "return x * 2")
    tampered = with_source(tampered, "square__tests", 'check_close(square(np.array([2.0])), '
                           'np.array([4.0]), name="square([2])")', "pass")
    write(tampered, subs, "tampered")
    deleted = with_source(solution, "square", "return x**2", "return abs(x) * x")
    deleted.cells = [c for c in deleted.cells
                     if c.metadata.get("nbgrader", {}).get("grade_id") != "square__tests"]
    write(deleted, subs, "deleted_test")
    (subs / "stray" / "99_unknown").mkdir(parents=True)
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in subs.rglob("*") if p.is_file()}
    outcomes = grading.grade(subs, root / "course", cell_timeout=5, notebook_timeout=120,
                             solutions=solutions)
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in subs.rglob("*") if p.is_file()}
    return {o.student: o for o in outcomes}, root / "course", before, after, solutions


def test_scores_and_reasons(graded):
    outcomes, *_ = graded
    scores = {name: (o.code_score, o.max_code_score, o.status) for name, o in outcomes.items()}
    assert scores == {
        "broken_json": (0, 3, "invalid"),
        "correct": (3, 3, "graded"),
        "deleted_test": (1, 3, "graded"),
        "loop": (0, 3, "timeout"),
        "tampered": (1, 3, "graded"),
        "wrong": (1, 3, "graded"),
    }
    assert "not valid JSON (line" in outcomes["broken_json"].reason
    assert "cube__tests" in outcomes["loop"].reason
    assert outcomes["correct"].ignored_files == ["autograder.py"]
    assert outcomes["correct"].needs_manual_grade, "the written answer waits for the instructor"
    assert outcomes["wrong"].failed_cells == ["square__tests"]


def test_submissions_are_never_modified(graded):
    _, _, before, after, _ = graded
    assert before == after


def test_grades_csv_lists_every_student_including_the_broken_ones(graded):
    _, course, *_ = graded
    with open(course / "grades.csv") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {"broken_json", "correct", "deleted_test", "loop", "tampered", "wrong"}
    assert float(rows["correct"]["score"]) == 3.0 and float(rows["loop"]["score"]) == 0.0
    with open(course / "summary.csv") as handle:
        summary = {row["student"]: row for row in csv.DictReader(handle)}
    assert summary["loop"]["status"] == "timeout" and summary["loop"]["reason"]


def test_feedback_hides_hidden_tests_but_keeps_their_message(graded):
    _, course, *_ = graded
    html = (course / "feedback" / "wrong" / CHAPTER / f"{CHAPTER}.html").read_text()
    assert "square of a negative number" in html, "the failure message is shown"
    assert "np.array([-3.0])" not in html and "HIDDEN TESTS" not in html, "hidden code is not"
    assert (course / "feedback" / "correct" / CHAPTER / f"{CHAPTER}.html").is_file()


def test_unusable_arguments_get_a_clear_error(tmp_path, capsys):
    assert grading.main([str(tmp_path / "nope")]) == 2
    assert "is not a folder" in capsys.readouterr().out


def test_a_resubmission_after_a_zero_is_graded_afresh(graded, tmp_path):
    _, course, _, _, solutions = graded
    resubmitted = tmp_path / "again"
    write(py_to_notebook(FIXTURE.read_text()), resubmitted, "loop")  # the loop, fixed
    outcomes = grading.grade(resubmitted, course, cell_timeout=5, solutions=solutions,
                             feedback=False)
    assert (outcomes[0].code_score, outcomes[0].status) == (3, "graded")
