"""Which exercises pass, and what a learner sees when one does not.

Every test cell of a chapter runs inside ``with exercise("name"):``. The block
records whether its checks passed, re-raises any failure (so that nbgrader and
the learner both see it), and turns a stub's bare ``NotImplementedError`` into a
message that names the exercise. Because the cell ends in a ``with`` statement,
it never ends in a value, which nbgrader would read as partial credit.

    with exercise("sigmoid"):
        check_close(sigmoid(np.array([0.0])), np.array([0.5]), name="sigmoid(0)")

    show_progress(["sigmoid", "relu", ...])   # last cell of the chapter

What the learner sees. IPython prints, for an exception that has a
``_render_traceback_()`` method, only the lines that method returns (the error
is still an error output, so nbgrader still scores the cell as failed). A failing
check (``CheckFailed``, an ``AssertionError``) shows::

    ❌ sigmoid — sigmoid(0): expected 0.5, got 0.7 (...)
       line 2 of this cell: check_close(sigmoid(np.array([0.0])), ...)

and an error raised by the learner's own code (a ``ValueError`` in their
function) shows the message and its frames, minus the frames of this package,
of ``contextlib`` and of IPython. A failing line among the hidden tests is never
shown, only "(a hidden test)".

For the grader, a failing block also publishes a display_data output of type
``CHECK_MIMETYPE`` (``autograder.hints``): ``{"exercise": name, "hint": code or None,
"message": text}``, the code being ``CheckFailed.hint`` (or the code ``exercise`` gives
NumPy's own shape errors), so that mistakes are counted by kind, never by parsing English.
"""

from __future__ import annotations

import hashlib
import html
import inspect
import linecache
import os
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

from .hints import CHECK_MIMETYPE, WEIGHT_LAYOUT
from .i18n import N_, _

__all__ = ["exercise", "show_progress", "results", "ExerciseResult", "CheckFailed"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_HIDDEN_BEGIN, _HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


class CheckFailed(AssertionError):
    """A check's verdict: an ``AssertionError`` (pytest and nbgrader read it as a failure)
    that IPython shows as its message and the test cell's line, without package frames.

    ``hint`` is the code of the mistake (``autograder.hints.HINT_CODES``), or None."""

    def __init__(self, *args: object, hint: str | None = None) -> None:
        super().__init__(*args)
        self.hint = hint

    def _render_traceback_(self) -> list[str]:
        return learner_traceback(self)


# --- What the learner sees -------------------------------------------------------------------


def _hidden_file(filename: str) -> bool:
    """Frames the learner never needs: this package, contextlib, IPython's machinery."""
    if os.path.abspath(filename).startswith(_PACKAGE_DIR):
        return True
    if os.path.basename(filename) == "contextlib.py":
        return True
    for package in ("IPython", "ipykernel"):
        module = sys.modules.get(package)
        location = getattr(module, "__file__", None)
        if location and os.path.abspath(filename).startswith(os.path.dirname(location) + os.sep):
            return True
    return False


def _is_cell(filename: str) -> bool:
    return filename.startswith(("<ipython-input", "<cell")) or "ipykernel_" in filename


def _source_line(filename: str, lineno: int) -> str:
    """The line, or "(a hidden test)" when it lies between nbgrader's hidden-test markers."""
    lines = linecache.getlines(filename)
    if not 0 < lineno <= len(lines):
        return ""
    hidden = False
    for line in lines[:lineno]:
        if _HIDDEN_BEGIN in line:
            hidden = True
        elif _HIDDEN_END in line:
            hidden = False
    return _("(a hidden test)") if hidden else lines[lineno - 1].strip()


def _frames(error: BaseException) -> list[tuple[str, int, str]]:
    """(filename, line, function) of each frame of ``error``'s traceback, outermost first."""
    return [(frame.f_code.co_filename, lineno, frame.f_code.co_name)
            for frame, lineno in traceback.walk_tb(error.__traceback__)]


def _where(filename: str, lineno: int, function: str, cell_file: str | None) -> str:
    if filename == cell_file:
        place = _("line {lineno} of this cell").format(lineno=lineno)
    elif _is_cell(filename):
        place = _("line {lineno} of the cell that defines it").format(lineno=lineno)
    else:
        place = _("{filename}, line {lineno}").format(filename=filename, lineno=lineno)
    if function not in ("<module>", "<lambda>") and filename != cell_file:
        place = _("in {function}, {place}").format(function=function, place=place)
    return f"   {place}: {_source_line(filename, lineno)}"


def learner_traceback(error: BaseException, exercise_name: str | None = None,
                      cell_file: str | None = None) -> list[str]:
    """The lines IPython shows for ``error``: a headline, then the frames worth reading.

    A failure raised by a check, or by the test cell itself (an ``AssertionError``),
    shows only the test cell's line. Any other error shows every frame outside this
    package, contextlib and IPython, so the learner sees where their code broke.
    """
    frames = [f for f in _frames(error) if not _hidden_file(f[0])]
    if cell_file is None and frames:
        cell_file = frames[0][0]
    message = str(error).strip() or type(error).__name__
    if not isinstance(error, AssertionError):
        message = f"{type(error).__name__}: {message}"
    head = f"❌ {exercise_name} — {message}" if exercise_name else f"❌ {message}"
    raised_in_test = isinstance(error, AssertionError) and (
        isinstance(error, CheckFailed) or not frames or frames[-1][0] == cell_file)
    if raised_in_test:
        # From the test cell's last line on: a helper the cell calls (a harness) may follow.
        starts = [i for i, frame in enumerate(frames) if frame[0] == cell_file] or [0]
        return [head] + [_where(*frame, cell_file) for frame in frames[starts[-1]:]]
    return [head] + [_where(*frame, cell_file) for frame in frames]


# --- Recording -------------------------------------------------------------------------------


@dataclass
class ExerciseResult:
    name: str
    passed: bool
    message: str
    seconds: float


# exercise name -> test cell -> its latest result. An exercise passes when every one of
# its test cells passed on its latest run.
_results: dict[str, dict[str, ExerciseResult]] = {}


def results() -> dict[str, ExerciseResult]:
    """What has been recorded in this kernel, by exercise name: the first failing test
    cell of each exercise, or its last passing one."""
    combined = {}
    for name, cells in _results.items():
        failed = [r for r in cells.values() if not r.passed]
        combined[name] = failed[0] if failed else list(cells.values())[-1]
    return combined


def _cell_key(filename: str, lineno: int) -> str:
    """Identify a test cell by its source text: IPython names every run of a cell
    differently, but the (locked) source stays the same."""
    source = "".join(linecache.getlines(filename))
    return hashlib.sha1(source.encode()).hexdigest() if source else f"{filename}:{lineno}"


def _record(name: str, cell: str, result: ExerciseResult) -> None:
    _results.setdefault(name, {})[cell] = result


class exercise:  # noqa: N801 (used as a statement, ``with exercise("sigmoid"):``, like a function)
    """Run one exercise's checks, record pass/fail, re-raise failures.

    A class, not a ``contextlib`` generator: ``__enter__`` is called directly by the
    ``with`` statement, so the test cell is exactly its caller's frame, whatever
    Python's or contextlib's internals, and no contextlib frame enters a traceback.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._cell = ""
        self._cell_file: str | None = None
        self._start = 0.0

    def __enter__(self) -> exercise:
        caller = inspect.currentframe().f_back  # the frame running the ``with`` statement
        self._cell_file = caller.f_code.co_filename
        self._cell = _cell_key(self._cell_file, caller.f_lineno)
        self._start = time.perf_counter()
        return self

    def __exit__(self, error_type: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> bool:
        seconds = time.perf_counter() - self._start
        if error is None:
            _record(self.name, self._cell, ExerciseResult(self.name, True, "", seconds))
            return False
        if isinstance(error, NotImplementedError):
            _record(self.name, self._cell, ExerciseResult(self.name, False, _("not implemented yet"),
                                                          seconds))
            if not str(error):
                stub = NotImplementedError(_(
                    "Exercise '{name}' is not implemented yet: replace the "
                    "`raise NotImplementedError()` under `# YOUR CODE HERE` in its cell, run that "
                    "cell, then run this one again.").format(name=self.name))
                stub._render_traceback_ = lambda: [f"❌ {self.name} — {stub}"]
                _publish(self.name, "not_implemented", str(stub))
                raise stub from None
            _publish(self.name, "not_implemented", str(error))
        else:
            code = getattr(error, "hint", None)
            code = code if isinstance(code, str) else None
            numpy_code, advice = _numpy_shape_hint(error)
            if numpy_code and error.args and isinstance(error.args[0], str):
                # NumPy's words name no mistake: say which, keeping the type and the frames.
                error.args = (error.args[0].rstrip() + ". " + _("Hint: {advice}").format(advice=advice),
                              *error.args[1:])
                code = numpy_code
            first_line = (str(error).strip().splitlines() or [error_type.__name__])[0]
            _record(self.name, self._cell, ExerciseResult(
                self.name, False, f"{error_type.__name__}: {first_line}", seconds))
            _publish(self.name, code, f"{error_type.__name__}: {str(error).strip()}"[:2000])
        if isinstance(error, Exception):
            name, cell_file = self.name, self._cell_file
            error._render_traceback_ = lambda: learner_traceback(error, name, cell_file)
        return False  # re-raise


# --- What the grader reads ------------------------------------------------------------------

# NumPy's words for a matrix product of mismatching shapes (np.matmul / @, then np.dot).
_MATMUL_WORDS = ("mismatch in its core dimension", "not aligned")
MATMUL_HINT = N_("the inner sizes of a matrix product must agree, (N, D) @ (D, M): is an operand "
                 "transposed, or on the wrong side? x @ w, not w @ x; X @ W, not X @ W.T: ")
BROADCAST_HINT = N_("these shapes cannot be combined entry by entry: check which axis a bias, a sum or "
                  "a mean runs along (a bias b of shape (M,) is added to every row of an (N, M) array).")


def _numpy_shape_hint(error: BaseException) -> tuple[str | None, str]:
    """``(code, advice)`` for NumPy's own error on mismatching shapes, else ``(None, "")``."""
    if not isinstance(error, ValueError):
        return None, ""
    text = str(error)
    if any(words in text for words in _MATMUL_WORDS):
        return "transposed_weight", _(MATMUL_HINT) + _(WEIGHT_LAYOUT)
    if "could not be broadcast together" in text:
        return "broadcast", _(BROADCAST_HINT)
    return None, ""


def _publish(name: str, code: str | None, message: str) -> None:
    """Hand the verdict to the grader as data, in a kernel; nothing outside one."""
    try:
        from IPython import get_ipython
        from IPython.display import publish_display_data
    except ImportError:  # plain Python (pytest, a script): no one to publish to
        return
    if get_ipython() is None:
        return
    # An empty text/plain: the learner's notebook shows nothing for it (the error below says it all).
    publish_display_data({CHECK_MIMETYPE: {"exercise": name, "hint": code, "message": message},
                          "text/plain": ""})


# --- The table -------------------------------------------------------------------------------


NOT_CHECKED = N_("not checked in this kernel: run the cells again to check")
# What a kernel that checked nothing yet says: after a restart the saved answers are still in
# the notebook; only the record of which checks ran is gone.
NOTHING_CHECKED = N_("No exercise has been checked in this kernel yet: run the cells again to check "
                   "(Run > Run All Cells). After a kernel restart your saved answers are still in the "
                   "notebook; the kernel only forgot which checks ran.")


# The table's words for each status (the statuses themselves are the code's, never translated).
STATUS_WORDS = {"passed": N_("passed"), "failed": N_("failed"), "not checked": N_("not checked")}


def progress_table(names: Sequence[str]) -> list[tuple[str, str, str]]:
    """``(name, status, detail)`` rows: status is 'passed', 'failed' or 'not checked'."""
    rows = []
    recorded = results()
    for name in names:
        result = recorded.get(name)
        if result is None:
            rows.append((name, "not checked", _(NOT_CHECKED)))
        elif result.passed:
            rows.append((name, "passed", ""))
        else:
            rows.append((name, "failed", result.message))
    return rows


def show_progress(names: Sequence[str]) -> None:
    """Display a table of this chapter's exercises and whether their checks pass."""
    rows = progress_table(names)
    passed = sum(status == "passed" for _, status, _ in rows)
    checked = any(status != "not checked" for _, status, _ in rows)
    headline = (_("{passed} of {count} exercises pass").format(passed=passed, count=len(rows)) if checked
                else _(NOTHING_CHECKED))
    try:
        from IPython.display import HTML, display
    except ImportError:  # plain Python: print instead
        print(_("{passed}/{count} exercises pass").format(passed=passed, count=len(rows)) if checked
              else _(NOTHING_CHECKED))
        for name, status, detail in rows:
            print(f"  {_(STATUS_WORDS[status]):8} {name:28} {detail}")
        return
    marks = {"passed": ("&#10004;", "#1a7f37"), "failed": ("&#10008;", "#cf222e"),
             "not checked": ("&middot;", "#6e7781")}
    body = "".join(
        f"<tr><td style='color:{marks[status][1]};text-align:center'>{marks[status][0]}</td>"
        f"<td style='text-align:left'><code>{html.escape(name)}</code></td>"
        f"<td style='text-align:left'>{html.escape(_(STATUS_WORDS[status]))}</td>"
        f"<td style='text-align:left'>{html.escape(detail)}</td></tr>"
        for name, status, detail in rows
    )
    width = 100 * passed // max(1, len(rows))
    headers = [html.escape(_("exercise")), html.escape(_("status")), html.escape(_("detail"))]
    display(HTML(
        f"<div><b>{html.escape(headline)}</b>"
        f"<div style='background:#eee;width:300px;height:10px;margin:4px 0'>"
        f"<div style='background:#1a7f37;width:{width}%;height:10px'></div></div>"
        f"<table><tr><th></th><th>{headers[0]}</th><th>{headers[1]}</th><th>{headers[2]}</th></tr>{body}"
        "</table></div>"
    ))
