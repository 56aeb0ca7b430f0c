"""Open the course's nbgrader gradebook (``<course root>/gradebook.db``) from any process.

nbgrader's ``Gradebook`` stamps a new database with the newest revision of its schema, which
``nbgrader.api.get_alembic_version`` asks an ``alembic heads`` subprocess for: a Python start, about
a second of every new gradebook (each ``make grade`` makes one to build its releases), and the
``alembic`` command must be on PATH. ``read_alembic_head_in_process`` answers it instead with
alembic's own API (``ScriptDirectory``) from the same migration scripts of nbgrader's, once a
process (0.1 s); a test checks that the answer is the subprocess's. Other nbgrader commands that
run ``alembic`` (``nbgrader db upgrade``) still do, so the environment's ``bin/`` is put on PATH
first too.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any

from autograder.instructor.config import COURSE_ID


@functools.cache
def alembic_head() -> str:
    """The newest revision of nbgrader's gradebook schema: what ``alembic heads`` prints first."""
    import nbgrader
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(Path(nbgrader.__file__).parent / "alembic")).get_current_head()


def read_alembic_head_in_process() -> None:
    """Make nbgrader ask ``alembic_head`` rather than an ``alembic`` subprocess (module docstring)."""
    import nbgrader.api

    nbgrader.api.get_alembic_version = alembic_head


def gradebook_url(course_root: str | Path) -> str:
    return f"sqlite:///{Path(course_root).resolve() / 'gradebook.db'}"


def open_gradebook(course_root: str | Path) -> Any:
    """nbgrader's ``Gradebook`` for ``course_root`` (a context manager); created if missing."""
    from nbgrader.api import Gradebook

    read_alembic_head_in_process()
    bin_dir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if bin_dir not in path.split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + path
    return Gradebook(gradebook_url(course_root), COURSE_ID)
