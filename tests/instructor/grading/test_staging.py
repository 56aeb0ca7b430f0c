"""Finding and reading submissions, ``<student>/<chapter>/<chapter>.ipynb`` literally
(autograder/instructor/grading/staging.py). Whole batches of odd folders: test_batch_boundary.py."""

from __future__ import annotations

import hashlib

from autograder.instructor.grading.staging import find_submissions

KNOWN = ["01_one", "02_two"]


def _hand_in(root, student, chapter, name=None, data=b"{}"):
    folder = root / student / chapter
    folder.mkdir(parents=True, exist_ok=True)
    (folder / (name or f"{chapter}.ipynb")).write_bytes(data)


def test_each_notebook_is_found_with_its_bytes_and_the_files_beside_it_are_listed_not_read(tmp_path):
    _hand_in(tmp_path, "ada", "01_one", data=b'{"a": 1}')
    _hand_in(tmp_path, "ada", "01_one", name="notes.txt")
    _hand_in(tmp_path, "ada", "01_one", name="timestamp.txt")  # nbgrader's, not the student's
    (found,), notes = find_submissions(tmp_path, KNOWN)
    assert (found.student, found.chapter, found.notebook, found.problem) == ("ada", "01_one", b'{"a": 1}', "")
    assert found.ignored_files == ("notes.txt",) and notes == []
    assert found.sha256 == hashlib.sha256(b'{"a": 1}').hexdigest() == found.task()["submission_sha256"]


def test_a_missing_notebook_or_chapter_is_a_problem_the_record_carries(tmp_path):
    _hand_in(tmp_path, "ada", "01_one", name="renamed.ipynb")
    (tmp_path / "bob").mkdir()
    found, _ = find_submissions(tmp_path, KNOWN)
    by_student = {f.student: f for f in found}
    assert by_student["ada"].problem == "no 01_one.ipynb in the submission", by_student["ada"]
    assert by_student["bob"].problem == "no chapter folder in the submission"
    assert {f.problem_status for f in found} == {"missing"} and all(f.notebook is None for f in found)


def test_bad_folder_names_and_unknown_chapters_are_reported_and_never_graded(tmp_path):
    _hand_in(tmp_path, "a b", "01_one")
    _hand_in(tmp_path, "ada", "99_none")
    _hand_in(tmp_path, "Jose\u0301", "01_one")
    _hand_in(tmp_path, "Jos\u00e9", "01_one")
    found, notes = find_submissions(tmp_path, KNOWN)
    assert [(f.student, f.chapter) for f in found] == [("José", "01_one")], found
    assert any(n.startswith("a b/: not graded: the id 'a b' contains whitespace") for n in notes), notes
    assert any("ada/99_none: not a chapter of this course (chapters: 01_one, 02_two)" in n for n in notes)
    assert any("only in Unicode normalisation" in n for n in notes), notes


def test_a_symbolic_link_is_never_followed(tmp_path):
    outside = tmp_path / "outside"
    _hand_in(outside, "x", "01_one", data=b"secret")
    submissions = tmp_path / "submissions"
    _hand_in(submissions, "ada", "01_one")
    (submissions / "ada" / "01_one" / "01_one.ipynb").unlink()
    (submissions / "ada" / "01_one" / "01_one.ipynb").symlink_to(outside / "x" / "01_one" / "01_one.ipynb")
    (submissions / "eve").symlink_to(outside / "x")
    found, _ = find_submissions(submissions, KNOWN)
    assert all(f.notebook is None for f in found), found
    assert {f.student: "symbolic link" in f.problem for f in found} == {"ada": True, "eve": True}


def test_a_notebook_over_the_size_limit_is_not_read_and_says_how_to_fix_it(tmp_path, monkeypatch):
    from autograder.instructor.grading import staging

    monkeypatch.setattr(staging, "MAX_NOTEBOOK_BYTES", 1 << 20)
    folder = tmp_path / "ada" / "01_demo"
    folder.mkdir(parents=True)
    (folder / "01_demo.ipynb").write_bytes(b" " * (3 << 20))
    (item,), _ = staging.find_submissions(tmp_path, ["01_demo"])
    assert item.notebook is None and item.problem_status == "invalid"
    assert "3 MiB" in item.problem and "up to 1 MiB" in item.problem and "Clear its outputs" in item.problem
