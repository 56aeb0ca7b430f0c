"""The translated editions of the solutions, executed, for nbval: ``tests/fixtures/editions/<edition>/``.

    python -m autograder.instructor.authoring.executed_editions execute [CHAPTER ...]  # execute-editions
    python -m autograder.instructor.authoring.executed_editions check                  # 1 when stale

nbval proves the English solutions' stored outputs on another CPU configuration (``make nbval``). A
translated edition's chapters in ``chapters/zh/`` are student versions (stubs), so nbval cannot run
them; what it runs instead is the edition's build of the *solutions*: ``write_translated(solution,
catalog)`` (the same translation ``make release --editions`` applies: markdown, docstrings, comments;
code, test cells and ids unchanged), executed in its own language, since the notebook's metadata
says ``"language": "zh_CN"`` and the kernel answers in it (``autograder/i18n.py``). Its outputs are
stored here, as ``make execute`` stores the English ones, and ``make nbval`` compares them: the
Chinese messages, the progress table and the button in Chinese, the same numbers as English.

A stored build is current when its cells (types, ids, sources) are what the current solution and
catalog give; ``check`` (and ``tests/instructor/authoring/test_executed_editions.py``) says which
are stale, and ``make execute-editions`` rebuilds them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from autograder.instructor.authoring.notebooks import execute_in_place
from autograder.instructor.authoring.translations import (
    TRANSLATIONS,
    catalog_path,
    edition_folder,
    read_catalog,
    write_translated,
)
from autograder.instructor.course import Course

FIXTURES = Path("tests") / "fixtures" / "editions"


def built(course: Course, locale: str, chapter: str) -> NotebookNode:
    """The solution of ``chapter`` in ``locale``'s edition, with the English outputs (not yet executed)."""
    solution = nbformat.read(str(course.solutions / chapter / f"{chapter}.ipynb"), as_version=4)
    catalog = read_catalog(catalog_path(course.root / TRANSLATIONS, locale, chapter), locale)
    nb = write_translated(solution, catalog)
    nb.metadata.setdefault("backprop_lab", {}).update({
        "generated_from": f"solutions/{chapter}/{chapter}.ipynb",
        "translated_with": f"{TRANSLATIONS}/{locale}/{chapter}.po",
        "note": "Generated and executed by `make execute-editions` for nbval; edit the sources, not this."})
    return nb


def targets(course: Course, chapters: list[str] | None = None) -> list[tuple[str, str, Path]]:
    """``(locale, chapter, stored path)`` for every chapter that has a catalog."""
    folder = course.root / TRANSLATIONS
    locales = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    return [(locale, chapter, course.root / FIXTURES / edition_folder(locale) / chapter / f"{chapter}.ipynb")
            for locale in locales for chapter in chapters or course.chapter_ids()
            if catalog_path(folder, locale, chapter).is_file()]


def _cells(nb: NotebookNode) -> list[tuple[str, str | None, str]]:
    return [(cell.cell_type, cell.get("id"), cell.source) for cell in nb.cells]


def stale(course: Course, chapters: list[str] | None = None) -> list[str]:
    """The stored builds that are missing or whose cells are not what the sources give now."""
    found = []
    for locale, chapter, path in targets(course, chapters):
        shown = path.relative_to(course.root) if path.is_relative_to(course.root) else path
        if not path.is_file():
            found.append(f"{shown}: missing")
        elif _cells(nbformat.read(str(path), as_version=4)) != _cells(built(course, locale, chapter)):
            found.append(f"{shown}: stale (its solution or catalog changed)")
    return found


def execute(course: Course, chapters: list[str] | None = None) -> list[Path]:
    """Build and execute every edition's solutions in place (the kernel in the notebook's folder)."""
    written = []
    for locale, chapter, path in targets(course, chapters):
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(built(course, locale, chapter), str(path))
        execute_in_place(path)
        print(f"  {path.relative_to(course.root)}", flush=True)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("execute", "check"))
    parser.add_argument("chapters", nargs="*", help="chapter ids (default: every chapter with a catalog)")
    parser.add_argument("--course", default=None)
    args = parser.parse_args(argv)
    course = Course.find(args.course)
    if args.command == "execute":
        execute(course, args.chapters or None)
        return 0
    problems = stale(course, args.chapters or None)
    for problem in problems:
        print(problem)
    if problems:
        print("Run `make execute-editions` (the translated solutions, executed for nbval).")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
