"""`make student-release`: dist/student/ holds no solution, hidden test, model answer or instructor tool."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from autograder.instructor.authoring.student_release import build
from autograder.instructor.course import Course

REPO = Path(__file__).resolve().parents[3]
COURSE = Course(REPO)
SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def secret_lines(chapter: str) -> tuple[set[str], set[str]]:
    """(solution lines, hidden-test and model-answer lines) of a chapter that its student version lacks."""
    source = nbformat.read(str(COURSE.solutions / chapter / f"{chapter}.ipynb"), as_version=4)
    # A line any student version or the package shows (a setup line, a visible test) is no secret.
    student = "".join(p.read_text() for p in [*COURSE.chapters.glob("*/*.ipynb"),
                                               *(REPO / "autograder").rglob("*.py")])
    solution, other = set(), set()
    for cell in source.cells:
        meta = cell.metadata.get("nbgrader", {})
        blocks = SOLUTION.findall(cell.source)
        hidden = HIDDEN.findall(cell.source)
        if meta.get("solution") and meta.get("grade") and cell.cell_type == "markdown":
            hidden.append(cell.source)  # a model answer
        for target, texts in ((solution, blocks), (other, hidden)):
            for text in texts:
                target |= {line.strip() for line in text.splitlines()
                           if len(line.strip()) >= 25 and line.strip() not in student}
    return solution, other


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist") / "student"
    build(COURSE, out)
    return out


def test_it_holds_the_chapters_the_package_and_a_readme_but_no_instructor_tools(dist):
    for chapter in COURSE.chapter_ids():
        assert (dist / "chapters" / chapter / f"{chapter}.ipynb").is_file()
    assert (dist / "autograder" / "checks.py").is_file() and (dist / "README.md").is_file()
    assert not (dist / "autograder" / "instructor").exists()
    assert not (dist / "solutions").exists() and not (dist / "tests").exists()
    assert "instructor" not in (dist / "pyproject.toml").read_text().split("exclude")[0]


def test_no_hidden_test_or_model_answer_anywhere_and_no_solution_outside_the_package(dist):
    files = {p: p.read_text(errors="replace") for p in dist.rglob("*") if p.is_file()}
    for chapter in COURSE.chapter_ids():
        solution, secret = secret_lines(chapter)
        for path, text in files.items():
            leaked = [line for line in secret if line in text]
            assert not leaked, f"{path.relative_to(dist)} holds hidden tests or model answers: {leaked[:3]}"
            if path.relative_to(dist).parts[0] == "autograder":
                # The package ships in full, by design (see student_release.py): the course
                # library re-implements earlier chapters, the gradient check central differences.
                continue
            leaked = [line for line in solution if line in text]
            assert not leaked, f"{path.relative_to(dist)} holds solution code: {leaked[:3]}"
    for path, text in files.items():
        if path.relative_to(dist).parts[0] != "autograder":  # the package names the markers
            assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, path
