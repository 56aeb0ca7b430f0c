"""Red team: `make grade`'s real path on a batch of honest, broken and cheating submissions.

One batch (a tiny two-exercise chapter, tests/fixtures/00_demo.py) holds a control,
the classic bad submissions, and one submission per attack class of issue #9. It
proves, for the whole path (find -> policy -> sandbox -> records -> gradebook ->
feedback -> CSVs):

- every cheat earns no more than the same notebook without the cheat;
- nothing outside the kernel's scratch folder changes: the course folder, the
  environment, the submissions and the other students' records;
- no process outlives the batch; the batch completes and writes its CSVs;
- no feedback page holds a hidden-test line, live script, or an unbounded output.

It tests the one-kernel path (``BACKPROP_LAB_ISOLATION=kernel``, where the code policy decides
what runs); the default two-process path has its own red team (test_redteam_two_process.py).
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.instructor.authoring.notebooks import py_to_notebook
from autograder.instructor.course import Course
from autograder.instructor.grading import coordinator as grading
from tests.instructor.demo_course import make_demo_course

# one worker builds the graded course once
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("redteam")]

FIXTURE = Path(__file__).parents[2] / "fixtures" / "00_demo.py"
CHAPTER = "00_demo"
REPO = Path(__file__).resolve().parents[3]
# The same limits for the batch and the rerun (other limits make another release: all is regraded).
OPTIONS = {"cell_timeout": 10, "notebook_timeout": 120,
           "limits": {"memory_bytes": 2 * 2**30, "output_bytes": 2_000_000}}
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


@pytest.fixture(scope="module", autouse=True)
def one_kernel_path():
    """Every grade of this module takes the one-kernel path (make grade's default is two-process)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BACKPROP_LAB_ISOLATION", "kernel")
        yield


def answer(nb, grade_id: str, source: str):
    nb = copy.deepcopy(nb)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    cell.source = source
    return nb


def add_cell(nb, source: str, at: int | None = None, cell_type: str = "code", **metadata):
    """A cell added by the student, by default right after the setup cell (before every test)."""
    nb = copy.deepcopy(nb)
    if at is None:
        at = 1 + next(i for i, c in enumerate(nb.cells)
                      if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    cell = (nbformat.v4.new_code_cell(source) if cell_type == "code"
            else nbformat.v4.new_markdown_cell(source))
    cell.metadata.update(metadata)
    nb.cells.insert(at, cell)
    return nb


SQUARE = "def square(x):\n    return x**2\n"
WRONG_SQUARE = "def square(x):\n    return x * 2\n"
CUBE = "def cube(x):\n    return x**3\n"


def submissions_of(solution, untouched) -> dict[str, object]:
    """student -> notebook (or a callable that makes the folder itself)."""
    wrong = answer(solution, "square", WRONG_SQUARE)
    setup_index = next(i for i, c in enumerate(untouched.cells)
                       if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    tampered = answer(wrong, "square__tests", "pass")
    deleted = answer(solution, "square", "def square(x):\n    return abs(x) * x\n")
    deleted.cells = [c for c in deleted.cells
                     if c.metadata.get("nbgrader", {}).get("grade_id") != "square__tests"]
    return {
        # control and classic bad submissions: (notebook, expected tests score, status)
        "correct": (solution, 3, "graded"),
        "untouched": (untouched, 0, "graded"),
        "wrong": (wrong, 1, "graded"),
        "loop": (answer(solution, "cube", "def cube(x):\n    while True:\n        pass\n"), 0, "timeout"),
        "tampered": (tampered, 1, "graded"),
        "deleted_test": (deleted, 1, "graded"),
        "forged_cell": (add_cell(untouched, "pass", nbgrader={
            "grade": True, "solution": False, "locked": True, "grade_id": "free", "points": 100,
            "schema_version": 3}), 0, "graded"),
        # attacks on the verdict: each must score what the notebook scores without it
        "cheat_exercise": (add_cell(untouched, "import contextlib\n"
                                    "exercise = lambda name: contextlib.suppress(BaseException)\n"),
                           0, "graded"),
        "cheat_above_setup": (add_cell(untouched, "import autograder\nautograder.exercise = None\n",
                                       at=setup_index), 0, "graded"),
        "cheat_transformer": (add_cell(untouched, "get_ipython().input_transformers_post.append("
                                       "lambda lines: ['pass\\n'])\n"), 0, "graded"),
        "cheat_hook": (add_cell(untouched, "get_ipython().events.register('pre_run_cell', "
                                "lambda info: None)\n"), 0, "graded"),
        "cheat_numpy": (add_cell(wrong, "np.isclose = lambda *a, **k: True\n"
                                 "np.allclose = lambda *a, **k: True\n"), 1, "graded"),
        "cheat_exec": (add_cell(untouched, "exec('def square(x):\\n    return x**2')\n"), 0, "graded"),
        "cheat_reference": (answer(untouched, "square", "def square(x):\n"
                                   "    from autograder.reference import activations\n"
                                   "    return x**2\n"), 0, "graded"),
        "cheat_module": (add_cell(answer(untouched, "square", SQUARE.replace("x**2", "x * 2")),
                                  "square.__module__ = '__main__'\n"), 0, "graded"),
        "cheat_history": (answer(untouched, "square", "def square(x):\n    print(In)\n"
                                 "    return x * 2\n"), 0, "graded"),
        "cheat_read": (add_cell(untouched, f"print(open({str(REPO / 'solutions')!r}).read())\n"
                                "np.fromfile('gradebook.db')\n"), 0, "graded"),
        "cheat_shell": (add_cell(untouched, "!kill -9 $PPID\n%run /etc/passwd\n"), 0, "graded"),
        "cheat_format": (add_cell(untouched, "'{0.__globals__}'.format(square)\n"), 0, "graded"),
        # limits: memory, output flood, live HTML
        "memory_hog": (answer(solution, "square", "def square(x):\n    big = np.ones(2**31 // 8 * 3)\n"
                              "    return x**2 + 0 * big[:1]\n"), 1, "graded"),
        "flood": (answer(solution, "square", "def square(x):\n    print('x' * 30_000_000)\n"
                         "    return x**2\n"), 3, "graded"),
        "script": (add_cell(add_cell(solution, "print('<script>alert(1)</script>')\n"),
                            "<script>alert(2)</script>", cell_type="markdown"), 3, "graded"),
    }


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    base = tmp_path_factory.mktemp("redteam")
    course, solution, untouched = make_demo_course(base)
    subs = base / "submissions"
    expected = {}
    for student, (nb, score, status) in submissions_of(solution, untouched).items():
        folder = subs / student / CHAPTER
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{CHAPTER}.ipynb"))
        expected[student] = (score, status)
    (subs / "correct" / CHAPTER / "autograder.py").write_text("raise SystemExit('shadowed!')\n")
    broken = subs / "broken_json" / CHAPTER / f"{CHAPTER}.ipynb"
    broken.parent.mkdir(parents=True)
    broken.write_text(nbformat.writes(solution)[:400])
    expected["broken_json"] = (0, "invalid")
    (subs / "empty").mkdir()
    expected["empty"] = (0, "missing")
    star = subs / "*" / CHAPTER
    star.mkdir(parents=True)
    nbformat.write(solution, str(star / f"{CHAPTER}.ipynb"))  # not an id: reported, never graded
    link = subs / "linked" / CHAPTER
    link.mkdir(parents=True)
    (link / f"{CHAPTER}.ipynb").symlink_to(course.solutions / CHAPTER / f"{CHAPTER}.ipynb")
    expected["linked"] = (0, "invalid")
    (subs / "stray" / "99_unknown").mkdir(parents=True)

    marker = base / "tmp"
    marker.mkdir()
    watched = {"course": course.root, "submissions": subs, "environment": Path(sys.prefix),
               "package": REPO / "autograder"}
    before = {name: tree_digest(path) for name, path in watched.items()}
    old_tmp = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(marker)  # every sandbox run dir, so every kernel's command line
    try:
        records = grading.grade(subs, base / "grading", course,
                                grading.GradeSettings(workers=2, progress=False, **OPTIONS))
        from autograder.instructor.classroom.export import export

        export(base / "grading", out=lambda *_: None)
    finally:
        if old_tmp is None:
            os.environ.pop("TMPDIR")
        else:
            os.environ["TMPDIR"] = old_tmp
    after = {name: tree_digest(path) for name, path in watched.items()}
    return {r.student: r for r in records}, expected, base, before, after, marker, solution


def tree_digest(root: Path) -> dict[str, str]:
    """Every file and link under ``root``: content hash for small files, size and mtime for the rest."""
    digest = {}
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts or path.is_dir() and not path.is_symlink():
            continue
        stat = path.lstat()
        if path.is_symlink():
            digest[str(path)] = "link:" + os.readlink(path)
        elif stat.st_size < 200_000 and root.name != Path(sys.prefix).name:
            digest[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            digest[str(path)] = f"{stat.st_size}:{stat.st_mtime_ns}"
    return digest


def test_every_submission_gets_its_honest_score_and_status(batch):
    records, expected, *_ = batch
    got = {name: (r.code_score, r.status) for name, r in records.items()}
    assert got == expected
    assert all(r.max_code_score == 3 for r in records.values()), "a forged test cell added points"
    assert {r.isolation for r in records.values() if r.status == "graded"} == {"kernel"}


def test_each_violation_is_recorded_with_its_line_and_construct(batch):
    records, *_ = batch
    for name, record in records.items():
        if name.startswith("cheat_"):
            assert record.policy, f"{name}: the policy recorded nothing"
            assert all(v["line"] >= 1 and v["construct"] for v in record.policy)
    assert records["correct"].policy == [] and records["correct"].ignored_files == ["autograder.py"]


def test_a_stopped_answer_carries_an_instructor_comment_in_the_gradebook(batch):
    from autograder.instructor.grading.gradebook import POLICY_COMMENT
    from autograder.instructor.grading.opengradebook import open_gradebook

    _, _, base, *_ = batch
    with open_gradebook(base / "grading") as gradebook:
        (nb,) = gradebook.find_submission(CHAPTER, "cheat_reference").notebooks
        comment = next(c for c in nb.comments if c.name == "square").manual_comment
    assert comment.startswith(POLICY_COMMENT) and "line 2" in comment, comment


def test_reasons_say_what_happened(batch):
    records, *_ = batch
    assert "cube__tests" in records["loop"].reason and "limit" in records["loop"].reason
    assert "not valid JSON (line" in records["broken_json"].reason
    assert "*" not in records, "a folder that is not a student id is never graded nor enrolled"
    assert "symbolic link" in records["linked"].reason
    assert "no chapter folder" in records["empty"].reason
    assert "MemoryError" in records["memory_hog"].tests["square__tests"]["message"]


def test_nothing_outside_the_scratch_folder_changed(batch):
    _, _, _, before, after, *_ = batch
    for name in before:
        changed = sorted(set(before[name].items()) ^ set(after[name].items()))
        assert not changed, f"{name} changed during grading: {changed[:5]}"


def test_no_process_outlives_the_batch(batch):
    *_, marker, _ = batch
    survivors = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if str(marker) in cmdline:
                survivors.append(f"{proc.name}: {cmdline[:200]}")
    assert not survivors, survivors


def test_csvs_list_everyone(batch):
    records, _, base, *_ = batch
    with open(base / "grading" / "summary.csv") as handle:
        summary = {row["student"]: row for row in csv.DictReader(handle)}
    assert set(records) <= set(summary)
    assert summary["loop"]["status"] == "timeout" and summary["empty"]["status"] == "missing"
    assert (base / "grading" / "grades.csv").is_file()


def test_feedback_shows_messages_but_no_hidden_test_no_live_script_and_is_capped(batch):
    records, _, base, *_, solution = batch
    hidden_lines = {line.strip() for cell in solution.cells for block in HIDDEN.findall(cell.source)
                    for line in block.splitlines() if line.strip()}
    pages = sorted((base / "grading" / "feedback").rglob("*.html"))
    assert len(pages) >= len(records) - 1
    for page in pages:
        text = page.read_text()
        leaked = [line for line in hidden_lines if line in text]
        assert not leaked, f"{page}: hidden-test lines {leaked}"
        assert "<script>alert" not in text, f"{page}: live script from a submission"
        assert len(text.encode()) < 6_000_000, f"{page} is {len(text.encode())} bytes"
    wrong = (base / "grading" / "feedback" / "wrong" / CHAPTER / f"{CHAPTER}.html").read_text()
    assert "square of a negative number" in wrong, "the failing check's message is shown"


def test_a_rerun_skips_unchanged_submissions_and_regrades_a_fixed_one(batch, tmp_path):
    records, _, base, *_ = batch
    course = Course(base / "course")
    again = tmp_path / "again"
    fixed = answer(py_to_notebook(FIXTURE.read_text()), "cube", CUBE)
    for student in ("loop", "correct"):
        (again / student / CHAPTER).mkdir(parents=True)
        source = base / "submissions" / student / CHAPTER / f"{CHAPTER}.ipynb"
        text = nbformat.writes(fixed) if student == "loop" else source.read_text()
        (again / student / CHAPTER / f"{CHAPTER}.ipynb").write_text(text)
    said = []
    new = {r.student: r for r in grading.grade(
        again, base / "grading", course,
        grading.GradeSettings(workers=1, feedback=False, progress=False, **OPTIONS), out=said.append)}
    assert (new["loop"].status, new["loop"].code_score) == ("graded", 3)
    assert any("1 of 2 submissions unchanged" in line for line in said), said
    record = json.loads((base / "grading" / "records" / CHAPTER / "correct.json").read_text())
    assert record["submission_sha256"] == records["correct"].submission_sha256
