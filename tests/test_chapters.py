"""Every chapter, through the real pipeline: conventions, release, leaks, nbgrader validate and autograde.

- chapters/ is exactly what solutions/ generates (byte for byte);
- student versions hold no solution code, no hidden test and no written answer;
- real nbgrader autograde through `make grade`'s path, two-process (the default): the solution
  scores full marks with no cell in error, the untouched student version zero, and one honest
  learner of the corpus (another style than the solution's) with one exercise left undone loses
  exactly that exercise's points.
"""

from __future__ import annotations

import ast
import re

import nbformat
import pytest

from autograder.instructor.authoring.release import stale_files
from autograder.instructor.grading import coordinator as grading
from autograder.instructor.grading.records import Record
from autograder.instructor.grading.worker import default_isolation
from tests.chapters import (
    CHAPTERS,
    CORPUS,
    COURSE,
    EDITIONS,
    HIDDEN_REGION,
    SOLUTION_REGION,
    chapter_ids,
    chapter_params,
    independent_exercise,
    is_independent,
    learner_notebook,
    nbgrader_meta,
    read,
    source_path,
    structure,
    student_path,
)

pytestmark = pytest.mark.slow  # executes whole notebooks with nbgrader


def test_there_are_six_chapters_in_order():
    assert [c[:2] for c in chapter_ids()] == ["01", "02", "03", "04", "05", "06"], chapter_ids()


def test_chapters_folder_is_exactly_what_solutions_generate():
    problems = stale_files(COURSE, editions=True)
    assert not problems, "\n".join(problems) + "\nRun `make release` and commit chapters/."


@pytest.mark.parametrize("chapter", chapter_params())
def test_notebook_follows_the_course_conventions(chapter):
    nb = read(source_path(chapter))
    info = structure(nb)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), (
        "a chapter opens with a Markdown title and its promise"
    )
    setup = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") == "setup"]
    assert setup and nbgrader_meta(setup[0]).get("locked"), "a locked `setup` imports cell"
    assert info.exercises, "no exercises"
    assert len(info.answers) >= 2, "two or three written questions (answer cells) per chapter"
    for exercise in info.exercises:
        assert info.tests_of(exercise), f"exercise {exercise!r} has no test cell"
    for test_id, points in info.tests.items():
        assert test_id.split("__")[0] in info.exercises, (
            f"test cell {test_id!r} is not named <exercise>__<what> after an exercise"
        )
        assert points > 0, f"test cell {test_id!r} is worth no points"
    cells = {nbgrader_meta(c).get("grade_id"): c for c in nb.cells if nbgrader_meta(c)}
    for test_id in info.tests:
        body = ast.parse(cells[test_id].source).body
        last = body[-1] if body else None
        assert isinstance(last, ast.With), (
            f"{test_id}: a test cell ends in one `with exercise(...):` block (a trailing value "
            "would be read by nbgrader as partial credit)"
        )
        call = last.items[0].context_expr
        assert (isinstance(call, ast.Call) and getattr(call.func, "id", "") == "exercise"
                and call.args and call.args[0].value == test_id.split("__")[0]), (
            f"{test_id}: the block must be `with exercise({test_id.split('__')[0]!r}):`"
        )
    for cell in nb.cells:
        if cell.cell_type == "code" and "BEGIN SOLUTION" in cell.source:
            assert nbgrader_meta(cell).get("solution"), "solution region outside a solution cell"
    *_, progress_cell, check_cell = [c for c in nb.cells if c.cell_type == "code"]
    listed = ast.literal_eval(progress_cell.source.split("show_progress(", 1)[1].rsplit(")", 1)[0])
    assert list(listed) == info.exercises, (
        "the last code cell but one is show_progress([...]) listing every exercise, in order"
    )
    assert check_cell.source.strip() == "check_my_work()" and nbgrader_meta(check_cell).get("locked"), (
        "the last code cell is the locked `check_my_work()` (the self-check button)"
    )


@pytest.mark.parametrize("chapter", chapter_params())
def test_student_version_holds_no_solution_and_no_hidden_test(chapter):
    source = read(source_path(chapter))
    student = read(student_path(chapter))
    student_text = "\n".join(cell.source for cell in student.cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in student_text, f"{marker} left in the student version"
    outside = "\n".join(
        HIDDEN_REGION.sub("", SOLUTION_REGION.sub("", cell.source)) for cell in source.cells
        if not (nbgrader_meta(cell).get("solution") and cell.cell_type == "markdown")
    )
    secret_lines = set()
    for cell in source.cells:
        regions = SOLUTION_REGION.findall(cell.source) + HIDDEN_REGION.findall(cell.source)
        if nbgrader_meta(cell).get("solution") and cell.cell_type == "markdown":
            regions.append(cell.source)
        for region in regions:
            for line in region.splitlines():
                line = line.strip()
                # Short or generic lines (`return out`) may appear elsewhere legitimately.
                if len(line) > 15 and not line.startswith("#") and line not in outside:
                    secret_lines.add(line)
    assert secret_lines, "found no solution code to look for"
    leaked = sorted(line for line in secret_lines if line in student_text)
    assert not leaked, f"solution or hidden-test lines in the student version: {leaked[:5]}"
    for cell in student.cells:
        assert not cell.get("outputs"), "student versions carry no outputs"


# Corpus styles that are slow under load (tests/instructor/grading/test_corpus.py's UNSTABLE): not used here.
SLOW_STYLES = {"06_whats_next": {"cs231n_loops", "keras_dispatch"}}


def learner_with_one_exercise_undone(chapter: str, exercise: str,
                                     edition: str = "") -> tuple[str, nbformat.NotebookNode]:
    """``(style, notebook)``: the first corpus learner of the chapter (tests/fixtures/corpus/, honest
    answers in another style than the solution's) for whom ``exercise`` is independent, with that
    exercise's cell back to the student's stub. So `make test` grades one corpus notebook a chapter:
    every other exercise in that style must earn full marks (the whole corpus: `make test-two-process`).
    With ``edition`` ("zh"), that learner works in the Chinese edition (its prose, stub and metadata)."""
    student = CHAPTERS / edition / chapter / f"{chapter}.ipynb" if edition else student_path(chapter)
    stub = next(c for c in read(student).cells if nbgrader_meta(c).get("grade_id") == exercise)

    def undone(style: str, learner: nbformat.NotebookNode) -> tuple[str, nbformat.NotebookNode]:
        for cell in learner.cells:
            if nbgrader_meta(cell).get("grade_id") == exercise:
                cell.source = stub.source
        return style, learner

    if default_isolation() == "kernel":  # (test_chapters_one_kernel.py)
        # One-kernel grading's wall is the code policy, which refuses honest styles (imports such as
        # operator, a helper from another cell: issue #18, why two-process is the default). That
        # path grades the edition's own solution, which the policy accepts (test_policy.py).
        own = EDITIONS / edition / chapter / f"{chapter}.ipynb" if edition else source_path(chapter)
        return undone("the solution", read(own))
    for path in sorted((CORPUS / chapter).glob("*.py")):
        learner = learner_notebook(path, edition)
        if path.stem in SLOW_STYLES.get(chapter, ()) or not is_independent(learner, exercise):
            continue
        return undone(path.stem, learner)
    raise AssertionError(f"no corpus learner of {chapter} leaves {exercise!r} independent: add one")


@pytest.mark.parametrize("chapter", chapter_params())
def test_autograde_full_marks_zero_marks_and_exactly_one_exercise_lost(chapter, tmp_path):
    info = structure(read(source_path(chapter)))
    exercise = independent_exercise(read(source_path(chapter)))
    submissions = tmp_path / "submitted"
    for student, nb in {
        "solution": read(source_path(chapter)),
        "untouched": read(student_path(chapter)),
        # a learner of the Chinese edition: it must grade as the English would (issue #23)
        "broken": learner_with_one_exercise_undone(chapter, exercise, "zh")[1],
    }.items():
        (submissions / student / chapter).mkdir(parents=True)
        nbformat.write(nb, str(submissions / student / chapter / f"{chapter}.ipynb"))
    records = {r.student: r for r in grading.grade(
        submissions, tmp_path / "course", COURSE,
        grading.GradeSettings(workers=0, feedback=False, progress=False))}
    full = info.max_code_score
    solution, untouched, broken = records["solution"], records["untouched"], records["broken"]
    assert solution.max_code_score == full
    assert (solution.status, solution.code_score, failed(solution), solution.policy) == (
        "graded", full, [], []), f"the solution must score full marks: {solution}"
    assert solution.isolation == default_isolation(), "make grade's default"
    assert solution.student_restarts == 0, f"S never ran past a limit or crashed: {solution}"
    graded_path = tmp_path / "course" / "autograded" / "solution" / chapter / f"{chapter}.ipynb"
    graded = nbformat.read(str(graded_path), as_version=4)
    errors = [(index, output.get("ename"), str(output.get("evalue"))[:200])
              for index, cell in enumerate(graded.cells) if cell.cell_type == "code"
              for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    assert errors == [], f"cells of the solution failed at grading (a demo in S that needs T?): {errors}"
    assert untouched.code_score == 0, f"the untouched student version must score zero: {untouched}"
    lost = sum(info.tests[t] for t in info.tests_of(exercise))
    style = learner_with_one_exercise_undone(chapter, exercise)[0]
    assert sorted(failed(broken)) == sorted(info.tests_of(exercise)), (
        f"the corpus learner {style!r} of the Chinese edition without {exercise!r} should fail exactly "
        f"its tests {info.tests_of(exercise)}, failed {failed(broken)}: "
        f"{[broken.tests[t]['message'][:300] for t in failed(broken)]}"
    )
    assert broken.code_score == full - lost, broken
    # ... and is told why in Chinese (the grader follows the submission's language)
    untold = [t for t in failed(broken) if not re.search(r"[\u4e00-\u9fff]", broken.tests[t]["message"])]
    assert not untold, [broken.tests[t]["message"][:300] for t in untold]


def failed(record: Record) -> list[str]:
    return [name for name, test in record.tests.items() if test["score"] < test["points"]]
