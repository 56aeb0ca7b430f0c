"""What IPython does to a cell before it runs: magics, top-level await, line numbers
(autograder/instructor/grading/policy/ipython.py)."""

from __future__ import annotations

from autograder.instructor.grading.policy import MAGIC, check_cell

from .checks import check, facts


def test_top_level_await_is_checked():
    """IPython runs `await` at the top level (autoawait), so such a cell is parsed, not skipped."""
    assert [v.construct for v in check("await print()\nimport os")] == ["import os"]


def test_a_syntax_error_is_not_a_violation():
    assert check("def f(:\n    pass") == []
    assert check('print "hello"') == []  # not a magic: the kernel reports the SyntaxError


def test_line_numbers_survive_ipython_rewriting():
    source = "\n\nx = 1\n%time y = 2\nimport os"
    violations = check_cell(source, facts(1))
    assert [(v.line, v.construct) for v in violations] == [(4, MAGIC), (5, "import os")]
