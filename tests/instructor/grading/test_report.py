"""The class report (issue 21): every number in its CSVs, counted again here from a planted class."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest

from autograder.instructor.grading import report, report_plots
from autograder.instructor.grading.report import main, write_report

# A synthetic class: two chapters, 14 students, mistakes planted where we know them.
TESTS = {"01_demo": {"sigmoid__tests": 2.0, "sigmoid__torch": 1.0, "relu__tests": 1.0, "dense__tests": 2.0},
         "02_more": {"softmax__tests": 3.0, "softmax__torch": 1.0}}
ANSWERS = {"01_demo": ["q_why", "q_how"], "02_more": ["q_stable"]}
STUDENTS = [f"s{i:02d}" for i in range(14)]
# (chapter, student) -> test id -> (fraction of its points, hint code or None, message)
MISTAKES = {
    ("01_demo", "s01"): {"dense__tests": (0, "float32", "dense: 6 of 18 entries differ. float32"),
                         "sigmoid__tests": (0, "overflow", "sigmoid raised a floating-point warning")},
    ("01_demo", "s02"): {"dense__tests": (0, "float32", "dense: 6 of 18 entries differ. float32")},
    ("01_demo", "s03"): {"dense__tests": (0, "float32", "dense: 2 of 18 entries differ. float32")},
    ("01_demo", "s04"): {"dense__tests": (0, "transposed_weight", "ValueError: matmul <b>transposed</b>")},
    ("01_demo", "s05"): {"dense__tests": (0, "transposed_weight", "ValueError: matmul <b>transposed</b>"),
                         "relu__tests": (0, "np_max_vs_maximum", "relu: expected a NumPy array")},
    ("01_demo", "s06"): {"relu__tests": (0, "np_max_vs_maximum", "relu: expected a NumPy array")},
    ("01_demo", "s07"): {"relu__tests": (0, None, "relu: 1 of 5 entries differ")},
    ("01_demo", "s08"): {"sigmoid__tests": (0, "overflow", "sigmoid raised a floating-point warning"),
                         "sigmoid__torch": (0, None, "sigmoid against torch: 3 of 9 entries differ")},
    ("01_demo", "s09"): {"sigmoid__tests": (0.5, "overflow", "sigmoid raised a floating-point warning")},
    ("01_demo", "s10"): {"sigmoid__tests": (0, "overflow", "sigmoid raised a floating-point warning")},
    ("02_more", "s02"): {"softmax__tests": (0, "overflow", "softmax: 2 of 4 entries are not finite")},
    ("02_more", "s03"): {"softmax__torch": (0, "log_zero", "log of 0 gives -inf")},
}
STATUS = {("01_demo", "s11"): "timeout", ("01_demo", "s12"): "invalid", ("02_more", "s05"): "crashed"}
POLICY = {("01_demo", "s13"): ["import os", "call to exec"], ("02_more", "s04"): ["import os"]}
# chapter 2 was handed in by eight students only
HANDED_IN = {"01_demo": STUDENTS, "02_more": STUDENTS[:8]}


def seconds_of(chapter: str, student: str) -> float:
    return round(3.0 + int(student[1:]) * 0.5 + (1.25 if chapter == "02_more" else 0.0), 2)


def answered(chapter: str, student: str, question: str) -> bool:
    return (int(student[1:]) + len(question)) % 3 != 0


def make_class(root: Path) -> None:
    for chapter, students in HANDED_IN.items():
        for student in students:
            status = STATUS.get((chapter, student), "graded")
            planted = MISTAKES.get((chapter, student), {})
            tests = {}
            for grade_id, points in TESTS[chapter].items():
                fraction, hint, message = planted.get(grade_id, (1, None, ""))
                if status != "graded":
                    fraction, hint, message = 0, None, ""
                test = {"points": points, "score": fraction * points, "message": message}
                if hint:
                    test["hint"] = hint
                tests[grade_id] = test
            answers = {q: {"points": 1.0, "text_sha256": "ab" * 32 if answered(chapter, student, q) else ""}
                       for q in ANSWERS[chapter]}
            record = {"student": student, "chapter": chapter, "status": status, "reason": "",
                      "tests": tests, "answers": answers, "seconds": seconds_of(chapter, student),
                      "policy": [{"cell": "relu", "line": 1, "construct": c, "message": "no"}
                                 for c in POLICY.get((chapter, student), [])]}
            path = root / "records" / chapter / f"{student}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(record))


def read_csv(root: Path, name: str) -> list[dict[str, str]]:
    with open(root / "report" / f"{name}.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def planted(tmp_path):
    make_class(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The planted class's full report, written once for the tests that only read it."""
    root = tmp_path_factory.mktemp("class")
    make_class(root)
    write_report(root, small_class=False)
    return root


# -- what the plan says, computed here without the report's code --------------------------------

def planted_score(chapter: str, student: str, grade_id: str) -> float:
    """Fraction of a test's points the plan gives."""
    if STATUS.get((chapter, student), "graded") != "graded":
        return 0.0
    return float(MISTAKES.get((chapter, student), {}).get(grade_id, (1,))[0])


def graded_students(chapter: str) -> list[str]:
    return [s for s in HANDED_IN[chapter] if STATUS.get((chapter, s), "graded") == "graded"]


def test_every_number_of_the_exercise_table(built):
    rows = {(r["chapter"], r["exercise"]): r for r in read_csv(built, "exercises")}
    expected_keys = {(c, t.split("__")[0]) for c, tests in TESTS.items() for t in tests}
    assert set(rows) == expected_keys
    for (chapter, exercise), row in rows.items():
        ids = [t for t in TESTS[chapter] if t.startswith(exercise + "__")]
        students = graded_students(chapter)
        passed = np.array([all(planted_score(chapter, s, t) == 1 for t in ids) for s in students], float)
        own = np.array([sum(planted_score(chapter, s, t) * TESTS[chapter][t] for t in ids) for s in students])
        total = np.array([sum(planted_score(chapter, s, t) * p for t, p in TESTS[chapter].items())
                          for s in students])
        points = sum(TESTS[chapter][t] for t in ids)
        assert float(row["points"]) == points
        assert int(row["students"]) == len(students)
        assert int(row["passed"]) == int(passed.sum())
        assert float(row["pass_rate"]) == pytest.approx(passed.mean(), abs=5e-5)
        assert float(row["mean_score"]) == pytest.approx((own / points).mean(), abs=5e-5)
        rest = total - own
        if passed.std() == 0 or rest.std() == 0:
            assert row["discrimination"] == ""
        else:
            assert float(row["discrimination"]) == pytest.approx(np.corrcoef(passed, rest)[0, 1], abs=5e-5)
        assert row["grader_seconds"] == "", "the records hold no per-test time: nothing invented"
        assert ("hard" in row["flags"]) == (passed.mean() < 0.5)
    order = [(float(r["pass_rate"]), float(r["discrimination"] or -2)) for r in read_csv(built, "exercises")]
    assert order == sorted(order), "hardest first, then the least discriminating"


def test_every_number_of_the_mistakes_table(built):
    expected: dict[tuple[str, str, str], set[str]] = {}
    failing: dict[tuple[str, str, str], int] = {}
    for (chapter, student), tests in MISTAKES.items():
        if STATUS.get((chapter, student), "graded") != "graded":
            continue
        for grade_id, (_, hint, _) in tests.items():
            key = (chapter, grade_id.split("__")[0], hint or "(no code)")
            expected.setdefault(key, set()).add(student)
            failing[key] = failing.get(key, 0) + 1
    rows = read_csv(built, "mistakes")
    assert {(r["chapter"], r["exercise"], r["hint"]): int(r["students"]) for r in rows} == \
        {k: len(v) for k, v in expected.items()}
    assert {(r["chapter"], r["exercise"], r["hint"]): int(r["failing_tests"]) for r in rows} == failing
    by_key = {(r["chapter"], r["exercise"], r["hint"]): r for r in rows}
    assert by_key[("01_demo", "dense", "float32")]["example"] == "dense: 6 of 18 entries differ. float32", \
        "the commonest message of the group"
    assert by_key[("01_demo", "sigmoid", "overflow")]["label"].startswith("an exp()")
    counts = [int(r["students"]) for r in rows]
    assert counts == sorted(counts, reverse=True), "the most frequent first"


def test_every_number_of_the_other_tables(built):
    statuses = {(r["chapter"], r["status"]): int(r["notebooks"]) for r in read_csv(built, "statuses")}
    for chapter, students in HANDED_IN.items():
        for status in ("graded", "invalid", "timeout", "error", "missing", "crashed"):
            assert statuses[(chapter, status)] == sum(STATUS.get((chapter, s), "graded") == status
                                                      for s in students)
    policy = {(r["chapter"], r["rule"]): (int(r["refusals"]), int(r["students"]))
              for r in read_csv(built, "policy")}
    assert policy == {("01_demo", "import os"): (1, 1), ("01_demo", "call to exec"): (1, 1),
                      ("02_more", "import os"): (1, 1)}
    answers = {(r["chapter"], r["question"]): int(r["to_grade"]) for r in read_csv(built, "answers")}
    assert answers == {(c, q): sum(answered(c, s, q) for s in HANDED_IN[c])
                       for c in ANSWERS for q in ANSWERS[c]}
    bins = read_csv(built, "chapter_scores")
    for chapter, students in HANDED_IN.items():
        fractions = [sum(planted_score(chapter, s, t) * p for t, p in TESTS[chapter].items())
                     / sum(TESTS[chapter].values()) for s in students]
        counts, _ = np.histogram(fractions, bins=np.linspace(0, 1, 11))
        assert [int(r["notebooks"]) for r in bins if r["chapter"] == chapter] == list(counts)
    timing = {r["chapter"]: r for r in read_csv(built, "timing")}
    for chapter, students in HANDED_IN.items():
        seconds = [seconds_of(chapter, s) for s in students]
        assert int(timing[chapter]["notebooks"]) == len(students)
        assert float(timing[chapter]["mean_seconds"]) == pytest.approx(np.mean(seconds), abs=5e-3)
        assert float(timing[chapter]["median_seconds"]) == pytest.approx(np.median(seconds), abs=5e-3)
        assert float(timing[chapter]["max_seconds"]) == max(seconds)
    progress = {r["student"]: r for r in read_csv(built, "progress")}
    assert sorted(progress) == STUDENTS
    for chapter, tests in TESTS.items():
        for exercise in {t.split("__")[0] for t in tests}:
            ids = [t for t in tests if t.startswith(exercise + "__")]
            for student in STUDENTS:
                cell = progress[student][f"{chapter[:2]} {exercise}"]
                if student not in HANDED_IN[chapter]:
                    assert cell == ""
                    continue
                want = (sum(planted_score(chapter, student, t) * tests[t] for t in ids)
                        / sum(tests[t] for t in ids))
                assert float(cell) == pytest.approx(want, abs=5e-5)


def test_the_page_holds_the_tables_and_plots_offline_and_says_whose_it_is(built):
    index = built / "report" / "index.html"
    page = index.read_text(encoding="utf-8")
    for table in ("exercises", "mistakes", "chapter_scores", "statuses", "policy", "answers", "timing",
                  "progress"):
        assert f"<table id='{table}'>" in page
    assert page.count("src='data:image/png;base64,") == 4
    assert not re.search(r"(https?:)?//[a-z]", re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)), \
        "no external URL: the page opens offline"
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert "This report is the instructor's" in page
    assert "&lt;b&gt;transposed&lt;/b&gt;" in page and "<b>transposed" not in page, "messages are escaped"
    assert "only each whole notebook's grading time" in page
    assert "s07" in page, "a class of 14: the heatmap names students"


@pytest.mark.slow  # renders the plots again (seconds each)
def test_a_rerun_writes_the_same_bytes_in_seconds(planted):
    import time

    started = time.perf_counter()
    write_report(planted)
    assert time.perf_counter() - started < 30
    first = {p.name: p.read_bytes() for p in (planted / "report").iterdir()}
    stamps = {p.name: p.stat().st_mtime_ns for p in (planted / "report").iterdir()}
    write_report(planted)
    assert {p.name: p.read_bytes() for p in (planted / "report").iterdir()} == first
    assert {p.name: p.stat().st_mtime_ns for p in (planted / "report").iterdir()} == stamps
    assert sorted(first) == sorted(["index.html", "exercises.csv", "mistakes.csv", "chapter_scores.csv",
                                    "statuses.csv", "policy.csv", "answers.csv", "timing.csv",
                                    "progress.csv"])


@pytest.mark.slow  # renders the plots again (seconds each)
def test_a_small_class_names_no_one_and_lists_no_single_students_mistake(tmp_path):
    for student, hint in [("ann", "float32"), ("bob", "float32"), ("cat", "transposed_weight")]:
        record = {"student": student, "chapter": "01_demo", "status": "graded", "seconds": 1.0,
                  "tests": {"dense__tests": {"points": 1.0, "score": 0.0, "hint": hint,
                                             "message": f"dense failed for {student}"},
                            "relu__tests": {"points": 1.0, "score": 1.0, "message": ""}},
                  "answers": {}, "policy": []}
        path = tmp_path / "records" / "01_demo" / f"{student}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record))
    index = write_report(tmp_path)  # 3 students < SMALL_CLASS: small-class mode by itself
    files = [index.read_text()] + [p.read_text() for p in (tmp_path / "report").glob("*.csv")]
    for student in ("ann", "bob", "cat"):
        assert not any(student in text for text in files), f"{student} is named"
    mistakes = read_csv(tmp_path, "mistakes")
    assert [(r["hint"], r["students"], r["example"]) for r in mistakes] == [("float32", "2", "")]
    assert "Small-class mode" in index.read_text()
    write_report(tmp_path, small_class=False)  # the instructor may ask for everything
    assert "cat" in (tmp_path / "report" / "progress.csv").read_text()


@pytest.mark.slow  # renders the plots again (seconds each)
def test_broken_records_cost_only_themselves(planted):
    folder = planted / "records" / "01_demo"
    (folder / "torn.json").write_text('{"student": "torn", "tests": {')
    (folder / "odd.json").write_text(json.dumps({
        "student": "odd", "chapter": "01_demo", "status": "graded", "seconds": "fast",
        "tests": {"relu__tests": {"points": "1", "score": None, "message": 7, "hint": "<img src=x>"}},
        "answers": {"q_why": None}, "policy": ["not a dict"]}))
    index = write_report(planted, small_class=False)
    mistakes = read_csv(planted, "mistakes")
    assert any(r["hint"] == "(no code)" and r["exercise"] == "relu" for r in mistakes), \
        "a forged code is dropped"
    assert "torn" not in index.read_text() and "<img src=x>" not in index.read_text()


@pytest.mark.slow  # renders the plots again (seconds each)
def test_every_plot_is_legible(planted, monkeypatch):
    import matplotlib.text

    seen = []
    original = report_plots._data_uri

    def inspect(figure):
        texts = [t for t in figure.findobj(matplotlib.text.Text) if t.get_text()]
        seen.append(figure)
        assert texts and min(t.get_fontsize() for t in texts) >= 10
        for axes in figure.axes[:1]:
            assert axes.get_xlabel() and axes.get_ylabel() and axes.get_title()
        return original(figure)

    monkeypatch.setattr(report_plots, "_data_uri", inspect)
    write_report(planted)
    assert len(seen) == 4


@pytest.mark.slow  # renders the plots again (seconds each)
def test_the_command_line(planted, tmp_path, capsys):
    assert main(["--out", str(tmp_path / "nowhere")]) == 2
    assert "grade first" in capsys.readouterr().out
    assert main(["--out", str(planted), "--small-class"]) == 0
    assert "index.html" in capsys.readouterr().out
    assert "s07" not in (planted / "report" / "index.html").read_text()


def test_an_empty_grading_folder_gives_an_empty_report(tmp_path):
    (tmp_path / "records").mkdir()
    assert "No records yet" in write_report(tmp_path).read_text()


def test_point_biserial_is_pearsons_r():
    rng = np.random.default_rng(0)
    passed = list(rng.integers(0, 2, 30).astype(float))
    rest = list(rng.normal(size=30))
    assert report.point_biserial(passed, rest) == pytest.approx(np.corrcoef(passed, rest)[0, 1], abs=1e-12)
    assert report.point_biserial([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]) is None


# -- the real path: make grade's coordinator on real notebooks, then its report ------------------

@pytest.mark.slow
@pytest.mark.xdist_group("report-demo")
def test_make_grade_writes_the_report_for_a_graded_demo_class(tmp_path, capsys):
    """Twelve demo-course notebooks with planted mistakes and one broken file, graded by the
    coordinator's command (as `make grade`), which writes the report; its numbers are the plan's."""
    from autograder.instructor.grading import coordinator
    from tests.instructor.demo_course import CHAPTER, make_demo_course, submit, with_cell

    course, solution, untouched = make_demo_course(tmp_path)
    wrong_square = "def square(x):\n    return np.abs(x) * x\n"  # right at 2, wrong sign at -3 (hidden)
    wrong_cube = "def cube(x):\n    return x**2\n"  # half of cube(2): a scale hint
    plan = {f"d{i:02d}": (wrong_square if i < 4 else None, wrong_cube if 2 <= i < 5 else None)
            for i in range(12)}
    plan["d11"] = (None, "stub")  # the untouched cube cell: NotImplementedError
    for student, (square_code, cube_code) in plan.items():
        nb = solution
        if square_code:
            nb = with_cell(nb, "square", square_code)
        if cube_code == "stub":
            cube_stub = next(c for c in untouched.cells
                             if c.metadata.get("nbgrader", {}).get("grade_id") == "cube")
            nb = with_cell(nb, "cube", cube_stub.source)
        elif cube_code:
            nb = with_cell(nb, "cube", cube_code)
        submit(tmp_path / "subs", student, nb)
    broken = tmp_path / "subs" / "zz" / CHAPTER / f"{CHAPTER}.ipynb"
    broken.parent.mkdir(parents=True)
    broken.write_text("{ not a notebook")
    code = coordinator.main([str(tmp_path / "subs"), "--out", str(tmp_path / "grading"), "--course",
                             str(course.root), "--workers", "0", "--no-sandbox", "--no-progress",
                             "--no-feedback", "--timeout", "60"])
    out = capsys.readouterr().out
    assert code == 0, out
    index = tmp_path / "grading" / "report" / "index.html"
    assert f"Class report: {index}" in out
    rows = {r["exercise"]: r for r in read_csv(tmp_path / "grading", "exercises")}
    square_fails = sum(1 for s, c in plan.values() if s)
    cube_fails = sum(1 for s, c in plan.values() if c)
    assert (int(rows["square"]["students"]), int(rows["square"]["passed"])) == (12, 12 - square_fails)
    assert (int(rows["cube"]["students"]), int(rows["cube"]["passed"])) == (12, 12 - cube_fails)
    # the grader's seconds per exercise come from each test cell's timing in the records
    assert all(float(rows[name]["grader_seconds"]) >= 0 for name in ("square", "cube"))
    mistakes = read_csv(tmp_path / "grading", "mistakes")
    assert sum(int(r["students"]) for r in mistakes if r["exercise"] == "square") == square_fails
    assert sum(int(r["students"]) for r in mistakes if r["exercise"] == "cube") == cube_fails
    # the checks' hint codes travel from the grading kernel into the records (worker.score)
    assert {(r["exercise"], r["hint"]) for r in mistakes} == {
        ("square", "sign"), ("cube", "scale_too_small"), ("cube", "not_implemented")}
    for row in mistakes:
        assert "check_close(" not in row["example"] and "HIDDEN" not in row["example"], "never test code"
    statuses = {r["status"]: int(r["notebooks"]) for r in read_csv(tmp_path / "grading", "statuses")}
    assert statuses["graded"] == 12 and statuses["invalid"] == 1
    answers = {r["question"]: int(r["to_grade"]) for r in read_csv(tmp_path / "grading", "answers")}
    # from the gradebook: every graded notebook's answer waits for the formgrader (the invalid one may too)
    assert set(answers) == {"q_why"} and 12 <= answers["q_why"] <= 13, answers
    assert "Counted from the gradebook" in index.read_text()
