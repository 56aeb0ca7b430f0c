"""The translated solutions that `make nbval` runs (tests/fixtures/editions/, authoring/executed_editions.py)
are current: built from today's solutions and catalogs, and executed in their own language."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from autograder.instructor.authoring.executed_editions import built, stale, targets
from autograder.instructor.course import Course

REPO = Path(__file__).resolve().parents[3]
COURSE = Course(REPO)
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_chapter_with_a_catalog_has_a_current_executed_build():
    assert targets(COURSE), "no translated edition to build"
    problems = stale(COURSE)
    assert not problems, "; ".join(problems) + ". Run `make execute-editions`."


@pytest.mark.parametrize("locale, chapter, path", targets(COURSE), ids=lambda v: str(v)[-40:])
def test_a_build_ran_in_its_own_language_without_an_error(locale, chapter, path):
    if not path.is_file():
        pytest.fail(f"{path.relative_to(REPO)} is missing: run `make execute-editions`.")
    nb = nbformat.read(str(path), as_version=4)
    assert nb.metadata["language"] == locale
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert all(o.output_type != "error" for o in outputs), f"{chapter}: a cell failed when it was executed"
    unexecuted = [c.get("id") for c in nb.cells if c.cell_type == "code" and not c.execution_count]
    assert not unexecuted, f"{chapter}: cells never executed: {unexecuted[:5]}"
    progress = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})
                and "show_progress" not in o["data"]["text/html"] and "<table>" in o["data"]["text/html"]]
    assert progress and CJK.search(progress[-1]), f"{chapter}: the progress table is not in {locale}"


def test_a_stale_or_missing_build_is_named(tmp_path, monkeypatch):
    from autograder.instructor.authoring import executed_editions

    locale, chapter, _ = targets(COURSE)[0]
    edited = built(COURSE, locale, chapter)
    edited.cells[0].source += "\nan edit of the stored build, not of its sources"
    nbformat.write(edited, str(tmp_path / "edited.ipynb"))
    nbformat.write(built(COURSE, locale, chapter), str(tmp_path / "current.ipynb"))
    stored = [(locale, chapter, tmp_path / name) for name in ("edited.ipynb", "current.ipynb", "gone.ipynb")]
    monkeypatch.setattr(executed_editions, "targets", lambda course, chapters=None: stored)
    assert executed_editions.stale(COURSE) == [f"{tmp_path / 'edited.ipynb'}: stale (its solution or catalog "
                                               "changed)", f"{tmp_path / 'gone.ipynb'}: missing"]
