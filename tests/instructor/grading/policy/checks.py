"""The policy's facts of each chapter, read once, and a one-cell check: shared by the policy's tests."""

from __future__ import annotations

import textwrap
from functools import cache
from pathlib import Path

import nbformat

from autograder.instructor.grading.policy import PolicyFacts, Violation, check_cell, facts_from_source

REPO = Path(__file__).resolve().parents[4]
SOURCES = sorted(REPO.glob("solutions/[0-9][0-9]_*/[0-9][0-9]_*.ipynb"))


@cache
def facts(chapter: int) -> PolicyFacts:
    path = next(p for p in SOURCES if p.name.startswith(f"{chapter:02d}_"))
    return facts_from_source(nbformat.read(path, as_version=4), chapter)


def check(source: str, chapter: int = 1) -> list[Violation]:
    return check_cell(textwrap.dedent(source).strip("\n"), facts(chapter), "answer")
