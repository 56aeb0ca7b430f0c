"""The class report (`make report`) in headless Chromium (`make test-browser`).

A planted class's report, opened as a file, as an instructor opens it: every plot decodes
(``naturalWidth > 0``), every table is there with rows, and the page logs no console error
and asks nothing of the network.
"""

from __future__ import annotations

from autograder.instructor.grading.report import write_report
from tests.instructor.grading.test_report import make_class

TABLES = ("exercises", "mistakes", "chapter_scores", "statuses", "policy", "answers", "timing", "progress")


def test_the_report_renders_offline_with_every_plot_and_table(tmp_path, page):
    make_class(tmp_path)
    index = write_report(tmp_path, small_class=False)
    page.goto(index.as_uri())
    page.wait_for_load_state("load")
    images = page.eval_on_selector_all(
        "img", "images => images.map(i => [i.complete, i.naturalWidth, i.naturalHeight, i.alt])")
    assert len(images) == 4
    for complete, width, height, alt in images:
        assert complete and width > 0 and height > 0, f"a plot did not render: {alt}"
        assert alt, "every plot has alt text"
    for table in TABLES:
        rows = page.locator(f"table#{table} tbody tr").count()
        assert rows > 0, f"the {table} table is missing or empty"
    assert page.locator("#instructors-only").inner_text().startswith("This report is the instructor's")
    assert not page.watched.problems, page.watched.problems
