"""Honest outsiders' solutions of chapters 4 to 6 that draw from a random generator (session 11),
graded end to end through the real worker (two-process): every one must get full marks, with no
restart of S, no advice and no note of the grader's in the outputs, and no error in any cell. The
solutions are in honest_session11.py.

Found (not the grader's machinery; no points lost): chapter 5's demo cells assert the claims of the
prose on data split by the learner's own ``train_test_split`` (``rng_data``, stratified). Its
docstring fixes neither the order in which the two parts are shuffled nor which end of the
permutation is the test set, and the tests accept any. An honest split that shuffles the training
part first (``ch5_objects``) gets full marks, but its graded notebook shows two ``CheckFailed``
errors, labelled ``StudentCodeError``, in two instructor cells (``train_with_schedule``: "whether the
constant rate reaches the lowest loss ..."; the ``sgd_at_budget`` budget demo: "whether the loss of
batches of 1 rises between 256 and 1024 examples"). The same answer shuffling the test part first
(``ch5_own_everything``) shows none.
"""

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


class DemoCellErrors(AssertionError):
    """Cells of the graded notebook show errors although every test gave full marks."""


def assert_full_marks(result: dict, record: dict) -> None:
    failed = {name: (t["score"], t["points"], t["message"])
              for name, t in record["tests"].items() if t["score"] < t["points"]}
    assert record["status"] == "graded" and failed == {}, (record.get("reason"), failed)
    assert record["student_restarts"] == 0, record
    assert record["advice"] == [], record["advice"]
    cells = nbformat.reads(result["notebook"], as_version=4).cells
    notes = [index for index, cell in enumerate(cells) if NOTE_MARK in json.dumps(cell.get("outputs", []))]
    assert notes == [], notes
    errors = [(index, o.get("ename"), o.get("evalue")) for index, cell in enumerate(cells)
              for o in cell.get("outputs", []) if o.output_type == "error"]
    if errors:
        raise DemoCellErrors(errors)


@pytest.mark.slow
@pytest.mark.two_process_suite
@pytest.mark.parametrize("variant", [
    pytest.param(variant, marks=pytest.mark.xfail(strict=True, raises=DemoCellErrors, reason=(
        "full marks, but chapter 5's demo cells assert their claims on data split by the learner's own "
        "train_test_split: two instructor cells show CheckFailed (as StudentCodeError) for a split that "
        "shuffles the training part first. Told, not hidden: the exercise's hint gives the order the "
        "chapter's numbers come from, and says another order is graded correct but may fail the demos' "
        "checks of the text's claims")))
    if variant == "ch5_objects" else variant for variant in VARIANTS])
def test_an_honest_outsiders_rng_solutions_get_full_marks(variant, releases):
    result, record = graded(variant, releases)
    assert_full_marks(result, record)
