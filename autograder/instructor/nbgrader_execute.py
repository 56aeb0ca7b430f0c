"""nbgrader's ``Execute`` preprocessor with execute.py's sliced polling, for ``nbgrader autograde``
and ``validate`` (config.py).

Its own module because importing ``nbgrader.preprocessors`` loads the nbgrader package (its server
extensions, SQLAlchemy, nbconvert: about 1.5 s of CPU), and execute.py is also what every grading
process and ``make check`` run notebooks with, which need none of that.
"""

from __future__ import annotations

from nbgrader.preprocessors import Execute

from autograder.instructor.execute import SlicedShellPolling


class RobustExecute(SlicedShellPolling, Execute):
    """nbgrader's ``Execute`` preprocessor with sliced polling (autograde and validate)."""
