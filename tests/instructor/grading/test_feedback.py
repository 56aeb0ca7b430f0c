"""A student's feedback page: verdicts and refusals escaped, markdown sanitised, no script or image from
the web, a hash that says when a page is unchanged (autograder/instructor/grading/feedback.py).
The page in the submission's language: test_i18n_grading.py; a whole batch's pages: test_batch_boundary.py."""

from __future__ import annotations

import json

import nbformat

from autograder import i18n
from autograder.instructor.grading import feedback
from autograder.instructor.grading.records import Record

RECORD = Record.from_dict({
    "student": "ada", "chapter": "01_demo", "status": "graded", "reason": "",
    "tests": {"f__tests": {"score": 0.0, "points": 2.0, "message": "f: expected <b>1</b>, got 2."}},
    "answers": {}, "policy": [{"cell": "f", "line": 3, "construct": "import <os>", "message": "only numpy"}]})


def _test_cell() -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("assert f(1) == 1")
    cell.metadata["nbgrader"] = {"grade_id": "f__tests", "grade": True, "solution": False, "locked": True,
                                 "points": 2, "schema_version": 3}
    return cell


def test_a_failed_test_shows_its_message_escaped_and_a_refused_construct_its_rule():
    with i18n.language(""):
        verdict = feedback.verdict_cell(_test_cell(), RECORD.tests["f__tests"]).source
        head = feedback.header(RECORD, "none in this chapter").source
    assert verdict.startswith("**Test `f__tests`: failed, 0 / 2 points.**"), verdict
    assert "&lt;b&gt;1&lt;/b&gt;" in verdict and "<b>1" not in verdict
    assert "- `f`, line 3: import &lt;os&gt;: only numpy" in head, head
    assert "Tests: **0 / 2** points" in head


def test_markdown_is_sanitised_and_may_show_only_images_the_page_holds():
    html = feedback.sanitised_markdown("**bold** <script>alert(1)</script> ![a](https://e.org/a.png) "
                                       "![b](data:image/png;base64,AAAA) ![c](local.png)")
    assert "<strong>bold</strong>" in html and "<script" not in html
    assert "e.org" not in html and "data:image" not in html and "local.png" in html, html
    raw = feedback.raw_as_text(nbformat.v4.new_raw_cell("<img src=x onerror=alert(1)>"))
    assert raw.source == "<pre>&lt;img src=x onerror=alert(1)&gt;</pre>"


def test_a_rendered_page_names_the_hash_it_was_rendered_from(tmp_path):
    with i18n.language(""):
        page = feedback.page_notebook(RECORD, nbformat.v4.new_notebook(cells=[_test_cell()]), {})
    page_json = nbformat.writes(page)
    text = feedback.render_capped(page_json)
    (tmp_path / "page.html").write_text(text, encoding="utf-8")
    assert feedback.rendered_sha256(tmp_path / "page.html") == feedback.page_sha256(page_json)
    assert feedback.rendered_sha256(tmp_path / "absent.html") is None
    assert "failed, 0 / 2 points" in text and "<script>alert" not in text


def test_a_code_cell_is_shown_highlighted_and_escaped_whatever_its_metadata_says():
    """The page's template highlights code without nbconvert's second sanitiser (feedback.PAGE_TEMPLATE):
    Pygments escapes every token, and a cell's metadata cannot choose another lexer."""
    code = nbformat.v4.new_code_cell("x = '</div><script>alert(1)</script>'  # <img src=x onerror=alert(2)>")
    code.metadata["magics_language"] = "html"  # would pick Pygments' HTML lexer in nbconvert's template
    code.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="})]
    nb = nbformat.v4.new_notebook(cells=[code], metadata={"language_info": {"name": "python"}})
    page = feedback.render(nb)
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '<span class="n">x</span>' in page, "the code is highlighted as Python"
    assert '<img alt="No description has been provided for this image" src="data:image/png;base64,' in page
    assert page.count('tabindex="0"') == 2, "the input and the output can be focused, as nbconvert does"


def _pages(tmp_path, students: list[str]) -> list[Record]:
    records = []
    for student in students:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"answer of {student}")])
        path = tmp_path / "autograded" / student / "01_demo" / "01_demo.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, str(path))
        records.append(Record(student, "01_demo"))
    return records


def test_a_page_whose_rendering_fails_says_so_and_the_others_are_written(tmp_path, monkeypatch):
    """Whatever a notebook makes the renderer raise costs that student's page only, never the pass."""
    real = feedback.render

    def breaks_on_bob(page):
        if "answer of bob" in json.dumps(page):
            raise RecursionError("a student's notebook too deep for the renderer")
        return real(page)

    monkeypatch.setattr(feedback, "render", breaks_on_bob)
    with i18n.language(""):
        written = feedback.write_feedback(tmp_path, _pages(tmp_path, ["ann", "bob", "cyd"]))
    pages = {path.parts[-3]: path.read_text(encoding="utf-8") for path in written}
    assert sorted(pages) == ["ann", "bob", "cyd"]
    assert "answer of ann" in pages["ann"] and "answer of cyd" in pages["cyd"]
    assert "could not be made (RecursionError)" in pages["bob"] and "grade is kept" in pages["bob"]
    bob = next(path for path in written if path.parts[-3] == "bob")
    assert feedback.rendered_sha256(bob) is None, "no hash line: the next make grade renders it again"


def test_the_page_that_says_so_is_in_the_students_language_and_escapes_its_reason():
    page = json.dumps({"metadata": {"language": "zh_CN"}, "cells": []})
    text = feedback.unrendered_page(page, "<script>x</script>")
    assert "反馈页面未能生成" in text and "<script>" not in text and "&lt;script&gt;" in text
    assert "could not be made" in feedback.unrendered_page("not json at all", "why")
    assert "could not be made" in feedback.unrendered_page('{"metadata": ["odd"]}', "why")


def test_pages_rendered_one_after_another_by_one_process_are_the_pages_a_fresh_process_renders():
    """A worker keeps one exporter and what it rendered of the course's cells (feedback.page_exporter,
    CACHED_CELLS): the second page reuses the first's shared cells, and is byte for byte the page it
    would be alone."""
    shared = [nbformat.v4.new_markdown_cell("# Chapter\n\nThe course's $x^2$ text."),
              nbformat.v4.new_code_cell("import numpy as np\nx = np.ones(3)")]

    def page(answer: str) -> str:
        nb = nbformat.v4.new_notebook(cells=[*shared, nbformat.v4.new_code_cell(answer), _test_cell()])
        with i18n.language(""):
            return nbformat.writes(feedback.page_notebook(RECORD, nb, {}))

    first, second = page("def f(x):\n    return x"), page("def f(x):\n    return '<b>' * x")
    feedback.render_capped(first)
    highlight = feedback.page_exporter().environment.filters["highlight_code"]
    before = (feedback.sanitised_markdown.cache_info().hits, highlight.cache_info().hits)
    after_first = feedback.render_capped(second)
    after = (feedback.sanitised_markdown.cache_info().hits, highlight.cache_info().hits)
    assert after[0] > before[0] and after[1] > before[1], "the shared cells were rendered again"
    feedback.page_exporter.cache_clear()
    feedback.sanitised_markdown.cache_clear()
    assert feedback.render_capped(second) == after_first
    assert "&lt;b&gt;" in after_first and "'<b>'" not in after_first
    # a source longer than the course's cells (a student's) is rendered each time, never kept
    held = feedback.sanitised_markdown.cache_info().currsize
    long = "word " * feedback.CACHED_CELL_CHARS
    assert feedback.sanitised_markdown(long) == feedback.sanitised_markdown(long)
    assert feedback.sanitised_markdown.cache_info().currsize == held


def test_every_cell_of_the_course_is_short_enough_for_a_worker_to_keep_its_rendering():
    from tests.chapters import chapter_ids, read, source_path

    longest = max((len(cell.source), chapter) for chapter in chapter_ids()
                  for cell in read(source_path(chapter)).cells)
    assert longest[0] <= feedback.CACHED_CELL_CHARS, f"raise CACHED_CELL_CHARS: {longest}"
