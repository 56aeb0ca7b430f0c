"""Opening the course's nbgrader gradebook from any process (autograder/instructor/grading/opengradebook.py).
What the grader writes into it: test_gradebook.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from autograder.instructor.config import COURSE_ID
from autograder.instructor.grading.opengradebook import gradebook_url, open_gradebook


def test_the_gradebook_is_the_course_roots_gradebook_db(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert gradebook_url("course") == f"sqlite:///{tmp_path.resolve() / 'course' / 'gradebook.db'}"


def test_a_gradebook_opens_even_when_alembic_is_not_on_path(tmp_path, monkeypatch):
    import nbgrader.api

    # tests/conftest.py remembers alembic's answer: here it must be asked again, off PATH.
    asked = getattr(nbgrader.api.get_alembic_version, "__wrapped__", nbgrader.api.get_alembic_version)
    monkeypatch.setattr(nbgrader.api, "get_alembic_version", asked)
    monkeypatch.setenv("PATH", "/nonexistent")
    with open_gradebook(tmp_path) as gradebook:
        gradebook.add_student("ada")
        assert [s.id for s in gradebook.students] == ["ada"] and gradebook.course_id == COURSE_ID
    assert os.environ["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    assert (tmp_path / "gradebook.db").is_file()
