"""Which exercises pass: recorded by the test cells, shown at the end of a chapter.

Every test cell of a chapter runs inside ``with exercise("name"):``. The block
records whether its checks passed, re-raises any failure (so that nbgrader and
the learner both see it), and turns a stub's bare ``NotImplementedError`` into a
message that names the exercise. Because the cell ends in a ``with`` statement,
it never ends in a value, which nbgrader would read as partial credit.

    with exercise("sigmoid"):
        check_close(sigmoid(np.array([0.0])), np.array([0.5]), name="sigmoid(0)")

    show_progress(["sigmoid", "relu", ...])   # last cell of the chapter
"""

from __future__ import annotations

import hashlib
import html
import linecache
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["exercise", "show_progress", "results", "ExerciseResult"]


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


def _calling_cell() -> str:
    """Identify the test cell running ``with exercise(...)`` by its source text: IPython
    names every run of a cell differently, but the (locked) source stays the same."""
    frame = sys._getframe(3)  # _calling_cell <- exercise <- contextmanager.__enter__ <- cell
    filename = frame.f_code.co_filename
    source = "".join(linecache.getlines(filename))
    return hashlib.sha1(source.encode()).hexdigest() if source else f"{filename}:{frame.f_lineno}"


def _record(name: str, cell: str, result: ExerciseResult) -> None:
    _results.setdefault(name, {})[cell] = result


@contextmanager
def exercise(name: str) -> Iterator[None]:
    """Run one exercise's checks, record pass/fail, re-raise failures."""
    start = time.perf_counter()
    cell = _calling_cell()
    try:
        yield
    except NotImplementedError as error:
        _record(name, cell, ExerciseResult(name, False, "not implemented yet",
                                           time.perf_counter() - start))
        if str(error):
            raise
        raise NotImplementedError(
            f"Exercise '{name}' is not implemented yet: replace the "
            "`raise NotImplementedError()` under `# YOUR CODE HERE` in its cell, run that "
            "cell, then run this one again."
        ) from None
    except BaseException as error:
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        _record(name, cell, ExerciseResult(name, False, f"{type(error).__name__}: {first_line}",
                                           time.perf_counter() - start))
        raise
    else:
        _record(name, cell, ExerciseResult(name, True, "", time.perf_counter() - start))


def progress_table(names: Sequence[str]) -> list[tuple[str, str, str]]:
    """``(name, status, detail)`` rows: status is 'passed', 'failed' or 'not run'."""
    rows = []
    recorded = results()
    for name in names:
        result = recorded.get(name)
        if result is None:
            rows.append((name, "not run", "run its test cell"))
        elif result.passed:
            rows.append((name, "passed", ""))
        else:
            rows.append((name, "failed", result.message))
    return rows


def show_progress(names: Sequence[str]) -> None:
    """Display a table of this chapter's exercises and whether their checks pass."""
    rows = progress_table(names)
    passed = sum(status == "passed" for _, status, _ in rows)
    try:
        from IPython.display import HTML, display
    except ImportError:  # plain Python: print instead
        print(f"{passed}/{len(rows)} exercises pass")
        for name, status, detail in rows:
            print(f"  {status:8} {name:28} {detail}")
        return
    marks = {"passed": ("&#10004;", "#1a7f37"), "failed": ("&#10008;", "#cf222e"),
             "not run": ("&middot;", "#6e7781")}
    body = "".join(
        f"<tr><td style='color:{marks[status][1]};text-align:center'>{marks[status][0]}</td>"
        f"<td style='text-align:left'><code>{html.escape(name)}</code></td>"
        f"<td style='text-align:left'>{status}</td>"
        f"<td style='text-align:left'>{html.escape(detail)}</td></tr>"
        for name, status, detail in rows
    )
    width = 100 * passed // max(1, len(rows))
    display(HTML(
        f"<div><b>{passed} of {len(rows)} exercises pass</b>"
        f"<div style='background:#eee;width:300px;height:10px;margin:4px 0'>"
        f"<div style='background:#1a7f37;width:{width}%;height:10px'></div></div>"
        f"<table><tr><th></th><th>exercise</th><th>status</th><th>detail</th></tr>{body}"
        "</table></div>"
    ))
