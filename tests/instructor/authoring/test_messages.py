"""What a notebook offers for translation, and how a translation goes back into a cell
(autograder/instructor/authoring/messages.py)."""

from __future__ import annotations

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from autograder.instructor.authoring.messages import cell_messages, translate_cell
from tests.chapters import chapter_ids, read, source_path


def test_every_exercise_cell_of_every_chapter_survives_an_identity_translation():
    for chapter in chapter_ids():
        for cell in read(source_path(chapter)).cells:
            messages = cell_messages(cell)
            same = {message.context: message.text for message in messages}
            assert translate_cell(cell, same) == cell.source, f"{chapter} cell {cell.get('id')}"


STUB = '''def f(x):
    """Add one.

    x: a number.
    """
    # why: a comment a learner reads
    # on two lines
    y = x  # inline
    ### BEGIN SOLUTION
    # a solution comment (removed by the release): not offered
    return y + 1
    ### END SOLUTION
'''


def _stub_cell():
    cell = new_code_cell(STUB, id="f")
    cell.metadata["nbgrader"] = {"solution": True, "grade": False, "locked": False, "grade_id": "f",
                                 "schema_version": 3}
    return cell


def test_docstrings_and_comments_outside_the_solution_are_offered_markers_never():
    messages = cell_messages(_stub_cell())
    assert [(m.part, m.text) for m in messages] == [
        ("doc:f", "Add one.\n\nx: a number.\n"),
        ("comment:0", "why: a comment a learner reads\non two lines"),
        ("comment:1", "inline"),
    ]
    assert cell_messages(new_code_cell("# a plain cell's comment", id="p")) == []


def test_a_translated_stub_keeps_its_code_and_layout():
    cell = _stub_cell()
    chinese = ["加一。\n\nx: 一个数。\n", "原因：学习者读的注释", "行内"]
    out = translate_cell(cell, {m.context: t for m, t in zip(cell_messages(cell), chinese)})
    assert out.startswith('def f(x):\n    """加一。\n\n    x: 一个数。\n    """\n'
                          '    # 原因：学习者读的注释\n    y = x  # 行内\n')
    assert "### BEGIN SOLUTION\n    # a solution comment" in out
    namespace: dict = {}
    exec(compile(out, "stub", "exec"), namespace)
    assert namespace["f"](1) == 2 and namespace["f"].__doc__.startswith("加一。")


def test_a_translation_that_breaks_the_docstring_is_refused_with_a_clear_error():
    cell = _stub_cell()
    doc = cell_messages(cell)[0]
    with pytest.raises(ValueError, match="docstring is not a valid string literal"):
        translate_cell(cell, {doc.context: 'oops """ end'})


def test_a_cell_without_an_id_is_refused_with_a_clear_error():
    cell = new_markdown_cell("text")
    del cell["id"]
    with pytest.raises(ValueError, match="no id"):
        cell_messages(cell)
