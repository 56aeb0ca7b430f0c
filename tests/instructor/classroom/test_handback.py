"""`make release-feedback` returns finished feedback only, and says what it held back (handback.py)."""

from __future__ import annotations

from autograder.instructor.classroom.handback import Standing, hand_back, is_current, shown_score

from ..gradebooks import CHAPTER, autograde, grade_by_hand, make_assignment


def feedback_page(root, student, score, max_score=4.0):
    path = root / "feedback" / student / CHAPTER / f"{CHAPTER}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<html><h4>{CHAPTER} (Score: {score:.1f} / {max_score:.1f})</h4>"
                    f"<p>feedback for {student}</p></html>")
    (root / "autograded" / student / CHAPTER).mkdir(parents=True, exist_ok=True)
    (root / "autograded" / student / CHAPTER / f"{CHAPTER}.ipynb").write_text("{}")
    return path


def test_shown_score_reads_nbgraders_heading():
    assert shown_score("<h4>01_x (Score: 27.5 / 31.0)</h4>") == 27.5
    assert shown_score("<h4>no score here</h4>") is None


def test_both_page_formats_are_checked_against_the_gradebook():
    finished = Standing(score=4.0, written_score=1.0, needs_manual_grade=False)
    assert is_current("<h4>00_demo (Score: 4.0 / 4.0)</h4>", finished)
    assert not is_current("<h4>00_demo (Score: 3.0 / 4.0)</h4>", finished)
    # feedback.py's header, rendered from Markdown
    assert is_current("<p>Written answers: <strong>1 / 1</strong> points</p>", finished)
    assert not is_current("<p>Written answers: <strong>0.5 / 1</strong> points</p>", finished)
    assert not is_current("<p>Written answers: 1 of 1 not graded yet (out of 1 points)</p>", finished)


def test_only_finished_feedback_goes_back(tmp_path):
    root = tmp_path / "grading"
    make_assignment(root)
    for student, passed in (("ada", {}), ("bob", {"square__tests": False}), ("cy", {})):
        autograde(root, student, passed)
    feedback_page(root, "ada", 3.0)  # generated before the written answer was graded
    feedback_page(root, "bob", 1.0)
    grade_by_hand(root, "bob", 0.5)  # bob's page now shows 1.0, the gradebook says 1.5
    grade_by_hand(root, "cy", 1.0)  # cy's notebook could not be graded: no feedback page
    regenerated = []

    def regenerate(course_root, chapter, student):
        regenerated.append(student)
        if student == "cy":  # nothing to build a page from
            return False
        feedback_page(course_root, student, 1.5)
        return True

    said = []
    result = hand_back(root, regenerate=regenerate, out=said.append)
    assert result.returned == [("bob", CHAPTER)]
    assert regenerated == ["bob", "cy"], "a stale or missing page of a finished submission is rebuilt"
    assert "Score: 1.5 / 4.0" in (root / "return" / "bob" / f"{CHAPTER}.html").read_text()
    held = {student: why for student, _, why in result.held_back}
    assert set(held) == {"ada", "cy"}
    assert "not graded yet" in held["ada"] and "no feedback page" in held["cy"]
    assert not (root / "return" / "ada").exists(), "no zero for an ungraded answer goes out"
    assert "held back 2:" in said

    # ada is graded by hand; her old page (3.0, the answer shown as 0) is not sent as it is.
    grade_by_hand(root, "ada", 1.0)
    result = hand_back(root, regenerate=None, out=lambda *_: None)
    assert ("ada", CHAPTER) not in result.returned
    assert "older grades" in {s: why for s, _, why in result.held_back}["ada"]
    assert sorted(p.relative_to(root / "return").as_posix() for p in (root / "return").rglob("*.html")) \
        == [f"bob/{CHAPTER}.html"], "return/ is rebuilt on each run"


def test_nothing_graded_yet(tmp_path):
    said = []
    assert hand_back(tmp_path, out=said.append).returned == []
    assert "run make grade" in said[0]
