"""Feedback pages: escaped, capped, never hidden-test code, honest about manual grading.

One pass per batch, in the coordinator (no process per student). Each page is the
autograded notebook rendered by nbconvert's HTML exporter, after three changes:

- every test cell becomes a one-line verdict (points, passed or failed, and the
  check's message): no test code at all, hidden or visible, and no traceback;
- a written answer shows its score once an instructor has graded it, and
  "not graded yet" before (never a 0 that nobody gave);
- a header says what the page is: scores, the status and its reason, and any
  cell the code policy stopped.

Student outputs were already reduced to text and images, and the student's
markdown HTML-escaped, by the worker; every value this module writes into the
page is escaped here. (nbconvert's ``sanitize_html`` was tried: it escapes the
page's own markup too.) A page over
``PAGE_CAP_BYTES`` is rendered again without outputs, saying so.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import nbformat

from autograder.instructor.config import COURSE_ID
from autograder.instructor.grading.worker import is_answer, is_test, nbgrader_meta

PAGE_CAP_BYTES = 4_000_000


def manual_grades(root: Path, student: str, chapter: str) -> dict[str, tuple[float | None, bool]]:
    """grade_id -> (manual score, still needs grading), from the gradebook (read only)."""
    from nbgrader.api import Gradebook, MissingEntry

    from autograder.instructor.grading.gradebook import gradebook_url

    with Gradebook(gradebook_url(root), COURSE_ID) as gradebook:
        try:
            submission = gradebook.find_submission(chapter, student)
        except MissingEntry:
            return {}
        return {g.name: (g.manual_score, bool(g.needs_manual_grade))
                for nb in submission.notebooks for g in nb.grades}


def verdict_cell(cell: nbformat.NotebookNode, test: dict[str, Any]) -> nbformat.NotebookNode:
    grade_id = nbgrader_meta(cell)["grade_id"]
    passed = test["score"] >= test["points"]
    mark = "passed" if passed else "failed"
    text = f"**Test `{grade_id}`: {mark}, {test['score']:g} / {test['points']:g} points.**"
    if not passed and test.get("message"):
        text += "\n\n<pre>" + html.escape(test["message"][:2000]) + "</pre>"
    return nbformat.v4.new_markdown_cell(text)


def header(record: dict[str, Any], written: str) -> nbformat.NotebookNode:
    tests = record["tests"].values()
    lines = [f"# Feedback: {html.escape(record['chapter'])}",
             f"Student: `{html.escape(record['student'])}`  ",
             f"Tests: **{sum(t['score'] for t in tests):g} / {sum(t['points'] for t in tests):g}** points  ",
             f"Written answers: {written}"]
    if record["status"] != "graded":
        lines.append(f"\n**Not graded normally ({record['status']}):** {html.escape(record['reason'])}")
    if record.get("policy"):
        lines.append("\n**Code the grader did not run** (graded as unanswered):")
        lines += [f"- `{html.escape(v['cell'])}`, line {v['line']}: {html.escape(v['construct'])}: "
                  f"{html.escape(v['message'])}" for v in record["policy"]]
    return nbformat.v4.new_markdown_cell("\n".join(lines))


def page_notebook(record: dict[str, Any], nb: nbformat.NotebookNode | None,
                  grades: dict[str, tuple[float | None, bool]]) -> nbformat.NotebookNode:
    out = nbformat.v4.new_notebook()
    answers = record["answers"]
    pending = [a for a in answers if grades.get(a, (None, True))[1] or grades.get(a, (None,))[0] is None]
    total = sum(a["points"] for a in answers.values())
    if not answers:
        written = "none in this chapter"
    elif pending:
        written = f"{len(pending)} of {len(answers)} not graded yet (out of {total:g} points)"
    else:
        written = f"**{sum(grades[a][0] for a in answers):g} / {total:g}** points"
    out.cells.append(header(record, written))
    if nb is None:
        return out
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if is_test(cell):
            out.cells.append(verdict_cell(cell, record["tests"].get(meta["grade_id"],
                                                                   {"score": 0, "points": 0})))
        elif is_answer(cell):
            score, needs = grades.get(meta["grade_id"], (None, True))
            status = ("not graded yet" if needs or score is None
                      else f"{score:g} / {float(meta.get('points', 0)):g} points")
            out.cells.append(nbformat.v4.new_markdown_cell(
                f"*Your answer ({status}):*\n\n" + cell.source))
        else:
            out.cells.append(cell)
    return out


def render(nb: nbformat.NotebookNode) -> str:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter()
    body, _ = exporter.from_notebook_node(nb)
    return body


def render_capped(page_json: str) -> str:
    """A page's HTML, rendered again without code outputs if it is over ``PAGE_CAP_BYTES``.
    Plain data in and out, so that a Dask worker can do it."""
    page = nbformat.reads(page_json, as_version=4)
    text = render(page)
    if len(text.encode()) > PAGE_CAP_BYTES:
        for cell in page.cells:
            if cell.cell_type == "code":
                cell.outputs = []
        page.cells.insert(1, nbformat.v4.new_markdown_cell(
            f"*This page was over {PAGE_CAP_BYTES // 1_000_000} MB, so the outputs of your "
            "code cells were left out.*"))
        text = render(page)
    return text


def write_feedback(root: Path, records: list[dict[str, Any]], mapper=map) -> list[Path]:
    """One page per record, under ``root/feedback/<student>/<chapter>/<chapter>.html``.

    The pages are put together here (they need the gradebook) and rendered by ``mapper``:
    the builtin ``map``, or a Dask client's, to spread the rendering over its workers."""
    pages, targets = [], []
    for record in records:
        student, chapter = record["student"], record["chapter"]
        path = root / "autograded" / student / chapter / f"{chapter}.ipynb"
        nb = (nbformat.read(str(path), as_version=4)
              if record["status"] != "invalid" and path.is_file() else None)
        pages.append(nbformat.writes(page_notebook(record, nb, manual_grades(root, student, chapter))))
        targets.append(root / "feedback" / student / chapter / f"{chapter}.html")
    for target, text in zip(targets, mapper(render_capped, pages)):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return targets
