"""T's side of two-process grading: what the bridge lets S bind (autograder/instructor/grading/proxy.py).
The bridge at work against a student process: test_student_process.py and test_two_process.py."""

from __future__ import annotations

from autograder.instructor.grading.proxy import Bridge
from autograder.instructor.grading.student_cells import instructor_names

from .templates import two_process_template as template


def test_bindable_keeps_instructor_names_and_values_t_rebound():
    bridge = object.__new__(Bridge)
    _, protected = instructor_names(template())
    bridge.protected, bridge.namespace, bridge.s_bound = frozenset(protected), {}, {}
    assert bridge.bindable("sigmoid") and not bridge.bindable("check_same_distribution")
    assert not bridge.bindable("In") and not bridge.bindable("_private") and not bridge.bindable("len")
    mine = object()
    bridge.namespace["demo"] = bridge.s_bound["demo"] = mine
    assert bridge.bindable("demo"), "S rebinds the value it bound itself"
    bridge.namespace["demo"] = object()  # an instructor's cell (a plain one) rebound it in T
    assert not bridge.bindable("demo")


def test_imported_by_knows_what_an_import_bound():
    import fractions
    import statistics

    from autograder.instructor.grading.proxy import imported_by

    assert imported_by(fractions.Fraction, "from fractions import Fraction")
    assert imported_by(statistics, "import statistics as stats")
    assert not imported_by(statistics, "import fractions"), "T rebound the name since"
    assert not imported_by(3, "import fractions") and not imported_by(None, "")


def test_a_learners_error_shows_the_frames_of_their_cell_without_s_own():
    from autograder.instructor.grading.protocol import rebuild_error
    from autograder.instructor.grading.proxy import student_frames

    trace = ('Traceback (most recent call last):\n'
             '  File "/tmp/s/lib/student_process.py", line 194, in serve_exec\n'
             '    exec(code, self.namespace)\n'
             '  File "<cell 6>", line 4, in <module>\n'
             '    helper(2)\n'
             '  File "/tmp/s/lib/protocol.py", line 700, in __call__\n'
             '    return self._endpoint.request("call", self)\n'
             '  File "<cell 6>", line 2, in helper\n'
             '    return undefined_name + x\n'
             '           ^^^^^^^^^^^^^^\n'
             "NameError: name 'undefined_name' is not defined")
    error = rebuild_error({"type": "NameError", "message": "name 'undefined_name' is not defined",
                           "traceback": trace})
    assert type(error) is NameError
    assert student_frames(error) == [
        "Traceback (most recent call last):", '  File "<cell 6>", line 4, in <module>', "    helper(2)",
        '  File "<cell 6>", line 2, in helper', "    return undefined_name + x", "           ^^^^^^^^^^^^^^",
        "NameError: name 'undefined_name' is not defined"]
    assert student_frames(rebuild_error({"type": "StudentTimeout", "message": "ran past 30 s"})) is None
    # a deep trace (a RecursionError) arrives without its first lines: its last frames still show
    deep = rebuild_error({"type": "RecursionError", "message": "maximum recursion depth exceeded",
                          "traceback": 'ne 2, in f\n    return f(x)\n' + trace.split("\n", 3)[3]})
    assert student_frames(deep)[:3] == ["Traceback (most recent call last):", "  ...",
                                        '  File "<cell 6>", line 4, in <module>']


def test_ts_floating_point_settings_reach_each_call_in_s():
    """A test's ``no_numpy_warnings`` (RuntimeWarning as an error) and ``np.errstate`` in T hold for
    the student's code it calls in S: T sends them with every message (``Bridge.extras_out``), S
    applies them around the call (``Student.call_context``), and ignores settings it does not know."""
    import types
    import warnings

    import numpy as np
    import pytest

    from autograder.instructor.grading.proxy import runtime_warnings_are_errors
    from autograder.instructor.grading.student_process import Student

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert runtime_warnings_are_errors()
        warnings.simplefilter("ignore")
        assert not runtime_warnings_are_errors(), "the newest filter decides"
    settings = {"fp": {"errstate": {"divide": "raise", "over": "evil", "bogus": "raise"},
                       "warnings_error": True}}
    with Student.call_context(types.SimpleNamespace(_warning=print), settings):
        with pytest.raises(FloatingPointError):
            np.ones(1) / 0.0
        assert np.geterr()["over"] != "evil"
        with pytest.raises(RuntimeWarning):
            warnings.warn("overflow", RuntimeWarning, stacklevel=2)
    before = np.geterr()
    with Student.call_context(types.SimpleNamespace(_warning=print), {"fp": "not a dict"}):
        assert np.geterr() == before
