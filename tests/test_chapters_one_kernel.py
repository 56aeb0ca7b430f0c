"""The pipeline test of every chapter (tests/test_chapters.py), through the one-kernel worker.

Two-process grading is the default (issue #18), so `make test` grades every chapter that way; the
one-kernel path (``BACKPROP_LAB_ISOLATION=kernel``, the code policy as its wall) is still there and
still proved here, with the red teams and the honest corpus, by `make test-two-process`.
"""

from __future__ import annotations

import pytest

from tests import test_chapters
from tests.chapters import chapter_params

pytestmark = [pytest.mark.slow, pytest.mark.two_process_suite]


@pytest.mark.parametrize("chapter", chapter_params())
def test_autograde_one_kernel(chapter, tmp_path, monkeypatch):
    monkeypatch.setenv("BACKPROP_LAB_ISOLATION", "kernel")
    test_chapters.test_autograde_full_marks_zero_marks_and_exactly_one_exercise_lost(chapter, tmp_path)
