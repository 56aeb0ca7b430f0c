"""Reading a chapter's structure from its notebooks: exercises, test cells, points.

Shared by the pipeline tests; the conventions are those of docs/AUTHORING.md.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from autograder.instructor.course import Course

COURSE = Course(Path(__file__).resolve().parents[1])
SOLUTIONS, CHAPTERS = COURSE.solutions, COURSE.chapters


def chapter_ids() -> list[str]:
    return COURSE.chapter_ids()

SOLUTION_REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
HIDDEN_REGION = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def chapter_params() -> list:
    """One pytest param per chapter, each in its own xdist group (one worker per chapter)."""
    return [pytest.param(c, marks=pytest.mark.xdist_group(c), id=c) for c in chapter_ids()]


def source_path(chapter: str) -> Path:
    return SOLUTIONS / chapter / f"{chapter}.ipynb"


def student_path(chapter: str) -> Path:
    return CHAPTERS / chapter / f"{chapter}.ipynb"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


@dataclass
class Chapter:
    exercises: list[str]  # solution (autograded answer) cell ids, in order
    tests: dict[str, float]  # test cell id -> points
    answers: list[str]  # written-answer cell ids

    def tests_of(self, exercise: str) -> list[str]:
        return [t for t in self.tests if t.split("__")[0] == exercise]

    @property
    def max_code_score(self) -> float:
        return float(sum(self.tests.values()))


def structure(nb) -> Chapter:
    exercises, tests, answers = [], {}, []
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if not meta:
            continue
        if meta.get("solution") and meta.get("grade"):
            answers.append(meta["grade_id"])
        elif meta.get("solution") and cell.cell_type == "code":
            exercises.append(meta["grade_id"])
        elif meta.get("grade"):
            tests[meta["grade_id"]] = float(meta.get("points", 0))
    return Chapter(exercises, tests, answers)


def _python(source: str) -> str:
    """The cell's Python: IPython's magic and shell lines blanked."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def defined_names(source: str) -> set[str]:
    """Top-level functions and classes a cell defines."""
    tree = ast.parse(_python(source))
    return {node.name for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)}


def used_names(source: str) -> set[str]:
    """Names a cell reads (strings and comments do not count); IPython magics are skipped."""
    return {node.id for node in ast.walk(ast.parse(_python(source))) if isinstance(node, ast.Name)}


def is_independent(nb, exercise: str) -> bool:
    """Whether no cell of ``nb`` but the exercise's own tests uses the names its cell defines (breaking
    it costs exactly its own points)."""
    cells = {nbgrader_meta(c).get("grade_id"): c for c in nb.cells if nbgrader_meta(c)}
    chapter = structure(nb)
    names = defined_names(cells[exercise].source)
    own = {exercise, *chapter.tests_of(exercise)}
    used_elsewhere = any(
        names & (used_names(cell.source) | defined_names(cell.source))
        for cell in nb.cells
        if cell.cell_type == "code" and nbgrader_meta(cell).get("grade_id") not in own
    )
    return bool(names) and not used_elsewhere and bool(chapter.tests_of(exercise))


def independent_exercise(nb) -> str:
    """An exercise whose names no other cell uses or defines, except its own tests (breaking it costs
    exactly its own points). The last such exercise is chosen."""
    candidates = [exercise for exercise in structure(nb).exercises if is_independent(nb, exercise)]
    if not candidates:
        raise AssertionError("no exercise is independent of the others; see docs/AUTHORING.md")
    return candidates[-1]


# -- the corpus of honest implementations (tests/fixtures/corpus/, its README) ----------------------

CORPUS = Path(__file__).resolve().parent / "fixtures" / "corpus"
CORPUS_MARKER = re.compile(r"^# %% (id=(?P<id>\w+)|added after=(?P<after>\w+))\s*$", re.M)


# The solutions' translated builds (`make execute-editions`): the same code and cell ids, the prose in
# the edition's language and its metadata's "language" set, as a learner of that edition submits.
EDITIONS = Path(__file__).resolve().parent / "fixtures" / "editions"


def learner_notebook(path: Path, edition: str = "") -> nbformat.NotebookNode:
    """The chapter's solution with a corpus file's answers: ``# %% id=<grade_id>`` replaces that
    answer cell, ``# %% added after=<grade_id>`` adds a cell of the learner's own after it. With
    ``edition`` ("zh"), the solution of that edition: the learner of the Chinese edition."""
    import copy

    chapter = path.parent.name
    base = EDITIONS / edition / chapter / f"{chapter}.ipynb" if edition else source_path(chapter)
    nb = copy.deepcopy(read(base))
    text = path.read_text()
    marks = list(CORPUS_MARKER.finditer(text))
    assert marks, f"{path}: no `# %% id=...` sections"
    for mark, following in zip(marks, [*marks[1:], None]):
        body = text[mark.end():following.start() if following else len(text)].strip("\n") + "\n"
        ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
        target = mark["id"] or mark["after"]
        assert target in ids, f"{path}: no cell {target!r} in the chapter"
        if mark["id"]:
            nb.cells[ids.index(target)].source = body
        else:
            nb.cells.insert(ids.index(target) + 1, nbformat.v4.new_code_cell(body))
    return nb
