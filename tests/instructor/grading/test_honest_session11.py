"""Honest outsiders' solutions of chapters 4 to 6 that draw from a random generator (session 11),
graded end to end through the real worker (two-process): every one must get full marks, with no
restart of S, no advice and no note of the grader's in the outputs. The solutions are in
honest_session11.py."""

from __future__ import annotations

import json

import nbformat
import pytest

from .honest_session11 import VARIANTS

NOTE_MARK = "is IPython syntax, and grading runs plain Python"  # student_cells.NOTE


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    """chapter -> its grading release, built once a module."""
    from autograder.instructor.grading.coordinator import build_releases
    from tests.chapters import COURSE

    from .test_redteam_two_process import OPTIONS

    built: dict[str, dict] = {}

    def release_of(chapter: str) -> dict:
        if chapter not in built:
            base = tmp_path_factory.mktemp(f"honest11_{chapter}")
            built[chapter] = build_releases(base / "build", [chapter], COURSE.solutions,
                                            dict(OPTIONS))[chapter].to_dict()
        return built[chapter]

    return release_of


def notebook_of(variant: str):
    from tests.chapters import read, source_path, student_path

    from .test_redteam_two_process import add_after, answer

    chapter, base, helpers, answers, trailing = VARIANTS[variant]
    nb = read(source_path(chapter) if base == "source" else student_path(chapter))
    for grade_id, source in answers.items():
        nb = answer(nb, grade_id, source)
    for helper in reversed(helpers):
        nb = add_after(nb, "setup", helper)
    nb.cells.extend(nbformat.v4.new_code_cell(source) for source in trailing)
    return chapter, nb


def graded(variant: str, releases) -> tuple[dict, dict]:
    from autograder.instructor.grading.worker import grade_task

    chapter, nb = notebook_of(variant)
    task = {"student": "outsider", "chapter": chapter, "notebook": nbformat.writes(nb).encode()}
    result = grade_task(task, releases(chapter))
    return result, result["record"]


def assert_full_marks(result: dict, record: dict) -> None:
    failed = {name: (t["score"], t["points"], t["message"])
              for name, t in record["tests"].items() if t["score"] < t["points"]}
    assert record["status"] == "graded" and failed == {}, (record.get("reason"), failed)
    assert record["student_restarts"] == 0, record
    assert record["advice"] == [], record["advice"]
    cells = nbformat.reads(result["notebook"], as_version=4).cells
    errors = [(index, o.get("ename"), o.get("evalue")) for index, cell in enumerate(cells)
              for o in cell.get("outputs", []) if o.output_type == "error"]
    assert errors == [], errors
    notes = [index for index, cell in enumerate(cells) if NOTE_MARK in json.dumps(cell.get("outputs", []))]
    assert notes == [], notes


@pytest.mark.slow
@pytest.mark.two_process_suite
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_an_honest_outsiders_rng_solutions_get_full_marks(variant, releases):
    result, record = graded(variant, releases)
    assert_full_marks(result, record)
