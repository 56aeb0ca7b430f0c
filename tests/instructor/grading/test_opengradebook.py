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
    monkeypatch.setenv("PATH", "/nonexistent")
    with open_gradebook(tmp_path) as gradebook:
        gradebook.add_student("ada")
        assert [s.id for s in gradebook.students] == ["ada"] and gradebook.course_id == COURSE_ID
    assert os.environ["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    assert (tmp_path / "gradebook.db").is_file()


def test_a_new_gradebook_gets_the_revision_alembic_heads_prints_without_starting_it(tmp_path, monkeypatch):
    """nbgrader asked an `alembic heads` subprocess at every new gradebook (about a second); the grader
    reads the same migration scripts with alembic's API in process (opengradebook.alembic_head)."""
    import sqlite3
    import subprocess

    import nbgrader.api
    from nbgrader.dbutil import _temp_alembic_ini

    with _temp_alembic_ini("sqlite:////nonexistent/gradebook.db") as ini:
        printed = subprocess.run([str(Path(sys.executable).parent / "alembic"), "-c", ini, "heads"],
                                 capture_output=True, text=True, check=True).stdout
    started = []
    monkeypatch.setattr(nbgrader.api.sp, "check_output", lambda *a, **k: started.append(a))
    with open_gradebook(tmp_path):
        pass
    assert started == [], "a new gradebook started alembic"
    with sqlite3.connect(tmp_path / "gradebook.db") as db:
        stamped = db.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    assert stamped == printed.split()[0] and len(stamped) >= 12, (stamped, printed)
