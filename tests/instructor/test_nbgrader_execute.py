"""nbgrader_execute.py: ``nbgrader autograde`` runs notebooks with execute.py's sliced polling too."""

from __future__ import annotations

from nbgrader.preprocessors import Execute

from autograder.instructor.execute import SlicedShellPolling
from autograder.instructor.nbgrader_execute import RobustExecute


def test_robust_execute_is_nbgraders_execute_polling_in_slices():
    assert issubclass(RobustExecute, Execute), "nbgrader's autograde must still find its executor"
    assert RobustExecute._async_poll_for_reply is SlicedShellPolling._async_poll_for_reply, (
        "the sliced polling must come first in the bases, or nbclient's long poll is used")
