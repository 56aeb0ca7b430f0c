"""The pipeline test of every chapter (tests/test_chapters.py), through the two-process worker.

`make grade`'s real path (coordinator -> Dask -> worker) with BACKPROP_LAB_ISOLATION=two-process:
each chapter's solution earns full marks, the untouched student version zero, and a notebook with
one exercise broken loses exactly that exercise's points.
"""

from __future__ import annotations

import pytest

from tests import test_chapters
from tests.chapters import chapter_params

pytestmark = [pytest.mark.slow, pytest.mark.two_process_suite]


@pytest.mark.parametrize("chapter", chapter_params())
def test_autograde_two_process(chapter, tmp_path, monkeypatch):
    monkeypatch.setenv("BACKPROP_LAB_ISOLATION", "two-process")
    test_chapters.test_autograde_full_marks_zero_marks_and_exactly_one_exercise_lost(chapter, tmp_path)
