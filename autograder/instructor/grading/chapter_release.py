"""A chapter's grading release, as plain data: built once here for `make grade` and `make check`.

nbgrader's ``generate_assignment`` (``release.make_course``) writes each chapter's source and
student version under a course folder; from those two notebooks this makes what
``worker.GradingRelease`` needs besides the limits: the grading template (the student version
with every test cell's full source, hidden tests included) and the code-policy facts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat

from autograder.instructor.authoring.release import make_course
from autograder.instructor.cells import is_test, nbgrader_meta


def grading_template(source: nbformat.NotebookNode, release: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student version, with every test cell's full source (hidden tests included)."""
    full = {nbgrader_meta(c)["grade_id"]: c.source for c in source.cells if is_test(c)}
    template = nbformat.from_dict(json.loads(json.dumps(release)))
    for cell in template.cells:
        if is_test(cell):
            cell.source = full[nbgrader_meta(cell)["grade_id"]]
    return template


def chapter_number(chapter: str) -> int:
    return int(chapter.split("_")[0])


def release_fields(root: Path, chapters: list[str], solutions: Path,
                   cell_timeout: int | None = None) -> dict[str, dict[str, Any]]:
    """nbgrader ``generate_assignment`` of ``chapters`` into the course folder ``root`` (its
    gradebook learns each chapter's cells), then per chapter ``{"chapter", "template", "policy"}``:
    the fields of a ``GradingRelease`` that come from the notebooks."""
    # policy is a package whose facts pull in the parser: only where a release is built
    from autograder.instructor.grading.policy import facts_from_source

    options = {} if cell_timeout is None else {"cell_timeout": int(cell_timeout)}
    make_course(root, chapters, solutions, **options)
    fields = {}
    for chapter in chapters:
        source = nbformat.read(str(root / "source" / chapter / f"{chapter}.ipynb"), as_version=4)
        student = nbformat.read(str(root / "release" / chapter / f"{chapter}.ipynb"), as_version=4)
        fields[chapter] = {"chapter": chapter,
                           "template": nbformat.writes(grading_template(source, student)),
                           "policy": facts_from_source(source, chapter_number(chapter)).to_dict()}
    return fields
