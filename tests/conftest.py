"""Shared by every test: the order tests are handed out in.

pytest-xdist (`make test` runs `-n 2 --dist loadgroup`) hands tests to its workers in the order they
were collected. A chapter's grading (`test_chapters.py`: 1 to 2.5 minutes each) collected near the
end would run alone while the other worker sits idle, so the longest tests are collected first
(longest first keeps two workers evenly loaded); every other test keeps its place. But
pytest-xdist 3.8 hands out each xdist_group's tests together, the groups of most tests first (its
--loadscope-reorder, on by default), then the unmarked tests: this order decides only among equals
(the six chapters' groups; the unmarked tests). Measured 2026-12-07, the two workers of `make test`
ended within 10 s of each other.
"""

from __future__ import annotations

import pytest

# From `pytest --durations`: the longest items of `make test`, longest first.
LONGEST_FIRST = (
    "tests/test_chapters.py::test_autograde_full_marks_zero_marks_and_exactly_one_exercise_lost[05",
    "tests/test_chapters.py::test_autograde_full_marks_zero_marks_and_exactly_one_exercise_lost[06",
    "tests/test_chapters.py::test_autograde_",
    "tests/instructor/grading/test_redteam.py::",
    "tests/instructor/grading/test_report.py::test_make_grade_",
    "tests/instructor/grading/test_resume.py::",
    "tests/instructor/grading/test_overrides.py::",
    "tests/instructor/grading/test_batch_boundary.py::",
)


def _rank(item: pytest.Item) -> int:
    return next((rank for rank, prefix in enumerate(LONGEST_FIRST) if item.nodeid.startswith(prefix)),
                len(LONGEST_FIRST))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: the rest keep their order

