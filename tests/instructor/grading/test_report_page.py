"""The class report's HTML page: every table in its section, escaped, offline, marked as the instructor's
(autograder/instructor/grading/report_page.py). The page of a planted class: test_report.py."""

from __future__ import annotations

import html

from autograder.instructor.grading.report_page import SECTIONS, page


def _tables(**rows) -> dict:
    return {name: (["chapter", "exercise", "points", "students", "passed", "pass_rate"], rows.get(name, []))
            for name, _, _ in SECTIONS}


def _page(tables: dict, small: bool = False, count: int = 3) -> str:
    return page(tables, {"pass_rates": "data:image/png;base64,AAAA"}, count, 2, small, "the gradebook",
                has_test_seconds=False)


def test_every_section_is_there_and_what_a_student_wrote_is_escaped():
    text = _page(_tables(exercises=[["01_demo", "<b>relu</b>", 1, 2, 1, "0.5"]]))
    for name, title, _ in SECTIONS:
        assert f"<h2 id='section-{name}'>{html.escape(title)}</h2>" in text, name
    assert "<table id='exercises'>" in text and "<p id='mistakes-empty'>Nothing to show.</p>" in text
    assert "&lt;b&gt;relu&lt;/b&gt;" in text and "<b>relu" not in text
    assert "<img src='data:image/png;base64,AAAA' alt='Bar chart: pass rate per exercise'>" in text
    assert "Hardest: 01 &lt;b&gt;relu&lt;/b&gt; (50 % pass)" in text
    assert "<script" not in text and "This report is the instructor's" in text


def test_a_small_class_says_so_and_an_empty_one_says_what_to_run():
    assert "id='small-class'" in _page(_tables(), small=True)
    assert "id='small-class'" not in _page(_tables())
    assert "make grade SUBMISSIONS=" in _page(_tables(), count=0)
