"""Open the course's nbgrader gradebook (``<course root>/gradebook.db``) from any process.

nbgrader's ``Gradebook`` runs the ``alembic`` command when it creates or checks a
database, and finds it on PATH: under ``make`` the environment's ``bin/`` is there, from a
plain ``python -m ...`` or a test it may not be. This puts it there first.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from autograder.instructor.config import COURSE_ID


def gradebook_url(course_root: str | Path) -> str:
    return f"sqlite:///{Path(course_root).resolve() / 'gradebook.db'}"


def open_gradebook(course_root: str | Path) -> Any:
    """nbgrader's ``Gradebook`` for ``course_root`` (a context manager); created if missing."""
    from nbgrader.api import Gradebook

    bin_dir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if bin_dir not in path.split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + path
    return Gradebook(gradebook_url(course_root), COURSE_ID)
