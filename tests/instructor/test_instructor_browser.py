"""The instructor's day in a real browser: roster, grade, score a written answer in the formgrader,
export, return feedback; then re-grade and find the answer still graded.

Playwright drives Debian's chromium (installed by .ci/run); skipped where either is missing.
A tiny chapter (tests/fixtures/00_demo.py) keeps the grading fast; the path is the real one.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest

from autograder.instructor.classroom.export import export
from autograder.instructor.classroom.handback import hand_back
from autograder.instructor.classroom.roster import main as roster_main
from autograder.instructor.grading import coordinator as grading
from autograder.instructor.grading.opengradebook import open_gradebook

from .demo_course import CHAPTER, make_demo_course, submit, with_cell
from .formgrader_server import Formgrader

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("instructor-browser")]

CHROMIUM = Path("/usr/lib/chromium/chromium")
OPTIONS = {"cell_timeout": 10, "workers": 0, "progress": False}
# formgrade.js sets these once its Backbone models are fetched and bound to the page's boxes.
FORMGRADER_READY = ("() => window.formgrader && formgrader.loaded && formgrader.grades.loaded"
                    " && formgrader.comments.loaded")
# The first page's grades arrive 2 s late, as on a loaded machine, so a test that types
# before the page is ready fails every time here rather than now and then in CI.
SLOW_GRADES = """
const open = XMLHttpRequest.prototype.open, send = XMLHttpRequest.prototype.send;
XMLHttpRequest.prototype.open = function (method, url, ...rest) {
  this.slow = method === 'GET' && String(url).includes('api/grades');
  return open.call(this, method, url, ...rest);
};
XMLHttpRequest.prototype.send = function (body) {
  if (this.slow) { setTimeout(() => send.call(this, body), 2000); } else { send.call(this, body); }
};
"""


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
    course, solution, untouched = make_demo_course(base)
    subs = base / "submissions"
    submit(subs, "ada", solution)  # complete
    submit(subs, "bob", with_cell(solution, "square", "def square(x):\n    return x * 2\n"))  # a bug
    submit(subs, "cy", untouched)  # handed in as released
    root = base / "grading"
    roster = base / "students.csv"
    roster.write_text("id,first_name,last_name,email\nada,Ada,Lovelace,ada@example.org\n"
                      "bob,Bob,Smith,\ncy,Cy,Young,\ndee,Dee,Jones,\n")
    assert roster_main([str(roster), "--out", str(root)], out=lambda *_: None) == 0
    records = grading.grade(subs, root, course, grading.GradeSettings(**OPTIONS))
    assert {r.student: r.code_score for r in records} == \
        {"ada": 3, "bob": 1, "cy": 0}
    assert answer_grade(root, "ada") == (None, True)

    seen = {"requests": [], "errors": []}
    with Formgrader(root, base / "formgrade.log") as server:
        context = browser.new_context()  # one context: the token's login cookie is shared
        context.set_default_timeout(120_000)  # not Playwright's 30 s: CI's machine may be loaded
        page = context.new_page()
        page.on("request", lambda request: seen["requests"].append(request.url))
        page.on("pageerror", lambda error: seen["errors"].append(str(error)))
        page.add_init_script(SLOW_GRADES)
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
        # Type only once the page has fetched the grades and bound its boxes to them
        # (formgrade.js: GradeUI). A score typed before that fires no save, and the
        # page then overwrites it with the stored value: CI's failure at 2de0154.
        page.wait_for_function(FORMGRADER_READY)
        box = page.locator("input.score#q_why")
        box.fill("1")
        box.press("Tab")  # the formgrader saves a score when its box loses focus
        deadline = time.monotonic() + 180  # a loaded machine
        while answer_grade(root, "ada") != (1.0, False) and time.monotonic() < deadline:
            time.sleep(0.25)
        assert answer_grade(root, "ada") == (1.0, False), "the formgrader did not save the score in 180 s"
        submission_url = page.url
        page.close()
        # Without any MathJax (the package missing), the page still works: no JS error.
        page = context.new_page()
        page.on("pageerror", lambda error: seen["errors_without_mathjax"].append(str(error)))
        seen["errors_without_mathjax"] = []
        page.route(lambda url: "MathJax.js" in url, lambda route: route.abort())
        page.goto(submission_url)
        page.wait_for_load_state("networkidle")
        page.wait_for_function(FORMGRADER_READY)
        # Wait for the page to show the saved score before closing it: the formgrader saves a
        # score box when it loses focus, and a box closed before its value arrived saves "".
        page.wait_for_function("document.querySelector('input.score#q_why')?.value === '1'", timeout=120_000)
        seen["stub"] = page.evaluate("Boolean(window.MathJax && window.MathJax.stub)")
        context.close()
    return {"root": root, "subs": subs, "course": course, "solution": solution, **seen}


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
    assert ("ada", CHAPTER) in result.returned
    page = (day["root"] / "return" / "ada" / f"{CHAPTER}.html").read_text()
    assert "not graded yet" not in page, "the page written before the manual grade was redone"
    assert "<strong>1 / 1</strong>" in page
    assert "bob" in {student for student, _, _ in result.held_back}
    assert not (day["root"] / "return" / "bob").exists()


def test_a_regrade_leaves_the_scored_answer_graded(day):
    # Ada changes her code, not her answer: the notebook is graded again, the answer is not.
    submit(day["subs"], "ada", with_cell(day["solution"], "cube", "def cube(x):\n    return x * x * x\n"))
    records = grading.grade(day["subs"], day["root"], day["course"], grading.GradeSettings(**OPTIONS))
    assert [r.student for r in records if r.student == "ada"] == ["ada"]
    assert answer_grade(day["root"], "ada") == (1.0, False)
    rows = {row.student: row for row in export(day["root"], out=lambda *_: None)}
    assert (rows["ada"].written, rows["ada"].needs_manual_grade) == ("1", False)
