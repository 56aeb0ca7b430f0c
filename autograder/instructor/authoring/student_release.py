"""`make student-release`: what a class receives, in ``dist/student/``.

    python -m autograder.instructor.authoring.student_release [--out dist/student]

It holds the generated chapters, the package as students need it (the checks
their notebooks import, and the course library ``autograder.reference``), a
learner's README and the environment files; and nothing of ``solutions/``: no
solution code, no hidden tests, no model answers, no instructor tools.

How the course library reaches students: in full. Later chapters build on it, so
chapter 5's notebook imports chapter 4's layers from it. Its use in graded code
is what the code policy forbids: a student's answer to a chapter's exercise may
not import the library's modules of that chapter (or any later one), and the
grader refuses to run an answer that does (see ``policy.py``). Copying its text
by hand is, like copying a classmate's, out of the grader's reach.
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
"""

MAKEFILE = """SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab env
$(VENV)/.installed: pyproject.toml
\t@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
\t$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
\t@touch $@

env: $(VENV)/.installed

lab: env
\tjupyter lab --ServerApp.root_dir=chapters $(ROOT_FLAG) $(LAB_ARGS)
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
"""


def build(course: Course, out: Path) -> list[Path]:
    """Write ``out`` afresh (it must be absent, or a previous student release)."""
    if out.exists():
        if not (out / ".student-release").is_file():
            raise SystemExit(f"error: {out} exists and is not a student release; choose another --out.")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / ".student-release").write_text("Written by `make student-release`; rewritten each time.\n")
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.edited-*", "instructor")
    for chapter in course.chapter_ids():
        shutil.copytree(course.chapters / chapter, out / "chapters" / chapter, ignore=ignore)
    shutil.copytree(course.root / "autograder", out / "autograder", ignore=ignore)
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
    args = parser.parse_args(argv)
    course = course_for_cli(args.course)
    if course is None:
        return 2
    out = (args.out or course.root / "dist" / "student").resolve()
    files = build(course, out)
    print(f"wrote {len(files)} files to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
