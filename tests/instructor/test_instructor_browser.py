"""The instructor's day in a real browser: roster, grade, score a written answer in the formgrader,
export, return feedback; then re-grade and find the answer still graded.

Playwright drives Debian's chromium (installed by .ci/run); skipped where either is missing.
A tiny chapter (tests/fixtures/00_demo.py) keeps the grading fast; the path is the real one.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import nbformat
import pytest

from autograder.instructor import grade as grading
from autograder.instructor.export import export
from autograder.instructor.handback import hand_back
from autograder.instructor.notebooks import py_to_notebook
from autograder.instructor.opengradebook import open_gradebook
from autograder.instructor.roster import main as roster_main

from .formgrader_server import Formgrader

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("instructor-browser")]

CHROMIUM = Path("/usr/lib/chromium/chromium")
FIXTURE = Path(__file__).parents[1] / "fixtures" / "00_demo.py"
CHAPTER = "00_demo"


def submit(nb, folder: Path, student: str) -> None:
    path = folder / student / CHAPTER / f"{CHAPTER}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def edited(nb, grade_id: str, old: str, new: str):
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    assert old in cell.source
    cell.source = cell.source.replace(old, new)
    return nb


def answer_grade(root: Path, student: str):
    with open_gradebook(root) as gradebook:
        grade = gradebook.find_grade("q_why", CHAPTER, CHAPTER, student)
        return grade.manual_score, bool(grade.needs_manual_grade)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.is_file():
        pytest.skip(f"no chromium at {CHROMIUM} (.ci/run installs Debian's)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-background-networking",
                  "--no-first-run"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def day(tmp_path_factory, browser):
    """Roster, grade three submissions, score ada's written answer in the formgrader."""
    base = tmp_path_factory.mktemp("instructor")
    solution = py_to_notebook(FIXTURE.read_text())
    submit(solution, base, "solutions")  # base/solutions/00_demo/00_demo.ipynb
    subs = base / "submissions"
    submit(solution, subs, "ada")  # complete
    submit(edited(solution, "square", "return x**2", "return x * 2"), subs, "bob")  # one bug
    submit(edited(solution, "square", "return x**2", "raise NotImplementedError()"), subs, "cy")
    root = base / "grading"
    roster = base / "students.csv"
    roster.write_text("id,first_name,last_name,email\nada,Ada,Lovelace,ada@example.org\n"
                      "bob,Bob,Smith,\ncy,Cy,Young,\ndee,Dee,Jones,\n")
    assert roster_main([str(roster), "--out", str(root)], out=lambda *_: None) == 0
    outcomes = grading.grade(subs, root, cell_timeout=10, notebook_timeout=300,
                             solutions=base / "solutions")
    assert {o.student: o.code_score for o in outcomes} == {"ada": 3, "bob": 1, "cy": 1}
    assert answer_grade(root, "ada") == (None, True)

    seen = {"requests": [], "errors": []}
    with Formgrader(root, base / "formgrade.log") as server:
        context = browser.new_context()  # one context: the token's login cookie is shared
        page = context.new_page()
        page.on("request", lambda request: seen["requests"].append(request.url))
        page.on("pageerror", lambda error: seen["errors"].append(str(error)))
        # The clicks docs/INSTRUCTOR.md describes.
        page.goto(server.url("/"))
        page.get_by_role("link", name=CHAPTER).first.click()  # Manual Grading -> the chapter
        page.wait_for_url("**/formgrader/gradebook/00_demo")
        page.get_by_role("link", name=CHAPTER).first.click()  # -> its notebook
        page.wait_for_url("**/formgrader/gradebook/00_demo/00_demo")
        page.get_by_role("link", name="Submission #3").wait_for()  # the table is filled by a request
        page.get_by_role("button", name="Show All Names").click()
        page.get_by_role("link", name="Lovelace, Ada").click()
        page.wait_for_url("**/formgrader/submissions/**")
        seen["mathjax"] = page.evaluate("window.MathJax && !window.MathJax.stub ? 'loaded' : 'missing'")
        box = page.locator("input.score#q_why")
        box.fill("1")
        box.press("Tab")  # the formgrader saves a score when its box loses focus
        deadline = time.monotonic() + 20
        while answer_grade(root, "ada") != (1.0, False) and time.monotonic() < deadline:
            time.sleep(0.25)
        submission_url = page.url
        page.close()
        # Without any MathJax (the package missing), the page still works: no JS error.
        page = context.new_page()
        page.on("pageerror", lambda error: seen["errors_without_mathjax"].append(str(error)))
        seen["errors_without_mathjax"] = []
        page.route(lambda url: "MathJax.js" in url, lambda route: route.abort())
        page.goto(submission_url)
        page.wait_for_load_state("networkidle")
        seen["stub"] = page.evaluate("Boolean(window.MathJax && window.MathJax.stub)")
        context.close()
    return {"root": root, "subs": subs, "solutions": base / "solutions", **seen}


def test_the_score_typed_in_the_formgrader_is_in_the_gradebook(day):
    assert answer_grade(day["root"], "ada") == (1.0, False)
    assert day["errors"] == [], "no JavaScript error (MathJax is defined)"
    assert day["mathjax"] == "loaded"
    assert day["stub"], "without MathJax, the stand-in is defined (the maths stays LaTeX)"
    assert day["errors_without_mathjax"] == [], "and the page has no JavaScript error"
    outside = [url for url in day["requests"] if not url.startswith("http://127.0.0.1")]
    assert outside == [] or all(url == "about:blank" for url in outside), \
        f"the formgrader works offline; it asked for {outside}"


def test_export_counts_the_written_score(day):
    rows = {row.student: row for row in export(day["root"], out=lambda *_: None)}
    assert (rows["ada"].written, rows["ada"].score) == ("1", 4)
    assert rows["bob"].written == "to grade" and rows["dee"].status == "missing"
    with open(day["root"] / "grades.csv", newline="") as handle:
        grades = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert float(grades["ada"]["score"]) == 4.0
    assert grades["ada"]["first_name"] == "Ada"


def test_release_feedback_returns_adas_page_with_her_written_score(day):
    result = hand_back(day["root"], out=lambda *_: None)
    assert result.returned == [("ada", CHAPTER)]
    page = (day["root"] / "return" / "ada" / f"{CHAPTER}.html").read_text()
    assert "Score: 4.0 / 4.0" in page, "the page was regenerated after the manual grade"
    assert {student for student, _, _ in result.held_back} == {"bob", "cy"}


@pytest.mark.xfail(reason="re-grading keeps an unchanged answer's manual grade: the lead's "
                          "gradebook.py (issue 15, item 1); today's nbgrader autograde flags it again",
                   raises=AssertionError, strict=False)
def test_a_regrade_leaves_the_scored_answer_graded(day):
    grading.grade(day["subs"], day["root"], cell_timeout=10, notebook_timeout=300,
                  solutions=day["solutions"], feedback=False)
    assert answer_grade(day["root"], "ada") == (1.0, False)
