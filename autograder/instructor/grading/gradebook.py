"""The one writer of the gradebook: records in, scores out, finished manual grades kept.

Only the coordinator (``coordinator.py``) calls this, one record at a time, so SQLite
never sees two writers. For each record:

- each test cell's ``auto_score`` is the record's score;
- a written answer keeps its manual score, and stays graded, when its text is
  the same as when it was scored (the record's ``text_sha256`` against the one
  stored when the instructor last saw it); a changed answer is flagged for
  grading again, with the grader's note saying why in nbgrader's ``auto_comment``, apart
  from the instructor's own comment (``manual_comment``, shown to the student), which is kept;
- a notebook that did not run to the end (invalid, timeout, crash) scores zero
  as an instructor's score with the reason as a comment, so an instructor can
  override it in the formgrader; a later successful run clears that zero;
- an answer the code policy stopped gets an instructor comment with the construct
  and line; the instructor overrides it by scoring that exercise's tests by hand;
- the autograded notebook is written where the formgrader looks for it, and an empty
  ``submitted/<student>/<chapter>/`` folder, by which the formgrader counts submissions.

The grader's own state lives in ``grader_state.json`` beside the gradebook:
``answers`` (chapter -> student -> grade_id -> the SHA-256 of the answer text an
instructor scored) and ``zeroed`` (the grades the grader itself set to zero).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from autograder.instructor.grading.opengradebook import open_gradebook
from autograder.instructor.grading.records import Record

STATE = "grader_state.json"
ZERO_COMMENT = "Scored zero by the grader: "
POLICY_COMMENT = "Not run by the grader (code policy), graded as unanswered: "
CHANGED_COMMENT = "The answer changed since it was graded (it had {score:g} points); grade it again."
OVERRIDE_COMMENT = "Run as written by the instructor's decision ({by}, {at})."


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def _save(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    tmp.replace(path)


def write_record(root: Path, record: Record, notebook: str | None) -> None:
    """Store one graded notebook in the gradebook under ``root`` (an nbgrader course folder)."""
    from sqlalchemy.exc import SAWarning

    student, chapter = record.student, record.chapter
    # The formgrader counts a chapter's submissions by the folders in submitted/ (nbgrader's
    # get_submitted_students): one per submission the gradebook holds, or it shows 0.
    (root / "submitted" / student / chapter).mkdir(parents=True, exist_ok=True)
    if notebook is not None:
        target = root / "autograded" / student / chapter / f"{chapter}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(notebook)
    state_path = root / STATE
    state = _load(state_path)
    pinned = state.setdefault("answers", {}).setdefault(chapter, {}).setdefault(student, {})
    zeroed_before = set(state.setdefault("zeroed", {}).setdefault(chapter, {}).get(student, []))
    zeroed_now: list[str] = []
    ran = record.status == "graded"
    with open_gradebook(root) as gradebook, warnings.catch_warnings():
        # nbgrader warns when it creates a submission whose notebook file is absent.
        warnings.simplefilter("ignore", SAWarning)
        gradebook.update_or_create_student(student)
        submission = gradebook.update_or_create_submission(chapter, student)
        for nb in submission.notebooks:
            for grade in nb.grades:
                if grade.name in zeroed_before:  # the grader's own zero: this run decides afresh
                    grade.manual_score = None
                test = record.tests.get(grade.name)
                answer = record.answers.get(grade.name)
                if test is not None:
                    grade.auto_score = float(test["score"]) if ran else 0.0
                    grade.needs_manual_grade = False
                elif not ran:
                    if grade.manual_score is None:  # an instructor's score is never overwritten
                        grade.manual_score = 0.0
                        zeroed_now.append(grade.name)
                    grade.needs_manual_grade = False
                elif answer is not None:
                    grade.auto_score = None
                    if grade.manual_score is None:
                        grade.needs_manual_grade = True
                    elif answer["text_sha256"] == pinned.get(grade.name):
                        grade.needs_manual_grade = False
                        _auto_comment(nb, grade.name, None)
                    else:
                        _auto_comment(nb, grade.name, CHANGED_COMMENT.format(score=grade.manual_score))
                        grade.needs_manual_grade = True
            stopped = {v["cell"]: v for v in record.policy}
            for comment in nb.comments:
                text = comment.manual_comment or ""
                if not ran and not text:
                    comment.manual_comment = ZERO_COMMENT + record.reason
                elif ran and text.startswith((ZERO_COMMENT, POLICY_COMMENT)):
                    comment.manual_comment = None
                if ran and comment.name in stopped and not comment.manual_comment:
                    v = stopped[comment.name]
                    comment.manual_comment = (f"{POLICY_COMMENT}{v['construct']} on line {v['line']}: "
                                              f"{v['message']} If this is a false alarm: make regrade "
                                              f"STUDENT={student} CHAPTER={chapter} ALLOW={comment.name}"
                                              " runs it as written.")
            for decision in record.overrides:  # the grader's note, beside the instructor's own
                _auto_comment(nb, decision.get("cell", ""), OVERRIDE_COMMENT.format(
                    by=decision.get("by", "?"), at=decision.get("at", "?")))
        gradebook.db.commit()
    for grade_id, answer in record.answers.items():
        if answer["text_sha256"]:
            pinned.setdefault(grade_id, answer["text_sha256"])
    state["zeroed"][chapter][student] = zeroed_now
    _save(state_path, state)


def _auto_comment(nb: Any, name: str, text: str | None) -> None:
    """The grader's note on a cell, in nbgrader's ``auto_comment``: the instructor's own comment
    (``manual_comment``, which reaches the student) is never overwritten. The formgrader shows
    the note in the comment box while the instructor has written none."""
    for comment in nb.comments:
        if comment.name == name:
            comment.auto_comment = text


def remember_graded_answers(root: Path) -> None:
    """Record, for every written answer an instructor has scored, the text it was scored on.

    Called before a re-grade: an answer scored since the last run is pinned to the
    text the instructor saw (the one in the autograded notebook on disk)."""
    import nbformat

    from autograder.instructor.cells import nbgrader_meta, sha256

    state_path = root / STATE
    state = _load(state_path)
    if not (root / "gradebook.db").is_file():
        return
    with open_gradebook(root) as gradebook:
        for assignment in gradebook.assignments:
            for submission in assignment.submissions:
                for nb in submission.notebooks:
                    zeroed = set(state.get("zeroed", {}).get(assignment.name, {})
                                 .get(submission.student.id, []))
                    scored = {g.name for g in nb.grades if g.manual_score is not None
                              and not g.needs_manual_grade and g.auto_score is None
                              and g.name not in zeroed}
                    path = root / "autograded" / submission.student.id / assignment.name / f"{nb.name}.ipynb"
                    if not scored or not path.is_file():
                        continue
                    cells = nbformat.read(str(path), as_version=4).cells
                    texts = {nbgrader_meta(c).get("grade_id"): c.source for c in cells}
                    pinned = (state.setdefault("answers", {}).setdefault(assignment.name, {})
                              .setdefault(submission.student.id, {}))
                    for name in scored:
                        if name in texts:
                            pinned[name] = sha256(texts[name])
    _save(state_path, state)


def backup_before_writing(root: Path) -> None:
    """Keep a timestamped copy of the gradebook (the last 10) before this run writes to it."""
    from autograder.instructor.grading.backup import backup_gradebook

    path = root / "gradebook.db"
    if path.is_file():
        backup_gradebook(path, keep=10)
