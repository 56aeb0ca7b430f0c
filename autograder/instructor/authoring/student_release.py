"""`make student-release`: what a class receives, in ``dist/student/``.

    python -m autograder.instructor.authoring.student_release [--out dist/student]

    python -m autograder.instructor.authoring.student_release --chapters 1-3
    make student-release CHAPTERS=1-3

It holds the generated chapters released so far, the package as students need it
(the checks their notebooks import, and the part of the course library
``autograder.reference`` they may have), a learner's README and the environment files;
and nothing of ``solutions/``: no solution code, no hidden tests, no model answers, no
instructor tools.

Release by chapter. ``--chapters 1-3`` (a range, a list ``1,2,4``, or one number) ships
those chapters, and of the course library only the modules of chapters before the last one
released (``autograder.reference.CHAPTER_OF``): what later chapters build on, never the
reference solutions of a chapter still to be graded. Each later release adds the next
chapter and the library of the one before it. Without ``--chapters`` every chapter is
released, with the library of all but the last. A released notebook that imports a module
not shipped is listed as a warning (that cell fails with ImportError for the learner).

Every translated edition ships beside the English one, for the same chapters:
``chapters/<language>/NN_x/`` (today ``chapters/zh/``, docs/TRANSLATING.md), opened with
``make lab EDITION=zh``; the package's compiled message catalogs (``autograder/locale/``) make the
checks answer in the notebook's language.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tomllib
from pathlib import Path

from autograder.instructor.course import Course, course_for_cli

README = """# Backprop Lab: your chapters

Build neural networks and backpropagation yourself, in NumPy, and prove your code right
against PyTorch.

```bash
make lab      # creates the environment if missing, opens JupyterLab on chapter 1
```

(Python 3.11 is needed; conda users: `conda env create -f environment.yml`.)

Fill in each cell marked `# YOUR CODE HERE`, then run the test cell under it: a pass is
silent, a failure says what was expected, what came back and where to look. The last
cell of each chapter shows which exercises pass. Your instructor grades your work with
hidden tests too: passing the visible tests is a good sign, not a guarantee.

中文版：`make lab EDITION=zh` 打开 `chapters/zh/` 中的中文版笔记本。代码、测试和评分与英文版
完全相同；测试给出的信息也是中文。请只在一个版本中作答。
"""

MAKEFILE = """SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

# EDITION=zh: the Chinese edition, chapters/zh/.
EDITION ?=

.PHONY: lab env
$(VENV)/.installed: pyproject.toml
\t@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
\t$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
\t@touch $@

env: $(VENV)/.installed

lab: env
\tjupyter lab --ServerApp.root_dir=chapters$(if $(EDITION),/$(EDITION),) $(ROOT_FLAG) $(LAB_ARGS)
"""


def student_pyproject(course: Course) -> str:
    """The course's pyproject.toml with only the notebooks' dependencies and no instructor tools."""
    text = (course.root / "pyproject.toml").read_text()
    project = tomllib.loads(text)["project"]
    deps = "\n".join(f'    "{d}",' for d in project["dependencies"])
    return f"""[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{project['name']}"
version = "{project['version']}"
description = "{project['description']}"
requires-python = "{project['requires-python']}"
dependencies = [
{deps}
]

[tool.setuptools.packages.find]
include = ["autograder*"]
exclude = ["autograder.instructor*"]

[tool.setuptools.package-data]
autograder = ["locale/*/LC_MESSAGES/*.mo"]
"""


def parse_chapters(text: str) -> set[int]:
    """``"1-3"``, ``"1,2,4"``, ``"3"`` -> chapter numbers; ``ValueError`` with the expected form."""
    numbers: set[int] = set()
    try:
        for part in text.replace(" ", "").split(","):
            first, _, last = part.partition("-")
            numbers |= set(range(int(first), int(last or first) + 1))
    except ValueError:
        raise ValueError(f"--chapters {text!r}: expected a range like 1-3, a list like 1,2,4, "
                         "or one chapter number") from None
    if not numbers or min(numbers) < 1:
        raise ValueError(f"--chapters {text!r}: chapter numbers start at 1")
    return numbers


def shipped_modules(last_chapter: int) -> set[str]:
    """The course library's modules a class may have once chapters up to ``last_chapter`` are out."""
    from autograder.reference import CHAPTER_OF

    return {module for module, chapter in CHAPTER_OF.items() if chapter < last_chapter}


def missing_imports(notebook: Path, shipped: set[str]) -> list[str]:
    """Modules of ``autograder.reference`` that ``notebook`` imports and the release lacks."""
    from autograder.reference import CHAPTER_OF

    text = notebook.read_text(encoding="utf-8")
    named = set(re.findall(r"autograder\.reference\.(\w+)", text))
    named |= {m for line in re.findall(r"from autograder\.reference import ([\w, ()]+)", text)
              for m in re.findall(r"\w+", line)}
    return sorted(m for m in named if m in CHAPTER_OF and m not in shipped)


def editions(course: Course) -> list[str]:
    """The translated editions under ``chapters/``: the folders that hold chapter folders (``zh``)."""
    ids = course.chapter_ids()
    return sorted(folder.name for folder in course.chapters.iterdir()
                  if folder.is_dir() and folder.name not in ids and any((folder / c).is_dir() for c in ids))


def build(course: Course, out: Path, chapters: set[int] | None = None,
          warn=print) -> list[Path]:
    """Write ``out`` afresh (it must be absent, or a previous student release): the chapters
    numbered in ``chapters`` (default: all) and the library of the chapters before the last."""
    if out.exists():
        if not (out / ".student-release").is_file():
            raise SystemExit(f"error: {out} exists and is not a student release; choose another --out.")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / ".student-release").write_text("Written by `make student-release`; rewritten each time.\n")
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.edited-*", "instructor")
    ids = course.chapter_ids()
    wanted = chapters or {int(c.split("_")[0]) for c in ids}
    released = [c for c in ids if int(c.split("_")[0]) in wanted]
    unknown = sorted(wanted - {int(c.split("_")[0]) for c in ids})
    if unknown:
        raise SystemExit(f"error: no chapter {', '.join(map(str, unknown))} in this course "
                         f"(chapters: {', '.join(ids)})")
    shipped = shipped_modules(max(wanted))
    folders = [course.chapters / chapter for chapter in released]
    folders += [course.chapters / edition / chapter for edition in editions(course) for chapter in released
                if (course.chapters / edition / chapter).is_dir()]
    for folder in folders:
        chapter = folder.name
        shutil.copytree(folder, out / folder.relative_to(course.root), ignore=ignore)
        missing = missing_imports(folder / f"{chapter}.ipynb", shipped)
        if missing:
            warn(f"warning: {folder.relative_to(course.root)} imports autograder.reference."
                 f"{{{', '.join(missing)}}}, not shipped (the reference of a chapter still to be graded): "
                 "those cells fail for learners")
    from autograder.reference import CHAPTER_OF

    withheld = {f"{module}.py" for module in CHAPTER_OF if module not in shipped}
    library = (course.root / "autograder" / "reference").resolve()

    def leave_out(folder: str, names: list[str]) -> set[str]:
        kept_out = set(ignore(folder, names))
        return kept_out | (withheld & set(names) if Path(folder).resolve() == library else set())

    shutil.copytree(course.root / "autograder", out / "autograder", ignore=leave_out)
    (out / "pyproject.toml").write_text(student_pyproject(course))
    (out / "README.md").write_text(README)
    (out / "Makefile").write_text(MAKEFILE)
    env = (course.root / "environment.yml").read_text()
    (out / "environment.yml").write_text(re.sub(r"-e \.\[[^\]]*\]", "-e .", env))
    return sorted(p for p in out.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write dist/student/: what a class receives.")
    parser.add_argument("--course", default=None, help="the course folder (default: found from here)")
    parser.add_argument("--out", type=Path, default=None, help="default: dist/student in the course")
    parser.add_argument("--chapters", default=None,
                        help="chapters to release, e.g. 1-3 or 1,2,4 (default: all)")
    args = parser.parse_args(argv)
    try:
        chapters = parse_chapters(args.chapters) if args.chapters else None
    except ValueError as error:
        print(f"error: {error}")
        return 2
    course = course_for_cli(args.course)
    if course is None:
        return 2
    out = (args.out or course.root / "dist" / "student").resolve()
    files = build(course, out, chapters)
    print(f"wrote {len(files)} files to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
