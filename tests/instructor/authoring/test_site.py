"""`make site` in two languages (authoring/site.py): every page, English and Chinese, has the language
switcher, its links reach the same page in the other language, and the Chinese pages are translated.
Built from the chapters' notebooks without executing them or running Sphinx (the built site is checked
in a browser by tests/browser/test_site.py, which also checks that a Chinese page's outputs are Chinese:
`make site` runs each edition's page in its own language)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from autograder.instructor.authoring.site import edition_catalogs, switcher, write_pages
from autograder.instructor.authoring.translations import read_catalog, write_translated
from autograder.instructor.course import Course

REPO = Path(__file__).resolve().parents[3]
COURSE = Course(REPO)
CHAPTERS = COURSE.chapter_ids()
CJK = re.compile(r"[\u4e00-\u9fff]")
LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("site") / "pages"
    notebooks = {c: nbformat.read(str(COURSE.chapters / c / f"{c}.ipynb"), as_version=4) for c in CHAPTERS}
    titles = {c: c for c in CHAPTERS}
    translated = {edition: {c: write_translated(notebooks[c], read_catalog(path, path.parent.name))
                            for c, path in catalogs.items()}
                  for edition, catalogs in edition_catalogs(COURSE, CHAPTERS).items()}
    write_pages(source, notebooks, titles, translated, "OWNER/backprop-lab", "main")
    return source


def _switcher_links(page: Path) -> dict[str, Path]:
    if page.suffix == ".md":
        text = page.read_text()
    else:
        text = nbformat.read(str(page), as_version=4).cells[0].source
    line = next(line for line in text.splitlines() if "English" in line and "中文" in line)
    return {name: (page.parent / target).resolve() for name, target in LINK.findall(line)}


def test_both_languages_have_every_page(pages):
    for chapter in CHAPTERS:
        assert (pages / chapter / f"{chapter}.ipynb").is_file()
        assert (pages / "zh" / chapter / f"{chapter}.ipynb").is_file()
    assert (pages / "index.md").is_file() and (pages / "zh" / "index.md").is_file()
    assert "zh/index" in (pages / "index.md").read_text(), "the Chinese pages are in no table of contents"


@pytest.mark.parametrize("chapter", [*CHAPTERS, "index"])
def test_every_page_switches_to_the_same_page_in_the_other_language(pages, chapter):
    english = pages / ("index.md" if chapter == "index" else f"{chapter}/{chapter}.ipynb")
    chinese = pages / "zh" / ("index.md" if chapter == "index" else f"{chapter}/{chapter}.ipynb")
    assert _switcher_links(english) == {"中文": chinese.resolve()}
    assert _switcher_links(chinese) == {"English": english.resolve()}


def test_a_chinese_page_is_translated_and_its_code_is_the_english_pages(pages):
    chapter = CHAPTERS[0]
    english = nbformat.read(str(pages / chapter / f"{chapter}.ipynb"), as_version=4)
    chinese = nbformat.read(str(pages / "zh" / chapter / f"{chapter}.ipynb"), as_version=4)
    assert chinese.cells[1].source.startswith("# 第 1 章")
    assert english.cells[1].source.startswith("# Chapter 1")
    assert chinese.cells[0].metadata["tags"] == ["language-switcher"]
    tests = [(e.source, z.source) for e, z in zip(english.cells, chinese.cells)
             if e.metadata.get("nbgrader", {}).get("grade") and e.cell_type == "code"]
    assert tests and all(e == z for e, z in tests), "a test cell differs between the languages"
    assert "make lab EDITION=zh" in (pages / "zh" / "index.md").read_text()


def test_the_switcher_names_each_language_in_itself():
    assert switcher("01_x", "", ["zh"]) == "**English** · [中文](../zh/01_x/01_x.ipynb)"
    assert switcher("01_x", "zh", ["zh"]) == "[English](../../01_x/01_x.ipynb) · **中文**"
    assert switcher("index", "zh", ["zh"]) == "[English](../index.md) · **中文**"

