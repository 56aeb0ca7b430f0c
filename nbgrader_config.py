"""nbgrader configuration of the course: sources in solutions/, student versions in chapters/.

The settings live in autograder/instructor/config.py, shared with the temporary
course folders that `make grade` and the tests build.
"""

from pathlib import Path

from autograder.instructor.config import configure

c = get_config()
configure(c, root=Path(__file__).resolve().parent)
