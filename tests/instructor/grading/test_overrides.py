"""The instructor's one-command override (issue #19), end to end through coordinator.grade on a demo
class: a cell the kernel path's policy refused, and a cell past its time limit, re-graded as written
by `make regrade`'s function, recorded (who, when, which cell) in the record, the gradebook and the
feedback, and kept by the next `make grade` while the submission is unchanged."""

from __future__ import annotations

import pytest

from autograder.instructor.grading import coordinator as grading
from autograder.instructor.grading.gradebook import OVERRIDE_COMMENT
from autograder.instructor.grading.opengradebook import open_gradebook
from autograder.instructor.grading.overrides import load_overrides, save_override
from tests.instructor.demo_course import CHAPTER, make_demo_course, submit, with_cell

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("overrides")]

# The one-kernel path's policy refuses this honest answer (a module off its list): a false alarm.
REFUSED = "import sys\n\ndef square(x):\n    return x * x\n"
# Honest and slow: past a 10 s per-cell limit, well within the notebook's.
SLOW = "import time\n\ntime.sleep(14)\n\ndef square(x):\n    return x * x\n"
SETTINGS = grading.GradeSettings(cell_timeout=10, notebook_timeout=240, workers=0, sandbox=False,
                                 progress=False, feedback=False, isolation="kernel")


def square_points(record) -> float:
    return record.tests["square__tests"]["score"]


def auto_comment(root, student):
    with open_gradebook(root) as gradebook:
        (nb,) = gradebook.find_submission(CHAPTER, student).notebooks
        return next(c for c in nb.comments if c.name == "square").auto_comment


def test_a_refused_and_a_timed_out_cell_regraded_as_written_by_the_instructors_decision(tmp_path):
    course, solution, _ = make_demo_course(tmp_path)
    subs, root = tmp_path / "subs", tmp_path / "grading"
    submit(subs, "ada", with_cell(solution, "square", REFUSED))
    submit(subs, "bob", with_cell(solution, "square", SLOW))
    before = {r.student: r for r in grading.grade(subs, root, course, SETTINGS)}
    assert before["ada"].policy and square_points(before["ada"]) == 0, before["ada"]
    assert before["bob"].status == "timeout" and "square" in before["bob"].reason, before["bob"]

    with_pages = grading.GradeSettings(**{**SETTINGS.__dict__, "feedback": True})
    (ada,) = grading.regrade(subs, root, course, with_pages, "ada", CHAPTER, ["square"], by="prof")
    assert (ada.status, square_points(ada), ada.policy) == ("graded", 2.0, []), ada
    assert [a["construct"] for a in ada.advice] == ["import sys"], "what the policy found stays, as advice"
    assert [(d["cell"], d["by"]) for d in ada.overrides] == [("square", "prof")], ada.overrides
    assert ada.overrides[0]["at"].endswith("+00:00"), "when, in UTC"
    assert auto_comment(root, "ada").startswith(OVERRIDE_COMMENT.split("{")[0] + "prof"), \
        "the formgrader shows the decision on the cell"
    page = (root / "feedback" / "ada" / CHAPTER / f"{CHAPTER}.html").read_text(encoding="utf-8")
    assert "instructor&#x27;s decision" in page or "instructor's decision" in page, "the student sees it"

    (bob,) = grading.regrade(subs, root, course, SETTINGS, "bob", CHAPTER, ["square"], by="prof")
    assert (bob.status, square_points(bob)) == ("graded", 2.0), bob

    said: list[str] = []
    again = {r.student: r for r in grading.grade(subs, root, course, SETTINGS, out=said.append)}
    assert any("2 of 2 submissions unchanged" in line for line in said), said
    assert square_points(again["ada"]) == 2.0 and again["ada"].overrides == ada.overrides

    submit(subs, "ada", with_cell(solution, "square", REFUSED + "# changed\n"))
    changed = {r.student: r for r in grading.grade(subs, root, course, SETTINGS)}
    assert changed["ada"].overrides == [] and square_points(changed["ada"]) == 0, \
        "a new submission is graded as written: the decision was on the old one"


def test_the_override_asks_for_what_it_needs(tmp_path, capsys):
    course, solution, _ = make_demo_course(tmp_path)
    subs = tmp_path / "subs"
    submit(subs, "ada", solution)
    assert grading.main([str(subs), "--course", str(course.root), "--allow", "square"]) == 2
    assert "--allow, --student and --chapter go together" in capsys.readouterr().out
    with pytest.raises(ValueError, match="no submission zed/"):
        grading.regrade(subs, tmp_path / "grading", course, SETTINGS, "zed", CHAPTER, ["square"])
    with pytest.raises(ValueError, match="ALLOW=sigmoid"):
        save_override(tmp_path / "grading", "ada", CHAPTER, [" "], "sha")
    assert load_overrides(tmp_path / "grading") == {}


# Two-process grading: `--timeout` is also each call's into S (coordinator.release_options), counted
# on S's CPU; a learner's cell there is one call. The override lifts it for the allowed cell.
BUSY = ("import time\n\nend = time.process_time() + 4\nwhile time.process_time() < end:\n    pass\n\n"
        "def square(x):\n    return x * x\n")


def test_two_process_a_cell_past_the_timeout_in_s_loses_its_exercise_until_the_instructor_allows_it(tmp_path):
    course, solution, _ = make_demo_course(tmp_path)
    subs, root = tmp_path / "subs", tmp_path / "grading"
    submit(subs, "cy", with_cell(solution, "square", BUSY))
    settings = grading.GradeSettings(**{**SETTINGS.__dict__, "cell_timeout": 2, "isolation": "two-process"})
    (before,) = grading.grade(subs, root, course, settings)
    assert square_points(before) == 0 and before.student_restarts >= 1, before
    (after,) = grading.regrade(subs, root, course, settings, "cy", CHAPTER, ["square"], by="prof")
    assert (after.status, square_points(after)) == ("graded", 2.0), after
