"""The grading run's progress bar (autograder/instructor/grading/progress.py)."""

from __future__ import annotations

import io

from autograder.instructor.grading.progress import Progress
from autograder.instructor.grading.records import Record


def test_the_bar_counts_what_was_not_graded_and_draws_its_last_line_once(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    bar = Progress(3)
    bar.update(Record("ada", "01"))
    bar.update(Record("bob", "01", status="timeout"))
    bar.update(Record("cy", "01", status="crashed"))
    bar.close()
    bar.close()  # the coordinator closes it twice on some paths
    text = stream.getvalue()
    assert bar.failures == 2
    assert "not_graded=2" in text and "last=cy/01" in text
    assert text.count("3/3") == 1, text


def test_a_bar_that_is_off_writes_nothing(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    bar = Progress(2, enabled=False)
    bar.update(Record("ada", "01"))
    bar.close()
    assert stream.getvalue() == ""
