"""The gradebook's one writer (autograder/instructor/grading/gradebook.py), through the real grading path:
finished manual grades survive a re-grade, a changed answer is flagged again, a release change is refused."""

from __future__ import annotations

import pytest

from autograder.instructor.classroom.roster import load_roster, parse_roster
from autograder.instructor.grading import coordinator as grading
from autograder.instructor.grading.gradebook import CHANGED_COMMENT
from autograder.instructor.grading.opengradebook import open_gradebook
from tests.instructor.demo_course import CHAPTER, make_demo_course, submit, with_cell

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("gradebook")]

OPTIONS = {"cell_timeout": 10, "workers": 0, "feedback": False, "progress": False}


def answer_grade(root, student):
    with open_gradebook(root) as gradebook:
        submission = gradebook.find_submission(CHAPTER, student)
        (nb,) = submission.notebooks
        grade = next(g for g in nb.grades if g.name == "q_why")
        comment = next(c for c in nb.comments if c.name == "q_why")
        return grade.manual_score, grade.needs_manual_grade, comment.manual_comment


def auto_comment(root, student):
    with open_gradebook(root) as gradebook:
        (nb,) = gradebook.find_submission(CHAPTER, student).notebooks
        return next(c for c in nb.comments if c.name == "q_why").auto_comment


def score_by_hand(root, student, points, comment=None):
    """What an instructor does in the formgrader: score the written answer (and comment)."""
    with open_gradebook(root) as gradebook:
        (nb,) = gradebook.find_submission(CHAPTER, student).notebooks
        grade = next(g for g in nb.grades if g.name == "q_why")
        grade.manual_score = points
        grade.needs_manual_grade = False
        if comment is not None:
            next(c for c in nb.comments if c.name == "q_why").manual_comment = comment
        gradebook.db.commit()


def test_regrading_keeps_finished_manual_grades_and_flags_changed_answers(tmp_path):
    course, solution, _ = make_demo_course(tmp_path)
    subs, root = tmp_path / "subs", tmp_path / "grading"
    submit(subs, "ada", solution)
    submit(subs, "bob", solution)
    submit(subs, "eve", solution)
    root.mkdir()
    load_roster(root, parse_roster("id,first_name,last_name,email\nada,Ada,L,\nbob,Bob,B,\ndee,Dee,D,\n",
                                   "students.csv"))
    said = []
    grading.grade(subs, root, course, grading.GradeSettings(**OPTIONS), out=said.append)
    assert any("not on the roster (1): eve" in line for line in said), said
    assert any("no submission in this folder or an earlier run (1): dee" in line for line in said), said
    assert answer_grade(root, "ada")[:2] == (None, True), "a new written answer waits for grading"
    score_by_hand(root, "ada", 1.0)
    score_by_hand(root, "bob", 0.5, comment="Half right: say why the sign is lost.")
    # Ada fixes a test and keeps her answer; Bob rewrites his answer.
    submit(subs, "ada", with_cell(solution, "cube", "def cube(x):\n    return x * x * x\n"))
    changed = next(c for c in solution.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "q_why")
    bob = with_cell(solution, "q_why", changed.source + " And a second thought.")
    submit(subs, "bob", bob)
    grading.grade(subs, root, course, grading.GradeSettings(**OPTIONS))
    assert answer_grade(root, "ada") == (1.0, False, None), "an unchanged answer stays graded"
    score, needs, comment = answer_grade(root, "bob")
    assert (score, needs) == (0.5, True), "a changed answer is flagged again, its old score kept"
    assert comment == "Half right: say why the sign is lost.", "the instructor's comment is kept"
    assert auto_comment(root, "bob") == CHANGED_COMMENT.format(score=0.5), "the grader's note, apart"
    # Once re-scored, a third run leaves it finished.
    score_by_hand(root, "bob", 1.0)
    submit(subs, "bob", with_cell(bob, "cube", "def cube(x):\n    return x ** 3\n"))
    grading.grade(subs, root, course, grading.GradeSettings(**OPTIONS))
    assert answer_grade(root, "bob")[:2] == (1.0, False)
    assert auto_comment(root, "bob") is None, "the note goes once the answer is graded again"


def test_a_timeout_zero_is_the_graders_and_a_fixed_resubmission_clears_it(tmp_path):
    course, solution, _ = make_demo_course(tmp_path)
    subs, root = tmp_path / "subs", tmp_path / "grading"
    submit(subs, "cy", with_cell(solution, "square", "def square(x):\n    while True:\n        pass\n"))
    # One kernel: two-process grading stops the loop at its call's limit and grades the rest, so
    # only the one-kernel path still times a whole notebook out.
    (record,) = grading.grade(subs, root, course, grading.GradeSettings(**OPTIONS, isolation="kernel"))
    assert record.status == "timeout"
    score, needs, comment = answer_grade(root, "cy")
    assert (score, needs) == (0.0, False) and comment.startswith("Scored zero by the grader")
    submit(subs, "cy", solution)
    grading.grade(subs, root, course, grading.GradeSettings(**OPTIONS, isolation="kernel"))
    assert answer_grade(root, "cy") == (None, True, None)


def test_a_gradebook_from_another_release_is_refused_unless_migrated(tmp_path):
    course, solution, _ = make_demo_course(tmp_path)
    subs, root = tmp_path / "subs", tmp_path / "grading"
    submit(subs, "ada", solution)
    grading.grade(subs, root, course, grading.GradeSettings(**OPTIONS))
    source = course.solutions / CHAPTER / f"{CHAPTER}.ipynb"
    source.write_text(source.read_text().replace("square of a negative number", "square of -3"))
    with pytest.raises(grading.ReleaseMismatch, match="--migrate"):
        grading.grade(subs, root, course, grading.GradeSettings(**OPTIONS))
    (record,) = grading.grade(subs, root, course, grading.GradeSettings(migrate=True, **OPTIONS))
    assert record.status == "graded"
    assert list((root / "backups").glob("gradebook-*.db")), "a backup was kept before writing"
