"""`make release` never deletes or overwrites a file it did not write (authoring/release.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.instructor.authoring.notebooks import py_to_notebook
from autograder.instructor.authoring.release import MANIFEST, main, release, stale_files
from autograder.instructor.course import Course, CourseNotFound, find_course

pytestmark = pytest.mark.slow  # each release runs nbgrader generate_assignment

FIXTURE = Path(__file__).parents[2] / "fixtures" / "00_demo.py"
CHAPTER = "00_demo"
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def course(tmp_path) -> Course:
    """A course folder with one tiny chapter and no .git: a downloaded zip."""
    root = tmp_path / "course"
    nbformat.write(py_to_notebook(FIXTURE.read_text()),
                   str(_mkparent(root / "solutions" / CHAPTER / f"{CHAPTER}.ipynb")))
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    return Course(root)


def _mkparent(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_first_release_writes_the_chapter_and_its_manifest(course):
    assert release(course, out=lambda *_: None) == 0
    notebook = course.chapters / CHAPTER / f"{CHAPTER}.ipynb"
    assert notebook.is_file()
    manifest = json.loads((course.chapters / MANIFEST).read_text())["files"]
    assert list(manifest) == [f"{CHAPTER}/{CHAPTER}.ipynb"]
    assert stale_files(course) == []


def test_release_leaves_untracked_files_alone_and_refuses_edited_notebooks(course):
    release(course, out=lambda *_: None)
    folder = course.chapters / CHAPTER
    (folder / "my_scratch.ipynb").write_text("{}")
    (folder / "notes.txt").write_text("my notes")
    notebook = folder / f"{CHAPTER}.ipynb"
    edited = notebook.read_text().replace("YOUR CODE HERE", "my answer")
    notebook.write_text(edited)
    said = []
    assert release(course, out=said.append) == 1
    assert notebook.read_text() == edited, "an edited notebook was overwritten"
    assert f"{CHAPTER}/{CHAPTER}.ipynb" in said[0]
    # Forced: the learner's version is kept beside the new one; the other files are untouched.
    assert release(course, force=True, out=said.append) == 0
    kept = sorted(folder.glob(f"{CHAPTER}.edited-*.ipynb"))
    assert len(kept) == 1 and kept[0].read_text() == edited
    assert (folder / "my_scratch.ipynb").read_text() == "{}"
    assert (folder / "notes.txt").read_text() == "my notes"
    assert "YOUR CODE HERE" in notebook.read_text()


def test_an_unchanged_notebook_is_replaced_when_its_source_changes(course):
    release(course, out=lambda *_: None)
    source = course.solutions / CHAPTER / f"{CHAPTER}.ipynb"
    nb = nbformat.read(str(source), as_version=4)
    nb.cells[0].source += "\n\nA new sentence."
    nbformat.write(nb, str(source))
    said = []
    assert release(course, out=said.append) == 0
    assert "A new sentence." in (course.chapters / CHAPTER / f"{CHAPTER}.ipynb").read_text()
    assert not list((course.chapters / CHAPTER).glob("*.edited-*"))


def test_without_a_manifest_a_differing_notebook_counts_as_edited(course):
    release(course, out=lambda *_: None)
    (course.chapters / MANIFEST).unlink()
    notebook = course.chapters / CHAPTER / f"{CHAPTER}.ipynb"
    notebook.write_text(notebook.read_text().replace("YOUR CODE HERE", "mine"))
    assert release(course, out=lambda *_: None) == 1
    assert "mine" in notebook.read_text()


def test_the_course_is_found_from_any_folder_inside_it_or_refused_clearly(course, tmp_path, monkeypatch):
    monkeypatch.delenv("BACKPROP_LAB_COURSE", raising=False)
    inner = course.root / "solutions" / CHAPTER
    assert find_course(start=inner) == course.root.resolve()
    with pytest.raises(CourseNotFound, match="--course"):
        find_course(start=tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["--course", str(course.root)]) == 0
    assert main([]) == 2  # no course here, and none given: a clear error, exit 2
